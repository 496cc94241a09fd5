"""One training loop for every model and codec: episodes of chunks, state carried within each."""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from melodyrnn.errors import MelodyError
from melodyrnn.models.heads import TokenLoss
from melodyrnn.models.network import SequenceModel, detach_state
from melodyrnn.training.config import TrainConfig
from melodyrnn.training.distributed import SINGLE, Group
from melodyrnn.training.episodes import (
    IGNORE,
    Episode,
    StreamBatching,
    count_targets,
    stream_episodes,
    window_episodes,
)
from melodyrnn.training.optim import Adam


@dataclass
class EpochStats:
    """Loss and accuracy over one pass through the data."""

    loss: float
    accuracy: float
    targets: int
    valid_loss: float | None = None


@dataclass
class TrainResult:
    """What happened during training."""

    epochs_run: int = 0
    history: list[EpochStats] = field(default_factory=list)
    stop_reason: str = ""
    interrupted: bool = False
    training_state: dict[str, Any] = field(default_factory=dict)


def class_objective(output: torch.Tensor | TokenLoss, targets: torch.Tensor
                    ) -> tuple[torch.Tensor, int, int]:
    """Summed cross-entropy, correct guesses and scored count for next-token targets.

    ``output`` is the model's ``TokenLoss`` of the targets (what models give when handed the
    targets) or logits (B, T, V).
    """
    if isinstance(output, TokenLoss):
        scored = targets != IGNORE
        correct = int((output.guess[scored] == targets[scored]).sum())
        return output.nll[scored].sum(), correct, int(scored.sum())
    flat_out, flat_targets = output.reshape(-1, output.shape[-1]), targets.reshape(-1)
    loss = nn.functional.cross_entropy(flat_out, flat_targets, ignore_index=IGNORE,
                                       reduction="sum")
    scored = flat_targets != IGNORE
    correct = int((flat_out.argmax(-1)[scored] == flat_targets[scored]).sum())
    return loss, correct, int(scored.sum())


def value_objective(output: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Squared error summed over scored steps (mean over features), 0 correct, scored steps.

    Targets are float frames (B, T, F); NaN frames are padding. The head predicts the first
    ``output.shape[-1]`` features of the next frame.
    """
    targets = targets[..., : output.shape[-1]]
    scored = ~torch.isnan(targets).any(-1)
    error = (output[scored] - targets[scored]).pow(2).mean(-1)
    return error.sum(), 0, int(scored.sum())


OBJECTIVES: dict[str, Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, int, int]]] = {
    "class": class_objective,
    "value": value_objective,
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
                 optimizer: Adam | None = None, clip: float = 0.0,
                 device: torch.device | None = None, amp: bool = False,
                 group: Group = SINGLE) -> EpochStats:
    """One pass: carry state through each episode; update weights after every chunk if training.

    ``episodes`` are this process's shard; losses are normalised over the whole group.
    """
    device = device or torch.device("cpu")
    total_loss, correct, count = 0.0, 0, 0
    for episode in episodes:
        state = None
        for inputs, targets in episode:
            inputs, targets = inputs.to(device), targets.to(device)
            # Token targets go to the model, whose head scores them the cheapest way it can.
            given = {} if targets.is_floating_point() else {"targets": targets}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                output, state = model(inputs, state, **given)
            if isinstance(output, torch.Tensor):
                output = output.float()
            loss, chunk_correct, chunk_count = objective(output, targets)
            if optimizer is not None:
                (group_count,) = group.total(chunk_count)
                if group_count:
                    optimizer.zero_grad()
                    # DDP averages over processes, so scale back up to a sum over the group.
                    (loss * group.world / group_count).backward()
                    if clip > 0:
                        nn.utils.clip_grad_norm_(model.parameters(), clip)
                    optimizer.step()
            state = detach_state(state)
            total_loss += loss.item()
            correct += chunk_correct
            count += chunk_count
    total_loss, correct, count = group.total(total_loss, correct, count)
    if count == 0:
        raise MelodyError("no training examples: every song is too short to predict a note "
                          "from (see --window and --batching)")
    return EpochStats(total_loss / count, correct / count, int(count))


def evaluate_episodes(model: SequenceModel, episodes: Sequence[Episode], objective: Callable,
                      device: torch.device | None = None, group: Group = SINGLE) -> EpochStats:
    """Loss and accuracy without training (dropout off, no gradients)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        stats = run_episodes(model, episodes, objective, device=device, group=group)
    model.train(was_training)
    return stats


# Our own Adam, not torch.optim's: constructing or stepping those imports torch._dynamo (~2 s).
OPTIMIZERS: dict[str, Callable[..., Adam]] = {
    "adam": lambda params, c: Adam(params, lr=c.lr, weight_decay=c.weight_decay),
    "adamw": lambda params, c: Adam(params, lr=c.lr, weight_decay=c.weight_decay,
                                    decoupled=True),
}
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda epoch, epochs: 1.0,
    "cosine": lambda epoch, epochs: 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs)),
}


