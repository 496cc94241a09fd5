"""Parse music21's corpora once, with the default reading options, and ship the result in the
package (src/melodyrnn/bundled/ingest.json.gz), so a first `train corpus:essen` parses nothing.

    python scripts/ship_corpora.py            # every corpus melodyrnn names (minutes)
    python scripts/ship_corpora.py essen bach

Run it again whenever READER_VERSION, the default options or the music21 version change
(tests/music/test_shipped_corpora.py says so when they do).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from melodyrnn.music.cache import ship, shipped_path
from melodyrnn.music.sources import CORPORA, IngestOptions, load


def main() -> None:
    names = sys.argv[1:] or list(CORPORA)
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            result = load([f"corpus:{name}"], IngestOptions(cache_dir=folder))
            print(f"corpus:{name}: {len(result.melodies)} melodies", file=sys.stderr)
        entries = {path.stem: json.loads(path.read_text()) for path in Path(folder).glob("*.json")}
    target = shipped_path()
    ship(entries, target)
    print(f"wrote {target}: {len(entries)} files' entries ({target.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
