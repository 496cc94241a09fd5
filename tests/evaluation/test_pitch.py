"""Pitch-only metrics: marginalising joint tokens, folds by melody, scoring a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.pitch import (
    BitsResult,
    checkpoint_pitch_probs,
    fold_indices,
    pitch_alphabet,
    pitch_distribution,
    pitch_sequences,
    score_checkpoint,
    token_pitch_matrix,
)
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.notation import parse_text
from melodyrnn.pipeline import fit
from melodyrnn.training.config import TrainConfig

C4, D4, E4 = 60, 62, 64


def test_marginalising_sums_durations_drops_rests_and_matches_a_hand_calculation():
    codec = NoteCodec(["c4", "c8", "d4", "r4"], end_token=True)
    matrix = token_pitch_matrix(codec.notes, [C4, D4, E4])
    tokens = np.array([0.1, 0.2, 0.3, 0.3, 0.1])  # c4 c8 d4 r4 <end>
    # c: 0.1 + 0.2, d: 0.3, e: 0; renormalised over the notes (0.6): 0.5, 0.5, 0.
    assert pitch_distribution(tokens, matrix, floor=0.0) == pytest.approx([0.5, 0.5, 0.0])
    floored = pitch_distribution(tokens, matrix, floor=0.01)
    assert floored.sum() == pytest.approx(1.0)
    assert floored[2] == pytest.approx(0.01 / 3)


def test_marginal_of_random_token_distributions_sums_to_one():
    codec = NoteCodec(["c4", "c8", "d4", "e4", "e8", "r4"])
    matrix = token_pitch_matrix(codec.notes, [C4, D4, E4])
    rng = np.random.default_rng(1)
    tokens = rng.dirichlet(np.ones(codec.vocab_size), size=7)
    assert pitch_distribution(tokens, matrix).sum(-1) == pytest.approx(np.ones(7))


def test_folds_split_by_melody_cover_each_once_and_repeat_with_the_seed():
    folds = fold_indices(23, 5, seed=3)
    flat = sorted(i for fold in folds for i in fold)
    assert flat == list(range(23))
    assert {len(f) for f in folds} <= {4, 5}
    assert fold_indices(23, 5, seed=3) == folds
    assert fold_indices(23, 5, seed=4) != folds
    with pytest.raises(MelodyError):
        fold_indices(3, 5)


def test_rests_are_dropped_and_means_are_pooled_and_per_melody():
    (melody,) = parse_text("c4 r4 d4 r8 e4")
    assert pitch_sequences([melody]) == [[C4, D4, E4]]
    assert pitch_alphabet([melody]) == [C4, D4, E4]
    result = BitsResult([np.array([1.0, 1.0, 1.0]), np.array([4.0])])
    assert result.pooled == pytest.approx(7 / 4)
    assert result.per_melody == pytest.approx((1 + 4) / 2)


@pytest.fixture(scope="module")
def tiny_checkpoint():
    melodies = [m for text in ("c4 d4 e4 c4 d8 e8", "e4 d4 c4 r4 c4") for m in parse_text(text)]
    config = TrainConfig(epochs=3, stop_accuracy=1.1)
    report = fit(melodies, NoteCodec.fit(melodies), ModelConfig(hidden=8), config,
                 progress=False, log=lambda m: None)
    return report.checkpoint


def test_a_checkpoint_gives_every_note_a_pitch_distribution(tiny_checkpoint):
    (melody,) = parse_text("c4 d4 r4 e8 g4")  # g never seen: the floor keeps it finite
    alphabet = [C4, D4, E4, 67]
    probs = checkpoint_pitch_probs(tiny_checkpoint, melody, alphabet)
    assert probs.shape == (4, 4)
    assert probs.sum(1) == pytest.approx(np.ones(4))
    assert probs[0] == pytest.approx(np.full(4, 0.25))  # no start token: uniform by default
    result = score_checkpoint(tiny_checkpoint, [melody], alphabet)
    assert result.notes == 4 and np.isfinite(result.pooled)
