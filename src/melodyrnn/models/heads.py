"""Output heads: from the core's hidden state to a distribution over the next token.

Both heads give the same thing to everyone who samples or scores: log-probabilities (or
logits) over the codec's tokens. For training they also give the loss of the true next
token the cheapest way they can (``loss``), which is where a factored head saves time.

- ``JointHead``: one softmax over every (pitch, duration) token.
- ``FactoredHead``: the note in two steps, e.g. its pitch (or a rest, or the end), then its
  duration given the pitch: p(token) = p(pitch) · p(duration | pitch). It sums to one over
  the grid of pitch × duration tokens, so it can produce pairs never seen together, and its
  output layers are small. ``order`` says which part comes first.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

IGNORE = -100  # targets that are not scored (padding); the same value as training.episodes
HEADS = ("joint", "pitch-duration", "duration-pitch")
FACTOR_DIM = 64  # the second factor's hidden layer


class TokenLoss(NamedTuple):
    """Per-position negative log-likelihood of the true token and the head's guess (B, T)."""

    nll: torch.Tensor
    guess: torch.Tensor


class JointHead(nn.Linear):
    """A linear layer to one logit per token."""

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> TokenLoss:
        logits = self(hidden).float()
        nll = nn.functional.cross_entropy(logits.transpose(1, -1), targets, ignore_index=IGNORE,
                                          reduction="none")
        return TokenLoss(nll, logits.argmax(-1))


class FactoredHead(nn.Module):
    """First factor, then the second given the first; see the module docstring."""

    def __init__(self, hidden: int, first_classes: int, second_classes: int,
                 first_of: list[int] | None = None, second_of: list[int] | None = None,
                 tokens: int = 0, final_class: int = -1) -> None:
        """``first_of[v]``/``second_of[v]``: the classes of token v; ``final_class`` is the first
        factor's class that needs no second one (the end token), -1 if none."""
        super().__init__()
        self.first = nn.Linear(hidden, first_classes)
        self.context = nn.Linear(hidden, FACTOR_DIM)
        self.given = nn.Embedding(first_classes, FACTOR_DIM)
        self.second = nn.Linear(FACTOR_DIM, second_classes)
        self.final_class = final_class
        count = tokens or len(first_of or ())
        self.register_buffer("first_of", torch.as_tensor(first_of or [0] * count,
                                                         dtype=torch.long))
        self.register_buffer("second_of", torch.as_tensor(second_of or [0] * count,
                                                          dtype=torch.long))

    def _second_log_probs(self, hidden: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """log p(second | first, context): (..., second_classes) for first classes (...)."""
        mixed = torch.relu(self.context(hidden) + self.given(first))
        return self.second(mixed).float().log_softmax(-1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Joint log-probabilities (B, T, tokens)."""
        first = self.first(hidden).float().log_softmax(-1)  # (B, T, F)
        classes = torch.arange(first.shape[-1], device=hidden.device)
        context = self.context(hidden)[..., None, :]  # (B, T, 1, dim)
        mixed = torch.relu(context + self.given(classes))  # (B, T, F, dim)
        second = self.second(mixed).float().log_softmax(-1)  # (B, T, F, S)
        joint = first[..., self.first_of] + second[..., self.first_of, self.second_of]
        if self.final_class >= 0:
            final = self.first_of == self.final_class
            joint = torch.where(final, first[..., self.first_of], joint)
        return joint

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> TokenLoss:
        scored = targets != IGNORE
        safe = targets.clamp(min=0)
        first_true, second_true = self.first_of[safe], self.second_of[safe]
        first = self.first(hidden).float().log_softmax(-1)
        second = self._second_log_probs(hidden, first_true)
        nll = -first.gather(-1, first_true[..., None])[..., 0]
        needs_second = first_true != self.final_class
        nll = nll - torch.where(needs_second, second.gather(-1, second_true[..., None])[..., 0],
                                torch.zeros_like(nll))
        guess = self._guess(hidden, first)
        return TokenLoss(torch.where(scored, nll, torch.zeros_like(nll)), guess)

    def _guess(self, hidden: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """The token of the likeliest first class and, given it, the likeliest second (a
        greedy guess, for the training accuracy shown while training)."""
        with torch.no_grad():
            best_first = first.argmax(-1)
            best_second = self._second_log_probs(hidden, best_first).argmax(-1)
            width = int(self.second.out_features)
            code = self.first_of * width + self.second_of  # token of each (first, second) pair
            lookup = torch.full((int(self.first.out_features) * width,), -1, dtype=torch.long,
                                device=hidden.device)
            lookup[code] = torch.arange(len(code), device=hidden.device)
            guess = lookup[best_first * width + best_second.where(best_first != self.final_class,
                                                                  torch.zeros_like(best_first))]
        return guess
