"""Writers for melodies: text, MIDI (mido), MusicXML (music21), ABC and pictures, by file suffix.

Every writer renders into memory first and goes through ``files.atomic_write``, so an
interrupted run never leaves half a file. No torch here.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import IO

from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write
from melodyrnn.music.keys import key_fifths, spell
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import format_melodies
from melodyrnn.music.scores import music21_stream, musicxml_bytes

TICKS_PER_QUARTER = 480
DEFAULT_VELOCITY = 80
DEFAULT_PROGRAM = 0  # General MIDI acoustic grand piano


def midi_file(melody: Melody, program: int = DEFAULT_PROGRAM, velocity: int = DEFAULT_VELOCITY,
              tempo: int | None = None, align_bars: bool = True):
    """A one-track ``mido.MidiFile`` of the melody: tempo, metre, key, program; rests are gaps.

    With ``align_bars`` a pickup starts after a rest that completes its bar, so bar lines fall
    where the score has them; playback passes False to start with the first note.
    """
    import mido

    bpm = tempo or melody.tempo
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    numerator, denominator = melody.time_signature
    track.append(mido.MetaMessage("time_signature", numerator=numerator,
                                  denominator=denominator, time=0))
    if melody.key:
        track.append(mido.MetaMessage("key_signature", key=_mido_key(melody.key), time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    # Ticks since the last event, so rests become delays before the next note-on. A pickup
    # starts that far before the first bar line, as in a score (readers recover it).
    gap = round((melody.bar_length - melody.pickup) % melody.bar_length * TICKS_PER_QUARTER) \
        if align_bars else 0
    for note in melody.notes:
        ticks = round(note.duration * TICKS_PER_QUARTER)
        if note.pitch is None:
            gap += ticks
            continue
        track.append(mido.Message("note_on", note=note.pitch, velocity=velocity, time=gap))
        track.append(mido.Message("note_off", note=note.pitch, velocity=0, time=ticks))
        gap = 0
    track.append(mido.MetaMessage("end_of_track", time=gap))
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    return midi


def _mido_key(key: str) -> str:
    """mido's key-signature name (e.g. 'Bb', 'F#m') for a key such as 'D minor' or 'G dorian'."""
    fifths = key_fifths(key)
    if not -7 <= fifths <= 7:
        raise MelodyError(f"key '{key}' needs {abs(fifths)} accidentals: MIDI allows at most 7")
    minor = key.split()[-1].lower() in ("minor", "aeolian")
    majors = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
    minors = ["Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#"]
    return minors[fifths + 7] + "m" if minor else majors[fifths + 7]


def write_text(melodies: list[Melody], file: IO[bytes]) -> None:
    """Write melodies in the song text format."""
    file.write(format_melodies(melodies).encode("utf-8"))


def write_midi(melodies: list[Melody], file: IO[bytes], program: int = DEFAULT_PROGRAM) -> None:
    """Write the first melody as a standard MIDI file."""
    midi_file(melodies[0], program=program).save(file=file)


def write_musicxml(melodies: list[Melody], file: IO[bytes]) -> None:
    """Write the first melody as an uncompressed MusicXML score."""
    file.write(musicxml_bytes(music21_stream(melodies[0])))


_ABC_UNIT = Fraction(1, 4)  # L:1/16 — a sixteenth note, in quarter notes
_SHARP_ORDER, _FLAT_ORDER = "fcgdaeb", "beadgcf"


