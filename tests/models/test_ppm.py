"""PPM: hand-computed blended probabilities, update exclusion, PPM* selection, STM+LTM."""

from __future__ import annotations

import numpy as np
import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.models.ppm import LTM, PPM, STM, PPMConfig, PPMPredictor, combine_entropy_weighted

ALPHABET = ["a", "b", "c"]


def after(model: PPM, history: list[str]) -> np.ndarray:
    return model.distribution(model.contexts(model.ids(history)))


def test_textbook_ppm_c_blend_matches_the_hand_calculation():
    # Trained on "a b a"; order 1 after "a": context a saw {b: 1}, order 0 saw {a: 2, b: 1}.
    # order 1: weight 1/(1+1); b gets 1/2.  order 0: weight 3/(3+2), escape so far 1/2:
    # a += 1/2 * 3/5 * 2/3 = 0.2, b += 1/2 * 3/5 * 1/3 = 0.1.  order -1: 1/2 * 2/5 = 0.2 / 3.
    model = PPM(ALPHABET, PPMConfig(order=1, idyom_blend=False)).fit([list("aba")])
    expected = np.array([0.2 + 0.2 / 3, 0.5 + 0.1 + 0.2 / 3, 0.2 / 3])
    assert after(model, ["a"]) == pytest.approx(expected)


def test_idyom_blend_matches_the_hand_calculation():
    # As IDyOM's compute-mixture: order 0 leaves b (seen at order 1) out of its total, so
    # weight 2/(2+2); a += 1/2*1/2*2/2, b += 1/2*1/2*1/2; order -1 is 1/(3+1-2) each, times
    # the escape 1/4; then the whole is normalised: (0.375, 0.75, 0.125) / 1.25.
    model = PPM(ALPHABET, PPMConfig(order=1)).fit([list("aba")])
    assert after(model, ["a"]) == pytest.approx([0.3, 0.6, 0.1])


@pytest.mark.parametrize("config", [LTM, STM, PPMConfig(order=2), PPMConfig(escape="a"),
                                    PPMConfig(idyom_blend=False, update_exclusion=True)])
def test_every_distribution_sums_to_one_and_is_positive(config):
    rng = np.random.default_rng(0)
    sequences = [list(rng.choice(ALPHABET, size=20)) for _ in range(5)]
    model = PPM(ALPHABET, config).fit(sequences[:4])
    probs = model.predict(sequences[4])
    assert probs.sum(1) == pytest.approx(np.ones(len(probs)))
    assert (probs > 0).all()


def test_an_unseen_symbol_gets_order_minus_one_probability():
    model = PPM(ALPHABET, LTM).fit([list("abab")])
    assert 0 < after(model, ["a"])[2] < 0.1


def test_update_exclusion_counts_only_where_the_symbol_was_predicted():
    # In "a b a b" the last b is known after context "a", so order 0 does not count it again.
    plain = PPM(ALPHABET, PPMConfig(order=1)).fit([list("abab")])
    excluded = PPM(ALPHABET, PPMConfig(order=1, update_exclusion=True)).fit([list("abab")])
    b = plain.index["b"]
    assert plain.root.children[b].count == 2
    assert excluded.root.children[b].count == 1
    assert excluded.root.children[b].full == 2
    a = plain.index["a"]
    assert excluded.root.children[a].children[b].count == 2  # context a -> b, both times


def test_ppm_star_picks_the_shortest_deterministic_context():
    model = PPM(ALPHABET, LTM).fit([list("abcab")])
    # After "c": context c is deterministic (only a followed it), and is chosen over order 0.
    assert model.select(model.contexts(model.ids(["b", "c"]))) == (1, True)
    # After "b": b was followed by c once and ended the sequence once: not deterministic.
    # So is "a b"; the longest context seen (order 2) is used instead.
    assert model.select(model.contexts(model.ids(["a", "b"]))) == (2, False)


def test_order_bound_limits_the_context():
    model = PPM(ALPHABET, PPMConfig(order=1)).fit([list("abcabc")])
    active = model.contexts(model.ids(list("abca")))
    assert model.select(active) == (1, False)


def test_learning_while_predicting_never_sees_the_symbol_first():
    stm = PPM(ALPHABET, STM)
    probs = stm.predict(list("aaaa"), learn=True)
    assert probs[0] == pytest.approx(np.full(3, 1 / 3))  # nothing known yet: uniform
    assert probs[3][0] > probs[1][0] > 1 / 3


def test_entropy_weighted_combination_matches_the_formula_and_sums_to_one():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    h_q = -(q * np.log2(q)).sum()
    w_p, w_q = 1.0, h_q ** -2  # relative entropies 1 and h_q (max entropy 1 bit), bias 2
    raw = p ** (w_p / (w_p + w_q)) * q ** (w_q / (w_p + w_q))
    assert combine_entropy_weighted([p, q], bias=2) == pytest.approx(raw / raw.sum())


def test_ltm_plus_stm_predictions_sum_to_one():
    predictor = PPMPredictor.train([list("abcab"), list("bca")], ALPHABET)
    probs = predictor.predict(list("abcabcc"))
    assert probs.sum(1) == pytest.approx(np.ones(7))
    bits = predictor.bits(list("abcabcc"))
    assert np.isfinite(bits).all() and (bits > 0).all()


def test_symbols_outside_the_alphabet_are_an_error():
    with pytest.raises(MelodyError, match="not in the PPM alphabet"):
        PPM(ALPHABET).fit([["a", "z"]])
    with pytest.raises(MelodyError):
        PPMConfig(escape="q")
