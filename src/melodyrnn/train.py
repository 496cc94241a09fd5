"""One training loop for every model and codec: episodes of chunks, state carried within each."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from melodyrnn.data import (
    IGNORE,
    Episode,
    StreamBatching,
    count_targets,
    stream_episodes,
    window_episodes,
)
from melodyrnn.errors import MelodyError
from melodyrnn.models import SequenceModel, detach_state


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every field is a ``melodyrnn train`` option and is stored in checkpoints."""

    epochs: int = 500
    lr: float = 0.01
    batching: str = "stream"
    window: int = 4
    batch_size: int = 32
    bptt: int = 64
    clip: float = 1.0
    stop_accuracy: float = 1.0
    stop_patience: int = 10
    rng_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return asdict(self)


@dataclass
class EpochStats:
    """Loss and accuracy over one pass through the data."""

    loss: float
    accuracy: float
    targets: int


@dataclass
class TrainResult:
    """What happened during training."""

    epochs_run: int = 0
    history: list[EpochStats] = field(default_factory=list)
    stop_reason: str = ""
    interrupted: bool = False


def class_objective(output: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Summed cross-entropy, correct argmax count and scored count for next-token targets."""
    flat_out, flat_targets = output.reshape(-1, output.shape[-1]), targets.reshape(-1)
    loss = nn.functional.cross_entropy(flat_out, flat_targets, ignore_index=IGNORE,
                                       reduction="sum")
    scored = flat_targets != IGNORE
    correct = int((flat_out.argmax(-1)[scored] == flat_targets[scored]).sum())
    return loss, correct, int(scored.sum())


OBJECTIVES: dict[str, Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, int, int]]] = {
    "class": class_objective,
}

BATCHINGS: dict[str, Callable[[Sequence[Sequence[int]], TrainConfig, torch.Generator],
                              list[Episode]]] = {
    "stream": lambda streams, c, g: stream_episodes(streams, StreamBatching(c.batch_size, c.bptt),
                                                    g),
    "windows": lambda streams, c, g: window_episodes(streams, c.window),
}


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and Python for a repeatable run; return a generator for data order."""
    torch.manual_seed(seed)
    random.seed(seed)
    return torch.Generator().manual_seed(seed)


def run_episodes(model: SequenceModel, episodes: Sequence[Episode], objective: Callable,
                 optimizer: torch.optim.Optimizer | None = None,
                 clip: float = 0.0) -> EpochStats:
    """One pass: carry state through each episode; update weights after every chunk if training."""
    total_loss, correct, count = 0.0, 0, 0
    for episode in episodes:
        state = None
        for inputs, targets in episode:
            output, state = model(inputs, state)
            loss, chunk_correct, chunk_count = objective(output, targets)
            if optimizer is not None and chunk_count:
                optimizer.zero_grad()
                (loss / chunk_count).backward()
                if clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
            state = detach_state(state)
            total_loss += loss.item()
            correct += chunk_correct
            count += chunk_count
    if count == 0:
        raise MelodyError("no training examples: every song is shorter than the window")
    return EpochStats(total_loss / count, correct / count, count)


def evaluate_episodes(model: SequenceModel, episodes: Sequence[Episode],
                      objective: Callable) -> EpochStats:
    """Loss and accuracy without training (dropout off, no gradients)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        stats = run_episodes(model, episodes, objective)
    model.train(was_training)
    return stats


def train(model: SequenceModel, streams: Sequence[Sequence[int]], config: TrainConfig,
          target_kind: str = "class", progress: bool = True,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Train ``model`` on token streams (one per song) with Adam; stop early at ``stop_accuracy``."""
    log = log or (lambda message: print(message, file=sys.stderr))
    generator = seed_everything(config.rng_seed)
    objective = OBJECTIVES[target_kind]
    if config.batching not in BATCHINGS:
        raise MelodyError(f"unknown batching '{config.batching}': expected one of "
                          f"{', '.join(BATCHINGS)}")
    fixed_order = config.batching == "windows"
    episodes = BATCHINGS[config.batching](streams, config, generator)
    if count_targets(episodes) == 0:
        raise MelodyError(f"no training examples: every song is shorter than "
                          f"{config.window + 1} items")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    result = TrainResult(stop_reason=f"ran all {config.epochs} epochs")
    model.train()
    bar = _progress_bar(config.epochs, progress)
    streak = 0
    try:
        for epoch in range(1, config.epochs + 1):
            if not fixed_order and epoch > 1:
                episodes = BATCHINGS[config.batching](streams, config, generator)
            stats = run_episodes(model, episodes, objective, optimizer, config.clip)
            result.history.append(stats)
            result.epochs_run = epoch
            bar.set_postfix(loss=f"{stats.loss:.4f}", acc=f"{stats.accuracy:.1%}")
            bar.update()
            if not math.isfinite(stats.loss):
                result.stop_reason = f"stopped at epoch {epoch}: the loss is not finite"
                break
            reached = stats.accuracy >= config.stop_accuracy
            streak = streak + 1 if reached else 0
            if reached and streak > config.stop_patience:
                check = evaluate_episodes(model, episodes, objective)
                if check.accuracy >= config.stop_accuracy:
                    result.stop_reason = (
                        f"stopped at epoch {epoch}: {check.accuracy:.1%} of {check.targets} "
                        f"training targets predicted for {streak} epochs "
                        f"(--stop-accuracy {config.stop_accuracy:g}, "
                        f"--stop-patience {config.stop_patience})")
                    break
    except KeyboardInterrupt:
        result.interrupted = True
        result.stop_reason = f"interrupted at epoch {result.epochs_run}"
    finally:
        bar.close()
    model.eval()
    log(result.stop_reason)
    return result


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="training", unit="epoch", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, leave=False)
