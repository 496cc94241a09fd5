"""Training examples cut from token streams: classic windows and contiguous chunks.

Training data is a list of *episodes*. An episode is a list of ``(inputs, targets)``
chunks over which a recurrent state is carried; state starts fresh at each episode, so it
never crosses a song boundary. Targets equal to ``IGNORE`` are not scored.

- ``window_episodes``: the classic protocol — every window of W tokens predicts the next
  token, one window per step, batch 1, consecutive windows of a song in one episode.
- ``stream_episodes``: songs as whole sequences, several per batch, cut into chunks for
  truncated backpropagation through time.

Streams are token ids (T,); or token ids with derived input columns (T, 1 + K), whose targets
are the next token ids (column 0); or float frames (T, F) for numeric series, whose targets
are the next frames, with NaN padding instead of ``IGNORE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from melodyrnn.errors import MelodyError

IGNORE = -100
Chunk = tuple[torch.Tensor, torch.Tensor]
Episode = list[Chunk]


def windows(tokens: Sequence[int], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of ``width`` tokens and the token after it: shapes (N, width) and (N,)."""
    stream = as_stream(tokens)
    if stream.dim() == 2 and not stream.is_floating_point():
        raise MelodyError("classic window batching takes tokens only: use --batching stream "
                          "with derived --inputs")
    if len(stream) <= width:
        return (stream.new_empty((0, width, *stream.shape[1:])),
                stream.new_empty((0, *stream.shape[1:])))
    inputs = stream.unfold(0, width, 1)[:-1]  # frames (T, F) unfold to (N, F, width)
    return inputs.movedim(-1, 1).contiguous(), stream[width:].clone()


def window_episodes(streams: Sequence[Sequence[int]], width: int) -> list[Episode]:
    """One episode per song: its windows in order, each scored on the next token only."""
    episodes = []
    for tokens in streams:
        inputs, targets = windows(tokens, width)
        if len(targets) == 0:
            continue
        chunk_targets = _unscored(targets, (len(targets), width, *targets.shape[1:]))
        chunk_targets[:, -1] = targets
        episodes.append([(inputs[i : i + 1], chunk_targets[i : i + 1])
                         for i in range(len(targets))])
    return episodes


@dataclass(frozen=True)
class StreamBatching:
    """How songs are grouped for sequence training."""

    batch_size: int = 32
    bptt: int = 64


def stream_episodes(streams: Sequence[Sequence[int]], batching: StreamBatching,
                    generator: torch.Generator | None = None) -> list[Episode]:
    """Songs grouped ``batch_size`` at a time (similar lengths together), padded, cut every ``bptt``.

    With a generator, songs are shuffled before grouping and the groups are shuffled too.
    """
    usable = [as_stream(s) for s in streams if len(s) >= 2]
    order = list(range(len(usable)))
    if generator is not None:
        order = torch.randperm(len(usable), generator=generator).tolist()
    # Group neighbours by length so little padding is wasted; shuffling decides ties.
    order.sort(key=lambda i: len(usable[i]))
    groups = [order[i : i + batching.batch_size] for i in range(0, len(order),
                                                                  batching.batch_size)]
    if generator is not None:
        groups = [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]
    return [_padded_episode([usable[i] for i in group], batching.bptt) for group in groups]


def _padded_episode(songs: list[torch.Tensor], bptt: int) -> Episode:
    length = max(len(s) for s in songs) - 1
    shape = (len(songs), length, *songs[0].shape[1:])
    inputs = songs[0].new_zeros(shape)
    first = next_targets(songs[0])
    targets = _unscored(first, (len(songs), length, *first.shape[1:]))
    for row, tensor in enumerate(songs):
        inputs[row, : len(tensor) - 1] = tensor[:-1]
        targets[row, : len(tensor) - 1] = next_targets(tensor)
    return [(inputs[:, start : start + bptt], targets[:, start : start + bptt])
            for start in range(0, length, bptt)]


def next_targets(stream: torch.Tensor) -> torch.Tensor:
    """What each position of a stream predicts: the next token id (column 0 of a stream with
    derived inputs), or the next frame of a numeric series."""
    if stream.dim() == 2 and not stream.is_floating_point():
        return stream[1:, 0]
    return stream[1:]


def count_targets(episodes: Sequence[Episode]) -> int:
    """Number of scored targets in a set of episodes."""
    return sum(int(scored(y).sum()) for episode in episodes for _, y in episode)


def as_stream(items: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """Token ids as a long tensor (T,); tensors (float frames, token rows) stay as they are."""
    if isinstance(items, torch.Tensor):
        return items
    return torch.as_tensor(list(items), dtype=torch.long)


def scored(targets: torch.Tensor) -> torch.Tensor:
    """Which target positions count: ids other than IGNORE, or frames without NaN (padding)."""
    if targets.is_floating_point():
        return ~torch.isnan(targets).any(-1)
    return targets != IGNORE


def _unscored(like: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Targets that are not scored: IGNORE for token ids, NaN for float frames."""
    return like.new_full(shape, float("nan") if like.is_floating_point() else IGNORE)
