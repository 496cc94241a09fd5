"""Exporters: files read back with mido and music21 hold the same notes, rests and settings."""

from __future__ import annotations

import io
from fractions import Fraction

import mido
import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import parse_file, parse_text
from melodyrnn.music.writers import TICKS_PER_QUARTER, WRITERS, write, write_midi

# Leading, inner and trailing rests; a dotted note; a triplet; an accidental; a repeated pitch;
# four whole bars of 3/4 (MusicXML fills an incomplete last bar with rest, which would show
# up as a longer trailing rest when read back).
SONG = """\\tempo 90
\\time 3/4
\\key d minor
r4 d8 e f4. g8*2/3 a bes a4 a4 r8 cis'8 d'2. r4.
"""


@pytest.fixture
def song() -> Melody:
    (melody,) = parse_text(SONG)
    return melody


def midi_events(midi: mido.MidiFile) -> list[tuple[int | None, int]]:
    """(pitch or None for a rest, ticks) in order, rebuilt from note on/off times."""
    (track,) = midi.tracks
    events, now, sounding, last_end = [], 0, None, 0
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            assert sounding is None, "the melody is monophonic"
            if now > last_end:
                events.append((None, now - last_end))
            sounding = (message.note, now)
        elif message.type == "note_off" or (message.type == "note_on" and message.velocity == 0):
            pitch, start = sounding
            assert message.note == pitch
            events.append((pitch, now - start))
            sounding, last_end = None, now
        elif message.type == "end_of_track" and now > last_end:
            events.append((None, now - last_end))
    return events


def expected_events(melody: Melody) -> list[tuple[int | None, int]]:
    merged: list[tuple[int | None, int]] = []
    for note in melody.notes:
        ticks = int(note.duration * TICKS_PER_QUARTER)
        if note.pitch is None and merged and merged[-1][0] is None:
            merged[-1] = (None, merged[-1][1] + ticks)
        else:
            merged.append((note.pitch, ticks))
    return merged


def meta(midi: mido.MidiFile, kind: str) -> list[mido.MetaMessage]:
    return [m for m in midi.tracks[0] if m.type == kind]


def test_midi_read_back_has_the_same_pitches_durations_and_rests(song):
    buffer = io.BytesIO()
    write_midi([song], buffer)
    buffer.seek(0)
    midi = mido.MidiFile(file=buffer)
    assert midi.ticks_per_beat == TICKS_PER_QUARTER
    assert len(midi.tracks) == 1
    assert midi_events(midi) == expected_events(song)
    assert [p for p, _ in midi_events(midi)][:2] == [None, 62]  # the leading rest is a gap


def test_midi_holds_tempo_time_signature_and_key(song):
    buffer = io.BytesIO()
    write_midi([song], buffer)
    buffer.seek(0)
    midi = mido.MidiFile(file=buffer)
    (tempo,) = meta(midi, "set_tempo")
    (metre,) = meta(midi, "time_signature")
    (key,) = meta(midi, "key_signature")
    assert round(mido.tempo2bpm(tempo.tempo)) == 90
    assert (metre.numerator, metre.denominator) == (3, 4)
    assert key.key == "Dm"


def test_midi_file_on_disk_reads_back_like_nabiya(nabiya, tmp_path):
    path = write(nabiya, tmp_path / "nabiya.mid")
    midi = mido.MidiFile(path)
    assert midi_events(midi) == expected_events(nabiya)
    assert round(mido.tempo2bpm(meta(midi, "set_tempo")[0].tempo)) == 100
    assert midi.length == pytest.approx(float(nabiya.total_duration) * 60 / 100)


def test_midi_of_a_key_beyond_seven_accidentals_is_an_error(tmp_path):
    (melody,) = parse_text("\\key gis major\ngis4")
    with pytest.raises(MelodyError, match="at most 7"):
        write(melody, tmp_path / "out.mid")
    assert list(tmp_path.iterdir()) == []


def musicxml_score(melody: Melody, tmp_path):
    import music21

    path = write(melody, tmp_path / "song.musicxml")
    return music21.converter.parse(path, format="musicxml")


def read_back(score) -> list[tuple[int | None, Fraction]]:
    """(pitch or None, quarter length) of tied-together notes, adjacent rests merged."""
    merged: list[tuple[int | None, Fraction]] = []
    for element in score.stripTies().recurse().notesAndRests:
        pitch = None if element.isRest else element.pitch.midi
        length = Fraction(element.quarterLength)
        if pitch is None and merged and merged[-1][0] is None:
            merged[-1] = (None, merged[-1][1] + length)
        else:
            merged.append((pitch, length))
    return merged


