"""Playback: MIDI output ports (mido + python-rtmidi) and the sound device.

Every source (.mid, song text, MusicXML) becomes a ``mido.MidiFile``, then a timeline of
``(seconds from the start, message)`` pairs. Port playback sends each message at its absolute
time measured on a monotonic clock, so late wake-ups never accumulate into drift. The clock,
the sleep function and the port are parameters, which is how the tests check timing.
No torch here; mido, music21 and numpy are imported only when needed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.export import DEFAULT_PROGRAM, midi_file
from melodyrnn.music import DEFAULT_TEMPO, Melody, Note

DRUM_CHANNEL = 9  # General MIDI percussion: a program change there would pick a drum kit
MIDI_CHANNELS = 16
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_RESET_CONTROLLERS, CC_ALL_NOTES_OFF = 64, 120, 121, 123
DEFAULT_MICROSECONDS_PER_BEAT = 500_000  # MIDI's tempo when a file has no set_tempo (120 bpm)
MIDI_SUFFIXES = (".mid", ".midi")
TEXT_SUFFIXES = (".txt",)
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".abc", ".krn")
NO_MIDI_SYSTEM = "no MIDI system available; use `melodyrnn render FILE -o out.wav` instead"

Timeline = list[tuple[float, Any]]  # (seconds from the start, mido.Message), in time order


class OutputPort(Protocol):
    """What playback needs from a port: ``mido`` output ports and test doubles both fit."""

    def send(self, message: Any) -> None: ...


@dataclass(frozen=True)
class PlaybackResult:
    """What a playback did: where it played and how long the piece is in seconds."""

    target: str
    seconds: float


# --- loading -------------------------------------------------------------------------------

def _load_for_playback(path: str | Path) -> Any:
    """Read a file to play: a ``mido.MidiFile`` for .mid, a ``Melody`` for text and scores.

    Kept small on purpose: ``formats.py`` will replace the score branch with its reader.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise MelodyError(f"{path}: no such file")
    if suffix in MIDI_SUFFIXES:
        import mido

        try:
            return mido.MidiFile(path)
        except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
            raise MelodyError(f"{path}: not a readable MIDI file ({err})") from None
    if suffix in TEXT_SUFFIXES:
        from melodyrnn.notation import parse_file

        return parse_file(path)[0]
    if suffix in SCORE_SUFFIXES:
        return _score_top_line(path)
    known = " ".join(MIDI_SUFFIXES + TEXT_SUFFIXES + SCORE_SUFFIXES)
    raise MelodyError(f"{path}: cannot play '{suffix}' files: expected one of {known}")


def _score_top_line(path: Path) -> Melody:
    """The top line of a score read by music21 (highest note of chords, first part)."""
    try:
        from music21 import chord, converter, meter, note, tempo
    except ImportError:
        raise DependencyError("reading scores needs music21: pip install music21") from None
    try:
        score = converter.parse(str(path))
    except Exception as err:  # music21 raises many unrelated types for unreadable files
        raise MelodyError(f"{path}: not a readable score ({err})") from None
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
    marks = line.getElementsByClass(tempo.MetronomeMark)
    metres = line.getElementsByClass(meter.TimeSignature)
    bpm = round(marks[0].getQuarterBPM()) if marks and marks[0].number else DEFAULT_TEMPO
    metre = (metres[0].numerator, metres[0].denominator) if metres else (4, 4)
    return Melody(tuple(notes), bpm, metre, title=path.stem)


def load_midi(source: str | Path | Melody | Any, bpm: float | None = None,
              program: int | None = None) -> Any:
    """A ``mido.MidiFile`` for a path, Melody or MidiFile, with tempo and instrument overrides."""
    if isinstance(source, (str, Path)):
        source = _load_for_playback(source)
    if isinstance(source, Melody):
        return midi_file(source, program=DEFAULT_PROGRAM if program is None else program,
                         tempo=round(bpm) if bpm else None)
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
                message = message.copy(tempo=max(1, round(message.tempo * ratio)))
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
    """Length of a MidiFile in seconds."""
    return float(midi.length)


# --- ports ---------------------------------------------------------------------------------

@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Hide what C libraries (ALSA) print on file descriptor 2 while a port is looked up."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def _midi_system() -> Iterator[None]:
    """Turn a missing rtmidi or MIDI system (no ALSA sequencer) into a DependencyError."""
    try:
        with _quiet_stderr():
            yield
    except ImportError as err:
        raise DependencyError(f"MIDI ports need python-rtmidi ({err}): pip install "
                              "python-rtmidi; or use `melodyrnn render`") from None
    except OSError as err:  # rtmidi's SystemError derives from OSError
        raise DependencyError(f"{NO_MIDI_SYSTEM} ({err})") from None


