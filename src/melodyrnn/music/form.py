"""A melody's form: which of its bars repeat which earlier bars.

Folk tunes are built of repeated bars and phrases (AABA, a line played twice with another
ending). ``repeated_bars`` reads that off a melody: for each bar from the first bar line on,
the nearest earlier bar holding exactly the same notes at the same places, or ``NO_REPEAT``.
A trained model keeps the forms of its training tunes (``FormBook``), so that generation can
borrow a real tune's plan of repeats (``generation.form``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import Melody, Note

NO_REPEAT = -1
MAX_FORM_BARS = 512  # bars of one kept form (longer tunes are cut: later bars are unplanned)
MAX_FORMS = 20_000  # distinct forms kept per model

Form = tuple[int, ...]


def place_in_bars(time: Fraction, pickup: Fraction, bar: Fraction) -> tuple[int, Fraction] | None:
    """(bar number from the first bar line, position in that bar) of a time in quarter notes;
    None within the pickup."""
    if time < pickup:
        return None
    number, offset = divmod(time - pickup, bar)
    return int(number), offset


def bar_contents(melody: Melody) -> dict[int, tuple[tuple[Fraction, Note], ...]]:
    """(position in bar, note) of everything starting in each bar from the first bar line on."""
    grouped: dict[int, list[tuple[Fraction, Note]]] = {}
    for onset, note in zip(melody.onsets(), melody.notes):
        place = place_in_bars(onset, melody.pickup, melody.bar_length)
        if place is not None:
            grouped.setdefault(place[0], []).append((place[1], note))
    return {bar: tuple(cells) for bar, cells in grouped.items()}


def repeated_bars(melody: Melody) -> Form:
    """For each bar after the pickup, the nearest earlier bar it repeats exactly, or NO_REPEAT
    (also for a bar in which no note starts)."""
    contents = bar_contents(melody)
    count = min(MAX_FORM_BARS, max(contents, default=-1) + 1)
    form, latest = [], {}
    for k in range(count):
        bar = contents.get(k)
        form.append(latest.get(bar, NO_REPEAT) if bar else NO_REPEAT)
        if bar:
            latest[bar] = k
    return tuple(form)


def metre_name(time_signature: Sequence[int]) -> str:
    """'3/4' for (3, 4): how forms are filed by metre."""
    return f"{time_signature[0]}/{time_signature[1]}"


class FormBook:
    """The distinct forms of a set of melodies, filed by metre, each with how often it occurs.

    It is kept as the plain form a checkpoint holds, {metre: [[count, bar, ...], ...]}, so a
    loaded model's book is used as it is, not rebuilt for every melody generated.
    """

    def __init__(self, plain: dict[str, list[list[int]]]) -> None:
        """A book of plain forms made by ``of`` or checked by ``from_plain`` (as every loaded
        checkpoint's are)."""
        self.plain = plain

    @classmethod
    def of(cls, melodies: Iterable[Melody]) -> FormBook:
        """The forms of ``melodies`` (a melody shorter than two bars adds none)."""
        counted: Counter[tuple[str, Form]] = Counter()
        for melody in melodies:
            form = repeated_bars(melody)
            if len(form) >= 2:
                counted[metre_name(melody.time_signature), form] += 1
        plain: dict[str, list[list[int]]] = {}
        for (metre, form), count in counted.most_common(MAX_FORMS):
            plain.setdefault(metre, []).append([count, *form])
        return cls(plain)

    def to_plain(self) -> dict[str, list[list[int]]]:
        return self.plain

    @classmethod
    def from_plain(cls, plain: Any) -> FormBook:
        """The book a checkpoint kept; MelodyError naming what is wrong with it."""
        if not isinstance(plain, dict):
            raise MelodyError("forms must be a table of metres")
        total = 0
        for metre, rows in plain.items():
            if not isinstance(metre, str) or not isinstance(rows, list):
                raise MelodyError(f"forms: {metre!r} must name a metre and list forms")
            for row in rows:
                total += 1
                if total > MAX_FORMS or not _plain_form(row):
                    raise MelodyError(f"forms: {metre}: expected at most {MAX_FORMS:,} forms, "
                                      "each a count and each bar's earlier repeat (-1: none)")
        return cls(plain)

    def draw(self, time_signature: Sequence[int], rng: random.Random,
             bars: int | None = None) -> Form | None:
        """A form of this metre drawn as often as it occurred; None if the book has none.

        With ``bars``, from the tunes of exactly that many bars if there are any, else from
        the longer ones (cut to ``bars``), else from all.
        """
        rows = self.plain.get(metre_name(time_signature))
        if not rows:
            return None
        if bars is not None:  # a row is its count, then one entry per bar
            rows = ([row for row in rows if len(row) == bars + 1]
                    or [row[:bars + 1] for row in rows if len(row) > bars + 1] or rows)
        return tuple(rng.choices(rows, [row[0] for row in rows])[0][1:])


def describe_form(form: Form, first_bar: int = 0, most: int = 8) -> str:
    """The repeats of a form as a musician counts bars (the first full bar is bar 1), from
    bar ``first_bar`` on: 'bar 5 repeats bar 1, bar 6 repeats bar 2'; at most ``most`` of
    them, then how many more; '' if none."""
    said = [f"bar {k + 1} repeats bar {j + 1}"
            for k, j in enumerate(form) if j != NO_REPEAT and k >= first_bar]
    more = f" and {len(said) - most} more" if len(said) > most else ""
    return ", ".join(said[:most]) + more


def _plain_form(row: Any) -> bool:
    if not isinstance(row, list) or not 2 <= len(row) <= MAX_FORM_BARS + 1:
        return False
    if not all(type(v) is int for v in row) or row[0] < 1:
        return False
    return all(NO_REPEAT <= v < k for k, v in enumerate(row[1:]))
