"""The music data model: notes, rests and melodies. Pure Python, no torch, no music21."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from melodyrnn.errors import MelodyError

MIDI_RANGE = range(0, 128)
DEFAULT_TEMPO = 120
DEFAULT_TIME_SIGNATURE = (4, 4)
MAX_TEMPO = 1000  # beats per minute
# MIDI stores a tempo as at most 16,777,215 microseconds a quarter note: 3.58 bpm
MIN_TEMPO = 4
MAX_BEATS = 64  # the most beats in a bar (a time signature's numerator)
BEAT_UNITS = (1, 2, 4, 8, 16, 32, 64)  # a time signature's denominator
# Bounds on what one file may ask for, so a tiny hostile file cannot demand hours of audio
# or gigabytes of notes: a note (or rest) of at most 256 whole notes, a melody of at most
# 100,000 notes and 40,000 quarter notes (10,000 bars of 4/4).
MAX_NOTE_QUARTERS = 1024
MAX_MELODY_NOTES = 100_000
MAX_MELODY_QUARTERS = 40_000


def metre_problem(metre: object) -> str | None:
    """What is wrong with a time signature such as (3, 4); None if it is usable."""
    expected = (f"expected {1}-{MAX_BEATS} beats over a unit of "
                f"{', '.join(map(str, BEAT_UNITS[:-1]))} or {BEAT_UNITS[-1]}")
    if (not isinstance(metre, (tuple, list)) or len(metre) != 2
            or not all(type(part) is int for part in metre)):
        return f"time signature {metre!r}: {expected}"
    beats, unit = metre
    if not 1 <= beats <= MAX_BEATS or unit not in BEAT_UNITS:
        return f"time signature {_short(beats)}/{_short(unit)}: {expected}"
    return None


def tempo_problem(tempo: object) -> str | None:
    """What is wrong with a tempo in beats per minute; None if it is usable."""
    if type(tempo) is not int or not MIN_TEMPO <= tempo <= MAX_TEMPO:
        return f"tempo {_short(tempo)}: expected a whole number of beats per minute, " \
               f"{MIN_TEMPO} to {MAX_TEMPO}"
    return None


def length_problem(count: int, quarters: Fraction) -> str | None:
    """What is wrong with a melody of ``count`` notes lasting ``quarters``; None if it fits."""
    if count > MAX_MELODY_NOTES:
        return f"{count} notes in one melody: expected at most {MAX_MELODY_NOTES}"
    if quarters > MAX_MELODY_QUARTERS:
        return (f"a melody of {float(quarters):.0f} quarter notes: expected at most "
                f"{MAX_MELODY_QUARTERS}")
    return None


def _short(value: object) -> str:
    """A number as text, cut short when it has very many digits (2^255 has 77)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 40:
        return f"2^{value.bit_length() - 1}" if value & (value - 1) == 0 else "<huge number>"
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."


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
        if self.duration.numerator > MAX_NOTE_QUARTERS * self.duration.denominator:
            raise MelodyError(f"a note of {float(self.duration):.6g} quarter notes: expected "
                              f"at most {MAX_NOTE_QUARTERS} (256 whole notes)")

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
        object.__setattr__(self, "time_signature", tuple(self.time_signature))
        wrong = (metre_problem(self.time_signature) or tempo_problem(self.tempo)
                 or (length_problem(len(self.notes), Fraction(0))
                     if len(self.notes) > MAX_MELODY_NOTES else None))
        if wrong:
            raise MelodyError(wrong)
        if self.key is not None and not isinstance(self.key, str):
            raise MelodyError(f"key {self.key!r}: expected a key such as 'G major'")
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

    def with_last_bar_closed(self) -> Melody:
        """The melody with a rest that closes its last bar: up to the next bar line or, after
        a pickup, to where the last bar and the pickup make a whole bar, whichever comes
        first (as folk transcriptions end: Essen writes `F2z` after a three-eighth pickup).
        Unchanged if it already ends there or holds no notes."""
        total, bar = self.total_duration, self.bar_length
        if not self.notes:
            return self
        ends = [start + -(-(total - start) // bar) * bar for start in (Fraction(0), self.pickup)]
        rest = min(ends) - total
        return self.with_notes([*self.notes, Note.rest(rest)]) if rest else self
