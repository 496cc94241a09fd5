"""Prediction by partial match (PPM) over token sequences, as IDyOM models melodies.

A ``PPM`` counts, for every context (a run of preceding symbols) seen in training, how often
each symbol followed it, in a trie: the node for context ``w`` holds a child per symbol ``s``
with the count of ``w s``. To predict after a history it *blends* (interpolated smoothing)
the estimates of every context that is a suffix of the history, from the selected order
down to order 0 and finally order -1 (uniform over the alphabet):

    p(s | w) = weight(w) * c(s | w) / N(w) + (1 - weight(w)) * p(s | w minus its first symbol)
    weight(w) = N(w) / (N(w) + E(w))

with escape method C (``E`` = distinct symbols seen after ``w``), X (symbols seen once,
plus one) or A (``E`` = 1). With ``order=None`` the order is unbounded and selected as in
PPM* (Cleary & Teahan 1997): the shortest *deterministic* context (one symbol ever followed
it) if there is one, else the longest context seen. ``update_exclusion`` counts a new
symbol only in the contexts that would have predicted it (the longest where it was already
seen, and every longer one where it was new), not in shorter ones.

``idyom_blend=True`` follows IDyOM's code (ppm-star.lisp, ``compute-mixture``) exactly: a
lower order's total count leaves out the symbols the order above it has seen, order -1 is
``1 / (|A| + 1 - |seen at order 0|)``, and the mixture is normalised at the end. Off, it is
the textbook blend, which sums to one by construction.

``combine_entropy_weighted`` is IDyOM's long-/short-term combination: a geometric mean of the
distributions, each weighted by its relative entropy to the power ``-bias``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from melodyrnn.errors import MelodyError
from melodyrnn.models.config import LTM_BIAS

ESCAPES = ("a", "c", "x")


@dataclass(frozen=True)
class PPMConfig:
    """How a PPM model counts and blends; the defaults are IDyOM's long-term model."""

    order: int | None = None  # None: unbounded, PPM* state selection
    escape: str = "c"
    update_exclusion: bool = False
    idyom_blend: bool = True

    def __post_init__(self) -> None:
        if self.escape not in ESCAPES:
            raise MelodyError(f"escape '{self.escape}': expected one of {', '.join(ESCAPES)}")
        if self.order is not None and self.order < 0:
            raise MelodyError(f"PPM order {self.order}: expected 0 or more, or None (unbounded)")


LTM = PPMConfig()
STM = PPMConfig(escape="x", update_exclusion=True)  # IDyOM's short-term model defaults


class _Node:
    """A context in the trie: how often it occurred, its successors, and melody ends after it."""

    __slots__ = ("children", "count", "ends", "full")

    def __init__(self) -> None:
        self.count = 0  # as counted under the model's update rule
        self.full = 0  # every occurrence (differs from count with update exclusion)
        self.ends = 0
        self.children: dict[int, _Node] = {}


