"""The note codec: every distinct (pitch, duration) pair and rest length is one token.

Tokens are named in the song text format ('g8', 'r4', "fis'4."), ordered longest duration
first, then by pitch, so the table is deterministic; it is stored inside checkpoints. The
codec also computes each note's derived inputs (``features``) and, for a factored head,
which pitch and duration each token stands for (``factors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, ClassVar

from melodyrnn.codecs.features import NoteFeatures, group_sizes
from melodyrnn.codecs.tokens import END, TokenCodec, shown_tokens
from melodyrnn.errors import MelodyError, VocabularyError
from melodyrnn.music.keys import key_fifths
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import note_text, parse_tokens
from melodyrnn.settings import setting

FRAMES = ("absolute", "key")


def key_reference(melody: Melody) -> int:
    """The pitch class a melody's degrees count from: the tonic of its key signature, or, when
    the file gave no key (one analysed from all the notes would leak them), its first note."""
    if melody.key is not None and not melody.key_analysed:
        return (7 * key_fifths(melody.key)) % 12
    first = next((n.pitch for n in melody.notes if n.pitch is not None), None)
    return 0 if first is None else first % 12


def key_shift(melody: Melody) -> int:
    """Semitones that move a melody's key signature tonic to C, the nearer way (-5 to +6)."""
    shift = -key_reference(melody) % 12
    return shift if shift <= 6 else shift - 12


