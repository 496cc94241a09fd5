"""Feeds: how a model consumes a sequence, whole or one token at a time, with its state carried.

``StreamFeed`` gives each new token once (recurrent state holds the past); ``WindowFeed``
gives the last W tokens every step, as the classic window-trained stateful models were
trained. Neither recomputes the prefix. Generation and evaluation both use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from melodyrnn.models.network import SequenceModel, State

if TYPE_CHECKING:
    from melodyrnn.models.checkpoint import Checkpoint

class StreamFeed:
    """Each token is given once; the model's state remembers the rest."""

    min_primer = 1

    def start(self, model: SequenceModel, primer: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Logits after the primer (B, P) and the state to continue from."""
        output, state = model(primer)
        return output[:, -1], state

    def step(self, model: SequenceModel, history: torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        """Logits after the newest token of ``history`` (B, t)."""
        output, state = model(history[:, -1:], state)
        return output[:, -1], state

    def all_logits(self, model: SequenceModel, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits after every prefix of ``tokens`` (B, T): one forward pass."""
        return model(tokens)[0]


@dataclass(frozen=True)
class WindowFeed:
    """The last ``width`` tokens are given every step, with state carried between windows."""

    width: int

    @property
    def min_primer(self) -> int:
        return self.width

    def start(self, model: SequenceModel, primer: torch.Tensor) -> tuple[torch.Tensor, State]:
        state, logits = None, None
        for begin in range(primer.shape[1] - self.width + 1):
            output, state = model(primer[:, begin : begin + self.width], state)
            logits = output[:, -1]
        return logits, state

    def step(self, model: SequenceModel, history: torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        output, state = model(history[:, -self.width :], state)
        return output[:, -1], state

    def all_logits(self, model: SequenceModel, tokens: torch.Tensor) -> torch.Tensor:
        """Logits after each full window of ``tokens``; earlier positions are NaN."""
        logits, state = self.start(model, tokens[:, : self.width])
        rows = [torch.full_like(logits, float("nan"))] * (self.width - 1) + [logits]
        for end in range(self.width + 1, tokens.shape[1] + 1):
            logits, state = self.step(model, tokens[:, :end], state)
            rows.append(logits)
        return torch.stack(rows, dim=1)


FEEDS = {"stream": lambda width: StreamFeed(), "windows": WindowFeed}


def feed_for(batching: str, width: int) -> StreamFeed | WindowFeed:
    """The feed that matches how a model was trained."""
    return FEEDS[batching](width)




def feed_of(checkpoint: Checkpoint) -> StreamFeed | WindowFeed:
    """The feed matching how the checkpoint's model was trained."""
    return feed_for(checkpoint.train_config.get("batching", "stream"),
                    checkpoint.model_config.window)