def output_names() -> list[str]:
    """Names of the MIDI output ports the system offers."""
    import mido

    with _midi_system():
        return list(mido.get_output_names())


def resolve_port_name(spec: str | int, names: list[str]) -> str:
    """The port a ``--port`` value means: a number, an exact name or a unique part of one."""
    listing = ("; available ports: " + ", ".join(f"{i}: {n}" for i, n in enumerate(names))
               if names else "; the system offers no MIDI output ports")
    text = str(spec).strip()
    if text.isdigit():
        number = int(text)
        if number < len(names):
            return names[number]
        raise MelodyError(f"no MIDI port number {number}{listing}")
    if text in names:
        return text
    matches = [n for n in names if text.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise MelodyError(f"port '{text}' is ambiguous{listing}")
    raise MelodyError(f"no MIDI port named '{text}'{listing}")


def open_port(spec: str | int) -> Any:
    """Open a MIDI output port by number or name; raise MelodyError listing the ports if none fits."""
    import mido

    name = resolve_port_name(spec, output_names())
    with _midi_system():
        return mido.open_output(name)


# --- playing -------------------------------------------------------------------------------

def silence(port: OutputPort, sounding: set[tuple[int, int]] | None = None) -> None:
    """Stop every sound on a port: note-offs for sounding notes, then all-notes-off and reset."""
    import mido

    messages = [mido.Message("note_off", channel=channel, note=pitch, velocity=0)
                for channel, pitch in sorted(sounding or ())]
    messages += [mido.Message("control_change", channel=channel, control=control, value=0)
                 for channel in range(MIDI_CHANNELS)
                 for control in (CC_SUSTAIN, CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF,
                                 CC_RESET_CONTROLLERS)]
    for message in messages:
        try:
            port.send(message)
        except Exception:  # best effort: the error that stopped playback is the one to report
            continue


def play_timeline(events: Timeline, port: OutputPort,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """Send each message at its absolute time after the start; silence the port on any interruption.

    Waits are computed from ``clock`` against the start time, never summed, so a sleep that
    overshoots delays one event without shifting the ones after it.
    """
    sounding: set[tuple[int, int]] = set()
    start = clock()
    try:
        for at, message in events:
            wait = start + at - clock()
            if wait > 0:
                sleep(wait)
            port.send(message)
            if message.type == "note_on" and message.velocity > 0:
                sounding.add((message.channel, message.note))
            elif message.type in ("note_off", "note_on"):
                sounding.discard((message.channel, message.note))
    except BaseException:  # Ctrl-C included: never leave notes hanging on a synthesiser
        silence(port, sounding)
        raise


def play_to_port(midi: Any, port: str | int | OutputPort,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> PlaybackResult:
    """Play a MidiFile to a port given by name, number or as an open port object."""
    events = timeline(midi)
    if isinstance(port, (str, int)):
        with open_port(port) as opened:
            play_timeline(events, opened, clock, sleep)
            return PlaybackResult(opened.name, duration_seconds(midi))
    play_timeline(events, port, clock, sleep)
    return PlaybackResult(str(getattr(port, "name", port)), duration_seconds(midi))


def play_to_device(midi: Any, soundfont: str | Path | None = None,
                   synth: str = "auto") -> PlaybackResult:
    """Render a MidiFile to audio and play it on the default sound device."""
    from melodyrnn import audio

    audio.check_sound_device()
    rendered = audio.render_midi(midi, soundfont=soundfont, synth=synth)
    for note in rendered.notes:
        print(f"note: {note}", file=sys.stderr)
    audio.play_samples(rendered.samples, rendered.sample_rate)
    return PlaybackResult(f"sound device ({rendered.synth})", duration_seconds(midi))


def play_file(path: str | Path, port: str | int | OutputPort | None = None,
              bpm: float | None = None, program: int | None = None) -> PlaybackResult:
    """Play a .mid, .txt or score file to a MIDI port, or through the sound device if no port."""
    midi = load_midi(path, bpm, program)
    if port is None:
        return play_to_device(midi)
    return play_to_port(midi, port)


def play_melody(melody: Melody, port: str | int | OutputPort | None = None,
                bpm: float | None = None, program: int = DEFAULT_PROGRAM) -> PlaybackResult:
    """Play a melody to a MIDI port, or with no port through the sound device when one exists."""
    midi = load_midi(melody, bpm, program)
    if port is None:
        return play_to_device(midi)
    return play_to_port(midi, port)
