"""Run melodyrnn commands one after another in this process, as the command line runs them,
under an address-space limit; print one JSON line per command.

Usage: ``python driver.py CASES.json LIMIT_BYTES RESULTS [--cold]``, where CASES.json is a list of
``{"name": ..., "args": [...]}``; the JSON lines go to the file RESULTS (not stdout, where
worker processes may print). Each command runs through click's test runner (the real
``melodyrnn`` group, its error handling included), so torch is imported once for all of
them, before any command is timed. A ``{"start": name}`` line comes before each command,
so a command that hangs or kills the process can be named by whoever reads the output;
``peak_kb`` is the largest resident size so far of this process or any of its children.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from pathlib import Path


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    limit = int(sys.argv[2])
    results = open(sys.argv[3], "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a runaway allocation fails here
    from click.testing import CliRunner

    from melodyrnn.cli import main as melodyrnn

    if "--cold" not in sys.argv:
        warm_up()

    clean = {"MELODYRNN_MAX_FILE_MB": None}  # what --max-file-mb sets, restored after each
    for case in cases:
        print(json.dumps({"start": case["name"]}), file=results, flush=True)
        started = time.monotonic()
        result = CliRunner().invoke(melodyrnn, case["args"], env=clean)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        print(json.dumps({
            "name": case["name"], "code": result.exit_code, "stdout": result.stdout[-200_000:],
            "stderr": result.stderr[-6000:], "seconds": time.monotonic() - started,
            "crash": "".join(traceback.format_exception(result.exception)) if crashed else "",
            "peak_kb": max(resource.getrusage(who).ru_maxrss
                           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)),
        }), file=results, flush=True)


def warm_up() -> None:
    """Import what the commands import, so a case's time is its own work, not an import."""
    import music21  # noqa: F401
    import torch  # noqa: F401

    import melodyrnn.models.checkpoint
    import melodyrnn.pipeline  # noqa: F401


if __name__ == "__main__":
    main()
