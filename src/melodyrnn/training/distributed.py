"""Data-parallel training across processes with PyTorch's own engine (torchrun + DDP).

``torchrun --nproc-per-node N -m melodyrnn train ...`` starts N copies; each builds the
same batches of songs, keeps its share of every batch (rows ``rank::world``), and
DistributedDataParallel averages the gradients. Losses are normalised by the number of
targets in the *whole* batch, so N processes take the same steps as one process with the
same global batch. Only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from melodyrnn.training.episodes import IGNORE, Episode


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """True for the process that writes files and prints."""
        return self.rank == 0

    def shard(self, episodes: Sequence[Episode]) -> list[Episode]:
        """Each episode's batch rows for this process (a padding row where it gets none)."""
        if self.world == 1:
            return list(episodes)
        return [[_rows(x, y, self.rank, self.world) for x, y in episode] for episode in episodes]

    def total(self, *values: float) -> list[float]:
        """Values summed over all processes."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model as DDP sees it (the model itself for one process)."""
        if self.world == 1:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)


SINGLE = Group()


def _rows(x: torch.Tensor, y: torch.Tensor, rank: int, world: int):
    x_part, y_part = x[rank::world], y[rank::world]
    if len(x_part) == 0:  # every process must take part in every step
        return torch.zeros_like(x[:1]), torch.full_like(y[:1], IGNORE)
    return x_part, y_part


def from_environment(device: torch.device) -> Group:
    """Join the process group torchrun describes in the environment (or stay single)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return SINGLE
    if not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return Group(rank, torch.distributed.get_world_size())


def device_for(name: str) -> str:
    """With torchrun on GPUs, each process takes the GPU of its local rank."""
    if name in ("cuda", "auto") and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return name
