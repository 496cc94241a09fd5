"""Models: one interface, and carried state makes step-by-step equal to all-at-once."""

from __future__ import annotations

import functools
import itertools

import pytest
import torch

from melodyrnn.errors import MelodyError
from melodyrnn.generation.decoding import generate
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.feeds import StreamFeed, WindowFeed
from melodyrnn.models.network import CORES, SequenceModel, count_parameters, detach_state

VOCAB = 7
ARCHS_AND_INPUTS = list(itertools.product(sorted(CORES), ["embedding", "scalar"]))


def tiny_model(arch: str, input_kind: str = "embedding", layers: int = 2, seed: int = 0
               ) -> SequenceModel:
    torch.manual_seed(seed)
    config = ModelConfig(arch=arch, vocab_size=VOCAB, output_size=VOCAB, hidden=16,
                         layers=layers, input=input_kind, embedding_dim=8, window=4)
    return SequenceModel(config).eval()


def random_tokens(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


TUNE = random_tokens(1, 25, seed=5)[0].tolist()


@functools.cache
def taught_model(arch: str, input_kind: str) -> SequenceModel:
    """A tiny model fitted a little to TUNE, so greedy decoding follows a varied path.

    An untrained model's greedy output soon repeats one token, and then a generator that
    forgot its state would produce the same output; a model that has learnt a random tune
    needs its state (or window) to continue it.
    """
    model = tiny_model(arch, input_kind).train()
    tune = torch.tensor([TUNE])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):
        output, _ = model(tune[:, :-1])
        loss = torch.nn.functional.cross_entropy(output[0], tune[0, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_every_architecture_is_registered():
    assert set(CORES) == {"lstm", "gru", "rnn", "mlp", "peephole", "cifg"}


@pytest.mark.parametrize(("arch", "input_kind"), ARCHS_AND_INPUTS)
def test_output_has_a_score_per_token_at_every_position(arch, input_kind):
    output, state = tiny_model(arch, input_kind)(random_tokens(3, 5))
    assert output.shape == (3, 5, VOCAB)
    assert state is not None


@pytest.mark.parametrize(("arch", "input_kind"), ARCHS_AND_INPUTS)
def test_step_by_step_with_carried_state_equals_one_full_pass(arch, input_kind):
    model = tiny_model(arch, input_kind)
    tokens = random_tokens(2, 12)
    with torch.no_grad():
        full, _ = model(tokens)
        state, steps = None, []
        for t in range(tokens.shape[1]):
            output, state = model(tokens[:, t : t + 1], state)
            steps.append(output)
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-6)


@pytest.mark.parametrize(("arch", "input_kind"), ARCHS_AND_INPUTS)
def test_uneven_chunks_with_carried_state_equal_one_full_pass(arch, input_kind):
    model = tiny_model(arch, input_kind)
    tokens = random_tokens(2, 12)
    with torch.no_grad():
        full, _ = model(tokens)
        state, parts, start = None, [], 0
        for size in (5, 1, 4, 2):
            output, state = model(tokens[:, start : start + size], state)
            parts.append(output)
            start += size
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-6)


@pytest.mark.parametrize(("arch", "input_kind"), ARCHS_AND_INPUTS)
def test_state_matters_for_the_next_step(arch, input_kind):
    # Guards the tests above: a model that ignored its state would pass them only by luck.
    model = tiny_model(arch, input_kind)
    tokens = random_tokens(1, 6)
    with torch.no_grad():
        _, state = model(tokens[:, :5])
        carried, _ = model(tokens[:, 5:], state)
        fresh, _ = model(tokens[:, 5:])
    assert not torch.allclose(carried, fresh)


class CallRecorder:
    """Wraps a model and records the length of every input it is given."""

    def __init__(self, model: SequenceModel) -> None:
        self.model, self.lengths = model, []

    def __call__(self, x, state=None):
        self.lengths.append(x.shape[1])
        return self.model(x, state)

    def eval(self):
        self.model.eval()
        return self


