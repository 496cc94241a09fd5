"""The note codec: every distinct (pitch, duration) pair and rest length is one token.

Tokens are named in the song text format ('g8', 'r4', "fis'4."), ordered longest duration
first, then by pitch, so the table is deterministic; it is stored inside checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import ClassVar

from melodyrnn.codecs.tokens import END, TokenCodec
from melodyrnn.errors import MelodyError, VocabularyError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import note_text, parse_tokens


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


def _parse_note(token: str) -> Note:
    melody = parse_tokens(token, source="codec")
    if len(melody.notes) != 1:
        raise MelodyError(f"codec token {token!r} is not one note")
    return melody.notes[0]


def duration_of(token: str) -> Fraction:
    """Duration in quarter notes of a note token such as 'g8.'."""
    return _parse_note(token).duration


