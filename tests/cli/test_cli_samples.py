"""``melodyrnn evaluate --samples`` end to end on a tiny model: the statistics, the two-sample
test and its baselines, as text and JSON."""

from __future__ import annotations

import json

import pytest

from melodyrnn.music.notation import format_melodies
from tests.clitools import run
from tests.tunes import folk_tunes

TESTS = ("samples vs real", "real vs real", "Markov vs real")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """60 folk-like tunes in a text file and a small model trained on 45 of them."""
    folder = tmp_path_factory.mktemp("samples")
    tunes = folder / "tunes.txt"
    tunes.write_text(format_melodies(folk_tunes(60, seed=4)), encoding="utf-8")
    model = folder / "tiny.pt"
    run("train", tunes, "-o", model, "--epochs", 3, "--hidden", 16, "--embedding-dim", 8,
        "--end-token", "--valid-fraction", 0.25, "--no-progress", "--cache-dir", folder / "cache")
    return tunes, model, folder / "cache"


def evaluate(tiny, *options):
    tunes, model, cache = tiny
    return run("evaluate", tunes, "--model", model, "--cache-dir", cache, *options)


def test_samples_print_the_table_then_the_two_sample_tests(tiny):
    lines = evaluate(tiny, "--samples", 20, "--rng-seed", 3).stdout.splitlines()
    for name in ("notes across bar lines", "repeated bars", "ends on the tonic",
                 "ends on a bar line"):
        assert any(line.startswith(name) for line in lines)
    assert any(line.startswith("20 samples (temperature 1") for line in lines)
    tests = lines[-4:]
    assert tests[0].startswith("two-sample test: gradient-boosted trees")
    for line, name in zip(tests[1:], TESTS):
        assert line.split(" AUC ")[0].strip() == name
        # 20 a side are too few for the classifier's trees: no interval, and it says so
        assert line.endswith("20 vs 20 melodies are too few for the classifier to learn from "
                             "(about 25 or more on each side)")


def test_json_has_the_metrics_and_three_aucs_and_repeats_with_the_seed(tiny):
    first = evaluate(tiny, "--samples", 20, "--rng-seed", 3, "--json").stdout
    assert evaluate(tiny, "--samples", 20, "--rng-seed", 3, "--json").stdout == first
    report = json.loads(first)
    assert report["samples"] == 20 and report["real"] == 60
    judged = report["two_sample"]
    for key in ("samples_vs_real", "real_vs_real", "markov_vs_real"):
        assert 0 <= judged[key]["ci_low"] <= judged[key]["auc"] <= judged[key]["ci_high"] <= 1
    assert "repeated bars" in judged["features"] and judged["ci"] == "DeLong"


def test_split_valid_judges_the_held_out_melodies(tiny):
    report = json.loads(evaluate(tiny, "--split", "valid", "--samples", 10, "--json").stdout)
    assert report["real"] == 15
    assert report["two_sample"]["samples_vs_real"]["sizes"] == [10, 10]
    # Two disjoint halves of the held-out tunes the model can read (all 15 at most).
    first, second = report["two_sample"]["real_vs_real"]["sizes"]
    assert first == second and 5 <= first <= 7
