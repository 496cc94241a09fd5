"""Plain text for character-level models: the character codec, files, and training rows.

Characters are tokens (``CharCodec``); the rest of this module deals with files and layout.
Unknown-character policy: the vocabulary is every character of the training text; a seed
or evaluation text with a character never seen in training is an error naming it, and
held-out text used for early stopping drops such characters (the count is reported).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from melodyrnn.codecs.tokens import TokenCodec
from melodyrnn.errors import MelodyError, ParseError
from melodyrnn.files import read_bytes


class CharCodec(TokenCodec):
    """Characters as tokens (any Unicode, Korean included); unseen characters are an error."""

    kind: ClassVar[str] = "text"

    @classmethod
    def fit(cls, texts: Iterable[str], end_token: bool = False) -> CharCodec:
        """The codec of every distinct character, most frequent first, ties in code-point order."""
        counts = Counter(ch for text in texts for ch in text)
        if not counts:
            raise MelodyError("no characters to build a vocabulary from")
        return cls(sorted(counts, key=lambda ch: (-counts[ch], ch)), end_token=end_token)

    def encode(self, text: str, source: str = "input") -> list[int]:
        """Token ids of a text's characters."""
        ids = self.ids(text, source)
        return [*ids, self.end_id] if self.end_id is not None else ids

    def decode(self, ids: Iterable[int], like: Any = None) -> str:
        """The text of token ids."""
        return "".join(self.strings(ids))



def read_text(path: str | Path) -> str:
    """The text of a UTF-8 file; a ParseError gives the line and column of a bad byte."""
    path = Path(path)
    data = read_bytes(path, what="text file")  # a regular file within the size limit
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = data[: err.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise ParseError(f"not UTF-8 text: byte 0x{data[err.start]:02x} at offset {err.start}",
                         str(path), line, column) from None
    if not text:
        raise MelodyError(f"{path}: the file is empty")
    return text


def read_texts(paths: Iterable[str | Path]) -> str:
    """The texts of several files, joined in order."""
    return "".join(read_text(path) for path in paths)


def text_rows(text: str, rows: int, min_length: int) -> list[str]:
    """The text cut into up to ``rows`` contiguous pieces of at least ``min_length`` characters.

    Each piece is one row of a batch with its own carried state (as in char-rnn), so a long
    text trains ``rows`` streams in parallel; a short text stays whole.
    """
    count = max(1, min(rows, len(text) // max(min_length, 1)))
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def split_text(text: str, valid_fraction: float) -> tuple[str, str]:
    """The start of the text for training and its last ``valid_fraction`` held out."""
    held = round(len(text) * valid_fraction)
    return text[: len(text) - held], text[len(text) - held :]


def known_only(text: str, known: Iterable[str]) -> tuple[str, int]:
    """The text without characters outside ``known``, and how many were dropped."""
    alphabet = set(known)
    kept = "".join(ch for ch in text if ch in alphabet)
    return kept, len(text) - len(kept)
