"""Playback: a timeline of MIDI messages sent to an output port on time, or audio to the sound device.

Port playback sends each message at its absolute time measured on a monotonic clock, so late
wake-ups never accumulate into drift. The clock, the sleep function and the port are
parameters, which is how the tests check timing. No torch here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from melodyrnn.music.melody import Melody
from melodyrnn.music.writers import DEFAULT_PROGRAM
from melodyrnn.sound.midi import (
    Timeline,
    check_audio_length,
    duration_seconds,
    load_midi,
    timeline,
)
from melodyrnn.sound.ports import open_port

MIDI_CHANNELS = 16
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_RESET_CONTROLLERS, CC_ALL_NOTES_OFF = 64, 120, 121, 123


class OutputPort(Protocol):
    """What playback needs from a port: ``mido`` output ports and test doubles both fit."""

    def send(self, message: Any) -> None: ...


@dataclass(frozen=True)
class PlaybackResult:
    """What a playback did: where it played and how long the piece is in seconds."""

    target: str
    seconds: float


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
                   synth: str = "auto", source: str = "the melody") -> PlaybackResult:
    """Render a MidiFile to audio and play it on the default sound device."""
    from melodyrnn.sound import audio

    check_audio_length(midi, source)
    audio.check_sound_device()
    rendered = audio.render_midi(midi, soundfont=soundfont, synth=synth, source=source)
    for note in rendered.notes:
        print(f"note: {note}", file=sys.stderr)
    audio.play_samples(rendered.samples, rendered.sample_rate)
    return PlaybackResult(f"sound device ({rendered.synth})", duration_seconds(midi))


def play_file(path: str | Path, port: str | int | OutputPort | None = None,
              bpm: float | None = None, program: int | None = None) -> PlaybackResult:
    """Play a .mid, .txt or score file to a MIDI port, or through the sound device if no port."""
    midi = load_midi(path, bpm, program)
    if port is None:
        return play_to_device(midi, source=str(path))
    return play_to_port(midi, port)


def play_melody(melody: Melody, port: str | int | OutputPort | None = None,
                bpm: float | None = None, program: int = DEFAULT_PROGRAM) -> PlaybackResult:
    """Play a melody to a MIDI port, or with no port through the sound device when one exists."""
    midi = load_midi(melody, bpm, program)
    if port is None:
        return play_to_device(midi)
    return play_to_port(midi, port)
