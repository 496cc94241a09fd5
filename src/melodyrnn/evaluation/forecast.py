"""Forecasting numeric series with a trained model, and how good it is against naive baselines.

A series model is trained on windows of W frames (fresh state each), predicting the next
frame at every position. So it is used the same way here: each prediction sees exactly the
last W frames. A multi-step forecast feeds its own predicted frames back, W at a time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from melodyrnn.codecs.series import NumericCodec
from melodyrnn.errors import MelodyError
from melodyrnn.files import atomic_write
from melodyrnn.models.network import SequenceModel


@dataclass(frozen=True)
class ForecastMetrics:
    """Errors of the model and of the naive last-value and moving-average baselines (real units)."""

    rmse: float
    mae: float
    naive_rmse: float
    naive_mae: float
    average_rmse: float
    average_mae: float
    count: int
    target: str = ""

    @property
    def beats_naive(self) -> bool:
        """Whether the model's RMSE is below the naive last-value baseline's."""
        return self.rmse < self.naive_rmse

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"target": self.target, "count": self.count, "rmse": self.rmse, "mae": self.mae,
                "naive_rmse": self.naive_rmse, "naive_mae": self.naive_mae,
                "moving_average_rmse": self.average_rmse,
                "moving_average_mae": self.average_mae, "beats_naive": self.beats_naive}

    def lines(self) -> list[str]:
        """A small table and a verdict, for people."""
        rows = [("model", self.rmse, self.mae), ("naive last value", self.naive_rmse,
                                                 self.naive_mae),
                ("moving average", self.average_rmse, self.average_mae)]
        out = [f"{'':18} {'RMSE':>12} {'MAE':>12}"]
        out += [f"{name:18} {r:12.5g} {a:12.5g}" for name, r, a in rows]
        ratio = self.rmse / self.naive_rmse if self.naive_rmse else float("nan")
        verdict = "beats" if self.beats_naive else "does NOT beat"
        out.append(f"the model {verdict} the naive last-value baseline on {self.target} "
                   f"({self.count} predictions, RMSE ratio {ratio:.3f})")
        return out


def _errors(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    difference = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.sqrt(np.mean(difference ** 2))), float(np.mean(np.abs(difference)))


def metrics(predicted: np.ndarray, truth: np.ndarray, naive: np.ndarray, average: np.ndarray,
            target: str = "") -> ForecastMetrics:
    """RMSE and MAE of the model and both baselines against the truth."""
    if len(truth) == 0:
        raise MelodyError("nothing to score: no rows after the first window")
    return ForecastMetrics(*_errors(predicted, truth), *_errors(naive, truth),
                           *_errors(average, truth), len(truth), target)


@torch.no_grad()
def next_frames(model: SequenceModel, windows: torch.Tensor) -> torch.Tensor:
    """The predicted next frame (B, F) after each window of scaled frames (B, W, F)."""
    model.eval()
    output, _ = model(windows)
    return output[:, -1]


def one_step(model: SequenceModel, codec: NumericCodec, values: np.ndarray, window: int,
             start: int | None = None, batch: int = 4096) -> ForecastMetrics:
    """Score one-step-ahead predictions of rows ``start..`` (default ``window``) of raw values.

    Every prediction sees the W real rows before it; the naive baseline repeats the last
    target value, the moving average is the mean of the last W target values.
    """
    start = window if start is None else max(start, window)
    frames = codec.encode(values, source="series")
    windows = frames.unfold(0, window, 1).movedim(-1, 1)[start - window : len(values) - window]
    predicted = torch.cat([next_frames(model, windows[i : i + batch])
                           for i in range(0, len(windows), batch)]) if len(windows) else frames[:0]
    target = codec.target_index
    series = np.asarray(values, dtype=np.float64)[:, target]
    truth = series[start:]
    naive = series[start - 1 : -1]
    average = np.array([series[t - window : t].mean() for t in range(start, len(series))])
    return metrics(codec.decode(predicted)[:, target], truth, naive, average, codec.target)


def forecast(model: SequenceModel, codec: NumericCodec, history: np.ndarray, horizon: int,
             window: int) -> np.ndarray:
    """``horizon`` future rows (raw units, all columns) after the raw ``history`` rows."""
    if len(history) < window:
        raise MelodyError(f"the history has {len(history)} rows; this model needs at least "
                          f"{window}")
    frames = codec.encode(np.asarray(history)[-window:], source="history")[None]
    predicted = []
    for _ in range(horizon):
        step = next_frames(model, frames[:, -window:])
        predicted.append(step[0])
        frames = torch.cat([frames, step[:, None]], dim=1)
    if not predicted:
        return np.empty((0, codec.vocab_size))
    return codec.decode(torch.stack(predicted))


def horizon_metrics(predicted: np.ndarray, truth: np.ndarray, history: np.ndarray,
                    window: int, target: str = "") -> ForecastMetrics:
    """Multi-step forecast vs truth; baselines hold the last value / last-W mean flat."""
    steps = min(len(predicted), len(truth))
    flat = np.full(steps, history[-1])
    return metrics(predicted[:steps], truth[:steps], flat,
                   np.full(steps, np.mean(history[-window:])), target)


def plot_forecast(path: str | Path, history: np.ndarray, predicted: np.ndarray,
                  truth: np.ndarray | None = None, label: str = "value", title: str = "") -> Path:
    """A PNG of the history, the forecast and (if known) the held-out truth of one column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    past = np.arange(-len(history) + 1, 1)
    future = np.arange(1, len(predicted) + 1)
    axes.plot(past, history, color="0.25", label="history")
    if truth is not None and len(truth):
        axes.plot(np.arange(1, len(truth) + 1), truth, color="tab:green", label="held-out truth")
    axes.plot(np.concatenate([[0], future]), np.concatenate([history[-1:], predicted]),
              color="tab:orange", linestyle="--", marker=".", label="forecast")
    axes.axvline(0.5, color="0.7", linewidth=0.8)
    axes.set_xlabel("step (0 = last known row)")
    axes.set_ylabel(label)
    axes.set_title(title or f"{label}: {len(predicted)}-step forecast")
    axes.legend(loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    with atomic_write(path) as file:  # never half a file, never over a device or FIFO
        file.write(buffer.getvalue())
    return path
