"""Derived inputs of a note stream: where the next note falls in the bar and the phrase, what the
melody did one and two bars earlier, and each note's scale degree and interval.

Every feature of input step t is computed from notes 0..t only (and the melody's metre,
pickup and key signature, which are known before any note), so a model fed these inputs
never sees the note it predicts. ``NoteFeatures`` computes them incrementally, one token
at a time: training encodes a whole melody by pushing its tokens in order, and generation
pushes each new token as it is chosen, so both see exactly the same numbers.

Input groups (``--inputs``), each one or more integer columns:

- ``position``: the next note's onset in its bar on a grid of twelfths of a quarter note
  (sixteenths and triplets), and the metre;
- ``bar``: the next note's bar within a 16-bar phrase (bars counted from the first full
  bar; the pickup bar has its own value);
- ``lookback`` (after Magenta's Lookback RNN): the token sounding at the next onset one
  and two bars earlier (or "held" / "none"), and four flags: the current note repeats the
  one a bar (two bars) earlier, the last bar repeated the bar before it, the current bar so
  far repeats the previous bar so far;
- ``phrase``: the same at phrase distance: the token sounding at the next onset four and
  eight bars earlier (or "held" / "none"), and three flags: the current note repeats the one
  four (eight) bars earlier, the current bar so far repeats the bar four bars earlier so far.
  Folk tunes repeat whole phrases (AABA: bars 5-8 are bars 1-4 again); one and two bars back
  cannot see that;
- ``degree``: the current note's pitch class relative to the tonic of the key signature;
- ``interval``: the current note's interval from the previous note (rests skipped).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from fractions import Fraction

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import Note

GRID_PER_QUARTER = 12  # sixteenths (3) and sixteenth triplets (2) both land on twelfths
MAX_BAR_QUARTERS = 16  # 4/1, the longest common metre in the corpora
POSITIONS = GRID_PER_QUARTER * MAX_BAR_QUARTERS
OFF_GRID, BEYOND_BAR = POSITIONS, POSITIONS + 1
METRES = ("2/4", "4/4", "3/4", "6/8", "3/8", "4/2", "6/4", "3/2", "2/2", "4/1", "3/1", "6/2",
          "4/8", "5/8", "9/8", "5/4", "2/1", "2/8", "7/8", "12/8", "9/4", "1/4")
PHRASE_BARS = 16
PICKUP_BAR = PHRASE_BARS
DEGREE_REST = 12
MAX_INTERVAL = 24
INTERVAL_NONE, INTERVAL_REST = 2 * MAX_INTERVAL + 1, 2 * MAX_INTERVAL + 2
FLAGS = 4
PHRASE_FLAGS = 3
PHRASE_DISTANCES = (4, 8)  # bars

GROUPS = ("position", "bar", "lookback", "phrase", "degree", "interval")


def group_sizes(group: str, vocab_size: int) -> tuple[int, ...]:
    """How many values each column of an input group takes (its embedding table sizes)."""
    sizes = {
        "position": (POSITIONS + 2, len(METRES) + 1),
        "bar": (PHRASE_BARS + 1,),
        "lookback": (vocab_size + 2, vocab_size + 2, 2 ** FLAGS),
        "phrase": (vocab_size + 2, vocab_size + 2, 2 ** PHRASE_FLAGS),
        "degree": (DEGREE_REST + 1,),
        "interval": (INTERVAL_REST + 1,),
    }
    if group not in sizes:
        raise MelodyError(f"unknown input '{group}': expected token and any of "
                          f"{', '.join(GROUPS)}")
    return sizes[group]


def parse_inputs(text: str) -> tuple[str, ...]:
    """The input groups of ``--inputs token,position,...`` (token first, each known, no repeats)."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names or names[0] != "token":
        raise MelodyError(f"--inputs {text!r}: expected 'token' first, then any of "
                          f"{', '.join(GROUPS)}, e.g. token,position,lookback")
    extra = names[1:]
    unknown = [name for name in extra if name not in GROUPS]
    if unknown or len(set(extra)) != len(extra):
        raise MelodyError(f"--inputs {text!r}: expected 'token' first, then any of "
                          f"{', '.join(GROUPS)} (each once)")
    return extra


def metre_index(time_signature: tuple[int, int]) -> int:
    """The metre's row in the metre embedding (unusual metres share the last one)."""
    text = f"{time_signature[0]}/{time_signature[1]}"
    return METRES.index(text) if text in METRES else len(METRES)


def _grid_position(position: Fraction) -> int:
    steps = position * GRID_PER_QUARTER
    if steps.denominator != 1:
        return OFF_GRID
    return int(steps) if steps < POSITIONS else BEYOND_BAR


