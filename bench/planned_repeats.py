"""Experiment (issue 15, not an option): sampling with a form plan borrowed from a real tune.

    python bench/planned_repeats.py --weight 2 --seeds 0 1 2 3
    python bench/planned_repeats.py --weight 2 --rhythm 1 --seeds 0 1

For each held-out opening of `bench/heldout_samples.py`, a training tune of the same metre
is drawn at random (never a held-out one) and its form read off: for each bar, the nearest
earlier bar it repeats exactly (and, for `--rhythm`, the nearest earlier bar with the same
rhythm). While sampling, at each note of a bar the plan says repeats bar j, the note that
bar j has at the same place gets `--weight` nats more log-probability, for as long as the
bar has followed bar j so far; with `--rhythm`, every token of the duration bar j's rhythm
has there gets `--rhythm` nats. Everything else is `generate`'s default sampling. It works
by standing in for the `--echo` adjustment of `generation.decoding` for the run, which is
why it is an experiment here and not an option (figures in bench/README.md).
"""

from __future__ import annotations

import argparse
import functools
import random
import time
from fractions import Fraction
from typing import Any

import heldout_samples as hs
import torch

from melodyrnn.evaluation.anatomy import bars
from melodyrnn.generation import decoding
from melodyrnn.generation.sampling import MUSICAL, Sampling
from melodyrnn.models.checkpoint import load
from melodyrnn.music.melody import Melody
from melodyrnn.music.sources import IngestOptions
from melodyrnn.music.sources import load as ingest
from melodyrnn.pipeline import sample_opening


def form_of(melody: Melody) -> list[tuple[int | None, int | None]]:
    """For each bar: the nearest earlier bar it repeats exactly, and the nearest earlier bar
    with its rhythm (None where there is none)."""
    grouped = bars(melody)
    form = []
    for k, bar in enumerate(grouped):
        rhythm = [(at, length) for at, length, _ in bar]
        exact = [j for j in range(k) if grouped[j] == bar]
        same_rhythm = [j for j in range(k) if [(a, b) for a, b, _ in grouped[j]] == rhythm]
        form.append((max(exact) if exact else None, max(same_rhythm) if same_rhythm else None))
    return form


class PlannedRepeats:
    """Stands in for ``decoding.Echo``: raises the notes ``plan`` asks for (its form, durations
    per token, pickup, bar length, rhythm weight and a 0/1 row per duration)."""

    def __init__(self, weight: float, plan: dict[str, Any]) -> None:
        self.weight, self.plan = weight, plan

    def adjust(self, logits: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        plan = self.plan
        form, durations = plan["form"], plan["durations"]
        adjusted = logits.log_softmax(-1)
        for row, tokens in enumerate(history.tolist()):
            at, cells = Fraction(0), {}
            for token in tokens:
                if at >= plan["pickup"]:
                    bar, offset = divmod(at - plan["pickup"], plan["bar"])
                    cells.setdefault(int(bar), []).append((offset, token))
                if durations[token] is None:
                    break
                at += durations[token]
            if at < plan["pickup"]:
                continue
            bar, offset = divmod(at - plan["pickup"], plan["bar"])
            if int(bar) >= len(form):
                continue
            exact, rhythm = form[int(bar)]
            now = cells.get(int(bar), [])
            if exact is not None:
                source = cells.get(exact, [])
                if len(source) > len(now) and source[:len(now)] == now \
                        and source[len(now)][0] == offset:
                    adjusted[row, source[len(now)][1]] += self.weight
                    continue
            if rhythm is not None and plan["rhythm"]:
                shape = [(o, durations[t]) for o, t in cells.get(rhythm, [])]
                have = [(o, durations[t]) for o, t in now]
                if len(shape) > len(have) and shape[:len(have)] == have \
                        and shape[len(have)][0] == offset:
                    adjusted[row] += plan["rhythm"] * plan["by_duration"][shape[len(have)][1]]
        return adjusted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight", type=float, default=2.0)
    parser.add_argument("--rhythm", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=MUSICAL.top_p)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    torch.set_num_threads(1)
    checkpoint = load(str(hs.BUNDLED))
    loaded = ingest(["corpus:essen"], IngestOptions(), progress=False)
    held = set(checkpoint.metadata["valid_indices"])
    training = [m for i, m in enumerate(loaded.melodies) if i not in held]
    by_metre: dict[tuple[int, int], list[Melody]] = {}
    for melody in training:
        by_metre.setdefault(tuple(melody.time_signature), []).append(melody)
    width = checkpoint.model_config.window
    held_out = [loaded.melodies[i] for i in sorted(held)]
    real = [m for m in held_out if len(m) > width and checkpoint.codec.covers(m)]
    length = max(1, max(len(m) for m in held_out) - width)
    sampling = Sampling(temperature=MUSICAL.temperature, top_p=args.top_p)
    for seed in args.seeds:
        rng, started, samples = random.Random(seed), time.perf_counter(), []
        for i, melody in enumerate(real):
            opening = melody.with_notes(melody.notes[:width])
            notes = checkpoint.codec.notes_for(opening)
            durations = [None if n is None else n.duration for n in notes]
            plan = {
                "form": form_of(rng.choice(by_metre.get(tuple(melody.time_signature), training))),
                "durations": durations, "pickup": Fraction(melody.pickup),
                "bar": melody.bar_length, "rhythm": args.rhythm,
                "by_duration": {d: torch.tensor([float(x == d) for x in durations])
                                for d in set(durations) if d is not None}}
            # generate() builds its Echo(weight): this run's stands in for it
            decoding.Echo = functools.partial(PlannedRepeats, plan=plan)  # type: ignore[misc]
            samples.append(sample_opening(checkpoint, opening, length, sampling,
                                          seed * 10000 + i, 0.0, args.weight))
        result = hs.compare(samples, real)
        repeats = hs.repeat_distances(samples)
        print(f"weight {args.weight:g}, rhythm {args.rhythm:g}, top-p {args.top_p:g}, seed {seed}: "
              f"AUC {result['auc']:.3f} ({time.perf_counter() - started:.0f} s); bars repeating "
              "1/2/4/8 back " + " / ".join(f"{v:.1%}" for v in repeats.values()), flush=True)


if __name__ == "__main__":
    main()
