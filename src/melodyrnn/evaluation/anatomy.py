"""What a melody's notes say about it, for the statistics and the two-sample features: its
pitches and intervals, its beats and bars (pickup taken into account) and its tonic.

Beats: in a compound metre (6/8, 9/8, 12/8, 6/4, ...: a numerator of 6 or more divisible
by 3) a beat is three units (a dotted quarter in 6/8); in any other metre it is one unit
(a quarter in 2/4, 3/4 and 4/4, a half in 2/2, an eighth in 3/8 and 5/8).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from melodyrnn.music.keys import analyse_key, tonic_pitch_class
from melodyrnn.music.melody import Melody, Note

Bar = tuple[tuple[int, int, int | None], ...]  # (position, length, pitch) of notes starting in it


def pitches(melody: Melody) -> list[int]:
    """The pitches of the melody's notes, rests left out."""
    return [n.pitch for n in melody.notes if n.pitch is not None]


def intervals(melody: Melody) -> list[int]:
    """Semitones between consecutive pitched notes (rests skipped)."""
    return [b - a for a, b in itertools.pairwise(pitches(melody))]


def beat_length(melody: Melody) -> Fraction:
    """The length of one beat in quarter notes (three units in compound metres, else one)."""
    beats, unit = melody.time_signature
    compound = beats >= 6 and beats % 3 == 0
    return Fraction(4 * (3 if compound else 1), unit)


@dataclass(frozen=True)
class Timeline:
    """A melody's times in whole ticks (exact, and much faster to add up than Fractions)."""

    notes: tuple[Note, ...]
    starts: tuple[int, ...]  # each note's onset from the first note
    lengths: tuple[int, ...]
    pickup: int
    bar: int
    beat: int

    @property
    def end(self) -> int:
        """When the last note stops."""
        return self.starts[-1] + self.lengths[-1] if self.notes else 0

    def position(self, tick: int) -> int:
        """Where a time falls in its bar, in ticks: 0 = on the bar line."""
        return (tick - self.pickup) % self.bar


def timeline(melody: Melody) -> Timeline:
    """The melody's onsets, lengths, pickup, bar and beat on a grid that holds them all."""
    beat, bar = beat_length(melody), melody.bar_length
    times = [n.duration for n in melody.notes] + [melody.pickup, bar, beat]
    per_quarter = math.lcm(*{t.denominator for t in times})
    lengths = [n.duration.numerator * (per_quarter // n.duration.denominator)
               for n in melody.notes]
    starts = [0, *itertools.accumulate(lengths)][: len(lengths)]
    ticks = [int(t * per_quarter) for t in (melody.pickup, bar, beat)]
    return Timeline(melody.notes, tuple(starts), tuple(lengths), *ticks)


def pitched_positions(melody: Melody) -> tuple[Timeline, list[tuple[int, int]]]:
    """The timeline, and (position in its bar, length) in ticks of every pitched note."""
    line = timeline(melody)
    return line, [(line.position(start), length) for start, length, note
                  in zip(line.starts, line.lengths, line.notes) if note.pitch is not None]


def bars(melody: Melody) -> list[Bar]:
    """(position, length, pitch) in ticks of the notes and rests starting in each bar from the
    first bar line on (the pickup bar is left out); bars in which nothing starts are left out."""
    line, grouped = timeline(melody), {}
    for start, length, note in zip(line.starts, line.lengths, line.notes):
        if start >= line.pickup:
            bar = (start - line.pickup) // line.bar
            grouped.setdefault(bar, []).append((line.position(start), length, note.pitch))
    return [tuple(grouped[bar]) for bar in sorted(grouped)]


def key_of(melody: Melody) -> str | None:
    """The melody's key, or the key analysed from its notes if it has none (None: no notes)."""
    return melody.key or analyse_key(melody.notes)


def tonic(melody: Melody) -> int | None:
    """The pitch class of the tonic of ``key_of(melody)``; None without pitched notes."""
    key = key_of(melody)
    return tonic_pitch_class(key) if key else None
