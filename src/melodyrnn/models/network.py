"""Small sequence models with one interface: ``forward(x, state=None) -> (output, state)``.

A model is an input encoder (token embedding, optionally with derived note inputs; the
classic scalar index; or float features), a core (LSTM, GRU, vanilla RNN, or a window MLP)
and a head (``heads``: joint or factored). Every core carries state between calls, so
feeding a sequence one step at a time equals feeding it whole: recurrent cores carry
their hidden state, the window MLP carries its last W-1 inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from melodyrnn.errors import MelodyError
from melodyrnn.models.cells import GateLSTMCore
from melodyrnn.models.config import MAX_PARAMETERS, MAX_VOCAB, ModelConfig
from melodyrnn.models.copying import CopyMemory, Memory, mixed_log_probs, mixed_nll
from melodyrnn.models.heads import HEADS, IGNORE, FactoredHead, JointHead, TokenLoss
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


class NoteEmbedding(nn.Module):
    """A token's vector plus one learned vector per derived input column, summed.

    Input (B, T, 1 + columns): the token id, then the codec's feature columns
    (``codecs.features``) in order.
    """

    def __init__(self, vocab_size: int, feature_sizes: tuple[int, ...], dim: int) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, dim)
        self.columns = nn.ModuleList(nn.Embedding(size, dim) for size in feature_sizes)
        self.size = dim
        # The sum of 1 + K unit-variance vectors would be K + 1 times as loud as one token's:
        # start every table at 1 / (1 + K) of the variance, so the sum starts like a token.
        for table in (self.token, *self.columns):
            nn.init.normal_(table.weight, std=(1 + len(feature_sizes)) ** -0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = self.token(x[..., 0])
        for index, table in enumerate(self.columns, start=1):
            summed = summed + table(x[..., index])
        return summed


def _embedding(config: ModelConfig) -> nn.Module:
    if config.feature_sizes:
        return NoteEmbedding(config.vocab_size, config.feature_sizes, config.embedding_dim)
    return TokenEmbedding(config.vocab_size, config.embedding_dim)


class Features(nn.Module):
    """Float features used as they are (numeric series)."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.size = vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


ENCODERS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "embedding": _embedding,
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

    def __init__(self, config: ModelConfig,
                 factors: tuple[list[int], list[int]] | None = None) -> None:
        """``factors``: a factored head's pitch and duration class of each token (the codec's
        ``factors()``); a model rebuilt from a checkpoint takes them from its weights."""
        super().__init__()
        if config.arch not in CORES:
            raise MelodyError(f"unknown model '{config.arch}': expected one of "
                              f"{', '.join(CORES)}")
        if config.input not in ENCODERS:
            raise MelodyError(f"unknown input '{config.input}': expected one of "
                              f"{', '.join(ENCODERS)}")
        check(config)  # sizes within bounds before anything is allocated
        if config.feature_sizes and config.input != "embedding":
            raise MelodyError(f"--inputs {config.inputs}: derived inputs need --input embedding")
        if config.copy and config.input != "embedding":
            raise MelodyError("--copy: a copy memory needs token inputs (--input embedding)")
        for name in ("vocab_size", "output_size"):
            size = getattr(config, name)
            if type(size) is not int or not 0 <= size <= MAX_VOCAB:
                raise MelodyError(f"{size!r} distinct tokens ({name}): expected at most "
                                  f"{MAX_VOCAB} (a coarser --quantize merges durations)")
        self.config = config
        self.encoder = ENCODERS[config.input](config)
        self.core = CORES[config.arch](self.encoder.size, config)
        self.dropout = nn.Dropout(config.dropout)
        self.head = make_head(config, factors)
        self.copier = CopyMemory(config.hidden) if config.copy else None

    def forward(self, x: torch.Tensor, state: State = None, targets: torch.Tensor | None = None
                ) -> tuple[Any, State]:
        """Outputs for every position of ``x`` (B, T[, F]) and the state after the last one.

        Outputs are logits (or log-probabilities) over the tokens, or, given ``targets``
        (B, T), the ``TokenLoss`` of those targets, which a factored head computes without
        the full distribution.
        """
        if self.copier is None:
            hidden, state = self.core(self.encoder(x), state)
            hidden = self.dropout(hidden)
            if targets is not None:
                return self.head.loss(hidden, targets), state
            return self.head(hidden), state
        core_state, memory = state if state is not None else (None, None)
        hidden, core_state = self.core(self.encoder(x), core_state)
        hidden = self.dropout(hidden)
        weights, values, gates, memory = self.copier(hidden, x[..., 0] if x.dim() == 3 else x,
                                                     memory)
        state = CopyState(core_state, memory)
        if targets is not None:
            loss = self.head.loss(hidden, targets)
            nll = mixed_nll(loss.nll, weights, values, gates, targets.clamp_min(0))
            return TokenLoss(torch.where(targets != IGNORE, nll, torch.zeros_like(nll)),
                             loss.guess), state
        head = self.head(hidden).float().log_softmax(-1)
        return mixed_log_probs(head, weights, values, gates), state

    def reorder_state(self, state: State, index: torch.Tensor) -> State:
        """The state of batch rows ``index`` (for beam search), in that order."""
        if isinstance(state, CopyState):  # the memory's batch dimension comes first
            return CopyState(_select(state.core, index, self.core.batch_dim),
                             _select(state.memory, index, 0))
        return _select(state, index, self.core.batch_dim)


