"""Training examples cut from token streams: classic windows and contiguous chunks.

Training data is a list of *episodes*. An episode is a list of ``(inputs, targets)``
chunks over which a recurrent state is carried; state starts fresh at each episode, so it
never crosses a song boundary. Targets equal to ``IGNORE`` are not scored.

- ``window_episodes``: the classic protocol — every window of W tokens predicts the next
  token, one window per step, batch 1, consecutive windows of a song in one episode.
- ``stream_episodes``: songs as whole sequences, several per batch, cut into chunks for
  truncated backpropagation through time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

IGNORE = -100
Chunk = tuple[torch.Tensor, torch.Tensor]
Episode = list[Chunk]


def windows(tokens: Sequence[int], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of ``width`` tokens and the token after it: shapes (N, width) and (N,)."""
    if len(tokens) <= width:
        return torch.empty(0, width, dtype=torch.long), torch.empty(0, dtype=torch.long)
    stream = torch.as_tensor(list(tokens), dtype=torch.long)
    inputs = stream.unfold(0, width, 1)[:-1]
    return inputs.contiguous(), stream[width:].clone()


def window_episodes(streams: Sequence[Sequence[int]], width: int) -> list[Episode]:
    """One episode per song: its windows in order, each scored on the next token only."""
    episodes = []
    for tokens in streams:
        inputs, targets = windows(tokens, width)
        if len(targets) == 0:
            continue
        chunk_targets = torch.full((len(targets), width), IGNORE, dtype=torch.long)
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
    usable = [list(s) for s in streams if len(s) >= 2]
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


def _padded_episode(songs: list[list[int]], bptt: int) -> Episode:
    length = max(len(s) for s in songs) - 1
    inputs = torch.zeros(len(songs), length, dtype=torch.long)
    targets = torch.full((len(songs), length), IGNORE, dtype=torch.long)
    for row, song in enumerate(songs):
        tensor = torch.as_tensor(song, dtype=torch.long)
        inputs[row, : len(song) - 1] = tensor[:-1]
        targets[row, : len(song) - 1] = tensor[1:]
    return [(inputs[:, start : start + bptt], targets[:, start : start + bptt])
            for start in range(0, length, bptt)]


def count_targets(episodes: Sequence[Episode]) -> int:
    """Number of scored targets in a set of episodes."""
    return sum(int((y != IGNORE).sum()) for episode in episodes for _, y in episode)
