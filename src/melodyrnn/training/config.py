"""How to train, as plain data: stored in checkpoints, shown as ``train`` options. No torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from melodyrnn.settings import check, setting

BATCHINGS = ("stream", "windows")  # loop.BATCHINGS
OPTIMIZERS = ("adam", "adamw")  # loop.OPTIMIZERS
SCHEDULES = ("constant", "cosine")  # loop.SCHEDULES
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every field is a ``melodyrnn train`` option and is stored in checkpoints."""

    epochs: int = setting(500, "Most passes over the data.", low=1, high=100_000)
    lr: float = setting(0.01, "Adam learning rate.", low=0.0, low_open=True, high=10.0)
    batching: str = setting("stream", "stream: whole songs, truncated BPTT; windows: the classic "
                            "one window per step, batch 1, state carried across a song's "
                            "windows.", choices=BATCHINGS)
    window: int = setting(4, "Tokens per window: MLP context, classic batching, evaluation "
                          "primer.", low=1, high=256)
    batch_size: int = setting(32, "Songs per batch (stream).", low=1, high=4096)
    bptt: int = setting(64, "Tokens per truncated-BPTT chunk.", low=1, high=100_000)
    clip: float = setting(1.0, "Gradient-norm clip (0 = off).", low=0.0, high=1e6)
    stop_accuracy: float = setting(1.0, "Stop once this share (0-1) of training targets is "
                                   "predicted (above 1, e.g. 2: never stop early) ...",
                                   low=0.0, high=2.0)
    stop_patience: int = setting(20, "... for this many more epochs in a row (a memorised "
                                 "song then is near-certain, so sampling reproduces it).", low=0,
                                 high=100_000)
    optimizer: str = setting("adam", "Adam, or AdamW (decoupled weight decay).",
                             choices=OPTIMIZERS)
    weight_decay: float = setting(0.0, "Weight decay.", low=0.0, high=10.0)
    schedule: str = setting("constant", "Learning-rate schedule over the epochs.",
                            choices=SCHEDULES)
    valid_patience: int = setting(5, "With --valid-fraction: stop when the held-out loss has "
                                  "not improved for this many epochs, keeping the best "
                                  "weights.", low=1, high=100_000)
    rng_seed: int = setting(0, "Seed for a repeatable run.", low=0, high=MAX_SEED)

    def __post_init__(self) -> None:
        check(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return asdict(self)
