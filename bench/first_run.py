"""A first run on a new machine: reading a corpus with nothing in the user's cache, from the
entries shipped in the package vs parsing every file (issue 17).

    python bench/first_run.py                          # Essen kinder (about a minute)
    python bench/first_run.py --source corpus:essen    # all of Essen (minutes: the parse)

Both are whole `melodyrnn data stats SOURCE` processes: with an empty --cache-dir (the
shipped entries serve every file) and with --no-cache (music21 parses every file, as a
first run did before). Writes bench/results/first_run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "first_run.json"


def seconds(arguments: list[str]) -> float:
    """Wall-clock seconds of one `melodyrnn` process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "melodyrnn", *arguments], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="corpus:essen/kinder")
    parser.add_argument("--jobs", type=int, default=0, help="parsing processes (0: every core)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        shipped = seconds(["data", "stats", args.source, "--cache-dir", empty])
        left = list(Path(empty).iterdir())
    parsed = seconds(["data", "stats", args.source, "--no-cache", "--jobs", str(args.jobs)])
    print(f"{args.source}: shipped entries {shipped:.2f} s, parsing {parsed:.1f} s "
          f"({parsed / shipped:.0f}x); cache files written on the shipped run: {len(left)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "source": args.source, "shipped_seconds": shipped, "parse_seconds": parsed,
        "ratio": parsed / shipped, "cache_files_written": len(left),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")


if __name__ == "__main__":
    main()
