"""Training: the defaults learn 나비야 exactly and stop early; runs are reproducible."""

from __future__ import annotations

import sys
from collections import defaultdict

import pytest
import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.feeds import WindowFeed, feed_of
from melodyrnn.models.network import SequenceModel
from melodyrnn.pipeline import fit, score_items
from melodyrnn.training import loop as train_module
from melodyrnn.training.config import TrainConfig
from melodyrnn.training.loop import class_objective, train

SMALL = ModelConfig(hidden=16, embedding_dim=8)


def quiet_fit(melodies, model_config=SMALL, codec=None, **train_options):
    codec = codec or NoteCodec.fit(melodies)
    return fit(melodies, codec, model_config, TrainConfig(**train_options), progress=False,
               log=lambda message: None)


def test_defaults_learn_nabiya_exactly(nabiya, nabiya_fit):
    evaluation = score_items(nabiya_fit.checkpoint, [nabiya])
    assert evaluation.one_step.to_dict() == {"correct": 50, "total": 50}
    assert evaluation.full_song.to_dict() == {"correct": 50, "total": 50}
    assert evaluation.mismatches == []


def test_defaults_stop_early_and_say_which_criterion_stopped_them(nabiya_fit):
    result, defaults = nabiya_fit.result, TrainConfig()
    assert result.epochs_run < defaults.epochs
    assert result.stop_reason.startswith(f"stopped at epoch {result.epochs_run}:")
    assert "--stop-accuracy 1" in result.stop_reason
    assert f"--stop-patience {defaults.stop_patience}" in result.stop_reason
    # The criterion held for the patience window at the end of the run.
    tail = result.history[-(defaults.stop_patience + 1):]
    assert all(stats.accuracy == 1.0 for stats in tail)


def test_training_reports_progress_per_epoch(nabiya_fit, nabiya):
    history = nabiya_fit.result.history
    assert len(history) == nabiya_fit.result.epochs_run
    assert all(stats.targets == len(nabiya) - 1 for stats in history)
    assert history[-1].loss < history[0].loss


def test_same_rng_seed_gives_identical_weights_and_another_seed_does_not(nabiya):
    def weights(seed: int) -> dict[str, torch.Tensor]:
        return quiet_fit([nabiya], epochs=4, rng_seed=seed).checkpoint.model.state_dict()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_running_out_of_epochs_says_so(nabiya):
    report = quiet_fit([nabiya], epochs=2)
    assert report.result.epochs_run == 2
    assert report.result.stop_reason == "ran all 2 epochs"


def test_stop_reason_is_logged(nabiya):
    messages = []
    fit([nabiya], NoteCodec.fit([nabiya]), SMALL, TrainConfig(epochs=1), progress=False,
        log=messages.append)
    assert messages == ["ran the only epoch (--epochs 1)"]


def test_classic_window_batching_trains_one_window_per_step(nabiya):
    report = quiet_fit([nabiya], codec=NoteCodec.classic(), batching="windows", epochs=3,
                       model_config=ModelConfig(hidden=16, input="scalar"))
    history = report.result.history
    assert len(history) == 3
    assert all(stats.targets == 50 for stats in history)  # the 50 windows, next token only
    assert history[-1].loss < history[0].loss
    assert feed_of(report.checkpoint) == WindowFeed(4)
    evaluation = score_items(report.checkpoint, [nabiya])
    assert evaluation.one_step.total == evaluation.full_song.total == 50


def ambiguous_windows(ids: list[int], width: int) -> dict[tuple[int, ...], set[int]]:
    """Windows of the song that are followed by different tokens in different places."""
    following = defaultdict(set)
    for i in range(len(ids) - width):
        following[tuple(ids[i : i + width])].add(ids[i + width])
    return {w: nxt for w, nxt in following.items() if len(nxt) > 1}


def best_possible_one_step(ids: list[int], width: int) -> int:
    """Correct one-step predictions of the best function of the window alone."""
    following = defaultdict(list)
    for i in range(len(ids) - width):
        following[tuple(ids[i : i + width])].append(ids[i + width])
    return sum(max(nxt.count(t) for t in set(nxt)) for nxt in following.values())


def test_some_four_note_windows_of_nabiya_are_followed_by_different_notes(nabiya):
    codec = NoteCodec.fit([nabiya])
    ambiguous = ambiguous_windows(codec.encode(nabiya), 4)
    named = {tuple(codec.strings(w)): set(codec.strings(n)) for w, n in ambiguous.items()}
    # e.g. "e8 e8 e8 f8" goes on to d8 in the second line and to g4 in the third.
    assert named[("e8", "e8", "e8", "f8")] == {"d8", "g4"}


