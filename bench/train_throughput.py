"""Training throughput: the sequence trainer vs the classic window-by-window stateful training.

Same model (LSTM 128, embedding), same melodies (Essen kinder), one epoch each:
  sequence — whole melodies in padded batches of 32, truncated BPTT chunks of 64;
  classic  — one window of 4 per step, batch 1, state carried across a melody's windows.
Tokens/s counts scored targets per second of training. Prints one table and writes
bench/results/train_throughput.json.

    python bench/train_throughput.py [--source corpus:essen/kinder]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.music.sources import IngestOptions, load
from melodyrnn.training.config import TrainConfig
from melodyrnn.training.episodes import count_targets
from melodyrnn.training.loop import BATCHINGS, OBJECTIVES, run_episodes
from melodyrnn.training.optim import Adam

ROOT = Path(__file__).resolve().parent.parent


def tokens_per_second(streams, vocab: int, config: TrainConfig) -> dict:
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=vocab, output_size=vocab))
    episodes = BATCHINGS[config.batching](streams, config, torch.Generator().manual_seed(0))
    optimizer = Adam(model.parameters(), lr=config.lr)
    started = time.perf_counter()
    run_episodes(model, episodes, OBJECTIVES["class"], optimizer, config.clip)
    seconds = time.perf_counter() - started
    targets = count_targets(episodes)
    return {"batching": config.batching, "targets": targets, "seconds": seconds,
            "tokens_per_second": targets / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="corpus:essen/kinder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    melodies = load([args.source], IngestOptions(), progress=False).melodies
    codec = NoteCodec.fit(melodies)
    streams = [codec.encode(m) for m in melodies]
    base = TrainConfig()
    rows = [tokens_per_second(streams, codec.vocab_size, base),
            tokens_per_second(streams, codec.vocab_size, replace(base, batching="windows"))]
    ratio = rows[0]["tokens_per_second"] / rows[1]["tokens_per_second"]
    print(f"{'trainer':10} {'targets':>8} {'seconds':>8} {'tokens/s':>9}")
    for r in rows:
        print(f"{r['batching']:10} {r['targets']:8} {r['seconds']:8.2f} "
              f"{r['tokens_per_second']:9.0f}")
    print(f"sequence trainer vs classic windows: {ratio:.0f}x tokens/s ({args.source}, "
          f"{len(melodies)} melodies, 1 thread)")
    out = ROOT / "bench" / "results" / "train_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": f"{platform.machine()}, 1 torch thread",
                               "source": args.source, "rows": rows, "ratio": ratio}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
