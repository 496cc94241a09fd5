"""A stand-in for the python-rtmidi module: MIDI systems that work or fail as a test says.

``FakeRtMidi({JACK: ["fsynth:midi_00"], ALSA: NoSequencer(...)})`` offers those output (and
input) ports per API; a system given an exception fails to create clients the way rtmidi
does, printing C-library noise on file descriptor 2 first. Install it with
``monkeypatch.setitem(sys.modules, "rtmidi", fake)``.
"""

from __future__ import annotations

import os
from typing import Any

ALSA, JACK, COREMIDI, WINDOWS = 2, 3, 1, 4


class SystemError(OSError):  # rtmidi's own name for it
    """rtmidi's SystemError: a MIDI system that cannot make a client."""


class UnsupportedOperationError(RuntimeError):
    """rtmidi's error for a virtual port on a system without them."""


def jack_not_running() -> SystemError:
    return SystemError("MidiOutJack::initialize: JACK server not running?")


def no_sequencer() -> SystemError:
    return SystemError("MidiOutAlsa::initialize: error creating ALSA sequencer client object.")


class FakeRtMidi:
    """The parts of the rtmidi module that melodyrnn uses."""

    API_LINUX_ALSA, API_UNIX_JACK, API_MACOSX_CORE, API_WINDOWS_MM = ALSA, JACK, COREMIDI, WINDOWS
    SystemError = SystemError
    UnsupportedOperationError = UnsupportedOperationError

    def __init__(self, systems: dict[int, list[str] | Exception], compiled: tuple[int, ...] = (ALSA, JACK),
                 inputs: dict[int, list[str]] | None = None) -> None:
        self.systems, self.compiled, self.inputs = systems, compiled, inputs or {}
        self.clients: list[FakeClient] = []
        fake = self

        class MidiOut(FakeClient):
            def __init__(self, api: int, name: str | None = None) -> None:
                super().__init__(fake, api, name, fake.outputs_of(api))

        class MidiIn(FakeClient):
            def __init__(self, api: int, name: str | None = None) -> None:
                super().__init__(fake, api, name, fake.inputs.get(api, fake.outputs_of(api)))

        self.MidiOut, self.MidiIn = MidiOut, MidiIn

    def get_compiled_api(self) -> list[int]:
        return list(self.compiled)

    def outputs_of(self, api: int) -> list[str]:
        system = self.systems.get(api, [])
        if isinstance(system, Exception):
            os.write(2, b"ALSA lib seq_hw.c:466:(snd_seq_hw_open) open /dev/snd/seq failed\n")
            raise system
        return system


class FakeClient:
    """An rtmidi MidiOut or MidiIn: records what is opened and sent."""

    def __init__(self, fake: FakeRtMidi, api: int, name: str | None, ports: list[str]) -> None:
        self.api, self.name, self.ports = api, name, list(ports)
        self.opened: str | None = None
        self.sent: list[list[int]] = []
        self.incoming: list[list[int]] = []
        self.closed = self.deleted = False
        fake.clients.append(self)

    def get_ports(self) -> list[str]:
        return list(self.ports)

    def open_port(self, index: int, name: str | None = None) -> None:
        self.opened = self.ports[index]

    def open_virtual_port(self, name: str) -> None:
        if self.api == WINDOWS:
            raise UnsupportedOperationError("virtual ports are not supported by Windows MM")
        self.opened = f"virtual:{name}"

    def send_message(self, message: list[int]) -> None:
        self.sent.append(list(message))

    def get_message(self) -> Any:
        return (self.incoming.pop(0), 0.0) if self.incoming else None

    def close_port(self) -> None:
        self.closed = True

    def delete(self) -> None:
        self.deleted = True
