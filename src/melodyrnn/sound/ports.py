"""MIDI ports through python-rtmidi on any MIDI system: listing, choosing by name or number, opening.

Ports are found on the systems ``--midi-api`` allows (``systems``): a number counts the
ports of the first system that works, a name (or a unique part of one) is looked for on
each in turn. A missing rtmidi or MIDI system becomes a ``DependencyError`` that says what
to do instead. Input ports are polled, never called back: a Python callback would run in
JACK's real-time thread and wait there for the interpreter lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.sound import jack
from melodyrnn.sound.systems import MidiSystem, systems_for, unavailable, using

Direction = Literal["output", "input"]
CLIENT_NAME = "melodyrnn"  # how our ports' owner is called on the MIDI system
# rtmidi's JACK close waits for one process cycle, yet a message sent just before it was lost
# in 4 of 100 closings on a loaded machine (none with 5 ms between): a pause before closing.
DRAIN_SECONDS = 0.05
NO_VIRTUAL_PORTS = ("{label} has no virtual ports: create a loopback port (loopMIDI on Windows) "
                    "and play to it with --port")


def _client(system: MidiSystem, direction: Direction) -> Any:
    """A new rtmidi client of ``system`` (errors as DependencyError, C noise hidden)."""
    import rtmidi

    kind = rtmidi.MidiOut if direction == "output" else rtmidi.MidiIn
    with using(system):
        return kind(system.api_id(), name=CLIENT_NAME)


@dataclass
class Survey:
    """The ports of each system that works, and why each of the others does not."""

    ports: list[tuple[MidiSystem, list[str]]] = field(default_factory=list)
    failures: list[tuple[MidiSystem, DependencyError]] = field(default_factory=list)


def survey(api: str = "auto", direction: Direction = "output") -> Survey:
    """List the ports of every system ``api`` allows; raise DependencyError if none works."""
    found = Survey()
    for system in systems_for(api):
        try:
            client = _client(system, direction)
        except DependencyError as err:
            found.failures.append((system, err))
            continue
        try:
            found.ports.append((system, list(client.get_ports())))
        finally:
            client.delete()
    if not found.ports:
        raise unavailable(api, found.failures)
    return found


def resolve_port_name(spec: str | int, names: list[str], direction: Direction = "output") -> str:
    """The port a ``--port`` value means: a number, an exact name or a unique part of one."""
    listing = ("; available ports: " + ", ".join(f"{i}: {n}" for i, n in enumerate(names))
               if names else f"; the system offers no MIDI {direction} ports")
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


class OutputPort:
    """An open MIDI output port: sends mido messages; closing flushes what was sent first."""

    def __init__(self, client: Any, name: str, system: MidiSystem, virtual: bool = False) -> None:
        self._client, self.name, self.system, self.virtual = client, name, system, virtual

    def send(self, message: Any) -> None:
        """Send one mido message now."""
        self._client.send_message(message.bytes())

    def close(self) -> None:
        """Close the port once the system has delivered every message sent."""
        if self._client is not None:
            client, self._client = self._client, None
            time.sleep(DRAIN_SECONDS)
            client.close_port()
            client.delete()

    def __enter__(self) -> OutputPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InputPort:
    """An open MIDI input port, polled: ``receive`` returns what arrived since the last call."""

    def __init__(self, client: Any, name: str, system: MidiSystem) -> None:
        self._client, self.name, self.system = client, name, system

    def receive(self) -> list[Any]:
        """The mido messages waiting on the port (clock, sysex and sensing are ignored)."""
        import mido

        messages = []
        while (event := self._client.get_message()) is not None:
            try:
                messages.append(mido.Message.from_bytes(event[0]))
            except ValueError:  # a malformed or partial message: not ours to play
                continue
        return messages

    def close(self) -> None:
        """Close the port."""
        if self._client is not None:
            client, self._client = self._client, None
            client.close_port()
            client.delete()

    def __enter__(self) -> InputPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(spec: str | int, api: str, direction: Direction) -> tuple[Any, str, MidiSystem]:
    """An rtmidi client with the port ``spec`` means open on the first system that has it."""
    failures: list[tuple[MidiSystem, DependencyError]] = []
    problems: list[tuple[MidiSystem, MelodyError]] = []
    by_number = str(spec).strip().isdigit()
    for system in systems_for(api):
        try:
            client = _client(system, direction)
        except DependencyError as err:
            failures.append((system, err))
            continue
        names = list(client.get_ports())
        try:
            name = resolve_port_name(spec, names, direction)
        except MelodyError as err:
            client.delete()
            problems.append((system, err))
            if by_number:  # numbers count the first working system's ports only
                break
            continue
        try:
            with using(system):
                client.open_port(names.index(name), "in" if direction == "input" else "out")
        except DependencyError:
            client.delete()
            raise
        if system.key == "jack":  # messages sent before JACK routes the connection are lost
            jack.await_link(name, CLIENT_NAME)
        return client, name, system
    if not problems:
        raise unavailable(api, failures)
    if len(problems) == 1:
        raise problems[0][1]
    raise MelodyError("; ".join(f"{system.label}: {err}" for system, err in problems))


def open_port(spec: str | int, api: str = "auto") -> OutputPort:
    """Open a MIDI output port by number or name; MelodyError listing the ports if none fits."""
    return OutputPort(*_open(spec, api, "output"))


def open_input(spec: str | int, api: str = "auto") -> InputPort:
    """Open a MIDI input port by number or name; MelodyError listing the ports if none fits."""
    return InputPort(*_open(spec, api, "input"))


def open_virtual_output(name: str, api: str = "auto") -> OutputPort:
    """Open an output port called ``name`` that other programs connect to, on the first system
    that works; its full name there is ``melodyrnn:NAME``."""
    import rtmidi

    if not name.strip() or ":" in name:
        raise MelodyError(f"--virtual '{name}': expected a port name without ':'")
    failures: list[tuple[MidiSystem, DependencyError]] = []
    for system in systems_for(api):
        try:
            client = _client(system, "output")
        except DependencyError as err:
            failures.append((system, err))
            continue
        try:
            with using(system):
                client.open_virtual_port(name)
        except rtmidi.UnsupportedOperationError:
            client.delete()
            failures.append((system, DependencyError(NO_VIRTUAL_PORTS.format(label=system.label))))
            continue
        return OutputPort(client, f"{CLIENT_NAME}:{name}", system, virtual=True)
    raise unavailable(api, failures)
