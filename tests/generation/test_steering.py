"""Steering generation: scale and register masks, bar-line endings, end tokens, beam search."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from torch import nn

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.generation.constraints import Constraints
from melodyrnn.generation.decoding import beam_search, generate
from melodyrnn.generation.sampling import Sampling
from melodyrnn.generation.steering import Steering, bars_budget, parse_range
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel
from melodyrnn.music.keys import key_pitch_classes
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import note_text

# Every pitch from G3 to G5 as quarter, eighth and sixteenth, dotted quarter and eighth,
# and rests: enough to fill any bar of 2/4, 3/4 or 6/8 from any sixteenth position.
DURATIONS = [Fraction(1), Fraction(1, 2), Fraction(1, 4), Fraction(3, 2), Fraction(3, 4)]
NOTES = [Note(p, d) for p in range(55, 80) for d in DURATIONS] + [Note(None, d) for d in DURATIONS]


def chromatic_codec(end_token: bool = False) -> NoteCodec:
    return NoteCodec([note_text(n) for n in NOTES], end_token=end_token)


class Uniform(nn.Module):
    """A stand-in model with no preference: every token equally likely."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, x, state=None):
        return torch.zeros(*x.shape, self.vocab), state

    def reorder_state(self, state, index):
        return state


class Always(nn.Module):
    """A stand-in model that predicts one token with near certainty."""

    def __init__(self, vocab: int, token: int) -> None:
        super().__init__()
        self.vocab, self.token = vocab, token

    def forward(self, x, state=None):
        logits = torch.zeros(*x.shape, self.vocab)
        logits[..., self.token] = 20.0
        return logits, state

    def reorder_state(self, state, index):
        return state


def sample(codec: NoteCodec, primer: Melody, steering: Steering, length: int = 10_000,
           rows: int = 16, seed: int = 0) -> list[Melody]:
    """``rows`` random continuations of ``primer`` under ``steering``, decoded (primer first)."""
    primer_ids = codec.encode(primer)
    if codec.end_id is not None:
        primer_ids = primer_ids[:-1]
    constraints = steering.constraints(codec, primer)
    out = generate(Uniform(codec.vocab_size), primer_ids, length, Sampling(temperature=1.0),
                   num_outputs=rows, constraints=constraints,
                   generator=torch.Generator().manual_seed(seed))
    return [codec.decode(primer_ids + row, like=primer) for row in out]


def generated_notes(melody: Melody, primer: Melody) -> list[Note]:
    return list(melody.notes[len(primer):])


PRIMER = Melody((Note(67, Fraction(1, 2)), Note(64, Fraction(1, 2)), Note(64, Fraction(1))),
                time_signature=(2, 4))


# --- key and mode ------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "mode"), [("C", "major"), ("G", "dorian"), ("F#", "minor"),
                                           ("Bb", "mixolydian"), ("E", "phrygian")])
def test_key_mask_allows_exactly_the_scale_pitches_and_every_rest(key, mode):
    codec = chromatic_codec(end_token=True)
    allowed = Steering(key=key, mode=mode).constraints(codec, PRIMER).allowed
    scale = key_pitch_classes(f"{key} {mode}")
    for note, ok in zip(codec.notes, allowed.tolist()):
        expected = note is None or note.pitch is None or note.pitch % 12 in scale
        assert ok == expected, (note, ok)


def test_generated_notes_keep_to_the_scale_and_rests_still_occur():
    melodies = sample(chromatic_codec(), PRIMER, Steering(key="D", mode="dorian"), length=40)
    new = [n for m in melodies for n in generated_notes(m, PRIMER)]
    scale = key_pitch_classes("D dorian")
    assert len(new) == 16 * 40
    assert all(n.pitch % 12 in scale for n in new if n.pitch is not None)
    assert any(n.pitch is None for n in new)  # rests are never masked


def test_key_mask_renormalises_over_the_allowed_tokens():
    codec = chromatic_codec()
    constraints = Steering(key="C").constraints(codec, PRIMER)
    probs = constraints.mask(torch.randn(3, codec.vocab_size), torch.zeros(3)).softmax(-1)
    assert torch.allclose(probs.sum(-1), torch.ones(3))
    assert float(probs[:, ~constraints.allowed].sum()) == 0.0


def test_an_unknown_mode_is_an_error_naming_the_option():
    with pytest.raises(MelodyError, match="--mode: 'blues' is not a mode"):
        Steering(key="C", mode="blues")


# --- range -----------------------------------------------------------------------------------

def test_range_keeps_notes_within_the_register_inclusive():
    low, high = parse_range("C4:E5")
    assert (low, high) == (60, 76)
    melodies = sample(chromatic_codec(), PRIMER, Steering(pitch_range=(low, high)), length=40)
    pitches = [n.pitch for m in melodies for n in generated_notes(m, PRIMER) if n.pitch is not None]
    assert pitches and all(low <= p <= high for p in pitches)
    assert {low, high} <= set(pitches)  # both ends are reachable


