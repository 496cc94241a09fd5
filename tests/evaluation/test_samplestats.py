"""Melody statistics used to compare generated melodies with real ones."""

from __future__ import annotations

import math

import pytest

from melodyrnn.evaluation.samplestats import (
    compare,
    leap_share,
    mean_abs_interval,
    pitch_class_entropy,
    pitch_range,
    repeat_share,
    repeated_ngram_rate,
    scale_consistency,
    step_share,
)
from melodyrnn.music.notation import parse_tokens

SCALE = parse_tokens("c d e f g a b c'")  # intervals 2 2 1 2 2 2 1


def test_interval_shares_add_up_and_match_the_scale():
    assert step_share(SCALE) == 1.0
    assert repeat_share(SCALE) == leap_share(SCALE) == 0.0
    assert mean_abs_interval(SCALE) == pytest.approx(12 / 7)
    assert pitch_range(SCALE) == 12


def test_pitch_class_entropy_of_seven_notes_one_repeated():
    # c appears twice (c and c'), the other six once: 8 notes in 7 classes.
    expected = -(2 / 8) * math.log2(2 / 8) - 6 * (1 / 8) * math.log2(1 / 8)
    assert pitch_class_entropy(SCALE) == pytest.approx(expected)


def test_scale_consistency_finds_the_best_key():
    assert scale_consistency(SCALE) == 1.0
    # D-flat major holds C, C#/Db and D#/Eb but not D: three of four.
    assert scale_consistency(parse_tokens("c cis d dis")) == 0.75


def test_repeated_ngram_rate_counts_motifs_that_return():
    # Intervals 2 2 -4 2 2 -4 2 2: of five 4-grams only (-4 2 2 -4) occurs once.
    motif = parse_tokens("c d e c d e c d e")
    assert repeated_ngram_rate(motif) == pytest.approx(4 / 5)
    assert repeated_ngram_rate(SCALE) == 0.0


def test_rests_are_ignored_and_leaps_counted():
    melody = parse_tokens("c4 r4 g4 r4 c'4")
    assert leap_share(melody) == 1.0 and repeat_share(melody) == 0.0


def test_compare_flags_metrics_outside_one_standard_deviation():
    real = [SCALE, parse_tokens("c e g c' g e c"), parse_tokens("d e f g a g f e d")]
    rows = {r["metric"]: r for r in compare([parse_tokens("c c c c c c")], real)}
    assert rows["repeats"]["within_one_sd"] is False
    assert rows["scale consistency"]["within_one_sd"] is True
