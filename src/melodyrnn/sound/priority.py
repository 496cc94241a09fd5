"""Real-time scheduling for the thread that sends MIDI on time, where the system allows it.

On a busy machine a sleeping process can wake up milliseconds late; a thread under the
round-robin real-time policy wakes up first. Linux grants it to root and to users with an
``rtprio`` limit (Debian's ``jackd2`` offers one to the ``audio`` group); elsewhere, or when
refused, playback runs as before. Only the calling thread is raised, and only for the block:
a model generating in another thread keeps the ordinary priority.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# Above every ordinary thread and below JACK's: its server (10 by default) and its clients'
# process threads (the server's priority minus 5), ours included, which must never wait for
# the thread that feeds them; at the same priority a missed cycle lost its MIDI in tests.
PRIORITY = 4


@contextmanager
def realtime() -> Iterator[bool]:
    """Run the block with the calling thread under real-time scheduling if allowed; yields
    whether it was."""
    try:
        policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(PRIORITY))
    except (AttributeError, OSError):  # not Linux, or not permitted
        yield False
        return
    try:
        yield True
    finally:
        with suppress(OSError):
            os.sched_setscheduler(0, policy, param)
