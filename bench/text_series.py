"""Text and series through the shared pipeline, each against a simple baseline in the same run.

Text: bits per character of a character LSTM on held-out text vs interpolated n-gram models
(Witten-Bell, orders 1-6) fitted on the same training text. The text is the book of Genesis,
King James Version (public domain), from Debian's ``bible-kjv-text`` package, read through
its ``bible`` program (package ``bible-kjv``): ``apt-get install bible-kjv``. The first 90%
of the characters train, the last 10% are scored.

Series: daily GOOG prices 2004-08-19 .. 2008 (1,047 rows of open, high, low, volume,
close) from matplotlib's bundled sample data (``mpl-data/sample_data/goog.npz``). Rows in
time order: the first 70% train, the next 15% stop training early, the last 15% are
scored one step ahead (each prediction sees the 7 real rows before it) against the naive
last-value and 7-day moving-average baselines.

Prints one table and writes bench/results/text_series.json.

    python bench/text_series.py [--epochs 20] [--series-seeds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from melodyrnn.codecs.series import NumericCodec, SeriesTable, window_items
from melodyrnn.codecs.text import CharCodec, known_only, split_text, text_rows
from melodyrnn.evaluation.forecast import one_step
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.feeds import StreamFeed
from melodyrnn.pipeline import fit

ROOT = Path(__file__).resolve().parent.parent
TEXT_SPEC = "gen1:1-gen50:26"
NGRAM_ORDERS = (1, 2, 3, 4, 5, 6)
SERIES_COLUMNS = ("open", "high", "low", "volume", "close")
WINDOW = 7


# --- text --------------------------------------------------------------------------------------

def genesis() -> str:
    """Genesis (KJV) as plain text, one verse per line, from Debian's bible program."""
    if shutil.which("bible") is None:
        raise SystemExit("needs Debian's bible-kjv package: apt-get install bible-kjv")
    raw = subprocess.run(["bible", "-l0", TEXT_SPEC], capture_output=True, text=True,
                         check=True).stdout
    verses = []
    for line in raw.splitlines():
        parts = line.strip().split(" ", 1)
        if len(parts) == 2 and parts[0].isdigit():  # "  12 And God said ..." -> the verse
            verses.append(parts[1].strip())
    return "\n".join(verses) + "\n"


class WittenBell:
    """An interpolated character n-gram model with Witten-Bell smoothing."""

    def __init__(self, text: str, order: int, alphabet: list[str]) -> None:
        self.order, self.alphabet = order, alphabet
        self.counts: list[dict[str, Counter]] = [defaultdict(Counter) for _ in range(order)]
        for n in range(order):  # n = context length
            table = self.counts[n]
            for i in range(n, len(text)):
                table[text[i - n : i]][text[i]] += 1

    def probability(self, context: str, char: str) -> float:
        p = 1.0 / len(self.alphabet)
        for n in range(self.order):
            if n > len(context):
                break
            seen = self.counts[n].get(context[len(context) - n :] if n else "")
            if not seen:
                continue
            total, types = sum(seen.values()), len(seen)
            p = (seen[char] + types * p) / (total + types)
        return p

    def bits_per_char(self, text: str, start: int) -> float:
        bits = sum(-math.log2(self.probability(text[max(0, i - self.order + 1) : i], text[i]))
                   for i in range(start, len(text)))
        return bits / (len(text) - start)


def lstm_bits_per_char(text: str, cut: int, epochs: int, hidden: int) -> dict:
    """Train a char LSTM on ``text[:cut]`` with the shared pipeline; score ``text[cut:]``."""
    train_text, test_text = text[:cut], text[cut:]
    codec = CharCodec.fit([train_text])
    test_text, dropped = known_only(test_text, codec.tokens)
    config = ModelConfig(arch="lstm", hidden=hidden, embedding_dim=32)
    from melodyrnn.training.config import TrainConfig

    train_config = TrainConfig(epochs=epochs, lr=0.003, batch_size=32, bptt=100,
                               stop_accuracy=1.1, schedule="cosine", rng_seed=0)
    started = time.perf_counter()
    report = fit(text_rows(train_text, 32, 256), codec, config, train_config, progress=False,
                 log=lambda message: None)
    seconds = time.perf_counter() - started
    model = report.checkpoint.model
    # Score the held-out text as one stream, starting with the state after the training
    # text's last 1,000 characters; every held-out character is predicted once.
    context = codec.encode(train_text[-1000:])
    ids = torch.tensor([context + codec.encode(test_text)])
    with torch.no_grad():
        logits = StreamFeed().all_logits(model, ids[:, :-1])[0, len(context) - 1 :]
        nats = torch.nn.functional.cross_entropy(logits, ids[0, len(context):], reduction="sum")
    return {"bits_per_char": float(nats) / math.log(2) / len(test_text), "seconds": seconds,
            "epochs": report.result.epochs_run, "train_loss": report.result.history[-1].loss,
            "dropped_unseen_chars": dropped, "hidden": hidden}


