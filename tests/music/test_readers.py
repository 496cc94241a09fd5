"""Readers, monophonic extraction, quantization and transposition on tiny self-written files."""

from __future__ import annotations

from fractions import Fraction as Fr

import mido
import pytest
from musicfiles import ABC_BOOK, EXPECTED, TPB, midi_track, tricky_midi

from melodyrnn.errors import MelodyError
from melodyrnn.music import keys, quantize, readers, transpose
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import format_melodies, parse_text
from melodyrnn.music.quantize import Event
from melodyrnn.music.readers import Rejection


def test_midi_file_ingests_to_the_expected_melody(tmp_path):
    path = tmp_path / "tricky.mid"
    tricky_midi().save(path)
    [melody] = readers.read(path)
    assert melody.notes == EXPECTED
    assert melody.time_signature == (3, 4)
    assert melody.key == "G major"
    assert melody.tempo == 120
    # triplets survive the text format
    assert "*2/3" in format_melodies([melody])
    assert parse_text(format_melodies([melody])) == [melody]


def test_midi_part_by_name_and_index(tmp_path):
    path = tmp_path / "tricky.midi"
    tricky_midi().save(path)
    [bass] = readers.read(path, part="bass")
    assert [n.pitch for n in bass.notes] == [48, None, 43]
    assert readers.read(path, part="1") == [bass]
    [rejection] = readers.read_pieces(path, part="Drums")
    assert isinstance(rejection, Rejection) and "not found" in rejection.reason
    assert rejection.reason.endswith("(parts: 0:Melody, 1:Bass)")


def test_midi_drop_rests_and_drum_only_file(tmp_path):
    path = tmp_path / "tricky.mid"
    tricky_midi().save(path)
    [melody] = readers.read(path, keep_rests=False)
    assert all(n.pitch is not None for n in melody.notes)
    drums = mido.MidiFile(ticks_per_beat=TPB)
    drums.tracks.append(midi_track("kit", [(0, "note_on", 9, 36, 90), (480, "note_on", 9, 36, 0)]))
    drums.save(tmp_path / "drums.mid")
    with pytest.raises(MelodyError, match="no notes"):
        readers.read(tmp_path / "drums.mid")


