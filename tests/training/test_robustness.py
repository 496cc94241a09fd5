"""Resume, interrupts, non-finite losses and crashes while saving never lose or corrupt work."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.music.notation import parse_text
from melodyrnn.pipeline import fit
from melodyrnn.training import loop as train_module
from tests.clitools import ctrl_c_as_at_a_terminal

SONGS = parse_text("c8 d e f g a b c'\n\ne4 d c d e e e2\n\ng8 g a g f e d c\n")
# Shuffled batches of one song and dropout, so the data order and torch's RNG both matter.
MODEL = ModelConfig(hidden=16, layers=2, dropout=0.2, embedding_dim=8)


def config(epochs: int):
    return train_module.TrainConfig(epochs=epochs, batch_size=1, stop_accuracy=2.0, rng_seed=3)


def weights(checkpoint) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in checkpoint.model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def quiet_fit(epochs: int, **options):
    return fit(SONGS, NoteCodec.fit(SONGS), MODEL, config(epochs), progress=False,
               log=lambda message: None, **options)


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    whole = quiet_fit(8)
    first = quiet_fit(3)
    ckpt.save(first.checkpoint, tmp_path / "part.pt")
    resumed = fit(SONGS, None, MODEL, config(8), progress=False, log=lambda m: None,
                  resume=ckpt.load(tmp_path / "part.pt"))
    assert resumed.result.epochs_run == 8
    assert same(weights(resumed.checkpoint), weights(whole.checkpoint))
    assert not same(weights(first.checkpoint), weights(whole.checkpoint))


def test_ctrl_c_mid_epoch_keeps_the_last_whole_epoch_and_resumes_exactly(monkeypatch, tmp_path):
    whole = quiet_fit(6)
    calls = {"n": 0}
    real = train_module.class_objective

    def interrupt_in_epoch_four(output, targets):
        calls["n"] += 1
        if calls["n"] == 3 * 3 + 2:  # three songs per epoch: the middle of epoch 4
            raise KeyboardInterrupt
        return real(output, targets)

    monkeypatch.setitem(train_module.OBJECTIVES, "class", interrupt_in_epoch_four)
    stopped = quiet_fit(6)
    monkeypatch.setitem(train_module.OBJECTIVES, "class", real)
    assert stopped.result.interrupted
    assert stopped.checkpoint.training_state["epoch"] == 3
    assert same(weights(stopped.checkpoint), weights(quiet_fit(3).checkpoint))
    ckpt.save(stopped.checkpoint, tmp_path / "stopped.pt")
    resumed = fit(SONGS, None, MODEL, config(6), progress=False, log=lambda m: None,
                  resume=ckpt.load(tmp_path / "stopped.pt"))
    assert same(weights(resumed.checkpoint), weights(whole.checkpoint))


def test_non_finite_loss_stops_and_keeps_the_last_good_weights(monkeypatch):
    real = train_module.class_objective
    calls = {"n": 0}

    def nan_in_epoch_three(output, targets):
        calls["n"] += 1
        loss, correct, count = real(output, targets)
        return (loss * float("nan") if calls["n"] > 6 else loss), correct, count

    monkeypatch.setitem(train_module.OBJECTIVES, "class", nan_in_epoch_three)
    report = quiet_fit(10)
    assert "not finite" in report.result.stop_reason
    assert report.checkpoint.training_state["epoch"] == 2
    monkeypatch.setitem(train_module.OBJECTIVES, "class", real)
    assert same(weights(report.checkpoint), weights(quiet_fit(2).checkpoint))
    assert all(torch.isfinite(v).all() for v in weights(report.checkpoint).values())


def test_checkpoint_every_n_epochs_is_written_during_training(tmp_path):
    seen = []
    path = tmp_path / "run.pt"
    original = ckpt.save

    def spy(checkpoint, where):
        seen.append(checkpoint.training_state["epoch"])
        return original(checkpoint, where)

    import melodyrnn.pipeline as pipeline

    pipeline_save, pipeline.save = pipeline.save, spy
    try:
        quiet_fit(6, save_every=2, save_to=str(path))
    finally:
        pipeline.save = pipeline_save
    assert seen == [2, 4, 6]
    assert ckpt.load(path).training_state["epoch"] == 6


def test_a_process_killed_while_saving_leaves_the_previous_checkpoint_intact(tmp_path):
    path = tmp_path / "model.pt"
    ckpt.save(quiet_fit(1).checkpoint, path)
    before = path.read_bytes()
    child = textwrap.dedent(f"""
        import os, sys, time
        from melodyrnn.models import checkpoint
        model = checkpoint.load({str(path)!r})
        os.fsync = lambda fd: (print("writing", flush=True), time.sleep(60))
        checkpoint.save(model, {str(path)!r})
    """)
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"  # the temporary file is being written
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert path.read_bytes() == before
    assert ckpt.load(path).codec.tokens
    leftovers = [p for p in Path(tmp_path).iterdir() if p.name != "model.pt"]
    assert leftovers, "the killed writer should have been stopped inside its temporary file"
    assert all(p.name.startswith(".model.pt.") for p in leftovers)


def test_resuming_from_a_checkpoint_without_training_state_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from melodyrnn.cli import main

    report = quiet_fit(1)
    report.checkpoint.training_state = {}
    ckpt.save(report.checkpoint, tmp_path / "old.pt")
    song = tmp_path / "song.txt"
    song.write_text("c8 d e f g a b c'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["train", str(song), "--resume", str(tmp_path / "old.pt"),
                                       "--no-progress", "-o", str(tmp_path / "new.pt")])
    assert result.exit_code != 0
    assert "no training state" in result.output + (result.stderr or "")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_asking_for_a_missing_accelerator_is_a_clear_error(device):
    from melodyrnn.errors import MelodyError

    available = torch.cuda.is_available() if device == "cuda" else torch.backends.mps.is_available()
    if available:
        pytest.skip(f"{device} is present here")
    with pytest.raises(MelodyError, match=f"--device {device}"):
        train_module.pick_device(device)


def test_training_is_repeatable_bit_for_bit_with_the_same_seed():
    assert same(weights(quiet_fit(4).checkpoint), weights(quiet_fit(4).checkpoint))


def test_held_out_loss_stops_training_and_keeps_the_best_epoch():
    valid = parse_text("c8 e g c' g e c4\n")
    codec = NoteCodec.fit(SONGS + valid)
    report = fit(SONGS, codec, MODEL,
                 train_module.TrainConfig(epochs=200, batch_size=1, stop_accuracy=2.0, lr=0.05,
                                          valid_patience=3, rng_seed=3),
                 progress=False, log=lambda m: None, valid_items=valid)
    losses = [s.valid_loss for s in report.result.history]
    best = min(range(len(losses)), key=losses.__getitem__) + 1
    assert report.result.epochs_run == best + 3 < 200
    assert f"kept the weights of epoch {best}" in report.result.stop_reason


def test_cosine_schedule_ends_near_zero_and_is_a_function_of_the_epoch():
    config = train_module.TrainConfig(epochs=10, lr=0.1, schedule="cosine")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    rates = []
    for epoch in range(1, 11):
        train_module.set_learning_rate(optimizer, config, epoch)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.1) and rates[-1] < 0.01
    assert rates == sorted(rates, reverse=True)


def test_ctrl_c_in_the_train_command_saves_a_resumable_checkpoint_and_exits_130(tmp_path):
    songs = tmp_path / "songs.txt"
    songs.write_text("\n\n".join(["c8 d e f g a b c' b a g f e d c4"] * 40) + "\n")
    out = tmp_path / "run.pt"
    process = subprocess.Popen(
        [sys.executable, "-m", "melodyrnn", "train", str(songs), "--epochs", "100000",
         "--stop-accuracy", "2", "--batch-size", "1", "--no-cache", "--progress", "-o", str(out)],
        stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    seen = ""
    while "training: epoch 1 of" not in seen:  # the progress line of a finished epoch
        seen += process.stderr.read(1)
        assert process.poll() is None, seen
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, seen + rest
    assert "interrupted: kept the weights of epoch" in rest
    saved = ckpt.load(out)
    assert saved.training_state["epoch"] >= 1


def test_a_broken_training_state_is_named_before_resuming(nabiya_fit):
    from melodyrnn.training.loop import resume_problem

    model, state = nabiya_fit.checkpoint.model, nabiya_fit.checkpoint.training_state
    config = train_module.TrainConfig(**nabiya_fit.checkpoint.train_config)
    assert resume_problem(model, config, state) is None
    assert resume_problem(model, config, {**state, "epoch": -1}).startswith("epoch -1")
    assert resume_problem(model, config, {k: v for k, v in state.items() if k != "epoch"}) \
        == "missing 'epoch'"
    assert resume_problem(model, config, {**state, "torch_rng": torch.zeros(3,
                                                                            dtype=torch.uint8)})


def test_a_training_state_holding_nan_is_refused_before_it_poisons_the_weights(nabiya_fit):
    import copy

    from melodyrnn.training.loop import resume_problem

    model, state = nabiya_fit.checkpoint.model, nabiya_fit.checkpoint.training_state
    config = train_module.TrainConfig(**nabiya_fit.checkpoint.train_config)
    poisoned = copy.deepcopy(state)
    for slot in poisoned["optimizer"]["state"].values():
        slot["exp_avg_sq"] = torch.full_like(slot["exp_avg_sq"], float("nan"))
    assert resume_problem(model, config, poisoned) == (
        "optimiser state exp_avg_sq holds NaN or infinity: expected finite numbers "
        "(resuming would make every weight NaN)")


def test_an_interrupt_between_epochs_reports_the_epoch_whose_weights_are_kept(monkeypatch):
    loop = train_module
    real = loop._Snapshot.take
    calls = []

    def take(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # after epoch 3 was recorded, before its snapshot
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop._Snapshot, "take", take)
    model = SequenceModel(ModelConfig(vocab_size=3, output_size=3, hidden=4, embedding_dim=2))
    result = loop.train(model, [[0, 1, 2, 0, 1, 2]],
                        train_module.TrainConfig(epochs=10, stop_accuracy=2),
                        progress=False, log=lambda message: None)
    assert result.interrupted and result.epochs_run == 2 == len(result.history)
    assert "kept the weights of epoch 2" in result.stop_reason


def test_sigterm_in_the_train_command_saves_like_ctrl_c_and_exits_143(tmp_path):
    songs = tmp_path / "songs.txt"
    songs.write_text("\n\n".join(["c8 d e f g a b c' b a g f e d c4"] * 40) + "\n")
    out = tmp_path / "run.pt"
    process = subprocess.Popen(
        [sys.executable, "-m", "melodyrnn", "train", str(songs), "--epochs", "100000",
         "--stop-accuracy", "2", "--batch-size", "1", "--no-cache", "--progress", "-o", str(out)],
        stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    seen = ""
    while "training: epoch 1 of" not in seen:  # the progress line of a finished epoch
        seen += process.stderr.read(1)
        assert process.poll() is None, seen
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 143, seen + rest
    assert "interrupted: kept the weights of epoch" in rest
    assert ckpt.load(out).training_state["epoch"] >= 1
