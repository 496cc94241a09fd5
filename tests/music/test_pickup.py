"""Upbeats (pickups): every reader puts the first notes where a musician reads them in the score."""

from __future__ import annotations

from fractions import Fraction as Fr

import mido
import pytest

from melodyrnn.errors import ParseError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import format_melody, parse_text
from melodyrnn.music.readers import read
from melodyrnn.music.writers import write

# "Ich hab mir mein Kindel": 3/4 with a quarter-note upbeat, then full bars.
SONG = r"""\time 3/4
\key g major
\partial 4
d4 | g2 a4 | b2. | c'4 d'2~ | d'4 c'4 b4 | a2.
"""
# Position of each note in its bar (0 = downbeat), as the score shows them.
POSITIONS = [Fr(2), Fr(0), Fr(2), Fr(0), Fr(0), Fr(1), Fr(1), Fr(2), Fr(0)]  # d'2~ d'4 is one note


@pytest.fixture()
def song() -> Melody:
    return parse_text(SONG)[0]


def test_text_partial_header_sets_the_pickup_and_positions(song):
    assert song.pickup == Fr(1)
    assert song.positions() == POSITIONS
    assert parse_text(format_melody(song))[0] == song  # \partial is written back


def test_a_melody_without_pickup_starts_on_the_downbeat():
    melody = parse_text("\\time 2/4\nc8 d8 e4 f4")[0]
    assert melody.pickup == 0 and melody.positions() == [0, Fr(1, 2), 1, 0]


@pytest.mark.parametrize("text", ["\\partial x", "\\partial 3", "\\partial", "\\partial 4~"])
def test_a_bad_partial_header_names_the_place(text):
    with pytest.raises(ParseError, match=r"<text>:1:1: '\\partial"):
        parse_text(text + "\nc4")


def test_abc_upbeat_from_the_file(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Upbeat\nM:3/4\nL:1/4\nK:G\nD | G2 A | B3 | c d2- | d c B | A3 |]\n")
    [melody] = read(path)
    assert melody.pickup == Fr(1) and melody.positions()[:4] == POSITIONS[:4]


def test_abc_eighth_upbeat_in_six_eight(tmp_path):
    path = tmp_path / "jig.abc"
    path.write_text("X:1\nM:6/8\nL:1/8\nK:D\nA | d2 d f2 f | a3 a2 |]\n")
    [melody] = read(path)
    assert melody.pickup == Fr(1, 2) and melody.positions()[:3] == [Fr(5, 2), 0, 1]


@pytest.mark.parametrize("suffix", [".musicxml", ".mid", ".abc", ".txt"])
def test_written_files_keep_the_pickup(song, tmp_path, suffix):
    path = write(song, tmp_path / f"song{suffix}")
    [back] = read(path)
    assert back.pickup == song.pickup and back.positions() == POSITIONS
    assert [n.pitch for n in back.notes] == [n.pitch for n in song.notes]


def test_midi_first_note_after_the_bar_line_is_a_pickup(tmp_path):
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=2, denominator=4),
                            mido.Message("note_on", note=67, velocity=80, time=720),
                            mido.Message("note_off", note=67, velocity=0, time=240),
                            mido.Message("note_on", note=72, velocity=80, time=0),
                            mido.Message("note_off", note=72, velocity=0, time=960)])
    midi.tracks.append(track)
    midi.save(tmp_path / "upbeat.mid")
    [melody] = read(tmp_path / "upbeat.mid")
    assert melody.pickup == Fr(1, 2) and melody.positions() == [Fr(3, 2), 0]


def test_a_whole_bar_pickup_is_no_pickup():
    assert Melody((Note(60, Fr(1)),), time_signature=(2, 4), pickup=Fr(2)).pickup == 0


@pytest.mark.parametrize("notes, pickup, metre, rest", [
    ((Fr(2), Fr(1)), Fr(0), (2, 4), Fr(1)),          # c2 d4: a quarter rest closes the bar
    ((Fr(2), Fr(2)), Fr(0), (2, 4), None),            # already on the bar line
    # after a pickup of 1.5 in 3/4, the last bar and the pickup make a whole bar at 6
    ((Fr(3, 2), Fr(2), Fr(3, 2)), Fr(3, 2), (3, 4), Fr(1)),
    # the pickup's complement (6) comes before the next bar line (7)
    ((Fr(1), Fr(3), Fr(1, 2)), Fr(1), (3, 4), Fr(3, 2)),
    # past the complement (3) the next bar line (4) closes it
    ((Fr(1), Fr(2), Fr(1, 2)), Fr(1), (3, 4), Fr(1, 2)),
])
def test_the_last_bar_is_closed_by_a_rest_to_the_bar_line_or_the_pickup_complement(
        notes, pickup, metre, rest):
    melody = Melody(tuple(Note(60, d) for d in notes), time_signature=metre, pickup=pickup)
    closed = melody.with_last_bar_closed()
    if rest is None:
        assert closed == melody
    else:
        assert closed.notes[:-1] == melody.notes and closed.notes[-1] == Note.rest(rest)
        end = closed.total_duration
        assert end % closed.bar_length == 0 or closed.position_in_bar(end) == 0