@pytest.mark.parametrize(("arch", "input_kind"), ARCHS_AND_INPUTS)
def test_generator_equals_greedy_decoding_recomputed_over_the_whole_prefix(arch, input_kind):
    model = taught_model(arch, input_kind)
    primer = TUNE[:4]
    recorder = CallRecorder(model)
    produced = generate(recorder, primer, 12)[0]
    assert len(set(produced)) >= 3  # a varied path, or the comparison below proves little

    history = list(primer)
    with torch.no_grad():
        for _ in range(12):
            logits, _ = model(torch.tensor([history]))  # fresh state, whole prefix every time
            history.append(int(logits[0, -1].argmax()))
    assert produced == history[len(primer) :]
    # The generator gave the primer once and then one new token per step: no recomputation.
    assert recorder.lengths == [len(primer)] + [1] * 11


@pytest.mark.parametrize("arch", sorted(CORES))
def test_window_feed_equals_replaying_every_window_from_a_fresh_state(arch):
    model = taught_model(arch, "embedding")
    feed = WindowFeed(4)
    primer = TUNE[:5]
    recorder = CallRecorder(model)
    produced = generate(recorder, primer, 8, feed=feed)[0]
    assert len(set(produced)) >= 3

    history = list(primer)
    with torch.no_grad():
        for _ in range(8):
            logits, _ = feed.start(model, torch.tensor([history]))  # replays every window
            history.append(int(logits[0].argmax()))
    assert produced == history[len(primer) :]
    assert recorder.lengths == [4] * (len(primer) - 3 + 7)


def test_stream_feed_teacher_forced_logits_are_one_forward_pass():
    model = tiny_model("lstm")
    tokens = random_tokens(1, 9)
    with torch.no_grad():
        assert torch.equal(StreamFeed().all_logits(model, tokens), model(tokens)[0])


def test_window_mlp_sees_only_the_last_window_of_tokens():
    model = tiny_model("mlp")
    tokens = random_tokens(1, 10)
    changed = tokens.clone()
    changed[0, 2] = (changed[0, 2] + 1) % VOCAB
    with torch.no_grad():
        before, after = model(tokens)[0], model(changed)[0]
    # Position t depends on tokens t-3..t, so only positions 2..5 may change.
    assert torch.allclose(before[0, 6:], after[0, 6:])
    assert not torch.allclose(before[0, 2:6], after[0, 2:6])


def test_scalar_input_is_the_index_over_the_largest_index():
    model = tiny_model("lstm", "scalar")
    encoded = model.encoder(torch.tensor([[0, 3, 6]]))
    assert encoded.shape == (1, 3, 1)
    assert torch.allclose(encoded[0, :, 0], torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_detach_state_cuts_the_graph_and_keeps_values(arch):
    model = tiny_model(arch).train()
    _, state = model(random_tokens(2, 3))
    detached = detach_state(state)
    flat = state if isinstance(state, tuple) else (state,)
    flat_detached = detached if isinstance(detached, tuple) else (detached,)
    assert type(detached) is type(state) and len(flat) == len(flat_detached)
    for original, cut in zip(flat, flat_detached):
        assert original.requires_grad and not cut.requires_grad
        assert torch.equal(original, cut)


def test_detach_state_of_nothing_is_nothing():
    assert detach_state(None) is None


def test_unknown_architecture_is_an_error_listing_the_choices():
    with pytest.raises(MelodyError, match="unknown model 'transformer': expected one of lstm"):
        SequenceModel(ModelConfig(arch="transformer", vocab_size=VOCAB))


def test_unknown_input_is_an_error():
    with pytest.raises(MelodyError, match="unknown input 'onehot'"):
        SequenceModel(ModelConfig(vocab_size=VOCAB, input="onehot"))


def test_hidden_size_and_layers_change_the_parameter_count():
    small = count_parameters(tiny_model("lstm", layers=1))
    assert count_parameters(tiny_model("lstm", layers=2)) > small
    assert small == sum(p.numel() for p in tiny_model("lstm", layers=1).parameters())


def test_the_config_names_every_registered_architecture_and_input():
    from melodyrnn.models.config import ARCHITECTURES, INPUTS
    from melodyrnn.models.network import ENCODERS

    assert set(ARCHITECTURES) == set(CORES) and set(INPUTS) == set(ENCODERS)