@dataclass
class NoteCodec(TokenCodec):
    """(pitch, duration) pairs and rests as tokens named in the text format ('g8', 'r4', "fis'4.").

    ``frame``: ``absolute`` tokens are the notes as written; ``key`` tokens are the notes moved
    so the key signature's tonic is C (C major / A minor, as ``--transpose C`` would), which
    makes a model the same in every key: ``encode`` moves a melody in, ``decode`` moves the
    result back to the key of ``like``. ``grid``: every pitch with every duration seen in the
    data is a token, also pairs never seen together (what a factored note head can produce).
    """

    frame: str = setting("absolute", "Note tokens: absolute (as written), or key: every melody "
                         "read relative to its key signature (moved to C major / A minor), so "
                         "one model serves every key without --transpose all; generated "
                         "melodies are moved back to the seed's key.", choices=FRAMES)
    grid: bool = False
    kind: ClassVar[str] = "notes"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.frame not in FRAMES:
            raise MelodyError(f"unknown note frame '{self.frame}': expected one of "
                              f"{', '.join(FRAMES)}")
        self._notes: list[Note | None] = [None if t == END else _parse_note(t)
                                          for t in self.tokens]
        # Looking notes up directly keeps encoding fast on millions of notes (no text per note).
        self._by_note = {note: i for i, note in enumerate(self._notes) if note is not None}

    @classmethod
    def fit(cls, melodies: Iterable[Melody], end_token: bool = False, frame: str = "absolute",
            grid: bool = False) -> NoteCodec:
        """The codec of every distinct note in the melodies (in the frame), longest durations
        first, then by pitch; with ``grid``, every seen pitch with every seen duration."""
        melodies = list(melodies)
        probe = cls([], frame=frame)
        notes = {note for melody in melodies for note in probe.framed(melody).notes}
        if not notes:
            raise MelodyError("no notes to build a vocabulary from")
        if grid:
            pitches = {n.pitch for n in notes}
            notes = {Note(p, d) for p in pitches for d in {n.duration for n in notes}}
        ordered = sorted(notes, key=lambda n: (-n.duration, 128 if n.pitch is None else n.pitch))
        return cls([note_text(n) for n in ordered], end_token=end_token, frame=frame, grid=grid)

    @classmethod
    def classic(cls) -> NoteCodec:
        """The 14-token table of the classic 나비야 tutorial: c-b as quarters, then as eighths."""
        return cls([f"{letter}{value}" for value in (4, 8) for letter in "cdefgab"])

    def extended(self, items: Iterable[Melody]) -> NoteCodec:
        """This codec plus the notes of ``items`` it lacks, appended so every old id keeps its
        meaning (for fine-tuning a trained model on new data)."""
        fresh = type(self).fit(items, frame=self.frame, grid=self.grid).tokens
        new = [t for t in fresh if t not in self._index]
        return replace(self, tokens=[*self.tokens, *new]) if new else self

    # --- frames -----------------------------------------------------------------------------

    def shift_of(self, melody: Melody) -> int:
        """Semitones that move ``melody`` into the codec's frame (0 for absolute tokens)."""
        return 0 if self.frame == "absolute" else key_shift(melody)

    def framed(self, melody: Melody) -> Melody:
        """The melody as the codec sees it: moved into its frame."""
        shift = self.shift_of(melody)
        if not shift:
            return melody
        try:
            return melody.transposed(shift)
        except MelodyError:
            raise MelodyError(f"{melody.title or 'a melody'}: moved to C for the key frame, a note "
                              "falls outside the MIDI range 0-127") from None

    def notes_for(self, like: Melody) -> list[Note | None]:
        """The note each token id stands for in the key of ``like`` (None for the end token)."""
        shift = self.shift_of(like)
        return [_moved(n, -shift) for n in self._notes] if shift else list(self._notes)

    # --- tokens -----------------------------------------------------------------------------

    def encode(self, melody: Melody, source: str = "input", nearest: bool = False) -> list[int]:
        """Token ids of a melody's notes (plus the end token if the codec has one); with
        ``nearest``, a note the codec lacks becomes its nearest known token instead of an error."""
        framed = self.framed(melody)
        ids = [self._by_note.get(n) for n in framed.notes]
        if None in ids and nearest:
            ids = [i if i is not None else self._by_note[self._nearest_notes(n, 1)[0]]
                   for n, i in zip(framed.notes, ids)]
        if None in ids:  # say it in the melody's own key, as the user wrote it
            back = -self.shift_of(melody)
            unknown = list(dict.fromkeys(n for n, i in zip(framed.notes, ids) if i is None))
            hints = "; ".join(f"for {note_text(_moved(n, back))!r} try "
                              + " ".join(note_text(_moved(k, back)) for k in self._nearest_notes(n))
                              for n in unknown[:5])
            known = shown_tokens([note_text(n) for n in self.notes_for(melody) if n is not None])
            names = " ".join(repr(note_text(_moved(n, back))) for n in unknown[:5])
            more = " ..." if len(unknown) > 5 else ""
            raise VocabularyError(f"{source}: {names}{more} never seen in training ({hints}); "
                                  f"the model knows: {known}")
        return [*ids, self.end_id] if self.end_id is not None else ids

    def covers(self, melody: Melody) -> bool:
        """True if every note of the melody is one of this codec's tokens."""
        try:
            return all(n in self._by_note for n in self.framed(melody).notes)
        except MelodyError:
            return False

    def id_of(self, note: Note) -> int | None:
        """The token id of a note already in the codec's frame, or None if the codec lacks it."""
        return self._by_note.get(note)

    @property
    def notes(self) -> list[Note | None]:
        """The note of each token id in the codec's frame (None for the end token)."""
        return list(self._notes)

    def nearest(self, note: Note, limit: int = 3) -> list[str]:
        """Known tokens closest to an unknown note (both in the codec's frame): same pitch other
        duration, or transposed."""
        return [note_text(n) for n in self._nearest_notes(note, limit)]

    def _nearest_notes(self, note: Note, limit: int = 3) -> list[Note]:
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

        return sorted(self._by_note, key=distance)[:limit]

    def decode(self, ids: Iterable[int], like: Melody | None = None) -> Melody:
        """The melody of token ids, with tempo, metre, key and pickup taken from ``like`` and,
        in the key frame, moved back to ``like``'s key."""
        notes = [self._notes[self._index[token]] for token in self.strings(ids)]
        if like is None:
            return Melody(tuple(notes))
        shift = self.shift_of(like)
        return like.with_notes([n.transposed(-shift) for n in notes] if shift else notes)

    def opening(self, melody: Melody, least: int = 2, most: int = 12) -> dict[str, Any]:
        """A melody's opening as plain data for a checkpoint: the tokens of its pickup and first
        full bar (``least`` to ``most`` notes) and the settings ``opened`` needs to rebuild it."""
        ends = [onset + note.duration for onset, note in zip(melody.onsets(), melody.notes)]
        bar_line = melody.pickup + melody.bar_length
        count = min(most, len(melody), max(least, sum(1 for end in ends if end <= bar_line)))
        return {"tokens": self.encode(melody.with_notes(melody.notes[:count]))[:count],
                "time_signature": list(melody.time_signature), "key": melody.key,
                "tempo": melody.tempo,
                "pickup": [melody.pickup.numerator, melody.pickup.denominator]}

    def opened(self, opening: dict[str, Any]) -> Melody:
        """The melody of an ``opening`` record, in its own key."""
        numerator, denominator = opening.get("pickup", (0, 1))
        like = Melody((), int(opening.get("tempo", 120)),
                      tuple(opening.get("time_signature", (4, 4))), opening.get("key"),
                      pickup=Fraction(numerator, denominator))
        return self.decode(opening["tokens"], like=like)

    # --- derived inputs and the factored head ---------------------------------------------

    def feature_sizes(self, groups: Sequence[str]) -> tuple[int, ...]:
        """Embedding table sizes of the feature columns of ``groups`` (see ``features``)."""
        return tuple(size for group in groups for size in group_sizes(group, self.vocab_size))

    def tracker(self, like: Melody, groups: Sequence[str]) -> NoteFeatures:
        """A fresh ``NoteFeatures`` for a melody with ``like``'s metre, pickup and key."""
        reference = 0 if self.frame == "key" else key_reference(like)
        return NoteFeatures(self._notes, groups, like.time_signature, like.pickup, reference)

    def features(self, melody: Melody, groups: Sequence[str], nearest: bool = False
                 ) -> list[list[int]]:
        """The derived input columns of every note token of ``melody`` (not the end token)."""
        tracker = self.tracker(melody, groups)
        ids = self.encode(melody, nearest=nearest)
        return [tracker.push(token) for token in ids if token != self.end_id]

    def factors(self) -> tuple[list[int], list[int], int, int]:
        """For a factored head: each token's pitch class (0 = rest, then the pitches
        ascending) and duration class (shortest first), -1 for both for the end token, and how
        many pitch and duration classes there are."""
        pitches = sorted({n.pitch for n in self._notes if n is not None and n.pitch is not None})
        durations = sorted({n.duration for n in self._notes if n is not None})
        pitch_class = {None: 0, **{p: i + 1 for i, p in enumerate(pitches)}}
        duration_class = {d: i for i, d in enumerate(durations)}
        pitch_of = [-1 if n is None else pitch_class[n.pitch] for n in self._notes]
        duration_of = [-1 if n is None else duration_class[n.duration] for n in self._notes]
        return pitch_of, duration_of, len(pitches) + 1, len(durations)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint (the frame and grid only when not the defaults, so the
        classic checkpoints read as before)."""
        extra = {**({"frame": self.frame} if self.frame != "absolute" else {}),
                 **({"grid": True} if self.grid else {})}
        return {**super().to_dict(), **extra}


def _moved(note: Note | None, semitones: int) -> Note | None:
    """A note moved by semitones, kept inside the MIDI range (rests and None stay)."""
    if note is None or note.pitch is None or not semitones:
        return note
    return Note(max(0, min(127, note.pitch + semitones)), note.duration)


def _parse_note(token: str) -> Note:
    melody = parse_tokens(token, source="codec")
    if len(melody.notes) != 1:
        raise MelodyError(f"codec token {token!r} is not one note")
    return melody.notes[0]


def duration_of(token: str) -> Fraction:
    """Duration in quarter notes of a note token such as 'g8.'."""
    return _parse_note(token).duration


