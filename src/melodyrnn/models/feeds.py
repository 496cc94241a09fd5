"""Feeds: how a model consumes a sequence, whole or one token at a time, with its state carried.

``StreamFeed`` gives each new token once (recurrent state holds the past); ``WindowFeed``
gives the last W tokens every step, as the classic window-trained stateful models were
trained. Neither recomputes the prefix. Generation and evaluation both use them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from melodyrnn.codecs.features import parse_inputs
from melodyrnn.errors import MelodyError
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel, State

if TYPE_CHECKING:
    from melodyrnn.models.checkpoint import Checkpoint

@dataclass
class _Tracked:
    """A stream feed's state with derived inputs: the model's state and each row's tracker."""

    model_state: State
    trackers: list[Any]


class StreamFeed:
    """Each token is given once; the model's state remembers the rest.

    With ``features`` (a factory of fresh ``codecs.features.NoteFeatures`` for the melody
    being continued), every token goes in with its derived inputs, computed step by step
    from the tokens so far, never by recomputing the prefix.
    """

    min_primer = 1

    def __init__(self, features: Callable[[], Any] | None = None) -> None:
        self.features = features

    def _rows(self, tokens: torch.Tensor, trackers: list[Any] | None) -> torch.Tensor:
        """Model input for tokens (B, t) pushed into each row's tracker: (B, t[, 1 + K])."""
        if trackers is None:
            return tokens
        rows = [[[token, *tracker.push(token)] for token in row]
                for tracker, row in zip(trackers, tokens.tolist())]
        return torch.tensor(rows, dtype=torch.long)

    def start(self, model: SequenceModel, primer: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Logits after the primer (B, P) and the state to continue from."""
        trackers = [self.features() for _ in range(primer.shape[0])] if self.features else None
        output, state = model(self._rows(primer, trackers))
        return output[:, -1], state if trackers is None else _Tracked(state, trackers)

    def step(self, model: SequenceModel, history: torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        """Logits after the newest token of ``history`` (B, t)."""
        if isinstance(state, _Tracked):
            output, inner = model(self._rows(history[:, -1:], state.trackers), state.model_state)
            return output[:, -1], _Tracked(inner, state.trackers)
        output, state = model(history[:, -1:], state)
        return output[:, -1], state

    def all_logits(self, model: SequenceModel, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits after every prefix of ``tokens`` (B, T): one forward pass."""
        trackers = [self.features() for _ in range(tokens.shape[0])] if self.features else None
        return model(self._rows(tokens, trackers))[0]

    def reorder(self, model: SequenceModel, state: State, index: torch.Tensor) -> State:
        """The state of rows ``index`` in that order (beam search), trackers copied."""
        if isinstance(state, _Tracked):
            return _Tracked(model.reorder_state(state.model_state, index),
                            [copy.deepcopy(state.trackers[i]) for i in index.tolist()])
        return model.reorder_state(state, index)


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

    def reorder(self, model: SequenceModel, state: State, index: torch.Tensor) -> State:
        """The state of rows ``index`` in that order (beam search)."""
        return model.reorder_state(state, index)

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


def feed_of(checkpoint: Checkpoint, like: Any = None) -> StreamFeed | WindowFeed:
    """The feed matching how the checkpoint's model was trained; for a model with derived
    inputs, one that computes them for a melody with ``like``'s metre, pickup and key."""
    groups = input_groups(checkpoint.model_config)
    if groups:
        if like is None:
            raise MelodyError("a model with derived inputs needs the melody it continues")
        codec = checkpoint.codec
        return StreamFeed(lambda: codec.tracker(like, groups))
    return feed_for(checkpoint.train_config.get("batching", "stream"),
                    checkpoint.model_config.window)


def input_groups(config: ModelConfig) -> tuple[str, ...]:
    """The derived input groups a model takes besides the token (from ``config.inputs``)."""
    return parse_inputs(config.inputs) if config.inputs != "token" else ()


def model_stream(codec: Any, item: Any, groups: tuple[str, ...], source: str = "input",
                 nearest: bool = False) -> Any:
    """What a model reads of an item: its token ids, or with derived inputs a (T, 1 + K) tensor
    of token ids and their feature columns (the end token's row, a target only, is zeros).
    ``nearest`` maps notes the codec lacks to their nearest known tokens (scoring only)."""
    ids = codec.encode(item, source=source, nearest=True) if nearest else \
        codec.encode(item, source=source)
    if not groups:
        return ids
    rows = codec.features(item, groups, nearest=nearest)
    blank = [0] * len(rows[0]) if rows else []
    return torch.tensor([[token, *(rows[i] if i < len(rows) else blank)]
                         for i, token in enumerate(ids)], dtype=torch.long)