def test_range_and_key_together_keep_both():
    melodies = sample(chromatic_codec(), PRIMER, Steering(key="A", mode="minor", pitch_range=(
        69, 81)), length=30)
    pitches = [n.pitch for m in melodies for n in generated_notes(m, PRIMER) if n.pitch is not None]
    assert pitches and set(p % 12 for p in pitches) <= key_pitch_classes("A minor")
    assert all(69 <= p <= 79 for p in pitches)  # the codec's highest note is G5 = 79


@pytest.mark.parametrize(("text", "message"), [
    ("C4-C6", "not a range"), ("H4:C6", "'H4' is not a pitch"),
    ("C6:C4", "goes downwards"), ("C4:C12", "outside 0-127")])
def test_bad_ranges_are_errors_naming_the_option(text, message):
    with pytest.raises(MelodyError, match=f"--range: .*{message}"):
        parse_range(text)


@pytest.mark.parametrize("steering", [Steering(pitch_range=(100, 110)),
                                      Steering(key="C", pitch_range=(61, 61))])
def test_key_or_range_leaving_only_rests_is_an_error_not_a_silent_song(steering):
    with pytest.raises(MelodyError, match="leave none of the model's notes; its notes span G3-G5"):
        steering.constraints(chromatic_codec(), PRIMER)


# --- bars ------------------------------------------------------------------------------------

def melody_of(time_signature: tuple[int, int], *durations: str) -> Melody:
    return Melody(tuple(Note(60, Fraction(d)) for d in durations), time_signature=time_signature)


@pytest.mark.parametrize(("primer", "bars", "total"), [
    (melody_of((2, 4), "1/2", "1/2", "1"), 3, Fraction(8)),          # seed fills one bar
    (melody_of((3, 4), "1", "1", "1"), 2, Fraction(9)),
    (melody_of((6, 8), "3/2", "3/2"), 2, Fraction(9)),
    (melody_of((3, 4), "1", "1/2", "1"), 2, Fraction(9)),            # seed ends mid-bar
    (melody_of((6, 8), "1/2", "1/4"), 1, Fraction(6)),               # ... on a sixteenth
    (melody_of((2, 4), "1", "1", "1/2"), 1, Fraction(6)),
])
def test_bars_end_exactly_on_the_bar_line_after_the_seed(primer, bars, total):
    assert primer.total_duration + bars_budget(primer, bars) == total
    melodies = sample(chromatic_codec(), primer, Steering(bars=bars), rows=32)
    bar = primer.bar_length
    for melody in melodies:
        assert melody.total_duration == total
        assert melody.total_duration % bar == 0
    # Random sampling under the budget gives different rhythms, all ending on the line.
    assert len({tuple(m.notes) for m in melodies}) > 1


def test_bars_with_a_key_and_an_end_token_still_end_on_the_bar_line():
    codec = chromatic_codec(end_token=True)
    primer = melody_of((3, 4), "1", "1/2")
    melodies = sample(codec, primer, Steering(key="G", bars=4, stop_at_end=False), rows=16)
    assert all(m.total_duration == 15 for m in melodies)


def test_bars_are_counted_from_the_time_signature_of_the_primer():
    assert bars_budget(melody_of((6, 8), "3/2"), 2) == Fraction(15, 2)  # 3/2 + 6 to bar 3
    assert bars_budget(melody_of((4, 4), "1"), 1) == Fraction(7)


def test_a_budget_no_token_fits_is_a_clear_error():
    costs = torch.tensor([1.0, 2.0, 0.5])
    with pytest.raises(MelodyError, match="no allowed token fits"):
        generate(Uniform(3), [0], 100, constraints=Constraints(costs=costs, budget=0.25))


def test_a_row_whose_leftover_fits_no_token_ends_there_instead_of_hanging():
    constraints = Constraints(costs=torch.tensor([1.0, 1.0]), budget=2.5)
    rows = generate(Uniform(2), [0], 10_000, Sampling(temperature=1.0), num_outputs=3,
                    constraints=constraints, generator=torch.Generator().manual_seed(0))
    assert [len(r) for r in rows] == [2, 2, 2]


def test_constraints_leaving_no_token_at_all_raise_instead_of_hanging():
    nothing = Constraints(allowed=torch.zeros(5, dtype=torch.bool))
    with pytest.raises(MelodyError, match="leave no allowed token"):
        generate(Uniform(5), [0], 10_000, constraints=nothing)
    with pytest.raises(MelodyError, match="leave no allowed token"):
        beam_search(Uniform(5), [0], 10_000, 3, constraints=nothing)


# --- end token -------------------------------------------------------------------------------

def test_the_end_token_stops_a_melody_and_is_not_part_of_it():
    codec = chromatic_codec(end_token=True)
    constraints = Steering().constraints(codec, PRIMER)
    assert constraints.stop_id == codec.end_id
    primer = codec.encode(PRIMER)[:-1]
    rows = generate(Always(codec.vocab_size, codec.end_id), primer, 50, num_outputs=2,
                    constraints=constraints)
    assert rows == [[], []]
    assert codec.decode(primer + rows[0], like=PRIMER) == PRIMER