def make_head(config: ModelConfig, factors: tuple[list[int], list[int]] | None = None
              ) -> nn.Module:
    """The output head a config names (see ``heads``)."""
    outputs = config.output_size or config.vocab_size
    if config.head == "joint":
        return JointHead(config.hidden, outputs)
    if config.head not in HEADS:
        raise MelodyError(f"unknown head '{config.head}': expected one of {', '.join(HEADS)}")
    if not config.pitch_classes or not config.duration_classes:
        raise MelodyError(f"--head {config.head}: needs a note codec's pitch and duration classes")
    pitch_of, duration_of = factors if factors is not None else ([], [])
    sizes = (config.pitch_classes, config.duration_classes)
    if config.head == "duration-pitch":
        sizes, pitch_of, duration_of = sizes[::-1], duration_of, pitch_of
    first, second = sizes
    final = first if config.ends else -1  # the end token: a first class of its own
    first_of = [final if c < 0 else c for c in pitch_of] if factors is not None else None
    second_of = [max(c, 0) for c in duration_of] if factors is not None else None
    return FactoredHead(config.hidden, first + int(config.ends), second, first_of, second_of,
                        tokens=outputs, final_class=final)


def grow_vocabulary(model: SequenceModel, size: int,
                    feature_sizes: tuple[int, ...] | None = None) -> SequenceModel:
    """The model with room for ``size`` tokens: old rows of the embedding and the head keep
    their weights; new tokens start with fresh embeddings and a head row that predicts them
    as rarely as the least likely old token (so fine-tuning starts from the old model).
    ``feature_sizes`` are the derived inputs' table sizes for the grown vocabulary."""
    config = model.config
    old = config.vocab_size
    if size == old:
        return model
    if size < old or config.input != "embedding" or config.output_size != old \
            or config.head != "joint":
        raise MelodyError(f"cannot grow a {config.input}-input, {config.head}-head model's "
                          f"vocabulary from {old} to {size} tokens (only token embeddings "
                          "and joint heads grow)")
    grown = SequenceModel(replace(config, vocab_size=size, output_size=size,
                                  feature_sizes=feature_sizes or config.feature_sizes))
    state = grown.state_dict()
    for name, tensor in model.state_dict().items():
        if name == "head.weight":
            state[name][old:] = 0.0
        elif name == "head.bias":
            state[name][old:] = tensor.min()
        if tensor.shape[0] == old + 2 and state[name].shape[0] == size + 2:
            # a lookback table: tokens first, then "held" and "none", which move to the end
            state[name][:old], state[name][size:] = tensor[:old], tensor[old:]
        else:  # same shape, or the first rows of a grown one
            state[name][: tensor.shape[0]] = tensor
    grown.load_state_dict(state)
    return grown


class CopyState(NamedTuple):
    """The state of a model with a copy memory: its core's and the memory's."""

    core: State
    memory: Memory | None


def _rebuilt(like: tuple, parts: list) -> tuple:
    """A tuple of the same kind as ``like`` (named tuples keep their type) from ``parts``."""
    return type(like)(*parts) if hasattr(like, "_fields") else tuple(parts)


def _select(state: State, index: torch.Tensor, dim: int) -> State:
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, index)
    return _rebuilt(state, [_select(s, index, dim) for s in state])


def detach_state(state: State) -> State:
    """The same state cut from the autograd graph (truncated backpropagation)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return _rebuilt(state, [detach_state(s) for s in state])


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _SkipInit(TorchFunctionMode):
    """Leaves ``torch.nn.init`` undone: on the meta device only shapes exist, and initialising
    meta tensors would run torch's Python decompositions (and import ``torch._dynamo``)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__module__", "") == "torch.nn.init":
            return args[0] if args else (kwargs or {}).get("tensor")
        return func(*args, **(kwargs or {}))


def shape_of(config: ModelConfig) -> SequenceModel:
    """The model a config describes, on the ``meta`` device: every parameter's name, shape and
    dtype, without allocating any weights (so a huge config costs nothing to inspect)."""
    with torch.device("meta"), _SkipInit():
        return SequenceModel(config)


def check_size(config: ModelConfig, shape: SequenceModel | None = None) -> None:
    """MelodyError unless the model fits ``MAX_PARAMETERS`` (checked before building it);
    ``shape`` is ``shape_of(config)`` if the caller has it already."""
    count = count_parameters(shape if shape is not None else shape_of(config))
    if count > MAX_PARAMETERS:
        raise MelodyError(f"the model would have {count:,} parameters: expected at most "
                          f"{MAX_PARAMETERS:,} (lower --hidden, --layers, --embedding-dim, or "
                          "--window for --model mlp)")
