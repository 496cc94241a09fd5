"""Training-step cost of the peephole and coupled-gate LSTM cells vs torch's nn.LSTM.

Same sizes, same batch: forward + backward + Adam step over a (batch 32, 64 steps) chunk.
Prints one table and writes bench/results/cells.json.

    python bench/cells.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.training.optim import Adam

ROOT = Path(__file__).resolve().parent.parent
VOCAB, BATCH, STEPS, REPEATS = 100, 32, 64, 20


def seconds_per_step(arch: str) -> float:
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(arch=arch, vocab_size=VOCAB, output_size=VOCAB,
                                      hidden=128, layers=2))
    optimizer = Adam(model.parameters())
    x = torch.randint(0, VOCAB, (BATCH, STEPS))
    y = torch.randint(0, VOCAB, (BATCH, STEPS))

    def step() -> None:
        out, _ = model(x)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, VOCAB), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(REPEATS):
        step()
    return (time.perf_counter() - started) / REPEATS


def main() -> None:
    torch.set_num_threads(1)
    rows = {arch: seconds_per_step(arch) for arch in ("lstm", "peephole", "cifg")}
    print(f"{'cell':10} {'ms/step':>8} {'vs nn.LSTM':>10}")
    for arch, seconds in rows.items():
        print(f"{arch:10} {seconds * 1000:8.1f} {seconds / rows['lstm']:9.1f}x")
    out = ROOT / "bench" / "results" / "cells.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": f"{platform.machine()}, 1 torch thread",
                               "batch": BATCH, "steps": STEPS, "hidden": 128, "layers": 2,
                               "seconds_per_step": rows,
                               "slowdown": {a: s / rows["lstm"] for a, s in rows.items()}},
                              indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
