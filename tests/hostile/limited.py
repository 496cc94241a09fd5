"""Running the command line on hostile input in subprocesses that cannot eat the machine.

Every process runs under ``resource.setrlimit(RLIMIT_AS)`` of ``LIMIT_BYTES``, 1.5 GiB of
address space: torch and music21 map about 0.9 GB before doing anything (while only about
340 MB is resident), so that leaves room for real work, while an allocation of gigabytes
fails with MemoryError instead of swapping the machine to a halt. The memory actually used
is checked as well: every case must stay under ``RESIDENT_BYTES`` (1 GB) resident.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LIMIT_BYTES = 3 << 29  # 1.5 GiB
RESIDENT_BYTES = 1 << 30
CASE_SECONDS = 10.0  # a hostile case must end within this (imports done: a guard on hangs)


def case_seconds() -> float:
    """``CASE_SECONDS`` on a machine that is not busy; when other work keeps the cores busy
    (a load above one per core), proportionally more, so the guard catches hangs, not load."""
    return CASE_SECONDS * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
PROCESS_SECONDS = 60.0  # a whole process, Python and torch starting included
DRIVER = Path(__file__).with_name("driver.py")


@dataclass
class Outcome:
    """How one command ended."""

    name: str
    code: int
    stdout: str
    stderr: str
    seconds: float
    crash: str = ""
    peak_kb: int = 0
    limit: float = field(default_factory=case_seconds)

    def problems(self, *fragments: str, ok: bool = False) -> list[str]:
        """What is wrong with this outcome for a command that should fail with one error line
        holding every fragment (or, with ``ok``, succeed); [] if nothing."""
        wrong = []
        if self.crash or "Traceback" in self.stderr + self.stdout:
            wrong.append(f"crashed: {self.crash or self.stderr[-600:]}")
        if self.seconds > self.limit:
            wrong.append(f"took {self.seconds:.1f} s")
        if self.peak_kb * 1024 > RESIDENT_BYTES:
            wrong.append(f"{self.peak_kb >> 10} MB resident")
        if ok:
            if self.code != 0:
                wrong.append(f"exit {self.code}: {self.stderr[-400:]}")
            return wrong
        errors = [line for line in self.stderr.splitlines() if line.startswith("Error:")]
        if self.code == 0:
            wrong.append("exit 0")
        if len(errors) != 1:
            wrong.append(f"{len(errors)} error lines in {self.stderr[-600:]!r}")
        if "Usage:" in self.stderr or "Try '" in self.stderr:
            wrong.append(f"a usage banner around the error: {self.stderr[-600:]!r}")
        missing = [f for f in fragments if not any(f in line for line in errors)]
        if missing:
            wrong.append(f"error line lacks {missing}: {errors}")
        return wrong


def environment(home: Path) -> dict[str, str]:
    """The environment of a limited run: its own cache folder, one thread."""
    return {**os.environ, "XDG_CACHE_HOME": str(home / "cache"), "OMP_NUM_THREADS": "1",
            "MELODYRNN_THREADS": "1"}


def run_cases(cases: list[tuple[str, list[str]]], home: Path, timeout: float = 240.0,
              warm: bool = True) -> dict[str, Outcome]:
    """Run the named commands in one limited driver process; their outcomes by name.

    ``warm``: import torch and music21 before the first case (cases that never load them
    start faster without)."""
    listing = Path(tempfile.mkstemp(suffix=".json", dir=home)[1])
    results = listing.with_suffix(".out")
    listing.write_text(json.dumps([{"name": n, "args": [str(a) for a in args]}
                                   for n, args in cases]))
    try:
        done = subprocess.run([sys.executable, str(DRIVER), str(listing), str(LIMIT_BYTES),
                               str(results), *([] if warm else ["--cold"])],
                              capture_output=True, text=True, timeout=timeout, cwd=home,
                              env=environment(home))
    except subprocess.TimeoutExpired:
        done = None
    records = [json.loads(line) for line in results.read_text().splitlines()] \
        if results.exists() else []
    outcomes = {r["name"]: Outcome(**r) for r in records if "start" not in r}
    if os.environ.get("HOSTILE_TIMES"):  # to see where the time goes
        print("\n".join(f"{o.seconds:6.2f} s  {o.name}" for o in outcomes.values()))
    started = [r["start"] for r in records if "start" in r]
    assert done is not None, f"the driver hung in case {started[-1:]}"
    missing = [n for n, _ in cases if n not in outcomes]
    assert not missing, (f"the driver stopped in case {started[-1:]}: "
                         f"{done.stderr[-2000:]}")
    return outcomes


def run_process(args: list[str], home: Path, timeout: float = PROCESS_SECONDS) -> Outcome:
    """``python -m melodyrnn ARGS`` as a process of its own, under the same limit."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))

    import time

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "melodyrnn", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=home,
                          env=environment(home), preexec_fn=limit)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # of any child so far
    return Outcome(" ".join(map(str, args)), done.returncode, done.stdout, done.stderr,
                   time.monotonic() - started, peak_kb=peak, limit=timeout)


def report(problems: dict[str, list[str]]) -> str:
    """Failing cases, one per line, for an assertion message."""
    return "\n".join(f"{name}: {'; '.join(p)}" for name, p in problems.items() if p)
