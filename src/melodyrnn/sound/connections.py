"""Who is connected to a virtual output port, and waiting until someone is.

rtmidi cannot tell, so each system is asked its own way: JACK with ``jack_lsp -c`` (``jack``),
ALSA through the kernel's ``/proc/asound/seq/clients``. Where neither works (CoreMIDI,
no tools), the answer is None, "cannot tell", and waiting takes the whole time allowed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from melodyrnn.sound import jack
from melodyrnn.sound.ports import OutputPort

ALSA_CLIENTS = Path("/proc/asound/seq/clients")
DEFAULT_WAIT_SECONDS = 30.0  # --virtual: the longest wait for a connection
POLL_SECONDS = 0.05


def alsa_peers(listing: str, port: str) -> list[str]:
    """The ports ``client:port`` sends to, from the kernel's list of sequencer clients."""
    client, _, name = port.partition(":")
    peers: list[str] = []
    in_client = in_port = False
    for line in listing.splitlines():
        if (found := re.match(r'Client\s+\d+\s*:\s*"(.*)"', line)) is not None:
            in_client, in_port = found[1] == client, False
        elif (found := re.match(r'\s+Port\s+\d+\s*:\s*"(.*)"', line)) is not None:
            in_port = in_client and found[1] == name
        elif in_port and (found := re.match(r"\s+Connecting To:\s*(.*)", line)) is not None:
            peers += [p.strip() for p in found[1].split(",") if p.strip()]
    return peers


def connected_to(port: OutputPort) -> list[str] | None:
    """The ports a virtual output is connected to, or None where the system cannot tell."""
    key = port.system.key
    if key == "jack":
        text = jack.listing()
        client, _, name = port.name.partition(":")
        return None if text is None else jack.peers(text, f"{jack.client_pattern(client)}:"
                                                          f"{re.escape(name)}")
    if key == "alsa":
        try:
            return alsa_peers(ALSA_CLIENTS.read_text(), port.name)
        except OSError:
            return None
    return None


def connect_hint(port: OutputPort) -> str:
    """How to connect a synthesiser to a virtual port on its system."""
    if port.system.key == "jack":
        return f"e.g. `jack_connect {port.name} SYNTH:midi_00`, or QjackCtl's Graph"
    if port.system.key == "alsa":
        client = port.name.partition(":")[0]
        return f"e.g. `aconnect {client} SYNTH` (see `aconnect -l`)"
    return "connect it to a synthesiser or DAW in its MIDI settings"


def wait_for_connection(watch: Callable[[], list[str] | None], seconds: float,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> list[str] | None:
    """Poll ``watch`` until it names a peer or ``seconds`` pass; the peers, [] after the whole
    wait, or None when ``watch`` cannot tell (then the whole wait is slept)."""
    deadline = clock() + seconds
    while True:
        peers = watch()
        if peers:
            return peers
        left = deadline - clock()
        if left <= 0:
            return peers
        sleep(left if peers is None else min(POLL_SECONDS, left))
        if peers is None:
            return None

