"""A short-term memory for generation: a model of the melody so far, applied while sampling.

Recurrent networks trained on a corpus predict notes well but rarely repeat a melody's own
motifs the way folk songs do (AABA forms, sequences). IDyOM meets the same weakness in
prediction with a *short-term model*: a PPM trained on the current melody alone.
``ShortTermMemory`` keeps one such PPM per generated row over token ids, counts the primer
and every chosen token, and reweights the network's next-token distribution log-linearly:

    p(token) ∝ p_network(token) * p_memory(token) ** weight

``p_memory`` blends only contexts of at least ``MIN_ORDER`` tokens: once the last notes have
occurred before, the tokens that followed them then are favoured; where the melody has no
such context, ``p_memory`` is uniform and leaves the network's distribution unchanged. (Order
0, how often each token occurred, would mostly add repeated notes, not motifs.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from melodyrnn.errors import MelodyError
from melodyrnn.models.ppm import PPM, PPMConfig

MIN_ORDER = 1
MEMORY_PPM = PPMConfig(escape="x", update_exclusion=True, idyom_blend=False)  # IDyOM's STM,
# with the textbook blend (sums to one without the root's order-0 counts)


class ShortTermMemory:
    """Per-row short-term PPMs over token ids, mixed into the network's predictions."""

    def __init__(self, vocab_size: int, rows: int, primer: Sequence[int],
                 weight: float) -> None:
        if weight < 0:
            raise MelodyError(f"--memory {weight}: expected 0 (off) or more")
        self.weight = weight
        self.models = [PPM(range(vocab_size), MEMORY_PPM) for _ in range(rows)]
        self.active = [[model.root] for model in self.models]
        for token in primer:
            self.observe(torch.full((rows,), int(token)))

    def observe(self, chosen: torch.Tensor) -> None:
        """Count each row's newly chosen token (B,) in that row's model."""
        for row, token in enumerate(chosen.tolist()):
            self.active[row] = self.models[row].add(self.active[row], token)

    def distributions(self) -> np.ndarray:
        """(B, V): each row's memory prediction of its next token."""
        return np.stack([model.distribution(active, MIN_ORDER)
                         for model, active in zip(self.models, self.active)])

    def adjust(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) of ``p_network * p_memory ** weight`` (unnormalised)."""
        memory = torch.from_numpy(np.log(self.distributions())).to(logits.dtype)
        return logits.log_softmax(-1) + self.weight * memory
