"""Statistics that compare generated melodies with real ones, metric by metric.

Each metric maps one melody to a number; the summary gives the mean and standard deviation
over a set of melodies, so samples and real held-out melodies can be printed side by side.
Pitch and interval metrics read the pitched notes (rests ignored); metre metrics read
positions in the bar with the pickup taken into account, and beats as ``anatomy`` defines
them (three units in compound metres, else one).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from melodyrnn.evaluation.anatomy import (
    Bar,
    bars,
    intervals,
    pitched_positions,
    pitches,
    timeline,
    tonic,
)
from melodyrnn.music.keys import key_pitch_classes
from melodyrnn.music.melody import Melody

NGRAM = 4
KEYS = [f"{name} {mode}" for name in ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A",
                                        "Bb", "B") for mode in ("major", "minor")]
_SCALES = [key_pitch_classes(key) for key in KEYS]


def pitch_class_entropy(melody: Melody) -> float:
    """Entropy (bits) of the pitch-class histogram."""
    counts = Counter(p % 12 for p in pitches(melody))
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def scale_consistency(melody: Melody) -> float:
    """Share of notes in the best-fitting major or minor scale."""
    notes = pitches(melody)
    if not notes:
        return 0.0
    return max(sum(p % 12 in scale for p in notes) for scale in _SCALES) / len(notes)


def pitch_range(melody: Melody) -> float:
    """Highest minus lowest pitch, in semitones."""
    notes = pitches(melody)
    return float(max(notes) - min(notes)) if notes else 0.0


def mean_abs_interval(melody: Melody) -> float:
    """Mean absolute interval between consecutive notes, in semitones."""
    steps = intervals(melody)
    return statistics.fmean(abs(i) for i in steps) if steps else 0.0


def _share(melody: Melody, test: Callable[[int], bool]) -> float:
    steps = intervals(melody)
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
    steps = intervals(melody)
    grams = [tuple(steps[i : i + n]) for i in range(len(steps) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(counts[g] > 1 for g in grams) / len(grams)


def held_across_bar_share(melody: Melody) -> float:
    """Share of notes that start in one bar and still sound after the next bar line."""
    line, placed = pitched_positions(melody)
    return sum(at + length > line.bar for at, length in placed) / len(placed) if placed else 0.0


def _onset_share(melody: Melody, test: Callable[[int, int], bool]) -> float:
    line, placed = pitched_positions(melody)
    return sum(test(at, line.beat) for at, _ in placed) / len(placed) if placed else 0.0


def on_beat_share(melody: Melody) -> float:
    """Share of notes that start on a beat (compound metres: every three units)."""
    return _onset_share(melody, lambda at, beat: at % beat == 0)


def downbeat_share(melody: Melody) -> float:
    """Share of notes that start on a bar line."""
    return _onset_share(melody, lambda at, beat: at == 0)


def _repeated_share(melody: Melody, content: Callable[[Bar], object]) -> float:
    seen, repeats, bar_list = set(), 0, bars(melody)
    for bar in bar_list:
        key = content(bar)
        repeats += key in seen
        seen.add(key)
    return repeats / (len(bar_list) - 1) if len(bar_list) > 1 else 0.0


def repeated_bar_share(melody: Melody) -> float:
    """Share of bars, from the second on, whose notes (pitch and rhythm) repeat an earlier bar."""
    return _repeated_share(melody, lambda bar: bar)


def repeated_rhythm_share(melody: Melody) -> float:
    """Share of bars, from the second on, whose rhythm (onsets, lengths, rests) repeats an
    earlier bar's, whatever the pitches."""
    return _repeated_share(melody, lambda bar: tuple((at, length, pitch is None)
                                                     for at, length, pitch in bar))


def ends_on_tonic(melody: Melody) -> float:
    """1 if the last note's pitch class is the tonic of the melody's key, else 0."""
    notes, home = pitches(melody), tonic(melody)
    return float(bool(notes) and notes[-1] % 12 == home)


def last_note_on_downbeat(melody: Melody) -> float:
    """1 if the last note starts on a bar line (the usual place of a final tonic), else 0."""
    _, placed = pitched_positions(melody)
    return float(bool(placed) and placed[-1][0] == 0)


def ends_on_bar_line(melody: Melody) -> float:
    """1 if the melody (pickup taken into account) ends exactly on a bar line, else 0."""
    line = timeline(melody)
    return float(line.position(line.end) == 0)


METRICS: dict[str, Callable[[Melody], float]] = {
    "pitch-class entropy (bits)": pitch_class_entropy,
    "scale consistency": scale_consistency,
    "pitch range (semitones)": pitch_range,
    "mean |interval| (semitones)": mean_abs_interval,
    "steps": step_share,
    "repeats": repeat_share,
    "leaps": leap_share,
    f"repeated {NGRAM}-gram rate": repeated_ngram_rate,
    "notes across bar lines": held_across_bar_share,
    "onsets on a beat": on_beat_share,
    "onsets on the downbeat": downbeat_share,
    "repeated bars": repeated_bar_share,
    "repeated bar rhythms": repeated_rhythm_share,
    "ends on the tonic": ends_on_tonic,
    "last note on the downbeat": last_note_on_downbeat,
    "ends on a bar line": ends_on_bar_line,
}


def summarise(melodies: Sequence[Melody]) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of every metric over melodies that have notes."""
    usable = [m for m in melodies if len(pitches(m)) >= 2]
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
