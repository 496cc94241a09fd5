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
    """A monophonic melody: notes in order plus the tempo, metre and key used for export."""

    notes: tuple[Note, ...]
    tempo: int = DEFAULT_TEMPO
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    key: str | None = None
    title: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))

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

    def with_notes(self, notes: tuple[Note, ...] | list[Note]) -> Melody:
        """A melody with the same tempo, metre and key but other notes."""
        return replace(self, notes=tuple(notes))

    def transposed(self, semitones: int) -> Melody:
        """The melody moved by a number of semitones."""
        return self.with_notes([n.transposed(semitones) for n in self.notes])


# Keys are kept as text such as "G major" or "F# minor"; these helpers give them meaning.
LETTER_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
LETTER_FIFTHS = {"f": -1, "c": 0, "g": 1, "d": 2, "a": 3, "e": 4, "b": 5}
MODE_FIFTHS = {"lydian": 1, "major": 0, "ionian": 0, "mixolydian": -1, "dorian": -2,
               "minor": -3, "aeolian": -3, "phrygian": -4, "locrian": -5}
MODE_STEPS = {"ionian": (0, 2, 4, 5, 7, 9, 11), "dorian": (0, 2, 3, 5, 7, 9, 10),
              "phrygian": (0, 1, 3, 5, 7, 8, 10), "lydian": (0, 2, 4, 6, 7, 9, 11),
              "mixolydian": (0, 2, 4, 5, 7, 9, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
              "locrian": (0, 1, 3, 5, 6, 8, 10)}
MODE_STEPS["major"], MODE_STEPS["minor"] = MODE_STEPS["ionian"], MODE_STEPS["aeolian"]


def split_key(key: str) -> tuple[str, int, str]:
    """Split "F# minor" into (letter, alteration in semitones, mode); raise MelodyError if malformed."""
    parts = key.split()
    if len(parts) == 1:
        parts.append("major")
    if len(parts) != 2 or not parts[0] or parts[0][0].lower() not in LETTER_PITCH_CLASS:
        raise MelodyError(f"'{key}' is not a key: expected a tonic and a mode, e.g. 'G major'")
    tonic, mode = parts[0], parts[1].lower()
    if mode not in MODE_FIFTHS:
        raise MelodyError(f"'{mode}' is not a mode: expected one of {', '.join(MODE_FIFTHS)}")
    accidentals = tonic[1:]
    if accidentals and set(accidentals) - {"#"} and set(accidentals) - {"b", "-"}:
        raise MelodyError(f"'{tonic}' is not a tonic: expected a letter with # or b")
    alteration = accidentals.count("#") - accidentals.count("b") - accidentals.count("-")
    return tonic[0].lower(), alteration, mode


def key_fifths(key: str) -> int:
    """Sharps (positive) or flats (negative) in the key signature of a key such as "D minor"."""
    letter, alteration, mode = split_key(key)
    return LETTER_FIFTHS[letter] + 7 * alteration + MODE_FIFTHS[mode]


def key_pitch_classes(key: str) -> frozenset[int]:
    """Pitch classes (0 = C) of the scale of a key such as "G dorian"."""
    letter, alteration, mode = split_key(key)
    tonic = (LETTER_PITCH_CLASS[letter] + alteration) % 12
    return frozenset((tonic + step) % 12 for step in MODE_STEPS[mode])


def spell(pitch: int, key: str | None = None) -> tuple[str, int, int]:
    """Letter, alteration and octave for a MIDI pitch, spelled to suit a key.

    Of the spellings of a pitch class, the one nearest the key's centre on the line of
    fifths wins, so D minor gets C# (its leading note) and F major gets Bb.
    """
    centre = 2
    if key:
        centre = key_fifths(key) + 2 + (1 if MODE_FIFTHS[split_key(key)[2]] <= -2 else 0)
    candidates = []
    for letter, letter_pc in LETTER_PITCH_CLASS.items():
        alteration = (pitch % 12 - letter_pc + 6) % 12 - 6
        if abs(alteration) <= 2:
            position = LETTER_FIFTHS[letter] + 7 * alteration
            candidates.append((abs(position - centre), abs(alteration), -alteration, letter))
    _, _, negative_alteration, letter = min(candidates)
    alteration = -negative_alteration
    return letter, alteration, (pitch - alteration) // 12 - 1
