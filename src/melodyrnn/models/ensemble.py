"""Several networks of one architecture, averaged: the ensemble predicts the normalised
geometric mean of their distributions (the mean of their log-probabilities),

    p(token) ∝ (p_1(token) · ... · p_n(token)) ** (1 / n)

Networks trained alike from different random seeds make different mistakes; their average
predicts held-out melodies better than any one of them. The geometric mean keeps what the
networks agree on sharp (a bar repeated by every network's copy memory stays likely),
where the arithmetic mean of probabilities flattens it: on the bundled model's held-out
Essen tunes both lower the loss (1.787 and 1.791 nats against 1.841 and 1.839 for the two
networks alone), but samples of the arithmetic mean repeat fewer bars and are easier to tell
from real tunes (bench/README.md, *Every held-out opening once*). The members share the
codec, the derived inputs and the config, so one feed serves them all; the ensemble's state
is the tuple of its members' states. It is for generation and evaluation: train each member
on its own (`train --rng-seed`), then combine them (`scripts/bundle_model.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from melodyrnn.errors import MelodyError
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel, State

MAX_MEMBERS = 8


class Ensemble(nn.Module):
    """The geometric mean of ``members``' predictions; same interface as ``SequenceModel``."""

    def __init__(self, members: Sequence[SequenceModel]) -> None:
        super().__init__()
        if not 2 <= len(members) <= MAX_MEMBERS:
            raise MelodyError(f"an ensemble of {len(members)} networks: expected 2 to "
                              f"{MAX_MEMBERS}")
        if any(member.config != members[0].config for member in members):
            raise MelodyError("an ensemble's networks must share one config (architecture, "
                              "sizes, inputs and vocabulary)")
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> ModelConfig:
        """The members' shared architecture."""
        return self.members[0].config

    def forward(self, x: torch.Tensor, state: State = None, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, State]:
        """Log-probabilities (B, T, V) of the averaged distribution, and every member's state."""
        if targets is not None:
            raise MelodyError("an ensemble is not trained as a whole: train its networks one "
                              "by one")
        states = state if state is not None else (None,) * len(self.members)
        outputs, carried = [], []
        for member, member_state in zip(self.members, states):
            output, member_state = member(x, member_state)
            outputs.append(output.float().log_softmax(-1))
            carried.append(member_state)
        return torch.stack(outputs).mean(0).log_softmax(-1), tuple(carried)

    def reorder_state(self, state: State, index: torch.Tensor) -> State:
        """The state of batch rows ``index`` (for beam search), in that order."""
        return tuple(member.reorder_state(member_state, index)
                     for member, member_state in zip(self.members, state))


def networks_of(model: nn.Module) -> list[SequenceModel]:
    """An ensemble's networks, or the model itself as the only one."""
    return list(model.members) if isinstance(model, Ensemble) else [model]


def first_network(model: nn.Module) -> SequenceModel:
    """The model itself, or an ensemble's first network (what fine-tuning starts from)."""
    return networks_of(model)[0]
