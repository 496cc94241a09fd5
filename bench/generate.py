"""Generation speed: the cost of ``generate`` per token, and what batching outputs buys.

In one run, for 1 and 2 PyTorch threads:
  1. batch 1: microseconds per sampled token of ``generate`` vs a bare loop over the same
     embedding, ``nn.LSTM`` and linear head that samples the same way (target: within 1.5x);
  2. ``--num-outputs 64`` vs 1: tokens per second of one batched ``generate`` call (target >= 20x).
Also shown: ``generate`` with the CLI's steering constraints (--key, --range, --bars) on,
and with a form plan (``--form``: a bar-tracking step per token in Python) on.
Prints one table and writes bench/results/generate.json.

    python bench/generate.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.generation.decoding import generate
from melodyrnn.generation.form import FORM_WEIGHT, FormPlan
from melodyrnn.generation.sampling import Sampling
from melodyrnn.generation.steering import Steering
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import note_text

ROOT = Path(__file__).resolve().parent.parent
TOKENS, BATCH, REPEATS = 400, 64, 7
FORM = tuple(-1 if k < 2 else k - 2 for k in range(512))  # every bar repeats the one 2 back
PRIMER = [1, 2, 3, 4]
SAMPLING = Sampling(temperature=1.0)  # sampling, not argmax: what musicians use


def note_codec() -> NoteCodec:
    """A note vocabulary a little larger than Essen kinder's: E3-G5 in five durations, rests."""
    durations = ["1", "1/2", "1/4", "3/2", "3/4"]
    notes = [Note(p, d) for p in range(52, 80) for d in durations]
    return NoteCodec([note_text(n) for n in notes + [Note(None, d) for d in durations]])


def timed(runs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median seconds of each run over REPEATS rounds, after one warm-up.

    The runs take turns within each round, so a burst of load elsewhere on the machine
    slows all of them alike instead of one.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(REPEATS):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def measure(threads: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    codec = note_codec()
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size,
                                      output_size=codec.vocab_size)).eval()
    embedding, lstm, head = model.encoder, model.core.rnn, model.head

    def ours(outputs: int, constraints=None, planned: bool = False) -> Callable[[], None]:
        extra = {"constraints": constraints} if constraints is not None else {}

        def run() -> None:
            if planned:  # a fresh plan each run: it keeps where each row stands
                extra["plan"] = FormPlan(FORM_WEIGHT, [FORM] * outputs, lengths, Fraction(0),
                                         primer.bar_length)
            generate(model, PRIMER, TOKENS, SAMPLING, num_outputs=outputs,
                     generator=torch.Generator().manual_seed(0), **extra)
        return run

    @torch.no_grad()
    def bare() -> None:
        generator = torch.Generator().manual_seed(0)
        _, state = lstm(embedding(torch.tensor([PRIMER])))
        token = torch.tensor([[PRIMER[-1]]])
        for _ in range(TOKENS):
            output, state = lstm(embedding(token), state)
            token = torch.multinomial(head(output[:, -1]).softmax(-1), 1, generator=generator)

    @torch.no_grad()
    def lstm_only() -> None:
        x, state = torch.randn(1, 1, embedding.embedding_dim), None
        for _ in range(TOKENS):
            _, state = lstm(x, state)

    primer = Melody(tuple(codec.notes[i] for i in PRIMER), time_signature=(3, 4))
    lengths = [None if n is None else n.duration for n in codec.notes_for(primer)]
    # 10,000 bars: the budget never ends the run, so every variant makes TOKENS tokens
    steered = Steering(key="G", mode="major", pitch_range=(60, 79), bars=10_000
                       ).constraints(codec, primer)
    seconds = timed({"generate": ours(1), "bare": bare, "lstm": lstm_only,
                     "steered": ours(1, steered), "planned": ours(1, planned=True),
                     "batch": ours(BATCH)})
    return {
        "generate_us_per_token": seconds["generate"] / TOKENS * 1e6,
        "bare_loop_us_per_token": seconds["bare"] / TOKENS * 1e6,
        "lstm_call_only_us_per_token": seconds["lstm"] / TOKENS * 1e6,
        "steered_us_per_token": seconds["steered"] / TOKENS * 1e6,
        "planned_us_per_token": seconds["planned"] / TOKENS * 1e6,
        "tokens_per_s_1": TOKENS / seconds["generate"],
        f"tokens_per_s_{BATCH}": BATCH * TOKENS / seconds["batch"],
    }


def main() -> None:
    load_before = os.getloadavg()[0]
    rows = {threads: measure(threads) for threads in (1, 2)}
    for row in rows.values():
        row["overhead_ratio"] = row["generate_us_per_token"] / row["bare_loop_us_per_token"]
        row["batch_speedup"] = row[f"tokens_per_s_{BATCH}"] / row["tokens_per_s_1"]
    print(f"LSTM 128, embedding 32, vocabulary {note_codec().vocab_size}, {TOKENS} sampled tokens, "
          f"median of {REPEATS}")
    print(f"{'threads':>7} {'generate':>10} {'bare loop':>10} {'ratio':>6} {'steered':>9} "
          f"{'planned':>9} {'tok/s x1':>9} {f'tok/s x{BATCH}':>10} {'ratio':>6}")
    for threads, row in rows.items():
        print(f"{threads:>7} {row['generate_us_per_token']:8.0f}us "
              f"{row['bare_loop_us_per_token']:8.0f}us {row['overhead_ratio']:5.2f}x "
              f"{row['steered_us_per_token']:7.0f}us {row['planned_us_per_token']:7.0f}us "
              f"{row['tokens_per_s_1']:9,.0f} "
              f"{row[f'tokens_per_s_{BATCH}']:10,.0f} {row['batch_speedup']:5.1f}x")
    print("targets: ratio <= 1.5x at batch 1; >= 20x tokens/s with 64 outputs")
    out = ROOT / "bench" / "results" / "generate.json"
    out.parent.mkdir(exist_ok=True)
    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
               f"torch {torch.__version__}")
    # Other work on a small machine moves the timings; the load average says how much.
    out.write_text(json.dumps({"machine": machine, "load_average": [load_before,
                                                                    os.getloadavg()[0]],
                               "tokens": TOKENS, "batch": BATCH, "repeats": REPEATS,
                               "threads": rows}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