class PPM:
    """A variable-order Markov model over an alphabet of hashable symbols."""

    def __init__(self, alphabet: Iterable[Hashable], config: PPMConfig = LTM) -> None:
        self.alphabet: list[Hashable] = list(dict.fromkeys(alphabet))
        if not self.alphabet:
            raise MelodyError("a PPM model needs a non-empty alphabet")
        self.index = {symbol: i for i, symbol in enumerate(self.alphabet)}
        self.config = config
        self.root = _Node()

    # --- counting ---------------------------------------------------------------------------

    def ids(self, sequence: Iterable[Hashable]) -> list[int]:
        """Alphabet indexes of symbols; raise MelodyError for a symbol outside the alphabet."""
        try:
            return [self.index[s] for s in sequence]
        except KeyError as err:
            raise MelodyError(f"symbol {err.args[0]!r} is not in the PPM alphabet") from None

    def fit(self, sequences: Iterable[Sequence[Hashable]]) -> PPM:
        """Count every sequence (each one on its own: contexts never cross sequences)."""
        for sequence in sequences:
            active = [self.root]
            for symbol in self.ids(sequence):
                active = self.add(active, symbol)
            self.end(active)
        return self

    def contexts(self, history: Sequence[int]) -> list[_Node]:
        """Nodes of the suffixes of ``history`` (ids) that were seen, longest last; root first."""
        active = [self.root]
        for symbol in history:
            active = self.advance(active, symbol)
        return active

    def advance(self, active: list[_Node], symbol: int) -> list[_Node]:
        """The context nodes after one more symbol, without counting it."""
        limit = self._limit()
        out = [self.root]
        for node in active[:limit]:
            child = node.children.get(symbol)
            if child is not None:
                out.append(child)
        return out

    def add(self, active: list[_Node], symbol: int) -> list[_Node]:
        """Count ``symbol`` after the contexts ``active`` (from ``contexts``) and step on."""
        limit = self._limit()
        usable = active[:limit]
        start = 0
        if self.config.update_exclusion:
            # Only the longest context that already knows the symbol, and the longer ones
            # where it is new, are updated.
            start = next((k for k in range(len(usable) - 1, -1, -1)
                          if symbol in usable[k].children), 0)
        out = [self.root]
        for k, node in enumerate(usable):
            child = node.children.get(symbol)
            if child is None:
                child = node.children[symbol] = _Node()
            child.full += 1
            if k >= start:
                child.count += 1
            out.append(child)
        return out

    def end(self, active: list[_Node]) -> None:
        """Record that a sequence ended after the contexts ``active`` (for PPM* determinism)."""
        for node in active[: self._limit()]:
            node.ends += 1

    def _limit(self) -> int | None:
        """How many context nodes (root = order 0 first) may be extended: order bound + 1."""
        return None if self.config.order is None else self.config.order + 1

    # --- prediction -------------------------------------------------------------------------

    def select(self, active: list[_Node]) -> tuple[int, bool]:
        """Index in ``active`` of the context to blend from, and whether PPM* chose it.

        With an order bound: the longest seen context up to it. Unbounded (PPM*): the
        shortest deterministic context (one symbol, and never a sequence end, followed it),
        else the longest seen.
        """
        seen = [k for k, node in enumerate(active) if node.children]
        longest = seen[-1] if seen else 0
        if self.config.order is not None:
            return min(longest, self.config.order), False
        for k in seen:  # shortest first; order 0 (the root) is never selected as deterministic
            node = active[k]
            if k > 0 and len(node.children) == 1 and node.ends == 0:
                return k, True
        return longest, False

    def distribution(self, active: list[_Node], min_order: int = 0) -> np.ndarray:
        """Probabilities over the alphabet of the next symbol after contexts ``active``.

        Contexts shorter than ``min_order`` symbols are left out of the blend; what they would
        have had goes to order -1 (uniform).
        """
        size = len(self.alphabet)
        probs = np.zeros(size)
        escape = 1.0
        above: dict[int, int] = {}
        selected, deterministic = self.select(active)
        for k in range(selected, min_order - 1, -1):
            # As IDyOM does, a deterministic context selected by PPM* uses its full counts.
            use_full = deterministic and k == selected
            counts = {s: (c.full if use_full else c.count)
                      for s, c in active[k].children.items() if c.count > 0}
            if not counts:
                above = counts
                continue
            if self.config.idyom_blend:
                total = sum(c for s, c in counts.items() if s not in above)
            else:
                total = sum(counts.values())
            weight = total / (total + self._escape_count(counts)) if total else 0.0
            if total:
                scale = escape * weight / total
                for s, c in counts.items():
                    probs[s] += scale * c
            escape *= 1.0 - weight
            above = counts
        if self.config.idyom_blend:
            seen = sum(1 for c in self.root.children.values() if c.count > 0)
            probs += escape / (size + 1 - seen)
            return probs / probs.sum()
        return probs + escape / size

    def _escape_count(self, counts: dict[int, int]) -> float:
        if self.config.escape == "c":
            return float(len(counts))
        if self.config.escape == "x":
            return float(sum(1 for c in counts.values() if c == 1) + 1)
        return 1.0

    def predict(self, sequence: Sequence[Hashable], learn: bool = False) -> np.ndarray:
        """Distributions (len(sequence), |alphabet|) of each symbol given the ones before it.

        With ``learn`` the sequence is counted as it goes (a short-term model, or IDyOM's
        LTM+), so each prediction also uses the sequence's own prefix; it is never counted
        before it is predicted.
        """
        ids = self.ids(sequence)
        out = np.empty((len(ids), len(self.alphabet)))
        active = [self.root]
        for i, symbol in enumerate(ids):
            out[i] = self.distribution(active)
            active = self.add(active, symbol) if learn else self.advance(active, symbol)
        if learn:
            self.end(active)
        return out


