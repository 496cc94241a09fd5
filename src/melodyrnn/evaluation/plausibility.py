"""``evaluate --samples``: do generated melodies pass for real ones?

Real melodies long enough to give an opening (and that the model can read) are shuffled
with the seed; the first ``count`` lend their openings to the samples, one each (drawn
again at random when there are more samples than melodies), and each sample is paired
with its real melody in the test's folds. The report holds the
statistics of ``samplestats`` (samples vs every real melody given) and three classifier
two-sample tests (``twosample``) against the real melodies whose openings were used:

- samples vs real: the model's continuations of those openings;
- real vs real: two disjoint halves of the shuffled real melodies, ``count`` each at most,
  which shows what chance looks like on these features and this many melodies;
- Markov vs real: an order-2 Markov chain of the training melodies (``markov``),
  continuing the same openings.

Samples stop at the model's end token or at the length of the longest real melody, so a
model that ends melodies as real ones end is never cut short by the test itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.markov import MarkovChain
from melodyrnn.evaluation.melodyfeatures import FEATURES
from melodyrnn.evaluation.samplestats import compare
from melodyrnn.evaluation.twosample import (
    CLASSIFIER,
    ENOUGH_TO_SPLIT,
    FOLDS,
    LEVEL,
    TwoSampleResult,
    two_sample_test,
)
from melodyrnn.music.melody import Melody

# (opening, most notes to add, sample number) -> the opening continued
Generate = Callable[[Melody, int, int], Melody]


@dataclass(frozen=True)
class PlausibilityReport:
    """Statistics of samples vs real melodies and the two-sample tests with their baselines."""

    rows: list[dict[str, object]]
    tests: dict[str, TwoSampleResult | None]  # None: too few melodies to run it
    samples: int
    real: int
    length: int

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form for ``--json``."""
        tests = {name.replace(" ", "_").lower(): result.to_dict() if result else None
                 for name, result in self.tests.items()}
        return {"samples": self.samples, "real": self.real, "new_notes": self.length,
                "metrics": self.rows,
                "two_sample": {"classifier": CLASSIFIER, "folds": FOLDS, "ci": "DeLong",
                               "level": LEVEL, "features": list(FEATURES), **tests}}


def _test(first: Sequence[Melody], second: Sequence[Melody], seed: int,
          pairs: Sequence[int] | None = None) -> TwoSampleResult | None:
    """The two-sample test, or None where a side has too few melodies for the folds."""
    if min(len(first), len(second)) < FOLDS:
        return None
    return two_sample_test(first, second, seed=seed, pairs=pairs)


def judge(real: Sequence[Melody], training: Sequence[Melody], generate: Generate, count: int,
          width: int, usable: Callable[[Melody], bool] = lambda m: True, seed: int = 0
          ) -> PlausibilityReport:
    """``count`` samples from real openings of ``width`` notes, judged against real melodies."""
    eligible = [m for m in real if len(m) > width and usable(m)]
    if not eligible:
        raise MelodyError("no real melody opens with notes the model knows")
    rng = random.Random(seed)
    shuffled = rng.sample(eligible, len(eligible))
    compared = shuffled[:count]
    sources = [*range(len(compared)), *rng.choices(range(len(compared)), k=count - len(compared))]
    openings = [compared[i].with_notes(compared[i].notes[:width]) for i in sources]
    length = max(1, max(len(m) for m in real) - width)  # never cuts a melody a real one matches
    samples = [generate(opening, length, i) for i, opening in enumerate(openings)]
    chain = MarkovChain.fit(training)
    markov = [chain.continue_melody(opening, length, rng) for opening in openings]
    half = min(count, len(shuffled) // 2)
    tests = {"samples vs real": _test(samples, compared, seed, sources),
             "real vs real": _test(shuffled[half : 2 * half], shuffled[:half], seed),
             "Markov vs real": _test(markov, compared, seed, sources)}
    return PlausibilityReport(compare(samples, real), tests, count, len(real), length)


def format_table(rows: Sequence[dict[str, object]]) -> str:
    """The statistics side by side, one line per metric."""
    lines = [f"{'metric':30} {'samples':>17} {'real':>17}  within 1 sd"]
    lines += [f"{row['metric']:30} {row['samples_mean']:8.3f} ± {row['samples_sd']:6.3f} "
              f"{row['real_mean']:8.3f} ± {row['real_sd']:6.3f}  "
              f"{'yes' if row['within_one_sd'] else 'no'}" for row in rows]
    return "\n".join(lines)


def format_tests(tests: dict[str, TwoSampleResult | None]) -> str:
    """The two-sample tests' AUCs, one line each, under a line that says how to read them."""
    lines = [f"two-sample test: {CLASSIFIER} on {len(FEATURES)} features, {FOLDS}-fold ROC AUC "
             f"with {LEVEL:.0%} DeLong interval (0.5 = indistinguishable, 1 = always told apart)"]
    for name, result in tests.items():
        if result is None:
            lines.append(f"  {name:15} not run: needs at least {FOLDS} melodies on each side")
        elif result.too_few_to_learn:  # its interval would claim a certainty it lacks
            lines.append(f"  {name:15} AUC {result.auc:.3f}, no interval: {result.sizes[0]} vs "
                         f"{result.sizes[1]} melodies are too few for the classifier to learn "
                         f"from (about {ENOUGH_TO_SPLIT} or more on each side)")
        else:
            lines.append(f"  {name:15} AUC {result.auc:.3f} [{result.low:.3f}, {result.high:.3f}]"
                         f"  ({result.sizes[0]} vs {result.sizes[1]} melodies)")
    return "\n".join(lines)
