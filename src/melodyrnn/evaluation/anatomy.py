"""What a melody's notes say about it, for the statistics and the two-sample features: its
pitches and intervals, its beats and bars (pickup taken into account) and its tonic.

Beats: in a compound metre (6/8, 9/8, 12/8, 6/4, ...: a numerator of 6 or more divisible
by 3) a beat is three units (a dotted quarter in 6/8); in any other metre it is one unit
(a quarter in 2/4, 3/4 and 4/4, a half in 2/2, an eighth in 3/8 and 5/8).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from melodyrnn.music.keys import analyse_key, tonic_pitch_class
from melodyrnn.music.melody import Melody, Note

Bar = tuple[tuple[Fraction, Note], ...]  # (position in the bar, note) of each note starting in it


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


def pitched_positions(melody: Melody) -> list[tuple[Fraction, Note]]:
    """(position in its bar, note) for every pitched note, pickup taken into account."""
    return [(at, n) for at, n in zip(melody.positions(), melody.notes) if n.pitch is not None]


def bars(melody: Melody) -> list[Bar]:
    """The notes and rests starting in each bar from the first bar line on (the pickup bar is
    left out), with their positions; bars in which nothing starts are left out too."""
    grouped: dict[int, list[tuple[Fraction, Note]]] = {}
    for onset, note in zip(melody.onsets(), melody.notes):
        if onset >= melody.pickup:
            bar = (onset - melody.pickup) // melody.bar_length
            grouped.setdefault(int(bar), []).append((melody.position_in_bar(onset), note))
    return [tuple(grouped[bar]) for bar in sorted(grouped)]


def key_of(melody: Melody) -> str | None:
    """The melody's key, or the key analysed from its notes if it has none (None: no notes)."""
    return melody.key or analyse_key(melody.notes)


def tonic(melody: Melody) -> int | None:
    """The pitch class of the tonic of ``key_of(melody)``; None without pitched notes."""
    key = key_of(melody)
    return tonic_pitch_class(key) if key else None
