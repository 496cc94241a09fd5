"""``evaluate --samples`` without a network: samples from real openings, judged with baselines."""

from __future__ import annotations

import random
import re

import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.evaluation.plausibility import format_table, format_tests, judge
from tests.tunes import folk_tunes, random_notes

WIDTH = 4


def uniform_generator(opening, length, index):
    """The opening, then ``length`` uniformly random notes."""
    return opening.with_notes(opening.notes + tuple(random_notes(length, random.Random(index))))


def copying_generator(real):
    """A generator that answers each opening with the real melody it came from."""
    by_opening = {m.notes[:WIDTH]: m for m in real}
    return lambda opening, length, index: by_opening[opening.notes]


@pytest.fixture(scope="module")
def tunes():
    return folk_tunes(160, seed=2)


@pytest.fixture(scope="module")
def report(tunes):
    return judge(tunes, tunes, uniform_generator, 60, WIDTH, seed=0)


def test_random_notes_are_caught_and_the_baselines_come_out_as_expected(report):
    tests = report.tests
    assert tests["samples vs real"].auc > 0.95
    assert 0.35 < tests["real vs real"].auc < 0.65
    assert tests["samples vs real"].sizes == tests["real vs real"].sizes == (60, 60)
    assert tests["Markov vs real"].sizes == (60, 60)


def test_the_table_compares_samples_with_every_real_melody(report, tunes):
    assert report.real == len(tunes) and report.samples == 60
    rows = {row["metric"]: row for row in report.rows}
    assert rows["ends on the tonic"]["real_mean"] == 1.0  # every folk tune ends on its tonic
    assert rows["scale consistency"]["within_one_sd"] is False


def test_samples_start_with_real_openings_drawn_with_the_seed(tunes):
    seen = []

    def recording(opening, length, index):
        seen.append(opening.notes)
        return copying_generator(tunes)(opening, length, index)

    judged = judge(tunes, tunes, recording, 30, WIDTH, seed=5)
    openings = {m.notes[:WIDTH] for m in tunes}
    assert len(seen) == 30 and set(seen) <= openings and len(set(seen)) > 20
    # A generator that gives back the real melodies themselves cannot be told apart at all.
    assert judged.tests["samples vs real"].auc == pytest.approx(0.5, abs=0.01)
    again = []
    judge(tunes, tunes, lambda o, n, i: again.append(o.notes) or o, 30, WIDTH, seed=5)
    assert again == seen


def test_more_samples_than_melodies_reuse_openings_but_not_real_melodies(tunes):
    judged = judge(tunes[:12], tunes, uniform_generator, 20, WIDTH, seed=0)
    assert judged.tests["samples vs real"].sizes == (20, 12)
    assert judged.tests["real vs real"].sizes == (6, 6)


def test_too_few_melodies_for_the_trees_to_split_give_no_interval_and_say_so(tunes):
    judged = judge(tunes[:12], tunes, uniform_generator, 12, WIDTH, seed=0)
    alike = judged.tests["real vs real"]
    assert alike.sizes == (6, 6) and alike.too_few_to_learn and alike.to_dict()["too_few_to_learn"]
    shown = format_tests(judged.tests)
    assert re.search(r"real vs real    AUC \d\.\d{3}, no interval: 6 vs 6 melodies are too few "
                     r"for the classifier to learn from \(about 25 or more on each side\)", shown)
    assert not judge(tunes, tunes, uniform_generator, 30, WIDTH, seed=0).tests[
        "samples vs real"].too_few_to_learn


def test_too_few_melodies_leave_a_test_out_and_say_so(tunes):
    judged = judge(tunes[:6], tunes, uniform_generator, 6, WIDTH, seed=0)
    assert judged.tests["real vs real"] is None  # 3 vs 3 is too few for 5 folds
    assert "real vs real    not run: needs at least 5 melodies on each side" in \
        format_tests(judged.tests)


def test_openings_the_model_cannot_read_are_an_error(tunes):
    with pytest.raises(MelodyError, match="no real melody opens with notes the model knows"):
        judge(tunes, tunes, uniform_generator, 5, WIDTH, usable=lambda m: False)


def test_report_formats_one_line_per_metric_and_per_test(report):
    assert len(format_table(report.rows).splitlines()) == len(report.rows) + 1
    lines = format_tests(report.tests).splitlines()
    assert lines[0].startswith("two-sample test: gradient-boosted trees on")
    assert [line.split(" AUC")[0].strip() for line in lines[1:]] == \
        ["samples vs real", "real vs real", "Markov vs real"]
    assert set(report.to_dict()["two_sample"]) >= {"samples_vs_real", "real_vs_real",
                                                   "markov_vs_real", "features", "classifier"}
