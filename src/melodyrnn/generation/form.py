"""Form plans: while sampling, repeat bars where a real tune of the same metre repeats them.

A network sampled one note at a time writes tunes that rarely repeat a bar, where folk tunes
repeat a third of theirs (``--echo`` carries a repeat through once it has started, but does
not decide where one starts). A form plan decides that the way a musician borrows a form:
each melody takes the form of a training tune of its metre (``music.form``: for each bar,
the earlier bar it repeats, if any), drawn with the melody's seed as often as it occurred in
training. While bar k is sampled and the plan says it repeats bar j, the note that starts at
the same place in bar j gets ``weight`` nats more log-probability, for as long as bar k has
followed bar j so far:

    log p(token) = log p_network(token) + weight * [token is bar j's next note here]

(then renormalised). The network can still leave the plan (a new ending, a varied bar); bars
the plan leaves free, and bars past its end, are sampled as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from melodyrnn.errors import MelodyError
from melodyrnn.music.form import NO_REPEAT, Form, place_in_bars

if TYPE_CHECKING:  # no torch at import: the command line reads FORM_WEIGHT for its options
    import torch

FORM_WEIGHT = 2.0  # chosen on held-out openings, seeds 0-3 (bench/README.md: form plans)


class _Row:
    """Where one generated melody stands: its time so far and what started in each bar."""

    def __init__(self, form: Form | None) -> None:
        self.form = form
        self.time = Fraction(0)
        self.seen = 0
        self.done = form is None
        self.cells: dict[int, list[tuple[Fraction, int]]] = {}


class FormPlan:
    """Raises, for each row, the next note of the bar its form says the current bar repeats.

    ``durations`` gives each token's length in quarter notes (None: a token that ends the
    melody); ``pickup`` and ``bar`` place the bar lines, as in the primer.
    """

    def __init__(self, weight: float, forms: Sequence[Form | None],
                 durations: Sequence[Fraction | None], pickup: Fraction, bar: Fraction) -> None:
        if weight < 0:
            raise MelodyError(f"--form {weight}: expected 0 (off) or more")
        self.weight, self.durations = weight, list(durations)
        self.pickup, self.bar = Fraction(pickup), Fraction(bar)
        self.rows = [_Row(form) for form in forms]

    def _place(self, time: Fraction) -> tuple[int, Fraction] | None:
        return place_in_bars(time, self.pickup, self.bar)

    def _observe(self, row: _Row, tokens: list[int]) -> None:
        for token in tokens:
            duration = self.durations[token]
            if duration is None:
                row.done = True
                return
            place = self._place(row.time)
            if place is not None:
                row.cells.setdefault(place[0], []).append((place[1], token))
            row.time += duration

    def planned(self, row: _Row) -> int | None:
        """The token the row's plan asks for next, or None."""
        place = self._place(row.time)
        if row.done or row.form is None or place is None or place[0] >= len(row.form):
            return None
        bar, offset = place
        source = row.form[bar]
        if source == NO_REPEAT:
            return None
        model, now = row.cells.get(source, []), row.cells.get(bar, [])
        if len(model) > len(now) and model[:len(now)] == now and model[len(now)][0] == offset:
            return model[len(now)][1]
        return None

    def adjust(self, logits: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B, V) with each row's planned token raised by ``weight``, given
        the tokens so far (B, t)."""
        adjusted = logits.log_softmax(-1)
        for index, row in enumerate(self.rows):
            if row.done:
                continue
            self._observe(row, history[index, row.seen:].tolist())
            row.seen = history.shape[1]
            token = self.planned(row)
            if token is not None:
                adjusted[index, token] += self.weight
        return adjusted
