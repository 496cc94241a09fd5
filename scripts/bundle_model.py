"""Make trained checkpoints the bundled default model: average their networks if there are
several (an ensemble), drop the training state, store the weights in 16 bits and copy the
result into the package (src/melodyrnn/bundled/folk.pt).

    melodyrnn train corpus:essen --preset folk ... --rng-seed 0 -o folk.pt
    melodyrnn train corpus:essen --preset folk ... --rng-seed 1 -o folk-1.pt
    python scripts/bundle_model.py folk.pt folk-1.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

from melodyrnn.errors import MelodyError
from melodyrnn.models import checkpoint

TARGET = Path(__file__).resolve().parent.parent / "src" / "melodyrnn" / "bundled" / "folk.pt"


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        models = [checkpoint.load(path) for path in sys.argv[1:]]
        model = models[0] if len(models) == 1 else checkpoint.combine(models)
    except MelodyError as err:
        sys.exit(f"error: {err}")
    model.training_state = {}  # optimiser moments and RNG states are only for resuming
    TARGET.parent.mkdir(exist_ok=True)
    checkpoint.save(model, TARGET, half=True)
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
