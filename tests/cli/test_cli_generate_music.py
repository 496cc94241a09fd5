"""`melodyrnn generate` makes music by default: endings, cadences, labels and no loops."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.evaluation import plausibility
from melodyrnn.generation.constraints import MAX_FINAL_LEAP
from melodyrnn.generation.sampling import Sampling
from melodyrnn.generation.steering import stable_pitch_classes, strong_beats
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import parse_text
from melodyrnn.pipeline import fit, judge_samples
from melodyrnn.training.config import TrainConfig
from tests.clitools import run

# Folk-like tunes in 2/4 and 3/4 in two keys, ending on the tonic.
TUNES = r"""\time 2/4
\key g major
g8 a8 b8 g8 d'4 d'4 e'8 d'8 c'8 b8 a4 a4 b8 c'8 d'8 b8 a8 g8 fis8 a8 g2

\time 2/4
\key f major
f8 g8 a8 f8 c'4 c'4 d'8 c'8 bes8 a8 g4 g4 a8 bes8 c'8 a8 g8 f8 e8 g8 f2

\time 3/4
\key g major
\partial 4
d4 g2 a4 b2 g4 a4 b4 c'4 d'2 d4 g2 a4 b4 a4 fis4 g2.

\time 3/4
\key f major
\partial 4
c4 f2 g4 a2 f4 g4 a4 bes4 c'2 c4 f2 g4 a4 g4 e4 f2.
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A key-frame model with derived inputs and an end token, trained to know these tunes."""
    tunes = parse_text(TUNES)
    codec = NoteCodec.fit(tunes, end_token=True, frame="key")
    report = fit(tunes, codec, ModelConfig(hidden=32, embedding_dim=16,
                                           inputs="token,position,bar,lookback"),
                 TrainConfig(epochs=120, lr=0.01, stop_accuracy=2.0),
                 {"tempo": 100, "time_signature": [2, 4], "key": "G major"},
                 progress=False, log=lambda message: None)
    return ckpt.save(report.checkpoint, tmp_path_factory.mktemp("music") / "tunes.pt")


def melodies_of(result) -> list[Melody]:
    return parse_text(result.stdout)


@pytest.mark.parametrize(("seed", "time"), [("g8 a8 b8 g8", "2/4"), ("d4 g2", "3/4")])
def test_bars_end_with_a_cadence_on_a_strong_beat_and_a_stable_degree(model, seed, time):
    extra = ["--seed", f"\\time {time} \\key g major " + ("\\partial 4 " if time == "3/4" else "")
             + seed]
    result = run("generate", "--model", model, *extra, "--bars", "4", "--num-outputs", "6",
                 "--temperature", "1.2", "--rng-seed", "3")
    for melody in melodies_of(result):
        last_start = melody.onsets()[-1]
        end = melody.total_duration
        assert melody.position_in_bar(end) == 0  # ends on a bar line
        assert float(melody.position_in_bar(last_start)) in strong_beats(melody.time_signature)
        assert melody.notes[-1].pitch % 12 in stable_pitch_classes(melody.key)
        pitched = [n.pitch for n in melody.notes if n.pitch is not None]
        assert abs(pitched[-1] - pitched[-2]) <= MAX_FINAL_LEAP  # it closes in its register
        assert melody.time_signature == tuple(map(int, time.split("/")))


def test_the_key_and_metre_written_are_the_seeds_not_the_training_datas(model):
    result = run("generate", "--model", model, "--seed", r"\time 3/4 \key f major c4 f2",
                 "--length", "12", "--rng-seed", "1")
    (melody,) = melodies_of(result)
    assert melody.time_signature == (3, 4) and melody.key == "F major"
    assert r"\key f major" in result.stdout and r"\time 3/4" in result.stdout


def test_a_bare_seeds_key_is_the_one_the_model_hears_and_analysed_at_the_end(model):
    result = run("generate", "--model", model, "--seed", "f8 g8 a8 f8", "--length", "20",
                 "--rng-seed", "2")
    (melody,) = melodies_of(result)
    assert melody.key in ("F major", "D minor")  # the seed is in F: never the data's G major


def test_the_end_token_stops_a_melody_and_says_so(model):
    result = run("generate", "--model", model, "--seed", "g8 a8 b8 g8", "--length", "500",
                 "--rng-seed", "0")
    (melody,) = melodies_of(result)
    assert len(melody) < 500 + 4
    assert "ended at the model's end token" in result.stderr and "--length 500 is a cap" in \
        result.stderr


def test_a_melody_its_end_token_stops_mid_bar_ends_on_a_bar_line_with_a_closing_rest():
    args = ["generate", "--model", ckpt.BUNDLED_PATH, "--seed", "g8 e8 e4 f8", "--rng-seed"]
    ended = closed = 0
    for rng_seed in range(8):
        result = run(*args, rng_seed)
        (melody,) = melodies_of(result)
        if "ended at the model's end token" not in result.stderr:
            continue  # cut by --length: it ends where the cap falls
        ended += 1
        assert melody.position_in_bar(melody.total_duration) == 0, rng_seed  # no pickup
        closed += melody.notes[-1].is_rest
    assert ended >= 4 and closed >= 1  # some stopped mid-bar: the rest is what closed them


def test_a_model_that_ends_melodies_itself_is_capped_at_256_new_notes_by_default(model):
    result = run("generate", "--model", ckpt.BUNDLED_PATH, "--seed", "d'8 g'8 g'8 a'8",
                 "--rng-seed", "11")
    (melody,) = melodies_of(result)
    assert len(melody) - 4 > 50  # where a cap of 50 used to cut it mid-phrase
    assert "ended at the model's end token after" in result.stderr
    assert "(at most 256 without --length; --no-stop goes on)" in result.stderr
    unstopped = run("generate", "--model", ckpt.BUNDLED_PATH, "--seed", "d'8 g'8 g'8 a'8",
                    "--no-stop")
    assert len(melodies_of(unstopped)[0]) == 4 + 50  # without the end token: 50 notes


def test_without_a_seed_generation_starts_from_a_real_opening_drawn_by_the_rng_seed(model):
    first = run("generate", "--model", model, "--length", "8", "--rng-seed", "0")
    again = run("generate", "--model", model, "--length", "8", "--rng-seed", "0")
    assert first.stdout == again.stdout and "opening of training melody" in first.stderr
    openings = {run("generate", "--model", model, "--length", "1", "--rng-seed", str(seed),
                    "--temperature", "0").stdout.splitlines()[-1].split()[0]
                for seed in range(6)}
    assert len(openings) > 1  # different seeds draw different openings


def test_no_pitch_is_repeated_more_than_eight_times_in_a_row(tmp_path):
    # A model that knows nothing but one repeated note: the guard still varies the pitch.
    droning = parse_text("c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 d4 e4")
    report = fit(droning, NoteCodec.fit(droning), ModelConfig(hidden=16),
                 TrainConfig(epochs=60, stop_accuracy=2.0), {}, progress=False,
                 log=lambda m: None)
    path = ckpt.save(report.checkpoint, tmp_path / "drone.pt")
    result = run("generate", "--model", path, "--seed", "c4", "--length", "40",
                 "--temperature", "0")
    pitches = [n.pitch for n in melodies_of(result)[0].notes]
    longest = max(len(run_) for run_ in _runs(pitches))
    assert longest <= 8


def test_evaluate_samples_are_made_under_the_same_repetition_guard(tmp_path, monkeypatch):
    # `evaluate --samples` judges what `generate` makes: the drone model cannot loop there either.
    droning = parse_text("c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 c4 d4 e4")
    report = fit(droning, NoteCodec.fit(droning), ModelConfig(hidden=16),
                 TrainConfig(epochs=60, stop_accuracy=2.0), {}, progress=False,
                 log=lambda m: None)
    made: list[Melody] = []

    def judge(real, training, generate, count, width, usable, seed):
        made.append(generate(real[0].with_notes(real[0].notes[:1]), 40, 0))

    monkeypatch.setattr(plausibility, "judge", judge)
    judge_samples(report.checkpoint, droning, droning, 1, Sampling(temperature=0.0))
    pitches = [n.pitch for n in made[0].notes]
    assert len(pitches) == 41 and max(len(run_) for run_ in _runs(pitches)) <= 8


def _runs(values: list) -> list[list]:
    runs: list[list] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1].append(value)
        else:
            runs.append([value])
    return runs


def test_a_pickup_in_the_seed_keeps_bar_lines_in_place(model):
    result = run("generate", "--model", model, "--seed", r"\time 3/4 \partial 4 d4 g2 a4",
                 "--bars", "2", "--rng-seed", "4")
    (melody,) = melodies_of(result)
    assert melody.pickup == Fraction(1)
    assert melody.position_in_bar(melody.total_duration) == 0