def test_no_stop_masks_the_end_token_and_fills_the_length():
    codec = chromatic_codec(end_token=True)
    constraints = Steering(stop_at_end=False).constraints(codec, PRIMER)
    assert constraints.stop_id is None and not bool(constraints.allowed[codec.end_id])
    primer = codec.encode(PRIMER)[:-1]
    rows = generate(Always(codec.vocab_size, codec.end_id), primer, 12, num_outputs=2,
                    constraints=constraints)
    assert [len(r) for r in rows] == [12, 12]
    assert codec.end_id not in rows[0]


def test_end_token_rows_of_a_batch_stop_independently():
    codec = chromatic_codec(end_token=True)
    primer = codec.encode(PRIMER)[:-1]
    constraints = Steering().constraints(codec, PRIMER)
    logits = torch.zeros(codec.vocab_size)
    logits[codec.end_id] = math.log(codec.vocab_size / 4)  # the end token about 1 in 5

    class Biased(nn.Module):
        def forward(self, x, state=None):
            return logits.expand(*x.shape, -1), state

    rows = generate(Biased(), primer, 200, Sampling(temperature=1.0), num_outputs=8,
                    constraints=constraints, generator=torch.Generator().manual_seed(1))
    assert all(codec.end_id not in r for r in rows)
    assert len({len(r) for r in rows}) > 1 and max(len(r) for r in rows) < 200


# --- beam search -----------------------------------------------------------------------------

V, LENGTH = 4, 3


def tiny_model(seed: int) -> SequenceModel:
    torch.manual_seed(seed)
    model = SequenceModel(ModelConfig(vocab_size=V, output_size=V, hidden=8, embedding_dim=4))
    with torch.no_grad():
        model.head.weight.mul_(6)  # sharper distributions make the greedy path lose more often
    return model.eval()


def log_probability(model: SequenceModel, primer: list[int], continuation: tuple[int, ...],
                    allowed: torch.Tensor | None = None) -> float:
    """Log-probability of ``continuation`` after ``primer``, masked like Constraints does."""
    tokens = torch.tensor([primer + list(continuation)])
    with torch.no_grad():
        logits = model(tokens)[0][0, len(primer) - 1 : -1]
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    log_probs = logits.log_softmax(-1)
    return float(sum(log_probs[i, t] for i, t in enumerate(continuation)))


def ranked(model: SequenceModel, primer: list[int], allowed: torch.Tensor | None = None):
    tokens = range(V) if allowed is None else [t for t in range(V) if allowed[t]]
    every = itertools.product(tokens, repeat=LENGTH)
    return sorted(every, key=lambda c: -log_probability(model, primer, c, allowed))


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_finds_the_most_probable_continuations_by_brute_force(seed):
    model, primer = tiny_model(seed), [seed % V, 1]
    best = ranked(model, primer)
    # A beam as wide as every prefix of length LENGTH - 1 is exhaustive: exact top 3.
    rows = beam_search(model, primer, LENGTH, beams=V ** (LENGTH - 1), num_outputs=3)
    assert [tuple(r) for r in rows] == best[:3]


def test_a_narrow_beam_beats_or_equals_greedy_and_beam_one_is_greedy():
    found_better = False
    for seed in range(12):
        model, primer = tiny_model(seed), [0, 1]
        greedy = generate(model, primer, LENGTH)[0]
        assert beam_search(model, primer, LENGTH, beams=1) == [greedy]
        beam = beam_search(model, primer, LENGTH, beams=3)[0]
        greedy_score = log_probability(model, primer, tuple(greedy))
        beam_score = log_probability(model, primer, tuple(beam))
        assert beam_score >= greedy_score - 1e-5
        found_better |= beam_score > greedy_score + 1e-5
    assert found_better  # otherwise this test would not show the beam doing anything


def test_beam_search_under_a_mask_is_exact_over_the_allowed_tokens():
    model, primer = tiny_model(3), [2, 1]
    allowed = torch.tensor([True, False, True, True])
    rows = beam_search(model, primer, LENGTH, beams=9, num_outputs=2,
                       constraints=Constraints(allowed=allowed))
    assert [tuple(r) for r in rows] == ranked(model, primer, allowed)[:2]


def test_beam_search_with_a_budget_ends_on_the_bar_line():
    codec = chromatic_codec()
    primer = melody_of((3, 4), "1", "1/2")
    constraints = Steering(bars=2).constraints(codec, primer)
    rows = beam_search(Uniform(codec.vocab_size), codec.encode(primer), 10_000, beams=4,
                       num_outputs=4, constraints=constraints)
    for row in rows:
        assert codec.decode(codec.encode(primer) + row, like=primer).total_duration == 9


def test_beam_search_stops_at_the_end_token():
    codec = chromatic_codec(end_token=True)
    primer = codec.encode(PRIMER)[:-1]
    rows = beam_search(Always(codec.vocab_size, codec.end_id), primer, 30, beams=3,
                       constraints=Steering().constraints(codec, PRIMER))
    assert rows == [[]]


def test_more_outputs_than_beams_is_an_error():
    with pytest.raises(MelodyError, match="--num-outputs 3 exceeds --beam 2"):
        beam_search(tiny_model(0), [0, 1], LENGTH, beams=2, num_outputs=3)
