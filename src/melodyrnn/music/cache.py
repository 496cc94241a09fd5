"""The ingest cache: parsed melodies as plain JSON, keyed by file content and reading options.

An entry holds a table of distinct notes and, per melody, indexes into it, so a warm run
over all of Essen only reads JSON. Never pickle: a cache entry is data, not code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.readers import READER_VERSION, Piece, Rejection

CACHE_FORMAT = "melodyrnn-ingest"
SOURCE_MARK = "\0source\0"  # stands for the file's path inside cached rejection reasons


def default_cache_dir() -> Path:
    """Where parsed melodies are kept between runs."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("melodyrnn")) / "ingest"


def cache_key(content: bytes, quantize: str, part: str | None, keep_rests: bool) -> str:
    """The cache entry name of a file's content read with these options."""
    settings = json.dumps([CACHE_FORMAT, READER_VERSION, quantize, part, keep_rests])
    return hashlib.sha256(settings.encode() + b"\0" + content).hexdigest()[:40]


def encode_pieces(pieces: list[Piece], source: str) -> dict:
    """Pieces as plain JSON data: a table of distinct notes and indexes into it."""
    table: dict[Note, int] = {}
    items: list = []
    for piece in pieces:
        if isinstance(piece, Rejection):
            where = piece.source[len(source):] if piece.source.startswith(source) else piece.source
            # The same content may later sit at another path: keep the path out of the entry.
            items.append({"source": where, "reason": piece.reason.replace(source, SOURCE_MARK)})
            continue
        indexes = [table.setdefault(n, len(table)) for n in piece.notes]
        items.append([piece.title, piece.tempo, list(piece.time_signature), piece.key, indexes,
                      [piece.pickup.numerator, piece.pickup.denominator], piece.key_analysed])
    notes = [[n.pitch, n.duration.numerator, n.duration.denominator] for n in table]
    return {"format": CACHE_FORMAT, "version": READER_VERSION, "notes": notes, "pieces": items}


def decode_pieces(data: dict, source: str) -> list[Piece]:
    """Pieces back from ``encode_pieces`` data."""
    if data.get("format") != CACHE_FORMAT or data.get("version") != READER_VERSION:
        raise ValueError("not a current cache entry")
    table = [Note(p, Fraction(num, den)) for p, num, den in data["notes"]]
    pieces: list[Piece] = []
    for item in data["pieces"]:
        if isinstance(item, dict):
            where = item["source"]
            pieces.append(Rejection(source + where if where.startswith("#") or not where
                                    else where, item["reason"].replace(SOURCE_MARK, source)))
        else:
            title, tempo, metre, key, indexes, (numerator, denominator), analysed = item
            pieces.append(Melody(tuple(map(table.__getitem__, indexes)), tempo, tuple(metre),
                                 key, title, Fraction(numerator, denominator),
                                 key_analysed=bool(analysed)))
    return pieces


def read_cache(path: Path, source: str) -> list[Piece] | None:
    """The pieces cached at ``path`` for ``source``, or None if missing or damaged."""
    try:
        with open(path, "rb") as file:
            return decode_pieces(json.loads(file.read()), source)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # missing or damaged: parse again


def write_cache(path: Path, pieces: list[Piece], source: str) -> None:
    """Cache pieces at ``path``; a failure only warns (the cache is an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:
            file.write(json.dumps(encode_pieces(pieces, source), separators=(",", ":"))
                       .encode())
    except (OSError, MelodyError) as err:
        print(f"warning: cannot write cache {path}: {err}", file=sys.stderr)