def set_learning_rate(optimizer: Adam, config: TrainConfig, epoch: int) -> None:
    """The scheduled learning rate for an epoch (a pure function of it, so resuming is exact)."""
    for group in optimizer.param_groups:
        group["lr"] = config.lr * SCHEDULES[config.schedule](epoch, config.epochs)


@dataclass
class Validation:
    """Held-out loss after every epoch: remembers the best weights, says when to stop."""

    episodes: list[Episode]
    patience: int
    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0

    def update(self, model: nn.Module, epoch: int, loss: float) -> bool:
        """Record this epoch's held-out loss; True once it stopped improving for ``patience``."""
        if loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state(self) -> dict[str, Any]:
        return {"best_loss": self.best_loss, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights, "bad_epochs": self.bad_epochs}

    def load(self, state: dict[str, Any]) -> None:
        self.best_loss, self.best_epoch = state["best_loss"], state["best_epoch"]
        self.best_weights, self.bad_epochs = state["best_weights"], state["bad_epochs"]


def pick_device(name: str = "auto") -> torch.device:
    """The torch device for ``--device auto|cpu|cuda|mps``; auto prefers an accelerator."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    kind = name.split(":")[0]  # torchrun gives each process its GPU as cuda:N
    if kind == "cuda" and not torch.cuda.is_available():
        raise MelodyError("--device cuda: no CUDA GPU is available (try --device auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise MelodyError("--device mps: Apple's Metal backend is not available")
    if kind not in ("cpu", "cuda", "mps"):
        raise MelodyError(f"--device {name}: expected auto, cpu, cuda or mps")
    return torch.device(name)


@dataclass
class _Snapshot:
    """Everything that changes during an epoch, as it stood at the end of the last one."""

    epoch: int
    weights: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    data_rng: torch.Tensor
    torch_rng: torch.Tensor
    streak: int
    validation: dict[str, Any] | None = None

    @classmethod
    def take(cls, epoch: int, model: nn.Module, optimizer: Adam,
             generator: torch.Generator, streak: int,
             validation: Validation | None = None) -> _Snapshot:
        return cls(epoch, {k: v.detach().clone() for k, v in model.state_dict().items()},
                   copy.deepcopy(optimizer.state_dict()), generator.get_state(),
                   torch.get_rng_state(), streak,
                   validation.state() if validation is not None else None)

    def restore(self, model: nn.Module, optimizer: Adam,
                generator: torch.Generator) -> None:
        model.load_state_dict(self.weights)
        optimizer.load_state_dict(self.optimizer)
        generator.set_state(self.data_rng)
        torch.set_rng_state(self.torch_rng)

    def training_state(self) -> dict[str, Any]:
        """Plain data (and tensors) for a checkpoint, enough to resume exactly."""
        return {"epoch": self.epoch, "optimizer": self.optimizer, "data_rng": self.data_rng,
                "torch_rng": self.torch_rng, "streak": self.streak,
                "validation": self.validation}


def resume_problem(model: SequenceModel, config: TrainConfig, state: dict[str, Any]
                   ) -> str | None:
    """What keeps a saved training state from resuming ``model`` with ``config``; None if
    nothing does. Tried on a copy of the model and a fresh optimiser, so nothing changes."""
    try:
        for name in ("epoch", "streak"):
            if type(state[name]) is not int or state[name] < 0:
                return f"{name} {state[name]!r}: expected a whole number, 0 or more"
        trial = copy.deepcopy(model)
        optimizer = OPTIMIZERS[config.optimizer](trial.parameters(), config)
        saved_rng = torch.get_rng_state()
        try:
            _Snapshot(state["epoch"], trial.state_dict(), state["optimizer"], state["data_rng"],
                      state["torch_rng"], state["streak"]).restore(trial, optimizer,
                                                                   torch.Generator())
        finally:
            torch.set_rng_state(saved_rng)
        for parameter in trial.parameters():
            for name, value in optimizer.state.get(parameter, {}).items():
                if not isinstance(value, torch.Tensor):
                    continue
                if value.dim() and value.shape != parameter.shape:
                    return (f"optimiser state of shape {tuple(value.shape)} for a weight of "
                            f"shape {tuple(parameter.shape)}")
                if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                    return (f"optimiser state {name} holds NaN or infinity: expected finite "
                            "numbers (resuming would make every weight NaN)")
        validation = state.get("validation")
        if validation:
            Validation([], 1).load(validation)
            if validation["best_weights"] is not None:
                best = validation["best_weights"]
                if any(t.is_floating_point() and not bool(torch.isfinite(t).all())
                       for t in best.values()):
                    return "best held-out weights hold NaN or infinity: expected finite numbers"
                trial.load_state_dict(best)
    except KeyError as err:
        return f"missing {err}"
    except (TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        return " ".join(str(err).split())[:160] or type(err).__name__
    return None


def train(model: SequenceModel, streams: Sequence[Sequence[int]], config: TrainConfig,
          target_kind: str = "class", progress: bool = True,
          log: Callable[[str], None] | None = None, resume: dict[str, Any] | None = None,
          device: torch.device | None = None, amp: bool = False,
          on_epoch: Callable[[TrainResult], None] | None = None,
          group: Group = SINGLE,
          valid_streams: Sequence[Sequence[int]] | None = None) -> TrainResult:
    """Train ``model`` on token streams (one per song); stop early at ``stop_accuracy``.

    With ``valid_streams``, the held-out loss is measured after every epoch; training stops
    once it has not improved for ``valid_patience`` epochs and keeps the best weights.

    ``resume`` is a previous run's ``result.training_state``: training goes on from there
    and ends with the same weights as an uninterrupted run. Ctrl-C or a non-finite loss
    rolls back to the end of the last whole epoch, so the result is always consistent.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    device = device or torch.device("cpu")
    generator = seed_everything(config.rng_seed)
    objective = OBJECTIVES[target_kind]
    if config.batching not in BATCHINGS:
        raise MelodyError(f"unknown batching '{config.batching}': expected one of "
                          f"{', '.join(BATCHINGS)}")
    fixed_order = config.batching == "windows"
    model.to(device)
    network = group.wrap(model, device)
    if config.optimizer not in OPTIMIZERS or config.schedule not in SCHEDULES:
        raise MelodyError(f"unknown optimizer or schedule: expected {', '.join(OPTIMIZERS)} and "
                          f"{', '.join(SCHEDULES)}")
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), config)
    validation = None
    if valid_streams:
        batching = StreamBatching(config.batch_size, config.bptt)
        validation = Validation(group.shard(stream_episodes(valid_streams, batching)),
                                config.valid_patience)
    # Snapshots are taken before each epoch's data order is drawn, so a resumed run draws it
    # again from the same generator state and sees exactly what the uninterrupted run saw.
    snapshot = _Snapshot.take(0, model, optimizer, generator, 0)
    if resume is not None:
        snapshot = _Snapshot(resume["epoch"], snapshot.weights, resume["optimizer"],
                             resume["data_rng"], resume["torch_rng"], resume["streak"],
                             resume.get("validation"))
        snapshot.restore(model, optimizer, generator)
        if validation is not None and resume.get("validation"):
            validation.load(resume["validation"])
    episodes = group.shard(BATCHINGS[config.batching](streams, config, generator))
    if count_targets(episodes) == 0 and group.world == 1:
        needed = config.window + 1 if fixed_order else 2
        raise MelodyError(f"no training examples: every song has fewer than {needed} notes "
                          f"(or tokens), so there is nothing to predict"
                          + (f" (--batching windows needs --window {config.window} + 1)"
                             if fixed_order else ""))
    first_epoch = snapshot.epoch
    result = TrainResult(epochs_run=snapshot.epoch,
                         stop_reason=f"ran all {config.epochs} epochs" if config.epochs > 1
                         else "ran the only epoch (--epochs 1)")
    model.train()
    bar = _progress_bar(config.epochs, progress and group.is_main, initial=snapshot.epoch)
    streak = snapshot.streak
    try:
        for epoch in range(snapshot.epoch + 1, config.epochs + 1):
            set_learning_rate(optimizer, config, epoch)
            stats = run_episodes(network, episodes, objective, optimizer, config.clip, device, amp,
                                 group)
            if not math.isfinite(stats.loss):
                snapshot.restore(model, optimizer, generator)
                result.stop_reason = (f"stopped at epoch {epoch}: the loss is not finite; kept "
                                      f"the weights of epoch {snapshot.epoch} (try a lower --lr)")
                break
            reached = stats.accuracy >= config.stop_accuracy
            streak = streak + 1 if reached else 0
            held_out_stalled = False
            if validation is not None:
                held_out = evaluate_episodes(model, validation.episodes, objective, device, group)
                stats.valid_loss = held_out.loss
                held_out_stalled = validation.update(model, epoch, held_out.loss)
            result.history.append(stats)  # before the snapshot: an interrupt in between
            result.epochs_run = epoch  # is settled below by trimming to the snapshot
            snapshot = _Snapshot.take(epoch, model, optimizer, generator, streak, validation)
            if not fixed_order:
                episodes = group.shard(BATCHINGS[config.batching](streams, config, generator))
            bar.set_postfix(loss=f"{stats.loss:.4f}",
                            **({"acc": f"{stats.accuracy:.1%}"} if target_kind == "class" else {}),
                            **({"valid": f"{stats.valid_loss:.4f}"} if validation else {}))
            bar.update()
            if on_epoch is not None:
                result.training_state = snapshot.training_state()
                on_epoch(result)
            if held_out_stalled:
                result.stop_reason = (f"stopped at epoch {epoch}: held-out loss has not improved "
                                      f"for {_epochs(config.valid_patience)} (--valid-patience)")
                break
            if reached and streak > config.stop_patience:
                check = evaluate_episodes(model, episodes, objective, device, group)
                if check.accuracy >= config.stop_accuracy:
                    result.stop_reason = (
                        f"stopped at epoch {epoch}: {check.accuracy:.1%} of {check.targets} "
                        f"training targets predicted for {_epochs(streak)} "
                        f"(--stop-accuracy {config.stop_accuracy:g}, "
                        f"--stop-patience {config.stop_patience})")
                    break
    except KeyboardInterrupt:
        snapshot.restore(model, optimizer, generator)
        result.epochs_run = snapshot.epoch  # the epoch whose weights are kept, as said below
        del result.history[snapshot.epoch - first_epoch:]
        result.interrupted = True
        result.stop_reason = (f"interrupted: kept the weights of epoch {snapshot.epoch}; "
                              "continue with --resume")
    finally:
        bar.close()
    result.training_state = snapshot.training_state()
    if validation is not None and validation.best_weights is not None:
        model.load_state_dict(validation.best_weights)
        result.stop_reason += (f"; kept the weights of epoch {validation.best_epoch} "
                               f"(best held-out loss {validation.best_loss:.4f})")
    model.eval()
    if group.is_main:
        log(result.stop_reason)
    return result


