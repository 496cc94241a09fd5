"""Numeric series through the shared pipeline: CSV reading, leak-free scaling, forecasts, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from melodyrnn.codecs.registry import codec_from_dict
from melodyrnn.codecs.series import (
    NumericCodec,
    SeriesTable,
    chronological_split,
    parse_csv,
    read_csv,
    window_items,
)
from melodyrnn.errors import ParseError
from melodyrnn.evaluation.forecast import ForecastMetrics, forecast, metrics, one_step, plot_forecast
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.pipeline import fit
from melodyrnn.training.config import TrainConfig
from melodyrnn.training.episodes import StreamBatching, stream_episodes, window_episodes
from melodyrnn.training.loop import value_objective
from tests.clitools import run


def sine_table(rows: int = 240) -> SeriesTable:
    t = np.arange(rows, dtype=float)
    close = 10 + 3 * np.sin(t / 6) + 0.01 * t
    values = np.stack([close - 0.1, close + 0.2, close - 0.2, 1000 + 10 * np.cos(t / 6), close],
                      axis=1)
    return SeriesTable(("Open", "High", "Low", "Volume", "Close"), values, "sine")


def write_csv(path, table: SeriesTable) -> None:
    lines = ["Date," + ",".join(table.columns)]
    lines += [f"day{i}," + ",".join(f"{x:.6f}" for x in row) for i, row in enumerate(table.values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_scaling_is_fitted_on_the_training_rows_only() -> None:
    table = sine_table()
    train, valid = chronological_split(table, 0.25)
    codec = NumericCodec.fit(train, "Close")
    changed = table.values.copy()
    changed[len(train):] *= 1000  # wild held-out values must not move the scaler
    train_again, _ = chronological_split(SeriesTable(table.columns, changed), 0.25)
    assert NumericCodec.fit(train_again, "Close") == codec
    assert np.allclose(codec.mean, train.values.mean(axis=0))
    assert np.allclose(codec.scale_values(train.values).mean(axis=0), 0, atol=1e-9)
    assert not np.allclose(codec.mean, table.values.mean(axis=0))
    frames = codec.encode(valid)
    assert np.allclose(codec.decode(frames), valid.values, atol=1e-3)  # inverse on output


def test_the_split_is_chronological() -> None:
    table = sine_table(100)
    train, valid = chronological_split(table, 0.2)
    assert len(train) == 80 and len(valid) == 20
    assert np.array_equal(train.values, table.values[:80])
    assert np.array_equal(valid.values, table.values[80:])
    windows = window_items(train.values, 7)
    assert len(windows) == 73 and all(len(w) == 8 for w in windows)
    assert np.array_equal(windows[-1][-1], table.values[79])  # no window reaches past the split


def test_codec_survives_a_checkpoint_dict() -> None:
    codec = NumericCodec.fit(sine_table(), "Close")
    again = codec_from_dict(codec.to_dict())
    assert again == codec and again.target_index == 4 and again.target_kind == "value"


def test_csv_columns_header_comments_and_defaults(tmp_path) -> None:
    text = "# Open,High,Low,Volume,Close\n1,2,0.5,100,1.5\n2,3,1.5,110,2.5\n"
    table = parse_csv(text, "stock.csv")
    assert table.columns == ("Open", "High", "Low", "Volume", "Close")
    picked = parse_csv(text, "stock.csv", ["Close", "Open"])
    assert picked.values.tolist() == [[1.5, 1.0], [2.5, 2.0]]
    dated = parse_csv("Date,Close\n2020-01-01,3\n2020-01-02,4\n", "d.csv")
    assert dated.columns == ("Close",)  # the date column is left out by default


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n3,\n", r"prices\.csv:3:2: missing value in column 'b'"),
    ("a,b\n1,2\n3,x7\n", r"prices\.csv:3:2: 'x7' in column 'b' is not a number"),
    ("a,b\n1,2\n3\n", r"prices\.csv:3:2: missing value in column 'b'"),
    ("a,b\n", r"prices\.csv:1: no data rows"),
])
def test_csv_errors_name_file_line_and_column(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=message):
        read_csv(path, ["a", "b"])


def test_unknown_column_lists_the_header(tmp_path) -> None:
    with pytest.raises(ParseError, match="no column 'Close'; the header has a, b"):
        parse_csv("a,b\n1,2\n", "p.csv", ["Close"])


def test_float_frames_batch_like_tokens() -> None:
    frames = torch.arange(24, dtype=torch.float32).reshape(8, 3)
    ((inputs, targets),) = stream_episodes([frames, frames[:5]], StreamBatching(4, 64))[0]
    assert inputs.shape == (2, 7, 3) and targets.shape == (2, 7, 3)
    assert torch.isnan(targets).any()  # the shorter row is padded with NaN
    loss, correct, count = value_objective(torch.zeros(2, 7, 3), targets)
    assert count == 4 + 7 and correct == 0 and torch.isfinite(loss)
    episode = window_episodes([frames], 3)[0]
    assert episode[0][0].shape == (1, 3, 3) and torch.equal(episode[0][1][0, -1], frames[3])


def test_sine_forecast_beats_the_naive_baseline(tmp_path) -> None:
    table = sine_table()
    train, _ = chronological_split(table, 0.25)
    codec = NumericCodec.fit(train, "Close")
    report = fit(window_items(train.values, 7), codec, ModelConfig(hidden=32, input="features"),
                 TrainConfig(epochs=40, lr=0.01, window=7), progress=False,
                 log=lambda message: None)
    model = report.checkpoint.model
    result = one_step(model, codec, table.values, 7, start=len(train))
    assert result.count == len(table) - len(train)
    assert result.beats_naive, result.lines()
    assert "beats the naive" in result.lines()[-1]
    future = forecast(model, codec, train.values, 12, 7)
    assert future.shape == (12, 5) and np.isfinite(future).all()
    path = plot_forecast(tmp_path / "forecast.png", train.values[-50:, 4], future[:, 4],
                         table.values[len(train):len(train) + 12, 4], label="Close")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_a_model_that_loses_to_naive_is_reported_as_such() -> None:
    truth = np.array([1.0, 2.0, 3.0])
    result = metrics(truth + 1.0, truth, truth - 0.1, truth + 2, "Close")
    assert isinstance(result, ForecastMetrics) and not result.beats_naive
    assert "does NOT beat the naive last-value baseline" in result.lines()[-1]
    assert result.to_dict()["beats_naive"] is False


def test_cli_series_end_to_end(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "prices.csv", sine_table())
    shown = run("train", "--kind", "series", "prices.csv", "--columns",
                "Open,High,Low,Volume,Close", "--target", "Close", "--window", "7",
                "--hidden", 32, "--epochs", 30, "--no-progress")
    assert "naive last value" in shown.stderr and "saved model to" in shown.stdout
    (tmp_path / "prices.csv").unlink()  # generate needs no data file: the model keeps the tail
    plotted = run("generate", "--kind", "series", "--horizon", 30, "-o", "forecast.png")
    assert "held-out truth" in plotted.stderr
    assert (tmp_path / "forecast.png").stat().st_size > 5000
    run("generate", "--horizon", 10, "-o", "forecast.csv")  # kind inferred from the model
    rows = (tmp_path / "forecast.csv").read_text().splitlines()
    assert rows[0] == "step,Open,High,Low,Volume,Close" and len(rows) == 11
    printed = run("generate", "--horizon", 3).stdout.splitlines()
    assert len(printed) == 4
    assert "--horizon: only with --kind series" not in printed

    write_csv(tmp_path / "prices.csv", sine_table())
    report = json.loads(run("evaluate", "--kind", "series", "prices.csv", "--json").stdout)
    assert {"rmse", "mae", "naive_rmse", "naive_mae"} <= set(report)
    assert report["count"] == 48  # the held-out fifth of the training file
    assert report["rmse"] < report["naive_rmse"]
    every = json.loads(run("evaluate", "prices.csv", "--json", "--split", "all").stdout)
    assert every["count"] == 240 - 7
    assert "RMSE" in run("evaluate", "prices.csv").stdout


def test_cli_series_primer_and_errors(tmp_path) -> None:
    model = tmp_path / "s.pt"
    write_csv(tmp_path / "prices.csv", sine_table(120))
    run("train", "--kind", "series", tmp_path / "prices.csv", "--window", 5, "--hidden", 8,
        "--epochs", 2, "--no-progress", "-o", model)
    other = tmp_path / "other.csv"
    write_csv(other, sine_table(30))
    out = run("generate", "--model", model, "--primer", other, "--horizon", 4)
    assert "last 5 of 30 rows" in out.stderr and len(out.stdout.splitlines()) == 5
    assert ckpt.load(model).codec.columns == ["Open", "High", "Low", "Volume", "Close"]
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Close\nd1,1\nd2,oops\n", encoding="utf-8")
    assert "bad.csv:3:2: 'oops' in column 'Close' is not a number" in run(
        "train", "--kind", "series", bad, "--columns", "Close", ok=False).output
    assert "expected a .csv or .png" in run("generate", "--model", model, "-o", "f.mid",
                                            ok=False).output
    assert "is not one of the columns" in run("train", "--kind", "series",
                                              tmp_path / "prices.csv", "--target", "Nope",
                                              ok=False).output


@pytest.mark.parametrize(("text", "message"), [
    ("a,b\n1," + "9" * 200_000 + "\n2,3\n", "p.csv:2: not CSV: field larger than field limit"),
    ("a,b\n1," + "9" * 5_000 + "\n2,3\n",
     "p.csv:2:2: '" + "9" * 40 + "'... (5,000 characters) in column 'b' is not a finite number"),
    (",".join(f"c{i}" for i in range(10_001)) + "\n" + ",".join(["1"] * 10_001) + "\n",
     "p.csv:1: 10,001 columns: expected at most 10,000"),
    (",".join(f"c{i}" for i in range(300)) + "\n" + ",".join(["1"] * 300) + "\n",
     "p.csv:1: 300 numeric columns: expected at most 256 (pick some with --columns)"),
])
def test_a_hostile_csv_is_one_short_error_naming_the_line(text, message):
    with pytest.raises(ParseError) as caught:
        parse_csv(text, "p.csv")
    assert str(caught.value) == message or str(caught.value).startswith(message)
    assert len(str(caught.value)) < 200


def test_values_whose_spread_would_overflow_are_refused_naming_the_column():
    from melodyrnn.errors import MelodyError

    table = parse_csv("a,b\n" + "".join(f"{(-1) ** i * 1e308},{i}\n" for i in range(6)), "h.csv")
    with pytest.raises(MelodyError, match=r"h.csv: column 'a' holds 1e\+308: expected values "
                                          r"within ±1e\+150"):
        NumericCodec.fit(table)
