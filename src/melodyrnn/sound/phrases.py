"""What a player played, as a melody: the tempo measured from the onsets, notes on a grid, key.

Pure functions on ``Played`` notes (seconds on any clock), so the jam loop and its tests share
them. The tempo is read in one octave of tempi (``MIN_BPM`` up to twice that): a phrase of
quarter notes at 70 bpm and one of eighths at 140 sound the same, and either reading puts
the answer at the speed the player played.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from statistics import median

from melodyrnn.music.keys import analyse_key
from melodyrnn.music.melody import Melody
from melodyrnn.music.quantize import Event, events_to_notes

MIN_BPM = 80.0  # tempi are read in [MIN_BPM, 2 * MIN_BPM)
CHORD_SECONDS = 0.05  # onsets closer than this are one chord, not a rhythm
REST_BEATS = 0.5  # a silence this long (in beats) before the next note is a rest
FINEST = 960  # time resolution before snapping, in parts of a quarter note
SEARCH, SEARCH_STEP = 0.15, 0.005  # beats tried: the guess ±15% in steps of 0.5%
FIT_SLACK = 0.005  # seconds (RMS) within which two beats fit the onsets equally well


@dataclass(frozen=True)
class Played:
    """One note as played: onset and release in seconds, MIDI pitch."""

    onset: float
    release: float
    pitch: int


def beat_seconds(onsets: Sequence[float], fallback: float, grid: Sequence[int]) -> float:
    """The length of a beat (a quarter note) in seconds that the onsets keep to.

    The typical inter-onset interval is taken as a note value that puts the tempo in
    ``[MIN_BPM, 2 * MIN_BPM)``; around that guess (``SEARCH``), the beat whose grid the
    onsets fit best wins, refined by a straight line through their places on it. Places are
    on the straight grid only (the coarsest of ``grid``): triplet points beside straight ones
    would pull loose onsets astray. ``fallback`` (seconds) for fewer than two distinct onsets.
    """
    times = sorted(onsets)
    gaps = [b - a for a, b in pairwise(times) if b - a >= CHORD_SECONDS]
    if not gaps:
        return fallback
    guess = median(gaps)
    while 60 / guess < MIN_BPM:
        guess /= 2
    while 60 / guess >= 2 * MIN_BPM:
        guess *= 2
    step = 4 / min(grid) if grid else 1 / FINEST  # the straight grid, in quarter notes
    steps = round(SEARCH / SEARCH_STEP)
    fits = {i: _fit(times, guess * (1 + SEARCH_STEP * i), step) for i in range(-steps, steps + 1)}
    best = min(residual for residual, _ in fits.values())
    # Even onsets fit a faster grid as well (nine sixteenths instead of two eighths): of the
    # beats that fit about as well as the best, the one nearest the guess.
    nearest = min((i for i, (residual, _) in fits.items() if residual <= best + FIT_SLACK),
                  key=abs)
    return fits[nearest][1]


def _fit(times: Sequence[float], beat: float, step: float) -> tuple[float, float]:
    """How far the onsets lie from their places on a grid of ``step`` quarter notes at ``beat``
    seconds each (RMS seconds, after the best straight line), and that line's beat."""
    places = [round((at - times[0]) / beat / step) * step for at in times]
    if len(set(places)) < 2:
        return float("inf"), beat
    mx, my = sum(places) / len(places), sum(times) / len(times)
    slope = (sum((x - mx) * (y - my) for x, y in zip(places, times))
             / sum((x - mx) ** 2 for x in places))
    if slope <= 0:
        return float("inf"), beat
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(places, times)) / len(times)
    return residual ** 0.5, slope


def _beats(seconds: float, beat: float) -> Fraction:
    return Fraction(seconds / beat).limit_denominator(FINEST)


def legato(played: Sequence[Played], beat: float, grid: Sequence[int]) -> list[Played]:
    """Notes held until the next onset unless the player left a rest of ``REST_BEATS`` or more
    (a player's releases are loose, the onsets carry the rhythm); the last notes end on the
    nearest beat (the pause after them says nothing of their length); none shorter than the
    grid. Beats count from the first onset."""
    shortest = beat * 4 / max(grid, default=16)
    start = min(p.onset for p in played)
    onsets = sorted({p.onset for p in played})
    held = []
    for note in played:
        later = [t for t in onsets if t >= note.onset + CHORD_SECONDS]
        release = note.release
        if later and later[0] - release < REST_BEATS * beat:
            release = later[0]
        elif not later:
            release = start + round((release - start) / beat) * beat
        held.append(Played(note.onset, max(release, note.onset + shortest), note.pitch))
    return held


def phrase_melody(played: Sequence[Played], beat: float, grid: Sequence[int],
                  time_signature: tuple[int, int]) -> Melody:
    """The notes (``legato``) on the grid at ``beat`` seconds per quarter note, chords by their
    top note, with that tempo, the metre given and the key its notes suggest."""
    start = min(p.onset for p in played)
    events = [Event(_beats(p.onset - start, beat), _beats(p.release - start, beat), p.pitch)
              for p in legato(played, beat, grid)]
    notes = events_to_notes(events, grid)
    return Melody(notes, tempo=max(1, round(60 / beat)), time_signature=time_signature,
                  key=analyse_key(notes), key_analysed=True)
