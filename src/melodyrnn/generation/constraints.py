"""Limits on what may be generated, as masks and costs over token ids (see ``steering``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from melodyrnn.errors import MelodyError

_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Constraints:
    """Limits on what may be generated, over token ids.

    ``allowed`` masks tokens out (probabilities of the rest are renormalised). With
    ``costs`` and ``budget`` each row stops once its tokens' costs add up to the budget
    (e.g. note durations up to a bar line), and a token that would overshoot is masked.
    A row also stops at ``stop_id`` (the end token).
    """

    allowed: torch.Tensor | None = None
    costs: torch.Tensor | None = None
    budget: float | None = None
    stop_id: int | None = None

    def check(self) -> None:
        """Raise MelodyError if the constraints leave no token to generate."""
        if self.allowed is not None and not bool(self.allowed.any()):
            raise MelodyError("the constraints leave no allowed token: widen --key/--range or "
                              "check the model's vocabulary")
        if self.budget is not None and self.costs is not None:
            usable = self.costs <= self.budget + _TOLERANCE
            if self.allowed is not None:
                usable &= self.allowed
            if not bool(usable.any()):
                raise MelodyError("no allowed token fits in the requested length")

    def mask(self, logits: torch.Tensor, spent: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) with forbidden tokens at -inf, given each row's spent budget (B,)."""
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed, float("-inf"))
        if self.budget is not None and self.costs is not None:
            too_long = self.costs[None, :] > (self.budget - spent)[:, None] + _TOLERANCE
            logits = logits.masked_fill(too_long, float("-inf"))
        return logits

    def finished(self, chosen: torch.Tensor, spent: torch.Tensor) -> torch.Tensor:
        """Rows (B,) that are complete after choosing ``chosen``."""
        done = torch.zeros_like(chosen, dtype=torch.bool)
        if self.stop_id is not None:
            done |= chosen == self.stop_id
        if self.budget is not None:
            done |= spent >= self.budget - _TOLERANCE
        return done

    def spend(self, chosen: torch.Tensor) -> torch.Tensor:
        """Cost (B,) of the chosen tokens."""
        return self.costs[chosen] if self.costs is not None else torch.zeros(len(chosen))




NO_CONSTRAINTS = Constraints()
