"""Give a model trained before checkpoints kept forms the forms of its training melodies, so
that `generate --form` can plan repeats with it (training keeps them itself now).

    python scripts/add_forms.py folk.pt              # reads the model's own sources again
    python scripts/bundle_model.py folk.pt

The sources are read with the default reading options, as `melodyrnn train SOURCES` reads
them; the model's held-out melodies (its valid_indices) are left out, as training left them.
The model file is rewritten in place (atomically, weights in 16 bits if they were), all
else in it unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from melodyrnn.errors import MelodyError
from melodyrnn.models import checkpoint
from melodyrnn.music.form import FormBook
from melodyrnn.music.sources import IngestOptions, load


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    try:
        model = checkpoint.load(path)
        sources = model.metadata.get("sources")
        if not sources:
            sys.exit(f"error: {path}: the model names no training sources")
        melodies = load(list(sources), IngestOptions(), progress=False).melodies
        held = set(model.metadata.get("valid_indices") or [])
        book = FormBook.of(m for i, m in enumerate(melodies) if i not in held)
        model.metadata["forms"] = book.to_plain()
        stored = checkpoint.read_payload(Path(path))["state_dict"].values()
        checkpoint.save(model, path, half=any(t.dtype == torch.float16 for t in stored))
    except MelodyError as err:
        sys.exit(f"error: {err}")
    count = sum(len(forms) for forms in book.plain.values())
    print(f"{path}: {count:,} distinct forms of {len(melodies) - len(held):,} training melodies "
          f"in {len(book.plain)} metres")


if __name__ == "__main__":
    main()