def _epochs(count: int) -> str:
    return f"{count} epoch{'s' * (count != 1)}"


LOGGED_EVERY_SECONDS = 30.0  # progress lines in a log (stderr not a terminal)


class _LoggedProgress:
    """Progress for a log file: a plain line after the first epoch, then at most every
    ``LOGGED_EVERY_SECONDS``, no bar (a bar's carriage returns make a log unreadable). Has
    the part of tqdm's API used here."""

    def __init__(self, total: int, initial: int, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._total, self._done, self._clock = total, initial, clock
        self._last, self._postfix = -math.inf, ""

    def set_postfix(self, **values: str) -> None:
        self._postfix = ", ".join(f"{name} {value}" for name, value in values.items())

    def update(self) -> None:
        self._done += 1
        now = self._clock()
        if now - self._last >= LOGGED_EVERY_SECONDS:
            self._last = now
            print(f"training: epoch {self._done} of {self._total}: {self._postfix}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to clear."""


def _progress_bar(total: int, enabled: bool, initial: int = 0):
    """A tqdm bar on a terminal, a line now and then in a log, nothing when not ``enabled``."""
    from tqdm import tqdm

    if enabled and not sys.stderr.isatty():
        return _LoggedProgress(total, initial)
    return tqdm(total=total, initial=initial, desc="training", unit="epoch", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, leave=False)
