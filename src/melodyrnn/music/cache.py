"""The ingest cache: parsed melodies as plain JSON, keyed by file content and reading options.

An entry holds a table of distinct notes and, per melody, indexes into it, so a warm run
over all of Essen only reads JSON. Never pickle: a cache entry is data, not code.

The package also ships entries for music21's corpora read with the default options
(``bundled/ingest.json.gz``, made by ``scripts/ship_corpora.py``), so the first
``train corpus:essen`` on a new machine parses nothing. They are keyed the same way, by
content: a corpus file that changes, or a reader version that moves on, simply misses.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write, max_file_bytes, read_bytes
from melodyrnn.music.keys import split_key
from melodyrnn.music.melody import Melody, Note, length_problem
from melodyrnn.music.readers import READER_VERSION, Piece, Rejection

CACHE_FORMAT = "melodyrnn-ingest"
SHIPPED_FORMAT = "melodyrnn-shipped-ingest"
SHIPPED_MAX_BYTES = 64 * 2**20  # the shipped entries, uncompressed
CACHE_ENTRY_FACTOR = 4  # an entry may be this much larger than the largest input file
SOURCE_MARK = "\0source\0"  # stands for the file's path inside cached rejection reasons


def default_cache_dir() -> Path:
    """Where parsed melodies are kept between runs."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("melodyrnn")) / "ingest"


def cache_key(content: bytes, suffix: str, quantize: str, part: str | None,
              keep_rests: bool) -> str:
    """The cache entry name of a file's content read with these options by the reader of
    ``suffix`` (the same bytes as .txt and as .mid are two different readings)."""
    settings = json.dumps([CACHE_FORMAT, READER_VERSION, suffix, quantize, part, keep_rests])
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
    """Pieces back from ``encode_pieces`` data; ValueError or MelodyError if any is unsound.

    Every value is checked as a reader would check it (types, pitch range, durations, metre,
    tempo, key, lengths), so an edited entry can never hand on what no file could give.
    """
    if data.get("format") != CACHE_FORMAT or data.get("version") != READER_VERSION:
        raise ValueError("not a current cache entry")
    table = [Note(_whole(p, none_ok=True), Fraction(_whole(num), _whole(den)))
             for p, num, den in data["notes"]]
    pieces: list[Piece] = []
    for item in data["pieces"]:
        if isinstance(item, dict):
            where, reason = item["source"], item["reason"]
            if not isinstance(where, str) or not isinstance(reason, str):
                raise ValueError("a rejection's source and reason must be text")
            pieces.append(Rejection(source + where if where.startswith("#") or not where
                                    else where, reason.replace(SOURCE_MARK, source)))
        else:
            title, tempo, metre, key, indexes, (numerator, denominator), analysed = item
            if not (title is None or isinstance(title, str)) or not isinstance(indexes, list):
                raise ValueError("a melody's title must be text and its notes a list")
            if key is not None:
                split_key(key)
            notes = tuple(table[_whole(i)] for i in indexes)
            wrong = length_problem(len(notes), sum((n.duration for n in notes), Fraction(0)))
            if wrong:
                raise ValueError(wrong)
            pieces.append(Melody(notes, tempo, tuple(metre), key, title,
                                 Fraction(_whole(numerator), _whole(denominator)),
                                 key_analysed=bool(analysed)))
    return pieces


def _whole(value: object, none_ok: bool = False) -> int | None:
    """An int from JSON (not a bool, float or string); ValueError otherwise."""
    if value is None and none_ok:
        return None
    if type(value) is not int or value < 0:
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def read_cache(path: Path, source: str) -> list[Piece] | None:
    """The pieces cached at ``path`` for ``source``, or None if missing or damaged (then the
    file is parsed again and the entry rewritten)."""
    try:
        entry = read_bytes(path, CACHE_ENTRY_FACTOR * max_file_bytes(), "cache entry")
        return decode_pieces(json.loads(entry), source)
    except Exception:  # missing, unreadable, edited or from another version: parse again
        return None


def write_cache(path: Path, pieces: list[Piece], source: str) -> None:
    """Cache pieces at ``path``; a failure only warns (the cache is an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:
            file.write(json.dumps(encode_pieces(pieces, source), separators=(",", ":"))
                       .encode())
    except (OSError, MelodyError) as err:
        print(f"warning: cannot write cache {path}: {err}", file=sys.stderr)


def shipped_path() -> Path:
    """Where the package keeps the entries parsed at build time."""
    return Path(__file__).resolve().parent.parent / "bundled" / "ingest.json.gz"


class ShippedEntries:
    """The cache entries shipped with the package, read on first use and checked like any
    entry (``decode_pieces``); a missing or damaged file just means nothing is shipped."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path or shipped_path()
        self._entries: dict | None = None

    def pieces(self, key: str, source: str) -> list[Piece] | None:
        """The shipped pieces of the file with cache key ``key``, or None."""
        entry = self._read().get(key)
        if entry is None:
            return None
        try:
            return decode_pieces(entry, source)
        except Exception:  # another reader version, or damaged: parse the file instead
            return None

    def _read(self) -> dict:
        if self._entries is None:
            self._entries = {}
            try:
                with gzip.open(self._path, "rb") as file:
                    data = json.loads(file.read(SHIPPED_MAX_BYTES + 1)[:SHIPPED_MAX_BYTES])
                if data.get("format") == SHIPPED_FORMAT and data.get("version") == READER_VERSION:
                    self._entries = dict(data["entries"])
            except Exception:  # nothing shipped (or unreadable): every file is parsed
                pass
        return self._entries


def ship(entries: dict[str, dict], path: Path) -> None:
    """Write cache entries (name -> entry) as the package's shipped file, reproducibly."""
    data = {"format": SHIPPED_FORMAT, "version": READER_VERSION,
            "entries": dict(sorted(entries.items()))}
    with atomic_write(path) as file:
        file.write(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), 9, mtime=0))
