"""Per-melody feature vectors for the classifier two-sample test.

Every statistic of ``samplestats.METRICS`` (tonality, intervals, metre, repetition and
endings), plus features of rhythm, contour and tonality that a listener also hears:

- form: the length in bars;
- rhythm: entropy of the note lengths, mean length in beats (log2), share of rests, the
  last note's length in beats, share of notes that start off a beat and sound across the
  next one (syncopation);
- contour: standard deviation of pitch, largest leap, share of rising intervals (of those
  that move), share of direction changes, where the highest note falls (0 = first onset,
  1 = the end), size of the last interval, the longest run of one pitch;
- tonality: share of notes on the tonic, and on the tonic triad of the melody's key.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from melodyrnn.evaluation.anatomy import (
    beat_length,
    intervals,
    key_of,
    pitched_positions,
    pitches,
    timeline,
)
from melodyrnn.evaluation.samplestats import METRICS
from melodyrnn.music.keys import MODE_STEPS, split_key, tonic_pitch_class
from melodyrnn.music.melody import Melody


def length_in_bars(melody: Melody) -> float:
    """How many bars the melody lasts (the pickup counts as part of a bar)."""
    line = timeline(melody)
    return line.end / line.bar


def duration_entropy(melody: Melody) -> float:
    """Entropy (bits) of the histogram of note and rest lengths."""
    counts = Counter(n.duration for n in melody.notes)
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def mean_log_length(melody: Melody) -> float:
    """Mean log2 of the notes' lengths in beats (0 = one beat each)."""
    beat = beat_length(melody)
    lengths = [math.log2(n.duration / beat) for n in melody.notes if not n.is_rest]
    return statistics.fmean(lengths) if lengths else 0.0


def rest_share(melody: Melody) -> float:
    """Share of the melody's events that are rests."""
    return sum(n.is_rest for n in melody.notes) / len(melody) if len(melody) else 0.0


def last_length(melody: Melody) -> float:
    """The last note's length in beats."""
    notes = [n for n in melody.notes if not n.is_rest]
    return float(notes[-1].duration / beat_length(melody)) if notes else 0.0


def syncopation(melody: Melody) -> float:
    """Share of notes that start off a beat and still sound on the next beat."""
    line, placed = pitched_positions(melody)
    held = sum(at % line.beat != 0 and at % line.beat + length > line.beat
               for at, length in placed)
    return held / len(placed) if placed else 0.0


def pitch_spread(melody: Melody) -> float:
    """Standard deviation of the pitches, in semitones."""
    notes = pitches(melody)
    return statistics.pstdev(notes) if len(notes) > 1 else 0.0


def largest_leap(melody: Melody) -> float:
    """The largest interval between consecutive notes, in semitones."""
    return float(max((abs(i) for i in intervals(melody)), default=0))


def _moves(melody: Melody) -> list[int]:
    return [i for i in intervals(melody) if i]


def rising_share(melody: Melody) -> float:
    """Share of the intervals that move which go up."""
    moves = _moves(melody)
    return sum(i > 0 for i in moves) / len(moves) if moves else 0.0


def direction_changes(melody: Melody) -> float:
    """Share of consecutive moving intervals that turn (up then down, or down then up)."""
    pairs = list(itertools.pairwise(_moves(melody)))
    return sum((a > 0) != (b > 0) for a, b in pairs) / len(pairs) if pairs else 0.0


def peak_position(melody: Melody) -> float:
    """When the highest note first sounds, as a share of the melody's length."""
    line = timeline(melody)
    pitched = [(n.pitch, -start) for start, n in zip(line.starts, line.notes) if not n.is_rest]
    return -max(pitched)[1] / line.end if pitched else 0.0


def last_interval(melody: Melody) -> float:
    """Size of the interval into the last note, in semitones."""
    steps = intervals(melody)
    return float(abs(steps[-1])) if steps else 0.0


def longest_pitch_run(melody: Melody) -> float:
    """The most consecutive notes of one pitch (rests skipped)."""
    return float(max((len(list(run)) for _, run in itertools.groupby(pitches(melody))), default=0))


def _degree_share(melody: Melody, degrees: tuple[int, ...]) -> float:
    notes, key = pitches(melody), key_of(melody)
    if not notes or key is None:
        return 0.0
    home, mode = tonic_pitch_class(key), split_key(key)[2]
    wanted = {(home + MODE_STEPS[mode][d]) % 12 for d in degrees}
    return sum(p % 12 in wanted for p in notes) / len(notes)


def tonic_share(melody: Melody) -> float:
    """Share of notes on the tonic."""
    return _degree_share(melody, (0,))


def triad_share(melody: Melody) -> float:
    """Share of notes on the tonic triad (scale degrees 1, 3 and 5 of the key's mode)."""
    return _degree_share(melody, (0, 2, 4))


FEATURES: dict[str, Callable[[Melody], float]] = {
    **METRICS,
    "length (bars)": length_in_bars,
    "note-length entropy (bits)": duration_entropy,
    "mean log2 note length (beats)": mean_log_length,
    "rests": rest_share,
    "last note length (beats)": last_length,
    "syncopation": syncopation,
    "pitch sd (semitones)": pitch_spread,
    "largest leap (semitones)": largest_leap,
    "rising intervals": rising_share,
    "direction changes": direction_changes,
    "highest note position": peak_position,
    "last interval (semitones)": last_interval,
    "longest run of one pitch": longest_pitch_run,
    "notes on the tonic": tonic_share,
    "notes on the tonic triad": triad_share,
}


def feature_matrix(melodies: Sequence[Melody]) -> np.ndarray:
    """One row per melody, one column per feature of ``FEATURES``, in order."""
    return np.array([[feature(m) for feature in FEATURES.values()] for m in melodies],
                    dtype=np.float64).reshape(len(melodies), len(FEATURES))
