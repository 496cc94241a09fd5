"""Cross-validation by melody and `melodyrnn evaluate --folds`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from melodyrnn.cli import main
from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.crossval import CrossValConfig
from melodyrnn.music.notation import parse_text
from melodyrnn.pipeline import cross_validate

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
    assert "viewpoints cpitch,cpintfref,cpint, bias 2)" in result.stdout
    data = json.loads(CliRunner().invoke(main, [*args, "--json", "--no-stm"]).stdout)
    assert data["folds"] == 3 and data["melodies"] == len(SONGS)
    assert data["config"]["stm"] is False


def test_cli_evaluate_folds_takes_the_ppm_bias_and_only_with_folds(song_files, tmp_path):
    args = ["evaluate", "--folds", "3", "--model", "ppm", str(song_files), "--cache-dir",
            str(tmp_path / "cache"), "--json"]
    default = json.loads(CliRunner().invoke(main, args).stdout)
    idyom = json.loads(CliRunner().invoke(main, [*args, "--bias", "7"]).stdout)
    assert default["config"]["bias"] == 2.0 and idyom["config"]["bias"] == 7.0
    assert idyom["bits_per_melody"] != default["bits_per_melody"]
    alone = CliRunner().invoke(main, ["evaluate", "--bias", "7", str(song_files)])
    assert alone.exit_code == 2 and "--bias: only with --folds" in alone.output


def test_cli_evaluate_folds_rejects_a_checkpoint_path_as_model(song_files):
    result = CliRunner().invoke(main, ["evaluate", "--folds", "3", "--model", "x.pt",
                                       str(song_files), "--no-cache"])
    assert result.exit_code != 0 and "expected one of ppm" in result.output


def test_the_mixture_is_the_hand_combined_ppm_and_network_distributions():
    from melodyrnn.evaluation.crossval import first_note_distribution, mixture_pitch_probs, train_ppm
    from melodyrnn.evaluation.pitch import checkpoint_pitch_probs, pitch_alphabet, pitch_sequences
    from melodyrnn.models.ppm import PPM, STM, combine_entropy_weighted
    from melodyrnn.pipeline import train_network

    songs = melodies()
    train, test = songs[1:], songs[0]
    alphabet = pitch_alphabet(songs)
    config = CrossValConfig(model="ppm+rnn", epochs=2, hidden=8, viewpoints="cpitch")
    predictor = train_ppm(train, alphabet, config)
    checkpoint = train_network(train, config)
    first = first_note_distribution(train, alphabet)
    mixed = mixture_pitch_probs(predictor, checkpoint, test, alphabet, 1.5, first)
    pitches = pitch_sequences([test])[0]
    by_hand = combine_entropy_weighted([
        predictor.ltm.predict(pitches),
        PPM(alphabet, STM).predict(pitches, learn=True),
        checkpoint_pitch_probs(checkpoint, test, alphabet, first)], 1.5)
    assert mixed.shape == (len(pitches), len(alphabet))
    assert np.allclose(mixed.sum(1), 1.0) and (mixed > 0).all()
    assert np.allclose(mixed, by_hand)


def test_cli_evaluate_folds_ppm_plus_a_network(song_files, tmp_path):
    args = ["evaluate", "--folds", "2", "--model", "ppm+rnn", "--epochs", "1", str(song_files),
            "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "ppm+rnn" in result.stdout and "geometric mix, bias 2" in result.stdout
    data = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert data["model"] == "ppm+rnn" and data["notes"] == sum(len(s.split()) for s in SONGS) - 1
    assert 0 < data["bits_per_melody"] < 10
