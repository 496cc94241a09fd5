"""Pitch-only bits/note on Essen kinder, 10-fold by melody, next to IDyOM's published figures.

    python bench/idyom.py                  # PPM variants, one LSTM, PPM+LSTM (~2 min, 2 cores)
    python bench/idyom.py --no-neural      # PPM only (seconds)
    python bench/idyom.py --epochs 40 --arch gru
    python bench/idyom.py --init essen-no-kinder.pt    # pre-trained rows (see bench/README)

Prints one table and writes bench/results/idyom.json. Same folds (seed 0) for every row.
IDyOM (Pearce 2005; the issue's reference figures): LTM+STM 2.106, LTM 2.43, order-2 2.61.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny models: one thread is fastest

from melodyrnn.evaluation.config import PPM_BIAS, VIEWPOINTS
from melodyrnn.evaluation.crossval import CrossValConfig, CrossValResult
from melodyrnn.models.config import LTM_BIAS
from melodyrnn.music.sources import IngestOptions, load
from melodyrnn.pipeline import cross_validate

RESULTS = Path(__file__).resolve().parent / "results" / "idyom.json"
RESULTS_PRETRAINED = RESULTS.with_name("idyom_pretrained.json")
SOURCE = "corpus:essen/kinder"
EXPECTED = {"melodies": 213, "notes": 8393, "pitches": 27, "range": [52, 79]}

# (label, settings, IDyOM's published figure or None)
PPM_ROWS = [
    ("PPM order 2 (C, blending)", {"ppm_order": 2, "stm": False}, 2.61),
    ("PPM* LTM (C, blending, no update exclusion)", {"stm": False}, 2.43),
    ("PPM* LTM with update exclusion", {"stm": False, "update_exclusion": True}, None),
    ("PPM* LTM+STM (b=7, LTM from training folds only)", {}, 2.106),
    ("PPM* LTM+ + STM (b=7, LTM also learns test melodies, IDyOM :both+)",
     {"ltm_plus": True}, 2.106),
    ("PPM* LTM+STM, viewpoints cpitch+cpintfref+cpint, b=2 (the default; chosen on dva)",
     {"viewpoints": VIEWPOINTS, "bias": PPM_BIAS}, None),
]
CLASSIC = {"viewpoints": "cpitch", "bias": LTM_BIAS}  # IDyOM's pitch-only setting


def row(label: str, result: CrossValResult, published: float | None) -> dict:
    """One table row as plain data."""
    return {"label": label, "published": published, **result.to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SOURCE)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-neural", action="store_true", help="skip the network row")
    parser.add_argument("--arch", default="lstm", help="network for the neural row")
    parser.add_argument("--epochs", type=int, default=CrossValConfig.epochs)
    parser.add_argument("--init", default=None,
                        help="a checkpoint pre-trained without the source (e.g. Essen minus "
                             "kinder): network rows start every fold from it instead")
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    args = parser.parse_args()
    output = RESULTS_PRETRAINED if args.init else RESULTS

    loaded = load([args.source], IngestOptions(), progress=False)
    melodies = loaded.melodies
    pitches = sorted({n.pitch for m in melodies for n in m.notes if n.pitch is not None})
    data = {"melodies": len(melodies),
            "notes": sum(1 for m in melodies for n in m.notes if n.pitch is not None),
            "rests_dropped": sum(1 for m in melodies for n in m.notes if n.pitch is None),
            "pitches": len(pitches), "range": [pitches[0], pitches[-1]]}
    base = CrossValConfig(folds=args.folds, seed=args.seed)
    rows = []
    for label, settings, published in PPM_ROWS:
        rows.append(row(label, cross_validate(melodies, replace(base, **{**CLASSIC, **settings})),
                        published))
    if args.init:
        for model, epochs in ((args.arch, 0), (args.arch, args.fine_tune_epochs),
                              (f"ppm+{args.arch}", args.fine_tune_epochs)):
            config = replace(base, model=model, epochs=epochs, lr=0.001, init=args.init)
            label = (f"{model}, pre-trained, " + (f"fine-tuned {epochs} epochs/fold at lr 0.001"
                                                  if epochs else "as it is"))
            rows.append(row(label, cross_validate(melodies, config),
                            2.106 if model.startswith("ppm+") else None))
    elif not args.no_neural:
        config = replace(base, model=args.arch, epochs=args.epochs)
        label = (f"{args.arch} ({config.epochs} epochs/fold, hidden {config.hidden}, "
                 f"lr {config.lr}, {config.frame} frame, copy {config.copy}; note 1: order-0 PPM)")
        rows.append(row(label, cross_validate(melodies, config), None))
        previous = replace(config, frame="absolute", copy=False)
        rows.append(row(f"{args.arch}, the previous default (absolute keys, no copy memory)",
                        cross_validate(melodies, previous), None))
        mixture = replace(config, model=f"ppm+{args.arch}")
        label = (f"ppm+{args.arch} (LTM+STM of 3 viewpoints + {args.arch}, mix bias "
                 f"{mixture.mix_bias:g} chosen on dva)")
        rows.append(row(label, cross_validate(melodies, mixture), 2.106))

    print(f"{args.source}: {data['melodies']} melodies, {data['notes']} notes "
          f"({data['rests_dropped']} rests dropped), {data['pitches']} pitches "
          f"{data['range'][0]}-{data['range'][1]}; {args.folds}-fold by melody, seed {args.seed}")
    print(f"{'model':70} {'per melody':>10} {'pooled':>8} {'IDyOM':>6} {'time s':>7}")
    for r in rows:
        published = f"{r['published']:.3f}" if r["published"] else "-"
        print(f"{r['label']:70} {r['bits_per_melody']:10.3f} {r['bits_pooled']:8.3f} "
              f"{published:>6} {r['seconds']:7.1f}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "source": args.source, "data": data, "expected": EXPECTED, "folds": args.folds,
        "seed": args.seed, "init": args.init, "rows": rows,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
    }, indent=2) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
