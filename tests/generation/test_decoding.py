"""Generation: sampling filters as pure functions, seeds, batches, stop tokens, feeds."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from standins import Uniform
from torch import nn

from melodyrnn.errors import MelodyError
from melodyrnn.generation.constraints import Constraints
from melodyrnn.generation.decoding import generate
from melodyrnn.generation.sampling import (
    Sampling,
    keep_above,
    keep_top_k,
    keep_top_p,
    scale_temperature,
)
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.feeds import StreamFeed, WindowFeed
from melodyrnn.models.network import SequenceModel

VOCAB = 7


def logit_rows(min_size: int = 2, max_size: int = 12, distinct: bool = False):
    values = st.floats(-20, 20, allow_nan=False, width=32)
    return st.lists(values, min_size=min_size, max_size=max_size,
                    unique=distinct).map(lambda row: torch.tensor([row]))


class Counting(nn.Module):
    """A stand-in model that predicts (last token + 1) mod V with certainty; counts calls."""

    def __init__(self, vocab: int = VOCAB) -> None:
        super().__init__()
        self.vocab, self.calls = vocab, 0

    def forward(self, x, state=None):
        self.calls += 1
        return nn.functional.one_hot((x + 1) % self.vocab, self.vocab).float() * 10, state


def tiny_lstm() -> SequenceModel:
    torch.manual_seed(0)
    return SequenceModel(ModelConfig(vocab_size=VOCAB, output_size=VOCAB, hidden=8,
                                     embedding_dim=4)).eval()


# --- filters over logits --------------------------------------------------------------------

@given(logit_rows(distinct=True), st.integers(1, 12))
def test_top_k_keeps_exactly_the_k_largest_when_there_are_no_ties(logits, k):
    kept = torch.isfinite(keep_top_k(logits, k))[0]
    k = min(k, logits.shape[-1])
    assert int(kept.sum()) == k
    assert set(kept.nonzero().flatten().tolist()) == set(logits[0].topk(k).indices.tolist())


@given(logit_rows(), st.integers(1, 12))
def test_top_k_leaves_kept_logits_unchanged_and_renormalises(logits, k):
    filtered = keep_top_k(logits, k)
    kept = torch.isfinite(filtered)
    assert torch.equal(filtered[kept], logits[kept])
    assert int(kept.sum()) >= min(k, logits.shape[-1])  # ties at the threshold are all kept
    assert torch.isclose(filtered.softmax(-1).sum(), torch.tensor(1.0))


@pytest.mark.parametrize("k", [0, VOCAB, VOCAB + 3])
def test_top_k_of_zero_or_at_least_the_vocabulary_keeps_everything(k):
    logits = torch.randn(2, VOCAB)
    assert torch.equal(keep_top_k(logits, k), logits)


@given(logit_rows(distinct=True), st.floats(0.01, 0.99))
def test_top_p_keeps_the_smallest_most_likely_set_reaching_p(logits, p):
    filtered = keep_top_p(logits, p)
    kept = torch.isfinite(filtered)[0]
    probs = logits.softmax(-1)[0].double()
    assert kept[logits.argmax()]  # the most likely token always survives
    kept_mass = float(probs[kept].sum())
    assert kept_mass >= p - 1e-6
    # The set is minimal: dropping its least likely member falls short of p.
    weakest = float(probs[kept].min())
    assert kept_mass - weakest < p + 1e-6
    # Everything kept is at least as likely as everything dropped.
    if not kept.all():
        assert float(probs[kept].min()) >= float(probs[~kept].max())
    renormalised = filtered.softmax(-1)[0]
    assert torch.isclose(renormalised.sum(), torch.tensor(1.0))
    assert torch.all(renormalised[~kept] == 0)


def test_top_p_of_one_keeps_everything():
    logits = torch.randn(3, VOCAB)
    assert torch.equal(keep_top_p(logits, 1.0), logits)


def test_top_p_works_row_by_row():
    logits = torch.tensor([[10.0, 0.0, 0.0], [0.0, 0.0, 10.0]])
    assert torch.isfinite(keep_top_p(logits, 0.5)).tolist() == [[True, False, False],
                                                                 [False, False, True]]


@given(logit_rows(), st.floats(0.0001, 0.5))
def test_epsilon_drops_exactly_the_tokens_below_it_but_never_the_likeliest(logits, epsilon):
    probabilities = logits.softmax(-1)[0]
    kept = torch.isfinite(keep_above(logits, epsilon))[0]
    assert kept[probabilities.argmax()]
    assert (kept == ((probabilities >= epsilon) | (probabilities == probabilities.max()))).all()


def test_epsilon_keeps_kept_logits_unchanged_and_zero_keeps_everything():
    logits = torch.tensor([[4.0, 3.0, -4.0, -9.0]])
    assert torch.equal(keep_above(logits, 0.0), logits)
    filtered = keep_above(logits, 0.01)
    assert torch.equal(filtered[0, :2], logits[0, :2])
    assert torch.isinf(filtered[0, 2:]).all()


@given(logit_rows(distinct=True), st.floats(0.05, 20))
def test_temperature_divides_logits_and_keeps_their_order(logits, temperature):
    scaled = scale_temperature(logits, temperature)
    assert torch.allclose(scaled * temperature, logits, atol=1e-4)
    below = logits[0, :, None] < logits[0, None, :]
    assert (scaled[0, :, None] <= scaled[0, None, :])[below].all()


def test_higher_temperature_flattens_the_distribution():
    logits = torch.tensor([[3.0, 1.0, 0.0, -2.0]])

    def entropy(t: float) -> float:
        probs = scale_temperature(logits, t).softmax(-1)
        return float(-(probs * probs.log()).sum())

    assert entropy(0.5) < entropy(1.0) < entropy(2.0)


# --- Sampling ----------------------------------------------------------------------------------

@given(logit_rows(distinct=True))
def test_temperature_zero_is_argmax(logits):
    assert torch.equal(Sampling(temperature=0).choose(logits), logits.argmax(-1))


def test_top_k_one_always_picks_the_most_likely_even_when_sampling():
    logits = torch.randn(64, VOCAB, generator=torch.Generator().manual_seed(3))
    chosen = Sampling(temperature=5.0, top_k=1).choose(logits, torch.Generator().manual_seed(0))
    assert torch.equal(chosen, logits.argmax(-1))


def test_sampling_draws_only_kept_tokens():
    logits = torch.arange(VOCAB, dtype=torch.float).repeat(500, 1)
    chosen = Sampling(temperature=10.0, top_k=2).choose(logits, torch.Generator().manual_seed(0))
    assert set(chosen.tolist()) == {VOCAB - 1, VOCAB - 2}


@pytest.mark.parametrize(("options", "message"), [
    ({"temperature": -0.1}, "--temperature"), ({"top_p": 0.0}, "--top-p"),
    ({"top_p": 1.5}, "--top-p"), ({"top_k": -1}, "--top-k"), ({"epsilon": -0.1}, "--epsilon"),
    ({"epsilon": 0.6}, "--epsilon"),
])
def test_invalid_sampling_options_are_errors_naming_the_option(options, message):
    with pytest.raises(MelodyError, match=message):
        Sampling(**options)


# --- the generation loop -------------------------------------------------------------------------

def test_same_rng_seed_gives_the_same_output_and_another_seed_differs():
    model, sampling = tiny_lstm(), Sampling(temperature=1.5)

    def run(seed: int) -> list[list[int]]:
        return generate(model, [1, 2, 3], 30, sampling, num_outputs=2,
                        generator=torch.Generator().manual_seed(seed))

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_num_outputs_gives_that_many_rows_in_one_batch():
    model = Counting()
    rows = generate(model, [0, 1], 5, num_outputs=3)
    assert rows == [[2, 3, 4, 5, 6]] * 3
    assert model.calls == 5  # one call per step for the whole batch, not one per row


def test_sampled_rows_of_a_batch_differ():
    rows = generate(Uniform(VOCAB), [0], 20, Sampling(temperature=1.0), num_outputs=4,
                    generator=torch.Generator().manual_seed(0))
    assert len(rows) == 4 and all(len(r) == 20 for r in rows)
    assert len({tuple(r) for r in rows}) == 4


def test_stop_token_ends_the_melody_and_is_not_returned():
    model = Counting()
    assert generate(model, [0], 10, constraints=Constraints(stop_id=4)) == [[1, 2, 3]]
    assert model.calls == 4  # no steps after the stop token


def test_rows_stop_independently_and_the_batch_ends_when_all_stopped():
    rows = generate(Uniform(VOCAB), [0], 60, Sampling(temperature=1.0), num_outputs=8,
                    constraints=Constraints(stop_id=6), generator=torch.Generator().manual_seed(0))
    assert all(6 not in row for row in rows)
    assert len({len(row) for row in rows}) > 1
    assert all(len(row) < 60 for row in rows)


def test_length_counts_new_tokens_only():
    assert generate(Counting(), [0, 1, 2], 4) == [[3, 4, 5, 6]]
    assert generate(Counting(), [0], 0, num_outputs=2) == [[], []]


def test_window_feed_needs_at_least_a_window_of_primer_tokens():
    with pytest.raises(MelodyError, match="the seed has 3 tokens; this model needs at least 4"):
        generate(tiny_lstm(), [1, 2, 3], 5, feed=WindowFeed(4))
    assert len(generate(tiny_lstm(), [1, 2, 3, 4], 5, feed=WindowFeed(4))[0]) == 5


def test_stream_feed_needs_one_primer_token():
    with pytest.raises(MelodyError, match="at least 1"):
        generate(tiny_lstm(), [], 5, feed=StreamFeed())


def test_a_cadence_closes_in_the_melodys_register_where_the_vocabulary_allows():
    from melodyrnn.generation.constraints import MAX_FINAL_LEAP, Cadence, Constraints

    # Four quarter-note tokens: c, c', c'' (stable degrees) and a high e (not); a beat is left.
    pitch_of = torch.tensor([60, 72, 84, 100])
    cadence = Cadence(bar=1.0, strong=(0.0,), final=torch.tensor([True, True, True, False]),
                      rest=torch.zeros(4, dtype=torch.bool))
    constraints = Constraints(costs=torch.ones(4), budget=1.0, cadence=cadence,
                              pitch_of=pitch_of)
    history = torch.tensor([[1, 0], [0, 1], [1, 2], [0, 3]])  # last pitches 60, 72, 84, 100
    allowed = torch.isfinite(constraints.mask(torch.zeros(4, 4), torch.zeros(4), history))
    assert MAX_FINAL_LEAP < 12  # never a final leap of an octave or more
    assert allowed.tolist()[:3] == [[True, False, False, False], [False, True, False, False],
                                    [False, False, True, False]]
    # From the high e every stable note is far: the register rule gives way, the cadence stays.
    assert allowed.tolist()[3] == [True, True, True, False]
