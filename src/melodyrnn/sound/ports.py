"""MIDI output ports through mido and python-rtmidi: listing, choosing by name or number, opening.

A missing rtmidi or MIDI system becomes a ``DependencyError`` that says what to do instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from melodyrnn.errors import DependencyError, MelodyError

NO_MIDI_SYSTEM = "no MIDI system available; use `melodyrnn render FILE -o out.wav` instead"


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


