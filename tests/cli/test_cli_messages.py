"""What a new user reads: counts that agree, settings that do not pass silently, melodies
with unknown notes named by file, repeatable seeds, standard output with -o -."""

from __future__ import annotations

import io
import wave

from clitools import run

from melodyrnn.music.notation import parse_text

SEED = ["g8", "e8", "e4", "f8"]


def test_train_counts_notes_and_rests_as_data_stats_does(tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("c4 r4 d4 e4 r8 f8\n")
    result = run("train", song, "--epochs", "1", "--hidden", "4", "--no-progress",
                 "-o", tmp_path / "m.pt")
    assert "on 1 melody, 4 notes (+ 2 rests), 6 distinct tokens" in result.stderr
    assert "notes       4 (+ 2 rests" in run("data", "stats", song, "--no-cache").stdout


def test_a_one_note_song_says_there_is_nothing_to_predict(tmp_path):
    song = tmp_path / "one.txt"
    song.write_text("c4\n")
    result = run("train", song, "--no-progress", "-o", tmp_path / "m.pt", ok=False)
    assert "1 note, 1 distinct token\n" in result.stderr
    assert "every song has fewer than 2 notes" in result.stderr


def test_settings_that_change_nothing_are_said(tmp_path, nabiya_path):
    result = run("train", nabiya_path, "--epochs", "1", "--hidden", "4", "--no-progress",
                 "--stop-accuracy", "2", "--amp", "--device", "cpu", "-o", tmp_path / "m.pt")
    assert "--amp needs a CUDA GPU; training on cpu in full precision" in result.stderr
    assert "--stop-accuracy 2 is above 1, so training never stops early" in result.stderr


def test_mode_without_key_is_an_error(nabiya_model):
    result = run("generate", "--model", nabiya_model, "--mode", "minor", ok=False)
    assert "--mode minor: only with --key" in result.stderr


def test_the_first_melody_does_not_depend_on_how_many_are_made(nabiya_model):
    args = ["generate", "--model", nabiya_model, "--seed", *SEED, "--temperature", "1.5",
            "--length", "12", "--rng-seed", "5"]
    alone = parse_text(run(*args).stdout)
    two = parse_text(run(*args, "--num-outputs", "2").stdout)
    next_seed = parse_text(run(*args[:-1], "6").stdout)
    assert two[0].notes == alone[0].notes
    assert two[1].notes == next_seed[0].notes


def test_evaluate_scores_the_melodies_it_can_and_names_the_others(tmp_path, nabiya_model,
                                                                  nabiya_path):
    other = tmp_path / "other.txt"
    other.write_text("\\title Elsewhere\na8 b8 c'4 a8 b8 c'4\n")
    result = run("evaluate", "--model", nabiya_model, nabiya_path, other, "--no-cache")
    assert "skipped 1 melody of 2 with notes the model never saw: 'Elsewhere' (" in result.stderr
    assert "other.txt)" in result.stderr
    assert result.stdout.startswith("one-step   50/50 correct")


def test_dash_writes_to_standard_output(tmp_path, nabiya_model):
    text = run("generate", "--model", nabiya_model, "--seed", *SEED, "--length", "4",
               "-o", "-").stdout
    assert len(parse_text(text)[0]) == 8
    song = tmp_path / "song.txt"
    song.write_text("c4 d4\n")
    rendered = run("render", song, "-o", "-", "--synth", "builtin")
    with wave.open(io.BytesIO(rendered.stdout_bytes)) as audio:
        assert audio.getnframes() > 44100  # two beats at 120 bpm, and a release
    assert "wrote standard output" in rendered.stderr
