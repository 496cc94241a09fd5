"""Samples vs real tunes with less noise than `evaluate --samples 200`: every held-out opening
once (issue 15).

    python bench/heldout_samples.py                              # the bundled model, seeds 0 and 1
    python bench/heldout_samples.py --top-p 1 --epsilon 0.002 --echo 1 --seeds 0 1 2 3
    python bench/heldout_samples.py --model other.pt --top-p 1 --seeds 0
    python bench/heldout_samples.py --form 0 --seeds 0 1 2 3     # without a form plan
    python bench/heldout_samples.py --top-p 1 --epsilon 0.002 --memory 0.05 --out /tmp/e.json

Each of the model's held-out Essen melodies (`--split valid`) that the model can read lends
its first notes to one sample (seed SEED * 10000 + i for opening i, made as `generate` makes
it: stopped at the end token, under the repetition guard, with its form plan); samples and
the real melodies they open are compared by the two-sample test of `evaluate --samples`
(paired folds), its AUC averaged over three classifier seeds. Also printed: the features
that tell the two apart best on their own (univariate AUC), and how often a bar exactly
repeats the bar 1, 2, 4 or 8 bars earlier (nearest earlier copy).
Choices are made with this script on seeds other than the report seed of README (1000).
Writes bench/results/heldout_samples.json. Each seed takes 2-3 minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from melodyrnn.evaluation.anatomy import bars
from melodyrnn.evaluation.melodyfeatures import FEATURES, feature_matrix
from melodyrnn.evaluation.twosample import two_sample_test
from melodyrnn.generation.form import FORM_WEIGHT
from melodyrnn.generation.sampling import MUSICAL, Sampling
from melodyrnn.models.checkpoint import load
from melodyrnn.music.melody import Melody
from melodyrnn.music.sources import IngestOptions
from melodyrnn.music.sources import load as ingest
from melodyrnn.pipeline import sample_opening

RESULTS = Path(__file__).resolve().parent / "results" / "heldout_samples.json"
BUNDLED = Path(__file__).resolve().parents[1] / "src" / "melodyrnn" / "bundled" / "folk.pt"
DISTANCES = (1, 2, 4, 8)


def repeat_distances(melodies: Sequence[Melody]) -> dict[int, float]:
    """Share of bars whose nearest exact earlier copy lies 1, 2, 4 or 8 bars back."""
    found, total = Counter(), 0
    for melody in melodies:
        grouped = bars(melody)
        total += len(grouped)
        for k, bar in enumerate(grouped):
            back = [k - j for j in range(k) if grouped[j] == bar]
            if back:
                found[min(back)] += 1
    return {d: found[d] / max(1, total) for d in DISTANCES}


def compare(samples: Sequence[Melody], real: Sequence[Melody]) -> dict[str, object]:
    """Paired two-sample AUC (mean of three classifier seeds) and the univariate AUCs."""
    aucs = [two_sample_test(samples, real, seed=seed, pairs=range(len(samples))).auc
            for seed in range(3)]
    first, second = feature_matrix(samples), feature_matrix(real)
    labels = np.array([1] * len(first) + [0] * len(second))
    features = np.vstack([first, second])
    single = {name: float(roc_auc_score(labels, features[:, j]))
              for j, name in enumerate(FEATURES)}
    return {"auc": float(np.mean(aucs)), "aucs": aucs, "univariate": single,
            "sample_means": dict(zip(FEATURES, first.mean(0).tolist())),
            "real_means": dict(zip(FEATURES, second.mean(0).tolist()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--temperature", type=float, default=MUSICAL.temperature)
    parser.add_argument("--top-p", type=float, default=MUSICAL.top_p)
    parser.add_argument("--epsilon", type=float, default=MUSICAL.epsilon)
    parser.add_argument("--memory", type=float, default=0.0)
    parser.add_argument("--echo", type=float, default=0.0)
    parser.add_argument("--form", type=float, default=FORM_WEIGHT)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    checkpoint = load(args.model)
    loaded = ingest(["corpus:essen"], IngestOptions(), progress=False)
    held_out = [loaded.melodies[i] for i in checkpoint.metadata["valid_indices"]]
    width = checkpoint.model_config.window
    real = [m for m in held_out if len(m) > width and checkpoint.codec.covers(m)]
    length = max(1, max(len(m) for m in held_out) - width)
    sampling = Sampling(temperature=args.temperature, top_p=args.top_p,
                        epsilon=args.epsilon)
    runs, real_repeats = [], repeat_distances(real)
    for seed in args.seeds:
        started = time.perf_counter()
        samples = [sample_opening(checkpoint, m.with_notes(m.notes[:width]), length, sampling,
                                  seed * 10000 + i, args.memory, args.echo, args.form)
                   for i, m in enumerate(real)]
        result = compare(samples, real)
        result.update(seed=seed, seconds=time.perf_counter() - started,
                      sample_repeats=repeat_distances(samples))
        runs.append(result)
        strongest = sorted(result["univariate"].items(), key=lambda kv: -abs(kv[1] - 0.5))[:6]
        print(f"seed {seed}: {len(samples)} samples vs {len(real)} real, "
              f"AUC {result['auc']:.3f} (classifier seeds {', '.join(f'{a:.3f}' for a in result['aucs'])})")
        for name, auc in strongest:
            print(f"  {name:32} alone {auc:.3f}  samples {result['sample_means'][name]:7.3f}"
                  f"  real {result['real_means'][name]:7.3f}")
        print("  bars repeating the bar 1/2/4/8 back: samples "
              + " / ".join(f"{v:.1%}" for v in result["sample_repeats"].values())
              + ", real " + " / ".join(f"{v:.1%}" for v in real_repeats.values()))
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "model": args.model, "temperature": args.temperature, "top_p": args.top_p,
        "epsilon": args.epsilon, "memory": args.memory, "echo": args.echo, "form": args.form,
        "real": len(real), "real_repeats": real_repeats, "runs": runs,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}, indent=1))


if __name__ == "__main__":
    main()
