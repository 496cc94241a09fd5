"""Melody statistics used to compare generated melodies with real ones."""

from __future__ import annotations

import math

import pytest

from melodyrnn.evaluation.samplestats import (
    compare,
    downbeat_share,
    ends_on_bar_line,
    ends_on_tonic,
    held_across_bar_share,
    last_note_on_downbeat,
    leap_share,
    mean_abs_interval,
    on_beat_share,
    pitch_class_entropy,
    pitch_range,
    repeat_share,
    repeated_bar_share,
    repeated_ngram_rate,
    repeated_rhythm_share,
    scale_consistency,
    step_share,
)
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import parse_text, parse_tokens

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


def test_samples_equal_to_the_real_melodies_are_within_one_sd_of_them():
    """Three copies of one melody against that melody: every row says yes, though the real
    side's standard deviation is 0."""
    tune = parse_tokens("g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4")
    rows = compare([tune, tune, tune], [tune])
    assert all(row["within_one_sd"] for row in rows), [r["metric"] for r in rows
                                                        if not r["within_one_sd"]]


# --- metre, repetition and endings ----------------------------------------------------------

# "Ich hab mir mein Kindel" (tests/music/test_pickup.py): 3/4, a quarter-note upbeat; d'2~ d'4
# is one note that starts on beat 2 of bar 3 and sounds into bar 4.
KINDEL = "\\time 3/4\n\\key g major\n{partial}d4 | g2 a4 | b2. | c'4 d'2~ | d'4 c'4 b4 | a2.\n"


def song(text: str) -> Melody:
    """One melody from the song text format."""
    return parse_text(text)[0]


@pytest.fixture()
def kindel() -> Melody:
    return song(KINDEL.format(partial="\\partial 4\n"))


def test_notes_across_bar_lines_count_notes_that_sound_into_the_next_bar(kindel):
    assert held_across_bar_share(kindel) == pytest.approx(1 / 9)
    assert held_across_bar_share(song("\\time 2/4\nc4 d2 e4 f2")) == pytest.approx(1 / 4)


def test_notes_across_bar_lines_read_the_upbeat(kindel):
    # Read as if it began on a downbeat, b2., d'2. and the last a2. would cross bar lines.
    assert held_across_bar_share(song(KINDEL.format(partial=""))) == pytest.approx(3 / 9)


def test_onsets_on_beats_and_downbeats_in_a_simple_metre(kindel):
    assert on_beat_share(kindel) == 1.0
    assert downbeat_share(kindel) == pytest.approx(4 / 9)  # g2, b2., c'4, a2.
    assert on_beat_share(song("\\time 2/4\nc8 d8 e8 f8 g4 g4")) == pytest.approx(4 / 6)


def test_a_compound_metre_has_dotted_beats():
    # 6/8: beats fall every dotted quarter: c4 (beat 1), e4 (beat 2), g4., a4.
    melody = song("\\time 6/8\nc4 d8 e4 f8 | g4. a4.")
    assert on_beat_share(melody) == pytest.approx(4 / 6)
    assert downbeat_share(melody) == pytest.approx(2 / 6)


REPEATS = "\\time 2/4\nc8 d8 e4 | c8 d8 e4 | c8 e8 g4 | g4 e8 c8 | c8 d8 e4"


def test_repeated_bars_need_the_same_pitches_and_rhythm():
    # Bars A A B C A: the second and the fifth repeat an earlier bar.
    assert repeated_bar_share(song(REPEATS)) == pytest.approx(2 / 4)


def test_repeated_rhythms_ignore_pitch():
    # Rhythms 8 8 4 | 8 8 4 | 8 8 4 | 4 8 8 | 8 8 4: bars 2, 3 and 5 repeat an earlier rhythm.
    assert repeated_rhythm_share(song(REPEATS)) == pytest.approx(3 / 4)
    assert repeated_rhythm_share(song("\\time 2/4\nc8 d8 e4 | c8 r8 e4")) == 0.0


def test_repeated_bars_start_at_the_first_bar_line():
    upbeat = "g8 | c8 d8 e4 | c8 d8 e4"
    assert repeated_bar_share(song("\\time 2/4\n\\partial 8\n" + upbeat)) == 1.0
    assert repeated_bar_share(song("\\time 2/4\n" + upbeat)) == 0.0
    assert repeated_bar_share(song("c4 d4 e4 f4")) == 0.0  # one bar: nothing to repeat


@pytest.mark.parametrize(("text", "expected"), [
    ("\\key g major\ng4 a4 b4 g4", 1.0),
    ("\\key g major\ng4 a4 b4 a4", 0.0),
    ("\\key g major\ng4 a4 b4 g'4 r4", 1.0),  # the last *note*, not the trailing rest
    ("\\key d dorian\nd4 e4 f4 g4 a4 d4", 1.0),
    ("c4 e4 g4 c'4", 1.0),  # no key: analysed from the notes (C major)
])
def test_ends_on_the_tonic_of_the_melodys_key(text, expected):
    assert ends_on_tonic(song(text)) == expected


def test_ends_on_a_bar_line_counts_the_upbeat(kindel):
    assert ends_on_bar_line(kindel) == 1.0
    assert ends_on_bar_line(song(KINDEL.format(partial=""))) == 0.0
    assert ends_on_bar_line(song("\\time 2/4\nc4 d4 e4 f4")) == 1.0
    assert ends_on_bar_line(song("\\time 2/4\nc4 d4 e4")) == 0.0


def test_last_note_on_the_downbeat_reads_the_upbeat_and_skips_trailing_rests(kindel):
    assert last_note_on_downbeat(kindel) == 1.0  # a2. opens the last bar
    assert last_note_on_downbeat(song(KINDEL.format(partial=""))) == 0.0
    # Essen often writes the last bar short: "... | f4" still ends on the downbeat.
    assert last_note_on_downbeat(song("\\time 2/4\nbes4 g8 g8 f4")) == 1.0
    assert last_note_on_downbeat(song("\\time 2/4\nbes4 g8 g8 f4 r4")) == 1.0
    assert last_note_on_downbeat(song("\\time 2/4\nbes4 g8 g8 f4 g4")) == 0.0


def test_compare_has_a_row_for_every_new_statistic():
    rows = compare([song(REPEATS)], [song(REPEATS), song("c4 d4 e4 f4 g4 a4 b4 c'4")])
    names = [row["metric"] for row in rows]
    for name in ("notes across bar lines", "onsets on a beat", "onsets on the downbeat",
                 "repeated bars", "repeated bar rhythms", "ends on the tonic",
                 "last note on the downbeat", "ends on a bar line"):
        assert name in names
