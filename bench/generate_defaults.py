"""What `melodyrnn generate` prints with its defaults, against real tunes (issue 15).

    python bench/generate_defaults.py                         # the defaults, 200 outputs
    python bench/generate_defaults.py -- --length 50 --form 0 # the defaults before 2026-12-04

Runs `melodyrnn generate --rng-seed S [OPTIONS]` for S = 0 .. OUTPUTS-1 with the bundled model
(each output starts from one of the real openings the model keeps, drawn by the seed) and
compares the outputs with as many of the model's held-out Essen tunes, drawn at random
(--draws times), by the unpaired two-sample test of `evaluate --samples`: as written, and
with a closing rest taken off (the real tunes are read without theirs). Prints the mean AUC
of the draws and a few ending statistics; writes bench/results/generate_defaults.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from melodyrnn.cli.main import main as cli
from melodyrnn.evaluation.melodyfeatures import FEATURES, feature_matrix
from melodyrnn.evaluation.twosample import two_sample_test
from melodyrnn.models.checkpoint import BUNDLED_PATH, load
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import parse_text
from melodyrnn.music.sources import IngestOptions
from melodyrnn.music.sources import load as ingest

RESULTS = Path(__file__).resolve().parent / "results" / "generate_defaults.json"
SHOWN = ("length (bars)", "ends on the tonic", "last note on the downbeat", "ends on a bar line",
         "repeated bars")


def outputs(count: int, options: list[str]) -> list[Melody]:
    """What `generate --rng-seed S OPTIONS` prints for S = 0 .. count-1."""
    runner, melodies = CliRunner(), []
    for seed in range(count):
        result = runner.invoke(cli, ["generate", "--model", str(BUNDLED_PATH),
                                     "--rng-seed", str(seed), *options])
        if result.exit_code != 0:
            raise SystemExit(result.output)
        melodies.extend(parse_text(result.stdout))
    return melodies


def without_closing_rest(melody: Melody) -> Melody:
    return melody.with_notes(melody.notes[:-1]) if melody.notes[-1].is_rest else melody


def compare(samples: list[Melody], real: list[Melody], draws: int) -> dict[str, object]:
    aucs = [two_sample_test(samples, random.Random(d).sample(real, len(samples)), seed=d).auc
            for d in range(draws)]
    names = list(FEATURES)
    mine, theirs = feature_matrix(samples), feature_matrix(real)
    return {"auc": float(np.mean(aucs)), "aucs": aucs,
            "means": {k: [float(mine[:, names.index(k)].mean()),
                          float(theirs[:, names.index(k)].mean())] for k in SHOWN}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=200)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("options", nargs="*", help="generate's options, after --")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checkpoint = load(BUNDLED_PATH)
    melodies = ingest(["corpus:essen"], IngestOptions(), progress=False).melodies
    real = [melodies[i] for i in checkpoint.metadata["valid_indices"]]
    written = outputs(args.outputs, args.options)
    results = {"as written": compare(written, real, args.draws),
               "closing rest taken off": compare([without_closing_rest(m) for m in written],
                                                 real, args.draws)}
    print(f"generate {' '.join(args.options) or '(defaults)'}: {len(written)} outputs vs "
          f"{len(written)} of {len(real)} held-out tunes, {args.draws} draws")
    for name, result in results.items():
        means = ", ".join(f"{k} {a:.2f} (real {b:.2f})" for k, (a, b) in result["means"].items())
        print(f"  {name:24} AUC {result['auc']:.3f}; {means}")
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"options": args.options, "outputs": len(written),
                               "results": results, "machine": platform.machine()}, indent=1))


if __name__ == "__main__":
    main()
