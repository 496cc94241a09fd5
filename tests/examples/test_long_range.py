"""examples/long_range.py in a tiny configuration: the task, the curves, the plot and the JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "long_range.py"


def load_script():
    spec = importlib.util.spec_from_file_location("long_range", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_adding_batches_mark_one_value_per_half_and_score_only_the_end() -> None:
    long_range = load_script()
    inputs, targets = long_range.adding_batch(16, 100, torch.Generator().manual_seed(0))
    assert inputs.shape == (16, 100, 2) and targets.shape == (16, 100, 1)
    markers = inputs[..., 1]
    assert torch.equal(markers.sum(1), torch.full((16,), 2.0))
    positions = markers.nonzero()[:, 1].reshape(16, 2)
    assert (99 - positions[:, 0] >= 50).all() and (99 - positions[:, 1] < 50).all()
    assert torch.isnan(targets[:, :-1]).all()
    assert torch.allclose(targets[:, -1, 0], (inputs[..., 0] * markers).sum(1))


def test_tiny_run_writes_curves_plot_and_json(tmp_path, capsys) -> None:
    long_range = load_script()
    out = tmp_path / "curves.png"
    results = long_range.main(["--length", "12", "--steps", "4", "--eval-every", "2",
                               "--hidden", "8", "--batch", "8", "--test-size", "16",
                               "-o", str(out)])
    assert [c["arch"] for c in results["curves"]] == ["lstm", "gru", "rnn"]
    assert all(c["steps"] == [2, 4] and len(c["mse"]) == 2 for c in results["curves"])
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 5000
    assert json.loads(out.with_suffix(".json").read_text())["baseline_mse"] == 1 / 6
    assert "lstm" in capsys.readouterr().out


def test_an_output_it_cannot_write_is_refused_before_training(tmp_path, capsys) -> None:
    long_range = load_script()
    with pytest.raises(SystemExit) as info:
        long_range.main(["--steps", "100000", "-o", str(tmp_path / "curves.json")])
    assert info.value.code == 1
    assert capsys.readouterr().err == (f"error: -o {tmp_path / 'curves.json'}: unknown output "
                                       "suffix '.json': expected a .png file\n")
    with pytest.raises(SystemExit):
        long_range.main(["--steps", "100000", "-o", str(tmp_path / "absent" / "c.png")])
    assert "does not exist" in capsys.readouterr().err
