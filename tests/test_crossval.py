"""Cross-validation by melody and `melodyrnn evaluate --folds`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from melodyrnn.cli import main
from melodyrnn.crossval import CrossValConfig, cross_validate
from melodyrnn.errors import MelodyError
from melodyrnn.notation import parse_text

SONGS = ["c4 d4 e4 c4 d4 e4 f2", "e4 d4 c4 r4 c4 d4 e4", "g4 e4 e2 f4 d4 d2",
         "c4 e4 g4 e4 c2", "d4 f4 a4 f4 d2", "e4 g4 b4 g4 e2"]


def melodies():
    return [m for text in SONGS for m in parse_text(text)]


def test_every_note_is_scored_once_with_both_means():
    result = cross_validate(melodies(), CrossValConfig(folds=3))
    assert result.scores.notes == sum(len(s.split()) for s in SONGS) - 1  # one rest dropped
    assert len(result.scores.bits) == len(SONGS)
    assert sum(result.fold_sizes) == len(SONGS)
    assert 0 < result.scores.pooled < 10 and 0 < result.scores.per_melody < 10


def test_a_neural_fold_run_scores_every_note():
    config = CrossValConfig(model="rnn", folds=2, epochs=2, hidden=8)
    result = cross_validate(melodies(), config)
    assert result.scores.notes == sum(len(s.split()) for s in SONGS) - 1


def test_an_unknown_architecture_is_an_error():
    with pytest.raises(MelodyError, match="expected one of"):
        CrossValConfig(model="transformer")


@pytest.fixture
def song_files(tmp_path):
    for i, text in enumerate(SONGS):
        (tmp_path / f"song{i}.txt").write_text(text + "\n", encoding="utf-8")
    return tmp_path


def test_cli_evaluate_folds_ppm_prints_pooled_and_per_melody(song_files, tmp_path):
    args = ["evaluate", "--folds", "3", "--model", "ppm", str(song_files), "--cache-dir",
            str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "pooled" in result.stdout and "per melody" in result.stdout
    assert "folds      3 by melody" in result.stdout
    data = json.loads(CliRunner().invoke(main, [*args, "--json", "--no-stm"]).stdout)
    assert data["folds"] == 3 and data["melodies"] == len(SONGS)
    assert data["config"]["stm"] is False


def test_cli_evaluate_folds_rejects_a_checkpoint_path_as_model(song_files):
    result = CliRunner().invoke(main, ["evaluate", "--folds", "3", "--model", "x.pt",
                                       str(song_files), "--no-cache"])
    assert result.exit_code != 0 and "expected one of ppm" in result.output
