"""Echo while sampling (`generate --echo`): passages the melody played before come back."""

from __future__ import annotations

import math

import pytest
import torch
from clitools import assert_repeatable_and_refused_with_beam
from standins import Uniform, repeated_share

from melodyrnn.errors import MelodyError
from melodyrnn.generation.decoding import generate
from melodyrnn.generation.echo import Echo, echoed
from melodyrnn.generation.sampling import Sampling

VOCAB = 10


def test_the_note_that_followed_the_earlier_passage_is_echoed():
    assert echoed([1, 2, 3, 4, 9, 1, 2, 3]) == 4


def test_the_latest_earlier_occurrence_wins():
    assert echoed([1, 2, 3, 5, 1, 2, 3, 6, 1, 2, 3]) == 6


def test_the_longest_matching_passage_wins_over_a_later_shorter_one():
    # "5 1 2 3" occurred at the start (then 4); only "1 2 3" occurred later (then 8).
    assert echoed([5, 1, 2, 3, 4, 6, 1, 2, 3, 8, 5, 1, 2, 3]) == 4


def test_a_passage_never_echoes_itself_or_a_drone():
    assert echoed([7, 7, 7, 7, 7, 7, 7, 7]) is None  # one token repeated is no passage
    assert echoed([1, 2, 3, 1, 2]) is None  # "1 2" is shorter than three notes
    assert echoed([4, 1, 2, 3, 1, 2, 3]) == 1  # "1 2 3" then "1 2 3": carry on the copy


def test_passages_beyond_the_lookback_are_not_searched():
    history = [1, 2, 3, 4] + [0, 5] * 200 + [1, 2, 3]
    assert echoed(history) == 4
    assert echoed(history, lookback=100) is None


def test_adjust_raises_the_echoed_token_by_the_weight_in_nats_and_leaves_other_rows_alone():
    history = torch.tensor([[1, 2, 3, 4, 9, 1, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8]])
    logits = torch.randn(2, VOCAB, generator=torch.Generator().manual_seed(0))
    adjusted = Echo(0.7).adjust(logits, history).log_softmax(-1)
    before = logits.log_softmax(-1)
    odds = (adjusted[0] - adjusted[0, 0]) - (before[0] - before[0, 0])
    assert odds[4] == pytest.approx(0.7, abs=1e-5)
    assert torch.allclose(odds[[i for i in range(VOCAB) if i != 4]], torch.zeros(VOCAB - 1),
                          atol=1e-5)
    assert torch.allclose(adjusted[1], before[1], atol=1e-6)


def test_a_token_the_network_rules_out_stays_ruled_out():
    logits = torch.zeros(1, VOCAB)
    logits[0, 4] = -math.inf
    assert Echo(3.0).adjust(logits, torch.tensor([[1, 2, 3, 4, 9, 1, 2, 3]]))[0, 4] == -math.inf


def test_negative_weight_is_an_error():
    with pytest.raises(MelodyError, match="--echo"):
        Echo(-1.0)


def test_echo_makes_sampled_melodies_carry_passages_through():
    def repeated_fourgrams(weight: float) -> float:
        rows = generate(Uniform(VOCAB), [1, 2, 3, 4, 5, 1, 2, 3], 60,
                        Sampling(temperature=1.0), num_outputs=16,
                        generator=torch.Generator().manual_seed(0), echo=weight)
        return repeated_share(rows, 4)

    assert repeated_fourgrams(4.0) > repeated_fourgrams(0.0) + 0.05


def test_off_is_exactly_the_network():
    def draw(**echo):
        return generate(Uniform(VOCAB), [1, 2, 3, 4, 1, 2, 3], 30, Sampling(temperature=1.0),
                        num_outputs=4, generator=torch.Generator().manual_seed(5), **echo)

    assert draw(echo=0.0) == draw()


def test_cli_generate_echo_is_repeatable_and_refuses_beam(nabiya_model):
    args = ["generate", "--model", nabiya_model, "--seed", "g8 e8 e4 f8", "--echo", "2",
            "--rng-seed", "3"]
    assert_repeatable_and_refused_with_beam(args, "--echo")
