"""The music data model: notes, rests and melodies. Pure Python, no torch, no music21."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from melodyrnn.errors import MelodyError

MIDI_RANGE = range(0, 128)
DEFAULT_TEMPO = 120
DEFAULT_TIME_SIGNATURE = (4, 4)


@dataclass(frozen=True, order=True)
class Note:
    """One note or rest: MIDI pitch (None for a rest) and duration in quarter notes."""

    pitch: int | None
    duration: Fraction

    def __post_init__(self) -> None:
        if type(self.duration) is not Fraction:
            object.__setattr__(self, "duration", Fraction(self.duration))
        if self.pitch is not None and self.pitch not in MIDI_RANGE:
            raise MelodyError(f"pitch {self.pitch} is outside the MIDI range 0-127")
        if self.duration.numerator <= 0:
            raise MelodyError(f"duration {self.duration} must be positive")

    def __hash__(self) -> int:
        # Fraction's own hash is slow; notes are hashed millions of times when a corpus is
        # encoded. Equal notes have equal (pitch, numerator, denominator).
        return hash((self.pitch, self.duration.numerator, self.duration.denominator))

    @property
    def is_rest(self) -> bool:
        """True for a rest."""
        return self.pitch is None

    @classmethod
    def rest(cls, duration: Fraction | int | str) -> Note:
        """A rest of the given duration in quarter notes."""
        return cls(None, Fraction(duration))

    def transposed(self, semitones: int) -> Note:
        """The same note moved by a number of semitones (rests stay rests)."""
        if self.pitch is None:
            return self
        return Note(self.pitch + semitones, self.duration)


@dataclass(frozen=True)
class Melody:
    """A monophonic melody: notes in order plus its tempo, metre, key and pickup.

    ``pickup`` is the length in quarter notes of an incomplete first bar (an upbeat or
    anacrusis): the first bar line falls that long after the first note; 0 means the melody
    starts on a downbeat. ``key_analysed`` says the key was guessed from all the notes (the
    file had none), so it must not inform predictions of those notes.
    """

    notes: tuple[Note, ...]
    tempo: int = DEFAULT_TEMPO
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    key: str | None = None
    title: str | None = field(default=None, compare=False)
    pickup: Fraction = Fraction(0)
    key_analysed: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))
        pickup = Fraction(self.pickup)
        if pickup < 0:
            raise MelodyError(f"pickup {pickup}: expected 0 or more quarter notes")
        # A pickup of a whole bar or more is a bar of its own: keep only the incomplete part.
        object.__setattr__(self, "pickup", pickup % self.bar_length)

    def __len__(self) -> int:
        return len(self.notes)

    @property
    def total_duration(self) -> Fraction:
        """Length of the melody in quarter notes."""
        return sum((n.duration for n in self.notes), Fraction(0))

    @property
    def bar_length(self) -> Fraction:
        """Length of one bar in quarter notes, from the time signature."""
        beats, unit = self.time_signature
        return Fraction(4 * beats, unit)

    def onsets(self) -> list[Fraction]:
        """Start time of each note in quarter notes from the beginning."""
        times, now = [], Fraction(0)
        for note in self.notes:
            times.append(now)
            now += note.duration
        return times

    def position_in_bar(self, time: Fraction) -> Fraction:
        """Where a time (quarter notes from the first note) falls in its bar: 0 = downbeat."""
        return (time - self.pickup) % self.bar_length

    def positions(self) -> list[Fraction]:
        """Each note's position in its bar (0 = on the bar line), pickup taken into account."""
        return [self.position_in_bar(onset) for onset in self.onsets()]

    def with_notes(self, notes: tuple[Note, ...] | list[Note]) -> Melody:
        """A melody with the same tempo, metre and key but other notes."""
        return replace(self, notes=tuple(notes))

    def transposed(self, semitones: int) -> Melody:
        """The melody moved by a number of semitones."""
        return self.with_notes([n.transposed(semitones) for n in self.notes])
