"""Pitch-only bits per note, the music-cognition protocol (as IDyOM reports it).

Protocol: notes only (rests dropped; ties are already merged by the readers), MIDI pitch,
folds split by melody, each note's ``-log2 p(pitch | every note before it in its melody)``
with the first note included; the mean is reported over notes (pooled) and over melodies
(the mean of each melody's mean, IDyOM's convention).

Neural models predict joint (pitch, duration) tokens; ``pitch_distribution`` marginalises
them over durations. The alphabet of pitches is the set of pitches in the whole data set,
as in IDyOM.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import Melody, Note

if TYPE_CHECKING:
    from melodyrnn.models.checkpoint import Checkpoint

NEURAL_FLOOR = 1e-3  # share of uniform mixed into a neural pitch distribution (unseen pitches)


def notes_only(melody: Melody) -> Melody:
    """The melody without its rests."""
    return melody.with_notes([n for n in melody.notes if n.pitch is not None])


def pitch_sequences(melodies: Iterable[Melody]) -> list[list[int]]:
    """MIDI pitches of each melody's notes, rests dropped."""
    return [[n.pitch for n in m.notes if n.pitch is not None] for m in melodies]


def pitch_alphabet(melodies: Iterable[Melody]) -> list[int]:
    """Every pitch in the melodies, ascending."""
    return sorted({p for seq in pitch_sequences(melodies) for p in seq})


def fold_indices(count: int, folds: int, seed: int = 0) -> list[list[int]]:
    """``folds`` disjoint lists of item indexes covering ``range(count)``, shuffled with ``seed``."""
    if folds < 2:
        raise MelodyError(f"--folds {folds}: expected 2 or more")
    if folds > count:
        raise MelodyError(f"--folds {folds}: only {count} melodies to split")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [sorted(order[f::folds]) for f in range(folds)]


@dataclass
class BitsResult:
    """Per-note bits for each scored melody, and the two means."""

    bits: list[np.ndarray] = field(default_factory=list)

    @property
    def notes(self) -> int:
        return sum(len(b) for b in self.bits)

    @property
    def pooled(self) -> float:
        """Mean bits over all notes."""
        return float(np.concatenate(self.bits).mean()) if self.notes else math.nan

    @property
    def per_melody(self) -> float:
        """Mean over melodies of each melody's mean bits (IDyOM's figure)."""
        means = [b.mean() for b in self.bits if len(b)]
        return float(np.mean(means)) if means else math.nan

    def to_dict(self) -> dict[str, float | int]:
        return {"melodies": len(self.bits), "notes": self.notes,
                "bits_pooled": self.pooled, "bits_per_melody": self.per_melody}


def bits_of(probabilities: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """-log2 of each row's probability of its target index."""
    return -np.log2(probabilities[np.arange(len(targets)), list(targets)])


# --- neural models: joint tokens -> pitch ---------------------------------------------------

def token_pitch_matrix(token_notes: Sequence[Note | None], alphabet: Sequence[int]
                       ) -> np.ndarray:
    """(vocab, |alphabet|) 0/1 matrix mapping each token to its pitch (rests, end, unknown: 0)."""
    column = {p: i for i, p in enumerate(alphabet)}
    matrix = np.zeros((len(token_notes), len(alphabet)))
    for t, note in enumerate(token_notes):
        if note is not None and note.pitch in column:
            matrix[t, column[note.pitch]] = 1.0
    return matrix


def pitch_distribution(token_probs: np.ndarray, matrix: np.ndarray,
                       floor: float = NEURAL_FLOOR) -> np.ndarray:
    """Pitch probabilities from token probabilities (.., vocab): summed over durations.

    Rest and end tokens are left out and the rest renormalised (the next event is a note);
    ``floor`` of uniform is mixed in so a pitch the model never saw keeps some probability.
    """
    pitch = token_probs @ matrix
    total = pitch.sum(-1, keepdims=True)
    size = matrix.shape[1]
    pitch = np.where(total > 0, pitch / np.where(total > 0, total, 1.0), 1.0 / size)
    return (1.0 - floor) * pitch + floor / size


def checkpoint_pitch_probs(checkpoint: Checkpoint, melody: Melody, alphabet: Sequence[int],
                           first: np.ndarray | None = None) -> np.ndarray:
    """(notes, |alphabet|) pitch distributions of a checkpoint for each pitched note of ``melody``.

    The network reads the whole melody, rests included (as IDyOM's viewpoints know when each
    note starts), teacher-forced; each note's distribution is the one after the event before
    it, with rests and the end left out and durations summed out. Note 1 has no event before
    it and these models have no start token, so it gets ``first`` (crossval passes the
    training folds' order-0 PPM estimate); without it, uniform over the alphabet. A note the
    codec lacks is read as its nearest known token. Window-trained models predict events
    2..W from a fresh state over the prefix, then window by window as they were trained.
    """
    import torch

    from melodyrnn.models.feeds import feed_of, input_groups, model_stream

    size = len(alphabet)
    pitched = [i for i, n in enumerate(melody.notes) if n.pitch is not None]
    out = np.empty((len(pitched), size))
    if not pitched:
        return out
    out[0] = first if first is not None else np.full(size, 1.0 / size)
    if len(pitched) == 1:
        return out
    codec = checkpoint.codec
    if not hasattr(codec, "notes_for"):
        raise MelodyError("pitch-only scoring needs a note codec")
    matrix = token_pitch_matrix(codec.notes_for(melody), alphabet)
    groups = input_groups(checkpoint.model_config)
    stream = model_stream(codec, melody, groups, nearest=True)
    inputs = torch.as_tensor(stream[: pitched[-1]])[None]  # every event before the last note
    model = checkpoint.model
    model.eval()
    with torch.no_grad():
        logits = model(inputs)[0][0]
        feed = feed_of(checkpoint, like=melody)
        width = getattr(feed, "width", 1)
        if width > 1 and inputs.shape[1] >= width:
            windowed = feed.all_logits(model, inputs)[0]
            logits[width - 1:] = windowed[width - 1:]
        probs = torch.softmax(logits.double(), -1).numpy()
    out[1:] = pitch_distribution(probs[[i - 1 for i in pitched[1:]]], matrix)
    return out


def score_checkpoint(checkpoint: Checkpoint, melodies: Sequence[Melody],
                     alphabet: Sequence[int] | None = None,
                     first: np.ndarray | None = None) -> BitsResult:
    """Pitch-only bits per note of a checkpoint on melodies (see ``checkpoint_pitch_probs``)."""
    alphabet = list(alphabet) if alphabet is not None else pitch_alphabet(melodies)
    result = BitsResult()
    column = {p: i for i, p in enumerate(alphabet)}
    for melody in melodies:
        pitches = pitch_sequences([melody])[0]
        missing = sorted(set(pitches) - set(column))
        if missing:
            raise MelodyError(f"pitches {missing} are not in the alphabet")
        probs = checkpoint_pitch_probs(checkpoint, melody, alphabet, first)
        result.bits.append(bits_of(probs, [column[p] for p in pitches]))
    return result
