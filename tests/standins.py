"""Stand-ins for decoding tests over token ids: a network with no preference, and how much
the rows it generates repeat themselves."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Uniform(nn.Module):
    """A stand-in network with no preference: every one of ``vocab`` tokens equally likely."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, x, state=None):
        return torch.zeros(*x.shape, self.vocab), state


def repeated_share(rows: Sequence[Sequence[int]], n: int) -> float:
    """The share of each row's n-grams that occurred earlier in the row, averaged over rows."""
    shares = []
    for row in rows:
        grams = [tuple(row[i:i + n]) for i in range(len(row) - n + 1)]
        shares.append(1 - len(set(grams)) / len(grams))
    return sum(shares) / len(shares)
