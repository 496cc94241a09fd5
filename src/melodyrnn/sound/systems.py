"""The MIDI systems python-rtmidi knows (ALSA, JACK, CoreMIDI, Windows) and why one is unavailable.

``--midi-api auto`` means every system this rtmidi build supports, in rtmidi's order of
preference; a named one means that one only. Failures of the C libraries become
``DependencyError``s that say what to do (a JACK that is not running says how to start it),
and what those libraries print on stderr while a client is created is hidden.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from melodyrnn.errors import DependencyError

API_ENV = "MELODYRNN_MIDI_API"
NO_MIDI_SYSTEM = "no MIDI system available; use `melodyrnn render FILE -o out.wav` instead"
JACK_NOT_RUNNING = ("JACK is not running: start it with `jackd -d alsa` (your sound card) or "
                    "`jackd -d dummy` (no sound card), or with QjackCtl")
NO_ALSA_SEQUENCER = ("ALSA has no sequencer (/dev/snd/seq): `modprobe snd-seq`, or in a container "
                     "pass the device (--device /dev/snd)")
NEEDS_RTMIDI = "MIDI ports need python-rtmidi ({err}): pip install python-rtmidi; or use `melodyrnn render`"


@dataclass(frozen=True)
class MidiSystem:
    """One MIDI system: its ``--midi-api`` name, the name users know and rtmidi's API name."""

    key: str
    label: str
    rtmidi_api: str  # the suffix of rtmidi's API_* constant

    def api_id(self) -> int:
        """rtmidi's number for this API."""
        import rtmidi

        return int(getattr(rtmidi, f"API_{self.rtmidi_api}"))


SYSTEMS = (
    MidiSystem("alsa", "ALSA", "LINUX_ALSA"),
    MidiSystem("jack", "JACK", "UNIX_JACK"),
    MidiSystem("coremidi", "CoreMIDI", "MACOSX_CORE"),
    MidiSystem("windows", "Windows MIDI", "WINDOWS_MM"),
)
API_CHOICES = ("auto", *(s.key for s in SYSTEMS))


def _rtmidi() -> Any:
    try:
        import rtmidi
    except ImportError as err:
        raise DependencyError(NEEDS_RTMIDI.format(err=err)) from None
    return rtmidi


def compiled_systems() -> list[MidiSystem]:
    """The systems this python-rtmidi build supports, in rtmidi's order of preference."""
    rtmidi = _rtmidi()
    by_id = {s.api_id(): s for s in SYSTEMS}
    return [by_id[api] for api in rtmidi.get_compiled_api() if api in by_id]


def systems_for(api: str) -> list[MidiSystem]:
    """The systems ``--midi-api`` means: all compiled ones for 'auto', else the one named."""
    compiled = compiled_systems()
    if api == "auto":
        if not compiled:
            raise DependencyError(f"{NO_MIDI_SYSTEM} (python-rtmidi was built without any)")
        return compiled
    chosen = next((s for s in SYSTEMS if s.key == api), None)
    if chosen is None:
        raise DependencyError(f"unknown MIDI API '{api}': expected one of {', '.join(API_CHOICES)}")
    if chosen not in compiled:
        have = ", ".join(s.label for s in compiled) or "none"
        raise DependencyError(f"this python-rtmidi has no {chosen.label} support (it has: {have})")
    return [chosen]


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hide what C libraries (ALSA, libjack) print on file descriptor 2 inside the block."""
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


def reason(system: MidiSystem, err: BaseException) -> str:
    """Why a system is unavailable, in words that say what to do."""
    text = str(err)
    if system.key == "jack" and "not running" in text:
        return JACK_NOT_RUNNING
    if system.key == "alsa" and "sequencer" in text:
        return NO_ALSA_SEQUENCER
    return f"{system.label} failed: {text}"


@contextmanager
def using(system: MidiSystem) -> Iterator[None]:
    """Quiet C libraries and turn rtmidi's errors on ``system`` into a DependencyError."""
    _rtmidi()
    try:
        with quiet_stderr():
            yield
    except OSError as err:  # rtmidi's SystemError and friends derive from OSError
        raise DependencyError(reason(system, err)) from None


def unavailable(api: str, failures: list[tuple[MidiSystem, DependencyError]]) -> DependencyError:
    """The one-line error when no system ``--midi-api`` allows works, with each one's reason."""
    if api != "auto":
        return failures[0][1]
    why = "; ".join(str(err) for _, err in failures)
    return DependencyError(f"{NO_MIDI_SYSTEM} ({why})")
