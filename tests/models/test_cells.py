"""The peephole and coupled-gate LSTM cells compute exactly the textbook equations."""

from __future__ import annotations

import math

import pytest
import torch

from melodyrnn.models.cells import GateLayer
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def one_unit_layer(variant: str) -> GateLayer:
    """A 1-input, 1-unit layer with hand-picked weights."""
    layer = GateLayer(1, 1, variant)
    gates = 3 if variant == "cifg" else 4
    with torch.no_grad():
        layer.input_weights.weight.copy_(torch.tensor([[0.5], [-0.3], [0.8], [0.2]][:gates]))
        layer.input_weights.bias.copy_(torch.tensor([0.1, 0.2, -0.1, 0.05][:gates]))
        layer.recurrent_weights.weight.copy_(torch.tensor([[0.4], [0.6], [-0.2], [0.3]][:gates]))
        if variant == "peephole":
            layer.peep_input.fill_(0.7)
            layer.peep_forget.fill_(-0.4)
            layer.peep_output.fill_(0.9)
    return layer


def test_peephole_step_matches_hand_computation():
    x, h, c = 1.5, 0.25, -0.6
    i = sigmoid(0.5 * x + 0.1 + 0.4 * h + 0.7 * c)
    f = sigmoid(-0.3 * x + 0.2 + 0.6 * h - 0.4 * c)
    g = math.tanh(0.8 * x - 0.1 - 0.2 * h)
    c_new = f * c + i * g
    o = sigmoid(0.2 * x + 0.05 + 0.3 * h + 0.9 * c_new)  # the output gate sees the new cell
    h_new = o * math.tanh(c_new)
    out, h_t, c_t = one_unit_layer("peephole")(torch.tensor([[[x]]]), torch.tensor([[h]]),
                                               torch.tensor([[c]]))
    assert c_t.item() == pytest.approx(c_new, abs=1e-6)
    assert h_t.item() == pytest.approx(h_new, abs=1e-6)
    assert out[0, 0, 0].item() == pytest.approx(h_new, abs=1e-6)


def test_cifg_step_couples_forget_to_one_minus_input():
    x, h, c = -0.8, 0.1, 0.45
    i = sigmoid(0.5 * x + 0.1 + 0.4 * h)
    g = math.tanh(-0.3 * x + 0.2 + 0.6 * h)
    o = sigmoid(0.8 * x - 0.1 - 0.2 * h)
    c_new = (1 - i) * c + i * g
    h_new = o * math.tanh(c_new)
    _, h_t, c_t = one_unit_layer("cifg")(torch.tensor([[[x]]]), torch.tensor([[h]]),
                                          torch.tensor([[c]]))
    assert c_t.item() == pytest.approx(c_new, abs=1e-6)
    assert h_t.item() == pytest.approx(h_new, abs=1e-6)


def test_two_steps_carry_the_cell_state():
    layer = one_unit_layer("peephole")
    start = (torch.tensor([[0.0]]), torch.tensor([[0.0]]))
    _, h1, c1 = layer(torch.tensor([[[1.0]]]), *start)
    _, h2, c2 = layer(torch.tensor([[[-1.0]]]), h1, c1)
    whole, h, c = layer(torch.tensor([[[1.0], [-1.0]]]), *start)
    assert torch.equal(h, h2) and torch.equal(c, c2) and torch.equal(whole[:, 1], h2)


@pytest.mark.parametrize("arch", ["peephole", "cifg"])
def test_stacked_variant_learns_a_short_song(arch):
    from melodyrnn.codecs.notes import NoteCodec
    from melodyrnn.music.notation import parse_text
    from melodyrnn.pipeline import fit, score_items
    from melodyrnn.training.config import TrainConfig

    songs = parse_text("c8 d e f g a b c' b a g f e d c4\n")
    report = fit(songs, NoteCodec.fit(songs), ModelConfig(arch=arch, hidden=32, layers=2),
                 TrainConfig(epochs=300, stop_patience=3), progress=False, log=lambda m: None)
    assert score_items(report.checkpoint, songs).full_song.accuracy == 1.0
    assert isinstance(report.checkpoint.model, SequenceModel)