def test_musicxml_read_back_has_the_same_pitches_and_lengths(song, tmp_path):
    expected = [(p, Fraction(t, TICKS_PER_QUARTER)) for p, t in expected_events(song)]
    assert read_back(musicxml_score(song, tmp_path)) == expected


def test_musicxml_ties_a_note_across_the_bar_line(tmp_path):
    from music21 import tie

    (melody,) = parse_text("\\time 2/4\nc4 d2 e4")  # d2 starts on beat 2 of bar 1
    score = musicxml_score(melody, tmp_path)
    measures = score.parts[0].getElementsByClass("Measure")
    assert len(measures) == 2
    first_d = measures[0].notes[-1]
    second_d = measures[1].notes[0]
    assert first_d.pitch.midi == second_d.pitch.midi == 62
    assert first_d.tie == tie.Tie("start") and second_d.tie.type == "stop"
    assert first_d.quarterLength + second_d.quarterLength == 2
    assert read_back(score) == [(60, 1), (62, 2), (64, 1)]


def test_musicxml_holds_key_time_signature_and_tempo(song, tmp_path):
    from music21 import key, meter, tempo

    score = musicxml_score(song, tmp_path)
    (signature,) = score.recurse().getElementsByClass(meter.TimeSignature)
    keys = list(score.recurse().getElementsByClass(key.KeySignature))
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    assert signature.ratioString == "3/4"
    assert [k.sharps for k in keys] == [-1]
    assert marks and marks[0].number == 90


def test_musicxml_carries_the_title(tmp_path):
    (melody,) = parse_text("\\title Butterfly\nc4 d e f")
    assert musicxml_score(melody, tmp_path).metadata.bestTitle == "Butterfly"


def test_text_export_reads_back_exactly(song, tmp_path):
    path = write([song, song.transposed(2)], tmp_path / "songs.txt")
    assert parse_file(path) == [song, song.transposed(2)]


@pytest.mark.parametrize("suffix", [".midi", ".xml", ".MID"])
def test_alternative_suffixes_choose_the_same_writers(song, tmp_path, suffix):
    assert write(song, tmp_path / f"song{suffix}").stat().st_size > 0


def test_unknown_suffix_is_an_error_listing_the_known_ones(song, tmp_path):
    with pytest.raises(MelodyError, match=r"unknown output suffix '\.wav': expected one of") as info:
        write(song, tmp_path / "song.wav")
    listed = str(info.value).split("expected one of ")[1].split()
    assert {".mid", ".midi", ".musicxml", ".xml", ".txt"} <= set(listed) == set(WRITERS)
    assert list(tmp_path.iterdir()) == []


def test_writing_into_a_missing_folder_is_an_error(song, tmp_path):
    with pytest.raises(MelodyError, match="does not exist"):
        write(song, tmp_path / "absent" / "song.mid")


def test_atomic_write_leaves_no_file_when_the_block_fails(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_write(path) as file:
        file.write(b"half a file")
        raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_when_the_block_fails(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as file:
        file.write(b"new")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_write_replaces_the_file_when_the_block_succeeds(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.parametrize("suffix", [".musicxml", ".xml"])
def test_a_note_value_notation_cannot_show_is_one_clear_error_and_writes_nothing(tmp_path, suffix):
    (melody,) = parse_text("c4*1/999999 d4\n")
    out = tmp_path / f"tiny{suffix}"
    with pytest.raises(MelodyError, match=r"notation cannot show this melody \(music21: .*\); "
                                          r"write it as \.txt, \.mid or \.abc instead"):
        write(melody, out)
    assert not out.exists()
    write(melody, tmp_path / "tiny.mid")  # the formats without notation still take it


@pytest.mark.parametrize(("text", "ending"), [("c4 d4 e4 f4", "| E4 F4 |]"),
                                              ("c4 d4 e4", "| E4 |]")])
def test_abc_ends_the_tune_with_a_final_bar_line_and_reads_back(text, ending, tmp_path):
    from melodyrnn.music.readers import read
    from melodyrnn.music.writers import abc_text

    melody = parse_text(f"\\time 2/4\n{text}")[0]
    written = abc_text(melody)
    assert written.rstrip().endswith(ending) and written.count("|]") == 1
    path = tmp_path / "tune.abc"
    path.write_text(written)
    assert [n.pitch for n in read(path)[0].notes] == [n.pitch for n in melody.notes]
