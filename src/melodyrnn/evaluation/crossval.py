"""K-fold cross-validation by melody, pitch-only bits per note (see ``pitch``).

``cross_validate`` splits melodies into folds, trains one model per fold on the other folds
(a PPM here, or a network through the ``trainer`` that ``pipeline.cross_validate`` passes)
and scores each held-out melody note by note. Every note is predicted exactly once, by a
model that never saw its melody.

``ppm+lstm`` (``ppm+gru``, ...) trains both on the same training folds and predicts each note
with IDyOM's entropy-weighted geometric combination (``ppm.combine_entropy_weighted``) of the
PPM's long-term, its short-term (unless ``stm`` is off) and the network's pitch-only
distributions, all in one combination with bias ``mix_bias``. The defaults (``config``) were
chosen on Essen *dva*, a development set, never on the reported *kinder*.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.config import ARCHS, MIX_BIAS, MIXTURE_ARCHS, CrossValConfig
from melodyrnn.evaluation.pitch import (
    BitsResult,
    bits_of,
    checkpoint_pitch_probs,
    fold_indices,
    notes_only,
    pitch_alphabet,
    pitch_sequences,
    score_checkpoint,
)
from melodyrnn.evaluation.viewpoints import ViewpointModels, parse_viewpoints
from melodyrnn.models.ppm import LTM, PPM, STM, PPMConfig, combine_entropy_weighted
from melodyrnn.music.melody import Melody

# Trains a fold's network: (training melodies, config) -> a checkpoint-like object with
# ``model``, ``codec`` and ``train_config`` (pipeline.train_network).
NetworkTrainer = Callable[[Sequence[Melody], "CrossValConfig"], Any]


@dataclass
class CrossValResult:
    """Bits per note of every melody (in input order) and how the run went."""

    config: CrossValConfig
    scores: BitsResult
    alphabet: list[int]
    fold_sizes: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.config.model, "folds": len(self.fold_sizes),
                "config": self.config.to_dict(), **self.scores.to_dict(),
                "alphabet_size": len(self.alphabet),
                "pitch_range": [min(self.alphabet), max(self.alphabet)],
                "seconds": round(self.seconds, 2)}


def ppm_configs(config: CrossValConfig) -> tuple[PPMConfig, PPMConfig | None]:
    """The long-term and (or None) short-term PPM settings of a run."""
    ltm = replace(LTM, order=config.ppm_order, update_exclusion=config.update_exclusion)
    return ltm, (STM if config.stm else None)


def cross_validate(melodies: Sequence[Melody], config: CrossValConfig = CrossValConfig(),
                   log: Callable[[str], None] | None = None,
                   trainer: NetworkTrainer | None = None) -> CrossValResult:
    """Train on k-1 folds and score the held-out fold, for every fold; pitch-only bits/note.

    ``trainer`` trains a fold's network for neural and mixture models (``pipeline``
    supplies it: training is not this package's job).
    """
    log = log or (lambda message: None)
    if trainer is None and runner_of(config.model) != "ppm":
        raise MelodyError(f"--model {config.model}: cross-validating a network needs a trainer "
                          "(use pipeline.cross_validate)")
    if not config.rests:
        melodies = [notes_only(m) for m in melodies]
    kept = [i for i, m in enumerate(melodies) if any(n.pitch is not None for n in m.notes)]
    if len(kept) < len(melodies):
        log(f"left out {len(melodies) - len(kept)} melodies without notes")
    melodies = [melodies[i] for i in kept]
    alphabet = pitch_alphabet(melodies)
    if not alphabet:
        raise MelodyError("no notes to evaluate")
    folds = fold_indices(len(melodies), config.folds, config.seed)
    started = time.perf_counter()
    bits: list[np.ndarray | None] = [None] * len(melodies)
    for number, test in enumerate(folds, 1):
        held = set(test)
        train = [melodies[i] for i in range(len(melodies)) if i not in held]
        tests = [melodies[i] for i in test]
        scores = FOLD_RUNNERS[runner_of(config.model)](train, tests, alphabet, config, trainer)
        for i, b in zip(test, scores.bits):
            bits[i] = b
        log(f"fold {number}/{len(folds)}: {scores.notes} notes, "
            f"{scores.pooled:.3f} bits/note")
    return CrossValResult(config, BitsResult([b for b in bits if b is not None]), alphabet,
                          [len(f) for f in folds], time.perf_counter() - started)


def runner_of(model: str) -> str:
    """Which ``FOLD_RUNNERS`` entry trains and scores ``model``."""
    return "ppm" if model == "ppm" else "mixture" if model in MIXTURE_ARCHS else "neural"


def network_of(model: str) -> str:
    """The network architecture of a neural or ``ppm+<net>`` model."""
    return model.removeprefix("ppm+")


def train_ppm(train: Sequence[Melody], alphabet: Sequence[int], config: CrossValConfig,
              every: Sequence[Melody] = ()) -> ViewpointModels:
    """The PPMs of a fold's training melodies, one per viewpoint (long-term, and short-term
    unless ``stm`` is off); symbol alphabets from ``every`` melody of the data set."""
    ltm, stm = ppm_configs(config)
    return ViewpointModels.train(train, [*train, *every], alphabet,
                                 parse_viewpoints(config.viewpoints), ltm, stm, config.ltm_plus)


def _ppm_fold(train: Sequence[Melody], tests: Sequence[Melody], alphabet: Sequence[int],
              config: CrossValConfig, trainer: NetworkTrainer | None) -> BitsResult:
    models = train_ppm(train, alphabet, config, tests)
    column = {p: i for i, p in enumerate(alphabet)}
    result = BitsResult()
    for melody in tests:
        parts = models.components(melody)
        probs = parts[0] if len(parts) == 1 else combine_entropy_weighted(parts, config.bias)
        result.bits.append(bits_of(probs, [column[p] for p in pitch_sequences([melody])[0]]))
    return result


def first_note_distribution(train: Sequence[Melody], alphabet: Sequence[int]) -> np.ndarray:
    """The order-0 PPM-C estimate of a pitch from the training melodies (for note 1)."""
    model = PPM(alphabet, PPMConfig(order=0)).fit(pitch_sequences(train))
    return model.distribution([model.root])


def _neural_fold(train: Sequence[Melody], tests: Sequence[Melody], alphabet: Sequence[int],
                 config: CrossValConfig, trainer: NetworkTrainer) -> BitsResult:
    return score_checkpoint(trainer(train, config), tests, alphabet,
                            first=first_note_distribution(train, alphabet))


def mixture_pitch_probs(predictor: ViewpointModels, checkpoint, melody: Melody,
                        alphabet: Sequence[int], bias: float = MIX_BIAS,
                        first: np.ndarray | None = None) -> np.ndarray:
    """(notes, |alphabet|): the PPMs' long- and short-term and the network's pitch
    distributions, combined per note in one entropy-weighted geometric mean.

    ``predictor`` must be built on ``alphabet`` (same column order as the network's).
    """
    parts = predictor.components(melody)
    parts.append(checkpoint_pitch_probs(checkpoint, melody, alphabet, first))
    return combine_entropy_weighted(parts, bias)


def _mixture_fold(train: Sequence[Melody], tests: Sequence[Melody], alphabet: Sequence[int],
                  config: CrossValConfig, trainer: NetworkTrainer) -> BitsResult:
    predictor = train_ppm(train, alphabet, config, tests)
    checkpoint = trainer(train, config)
    first = first_note_distribution(train, alphabet)
    column = {p: i for i, p in enumerate(alphabet)}
    result = BitsResult()
    for melody in tests:
        probs = mixture_pitch_probs(predictor, checkpoint, melody, alphabet, config.mix_bias,
                                    first)
        result.bits.append(bits_of(probs, [column[p] for p in pitch_sequences([melody])[0]]))
    return result


FOLD_RUNNERS: dict[str, Callable[..., BitsResult]] = {
    "ppm": _ppm_fold, "neural": _neural_fold, "mixture": _mixture_fold}


def _network(c: CrossValConfig) -> str:
    """The network settings a fold trains with, as the model line states them."""
    return (f"{c.epochs} epochs per fold, hidden {c.hidden}, {c.frame} frame, inputs {c.inputs}"
            f"{', copy memory' if c.copy else ''}")


def format_result(result: CrossValResult) -> str:
    """A few lines for people: model, folds, notes and both means."""
    c = result.config
    if c.init:
        what = (f"{c.model} (pre-trained {c.init}, "
                + (f"fine-tuned {c.epochs} epochs per fold at lr {c.lr:g})" if c.epochs
                   else "used as it is)"))
    elif c.model == "ppm":
        order = "unbounded" if c.ppm_order is None else f"order {c.ppm_order}"
        what = (f"ppm ({order}, escape C, blending, update exclusion "
                f"{'on' if c.update_exclusion else 'off'}"
                f"{', LTM+' if c.ltm_plus else ''}"
                f"{', + short-term model' if c.stm else ', long-term only'}, viewpoints "
                f"{c.viewpoints}, bias {c.bias:g})")
    elif c.model in MIXTURE_ARCHS:
        what = (f"{c.model} (PPM* LTM{' + STM' if c.stm else ''}, viewpoints {c.viewpoints}, "
                f"bias {c.bias:g} + {network_of(c.model)} {_network(c)}; entropy-weighted "
                f"geometric mix, bias {c.mix_bias:g})")
    else:
        what = f"{c.model} ({_network(c)})"
    s = result.scores
    return "\n".join([
        f"model      {what}",
        f"folds      {len(result.fold_sizes)} by melody (seed {c.seed}), {s.notes} notes in "
        f"{len(s.bits)} melodies, {len(result.alphabet)} pitches "
        f"{min(result.alphabet)}-{max(result.alphabet)}",
        f"bits/note  {s.pooled:.4f} pooled (mean over notes)",
        f"bits/note  {s.per_melody:.4f} per melody (mean of melody means, IDyOM's)",
        f"time       {result.seconds:.1f} s",
    ])


__all__ = ["ARCHS", "MIXTURE_ARCHS", "CrossValConfig", "CrossValResult", "NetworkTrainer",
           "cross_validate", "first_note_distribution", "format_result", "mixture_pitch_probs",
           "network_of", "train_ppm"]
