"""From sounding notes to a melody: a time grid, the skyline rule for polyphony, rests in gaps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import pairwise

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import Note

DEFAULT_QUANTIZE = "16+24"  # sixteenths plus sixteenth- (and so eighth-) note triplets
UNQUANTIZED_DENOMINATOR = 960  # finest time resolution kept when quantizing is off
MAX_GRID = 384  # 256th-note triplets and finer sextuplets: more than notation writes


@dataclass(frozen=True)
class Event:
    """A sounding note in quarter notes from the start of the piece."""

    onset: Fraction
    end: Fraction
    pitch: int


def parse_quantize(text: str | None) -> tuple[int, ...]:
    """Grid note values from text such as '16+24' (sixteenths plus triplets); 'none' = ()."""
    if text is None or str(text).strip().lower() in ("", "0", "none", "off"):
        return ()
    values = []
    for part in str(text).split("+"):
        if not part.strip().isdigit() or not 1 <= int(part) <= MAX_GRID:
            raise MelodyError(f"quantize '{text}': expected note values from 1 to {MAX_GRID} "
                              "joined by '+', e.g. 16, 16+24 (sixteenths and triplets) or none")
        values.append(int(part))
    return tuple(values)


def snap(time: Fraction, grid: Sequence[int]) -> Fraction:
    """The grid point nearest to a time in quarter notes (the first grid wins a tie)."""
    if not grid:
        return time.limit_denominator(UNQUANTIZED_DENOMINATOR)
    best = None
    for value in grid:
        step = Fraction(4, value)
        point = round(time / step) * step
        if best is None or abs(point - time) < abs(best - time):
            best = point
    return best


def skyline(events: Iterable[Event]) -> list[Event]:
    """One line from overlapping notes: the highest sounding note at each moment."""
    ordered = sorted(events, key=lambda e: (e.onset, -e.pitch))
    if all(a.end <= b.onset for a, b in pairwise(ordered)):
        return ordered
    times = sorted({e.onset for e in ordered} | {e.end for e in ordered})
    result: list[Event] = []
    active: list[tuple[int, Event]] = []
    previous_top = None
    start = 0
    for t0, t1 in pairwise(times):
        active = [(i, e) for i, e in active if e.end > t0]
        while start < len(ordered) and ordered[start].onset <= t0:
            active.append((start, ordered[start]))
            start += 1
        if not active:
            previous_top = None
            continue
        # unisons: the note that began first keeps sounding
        index, top = max(active, key=lambda item: (item[1].pitch, -item[0]))
        if index == previous_top:
            result[-1] = replace(result[-1], end=t1)
        else:
            result.append(Event(t0, t1, top.pitch))
        previous_top = index
    return result


def events_to_notes(events: Iterable[Event], grid: Sequence[int] = (),
                    keep_rests: bool = True) -> tuple[Note, ...]:
    """Monophonic notes from events: skyline, snapped to the grid, gaps as rests."""
    return events_to_line(events, grid, keep_rests)[1]


def events_to_line(events: Iterable[Event], grid: Sequence[int] = (),
                   keep_rests: bool = True) -> tuple[Fraction, tuple[Note, ...]]:
    """The onset of the first note (snapped) and the notes of ``events_to_notes``."""
    notes: list[Note] = []
    now = None
    first = Fraction(0)
    for event in skyline(events):
        onset, end = snap(event.onset, grid), snap(event.end, grid)
        if now is not None:
            onset = max(onset, now)
        if end <= onset:
            continue  # shorter than the grid
        if now is None:
            first = onset
        elif onset > now and keep_rests:
            notes.append(Note(None, onset - now))
        notes.append(Note(event.pitch, end - onset))
        now = end
    return first, tuple(notes)


