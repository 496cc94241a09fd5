"""Statistics that compare generated melodies with real ones, metric by metric.

Each metric maps one melody (its pitched notes, rests ignored) to a number; the summary
gives the mean and standard deviation over a set of melodies, so samples and real
held-out melodies can be printed side by side.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from melodyrnn.music.keys import key_pitch_classes
from melodyrnn.music.melody import Melody

NGRAM = 4
KEYS = [f"{tonic} {mode}" for tonic in ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A",
                                        "Bb", "B") for mode in ("major", "minor")]
_SCALES = [key_pitch_classes(key) for key in KEYS]


def _pitches(melody: Melody) -> list[int]:
    return [n.pitch for n in melody.notes if n.pitch is not None]


def _intervals(melody: Melody) -> list[int]:
    pitches = _pitches(melody)
    return [b - a for a, b in itertools.pairwise(pitches)]


def pitch_class_entropy(melody: Melody) -> float:
    """Entropy (bits) of the pitch-class histogram."""
    counts = Counter(p % 12 for p in _pitches(melody))
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def scale_consistency(melody: Melody) -> float:
    """Share of notes in the best-fitting major or minor scale."""
    pitches = _pitches(melody)
    if not pitches:
        return 0.0
    return max(sum(p % 12 in scale for p in pitches) for scale in _SCALES) / len(pitches)


def pitch_range(melody: Melody) -> float:
    """Highest minus lowest pitch, in semitones."""
    pitches = _pitches(melody)
    return float(max(pitches) - min(pitches)) if pitches else 0.0


def mean_abs_interval(melody: Melody) -> float:
    """Mean absolute interval between consecutive notes, in semitones."""
    steps = _intervals(melody)
    return statistics.fmean(abs(i) for i in steps) if steps else 0.0


def _share(melody: Melody, test: Callable[[int], bool]) -> float:
    steps = _intervals(melody)
    return sum(test(abs(i)) for i in steps) / len(steps) if steps else 0.0


def step_share(melody: Melody) -> float:
    """Share of intervals that are steps (1-2 semitones)."""
    return _share(melody, lambda i: 1 <= i <= 2)


def repeat_share(melody: Melody) -> float:
    """Share of intervals that repeat the pitch."""
    return _share(melody, lambda i: i == 0)


def leap_share(melody: Melody) -> float:
    """Share of intervals that leap (3 semitones or more)."""
    return _share(melody, lambda i: i >= 3)


def repeated_ngram_rate(melody: Melody, n: int = NGRAM) -> float:
    """Share of interval n-grams that occur more than once in the melody (motivic repetition)."""
    steps = _intervals(melody)
    grams = [tuple(steps[i : i + n]) for i in range(len(steps) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(counts[g] > 1 for g in grams) / len(grams)


METRICS: dict[str, Callable[[Melody], float]] = {
    "pitch-class entropy (bits)": pitch_class_entropy,
    "scale consistency": scale_consistency,
    "pitch range (semitones)": pitch_range,
    "mean |interval| (semitones)": mean_abs_interval,
    "steps": step_share,
    "repeats": repeat_share,
    "leaps": leap_share,
    f"repeated {NGRAM}-gram rate": repeated_ngram_rate,
}


def summarise(melodies: Sequence[Melody]) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of every metric over melodies that have notes."""
    usable = [m for m in melodies if len(_pitches(m)) >= 2]
    summary = {}
    for name, metric in METRICS.items():
        values = [metric(m) for m in usable] or [0.0]
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        summary[name] = (statistics.fmean(values), spread)
    return summary


def compare(samples: Sequence[Melody], real: Sequence[Melody]) -> list[dict[str, object]]:
    """One row per metric: samples' and real melodies' mean ± sd, and whether the sample
    mean lies within one standard deviation of the real mean."""
    generated, reference = summarise(samples), summarise(real)
    rows = []
    for name in METRICS:
        (s_mean, s_sd), (r_mean, r_sd) = generated[name], reference[name]
        rows.append({"metric": name, "samples_mean": s_mean, "samples_sd": s_sd,
                     "real_mean": r_mean, "real_sd": r_sd,
                     "within_one_sd": abs(s_mean - r_mean) <= r_sd})
    return rows
