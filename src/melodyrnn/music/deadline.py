"""Time limits for reading one file or tune, so a pathological score cannot hang a run.

``time_limit(seconds)`` raises ``ParseTimeout`` inside the block once the time is up (a POSIX
interval timer, so only in the main thread; elsewhere the block runs unbounded and the
ingest pool's own deadline still applies). ``ParseTimeout`` is a ``BaseException``, like
``KeyboardInterrupt``, so the broad ``except Exception`` clauses inside music21 cannot
swallow it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PARSE_SECONDS = 10.0  # default limit per file (or ABC tune); `--parse-timeout` changes it
REPEAT_SECONDS = 0.25


class ParseTimeout(BaseException):
    """Reading took longer than its time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} s to read (see --parse-timeout)")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``ParseTimeout`` in the block after ``seconds`` (None or 0: no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise ParseTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    # Fires again every REPEAT_SECONDS: a raise that lands in a finaliser is swallowed
    # by Python (an "unraisable" exception), and the next one then stops the block.
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield
    finally:
        while True:  # a repeat may land here, before the timer is off: then try again
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except ParseTimeout:
                continue
