"""Token vocabularies: ``TokenCodec`` maps string tokens to ids (``code2idx``) and back.

The note and character codecs build on it; the end-of-sequence token lives here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from melodyrnn.errors import MelodyError, VocabularyError

END = "<end>"
KNOWN_SHOWN = 80  # tokens listed when a message says what a model knows


@dataclass
class TokenCodec:
    """A vocabulary of string tokens with a deterministic order: ``code2idx`` and ``idx2code``."""

    tokens: list[str]
    end_token: bool = False
    kind: ClassVar[str] = "tokens"
    target_kind: ClassVar[str] = "class"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end_token and END not in self.tokens:
            self.tokens = [*self.tokens, END]
        if len(set(self.tokens)) != len(self.tokens):
            raise MelodyError("a codec's tokens must be distinct")
        self._index = {token: i for i, token in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        """Number of distinct token ids."""
        return len(self.tokens)

    @property
    def code2idx(self) -> dict[str, int]:
        """Token text to index, the classic table."""
        return dict(self._index)

    @property
    def idx2code(self) -> dict[int, str]:
        """Index to token text."""
        return dict(enumerate(self.tokens))

    @property
    def end_id(self) -> int | None:
        """Index of the end-of-sequence token, if this codec has one."""
        return self._index.get(END)

    def extended(self, items: Iterable[Any]) -> TokenCodec:
        """This codec plus the tokens of ``items`` it lacks, appended so every old id keeps
        its meaning (for fine-tuning a trained model on new data)."""
        fresh = type(self).fit(items).tokens  # type: ignore[attr-defined]
        new = [t for t in fresh if t not in self._index]
        return type(self)([*self.tokens, *new], end_token=self.end_token) if new else self

    def ids(self, tokens: Iterable[str], source: str = "input") -> list[int]:
        """Token ids of token strings; raise VocabularyError naming the unknown ones."""
        tokens = list(tokens)
        unknown = sorted({t for t in tokens if t not in self._index})
        if unknown:
            raise VocabularyError(f"{source}: {' '.join(map(repr, unknown[:KNOWN_SHOWN]))} "
                                  f"never seen in training; the model knows: "
                                  f"{shown_tokens(self.tokens)}")
        return [self._index[t] for t in tokens]

    def strings(self, ids: Iterable[int]) -> list[str]:
        """Token strings of ids, stopping at the end token."""
        out = []
        for i in ids:
            token = self.tokens[int(i)]
            if token == END:
                break
            out.append(token)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return {"kind": self.kind, "tokens": list(self.tokens), "end_token": self.end_token}


def shown_tokens(tokens: Iterable[str], limit: int = KNOWN_SHOWN) -> str:
    """Tokens for a message: plain when they read plainly ('g8'), quoted and escaped when they
    are spaces, newlines or control characters; at most ``limit`` of them."""
    plain = [t for t in tokens if t != END]
    shown = [t if t.isprintable() and t.strip() == t and t else repr(t) for t in plain[:limit]]
    more = f" ... ({len(plain) - limit} more)" if len(plain) > limit else ""
    return " ".join(shown) + more


def describe(codec: TokenCodec, limit: int = 40) -> str:
    """A short human-readable summary of a codec's vocabulary."""
    shown: Sequence[str] = codec.tokens[:limit]
    more = f" ... (+{codec.vocab_size - limit})" if codec.vocab_size > limit else ""
    return f"{codec.vocab_size} tokens: {' '.join(map(repr, shown))}{more}"
