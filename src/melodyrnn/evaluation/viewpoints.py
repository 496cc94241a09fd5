"""IDyOM-style viewpoints for the PPM: predicting pitch through derived sequences.

A viewpoint turns a melody's pitches into symbols: the pitch itself (``cpitch``), the pitch
relative to the key signature's tonic, moved to C the nearer way as the key frame of the
note codec reads it (``cpintfref``), or the interval from
the previous note (``cpint``). A PPM (long-term, and short-term) predicts the next symbol,
and its prediction is mapped back to a distribution over the pitch alphabet: symbol s after
context c stands for the one pitch that gives s there. ``ViewpointModels.components`` gives
every viewpoint's long- and short-term pitch distributions for a melody, to be combined
with IDyOM's entropy-weighted geometric mean (``ppm.combine_entropy_weighted``).

The key reference is the key signature's tonic (``codecs.notes.key_reference``): metadata
known before the notes, or the first note when the file had no key, never a key analysed
from notes yet to be predicted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from melodyrnn.codecs.notes import key_shift
from melodyrnn.errors import MelodyError
from melodyrnn.models.ppm import PPM, PPMConfig
from melodyrnn.music.melody import Melody

VIEWPOINTS = ("cpitch", "cpintfref", "cpint")
FLOOR = 1e-3  # share of uniform mixed into a mapped distribution (unseen symbols)


def parse_viewpoints(text: str) -> tuple[str, ...]:
    """Viewpoint names from ``cpitch,cpint``; each known, at least one."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in VIEWPOINTS]
    if not names or unknown:
        raise MelodyError(f"viewpoints {text!r}: expected some of {', '.join(VIEWPOINTS)}")
    return names


def symbols(viewpoint: str, melody: Melody) -> list[int]:
    """The viewpoint's symbol for each pitched note (cpint: from the second note on)."""
    pitches = [n.pitch for n in melody.notes if n.pitch is not None]
    if viewpoint == "cpitch":
        return pitches
    if viewpoint == "cpintfref":  # as the key frame reads it: the tonic moved to C
        shift = key_shift(melody)
        return [p + shift for p in pitches]
    return [b - a for a, b in pairwise(pitches)]


@dataclass
class ViewpointModels:
    """Long-term PPMs per viewpoint (trained on a corpus) and the short-term settings."""

    viewpoints: tuple[str, ...]
    long_term: dict[str, PPM]
    alphabet: list[int]
    stm: PPMConfig | None
    ltm_plus: bool = False

    @classmethod
    def train(cls, melodies: Sequence[Melody], every: Sequence[Melody], alphabet: Sequence[int],
              viewpoints: tuple[str, ...], ltm: PPMConfig, stm: PPMConfig | None,
              ltm_plus: bool = False) -> ViewpointModels:
        """Fit each viewpoint's long-term model on ``melodies``; symbol alphabets come from
        ``every`` melody of the data set (as IDyOM builds its alphabets)."""
        models = {}
        for viewpoint in viewpoints:
            symbol_set = sorted({s for m in every for s in symbols(viewpoint, m)}) or [0]
            models[viewpoint] = PPM(symbol_set, ltm).fit(symbols(viewpoint, m) for m in melodies)
        return cls(viewpoints, models, list(alphabet), stm, ltm_plus)

    @property
    def ltm(self) -> PPM:
        """The long-term model of the pitch itself (the ``cpitch`` viewpoint)."""
        return self.long_term["cpitch"]

    def components(self, melody: Melody) -> list[np.ndarray]:
        """Each viewpoint's long-term (then short-term) pitch distributions, (notes, |alphabet|)."""
        parts = []
        for viewpoint in self.viewpoints:
            sequence = symbols(viewpoint, melody)
            model = self.long_term[viewpoint]
            predictions = [model.predict(sequence, learn=self.ltm_plus)]
            if self.stm is not None:
                predictions.append(PPM(model.alphabet, self.stm).predict(sequence, learn=True))
            parts += [self._to_pitches(viewpoint, melody, model.alphabet, p)
                      for p in predictions]
        return parts

    def _to_pitches(self, viewpoint: str, melody: Melody, symbol_set: list,
                    predicted: np.ndarray) -> np.ndarray:
        """Symbol distributions (one per symbol) as pitch distributions (one per note)."""
        if viewpoint == "cpitch" and symbol_set == self.alphabet:
            return predicted  # the pitch itself: nothing to map
        pitches = [n.pitch for n in melody.notes if n.pitch is not None]
        size = len(self.alphabet)
        index = {s: i for i, s in enumerate(symbol_set)}
        out = np.full((len(pitches), size), 1.0 / size)
        first = 1 if viewpoint == "cpint" else 0  # an interval needs a note before it
        columns: dict[int, np.ndarray] = {}  # offset -> symbol column of each alphabet pitch
        for note in range(first, len(pitches)):
            base = pitches[note - 1] if viewpoint == "cpint" else -key_shift(melody)
            if base not in columns:
                columns[base] = np.array([index.get(p - base, -1) for p in self.alphabet])
            column = columns[base]
            mapped = np.where(column >= 0, predicted[note - first][column], 0.0)
            total = mapped.sum()
            if total > 0:
                out[note] = (1 - FLOOR) * mapped / total + FLOOR / size
        return out
