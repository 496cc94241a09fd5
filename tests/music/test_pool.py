"""The ingest pool: a job past its deadline is stopped and its worker replaced; a worker
that dies is reported; the other jobs still finish."""

from __future__ import annotations

import os
import time

from melodyrnn.music.pool import CRASHED, run_jobs


def work(job: str) -> str:
    """A job for the workers: 'hang' never ends, 'die' kills its process, others echo."""
    if job == "hang":
        while True:
            time.sleep(1)
    if job == "die":
        os._exit(3)
    if job == "raise":
        raise ZeroDivisionError("division by zero")
    return job.upper()


def test_a_stuck_job_is_stopped_and_the_others_finish():
    started = time.monotonic()
    outcomes = {o.job: o for o in run_jobs(work, ["a", "hang", "b", "c"], workers=2,
                                           seconds=lambda job: 3.0)}
    assert {job: o.result for job, o in outcomes.items() if o.failure is None} == {
        "a": "A", "b": "B", "c": "C"}
    assert "took too long" in outcomes["hang"].failure
    assert time.monotonic() - started < 30  # not forever


def test_a_dying_or_failing_job_is_reported_and_the_pool_goes_on():
    outcomes = {o.job: o for o in run_jobs(work, ["die", "raise", "x", "y"], workers=1,
                                           seconds=lambda job: 30.0)}
    assert outcomes["die"].failure == CRASHED
    assert outcomes["raise"].failure == "reader failed: ZeroDivisionError: division by zero"
    assert outcomes["x"].result == "X" and outcomes["y"].result == "Y"
