"""Random tunes for statistical tests: folk-like ones (bars, motifs that return, stepwise
lines in a major key, a long tonic at the end) and uniformly random notes."""

from __future__ import annotations

import random
from fractions import Fraction as Fr

from melodyrnn.music.melody import Melody, Note

MAJOR = (0, 2, 4, 5, 7, 9, 11)
TONICS = {"C major": 60, "D major": 62, "F major": 65, "G major": 67}
HALF, QUARTER, EIGHTH = Fr(2), Fr(1), Fr(1, 2)
RHYTHMS = {  # one bar each
    (2, 4): [(QUARTER, QUARTER), (EIGHTH, EIGHTH, QUARTER), (QUARTER, EIGHTH, EIGHTH),
             (EIGHTH,) * 4],
    (3, 4): [(QUARTER,) * 3, (HALF, QUARTER), (QUARTER, EIGHTH, EIGHTH, QUARTER)],
    (6, 8): [(Fr(3, 2), Fr(3, 2)), (QUARTER, EIGHTH, QUARTER, EIGHTH), (EIGHTH,) * 3 + (Fr(3, 2),)],
}
DURATIONS = sorted({d for bars in RHYTHMS.values() for bar in bars for d in bar} | {Fr(3), Fr(3, 2)})


def _bar(rng: random.Random, metre: tuple[int, int], degree: int) -> tuple[list[tuple[int, Fr]], int]:
    """A bar of (scale degree, duration) walking mostly by step from ``degree``."""
    notes = []
    for duration in rng.choice(RHYTHMS[metre]):
        degree = max(-3, min(9, degree + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
        notes.append((degree, duration))
    return notes, degree


def _pitch(tonic: int, degree: int) -> int:
    octave, step = divmod(degree, 7)
    return tonic + 12 * octave + MAJOR[step]


def folk_tune(rng: random.Random) -> Melody:
    """Eight bars in the form A B A C A B A' and a final tonic, in a random key and metre."""
    metre = rng.choice(list(RHYTHMS))
    key = rng.choice(list(TONICS))
    degree, motifs = rng.randrange(0, 5), []
    for _ in range(3):
        bar, degree = _bar(rng, metre, degree)
        motifs.append(bar)
    a, b, c = motifs
    last, _ = _bar(rng, metre, degree)
    bar_length = Fr(4 * metre[0], metre[1])
    form = [a, b, a, c, a, b, last]
    notes = [Note(_pitch(TONICS[key], d), length) for bar in form for d, length in bar]
    notes.append(Note(TONICS[key], bar_length))
    return Melody(tuple(notes), time_signature=metre, key=key)


def folk_tunes(count: int, seed: int = 0) -> list[Melody]:
    """``count`` folk-like tunes, the same ones for the same seed."""
    rng = random.Random(seed)
    return [folk_tune(rng) for _ in range(count)]


def random_notes(count: int, rng: random.Random) -> list[Note]:
    """Notes with pitches (C3-C6) and lengths drawn uniformly."""
    return [Note(rng.randrange(48, 85), rng.choice(DURATIONS)) for _ in range(count)]


def uniform_notes(melody: Melody, rng: random.Random) -> Melody:
    """The melody's metre and key with as many uniformly random notes."""
    return melody.with_notes(random_notes(len(melody), rng))