# --- series ------------------------------------------------------------------------------------

def goog() -> SeriesTable:
    """Daily GOOG prices from matplotlib's sample data."""
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("goog.npz") as data:
        prices = data["price_data"]
    values = np.stack([prices[name].astype(float) for name in SERIES_COLUMNS], axis=1)
    return SeriesTable(SERIES_COLUMNS, values, "matplotlib goog.npz")


def series_run(table: SeriesTable, seed: int, arch: str) -> dict:
    """Train on the first 70% (early stop on the next 15%), score the last 15% one step ahead."""
    from melodyrnn.training.config import TrainConfig

    n = len(table)
    train_end, valid_end = int(n * 0.70), int(n * 0.85)
    train = table.rows(0, train_end)
    codec = NumericCodec.fit(train, "close")
    valid_items = window_items(table.values[train_end - WINDOW : valid_end], WINDOW)
    report = fit(window_items(train.values, WINDOW), codec,
                 ModelConfig(arch=arch, hidden=64, input=codec.input),
                 TrainConfig(epochs=300, lr=0.003, window=WINDOW, valid_patience=20,
                             rng_seed=seed),
                 progress=False, log=lambda message: None, valid_items=valid_items)
    result = one_step(report.checkpoint.model, codec, table.values, WINDOW, valid_end)
    return {"seed": seed, "arch": arch, "epochs": report.result.epochs_run, **result.to_dict(),
            "scored_rows": [valid_end + 1, n]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="text LSTM epochs")
    parser.add_argument("--hidden", type=int, default=256, help="text LSTM units")
    parser.add_argument("--series-seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    text = genesis()
    train_text, test_text = split_text(text, 0.1)
    cut = len(train_text)
    alphabet = sorted(set(text))
    ngram = {}
    for order in NGRAM_ORDERS:
        model = WittenBell(train_text, order, alphabet)
        ngram[order] = model.bits_per_char(text, cut)
    lstm = lstm_bits_per_char(text, cut, args.epochs, args.hidden)
    best_order = min(ngram, key=ngram.get)

    table = goog()
    runs = [series_run(table, seed, arch) for arch in ("lstm", "gru")
            for seed in range(args.series_seeds)]

    print(f"text: Genesis (KJV), {len(train_text):,} training / {len(test_text):,} held-out "
          f"characters, {len(alphabet)} distinct")
    print(f"{'model':34} {'bits/char':>9}")
    for order, bits in ngram.items():
        print(f"{f'n-gram order {order} (Witten-Bell)':34} {bits:9.3f}")
    label = f"LSTM {args.hidden}, {lstm['epochs']} epochs ({lstm['seconds']:.0f} s)"
    print(f"{label:34} {lstm['bits_per_char']:9.3f}")
    print(f"\nseries: GOOG daily close, rows {runs[0]['scored_rows'][0]}-"
          f"{runs[0]['scored_rows'][1]} one step ahead (window {WINDOW})")
    print(f"{'model':22} {'RMSE':>8} {'MAE':>8} {'naive RMSE':>10} {'MA RMSE':>8} {'beats':>6}")
    for run in runs:
        print(f"{run['arch']} seed {run['seed']} ({run['epochs']} ep){'':6} {run['rmse']:8.3f} "
              f"{run['mae']:8.3f} {run['naive_rmse']:10.3f} {run['moving_average_rmse']:8.3f} "
              f"{'yes' if run['beats_naive'] else 'no':>6}")

    out = ROOT / "bench" / "results" / "text_series.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread",
        "text": {"source": f"Genesis, KJV, Debian bible-kjv-text ({TEXT_SPEC})",
                 "train_chars": len(train_text), "test_chars": len(test_text),
                 "alphabet": len(alphabet), "ngram_bits_per_char": ngram,
                 "best_ngram_order": best_order, "lstm": lstm},
        "series": {"source": "matplotlib sample_data/goog.npz (GOOG daily, 2004-2008)",
                   "columns": list(SERIES_COLUMNS), "target": "close", "window": WINDOW,
                   "runs": runs}}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
