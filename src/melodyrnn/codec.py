"""Codecs turn a kind of data (melodies, text) into token ids and back.

A codec is a vocabulary with paired ``encode``/``decode`` and a plain-dict form that is
stored inside checkpoints. The rest of the pipeline only sees token ids, ``vocab_size``
and ``target_kind``; this module (and the CLI) is the only place that knows what the
tokens mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from melodyrnn.errors import MelodyError, VocabularyError
from melodyrnn.music import Melody, Note
from melodyrnn.notation import note_text, parse_tokens
from melodyrnn.series import NumericCodec

END = "<end>"


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
            known = " ".join(t for t in self.tokens if t != END)
            raise VocabularyError(f"{source}: {' '.join(map(repr, unknown))} never seen in "
                                  f"training; the model knows: {known}")
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


class NoteCodec(TokenCodec):
    """(pitch, duration) pairs and rests as tokens named in the text format ('g8', 'r4', "fis'4.")."""

    kind: ClassVar[str] = "notes"
    _by_note: dict[Note, int]

    def __post_init__(self) -> None:
        super().__post_init__()
        # Looking notes up directly keeps encoding fast on millions of notes (no text per note).
        self._by_note = {note: i for i, note in enumerate(self.notes) if note is not None}

    @classmethod
    def fit(cls, melodies: Iterable[Melody], end_token: bool = False) -> NoteCodec:
        """The codec of every distinct note in the melodies, longest durations first, then by pitch."""
        notes = {note for melody in melodies for note in melody.notes}
        if not notes:
            raise MelodyError("no notes to build a vocabulary from")
        ordered = sorted(notes, key=lambda n: (-n.duration, 128 if n.pitch is None else n.pitch))
        return cls([note_text(n) for n in ordered], end_token=end_token)

    @classmethod
    def classic(cls) -> NoteCodec:
        """The 14-token table of the classic 나비야 tutorial: c-b as quarters, then as eighths."""
        return cls([f"{letter}{value}" for value in (4, 8) for letter in "cdefgab"])

    def encode(self, melody: Melody, source: str = "input") -> list[int]:
        """Token ids of a melody's notes (plus the end token if the codec has one)."""
        ids = [self._by_note.get(n) for n in melody.notes]
        if None in ids:
            unknown = list(dict.fromkeys(n for n, i in zip(melody.notes, ids) if i is None))
            hints = "; ".join(f"for {note_text(n)!r} try {' '.join(self.nearest(n))}"
                              for n in unknown[:5])
            known = " ".join(t for t in self.tokens if t != END)
            raise VocabularyError(f"{source}: {' '.join(repr(note_text(n)) for n in unknown)} "
                                  f"never seen in training ({hints}); the model knows: {known}")
        return [*ids, self.end_id] if self.end_id is not None else ids

    def covers(self, melody: Melody) -> bool:
        """True if every note of the melody is one of this codec's tokens."""
        return all(n in self._by_note for n in melody.notes)

    def id_of(self, note: Note) -> int | None:
        """The token id of a note, or None if the codec lacks it."""
        return self._by_note.get(note)

    @property
    def notes(self) -> list[Note | None]:
        """The note of each token id (None for the end token)."""
        return [None if t == END else _parse_note(t) for t in self.tokens]

    def nearest(self, note: Note, limit: int = 3) -> list[str]:
        """Known tokens closest to an unknown note: same pitch other duration, or transposed."""
        def distance(known: Note) -> tuple[float, ...]:
            same_pitch = known.pitch == note.pitch
            if known.pitch is None or note.pitch is None:
                interval = 0 if same_pitch else 99
            else:
                interval = abs(known.pitch - note.pitch)
            octave_shift = interval % 12 == 0
            ratio = abs(float(known.duration / note.duration) - 1)
            return (not same_pitch, not (octave_shift and known.duration == note.duration),
                    interval, ratio)

        return [note_text(n) for n in sorted(self._by_note, key=distance)[:limit]]

    def decode(self, ids: Iterable[int], like: Melody | None = None) -> Melody:
        """The melody of token ids, with tempo, metre and key taken from ``like``."""
        notes = [_parse_note(token) for token in self.strings(ids)]
        return like.with_notes(notes) if like is not None else Melody(tuple(notes))


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


def _parse_note(token: str) -> Note:
    melody = parse_tokens(token, source="codec")
    if len(melody.notes) != 1:
        raise MelodyError(f"codec token {token!r} is not one note")
    return melody.notes[0]


CODECS: dict[str, type[TokenCodec] | type[NumericCodec]] = {
    "notes": NoteCodec, "text": CharCodec, "series": NumericCodec,
}


def codec_from_dict(data: dict[str, Any]) -> TokenCodec | NumericCodec:
    """Rebuild a codec from its plain-dict form."""
    codec_class = CODECS.get(data.get("kind", ""))
    if codec_class is None:
        raise MelodyError(f"unknown codec kind {data.get('kind')!r}")
    if hasattr(codec_class, "from_dict"):  # codecs with more than a token list
        return codec_class.from_dict(data)
    return codec_class(list(data["tokens"]), end_token=bool(data.get("end_token", False)))


def duration_of(token: str) -> Fraction:
    """Duration in quarter notes of a note token such as 'g8.'."""
    return _parse_note(token).duration


def describe(codec: TokenCodec, limit: int = 40) -> str:
    """A short human-readable summary of a codec's vocabulary."""
    shown: Sequence[str] = codec.tokens[:limit]
    more = f" ... (+{codec.vocab_size - limit})" if codec.vocab_size > limit else ""
    return f"{codec.vocab_size} tokens: {' '.join(map(repr, shown))}{more}"
