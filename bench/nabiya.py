"""나비야 benchmark: time to an exact full song, defaults vs the classic configuration.

Measures in one run:
  (a) the defaults of `melodyrnn train` (stream batching, embedding, LSTM 128, Adam 0.01),
  (b) the classic configuration of the original tutorial: stateful LSTM 128, batch 1,
      one window of 4 per step with state carried across windows, scalar input
      (index / max index), Adam 0.001, up to 2000 epochs;
plus robustness of the defaults over 10 --rng-seed values, the defaults on other short
songs from data/songs/, and the window MLP under both protocols.
Prints one table and writes bench/results/nabiya.json.

    python bench/nabiya.py            # full run (the classic configuration takes minutes)
    python bench/nabiya.py --quick    # fewer seeds, classic capped at 200 epochs
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import replace
from pathlib import Path

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.notation import parse_file
from melodyrnn.pipeline import fit, score_items
from melodyrnn.training.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL, DEFAULT_TRAIN = ModelConfig(), TrainConfig()
CLASSIC_MODEL = ModelConfig(hidden=128, input="scalar")
CLASSIC_TRAIN = TrainConfig(epochs=2000, lr=0.001, batching="windows", stop_patience=0)


def time_to_exact(melodies, model_config: ModelConfig, train_config: TrainConfig) -> dict:
    """Train until every target is predicted (or epochs run out); check the full song."""
    codec = NoteCodec.fit(melodies)
    report = fit(melodies, codec, model_config, train_config, progress=False, log=lambda m: None)
    score = score_items(report.checkpoint, melodies)
    return {"seconds": report.seconds, "epochs": report.result.epochs_run,
            "one_step": score.one_step.to_dict(), "full_song": score.full_song.to_dict(),
            "exact": score.full_song.correct == score.full_song.total,
            "bits_per_note": score.bits_per_token}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the CLI default: fastest for models this small
    nabiya = parse_file(ROOT / "data" / "nabiya.txt")
    seeds = range(3 if args.quick else 10)
    classic_train = replace(CLASSIC_TRAIN, epochs=200) if args.quick else CLASSIC_TRAIN

    rows = {"defaults": [time_to_exact(nabiya, DEFAULT_MODEL, replace(DEFAULT_TRAIN, rng_seed=s))
                         for s in seeds]}
    rows["classic"] = time_to_exact(nabiya, CLASSIC_MODEL, classic_train)
    rows["songs"] = {path.stem: time_to_exact(parse_file(path), DEFAULT_MODEL, DEFAULT_TRAIN)
                     for path in sorted((ROOT / "data" / "songs").glob("*.txt"))}
    rows["mlp"] = time_to_exact(nabiya, replace(DEFAULT_MODEL, arch="mlp"),
                                replace(DEFAULT_TRAIN, epochs=300))

    defaults = rows["defaults"]
    exact = sum(r["exact"] for r in defaults)
    median = sorted(r["seconds"] for r in defaults)[len(defaults) // 2]
    classic = rows["classic"]
    ratio = classic["seconds"] / median
    print(f"{'configuration':34} {'seconds':>8} {'epochs':>7} {'one-step':>9} {'full-song':>9}")
    for seed, r in zip(seeds, defaults):
        print(f"{'defaults, --rng-seed ' + str(seed):34} {r['seconds']:8.2f} {r['epochs']:7} "
              f"{r['one_step']['correct']:>6}/{r['one_step']['total']} "
              f"{r['full_song']['correct']:>6}/{r['full_song']['total']}")
    print(f"{'classic (LSTM 128, batch 1, scalar)':34} {classic['seconds']:8.2f} "
          f"{classic['epochs']:7} {classic['one_step']['correct']:>6}/50 "
          f"{classic['full_song']['correct']:>6}/50")
    for name, r in rows["songs"].items():
        print(f"{'defaults on ' + name:34} {r['seconds']:8.2f} {r['epochs']:7} "
              f"{r['one_step']['correct']:>6}/{r['one_step']['total']} "
              f"{r['full_song']['correct']:>6}/{r['full_song']['total']}")
    m = rows["mlp"]
    print(f"{'window MLP 128-128 (300 epochs)':34} {m['seconds']:8.2f} {m['epochs']:7} "
          f"{m['one_step']['correct']:>6}/50 {m['full_song']['correct']:>6}/50")
    print(f"\ndefaults exact for {exact}/{len(defaults)} seeds; median {median:.2f} s")
    print(f"classic {'reached' if classic['exact'] else 'did NOT reach'} an exact song after "
          f"{classic['epochs']} epochs, {classic['seconds']:.1f} s")
    print(f"speed-up of the defaults over the classic configuration: {ratio:.0f}x")

    summary = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, "
                          f"torch {torch.__version__}", "quick": args.quick,
               "defaults_exact": exact, "defaults_runs": len(defaults),
               "defaults_median_seconds": median, "classic_seconds": classic["seconds"],
               "speedup": ratio, "rows": rows}
    out = ROOT / "bench" / "results" / "nabiya.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
