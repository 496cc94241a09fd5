"""The classifier two-sample test: can a classifier tell two sets of melodies apart?

Each melody becomes a vector of ``melodyfeatures.FEATURES``; a gradient-boosted tree
classifier (scikit-learn's ``HistGradientBoostingClassifier``, fixed seed) is trained and
scored by stratified K-fold cross-validation, so every melody gets an out-of-fold score
from a classifier that never saw it. Paired sets (a sample and the real melody whose
opening primed it) keep each pair in one fold: otherwise a sample that copies its real
melody would teach the classifier the opposite label and pull the AUC far below 0.5.

The ROC AUC of the out-of-fold scores is the probability that a melody of the first set
scores above one of the second: 0.5 means the classifier cannot tell them apart, 1 that
it always can. The confidence interval is DeLong's (the AUC's variance from its
structural components, normal approximation), computed on the out-of-fold scores, so it
does not count the variation between training folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.melodyfeatures import feature_matrix
from melodyrnn.music.melody import Melody

FOLDS = 5
LEVEL = 0.95
CLASSIFIER = "gradient-boosted trees"
MIN_LEAF = 20  # melodies per leaf of a tree (scikit-learn's default)
ENOUGH_TO_SPLIT = 25  # melodies a side before a fold's trees can split at all (2 leaves)


@dataclass(frozen=True)
class TwoSampleResult:
    """Out-of-fold ROC AUC of first-set vs second-set melodies and its confidence interval."""

    auc: float
    low: float
    high: float
    sizes: tuple[int, int]
    too_few_to_learn: bool = False  # too few to split: the scores are only the folds' priors

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form for JSON."""
        return {"auc": self.auc, "ci_low": self.low, "ci_high": self.high,
                "sizes": list(self.sizes), "too_few_to_learn": self.too_few_to_learn}


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse]


def delong(positive: np.ndarray, negative: np.ndarray, level: float = LEVEL
           ) -> tuple[float, float, float]:
    """AUC of positive- vs negative-class scores and DeLong's confidence interval, in [0, 1]."""
    m, n = len(positive), len(negative)
    together = _midranks(np.concatenate([positive, negative]))
    auc = (together[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_positive = (together[:m] - _midranks(positive)) / n
    v_negative = 1 - (together[m:] - _midranks(negative)) / m
    variance = (np.var(v_positive, ddof=1) / m if m > 1 else 0.0) + (
        np.var(v_negative, ddof=1) / n if n > 1 else 0.0)
    half = NormalDist().inv_cdf((1 + level) / 2) * float(np.sqrt(variance))
    return float(auc), max(0.0, float(auc) - half), min(1.0, float(auc) + half)


def out_of_fold_scores(features: np.ndarray, labels: np.ndarray, folds: int = FOLDS,
                       seed: int = 0, groups: np.ndarray | None = None) -> np.ndarray:
    """Each row's probability of label 1 from a classifier trained on the other folds (rows
    of one group always in one fold)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    classifier = HistGradientBoostingClassifier(min_samples_leaf=MIN_LEAF, random_state=seed)
    kind = StratifiedKFold if groups is None else StratifiedGroupKFold
    splitter = kind(n_splits=folds, shuffle=True, random_state=seed)
    # One thread: on a busy machine OpenMP's thread hand-offs cost 10-30x the work itself.
    with threadpool_limits(1):
        return cross_val_predict(classifier, features, labels, groups=groups, cv=splitter,
                                 method="predict_proba")[:, 1]


def two_sample_test(first: Sequence[Melody], second: Sequence[Melody], folds: int = FOLDS,
                    seed: int = 0, level: float = LEVEL, pairs: Sequence[int] | None = None
                    ) -> TwoSampleResult:
    """How well a cross-validated classifier tells ``first`` from ``second`` (AUC, CI).

    ``pairs``, if given, says for each melody of ``first`` which melody of ``second`` it is
    paired with (by index); pairs share a fold.
    """
    if min(len(first), len(second)) < folds:
        raise MelodyError(f"the two-sample test needs at least {folds} melodies on each side "
                          f"(got {len(first)} and {len(second)})")
    features = np.vstack([feature_matrix(first), feature_matrix(second)])
    labels = np.array([1] * len(first) + [0] * len(second))
    groups = None if pairs is None else np.array([*pairs, *range(len(second))])
    scores = out_of_fold_scores(features, labels, folds, seed, groups)
    auc, low, high = delong(scores[labels == 1], scores[labels == 0], level)
    trained_on = len(labels) * (folds - 1) // folds  # melodies each fold's classifier sees
    return TwoSampleResult(auc, low, high, (len(first), len(second)),
                           too_few_to_learn=trained_on < 2 * MIN_LEAF)