class NoteFeatures:
    """The derived inputs of one melody, computed as its tokens arrive one by one."""

    def __init__(self, token_notes: Sequence[Note | None], groups: Sequence[str],
                 time_signature: tuple[int, int], pickup: Fraction, reference: int) -> None:
        """``token_notes[i]`` is the note of token id i (None for the end token);
        ``reference`` is the pitch class the degrees count from (the key signature's tonic)."""
        for group in groups:
            group_sizes(group, len(token_notes))
        self.token_notes, self.groups = token_notes, tuple(groups)
        self.bar = Fraction(4 * time_signature[0], time_signature[1])
        self.metre = metre_index(time_signature)
        self.pickup, self.reference = Fraction(pickup), reference % 12
        self.held, self.none = len(token_notes), len(token_notes) + 1
        self.onsets: list[Fraction] = []  # of every token pushed, in order
        self.tokens: list[int] = []
        self.now = Fraction(0)  # onset of the next note
        self.last_pitch: int | None = None
        self.bars: dict[int, list[tuple[Fraction, int]]] = {}  # bar -> (position, token)

    @property
    def width(self) -> int:
        """Number of feature columns per step."""
        return sum(len(group_sizes(g, len(self.token_notes))) for g in self.groups)

    def push(self, token: int) -> list[int]:
        """Take the next token of the melody; return its feature columns (groups in order)."""
        note = self.token_notes[token]
        if note is None:  # the end token: nothing follows it, so it changes nothing
            return [0] * self.width
        onset = self.now
        self.onsets.append(onset)
        self.tokens.append(token)
        bar, position = self._bar_of(onset)
        self.bars.setdefault(bar, []).append((position, token))
        self.now = onset + note.duration
        row: list[int] = []
        for group in self.groups:
            row += getattr(self, "_" + group)(note, onset)
        if note.pitch is not None:
            self.last_pitch = note.pitch
        return row

    def _bar_of(self, time: Fraction) -> tuple[int, Fraction]:
        """Bar number (0 = first full bar, -1 = the pickup bar) and position in it."""
        since = time - self.pickup
        bar = since // self.bar
        return int(bar), since - bar * self.bar

    # --- groups: each returns its columns for the note just pushed -------------------------

    def _position(self, note: Note, onset: Fraction) -> list[int]:
        _, position = self._bar_of(self.now)
        return [_grid_position(position), self.metre]

    def _bar(self, note: Note, onset: Fraction) -> list[int]:
        bar, _ = self._bar_of(self.now)
        return [PICKUP_BAR if bar < 0 else bar % PHRASE_BARS]

    def _lookback(self, note: Note, onset: Fraction) -> list[int]:
        return self._looking_back(onset, (1, 2), (self._last_bar_repeated(),
                                                  self._bar_so_far_repeats()))

    def _phrase(self, note: Note, onset: Fraction) -> list[int]:
        return self._looking_back(onset, PHRASE_DISTANCES,
                                  (self._bar_so_far_repeats(back=PHRASE_DISTANCES[0]),))

    def _looking_back(self, onset: Fraction, distances: tuple[int, int],
                      bar_flags: tuple[bool, ...]) -> list[int]:
        """The tokens sounding at the next onset ``distances`` bars back, then one column of
        flags: the note just pushed repeats the one each distance back, then ``bar_flags``."""
        spans = [self.bar * distance for distance in distances]
        flags = (*(self._repeats(onset, span) for span in spans), *bar_flags)
        return [*(self._sounding(self.now - span) for span in spans),
                sum(int(flag) << bit for bit, flag in enumerate(flags))]

    def _degree(self, note: Note, onset: Fraction) -> list[int]:
        return [DEGREE_REST if note.pitch is None else (note.pitch - self.reference) % 12]

    def _interval(self, note: Note, onset: Fraction) -> list[int]:
        if note.pitch is None:
            return [INTERVAL_REST]
        if self.last_pitch is None:
            return [INTERVAL_NONE]
        step = max(-MAX_INTERVAL, min(MAX_INTERVAL, note.pitch - self.last_pitch))
        return [step + MAX_INTERVAL]

    # --- lookback helpers ---------------------------------------------------------------------

    def _sounding(self, time: Fraction) -> int:
        """The token starting at ``time``, else ``held`` if one sounds then, else ``none``."""
        if time < 0:
            return self.none
        index = bisect.bisect_right(self.onsets, time) - 1
        if index < 0:
            return self.none
        if self.onsets[index] == time:
            return self.tokens[index]
        note = self.token_notes[self.tokens[index]]
        return self.held if note is not None and self.onsets[index] + note.duration > time \
            else self.none

    def _repeats(self, onset: Fraction, distance: Fraction) -> bool:
        """True if the note just pushed starts, as the same token, ``distance`` earlier too."""
        return self._sounding(onset - distance) == self.tokens[-1]

    def _last_bar_repeated(self) -> bool:
        bar, _ = self._bar_of(self.now)
        last, before = self.bars.get(bar - 1), self.bars.get(bar - 2)
        return bool(last) and last == before

    def _bar_so_far_repeats(self, back: int = 1) -> bool:
        """True if the current bar so far is the bar ``back`` bars earlier so far."""
        bar, position = self._bar_of(self.now)
        current = self.bars.get(bar, [])
        previous = [item for item in self.bars.get(bar - back, []) if item[0] < position]
        return bool(current) and current == previous
