"""What one file may ask for: metres, tempos, note and melody lengths, numbers in the text
format; each refused with a one-line reason and (in song text) its line and column."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from melodyrnn.errors import MelodyError, ParseError
from melodyrnn.music.melody import (
    MAX_MELODY_NOTES,
    MAX_NOTE_QUARTERS,
    Melody,
    Note,
    metre_problem,
    tempo_problem,
)
from melodyrnn.music.notation import (
    NOT_SONG_TEXT,
    duration_parts,
    format_melody,
    parse_file,
    parse_text,
    shown,
)


@pytest.mark.parametrize("metre", [(3, 4), (6, 8), (1, 1), (64, 64), (13, 16)])
def test_usable_metres(metre):
    assert metre_problem(metre) is None


@pytest.mark.parametrize(("metre", "shown_as"), [
    ((0, 4), "0/4"), ((4, 0), "4/0"), ((4, 3), "4/3"), ((65, 4), "65/4"),
    ((4, 2**255), "4/2^255"), ((4, 128), "4/128"),
])
def test_unusable_metres_are_named(metre, shown_as):
    assert metre_problem(metre).startswith(f"time signature {shown_as}: expected 1-64 beats")
    with pytest.raises(MelodyError, match=re.escape(f"time signature {shown_as}")):
        Melody((Note(60, Fraction(1)),), time_signature=metre)


@pytest.mark.parametrize("tempo", [0, -5, 1001, 2.5, True])
def test_unusable_tempos_are_refused(tempo):
    assert tempo_problem(tempo)
    with pytest.raises(MelodyError, match="expected a whole number of beats per minute"):
        Melody((Note(60, Fraction(1)),), tempo=tempo)


def test_a_note_may_last_256_whole_notes_and_no_longer():
    assert Note(60, Fraction(MAX_NOTE_QUARTERS)).duration == 1024
    with pytest.raises(MelodyError, match="a note of 1025 quarter notes: expected at most 1024"):
        Note(60, Fraction(MAX_NOTE_QUARTERS + 1))


def test_a_melody_of_too_many_notes_is_refused():
    with pytest.raises(MelodyError, match=f"expected at most {MAX_MELODY_NOTES}"):
        Melody((Note(60, Fraction(1, 4)),) * (MAX_MELODY_NOTES + 1))


# --- the text format --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "place", "reason"), [
    ("c4 d4*10000/1", "<text>:1:4:", "'d4*10000/1': a note of 10000 quarter notes"),
    ("c4*" + "9" * 5000 + "/1", "<text>:1:1:", "5,005 characters, expected at most 64"),
    ("c4*" + "9" * 7 + "/1", "<text>:1:1:", "expected numbers of at most 6 digits"),
    ("c4*999999/999998", "<text>:1:1:", "which the text format writes as '2*999999/1999996', "
     "over 6 digits"),
    ("c4 c" + "es" * 2_000_000 + "4", "<text>:1:4:",
     "'ceseseseseseseseseses...' is not a note: 4,000,002 characters, expected at most 64 ("),
    ("c" + "es" * 30 + "4", "<text>:1:1:", "'ceseseseseseseseseses...' has more than two"),
    ("c" + "." * 10, "<text>:1:1:", "has dots or a scale but no duration"),
    ("c4" + "." * 10, "<text>:1:1:", "at most 6 dots"),
    ("\\tempo " + "9" * 5000 + "\nc4", "<text>:1:1:", "expected beats per minute, 4 to 1000"),
    ("\\time 3/" + "4" * 5000 + "\nc4", "<text>:1:1:", "expected a metre such as 3/4"),
    ("\\time 0/4\nc4", "<text>:1:1:", "'\\time 0/4'"),
    ("c1~ " * 300 + "c1", "<text>:1:1025:", "a note of 1028 quarter notes"),
])
def test_text_that_asks_too_much_is_a_parse_error_with_its_place(text, place, reason):
    with pytest.raises(ParseError) as info:
        parse_text(text)
    message = str(info.value)
    assert message.startswith(place) and reason in message and "\n" not in message


def test_a_bad_token_is_quoted_short_and_escaped():
    assert shown("x\x00y") == "x\\x00y"
    assert shown("root:x:0:0:root:/root:/bin/bash") == "root:x:0:0:root:/root..."
    with pytest.raises(ParseError, match=r"'root:x:0:0:root:/root\.\.\.' is not a note"):
        parse_text("root:x:0:0:root:/root:/bin/bash")  # the user's own text, e.g. --seed


def test_a_file_that_does_not_start_like_song_text_is_not_quoted(tmp_path):
    """It may be some other file (a symlink to /etc/passwd): nothing of it is echoed."""
    path = tmp_path / "song.txt"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert str(info.value) == f"{path}:1:1: {NOT_SONG_TEXT}" and "/bin" not in NOT_SONG_TEXT
    path.write_text("\\secret value\nc4\n")
    with pytest.raises(ParseError, match="not a song text"):
        parse_file(path)
    path.write_text("G4 e4\n")  # but a note with a capital is a typo worth showing
    with pytest.raises(ParseError, match="'G4' is not a note"):
        parse_file(path)
    path.write_text("\\tempo 90\nc4 x4\n")  # once it reads as a song, typos are quoted
    with pytest.raises(ParseError, match=r":2:4: 'x4' is not a note"):
        parse_file(path)


def test_upper_case_note_names_get_a_hint():
    with pytest.raises(ParseError, match=r"note names are lower case: 'g4'"):
        parse_text("G4 E4", "--seed")


def test_very_long_notes_format_without_recursion_and_read_back():
    melody = Melody((Note(60, Fraction(MAX_NOTE_QUARTERS)), Note(None, Fraction(1021, 2))))
    parts = duration_parts(Fraction(MAX_NOTE_QUARTERS))
    assert parts == ["1"] * 256
    assert parse_text(format_melody(melody)) == [melody]


# --- metres declared in scores, checked before music21 reads them ----------------------------

HUGE_METRE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>M</part-name>
</score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>1</divisions>
<time><beats>{beats}</beats><beat-type>4</beat-type></time></attributes><note><pitch>
<step>C</step><octave>4</octave></pitch><duration>1</duration></note></measure></part>
</score-partwise>"""