def test_window_mlp_cannot_be_perfect_on_nabiya(nabiya):
    codec = NoteCodec.fit([nabiya])
    bound = best_possible_one_step(codec.encode(nabiya), 4)
    assert bound < 50
    report = quiet_fit([nabiya], model_config=ModelConfig(arch="mlp", hidden=64), epochs=60,
                       lr=0.01)
    evaluation = score_items(report.checkpoint, [nabiya])
    assert report.result.stop_reason == "ran all 60 epochs"  # 100% is out of reach
    assert evaluation.one_step.total == 50
    assert bound - 4 <= evaluation.one_step.correct <= bound
    assert evaluation.full_song.correct < 50


def test_state_is_carried_within_a_song_but_not_across_songs(nabiya, monkeypatch):
    seen_states = []
    model = SequenceModel(ModelConfig(vocab_size=9, output_size=9, hidden=8))
    original = model.forward

    def recording_forward(x, state=None, **targets):
        seen_states.append(state is None)
        return original(x, state, **targets)

    monkeypatch.setattr(model, "forward", recording_forward)
    ids = NoteCodec.fit([nabiya]).encode(nabiya)
    train(model, [ids[:20], ids[20:]], TrainConfig(epochs=1, batching="windows"),
          progress=False, log=lambda m: None)
    # Windows batching: 16 windows of the first song then 30 of the second; a fresh state
    # only at the first window of each song.
    assert len(seen_states) == 16 + 30
    assert [i for i, fresh in enumerate(seen_states) if fresh] == [0, 16]


def test_unknown_batching_is_an_error(nabiya):
    with pytest.raises(MelodyError, match="unknown batching 'minibatch'"):
        quiet_fit([nabiya], batching="minibatch")


@pytest.mark.parametrize("batching", ["stream", "windows"])
def test_songs_too_short_for_a_single_example_are_an_error(batching):
    from melodyrnn.music.notation import parse_text

    with pytest.raises(MelodyError, match="no training examples"):
        quiet_fit(parse_text("c4" if batching == "stream" else "c4 d e f"), batching=batching)


def test_interrupting_training_keeps_the_model_and_says_when(nabiya, monkeypatch):
    calls = []

    def interrupted_after_a_while(output, targets):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return class_objective(output, targets)

    monkeypatch.setitem(train_module.OBJECTIVES, "class", interrupted_after_a_while)
    report = quiet_fit([nabiya], epochs=10)
    assert report.result.interrupted
    assert report.result.stop_reason.startswith("interrupted: kept the weights of epoch 3")
    assert "--resume" in report.result.stop_reason


def test_class_objective_ignores_padding_targets():
    output = torch.tensor([[[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]]])
    targets = torch.tensor([[0, 0, -100]])
    loss, correct, count = class_objective(output, targets)
    assert (correct, count) == (1, 2)
    expected = torch.nn.functional.cross_entropy(output[0, :2], targets[0, :2], reduction="sum")
    assert torch.isclose(loss, expected)


def test_the_config_names_every_batching_optimizer_and_schedule():
    from melodyrnn.training import config

    assert set(config.BATCHINGS) == set(train_module.BATCHINGS)
    assert set(config.OPTIMIZERS) == set(train_module.OPTIMIZERS)
    assert set(config.SCHEDULES) == set(train_module.SCHEDULES)


def test_progress_in_a_log_is_a_plain_line_now_and_then_never_a_bar(capsys):
    from melodyrnn.training.loop import LOGGED_EVERY_SECONDS, _LoggedProgress

    now = [0.0]
    progress = _LoggedProgress(total=10, initial=2, clock=lambda: now[0])
    for step, seconds in enumerate((10, 30, 50, 61)):  # the first, then 30 s apart: 10, 50
        now[0] = seconds * LOGGED_EVERY_SECONDS / 30
        progress.set_postfix(loss=f"{1 / (step + 1):.4f}", acc="50.0%")
        progress.update()
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines() == ["training: epoch 3 of 10: loss 1.0000, acc 50.0%",
                                "training: epoch 5 of 10: loss 0.3333, acc 50.0%"]


def test_a_progress_bar_is_only_drawn_on_a_terminal(monkeypatch):
    from melodyrnn.training.loop import _LoggedProgress, _progress_bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert isinstance(_progress_bar(5, enabled=True), _LoggedProgress)
