"""Autoregressive generation: sampling as small functions over logits, state carried step by step.

A *feed* says how a model consumes its own history: ``StreamFeed`` gives each new token
once (recurrent state holds the past); ``WindowFeed`` gives the last W tokens every step,
as the classic window-trained stateful models were trained. Neither recomputes the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from melodyrnn.errors import MelodyError
from melodyrnn.models import SequenceModel, State

# --- sampling: pure functions over logits (B, V) ------------------------------------------

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


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: temperature 0 means always the most likely."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise MelodyError(f"--temperature {self.temperature}: expected 0 or more")
        if not 0 < self.top_p <= 1:
            raise MelodyError(f"--top-p {self.top_p}: expected a value in (0, 1]")
        if self.top_k < 0:
            raise MelodyError(f"--top-k {self.top_k}: expected 0 (off) or more")

    def choose(self, logits: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """Next token ids (B,) from logits (B, V)."""
        if self.temperature == 0:
            return logits.argmax(-1)
        logits = keep_top_p(keep_top_k(scale_temperature(logits, self.temperature), self.top_k),
                            self.top_p)
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)


# --- feeds: how history goes into the model --------------------------------------------------

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


@torch.no_grad()
def generate(model: SequenceModel, primer: Sequence[int], length: int,
             sampling: Sampling = Sampling(), feed: StreamFeed | WindowFeed | None = None,
             num_outputs: int = 1, stop_id: int | None = None,
             generator: torch.Generator | None = None) -> list[list[int]]:
    """``num_outputs`` continuations of ``primer`` of up to ``length`` new tokens, in one batch."""
    feed = feed or StreamFeed()
    if len(primer) < feed.min_primer:
        raise MelodyError(f"the seed has {len(primer)} tokens; this model needs at least "
                          f"{feed.min_primer}")
    model.eval()
    history = torch.as_tensor([list(primer)] * num_outputs, dtype=torch.long)
    finished = torch.zeros(num_outputs, dtype=torch.bool)
    logits, state = feed.start(model, history)
    new_tokens = []
    for step in range(length):
        chosen = sampling.choose(logits, generator)
        if stop_id is not None:
            chosen = chosen.masked_fill(finished, stop_id)
            finished |= chosen == stop_id
        new_tokens.append(chosen)
        history = torch.cat([history, chosen[:, None]], dim=1)
        if bool(finished.all()) or step == length - 1:
            break
        logits, state = feed.step(model, history, state)
    if not new_tokens:
        return [[] for _ in range(num_outputs)]
    rows = torch.stack(new_tokens, dim=1).tolist()
    if stop_id is not None:
        rows = [row[: row.index(stop_id)] if stop_id in row else row for row in rows]
    return rows
