"""A pool of worker processes that can stop a job: each job has a deadline, and a worker that
passes it is killed and replaced, so one pathological file never hangs a run.

(``concurrent.futures`` cannot stop a running job: one stuck worker would hang the pool.)
Workers are spawned, not forked: the parent may hold threads (torch) that fork would copy
half-alive. No torch, no music21 here.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

J = TypeVar("J")

CRASHED = "reader process crashed"


@dataclass
class Outcome(Generic[J]):
    """A finished job: its result, or why there is none (``failure``)."""

    job: J
    result: Any = None
    failure: str | None = None


def _serve(connection: Connection, function: Callable[[Any], Any]) -> None:
    """A worker: run each job received, send back ('ok', result) or ('error', text)."""
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            reply = ("ok", function(job))
        except Exception as err:  # reported to the parent as this job's failure
            reply = ("error", f"{type(err).__name__}: {err}")
        connection.send(reply)


@dataclass
class _Worker:
    process: Any
    connection: Connection
    job: Any = None
    deadline: float = 0.0


def run_jobs(function: Callable[[J], Any], jobs: Sequence[J], workers: int,
             seconds: Callable[[J], float]) -> Iterator[Outcome[J]]:
    """Run ``function`` on every job in up to ``workers`` processes, yielding as jobs finish.

    A job still running ``seconds(job)`` after it was handed out is stopped: its worker is
    killed (and replaced if jobs remain) and the outcome's failure says how long it had.
    A worker that dies mid-job gives the failure ``CRASHED``.
    """
    context = multiprocessing.get_context("spawn")
    waiting = deque(jobs)
    pool: list[_Worker] = []

    def spawn() -> _Worker:
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, function), daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, mine)

    def hand_out(worker: _Worker) -> None:
        worker.job = waiting.popleft()
        worker.deadline = time.monotonic() + seconds(worker.job)
        worker.connection.send(worker.job)

    def stop(worker: _Worker, kill: bool) -> None:
        if kill:
            worker.process.kill()
        else:
            with suppress(OSError):
                worker.connection.send(None)
        worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()
        pool.remove(worker)

    try:
        for _ in range(min(workers, len(waiting))):
            pool.append(spawn())
            hand_out(pool[-1])
        while pool:
            now = time.monotonic()
            ready = wait([w.connection for w in pool] + [w.process.sentinel for w in pool],
                         timeout=max(0.0, min(w.deadline for w in pool) - now))
            for worker in list(pool):
                outcome, kill = _finished(worker, ready)
                if outcome is None:
                    continue
                yield outcome
                if kill or not waiting:
                    stop(worker, kill)
                if waiting:
                    if kill:
                        pool.append(spawn())
                        worker = pool[-1]
                    hand_out(worker)
    finally:
        for worker in list(pool):
            stop(worker, kill=True)


def _finished(worker: _Worker, ready: list[Any]) -> tuple[Outcome | None, bool]:
    """The outcome of a worker's job if it ended (and whether to kill the worker), else None."""
    job = worker.job
    if worker.connection in ready or worker.connection.poll():
        try:
            status, value = worker.connection.recv()
        except (EOFError, OSError):
            return Outcome(job, failure=CRASHED), True
        return (Outcome(job, result=value) if status == "ok"
                else Outcome(job, failure=f"reader failed: {value}")), False
    if worker.process.sentinel in ready:
        return Outcome(job, failure=CRASHED), True
    if time.monotonic() >= worker.deadline:
        return Outcome(job, failure="took too long to read; its process was stopped "
                                    "(see --parse-timeout)"), True
    return None, False
