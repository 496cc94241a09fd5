"""Ingest speed: cold parse of a corpus with the process pool vs one process, then warm (cached).

    python bench/ingest.py                      # all of Essen (several minutes on 2 cores)
    python bench/ingest.py --source corpus:essen/kinder --repeats 3

Prints one table and writes bench/results/ingest.json. Targets: warm under 2 s for all of
Essen and at least 100x faster than the cold pool run; the pool scales with cores.
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
from dataclasses import replace
from pathlib import Path

from melodyrnn.music.sources import IngestOptions, IngestResult, load

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
WARM_TARGET_S = 2.0
SPEEDUP_TARGET = 100


def timed(sources: list[str], options: IngestOptions) -> tuple[float, IngestResult]:
    """Seconds for one load, and its result."""
    start = time.perf_counter()
    result = load(sources, options, progress=False)
    return time.perf_counter() - start, result


def fresh_process_seconds(sources: list[str], options: IngestOptions) -> float:
    """Wall time of a new interpreter that imports melodyrnn and loads from the cache."""
    code = ("from melodyrnn.ingest import IngestOptions, load; "
            f"load({sources!r}, IngestOptions(cache_dir={options.cache_dir!r}, "
            f"quantize={options.quantize!r}), progress=False)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", help="sources (default corpus:essen)")
    parser.add_argument("--jobs", type=int, default=0, help="pool size (0 = all cores)")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs; the median counts")
    parser.add_argument("--skip-single", action="store_true", help="skip the 1-process run")
    parser.add_argument("--cache-dir", help="empty folder for the cache, kept afterwards "
                        "(default: a temporary one)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sources = args.source or ["corpus:essen"]
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        pooled_cache = args.cache_dir or temporary
        cached = IngestOptions(cache_dir=pooled_cache)
        if args.cache_dir and any(Path(args.cache_dir).glob("*")):
            parser.error(f"--cache-dir {args.cache_dir} must be empty: the first run is cold")
        pooled_s, result = timed(sources, replace(cached, jobs=args.jobs))  # fills the cache
        melodies = len(result.melodies)
        notes = sum(len(m) for m in result.melodies)
        rows.append(("cold, pool", args.jobs or cores, pooled_s))
        if not args.skip_single:
            single_s, _ = timed(sources, IngestOptions(use_cache=False, jobs=1))
            rows.append(("cold, 1 process", 1, single_s))
        warm = sorted(timed(sources, cached)[0] for _ in range(args.repeats))
        warm_s = warm[len(warm) // 2]
        rows.append(("warm (cache), load()", 1, warm_s))
        fresh_s = fresh_process_seconds(sources, cached)
        rows.append(("warm, new python process", 1, fresh_s))
    print(f"{' + '.join(sources)}: {result.sources} files, {melodies} melodies, {notes} notes, "
          f"{len(result.rejected)} rejected; {cores} cores")
    print(f"{'run':<26} {'procs':>5} {'seconds':>9} {'notes/s':>10} {'vs warm':>8}")
    for name, procs, seconds in rows:
        print(f"{name:<26} {procs:>5} {seconds:>9.2f} {notes / seconds:>10.0f} "
              f"{seconds / warm_s:>7.0f}x")
    report = {
        "sources": sources, "files": result.sources, "melodies": melodies, "notes": notes,
        "rejected": len(result.rejected),
        "cold_pool_s": round(pooled_s, 3), "pool_processes": args.jobs or cores,
        "cold_single_s": None if args.skip_single else round(rows[1][2], 3),
        "warm_s": round(warm_s, 4), "warm_runs_s": [round(s, 4) for s in warm],
        "warm_new_process_s": round(fresh_s, 3),
        "pool_speedup": None if args.skip_single else round(rows[1][2] / pooled_s, 2),
        "warm_speedup_vs_cold_pool": round(pooled_s / warm_s, 1),
        "targets": {"warm_s": WARM_TARGET_S, "warm_speedup": SPEEDUP_TARGET,
                    "met": warm_s < WARM_TARGET_S and pooled_s / warm_s >= SPEEDUP_TARGET},
        "machine": {"cores": cores, "platform": platform.platform(),
                    "python": platform.python_version(), "processor": platform.processor()},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
