"""The classifier two-sample test: it tells an obviously wrong generator from real melodies and
cannot tell two halves of one set of melodies apart."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.melodyfeatures import FEATURES, feature_matrix
from melodyrnn.evaluation.twosample import delong, two_sample_test
from melodyrnn.music.notation import parse_text
from tests.tunes import folk_tunes, uniform_notes


@pytest.fixture(scope="module")
def tunes():
    return folk_tunes(200, seed=1)


def test_uniform_random_notes_are_told_apart_from_real_melodies(tunes):
    rng = random.Random(0)
    wrong = [uniform_notes(m, rng) for m in tunes[:100]]
    result = two_sample_test(wrong, tunes[100:], seed=0)
    assert result.auc > 0.95 and result.low > 0.9
    assert result.sizes == (100, 100)


def test_two_halves_of_the_same_melodies_are_indistinguishable(tunes):
    result = two_sample_test(tunes[:100], tunes[100:], seed=0)
    assert 0.4 < result.auc < 0.6
    assert result.low < 0.5 < result.high


def test_the_test_is_repeatable_with_the_same_seed(tunes):
    assert two_sample_test(tunes[:50], tunes[150:], seed=3) == \
        two_sample_test(tunes[:50], tunes[150:], seed=3)


def test_too_few_melodies_for_the_folds_is_a_clear_error(tunes):
    with pytest.raises(MelodyError, match="at least 5 melodies on each side"):
        two_sample_test(tunes[:4], tunes[4:20])


def test_delong_auc_is_the_roc_auc_with_ties():
    rng = np.random.default_rng(0)
    positive, negative = rng.integers(0, 6, 40) + 1.0, rng.integers(0, 6, 60).astype(float)
    auc, low, high = delong(positive, negative)
    labels = np.r_[np.ones(40), np.zeros(60)]
    assert auc == pytest.approx(roc_auc_score(labels, np.r_[positive, negative]))
    assert low < auc < high


def test_delong_interval_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = delong(rng.normal(1, 1, 20), rng.normal(0, 1, 20))
    large = delong(rng.normal(1, 1, 2000), rng.normal(0, 1, 2000))
    assert large[2] - large[1] < (small[2] - small[1]) / 5


def test_perfectly_separated_scores_have_auc_one():
    assert delong(np.array([2.0, 3.0]), np.array([0.0, 1.0]))[0] == 1.0


def test_features_are_one_row_per_melody_and_read_the_melody():
    melodies = parse_text("\\time 2/4\nc8 d8 e4 | c8 d8 e4\n\n\\time 2/4\nc2 | g2 | c'2\n")
    matrix = feature_matrix(melodies)
    assert matrix.shape == (2, len(FEATURES))
    column = dict(zip(FEATURES, matrix.T))
    assert list(column["repeated bars"]) == [1.0, 0.0]
    assert list(column["largest leap (semitones)"]) == [4.0, 7.0]
    assert list(column["longest run of one pitch"]) == [1.0, 1.0]


def test_pairs_keep_copies_of_real_melodies_from_reading_as_anti_real(tunes):
    real = tunes[:60]
    copies = list(real)
    assert two_sample_test(copies, real, seed=0).auc < 0.3  # each copy's twin trains against it
    assert two_sample_test(copies, real, seed=0, pairs=range(60)).auc == pytest.approx(0.5)