def combine_entropy_weighted(distributions: Sequence[np.ndarray], bias: float = LTM_BIAS
                             ) -> np.ndarray:
    """IDyOM's geometric combination: prod p_m^(w_m / sum w), w_m = (H_m / H_max)^-bias, normalised.

    Works row by row on (n, |A|) arrays or on single (|A|,) distributions.
    """
    stacked = np.stack([np.atleast_2d(d) for d in distributions])  # (models, n, |A|)
    size = stacked.shape[-1]
    max_entropy = math.log2(size) if size > 1 else 1.0
    safe = np.clip(stacked, 1e-300, None)
    entropy = -(stacked * np.log2(safe)).sum(-1)  # (models, n)
    relative = np.clip(entropy / max_entropy, 1e-12, None)
    weights = relative ** -bias
    weights = weights / weights.sum(0, keepdims=True)
    log_mix = (weights[..., None] * np.log(safe)).sum(0)
    log_mix -= log_mix.max(-1, keepdims=True)
    mix = np.exp(log_mix)
    mix /= mix.sum(-1, keepdims=True)
    return mix if np.ndim(distributions[0]) > 1 else mix[0]


@dataclass
class PPMPredictor:
    """A long-term PPM trained on a corpus, optionally combined with a short-term PPM per melody."""

    ltm: PPM
    stm_config: PPMConfig | None = STM
    bias: float = LTM_BIAS
    ltm_plus: bool = False  # IDyOM's LTM+: the long-term model also learns what it predicts

    @classmethod
    def train(cls, sequences: Iterable[Sequence[Hashable]], alphabet: Iterable[Hashable],
              ltm: PPMConfig = LTM, stm: PPMConfig | None = STM, bias: float = LTM_BIAS,
              ltm_plus: bool = False) -> PPMPredictor:
        """Fit the long-term model on ``sequences``; ``stm=None`` leaves the short-term model out."""
        return cls(PPM(alphabet, ltm).fit(sequences), stm, bias, ltm_plus)

    def predict(self, sequence: Sequence[Hashable]) -> np.ndarray:
        """Distributions (len, |alphabet|) of each symbol of one sequence given its prefix.

        With ``ltm_plus`` the long-term model keeps the sequence (each symbol after it is
        predicted), so later sequences are predicted from it too.
        """
        parts = self.components(sequence)
        return parts[0] if len(parts) == 1 else combine_entropy_weighted(parts, self.bias)

    def components(self, sequence: Sequence[Hashable]) -> list[np.ndarray]:
        """The long-term and (unless ``stm_config`` is None) short-term distributions, apart."""
        long_term = self.ltm.predict(sequence, learn=self.ltm_plus)
        if self.stm_config is None:
            return [long_term]
        return [long_term, PPM(self.ltm.alphabet, self.stm_config).predict(sequence, learn=True)]

    def bits(self, sequence: Sequence[Hashable]) -> np.ndarray:
        """-log2 p of each symbol of ``sequence`` given the symbols before it."""
        probs = self.predict(sequence)
        ids = self.ltm.ids(sequence)
        return -np.log2(probs[np.arange(len(ids)), ids])
