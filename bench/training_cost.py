"""Training cost of the structure-aware recipe vs the old one, side by side in one run (issue 14).

    python bench/training_cost.py --epochs 60           # Essen erk (1,781 tunes), ~20 min
    python bench/training_cost.py --source corpus:essen --recipes 1,2   # all of Essen (~1 h)

Every recipe trains the same network (LSTM 192, embedding 48, one layer, AdamW + cosine,
dropout 0.2, end token) on the same melodies with the same 5% held out (split by melody), for
up to ``--epochs`` epochs, keeping the weights of its best held-out epoch. Reported per recipe:
seconds per epoch, seconds to the best held-out epoch, and the held-out bits per note there
(pitch and duration together, scored on the held-out melodies as written). The old recipe
reads 12 transposed copies of every melody (``--transpose all``) with a joint softmax; the new
ones read each melody once relative to its key (``--frame key``).

A second table times one training step (forward, backward, AdamW) on a batch of 64 x 128 notes
with a joint and a factored head of the sizes the data gives, and the head's share of it.
Writes bench/results/training_cost_SOURCE.json.
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

import torch

from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "training_cost.json"
COMMON = ["--hidden", "192", "--layers", "1", "--embedding-dim", "48", "--dropout", "0.2",
          "--lr", "0.003", "--optimizer", "adamw", "--weight-decay", "0.01", "--schedule",
          "cosine", "--batch-size", "64", "--bptt", "128", "--stop-accuracy", "2",
          "--valid-fraction", "0.05", "--valid-patience", "4", "--end-token", "--rng-seed", "0"]
RECIPES = {
    "old: absolute, 12 transposed copies, joint head": ["--transpose", "all"],
    "key frame, joint head": ["--frame", "key"],
    "key frame, factored head (pitch, then duration)": ["--frame", "key",
                                                        "--head", "pitch-duration"],
    "key frame + structure inputs + copy (folk preset)": [
        "--frame", "key", "--copy", "--inputs", "token,position,bar,lookback,degree,interval"],
}


def train_once(source: str, epochs: int, extra: list[str], folder: Path) -> dict:
    """Run ``melodyrnn train`` and read its report off stderr."""
    out = folder / "model.pt"
    command = [sys.executable, "-m", "melodyrnn", "--threads", "1", "train", source,
               *COMMON, "--epochs", str(epochs), *extra, "-o", str(out)]
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    log = run.stderr.replace("\r", "\n")
    epochs_run, seconds = re.search(r"(\d+) epochs in ([\d.]+) s", log).groups()
    best = re.search(r"kept the weights of epoch (\d+)", log)
    bits = re.search(r"validation: .*?([\d.]+) bits/note", log).group(1)
    notes = re.search(r"training \w+ on (\d+) melodies, (\d+) notes", log)
    vocab = re.search(r"(\d+) distinct tokens", log).group(1)
    epochs_run, seconds = int(epochs_run), float(seconds)
    best_epoch = int(best.group(1)) if best else epochs_run
    return {"melodies": int(notes.group(1)), "notes_per_epoch": int(notes.group(2)),
            "tokens": int(vocab), "epochs_run": epochs_run, "best_epoch": best_epoch,
            "training_seconds": seconds, "seconds_per_epoch": seconds / epochs_run,
            "seconds_to_best": seconds * best_epoch / epochs_run,
            "held_out_bits_per_note": float(bits), "wall_seconds": wall}


def step_seconds(config: ModelConfig, factors=None, repeats: int = 10) -> tuple[float, float]:
    """Seconds per training step of the whole model, and of its head alone."""
    torch.manual_seed(0)
    model = SequenceModel(config, factors)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.001)
    x = torch.randint(0, config.vocab_size, (64, 128))
    y = torch.randint(0, config.vocab_size, (64, 128))
    hidden = torch.randn(64, 128, config.hidden, requires_grad=True)

    def whole() -> None:
        loss, _ = model(x, targets=y)
        optimizer.zero_grad()
        loss.nll.mean().backward()
        optimizer.step()

    def head() -> None:
        model.head.loss(hidden, y).nll.mean().backward()

    timings = []
    for step in (whole, head):
        step()
        started = time.perf_counter()
        for _ in range(repeats):
            step()
        timings.append((time.perf_counter() - started) / repeats)
    return timings[0], timings[1]


def head_table(tokens: int, pitches: int = 40, durations: int = 16) -> dict:
    """Joint vs factored step cost at ``tokens`` output tokens."""
    pitch_of = [i % pitches for i in range(tokens)]
    duration_of = [(i // pitches) % durations for i in range(tokens)]
    base = dict(arch="lstm", vocab_size=tokens, output_size=tokens, hidden=192,
                embedding_dim=48)
    joint = step_seconds(ModelConfig(**base))
    factored = step_seconds(ModelConfig(**base, head="pitch-duration", pitch_classes=pitches,
                                        duration_classes=durations),
                            (pitch_of, duration_of))
    return {"tokens": tokens, "joint_step": joint[0], "joint_head": joint[1],
            "factored_step": factored[0], "factored_head": factored[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="corpus:essen/erk")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--old-epochs", type=int, default=12,
                        help="epochs for the 12-copy recipe (each sees every melody 12 times)")
    parser.add_argument("--recipes", default="0,1,2,3",
                        help="which recipes to run, by number (0 = the old one, always kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        chosen = {0, *map(int, args.recipes.split(","))}
        for number, (label, extra) in enumerate(RECIPES.items()):
            if number not in chosen:
                continue
            epochs = args.old_epochs if "--transpose" in extra else args.epochs
            rows[label] = train_once(args.source, epochs, extra, Path(folder))
            r = rows[label]
            print(f"{label:52} {r['seconds_per_epoch']:7.1f} s/epoch  best epoch "
                  f"{r['best_epoch']:2}/{r['epochs_run']:2}  {r['seconds_to_best']:7.1f} s to "
                  f"best  {r['held_out_bits_per_note']:.3f} bits/note", flush=True)
    old = rows[next(iter(RECIPES))]
    for label, r in rows.items():
        r["speedup_to_best"] = old["seconds_to_best"] / r["seconds_to_best"]
        print(f"{label:52} {r['speedup_to_best']:5.1f}x faster to its best "
              f"({r['held_out_bits_per_note'] - old['held_out_bits_per_note']:+.3f} bits/note)")
    heads = [head_table(tokens) for tokens in sorted({r["tokens"] for r in rows.values()})]
    for h in heads:
        print(f"{h['tokens']} tokens: joint step {h['joint_step'] * 1e3:.0f} ms (head "
              f"{h['joint_head'] / h['joint_step']:.0%}), factored step "
              f"{h['factored_step'] * 1e3:.0f} ms (head {h['factored_head'] / h['factored_step']:.0%})")
    out = RESULTS.with_name(f"training_cost_{args.source.replace(':', '_').replace('/', '_')}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "source": args.source, "recipes": rows, "heads": heads,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": 1},
        "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
