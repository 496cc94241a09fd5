"""Small sequence models with one interface: ``forward(x, state=None) -> (output, state)``.

A model is an input encoder (token embedding, the classic scalar index, or float features),
a core (LSTM, GRU, vanilla RNN, or a window MLP) and a linear head. Every core carries
state between calls, so feeding a sequence one step at a time equals feeding it whole:
recurrent cores carry their hidden state, the window MLP carries its last W-1 inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from melodyrnn.errors import MelodyError
from melodyrnn.models.cells import GateLSTMCore
from melodyrnn.models.config import ModelConfig
from melodyrnn.settings import check

State = Any  # a tensor, a tuple of tensors, or None


# --- input encoders: token ids (B, T) or features (B, T, F) -> (B, T, E) -------------------

class ScalarIndex(nn.Module):
    """The classic input: a token id divided by the largest id, as one feature."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.scale = 1.0 / max(vocab_size - 1, 1)
        self.size = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() * self.scale).unsqueeze(-1)


class TokenEmbedding(nn.Embedding):
    """A learned vector per token."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__(vocab_size, dim)
        self.size = dim


class Features(nn.Module):
    """Float features used as they are (numeric series)."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.size = vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


ENCODERS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "embedding": lambda c: TokenEmbedding(c.vocab_size, c.embedding_dim),
    "scalar": lambda c: ScalarIndex(c.vocab_size),
    "features": lambda c: Features(c.vocab_size),
}


# --- cores: (B, T, E), state -> (B, T, H), state -------------------------------------------

class RecurrentCore(nn.Module):
    """A stack of torch's LSTM, GRU or vanilla RNN layers."""

    def __init__(self, rnn_class: type[nn.RNNBase], input_size: int, config: ModelConfig) -> None:
        super().__init__()
        dropout = config.dropout if config.layers > 1 else 0.0
        self.rnn = rnn_class(input_size, config.hidden, num_layers=config.layers,
                             batch_first=True, dropout=dropout)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        return self.rnn(x, state)

    batch_dim = 1  # torch keeps recurrent state as (layers, batch, hidden)


class WindowMLPCore(nn.Module):
    """Two hidden layers over the last W inputs; the state is the W-1 inputs before this call."""

    def __init__(self, input_size: int, config: ModelConfig) -> None:
        super().__init__()
        self.window, self.input_size = config.window, input_size
        layers: list[nn.Module] = [nn.Linear(config.window * input_size, config.hidden), nn.ReLU()]
        for _ in range(max(config.layers, 2) - 1):
            layers += [nn.Linear(config.hidden, config.hidden), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        if state is None:  # an empty context reads as zeros, like padding before the song
            state = x.new_zeros(x.shape[0], self.window - 1, self.input_size)
        context = torch.cat([state, x], dim=1)
        frames = context.unfold(1, self.window, 1)  # (B, T, E, W)
        frames = frames.transpose(2, 3).reshape(x.shape[0], x.shape[1], -1)
        return self.mlp(frames), context[:, context.shape[1] - (self.window - 1):]

    batch_dim = 0  # the state is (batch, W-1, features)


CORES: dict[str, Callable[[int, ModelConfig], nn.Module]] = {
    "lstm": lambda size, c: RecurrentCore(nn.LSTM, size, c),
    "gru": lambda size, c: RecurrentCore(nn.GRU, size, c),
    "rnn": lambda size, c: RecurrentCore(nn.RNN, size, c),
    "mlp": WindowMLPCore,
    "peephole": lambda size, c: GateLSTMCore(size, c, "peephole"),
    "cifg": lambda size, c: GateLSTMCore(size, c, "cifg"),
}


class SequenceModel(nn.Module):
    """Encoder, core and head; predicts the next item at every position."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.arch not in CORES:
            raise MelodyError(f"unknown model '{config.arch}': expected one of "
                              f"{', '.join(CORES)}")
        if config.input not in ENCODERS:
            raise MelodyError(f"unknown input '{config.input}': expected one of "
                              f"{', '.join(ENCODERS)}")
        check(config)  # sizes within bounds before anything is allocated
        self.config = config
        self.encoder = ENCODERS[config.input](config)
        self.core = CORES[config.arch](self.encoder.size, config)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.output_size or config.vocab_size)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """Outputs for every position of ``x`` (B, T[, F]) and the state after the last one."""
        hidden, state = self.core(self.encoder(x), state)
        return self.head(self.dropout(hidden)), state

    def reorder_state(self, state: State, index: torch.Tensor) -> State:
        """The state of batch rows ``index`` (for beam search), in that order."""
        return _select(state, index, self.core.batch_dim)


def grow_vocabulary(model: SequenceModel, size: int) -> SequenceModel:
    """The model with room for ``size`` tokens: old rows of the embedding and the head keep
    their weights; new tokens start with fresh embeddings and a head row that predicts them
    as rarely as the least likely old token (so fine-tuning starts from the old model)."""
    config = model.config
    old = config.vocab_size
    if size == old:
        return model
    if size < old or config.input != "embedding" or config.output_size != old:
        raise MelodyError(f"cannot grow a {config.input}-input model's vocabulary from "
                          f"{old} to {size} tokens (only token embeddings grow)")
    grown = SequenceModel(replace(config, vocab_size=size, output_size=size))
    state = grown.state_dict()
    for name, tensor in model.state_dict().items():
        if name == "head.weight":
            state[name][old:] = 0.0
        elif name == "head.bias":
            state[name][old:] = tensor.min()
        state[name][: tensor.shape[0]] = tensor  # same shape, or the first rows of a grown one
    grown.load_state_dict(state)
    return grown


def _select(state: State, index: torch.Tensor, dim: int) -> State:
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, index)
    return tuple(_select(s, index, dim) for s in state)


def detach_state(state: State) -> State:
    """The same state cut from the autograd graph (truncated backpropagation)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
