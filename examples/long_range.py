"""Long-range dependencies: the adding problem, where LSTM and GRU learn and a vanilla RNN does not.

Each sequence has T steps of two features: a random value in [0, 1) and a marker. Two
steps are marked — one in the first half, one in the second — and the target, read after
the last step, is the sum of the two marked values (Hochreiter & Schmidhuber's task as used
by Arjovsky et al.). With T = 100 the first marked value lies 50-100 steps back. Always
answering 1 (the mean) scores an MSE of 1/6 ≈ 0.167; using only the recent marked value
gets to 1/12 ≈ 0.083; 'solved' here means below 1/60, which needs the distant one too.

The script uses the project's own pieces: ``SequenceModel`` with the ``features`` encoder,
the ``value`` objective and ``run_episodes`` from the trainer. It writes the learning
curves as a PNG and the numbers as JSON::

    python examples/long_range.py                 # T=100, lstm gru rnn, ~ a few minutes on 2 cores
    python examples/long_range.py --length 60 --steps 800 -o curves.png
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write, check_output
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.training.loop import OBJECTIVES, evaluate_episodes, run_episodes
from melodyrnn.training.optim import Adam

BASELINE_MSE = 1 / 6  # variance of the sum of two U(0, 1) values: the error of always saying 1
SOLVED_MSE = BASELINE_MSE / 10  # below what the recent marked value alone allows (1/12)


@dataclass(frozen=True)
class AddingConfig:
    """The task and how each model is trained on it."""

    length: int = 100
    hidden: int = 64
    batch: int = 64
    steps: int = 2000
    lr: float = 0.003
    eval_every: int = 50
    test_size: int = 1000
    archs: tuple[str, ...] = ("lstm", "gru", "rnn")
    seed: int = 0
    device: str = "cpu"


@dataclass
class Curve:
    """Held-out MSE of one model during training."""

    arch: str
    steps: list[int] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def solved(self) -> bool:
        return bool(self.mse) and min(self.mse) < SOLVED_MSE


def adding_batch(size: int, length: int, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (B, T, 2) and targets (B, T, 1): NaN (not scored) except at the last step."""
    values = torch.rand(size, length, generator=generator)
    markers = torch.zeros(size, length)
    half = length // 2
    first = torch.randint(0, half, (size,), generator=generator)
    second = half + torch.randint(0, length - half, (size,), generator=generator)
    rows = torch.arange(size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = torch.full((size, length, 1), float("nan"))
    targets[:, -1, 0] = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1), targets


def train_curve(arch: str, config: AddingConfig) -> Curve:
    """Train one kind of core on fresh batches; measure held-out MSE every ``eval_every`` steps."""
    torch.manual_seed(config.seed)
    data = torch.Generator().manual_seed(config.seed)
    test = [[adding_batch(config.test_size, config.length,
                          torch.Generator().manual_seed(config.seed + 1))]]
    model = SequenceModel(ModelConfig(arch=arch, vocab_size=2, output_size=1, input="features",
                                      hidden=config.hidden))
    device = torch.device(config.device)
    model.to(device)
    optimizer = Adam(model.parameters(), lr=config.lr)
    objective = OBJECTIVES["value"]
    curve, started = Curve(arch), time.perf_counter()
    for step in range(1, config.steps + 1):
        run_episodes(model, [[adding_batch(config.batch, config.length, data)]], objective,
                     optimizer, clip=1.0, device=device)
        if step % config.eval_every == 0 or step == config.steps:
            curve.steps.append(step)
            curve.mse.append(evaluate_episodes(model, test, objective, device).loss)
    curve.seconds = time.perf_counter() - started
    return curve


def plot(curves: list[Curve], config: AddingConfig, path: Path) -> Path:
    """Learning curves (held-out MSE, log scale) with the always-1 baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    for curve in curves:
        axes.plot(curve.steps, curve.mse, marker=".", label=curve.arch)
    axes.axhline(BASELINE_MSE, color="0.5", linestyle="--", label="always 1 (1/6)")
    axes.set_yscale("log")
    axes.set_xlabel(f"training batches of {config.batch}")
    axes.set_ylabel("held-out MSE")
    axes.set_title(f"adding problem, T = {config.length}: the first marked value is "
                   f"{config.length - config.length // 2}-{config.length} steps back")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path


def run(config: AddingConfig, out: Path) -> dict:
    """Train every model, write the plot and the JSON beside it; the results."""
    torch.set_num_threads(1)  # these models are tiny: extra threads only add hand-offs
    curves = []
    for arch in config.archs:
        curve = train_curve(arch, config)
        curves.append(curve)
        print(f"{arch:5} final MSE {curve.mse[-1]:.4f}  best {min(curve.mse):.4f}  "
              f"{'solved' if curve.solved else 'NOT solved'}  ({curve.seconds:.0f} s)", flush=True)
    plot(curves, config, out)
    results = {"config": asdict(config), "baseline_mse": BASELINE_MSE, "solved_below": SOLVED_MSE,
               "curves": [{**asdict(c), "solved": c.solved} for c in curves]}
    with atomic_write(out.with_suffix(".json")) as file:
        file.write(json.dumps(results, indent=1).encode())
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return results


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point."""
    defaults = AddingConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=defaults.length, help="sequence length T")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="training batches")
    parser.add_argument("--hidden", type=int, default=defaults.hidden)
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--eval-every", type=int, default=defaults.eval_every)
    parser.add_argument("--test-size", type=int, default=defaults.test_size)
    parser.add_argument("--archs", default=",".join(defaults.archs))
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default=defaults.device, help="cpu or cuda")
    parser.add_argument("-o", "--out", default="long_range.png", help="plot (JSON beside it)")
    args = parser.parse_args(argv)
    config = AddingConfig(args.length, args.hidden, args.batch, args.steps, args.lr,
                          args.eval_every, args.test_size, tuple(args.archs.split(",")),
                          args.seed, args.device)
    try:  # both outputs checked before minutes of training, and written as one line of error
        out = check_output(args.out, suffixes=(".png",))
        check_output(out.with_suffix(".json"), suffixes=(".json",), option="-o (its JSON)")
        return run(config, out)
    except MelodyError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
