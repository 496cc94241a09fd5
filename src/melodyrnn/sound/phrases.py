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
from melodyrnn.music.quantize import Event, events_to_notes, snap

MIN_BPM = 80.0  # tempi are read in [MIN_BPM, 2 * MIN_BPM)
CHORD_SECONDS = 0.05  # onsets closer than this are one chord, not a rhythm
REST_BEATS = 0.5  # a silence this long (in beats) before the next note is a rest
FINEST = 960  # time resolution before snapping, in parts of a quarter note


@dataclass(frozen=True)
class Played:
    """One note as played: onset and release in seconds, MIDI pitch."""

    onset: float
    release: float
    pitch: int


def beat_seconds(onsets: Sequence[float], fallback: float, grid: Sequence[int]) -> float:
    """The length of a beat (a quarter note) in seconds that the onsets keep to.

    The typical inter-onset interval is taken as a note value that puts the tempo in
    ``[MIN_BPM, 2 * MIN_BPM)``; then a straight line through the onsets, each snapped to the
    grid at that tempo, gives the beat exactly. ``fallback`` (seconds) when there are fewer
    than two distinct onsets.
    """
    times = sorted(onsets)
    gaps = [b - a for a, b in pairwise(times) if b - a >= CHORD_SECONDS]
    if not gaps:
        return fallback
    beat = median(gaps)
    while 60 / beat < MIN_BPM:
        beat /= 2
    while 60 / beat >= 2 * MIN_BPM:
        beat *= 2
    positions = [float(snap(_beats(t - times[0], beat), grid)) for t in times]
    if len(set(positions)) < 2:
        return beat
    mean_p, mean_t = sum(positions) / len(positions), sum(times) / len(times)
    slope = (sum((p - mean_p) * (t - mean_t) for p, t in zip(positions, times))
             / sum((p - mean_p) ** 2 for p in positions))
    return slope if slope > 0 else beat


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
