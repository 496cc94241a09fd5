"""The song text format: what each token means, where errors point, and exact round trips."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from melodyrnn.errors import MelodyError, ParseError
from melodyrnn.music.keys import MODE_FIFTHS
from melodyrnn.music.melody import MAX_TEMPO, MIN_TEMPO, Melody, Note
from melodyrnn.music.notation import (
    DURATION_VALUES,
    format_melodies,
    format_melody,
    parse_file,
    parse_text,
    parse_tokens,
    pitch_name,
)

Q = Fraction(1)  # a quarter note, the unit of durations


def notes(text: str) -> list[Note]:
    """The notes of the only song in a text."""
    (melody,) = parse_text(text)
    return list(melody.notes)


def pitches(text: str) -> list[int | None]:
    return [n.pitch for n in notes(text)]


def durations(text: str) -> list[Fraction]:
    return [n.duration for n in notes(text)]


def parse_error(text: str, source: str = "song.txt") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_text(text, source)
    return info.value


# --- pitches -------------------------------------------------------------------------------

def test_bare_letters_lie_in_the_octave_from_middle_c():
    assert pitches("c d e f g a b") == [60, 62, 64, 65, 67, 69, 71]


@pytest.mark.parametrize(("token", "pitch"), [("c'", 72), ("c''", 84), ("g,", 55), ("c,,", 36),
                                              ("b,", 59)])
def test_octave_marks_raise_and_lower_by_octaves(token, pitch):
    assert pitches(token) == [pitch]


@pytest.mark.parametrize(("token", "pitch"), [
    ("cis", 61), ("fis'", 78), ("bes,", 58), ("des", 61), ("ees", 63),
    ("es", 63), ("as", 68),              # the short Dutch spellings of E-flat and A-flat
    ("cisis", 62), ("beses", 69), ("eses", 62), ("ases", 67),
    ("f#", 66), ("c##", 62), ("bb", 70), ("eb", 63), ("bbb", 69),
])
def test_accidentals_in_dutch_spelling_and_shorthand(token, pitch):
    assert pitches(token) == [pitch]


@pytest.mark.parametrize("pitch", range(128))
def test_pitch_names_read_back_as_the_same_pitch(pitch):
    for key in (None, "F major", "Db major", "C# minor", "D dorian"):
        assert pitches(pitch_name(pitch, key) + "4") == [pitch]


@pytest.mark.parametrize(("pitch", "key", "name"), [
    (70, None, "bes"), (66, None, "fis"), (61, "D minor", "cis"), (68, "F major", "as"),
    (68, "A minor", "gis"), (63, "Bb major", "es"), (56, "Db major", "as,"),
])
def test_pitches_are_spelled_to_suit_the_key(pitch, key, name):
    assert pitch_name(pitch, key) == name


def test_formatter_writes_is_and_es_not_shorthand():
    sharp = format_melody(Melody((Note(66, Q),)), header=False)
    flat = format_melody(Melody((Note(70, Q), Note(63, Q)), key="F major"), header=False)
    assert sharp.split() == ["fis4"]
    assert flat.split() == ["bes4", "es4"]


@pytest.mark.parametrize(("token", "problem"), [("cisb", "mixes sharps and flats"),
                                                ("cisisis", "more than two accidentals"),
                                                ("csis", "stray 's'")])
def test_malformed_accidentals_are_errors(token, problem):
    assert problem in str(parse_error(token))


@pytest.mark.parametrize(("token", "pitch"), [("g'''''''", 151), ("ces,,,,,", -1)])
def test_pitches_outside_the_midi_range_are_errors(token, pitch):
    message = str(parse_error(f"c4 {token}"))
    assert message.startswith(f"song.txt:1:4: '{token}'")
    assert f"MIDI pitch {pitch}" in message and "0 to 127" in message


def test_the_midi_range_ends_are_reachable():
    assert pitches("c,,,,, g'''''") == [0, 127]


# --- durations -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", DURATION_VALUES)
def test_duration_numbers_are_fractions_of_a_whole_note(value):
    assert durations(f"c{value}") == [Fraction(4, value)]


@pytest.mark.parametrize(("token", "length"), [("c4.", Fraction(3, 2)), ("c4..", Fraction(7, 4)),
                                               ("c8.", Fraction(3, 4)), ("c2...", Fraction(15, 4))])
def test_each_dot_adds_half_of_the_previous_value(token, length):
    assert durations(token) == [length]


def test_omitted_duration_repeats_the_previous_one_and_the_first_is_a_quarter():
    assert durations("c d8 e f4. g") == [Q, Q / 2, Q / 2, Fraction(3, 2), Fraction(3, 2)]


def test_each_song_starts_again_from_a_quarter():
    _, second = parse_text("c8 d\n\ne f")
    assert [n.duration for n in second.notes] == [Q, Q]


def test_scale_suffix_makes_triplets():
    assert durations("c8*2/3 d e") == [Fraction(1, 3)] * 3
    assert sum(durations("c8*2/3 d e")) == 1


@pytest.mark.parametrize("token", ["c3", "c0", "c128", "c12"])
def test_durations_other_than_powers_of_two_are_errors(token):
    error = parse_error(token)
    assert f"'{token}' has duration" in str(error) and "1 2 4 8 16 32 64" in str(error)


@pytest.mark.parametrize("token", ["c4*0/1", "c4*2/0"])
def test_zero_scale_is_an_error(token):
    assert "positive ratio" in str(parse_error(token))


def test_dots_without_a_duration_are_an_error():
    assert "no duration" in str(parse_error("c4 d."))


# --- ties, rests, bars, comments -------------------------------------------------------------

def test_tie_suffix_joins_two_notes_of_one_pitch():
    assert notes("c4~ c8 d") == [Note(60, Fraction(3, 2)), Note(62, Fraction(1, 2))]


def test_standalone_tie_joins_two_notes_of_one_pitch():
    assert notes("c4 ~ c8 d") == notes("c4~ c8 d")


def test_ties_chain_over_several_notes():
    assert notes("g1~ g1 ~ g4") == [Note(67, Fraction(9))]


def test_tie_between_different_pitches_is_an_error_at_the_second_note():
    error = parse_error("c4 d4~ e4")
    assert str(error).startswith("song.txt:1:8: '~' ties notes of different pitch before 'e4'")
    assert (error.line, error.column) == (1, 8)


@pytest.mark.parametrize("text", ["c4~", "c4 ~", "~ c4", "c4 ~ ~ c4", "c4~\n\nc4"])
def test_tie_without_a_note_on_each_side_is_an_error(text):
    assert "'~'" in str(parse_error(text))


def test_rests_have_no_pitch_and_a_duration():
    assert notes("r4 c8 r8.") == [Note.rest(1), Note(60, Q / 2), Note.rest(Fraction(3, 4))]


def test_rest_with_a_pitch_mark_is_an_error():
    assert "rest with a pitch mark" in str(parse_error("r'4"))


def test_bar_lines_and_comments_are_ignored():
    assert notes("c4 d | e f % g a b\n| g") == notes("c4 d e f g")


def test_a_comment_only_line_does_not_split_songs():
    assert len(parse_text("c4 d\n% a comment\ne f")) == 1


def test_a_note_after_a_percent_sign_is_never_read():
    assert notes("c4 % h8 is not a note, but this is a comment") == [Note(60, Q)]


# --- songs and headers -------------------------------------------------------------------------

def test_blank_lines_separate_songs():
    songs = parse_text("c4 d\ne f\n\n\ng a\n   \nb")
    assert [[n.pitch for n in s.notes] for s in songs] == [[60, 62, 64, 65], [67, 69], [71]]


def test_headers_set_tempo_metre_key_and_title():
    (melody,) = parse_text("\\title Butterfly\n\\tempo 100\n\\time 3/4\n\\key bes major\nc4 d e")
    assert (melody.tempo, melody.time_signature, melody.key, melody.title) == (
        100, (3, 4), "Bb major", "Butterfly")


def test_without_headers_a_song_is_120_bpm_in_four_four_with_no_key():
    (melody,) = parse_text("c4")
    assert (melody.tempo, melody.time_signature, melody.key) == (120, (4, 4), None)


@pytest.mark.parametrize(("value", "key"), [("g major", "G major"), ("fis minor", "F# minor"),
                                            ("es major", "Eb major"), ("as minor", "Ab minor"),
                                            ("d dorian", "D dorian"), ("c", "C major")])
def test_key_header_accepts_the_note_spelling(value, key):
    (melody,) = parse_text(f"\\key {value}\nc4")
    assert melody.key == key


def test_key_mode_is_stored_in_lower_case_so_it_round_trips():
    (melody,) = parse_text("\\key g Major\nc4")
    assert melody.key == "G major"
    assert parse_text(format_melody(melody)) == [melody]


@pytest.mark.parametrize(("header", "problem"), [
    ("\\tempo fast", "beats per minute"), ("\\tempo 0", "beats per minute"),
    ("\\time 3/5", "metre"), ("\\time waltz", "metre"),
    ("\\key h major", "tonic and a mode"), ("\\key g happy", "not a mode"),
    ("\\speed 100", "not a header"),
])
def test_bad_headers_are_errors_at_their_line(header, problem):
    error = parse_error(f"c4\n  {header}\nd4")
    assert (error.line, error.column) == (2, 3)
    assert problem in str(error)


def test_later_songs_inherit_tempo_metre_and_key_but_not_title():
    _, second = parse_text("\\title One\n\\tempo 90\n\\time 3/4\n\\key g major\nc4\n\nd4")
    assert (second.tempo, second.time_signature, second.key, second.title) == (
        90, (3, 4), "G major", None)


# --- error positions ---------------------------------------------------------------------------

def test_errors_name_file_line_column_and_token(tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("\\tempo 100\ng8 e8 e4 f8\ng8 e8 e4 f8  h8 d8\n", encoding="utf-8")
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert str(info.value).startswith(
        f"{path}:3:14: 'h8' is not a note: expected c d e f g a b or r")
    assert (info.value.source, info.value.line, info.value.column) == (str(path), 3, 14)


def test_error_columns_count_from_one_after_leading_spaces():
    assert parse_error("   x4").column == 4


def test_missing_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "nothing.txt"
    with pytest.raises(ParseError, match=r"nothing\.txt: cannot read"):
        parse_file(path)


def test_binary_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "song.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\xff\xfe")
    with pytest.raises(ParseError, match=r"song\.mid: not UTF-8"):
        parse_file(path)


def test_file_without_notes_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("% nothing here\n\\tempo 90\n", encoding="utf-8")
    with pytest.raises(ParseError, match="no notes found"):
        parse_file(path)


def test_seed_tokens_use_the_same_parser_and_name_the_seed():
    assert parse_tokens("g8 e8 e4 f8").notes == tuple(notes("g8 e8 e4 f8"))
    with pytest.raises(ParseError, match=r"^--seed:1:7: 'x4' is not a note"):
        parse_tokens("g8 e8 x4")


def test_parse_errors_are_melody_errors():
    assert isinstance(parse_error("h8"), MelodyError)


def test_nabiya_has_54_notes_at_100_bpm_in_two_four(nabiya):
    assert len(nabiya) == 54
    assert (nabiya.tempo, nabiya.time_signature, nabiya.key) == (100, (2, 4), "C major")
    assert nabiya.notes[:4] == (Note(67, Q / 2), Note(64, Q / 2), Note(64, Q), Note(65, Q / 2))


# --- formatting round trip ----------------------------------------------------------------------

def plain_durations():
    """Every written duration: 1 2 4 8 16 32 64 with up to three dots."""
    return st.builds(lambda value, dots: Fraction(4, value) * (2 - Fraction(1, 2 ** dots)),
                     st.sampled_from(DURATION_VALUES), st.integers(0, 3))


def durations_strategy():
    tied = st.lists(plain_durations(), min_size=2, max_size=4).map(sum)
    triplet = plain_durations().map(lambda d: d * Fraction(2, 3))
    odd = st.fractions(min_value=Fraction(1, 96), max_value=Fraction(24), max_denominator=96)
    return st.one_of(plain_durations(), tied, triplet, odd.filter(lambda d: d > 0))


@st.composite
def keys(draw):
    letter = draw(st.sampled_from("CDEFGAB"))
    alteration = draw(st.integers(-2, 2))
    mode = draw(st.sampled_from(sorted(MODE_FIFTHS)))
    return f"{letter}{'#' * alteration}{'b' * -alteration} {mode}"


@st.composite
def melodies(draw):
    note = st.builds(Note, st.one_of(st.none(), st.integers(0, 127)), durations_strategy())
    return Melody(
        tuple(draw(st.lists(note, min_size=1, max_size=16))),
        tempo=draw(st.integers(MIN_TEMPO, MAX_TEMPO)),
        time_signature=(draw(st.integers(1, 16)), draw(st.sampled_from(DURATION_VALUES))),
        key=draw(st.one_of(st.none(), keys())),
    )


@settings(deadline=None)
@given(st.lists(melodies(), min_size=1, max_size=3))
def test_parse_of_format_is_identity(ms):
    assert parse_text(format_melodies(ms)) == ms


def test_song_without_key_after_a_keyed_song_round_trips():
    ms = [Melody((Note(60, Q),), key="G major"), Melody((Note(62, Q),))]
    assert parse_text(format_melodies(ms)) == ms


def test_title_round_trips_through_the_header():
    melody = Melody((Note(60, Q),), title="나비야")
    (back,) = parse_text(format_melody(melody))
    assert back.title == "나비야"


def test_format_of_nabiya_reads_back_the_same(nabiya_path, nabiya):
    assert parse_text(format_melody(nabiya)) == [nabiya]


def test_long_and_odd_durations_are_written_as_tied_notes():
    melody = Melody((Note(60, Fraction(5, 4)), Note(None, Fraction(9))))
    assert format_melody(melody, header=False).split() == ["c4~", "c16", "r1~", "r1~", "r4"]
