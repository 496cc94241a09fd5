"""Training throughput with 1 vs 2 data-parallel processes (torchrun + gloo) on this machine.

Trains the same model on the same corpus for a few epochs, once as one process and once
as two torchrun processes with the same global batch, and reports notes/s and peak memory
per process. Prints one table and writes bench/results/scaling.json.

    python bench/scaling.py [--source corpus:essen/kinder] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAXRSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def timed_train(processes: int, source: str, epochs: int, out: Path) -> dict:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc-per-node", str(processes)] if processes > 1 else [sys.executable])
    command = [*launcher, "-m", "melodyrnn", "train", source, "--epochs", str(epochs),
               "--stop-accuracy", "2", "--no-progress", "--device", "cpu", "--batch-size", "32",
               "-o", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], env=env, capture_output=True,
                          text=True, check=True)
    seconds = time.perf_counter() - started
    notes = int(re.search(r"melodies, (\d+) notes", done.stderr)[1])
    trained = float(re.search(r"epochs in ([\d.]+) s", done.stderr)[1])
    peak_kb = int(MAXRSS.search(done.stderr)[1])  # the largest single process
    return {"processes": processes, "wall_seconds": seconds, "train_seconds": trained,
            "notes_per_second": notes * epochs / trained, "peak_rss_mb_per_process": peak_kb / 1024,
            "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="corpus:essen/kinder")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [timed_train(n, args.source, args.epochs, Path(folder) / f"{n}.pt") for n in (1, 2)]
    speedup = rows[1]["notes_per_second"] / rows[0]["notes_per_second"]
    print(f"{'processes':>9} {'train s':>8} {'notes/s':>9} {'peak RSS MB/process':>20}")
    for r in rows:
        print(f"{r['processes']:>9} {r['train_seconds']:8.1f} {r['notes_per_second']:9.0f} "
              f"{r['peak_rss_mb_per_process']:20.0f}")
    print(f"2 processes vs 1: {speedup:.2f}x notes/s ({args.source}, {args.epochs} epochs, "
          f"{os.cpu_count()} cores)")
    out = ROOT / "bench" / "results" / "scaling.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                               "source": args.source, "epochs": args.epochs, "rows": rows,
                               "speedup": speedup}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
