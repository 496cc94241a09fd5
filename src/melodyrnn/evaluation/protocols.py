"""The two classic evaluation protocols and cross-entropy in bits per token.

- one-step: for every window of W real tokens, predict the token after it (teacher forcing).
- full-song: prime with the first W real tokens, then feed back the model's own most likely
  predictions to the end, and count positions that match the real song.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from melodyrnn.models.feeds import StreamFeed, WindowFeed
from melodyrnn.models.network import SequenceModel


@dataclass
class Score:
    """Correct predictions out of a total."""

    correct: int = 0
    total: int = 0

    def add(self, correct: int, total: int) -> None:
        self.correct += correct
        self.total += total

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, int]:
        return {"correct": self.correct, "total": self.total}


@dataclass
class Evaluation:
    """Both protocols plus bits per token over the one-step predictions."""

    one_step: Score = field(default_factory=Score)
    full_song: Score = field(default_factory=Score)
    nats: float = 0.0
    mismatches: list[tuple[int, int, list[int], list[int]]] = field(default_factory=list)

    @property
    def bits_per_token(self) -> float:
        return self.nats / math.log(2) / self.one_step.total if self.one_step.total else math.nan

    def to_dict(self) -> dict[str, object]:
        return {"one_step": self.one_step.to_dict(), "full_song": self.full_song.to_dict(),
                "bits_per_note": self.bits_per_token}


@torch.no_grad()
def evaluate(model: SequenceModel, streams: Sequence[Sequence[int]], window: int,
             feed: StreamFeed | WindowFeed | Sequence[StreamFeed | WindowFeed] | None = None
             ) -> Evaluation:
    """Score a model on token streams (one per song) with both classic protocols.

    ``feed`` is one feed for every stream, or one per stream (models with derived inputs
    need each song's own).
    """
    feeds = list(feed) if isinstance(feed, Sequence) else [feed or StreamFeed()] * len(streams)
    model.eval()
    result = Evaluation()
    for index, (stream, feed) in enumerate(zip(streams, feeds)):
        if len(stream) <= window:
            continue
        tokens = torch.as_tensor([list(stream)], dtype=torch.long)
        logits = feed.all_logits(model, tokens[:, :-1])[0, window - 1 :]
        targets = tokens[0, window:]
        result.one_step.add(int((logits.argmax(-1) == targets).sum()), len(targets))
        result.nats += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        predicted = greedy_continuation(model, feed, tokens[:, :window], len(stream) - window)
        matches = sum(p == t for p, t in zip(predicted, stream[window:]))
        result.full_song.add(matches, len(stream) - window)
        if matches < len(stream) - window:
            first = next(i for i, (p, t) in enumerate(zip(predicted, stream[window:])) if p != t)
            result.mismatches.append((index, window + first, list(stream), predicted))
    return result


def greedy_continuation(model: SequenceModel, feed: StreamFeed | WindowFeed,
                        primer: torch.Tensor, length: int) -> list[int]:
    """The model's own most likely next token, fed back ``length`` times after ``primer`` (1, P)."""
    history = torch.empty(1, primer.shape[1] + length, dtype=torch.long)
    history[:, : primer.shape[1]] = primer
    logits, state = feed.start(model, primer)
    for step in range(length):
        end = primer.shape[1] + step
        history[0, end] = logits[0].argmax()
        if step < length - 1:
            logits, state = feed.step(model, history[:, : end + 1], state)
    return history[0, primer.shape[1]:].tolist()