@pytest.mark.parametrize(("name", "text"), [
    ("huge.musicxml", HUGE_METRE_XML.format(beats="99999999")),
    ("huge.musicxml", HUGE_METRE_XML.format(beats="40+40")),
    ("huge.abc", "X:1\nM:99999999/4\nL:1/8\nK:C\nCDEF|\n"),
    ("huge.abc", "X:1\nM:2/4\nL:1/8\nK:C\nCD [M:500/4] EF|\n"),
])
def test_a_score_declaring_a_huge_bar_is_rejected_before_music21_reads_it(tmp_path, name, text):
    from melodyrnn.music.readers import Rejection, guarded, read_pieces

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    pieces = guarded(lambda: read_pieces(path), str(path), seconds=5)
    assert len(pieces) == 1 and isinstance(pieces[0], Rejection)
    assert re.search(r"time signature \d+/4: expected 1-64 beats", pieces[0].reason)


def test_an_abc_book_of_too_many_tunes_is_rejected_whole_without_reading_one(tmp_path):
    from melodyrnn.music.readers import MAX_TUNES_PER_FILE
    from melodyrnn.music.sources import IngestOptions, NoMelodies, load

    book = tmp_path / "many.abc"
    book.write_text("".join(f"X:{i}\nM:4/4\nL:1/8\nK:C\nCDEF|\n"
                            for i in range(MAX_TUNES_PER_FILE + 1)), encoding="utf-8")
    with pytest.raises(NoMelodies, match=f"many.abc: {MAX_TUNES_PER_FILE + 1:,} tunes in one "
                                         f"file: expected at most {MAX_TUNES_PER_FILE:,}"):
        load([str(book)], IngestOptions(use_cache=False, jobs=1), progress=False)


@pytest.mark.parametrize("text", ["\\time 2/4\n\\partial 1\nc4 d4\n",
                                  "\\partial 2.\n\\time 3/4\nc4 d4 e4\n"])
def test_an_upbeat_of_a_bar_or_more_is_an_error_not_silently_cut(text):
    with pytest.raises(ParseError, match=r"<text>:\d+:1: '\\partial [\d.]+': an upbeat of \d+ "
                                         r"quarter notes is a bar or more in \d/4"):
        parse_text(text)


@pytest.mark.parametrize("grid", ["999999999", "385", "16+1000"])
def test_a_quantize_grid_finer_than_384ths_is_refused(grid):
    from melodyrnn.music.quantize import parse_quantize

    with pytest.raises(MelodyError, match="expected note values from 1 to 384"):
        parse_quantize(grid)
    assert parse_quantize("16+384") == (16, 384)
