"""Choosing the next token: small pure functions over logits (B, V), and ``Sampling``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from melodyrnn.settings import check, setting

if TYPE_CHECKING:  # torch is imported when sampling happens, so options load without it
    import torch

def scale_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logits divided by a positive temperature (higher = more random)."""
    return logits / temperature


def keep_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Logits with all but the ``k`` largest per row set to -inf (k <= 0 keeps all)."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    threshold = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < threshold, float("-inf"))


def keep_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Logits outside the smallest set whose probability reaches ``p`` set to -inf (p >= 1 keeps all)."""
    if p >= 1.0:
        return logits
    ordered, order = logits.sort(dim=-1, descending=True)
    cumulative = ordered.softmax(-1).cumsum(-1)
    drop_sorted = cumulative - ordered.softmax(-1) >= p  # keep the token that crosses p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def keep_above(logits: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Logits of tokens less likely than ``epsilon`` set to -inf, the likeliest always kept
    (epsilon sampling: it cuts the implausible tail, not the plausible but rarer notes)."""
    if epsilon <= 0:
        return logits
    probabilities = logits.softmax(-1)
    drop = probabilities < epsilon
    drop &= probabilities < probabilities.amax(-1, keepdim=True)
    return logits.masked_fill(drop, float("-inf"))


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: temperature 0 means always the most likely."""

    temperature: float = setting(0.0, "0 always picks the most likely note; higher is more "
                                 "adventurous.", low=0.0, high=100.0)
    top_k: int = setting(0, "Sample among the k most likely notes (0 = all).", low=0,
                         high=1_000_000)
    top_p: float = setting(1.0, "Sample among the most likely notes whose probabilities add up "
                           "to p (nucleus sampling).", low=0.0, low_open=True, high=1.0)
    epsilon: float = setting(0.0, "Never sample a note less likely than this (epsilon "
                             "sampling; 0 = off).", low=0.0, high=0.5)

    def __post_init__(self) -> None:
        check(self)

    def choose(self, logits: torch.Tensor,
               generator: torch.Generator | Sequence[torch.Generator] | None = None
               ) -> torch.Tensor:
        """Next token ids (B,) from logits (B, V).

        ``generator`` may be one generator per row: then each row's draws depend on its own
        seed only, not on how many rows are sampled together.
        """
        import torch

        if self.temperature == 0:
            return logits.argmax(-1)
        logits = scale_temperature(logits, self.temperature)
        logits = keep_above(keep_top_p(keep_top_k(logits, self.top_k), self.top_p), self.epsilon)
        probabilities = logits.softmax(-1)
        if isinstance(generator, Sequence):
            return torch.cat([torch.multinomial(probabilities[row : row + 1], 1, generator=g)
                              for row, g in enumerate(generator)]).squeeze(-1)
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


# What ``generate`` and ``evaluate --samples`` use unless told otherwise: sampling, since
# always taking the likeliest note loops. Chosen by the two-sample test on held-out openings
# (bench/README.md, "Sampling defaults"); --temperature 0 is greedy decoding.
MUSICAL = Sampling(temperature=1.0, top_p=0.95)
