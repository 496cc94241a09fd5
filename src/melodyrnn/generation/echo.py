"""Echo: while sampling, favour continuing a passage the melody has already played.

Folk tunes repeat whole phrases (AABA, a line played twice with a different ending); a
network sampled one note at a time starts such repeats but seldom carries them through,
since every note of a copy is one more draw that can leave it. ``Echo`` looks, at each
step, for the longest run of the last notes (``MIN_CONTEXT``–``MAX_CONTEXT`` tokens) that
also occurs earlier in the same melody, the earlier occurrence ending before this one
starts (so a run of one repeated note never echoes itself), and raises the log-probability
of the token that followed there by ``weight`` nats:

    log p(token) = log p_network(token) + weight * [token follows the earlier occurrence]

(then renormalised). Where no such passage exists the network's distribution is unchanged.
Contexts made of one token repeated are skipped, so it adds no drones. The search looks at
most ``LOOKBACK`` tokens back, which bounds each step's work on long melodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from melodyrnn.errors import MelodyError

if TYPE_CHECKING:  # no torch at import: the command line reads ECHO for its options
    import torch

MIN_CONTEXT = 3
MAX_CONTEXT = 12
LOOKBACK = 512


def echoed(history: Sequence[int], least: int = MIN_CONTEXT, most: int = MAX_CONTEXT,
           lookback: int = LOOKBACK) -> int | None:
    """The token that followed the latest earlier occurrence of the longest suffix of
    ``history`` (``least``-``most`` tokens, not all one token) that occurred before without
    overlapping it; None if there is none."""
    recent = list(history[-lookback:])
    end = len(recent)
    for size in range(min(most, end // 2), least - 1, -1):
        suffix = recent[end - size:]
        if len(set(suffix)) == 1:
            continue
        for start in range(end - 2 * size, -1, -1):  # the latest occurrence first
            if recent[start:start + size] == suffix:
                return recent[start + size]
    return None


class Echo:
    """Raises, for each row, the token that would continue an earlier passage (see module)."""

    def __init__(self, weight: float) -> None:
        if weight < 0:
            raise MelodyError(f"--echo {weight}: expected 0 (off) or more")
        self.weight = weight

    def adjust(self, logits: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B, V) with each row's echoed token raised by ``weight``, given
        the tokens so far (B, t)."""
        adjusted = logits.log_softmax(-1)
        for row, tokens in enumerate(history[:, -LOOKBACK:].tolist()):  # only what is searched
            token = echoed(tokens)
            if token is not None:
                adjusted[row, token] += self.weight
        return adjusted
