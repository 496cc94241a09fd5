"""Files to play as ``mido.MidiFile``s, and their messages on an absolute timeline in seconds.

Every source (.mid, song text, MusicXML) becomes a ``mido.MidiFile``, then a timeline of
``(seconds from the start, message)`` pairs. No torch; mido and music21 load when needed.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from melodyrnn.errors import MelodyError
from melodyrnn.files import regular_file
from melodyrnn.music.deadline import PARSE_SECONDS, ParseTimeout, time_limit
from melodyrnn.music.melody import (
    DEFAULT_TEMPO,
    MAX_TEMPO,
    MIN_TEMPO,
    Melody,
    Note,
    length_problem,
    metre_problem,
)
from melodyrnn.music.readers import open_midi, parse_score
from melodyrnn.music.writers import DEFAULT_PROGRAM, midi_file

DRUM_CHANNEL = 9  # General MIDI percussion: a program change there would pick a drum kit
MAX_MICROSECONDS_PER_BEAT = 0xFFFFFF  # the largest tempo a MIDI file can store
DEFAULT_MICROSECONDS_PER_BEAT = 500_000  # MIDI's tempo when a file has no set_tempo (120 bpm)
MIDI_SUFFIXES = (".mid", ".midi")
TEXT_SUFFIXES = (".txt",)
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".abc", ".krn")
MAX_AUDIO_SECONDS = 600  # render and play through the sound device: 10 minutes of audio
MAX_AUDIO_NOTES = 100_000  # and at most this many notes (166 a second for 10 minutes)

Timeline = list[tuple[float, Any]]  # (seconds from the start, mido.Message), in time order


def _load_for_playback(path: str | Path) -> Any:
    """Read a file to play: a ``mido.MidiFile`` for .mid, a ``Melody`` for text and scores.

    """
    path = Path(path)
    suffix = path.suffix.lower()
    known = " ".join(MIDI_SUFFIXES + TEXT_SUFFIXES + SCORE_SUFFIXES)
    if suffix not in known.split():
        raise MelodyError(f"{path}: cannot play '{suffix}' files: expected one of {known}")
    regular_file(path)  # a FIFO or device is refused here, never opened
    if suffix in MIDI_SUFFIXES:
        return open_midi(path)
    if suffix in TEXT_SUFFIXES:
        from melodyrnn.music.notation import parse_file

        return parse_file(path)[0]
    try:
        with time_limit(PARSE_SECONDS):
            return _score_top_line(path)
    except ParseTimeout as err:
        raise MelodyError(f"{path}: {err}") from None
    except MelodyError as err:
        message = str(err)
        raise MelodyError(message if message.startswith(f"{path}:") else f"{path}: {message}") \
            from None
    except Exception as err:  # music21 raises many unrelated types for unreadable files
        raise MelodyError(f"{path}: not a readable score ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:120]})") from None


def _score_top_line(path: Path) -> Melody:
    """The top line of a score read by music21 (highest note of chords, first part).

    The score is parsed from the file's bytes (``readers.parse_score``), never from a pickle
    music21 may have cached for that path.
    """
    from music21 import chord, meter, note, tempo

    score = parse_score(path)
    parts = getattr(score, "parts", None)
    line = (parts[0] if parts else score).stripTies().flatten()
    notes: list[Note] = []
    end = Fraction(0)
    for element in line.notesAndRests:
        start, length = Fraction(element.offset), Fraction(element.quarterLength)
        if length <= 0 or start < end:  # grace notes and other voices under the top line
            continue
        if start > end:
            notes.append(Note.rest(start - end))
        if isinstance(element, chord.Chord):
            pitch: int | None = max(p.midi for p in element.pitches)
        elif isinstance(element, note.Note):
            pitch = element.pitch.midi
        else:
            pitch = None
        notes.append(Note(pitch, length))
        end = start + length
    if not any(n.pitch is not None for n in notes):
        raise MelodyError(f"{path}: no notes found in the score")
    wrong = length_problem(len(notes), end)
    marks = line.getElementsByClass(tempo.MetronomeMark)
    metres = line.getElementsByClass(meter.TimeSignature)
    quarter_bpm = marks[0].getQuarterBPM() if marks and marks[0].number else None
    bpm = (max(MIN_TEMPO, min(MAX_TEMPO, round(quarter_bpm)))
           if quarter_bpm and math.isfinite(quarter_bpm) and quarter_bpm > 0 else DEFAULT_TEMPO)
    metre = (metres[0].numerator, metres[0].denominator) if metres else (4, 4)
    wrong = wrong or metre_problem(metre)
    if wrong:
        raise MelodyError(f"{path}: {wrong}")
    return Melody(tuple(notes), bpm, metre, title=path.stem)


def load_midi(source: str | Path | Melody | Any, bpm: float | None = None,
              program: int | None = None) -> Any:
    """A ``mido.MidiFile`` for a path, Melody or MidiFile, with tempo and instrument overrides."""
    if isinstance(source, (str, Path)):
        source = _load_for_playback(source)
    if isinstance(source, Melody):
        return midi_file(source, program=DEFAULT_PROGRAM if program is None else program,
                         tempo=round(bpm) if bpm else None, align_bars=False)
    return _override(source, bpm, program)


def _override(midi: Any, bpm: float | None, program: int | None) -> Any:
    """A copy of a MidiFile scaled to start at ``bpm`` and with every melodic channel on ``program``."""
    import mido

    if bpm is None and program is None:
        return midi
    copy = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    tempos = [m.tempo for track in midi.tracks for m in track if m.type == "set_tempo"]
    first = tempos[0] if tempos else DEFAULT_MICROSECONDS_PER_BEAT
    ratio = mido.bpm2tempo(bpm) / first if bpm else 1.0
    channels = sorted({m.channel for track in midi.tracks for m in track
                       if m.type == "note_on" and m.channel != DRUM_CHANNEL})
    for index, track in enumerate(midi.tracks):
        new = mido.MidiTrack()
        if index == 0:
            if bpm and not tempos:
                new.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
            if program is not None:
                new.extend(mido.Message("program_change", channel=c, program=program, time=0)
                           for c in channels)
        for message in track:
            if message.type == "set_tempo" and bpm:
                message = message.copy(tempo=max(1, min(MAX_MICROSECONDS_PER_BEAT,
                                                         round(message.tempo * ratio))))
            elif (message.type == "program_change" and program is not None
                  and message.channel != DRUM_CHANNEL):
                message = message.copy(program=program)
            new.append(message)
        copy.tracks.append(new)
    return copy


def timeline(midi: Any) -> Timeline:
    """The channel messages of a MidiFile with their absolute times in seconds (tempo applied)."""
    events: Timeline = []
    now = 0.0
    try:
        for message in midi:  # mido merges tracks and yields delta times in seconds
            now += message.time
            if not message.is_meta:
                events.append((now, message.copy(time=0)))
    except (ValueError, TypeError, KeyError) as err:
        raise MelodyError(f"cannot play this MIDI file: {err}") from None
    return events


def duration_seconds(midi: Any) -> float:
    """Length of a MidiFile in seconds; MelodyError if mido cannot tell."""
    try:
        return float(midi.length)
    except (ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as err:
        raise MelodyError(f"cannot time this MIDI file: {err}") from None


def check_audio_length(midi: Any, source: str = "the melody") -> float:
    """The length in seconds of audio to render; MelodyError above ``MAX_AUDIO_SECONDS`` or
    with more than ``MAX_AUDIO_NOTES`` notes (a synthesiser's work grows with both)."""
    notes = sum(1 for track in midi.tracks for message in track
                if message.type == "note_on" and message.velocity > 0)
    if notes > MAX_AUDIO_NOTES:
        raise MelodyError(f"{source}: {notes:,} notes: rendering audio is limited to "
                          f"{MAX_AUDIO_NOTES:,} (write MIDI instead, or play it to a MIDI port "
                          "with --port)")
    seconds = duration_seconds(midi)
    if not math.isfinite(seconds) or seconds > MAX_AUDIO_SECONDS:
        raise MelodyError(f"{source}: lasts {_clock(seconds)}: rendering audio is limited to "
                          f"{_clock(MAX_AUDIO_SECONDS)} (write MIDI instead, or play it to a "
                          "MIDI port with --port)")
    return seconds


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds > 1e9:
        return "forever"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