def abc_text(melody: Melody, number: int = 1) -> str:
    """The melody as one ABC tune (X, T, M, L, Q, K headers; explicit accidentals)."""
    fifths = key_fifths(melody.key) if melody.key else 0
    altered = {letter: 1 for letter in _SHARP_ORDER[:max(fifths, 0)]}
    altered.update({letter: -1 for letter in _FLAT_ORDER[:max(-fifths, 0)]})
    beats, unit = melody.time_signature
    key = _abc_key(melody.key) if melody.key else "C"
    lines = [f"X:{number}", f"T:{melody.title or 'melodyrnn'}", f"M:{beats}/{unit}", "L:1/16",
             f"Q:1/4={melody.tempo}", f"K:{key}"]
    words, marked = [], set()
    bar_position = (melody.bar_length - melody.pickup) % melody.bar_length
    for note in melody.notes:
        left = note.duration
        while left > 0:  # a note that crosses a bar line is split there and tied
            part = min(left, melody.bar_length - bar_position)
            left -= part
            tie = "-" if left and note.pitch is not None else ""
            words.append(_abc_note(Note(note.pitch, part), melody.key, altered, marked) + tie)
            bar_position += part
            if bar_position == melody.bar_length:
                bar_position, marked = Fraction(0), set()  # accidentals last to the bar line
                words.append("|")
    if words:  # the tune ends with a final bar line, as ABC writes it
        words[-1:] = ["|]"] if words[-1] == "|" else [words[-1], "|]"]
    lines.append(" ".join(words))
    return "\n".join(lines) + "\n"


def _abc_key(key: str) -> str:
    tonic, mode = key.split()
    suffix = {"major": "", "minor": "m"}.get(mode, mode[:3].lower())
    return tonic + suffix


def _abc_note(note: Note, key: str | None, altered: dict[str, int], marked: set[str]) -> str:
    """One ABC note; ``marked`` holds the letters given an accidental earlier in this bar."""
    length = note.duration / _ABC_UNIT
    length_text = "" if length == 1 else (str(length.numerator) if length.denominator == 1
                                          else f"{length.numerator}/{length.denominator}")
    if note.pitch is None:
        return "z" + length_text
    letter, alteration, octave = spell(note.pitch, key)
    mark = "^" * alteration if alteration > 0 else "_" * -alteration
    if altered.get(letter, 0) != alteration or letter in marked:
        # An accidental holds to the bar line, so after one every note of that letter says
        # what it is; "=" cancels the key signature or an earlier accidental.
        mark = mark or "="
        marked.add(letter)
    else:
        mark = ""  # the key signature already says it
    text = letter.upper() if octave <= 4 else letter
    text += "," * max(4 - octave, 0) + "'" * max(octave - 5, 0)
    return mark + text + length_text


def write_abc(melodies: list[Melody], file: IO[bytes]) -> None:
    """Write melodies as an ABC book, one tune each."""
    file.write("\n".join(abc_text(m, i) for i, m in enumerate(melodies, 1)).encode("utf-8"))


def write_png(melodies: list[Melody], file: IO[bytes], primer_notes: int = 0,
              score: bool = False) -> None:
    """Write the first melody as a piano-roll PNG, or engraved as notation with ``score``."""
    from melodyrnn.music.pictures import piano_roll_png, score_png

    file.write(score_png(melodies[0]) if score else piano_roll_png(melodies[0], primer_notes))


def write_svg(melodies: list[Melody], file: IO[bytes]) -> None:
    """Write the first melody engraved as notation (SVG, via verovio)."""
    from melodyrnn.music.pictures import score_svg

    file.write(score_svg(melodies[0]).encode("utf-8"))


WRITERS: dict[str, Callable[..., None]] = {
    ".abc": write_abc,
    ".png": write_png,
    ".svg": write_svg,
    ".txt": write_text,
    ".mid": write_midi,
    ".midi": write_midi,
    ".musicxml": write_musicxml,
    ".xml": write_musicxml,
}


def write(melodies: list[Melody] | Melody, path: str | Path, **options) -> Path:
    """Write melodies to a file whose suffix picks the format; return the path written.

    ``options`` (``program``, ``primer_notes``, ``score``) go to the writers that use them.
    """
    if isinstance(melodies, Melody):
        melodies = [melodies]
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise MelodyError(f"{path}: unknown output suffix '{path.suffix}': expected one of "
                          f"{' '.join(sorted(WRITERS))}")
    accepted = inspect.signature(writer).parameters
    options = {name: value for name, value in options.items() if name in accepted}
    buffer = io.BytesIO()
    writer(melodies, buffer, **options)  # render fully before touching the disk
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path
