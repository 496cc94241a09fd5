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
from melodyrnn.sound import connections, ports
from melodyrnn.sound.midi import (
    Timeline,
    check_audio_length,
    duration_seconds,
    load_midi,
    timeline,
)
from melodyrnn.sound.priority import realtime

MIDI_CHANNELS = 16
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_RESET_CONTROLLERS, CC_ALL_NOTES_OFF = 64, 120, 121, 123


class OutputPort(Protocol):
    """What playback needs from a port: ``mido`` output ports and test doubles both fit."""

    def send(self, message: Any) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where to play: a MIDI port (number, name or open port), a virtual port to open and wait
    ``wait`` seconds on for a connection, or (neither) the sound device; ``api``: the system."""

    port: str | int | OutputPort | None = None
    virtual: str | None = None
    wait: float = connections.DEFAULT_WAIT_SECONDS
    api: str = "auto"


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
                 sleep: Callable[[float], None] = time.sleep, api: str = "auto") -> PlaybackResult:
    """Play a MidiFile to a port given by name or number (on ``api``) or as an open port object,
    with real-time scheduling where the system allows it."""
    events = timeline(midi)
    if isinstance(port, (str, int)):
        with ports.open_port(port, api) as opened, realtime():
            play_timeline(events, opened, clock, sleep)
            return PlaybackResult(opened.name, duration_seconds(midi))
    with realtime():
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


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def await_listener(port: ports.OutputPort, seconds: float,
                   say: Callable[[str], None] = _say) -> list[str] | None:
    """Wait until something connects to a virtual port or ``seconds`` pass, saying what happens."""
    say(f"waiting up to {seconds:g} s for a connection to {port.name} on {port.system.label} "
        f"({connections.connect_hint(port)})")
    peers = connections.wait_for_connection(lambda: connections.connected_to(port), seconds)
    if peers:
        say(f"connected to {', '.join(peers)}")
    elif peers is None:
        say(f"{port.system.label} cannot say what is connected here; waited {seconds:g} s")
    else:
        say(f"no connection after {seconds:g} s; playing anyway")
    return peers


def play(source: str | Path | Melody | Any, target: Target | None = None, bpm: float | None = None,
         program: int | None = None, say: Callable[[str], None] = _say) -> PlaybackResult:
    """Play a file, Melody or MidiFile to a MIDI port, a virtual port, or (no target) the sound
    device."""
    target = target or Target()
    midi = load_midi(source, bpm, program)
    if target.virtual is not None:
        with ports.open_virtual_output(target.virtual, target.api) as port:
            await_listener(port, target.wait, say)
            return play_to_port(midi, port)
    if target.port is None:
        return play_to_device(midi, source=str(source) if isinstance(source, (str, Path))
                              else "the melody")
    return play_to_port(midi, target.port, api=target.api)
