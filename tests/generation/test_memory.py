"""The short-term memory used while sampling (`generate --memory`)."""

from __future__ import annotations

import math

import pytest
import torch
from clitools import run
from standins import Uniform, repeated_share

from melodyrnn.errors import MelodyError
from melodyrnn.generation.decoding import generate
from melodyrnn.generation.memory import ShortTermMemory
from melodyrnn.generation.sampling import Sampling

VOCAB = 6


def probabilities(memory: ShortTermMemory, logits: torch.Tensor) -> torch.Tensor:
    return memory.adjust(logits).softmax(-1)


def test_without_a_repeated_context_the_memory_leaves_the_network_alone():
    memory = ShortTermMemory(VOCAB, rows=1, primer=[0, 1, 2], weight=1.0)
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0, 0.3, -0.2]])
    # Token 2 was never followed by anything: the memory is uniform and changes nothing.
    assert torch.allclose(probabilities(memory, logits), logits.softmax(-1))


def test_a_motif_heard_before_is_favoured_in_proportion_to_the_weight():
    primer = [0, 1, 2, 3, 0]  # after 0 came 1
    flat = torch.zeros(1, VOCAB)
    weak = probabilities(ShortTermMemory(VOCAB, 1, primer, weight=0.3), flat)[0]
    strong = probabilities(ShortTermMemory(VOCAB, 1, primer, weight=1.0), flat)[0]
    assert weak.argmax() == strong.argmax() == 1
    assert 1 / VOCAB < weak[1] < strong[1]
    # Log-linear: with a flat network, p ∝ p_memory ** weight.
    memory = torch.from_numpy(ShortTermMemory(VOCAB, 1, primer, 1.0).distributions()[0])
    expected = memory ** 0.3 / (memory ** 0.3).sum()
    assert torch.allclose(weak.double(), expected, atol=1e-6)


def test_a_token_the_network_rules_out_stays_ruled_out():
    memory = ShortTermMemory(VOCAB, 1, [0, 1, 2, 0], weight=2.0)
    logits = torch.tensor([[0.0, -math.inf, 0.0, 0.0, 0.0, 0.0]])
    assert probabilities(memory, logits)[0, 1] == 0


def test_each_row_remembers_only_its_own_tokens():
    memory = ShortTermMemory(VOCAB, rows=2, primer=[0], weight=1.0)
    memory.observe(torch.tensor([1, 2]))
    memory.observe(torch.tensor([0, 0]))
    chosen = probabilities(memory, torch.zeros(2, VOCAB)).argmax(-1)
    assert chosen.tolist() == [1, 2]


def test_negative_weight_is_an_error():
    with pytest.raises(MelodyError, match="--memory"):
        ShortTermMemory(VOCAB, 1, [0], weight=-0.5)


def test_memory_makes_sampled_melodies_repeat_themselves():
    def repeats(weight: float) -> float:  # share of each row's 3-grams heard earlier in it
        rows = generate(Uniform(VOCAB), [0, 1, 2], 40, Sampling(temperature=1.0),
                        num_outputs=16, generator=torch.Generator().manual_seed(0),
                        memory=weight)
        return repeated_share(rows, 3)

    assert repeats(2.0) > repeats(0.0) + 0.2


def test_cli_generate_memory_is_repeatable_and_refuses_beam(nabiya_model):
    args = ["generate", "--model", nabiya_model, "--seed", "g8 e8 e4 f8", "--temperature",
            "1", "--memory", "0.5", "--rng-seed", "3"]
    assert run(*args).stdout == run(*args).stdout
    refused = run(*args, "--beam", "2", ok=False)
    assert "--memory" in refused.output and "--beam" in refused.output
