"""Make a trained checkpoint the bundled default model: drop its training state and copy it
into the package (src/melodyrnn/bundled/folk.pt).

    melodyrnn train corpus:essen --preset folk ... -o folk.pt
    python scripts/bundle_model.py folk.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

from melodyrnn.models import checkpoint

TARGET = Path(__file__).resolve().parent.parent / "src" / "melodyrnn" / "bundled" / "folk.pt"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model = checkpoint.load(sys.argv[1])
    model.training_state = {}  # optimiser moments and RNG states are only for resuming
    TARGET.parent.mkdir(exist_ok=True)
    checkpoint.save(model, TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
