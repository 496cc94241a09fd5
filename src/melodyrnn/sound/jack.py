"""JACK's view of its connections, through its own tool ``jack_lsp -c`` (rtmidi cannot tell).

JACK applies a new connection at the start of a later process cycle, so messages sent right
after ``jack_connect`` (rtmidi's ``open_port`` included) can be lost — seen here in 1 of 15
openings on a loaded machine, tens of milliseconds late. A connection ``jack_lsp`` lists is
one the server already routes. Where ``jack_lsp`` is missing, callers wait a fixed time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable

LSP_TIMEOUT_SECONDS = 5.0
LINK_TIMEOUT_SECONDS = 2.0
UNSEEN_LINK_SECONDS = 0.2  # the wait for a connection when jack_lsp cannot show it
POLL_SECONDS = 0.01


def listing() -> str | None:
    """``jack_lsp -c`` output for the default server (every port, each followed by its
    connections indented), or None where the tool is missing or fails."""
    program = shutil.which("jack_lsp")
    if program is None:
        return None
    try:
        done = subprocess.run([program, "-c"], capture_output=True, text=True,
                              timeout=LSP_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def client_pattern(client: str) -> str:
    """A regular expression for a client's ports: JACK renames a second client of the same
    name ``NAME-01``, so any such client counts."""
    return rf"{re.escape(client)}(-\d+)?"


def peers(text: str, port: str) -> list[str]:
    """The ports connected to ``port`` (a full name or a regular expression for one) in a
    ``jack_lsp -c`` listing."""
    wanted = re.compile(port)
    found: list[str] = []
    mine = False
    for line in text.splitlines():
        if line[:1].isspace():
            if mine:
                found.append(line.strip())
        else:
            mine = wanted.fullmatch(line.strip()) is not None
    return found


def await_link(port: str, client: str, timeout: float = LINK_TIMEOUT_SECONDS,
               look: Callable[[], str | None] = listing,
               sleep: Callable[[float], None] = time.sleep) -> bool | None:
    """Wait until JACK routes ``port`` to a port of ``client``: True when it does, False after
    ``timeout``, None (after a short fixed wait) where ``jack_lsp`` cannot show it."""
    ours = re.compile(rf"{client_pattern(client)}:.*")
    deadline = time.monotonic() + timeout
    while True:
        text = look()
        if text is None:
            sleep(UNSEEN_LINK_SECONDS)
            return None
        if any(ours.fullmatch(peer) for peer in peers(text, re.escape(port))):
            return True
        if time.monotonic() > deadline:
            return False
        sleep(POLL_SECONDS)
