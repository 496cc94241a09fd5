"""Fine-tuning a trained model (`train --init`, `evaluate --folds --init`) and `--exclude`."""

from __future__ import annotations

import json

import pytest
import torch
from clitools import run

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel, grow_vocabulary
from melodyrnn.music.notation import parse_text
from melodyrnn.pipeline import fit
from melodyrnn.training.config import TrainConfig

OLD = "c4 d4 e4 c4 d4 e4 f2"
NEW = "c4 d4 e4 fis4 g2 a8 a8 g4"  # fis4, g2, a8 and g4 are new tokens


def melody(text: str):
    return parse_text(text)[0]


def test_an_extended_codec_keeps_every_old_id_and_appends_the_new_tokens():
    codec = NoteCodec.fit([melody(OLD)], end_token=True)
    grown = codec.extended([melody(NEW)])
    assert grown.tokens[: codec.vocab_size] == codec.tokens
    assert sorted(grown.tokens[codec.vocab_size:]) == sorted(["fis4", "g2", "a8", "g4"])
    assert grown.end_id == codec.end_id
    assert codec.extended([melody(OLD)]) is codec  # nothing new: the same codec


def test_a_grown_model_predicts_old_tokens_as_before():
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=5, output_size=5, hidden=8, embedding_dim=4))
    grown = grow_vocabulary(model, 8)
    tokens = torch.tensor([[0, 3, 1, 4, 2]])
    before, after = model(tokens)[0], grown(tokens)[0]
    # As before up to float rounding: a wider output layer may take another matmul kernel.
    assert torch.allclose(after[..., :5], before, rtol=0, atol=1e-6)
    # New tokens start as unlikely as the least likely old token could be made by its bias.
    assert torch.allclose(after[..., 5:], model.head.bias.min().expand(1, 5, 3))


def test_only_embedding_models_can_grow():
    model = SequenceModel(ModelConfig(vocab_size=5, output_size=5, input="scalar", hidden=4))
    with pytest.raises(MelodyError, match="cannot grow"):
        grow_vocabulary(model, 6)


def test_fit_with_init_starts_from_the_trained_weights():
    config = TrainConfig(epochs=30, lr=0.02, stop_accuracy=1.1)
    base = fit([melody(OLD)], NoteCodec.fit([melody(OLD)]), ModelConfig(hidden=16),
               config, progress=False).checkpoint
    tuned = fit([melody(NEW)], base.codec.extended([melody(NEW)]), ModelConfig(hidden=99),
                TrainConfig(epochs=1, lr=1e-9, stop_accuracy=1.1), progress=False,
                init=base).checkpoint
    assert tuned.model_config.hidden == 16  # the pre-trained architecture wins
    assert tuned.codec.tokens[: base.codec.vocab_size] == base.codec.tokens
    old_ids = torch.tensor([base.codec.encode(melody(OLD))])
    size = base.codec.vocab_size
    # A vanishing learning rate leaves the old model's predictions as they were.
    assert torch.allclose(tuned.model(old_ids)[0][..., :size], base.model(old_ids)[0],
                          atol=1e-5)


def test_fit_with_init_refuses_a_codec_that_reorders_the_checkpoints_tokens():
    base = fit([melody(OLD)], NoteCodec.fit([melody(OLD)]), ModelConfig(hidden=8),
               TrainConfig(epochs=1, stop_accuracy=1.1), progress=False).checkpoint
    with pytest.raises(MelodyError, match="vocabulary first"):
        fit([melody(NEW)], NoteCodec.fit([melody(NEW)]), ModelConfig(), TrainConfig(epochs=1),
            progress=False, init=base)


@pytest.fixture
def folders(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "a.txt").write_text(OLD + "\n", encoding="utf-8")
    (old / "b.txt").write_text("e4 d4 c4 d4 e4 e4 e2\n", encoding="utf-8")
    (new / "c.txt").write_text(NEW + "\n", encoding="utf-8")
    return tmp_path


