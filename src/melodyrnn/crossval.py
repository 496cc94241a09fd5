"""K-fold cross-validation by melody, pitch-only bits per note (see ``metrics``).

``cross_validate`` splits melodies into folds, trains one model per fold on the other folds
(a PPM, or a neural model through ``pipeline.fit``) and scores each held-out melody note by
note. Every note is predicted exactly once, by a model that never saw its melody.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from melodyrnn.errors import MelodyError
from melodyrnn.metrics import (
    BitsResult,
    fold_indices,
    notes_only,
    pitch_alphabet,
    pitch_sequences,
    score_checkpoint,
)
from melodyrnn.music import Melody
from melodyrnn.ppm import LTM, LTM_BIAS, PPM, STM, PPMConfig, PPMPredictor

NEURAL_ARCHS = ("lstm", "gru", "rnn", "mlp")
ARCHS = ("ppm", *NEURAL_ARCHS)


@dataclass(frozen=True)
class CrossValConfig:
    """What to cross-validate; the neural defaults keep a 10-fold kinder run to a few minutes."""

    model: str = "ppm"
    folds: int = 10
    seed: int = 0
    ppm_order: int | None = None  # None: unbounded (PPM*)
    update_exclusion: bool = False
    stm: bool = True
    bias: float = LTM_BIAS
    ltm_plus: bool = False  # IDyOM's LTM+: also learn each test melody once predicted
    epochs: int = 20
    lr: float = 0.005
    hidden: int = 128
    layers: int = 1
    embedding_dim: int = 32
    batch_size: int = 16
    bptt: int = 64

    def __post_init__(self) -> None:
        if self.model not in ARCHS:
            raise MelodyError(f"--model {self.model}: with --folds expected one of "
                              f"{', '.join(ARCHS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
                   log: Callable[[str], None] | None = None, progress: bool = False
                   ) -> CrossValResult:
    """Train on k-1 folds and score the held-out fold, for every fold; pitch-only bits/note."""
    log = log or (lambda message: None)
    melodies = [notes_only(m) for m in melodies]
    kept = [i for i, m in enumerate(melodies) if len(m)]
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
        scores = FOLD_RUNNERS["ppm" if config.model == "ppm" else "neural"](
            train, tests, alphabet, config, progress)
        for i, b in zip(test, scores.bits):
            bits[i] = b
        log(f"fold {number}/{len(folds)}: {scores.notes} notes, "
            f"{scores.pooled:.3f} bits/note")
    return CrossValResult(config, BitsResult([b for b in bits if b is not None]), alphabet,
                          [len(f) for f in folds], time.perf_counter() - started)


def _ppm_fold(train: Sequence[Melody], tests: Sequence[Melody], alphabet: Sequence[int],
              config: CrossValConfig, progress: bool) -> BitsResult:
    ltm, stm = ppm_configs(config)
    predictor = PPMPredictor.train(pitch_sequences(train), alphabet, ltm, stm, config.bias,
                                   config.ltm_plus)
    return BitsResult([predictor.bits(seq) for seq in pitch_sequences(tests)])


def first_note_distribution(train: Sequence[Melody], alphabet: Sequence[int]) -> np.ndarray:
    """The order-0 PPM-C estimate of a pitch from the training melodies (for note 1)."""
    model = PPM(alphabet, PPMConfig(order=0)).fit(pitch_sequences(train))
    return model.distribution([model.root])


def _neural_fold(train: Sequence[Melody], tests: Sequence[Melody], alphabet: Sequence[int],
                 config: CrossValConfig, progress: bool) -> BitsResult:
    from melodyrnn.codec import NoteCodec
    from melodyrnn.models import ModelConfig
    from melodyrnn.pipeline import fit
    from melodyrnn.train import TrainConfig

    codec = NoteCodec.fit(train)
    model_config = ModelConfig(arch=config.model, hidden=config.hidden, layers=config.layers,
                               embedding_dim=config.embedding_dim)
    train_config = TrainConfig(epochs=config.epochs, lr=config.lr, batching="stream",
                               batch_size=config.batch_size, bptt=config.bptt,
                               stop_accuracy=1.1, rng_seed=config.seed)
    report = fit(train, codec, model_config, train_config, progress=progress,
                 log=lambda message: None)
    return score_checkpoint(report.checkpoint, tests, alphabet,
                            first=first_note_distribution(train, alphabet))


FOLD_RUNNERS: dict[str, Callable[..., BitsResult]] = {"ppm": _ppm_fold, "neural": _neural_fold}


def format_result(result: CrossValResult) -> str:
    """A few lines for people: model, folds, notes and both means."""
    c = result.config
    if c.model == "ppm":
        order = "unbounded" if c.ppm_order is None else f"order {c.ppm_order}"
        what = (f"ppm ({order}, escape C, blending, update exclusion "
                f"{'on' if c.update_exclusion else 'off'}"
                f"{', LTM+' if c.ltm_plus else ''}"
                f"{', + short-term model' if c.stm else ', long-term only'})")
    else:
        what = f"{c.model} ({c.epochs} epochs per fold, hidden {c.hidden})"
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


__all__ = ["ARCHS", "CrossValConfig", "CrossValResult", "cross_validate",
           "first_note_distribution", "format_result"]
