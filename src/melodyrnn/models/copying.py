"""A copy memory over the melody so far: the network's neural short-term model.

Folk melodies repeat their own bars and phrases. After each input the model stores a key
(from its hidden state) together with the token that came next; to predict, it attends
from its current state to every earlier key, and the attention weights, summed per token,
give a *copy* distribution: "what followed a moment like this one earlier in this melody".
A gate mixes it with the head's distribution (as in pointer-sentinel mixture models):

    p(token) = g · p_head(token) + (1 - g) · p_copy(token)

The memory is part of the model's state, carried across chunks and steps like an LSTM's,
so step-by-step generation sees exactly what one pass over the whole melody sees. It never
holds the token being predicted: the value of an entry is only stored once the model has
read that token as input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

KEY_DIM = 64
MAX_MEMORY = 2048  # entries kept per melody (the oldest go first)
TINY = 1e-12


class Memory(NamedTuple):
    """Earlier keys (B, M, K), the token that followed each (B, M), and the newest key, whose
    following token has not been read yet (B, K), or None at the start."""

    keys: torch.Tensor
    values: torch.Tensor
    pending: torch.Tensor | None


class CopyMemory(nn.Module):
    """Attention from the current hidden state to earlier ones, and the mixing gate."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, KEY_DIM)
        self.key = nn.Linear(hidden, KEY_DIM)
        self.gate = nn.Linear(hidden, 1)

    def forward(self, hidden: torch.Tensor, tokens: torch.Tensor, memory: Memory | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Memory]:
        """Attention weights (B, T, M'), entry values (B, M'), gates (B, T) and the new memory,
        for hidden states (B, T, H) after reading ``tokens`` (B, T)."""
        batch, steps = tokens.shape
        keys = self.key(hidden)  # (B, T, K)
        if memory is None:
            memory = Memory(keys.new_zeros(batch, 0, KEY_DIM),
                            tokens.new_zeros(batch, 0), None)
        old_keys, old_values = memory.keys, memory.values
        if memory.pending is not None:  # its value is the first token read now
            old_keys = torch.cat([old_keys, memory.pending[:, None]], 1)
            old_values = torch.cat([old_values, tokens[:, :1]], 1)
        # Entries of this chunk: key j is followed by token j + 1 (known for j < T - 1).
        entry_keys = torch.cat([old_keys, keys[:, :-1]], 1)
        entry_values = torch.cat([old_values, tokens[:, 1:]], 1)
        carried = old_keys.shape[1]
        scores = self.query(hidden) @ entry_keys.transpose(1, 2) / math.sqrt(KEY_DIM)
        own = torch.arange(steps - 1, device=tokens.device)
        visible = torch.cat([torch.ones(steps, carried, dtype=torch.bool, device=tokens.device),
                             own[None, :] < torch.arange(steps, device=tokens.device)[:, None]],
                            1)
        scores = scores.masked_fill(~visible, float("-inf"))
        # A query with no visible entry (the melody's first note) copies nothing.
        empty = ~visible.any(-1)
        weights = torch.where(empty[None, :, None], torch.zeros_like(scores),
                              scores.float().softmax(-1).nan_to_num(0.0))
        gates = torch.sigmoid(self.gate(hidden)).squeeze(-1).float()
        gates = torch.where(empty[None, :], torch.ones_like(gates), gates)
        kept = Memory(entry_keys[:, -MAX_MEMORY:], entry_values[:, -MAX_MEMORY:], keys[:, -1])
        return weights, entry_values, gates, kept


def mixed_log_probs(head_log_probs: torch.Tensor, weights: torch.Tensor, values: torch.Tensor,
                    gates: torch.Tensor) -> torch.Tensor:
    """log(g · p_head + (1 - g) · p_copy) over every token (B, T, V)."""
    copy = torch.zeros_like(head_log_probs)
    index = values[:, None, :].expand(-1, weights.shape[1], -1)
    copy = copy.scatter_add(-1, index, weights.to(copy.dtype))
    mixed = gates[..., None] * head_log_probs.exp() + (1 - gates[..., None]) * copy
    return mixed.clamp_min(TINY).log()


def mixed_nll(head_nll: torch.Tensor, weights: torch.Tensor, values: torch.Tensor,
              gates: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-log(g · p_head(target) + (1 - g) · p_copy(target)) per position (B, T)."""
    copied = (weights * (values[:, None, :] == targets[..., None])).sum(-1)
    mixed = gates * (-head_nll).exp() + (1 - gates) * copied
    return -mixed.clamp_min(TINY).log()
