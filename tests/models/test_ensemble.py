"""Ensembles: the mean of several networks' distributions, carried step by step like one
network, saved (in 16 bits if asked) and loaded as one checkpoint, refused when they differ."""

from __future__ import annotations

import math

import pytest
import torch
from clitools import run

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import CheckpointError, MelodyError
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.ensemble import Ensemble, first_network
from melodyrnn.models.feeds import StreamFeed
from melodyrnn.models.network import SequenceModel

TOKENS = ["c4", "d4", "e4", "f4", "g4"]
CONFIG = ModelConfig(vocab_size=5, output_size=5, hidden=8, embedding_dim=4, copy=True)


def network(seed: int, config: ModelConfig = CONFIG) -> SequenceModel:
    torch.manual_seed(seed)
    return SequenceModel(config).eval()


def checkpoint_of(model, held_out=(1,)) -> ckpt.Checkpoint:
    return ckpt.Checkpoint(model, NoteCodec(TOKENS), {"batching": "stream"},
                           {"primer": [0, 1], "valid_indices": list(held_out)})


SONG = torch.tensor([[0, 1, 2, 3, 4, 3, 2, 1, 0]])


def test_an_ensemble_predicts_the_normalised_geometric_mean_of_its_networks():
    members = [network(1), network(2)]
    with torch.no_grad():
        mixed = Ensemble(members)(SONG)[0].exp()
        each = [m(SONG)[0].float().log_softmax(-1).exp() for m in members]
    product = (each[0] * each[1]).sqrt()
    assert torch.allclose(mixed, product / product.sum(-1, keepdim=True), atol=1e-6)
    assert torch.allclose(mixed.sum(-1), torch.ones(1, SONG.shape[1]))


def test_step_by_step_with_carried_state_equals_one_pass_over_the_song():
    ensemble, feed = Ensemble([network(1), network(2), network(3)]).eval(), StreamFeed()
    with torch.no_grad():
        whole = feed.all_logits(ensemble, SONG)
        logits, state = feed.start(ensemble, SONG[:, :1])
        steps = [logits]
        for t in range(2, SONG.shape[1] + 1):
            logits, state = feed.step(ensemble, SONG[:, :t], state)
            steps.append(logits)
    assert torch.allclose(torch.stack(steps, 1), whole, atol=1e-5)


def test_networks_of_different_configs_or_too_few_are_refused():
    with pytest.raises(MelodyError, match="share one config"):
        Ensemble([network(1), network(2, ModelConfig(vocab_size=5, output_size=5, hidden=6,
                                                     embedding_dim=4, copy=True))])
    with pytest.raises(MelodyError, match="2 to"):
        Ensemble([network(1)])


def test_an_ensemble_is_not_trained_as_a_whole_but_fine_tuning_starts_from_its_first_network():
    ensemble = Ensemble([network(1), network(2)])
    with pytest.raises(MelodyError, match="train its networks one by one"):
        ensemble(SONG, targets=SONG)
    assert first_network(ensemble) is ensemble.members[0]
    assert first_network(ensemble.members[1]) is ensemble.members[1]


def test_combined_checkpoints_save_and_load_as_one_in_16_bits(tmp_path):
    combined = ckpt.combine([checkpoint_of(network(1)), checkpoint_of(network(2))])
    full = ckpt.save(combined, tmp_path / "full.pt")
    half = ckpt.save(combined, tmp_path / "half.pt", half=True)
    assert half.stat().st_size < 0.7 * full.stat().st_size
    loaded = ckpt.load(half)
    assert isinstance(loaded.model, Ensemble) and len(loaded.model.members) == 2
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    with torch.no_grad():
        expected, found = combined.model(SONG)[0], loaded.model(SONG)[0]
        assert torch.allclose(ckpt.load(full).model(SONG)[0], expected, atol=1e-6)
    assert torch.allclose(found, expected, atol=1e-2) and not torch.equal(found, expected)


def test_checkpoints_of_other_vocabularies_or_held_out_melodies_do_not_combine():
    other = ckpt.Checkpoint(network(2), NoteCodec(["c4", "d4", "e4", "f4", "a4"]), {}, {})
    with pytest.raises(MelodyError, match="one vocabulary"):
        ckpt.combine([checkpoint_of(network(1)), other])
    with pytest.raises(MelodyError, match="same melodies"):
        ckpt.combine([checkpoint_of(network(1)), checkpoint_of(network(2), held_out=(0,))])


@pytest.mark.parametrize("networks", [0, 9, "2", 2.0])
def test_a_tampered_network_count_is_an_unusable_checkpoint(tmp_path, networks):
    path = ckpt.save(ckpt.combine([checkpoint_of(network(1)), checkpoint_of(network(2))]),
                     tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["networks"] = networks
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="networks"):
        ckpt.load(path)


def test_a_single_networks_weights_under_an_ensemble_count_do_not_load(tmp_path):
    path = ckpt.save(checkpoint_of(network(1)), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["networks"] = 2
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        ckpt.load(path)


def test_generate_and_fine_tune_from_an_ensemble_on_the_command_line(tmp_path):
    songs = tmp_path / "songs.txt"
    songs.write_text("c4 d4 e4 f4 g4 f4 e4 d4 c4\n", encoding="utf-8")
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.pt")
        run("train", songs, "--epochs", "30", "--hidden", "16", "--rng-seed", seed,
            "--no-progress", "--no-cache", "-o", paths[-1])
    both = ckpt.save(ckpt.combine([ckpt.load(p) for p in paths]), tmp_path / "both.pt",
                     half=True)
    out = run("generate", "--model", both, "--seed", "c4 d4 e4 f4", "--length", "5",
              "--temperature", "0").stdout
    assert out.splitlines()[-1] == "c4 d4 e4 f4 g4 f4 e4 d4 c4"
    tuned = run("train", songs, "--init", both, "--epochs", "1", "--no-progress", "--no-cache",
                "-o", tmp_path / "tuned.pt")
    assert "the first of its 2 averaged networks" in tuned.output
    assert not isinstance(ckpt.load(tmp_path / "tuned.pt").model, Ensemble)
    assert math.isfinite(ckpt.load(tmp_path / "tuned.pt").model.head.bias.sum().item())