def test_broken_midi_is_a_clean_error(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(b"MThd\x00\x00garbage")
    with pytest.raises(MelodyError, match=r"broken\.mid"):
        readers.read(path)


def test_unknown_suffix_lists_supported_ones(tmp_path):
    path = tmp_path / "song.wav"
    path.write_bytes(b"RIFF")
    with pytest.raises(MelodyError, match=r"unknown suffix '\.wav'.*\.mid .*\.abc"):
        readers.read(path)


def test_abc_book_gives_one_melody_per_tune_and_rejects_empty_ones(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(ABC_BOOK)
    first, empty, third = readers.read_pieces(path)
    assert first.title == "Up And Down" and first.key == "G major"
    assert first.time_signature == (3, 4)
    assert [n.pitch for n in first.notes] == [67, 69, 71, 72, 74, 76, 78, 79, 74]  # f is F# in G
    assert [n.duration for n in first.notes[-4:]] == [Fr(1, 3)] * 3 + [Fr(2)]
    assert isinstance(empty, Rejection) and empty.source.endswith("book.abc#X:2")
    assert third.key == "A minor" and third.time_signature == (6, 8)
    # tie merged, trailing rest cut
    assert third.notes[-1] == Note(81, Fr(5, 2))


def test_an_abc_note_music21_cannot_read_rejects_its_tune_instead_of_becoming_c(tmp_path,
                                                                                capfd):
    path = tmp_path / "odd.abc"
    path.write_text("X:1\nT:Odd\nM:2/4\nL:1/8\nK:G\nGA Bc | d2 B2 | ~~ G3 | G4 |]\n"
                    "X:2\nT:Fine\nM:2/4\nL:1/8\nK:G\nGA Bc | d2 B2 |]\n")
    odd, fine = readers.read_pieces(path)
    assert isinstance(odd, Rejection) and odd.source.endswith("odd.abc#X:1")
    assert odd.reason == "'~~' is not an ABC note (music21 would have read it as C)"
    assert [n.pitch for n in fine.notes] == [67, 69, 71, 72, 74, 71]
    assert "assuming C" not in capfd.readouterr().err  # said once, as the rejection


def test_musicxml_skyline_ties_grace_notes_and_parts(tmp_path):
    from music21 import key, meter, note, stream, tie

    def part(name: str, elements: list) -> stream.Part:
        p = stream.Part()
        p.partName = name
        p.append(meter.TimeSignature("3/4"))
        p.append(key.Key("D", "minor"))
        for element in elements:
            p.append(element)
        return p

    held, release = note.Note("A5", quarterLength=2), note.Note("A5", quarterLength=1)
    held.tie, release.tie = tie.Tie("start"), tie.Tie("stop")
    grace = note.Note("G5").getGrace()
    upper = part("Soprano", [note.Note("D5"), grace, note.Note("E5"), note.Note("F5"), held,
                             release])
    lower = part("Alto", [note.Note("A4", quarterLength=3), note.Note("D4", quarterLength=3)])
    score = stream.Score([upper, lower])
    path = tmp_path / "duet.musicxml"
    score.write("musicxml", fp=path)

    [melody] = readers.read(path)
    assert [(n.pitch, n.duration) for n in melody.notes] == [
        (74, 1), (76, 1), (77, 1), (81, 3)]
    assert melody.key == "D minor" and melody.time_signature == (3, 4)
    [alto] = readers.read(path, part="Alto")
    assert [n.pitch for n in alto.notes] == [69, 62]


def test_music21_warnings_are_passed_on_one_line_each_naming_the_file(tmp_path, monkeypatch,
                                                                      capfd):
    import warnings

    import music21

    parse = music21.converter.parseData

    def warning_parse(*args, **kwargs):
        for _ in range(2):  # the same warning twice is said once
            warnings.warn("Got a transposition\n   of 2", UserWarning, stacklevel=1)
        for n in range(4):
            warnings.warn(f"odd thing {n}", UserWarning, stacklevel=1)
        return parse(*args, **kwargs)

    monkeypatch.setattr(music21.converter, "parseData", warning_parse)
    path = tmp_path / "tune.krn"
    path.write_text("**kern\n*M3/4\n4g\n4a\n4b\n=\n2.cc\n*-\n")
    [melody] = readers.read(path)
    assert [n.pitch for n in melody.notes] == [67, 69, 71, 72]
    said = capfd.readouterr().err.splitlines()
    assert said == [f"{path}: music21 warns: Got a transposition of 2",
                    f"{path}: music21 warns: odd thing 0",
                    f"{path}: music21 warns: odd thing 1",
                    f"{path}: music21 warns of 2 more things"]


def test_kern_file(tmp_path):
    path = tmp_path / "tune.krn"
    path.write_text("**kern\n*M3/4\n*k[f#]\n4g\n4a\n4b\n=\n2.cc\n*-\n")
    [melody] = readers.read(path)
    assert [n.pitch for n in melody.notes] == [67, 69, 71, 72]
    assert melody.time_signature == (3, 4)
    assert melody.key == "G major"  # a G major signature; the tune ends on C, so not E minor


def test_text_file_with_key_analysed(tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("c4 d4 e4 f4 g4 a4 b4 c'4 r4 c4\n")
    [melody] = readers.read(path)
    assert melody.key == "C major" and melody.notes[8].is_rest
    [no_rests] = readers.read(path, keep_rests=False)
    assert len(no_rests) == 9


def test_parse_quantize_and_snap():
    assert quantize.parse_quantize("16+12") == (16, 12)
    assert quantize.parse_quantize("none") == ()
    with pytest.raises(MelodyError, match="quantize"):
        quantize.parse_quantize("sixteenth")
    grid = (16, 12)
    assert quantize.snap(Fr(30, 100), grid) == Fr(1, 3)
    assert quantize.snap(Fr(26, 100), grid) == Fr(1, 4)
    assert quantize.snap(Fr(30, 100), (16,)) == Fr(1, 4)
    assert quantize.snap(Fr(1, 7), ()) == Fr(1, 7)
    # a triplet that starts on an off-beat eighth needs the sixteenth-triplet grid
    assert quantize.snap(Fr(23, 6), quantize.parse_quantize(quantize.DEFAULT_QUANTIZE)) == Fr(23, 6)


def test_skyline_keeps_the_highest_sounding_note():
    events = [Event(Fr(0), Fr(4), 60), Event(Fr(1), Fr(2), 67), Event(Fr(2), Fr(3), 64)]
    notes = quantize.events_to_notes(events, (16,))
    assert [(n.pitch, n.duration) for n in notes] == [(60, 1), (67, 1), (64, 1), (60, 1)]


def test_notes_shorter_than_the_grid_vanish():
    events = [Event(Fr(0), Fr(1, 100), 60), Event(Fr(1), Fr(2), 62)]
    assert quantize.events_to_notes(events, (16,)) == (Note(62, Fr(1)),)


def test_keys_and_transposition():
    melody = Melody((Note(67, Fr(1)), Note(71, Fr(1)), Note(74, Fr(2))), key="G major")
    moved = transpose.transposed(melody, 3)
    assert moved.key == "Bb major" and moved.notes[0].pitch == 70
    every = transpose.transpositions(melody)
    assert len(every) == 12 and every[0] == melody
    assert {m.key for m in every} >= {"C major", "F# major", "Db major", "B major"}
    high = Melody((Note(125, Fr(1)),), key="C major")
    assert len(transpose.transpositions(high)) == 8  # -5..+2 fit, +3 would pass 127
    assert transpose.normalise_key(melody).key == "C major"
    assert transpose.normalise_key(melody).notes[0].pitch == 72
    minor = Melody((Note(66, Fr(1)),), key="F# minor")
    assert transpose.normalise_key(minor).key == "A minor"
    dorian = Melody((Note(62, Fr(1)),), key="D dorian")
    assert transpose.normalise_key(dorian) == dorian
    unknown = Melody((Note(62, Fr(1)), Note(66, Fr(1)), Note(69, Fr(1))))
    assert transpose.normalise_key(unknown).key in ("C major", "A minor")


def test_analyse_key():
    scale = [Note(p, Fr(1)) for p in (60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60)]
    assert keys.analyse_key(scale) == "C major"
    assert keys.analyse_key([Note(None, Fr(1))]) is None
    assert keys.key_from_signature(-1, [Note(62, Fr(1))]) == "D minor"
    assert keys.key_from_signature(-1, [Note(65, Fr(1))]) == "F major"


def test_abc_key_without_mode_is_major_or_relative_minor_by_the_last_note(tmp_path):
    path = tmp_path / "essen_style.abc"
    path.write_text("X:1\nM:2/4\nL:1/8\nK: G\nEFGA | B2E2 |]\n\n"
                    "X:2\nM:2/4\nL:1/8\nK: G\nDEFG | A2G2 |]\n\n"
                    "X:3\nM:2/4\nL:1/8\nK:Em\nDEFG | A2G2 |]\n")
    assert [m.key for m in readers.read(path)] == ["E minor", "G major", "E minor"]


def test_abc_metre_comes_from_the_m_field_despite_odd_bars(tmp_path):
    path = tmp_path / "pickup.abc"
    path.write_text("M:2/4\n\nX:1\nT:Wollt ihr wissen\nM: 3/4\nL: 1/16\nK: G\n"
                    "G2B2 | d4d4e2d2 | B4G4\nG2G2 | c4A4F4 | G8 |]\n\n"
                    "X:2\nM:C|\nL:1/8\nK:D\nd2 | f4 e4 | d8 |]\n")
    assert [m.time_signature for m in readers.read(path)] == [(3, 4), (2, 2)]