def test_cli_train_init_fine_tunes_and_learns_the_new_song(folders, tmp_path):
    base, tuned = tmp_path / "base.pt", tmp_path / "tuned.pt"
    run("train", folders / "old", "--epochs", "20", "--hidden", "16", "-o", base,
        "--no-progress", "--cache-dir", tmp_path / "cache")
    result = run("train", folders / "new", "--init", base, "--lr", "0.01", "--hidden", "64",
                 "-o", tuned, "--no-progress", "--cache-dir", tmp_path / "cache")
    assert f"fine-tuning {base}" in result.output
    model = ckpt.load(tuned)
    assert model.model_config.hidden == 16 and model.metadata["init"] == str(base)
    out = run("generate", "--model", tuned, "--seed", "c4 d4 e4 fis4", "--length", "4").stdout
    assert "g2 a8 a8 g4" in out


def test_cli_train_init_errors_are_clear(folders, tmp_path, nabiya_model):
    args = ["train", folders / "new", "--no-progress", "--cache-dir", tmp_path / "cache"]
    missing = run(*args, "--init", tmp_path / "nope.pt", ok=False)
    assert "nope.pt: no such model file" in missing.output
    both = run(*args, "--init", nabiya_model, "--resume", nabiya_model, ok=False)
    assert "--init and --resume" in both.output
    text = tmp_path / "t.txt"
    text.write_text("hello there\n", encoding="utf-8")
    wrong_kind = run("train", "--kind", "text", text, "--init", nabiya_model, "--no-progress",
                     ok=False)
    assert "holds a notes model" in wrong_kind.output


def test_init_bundled_without_a_bundled_model_and_zero_epochs_without_init_are_errors(
        folders, tmp_path, monkeypatch):
    monkeypatch.setenv("MELODYRNN_NO_BUNDLED", "1")
    no_bundled = run("train", folders / "new", "--init", "bundled", "--no-progress",
                     "--cache-dir", tmp_path / "cache", ok=False)
    assert "--init" in no_bundled.output and "no bundled model" in no_bundled.output
    zero = run("evaluate", "--folds", "3", "--model", "lstm", "--epochs", "0", folders,
               "--cache-dir", tmp_path / "cache", ok=False)
    assert "--epochs" in zero.output and "0 only with --init" in zero.output


def test_cli_evaluate_folds_with_a_pretrained_model(folders, tmp_path):
    base = tmp_path / "base.pt"
    run("train", folders / "old", folders / "new", "--epochs", "30", "--hidden", "16",
        "--drop-rests", "-o", base, "--no-progress", "--cache-dir", tmp_path / "cache")
    args = ["evaluate", "--folds", "3", "--model", "lstm", folders, "--init", base, "--json",
            "--cache-dir", tmp_path / "cache"]
    as_is = json.loads(run(*args, "--epochs", "0").stdout)
    tuned = json.loads(run(*args, "--epochs", "2").stdout)
    assert as_is["config"]["init"] == str(base) and as_is["config"]["lr"] == 0.001
    assert as_is["notes"] == tuned["notes"] == 7 + 7 + 8
    assert as_is["bits_pooled"] != tuned["bits_pooled"]
    refused = run("evaluate", "--folds", "3", "--model", "ppm", folders, "--init", base,
                  "--cache-dir", tmp_path / "cache", ok=False)
    assert "only a network" in refused.output


def test_exclude_leaves_out_a_source_and_says_when_it_matches_nothing(folders, tmp_path):
    cache = ["--cache-dir", tmp_path / "cache", "--json"]
    both = json.loads(run("data", "stats", folders, *cache).stdout)
    kept = json.loads(run("data", "stats", folders, "--exclude", folders / "new",
                          *cache).stdout)
    assert both["melodies"] == 3 and kept["melodies"] == 2
    nothing = run("data", "stats", folders / "old", "--exclude", folders / "new", ok=False)
    assert "matches none of the sources' files" in nothing.output
    everything = run("data", "stats", folders / "old", "--exclude", folders / "old", ok=False)
    assert "leaves no files to read" in everything.output
