"""The ``data`` commands end to end with CliRunner, and the shared ingest options."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from musicfiles import ABC_BOOK, EXPECTED, tricky_midi

from melodyrnn.cli.data import data, ingest_from_cli, ingest_options
from melodyrnn.music.notation import parse_text
from melodyrnn.music.quantize import DEFAULT_QUANTIZE as QUANTIZE_DEFAULT
from melodyrnn.music.sources import IngestOptions


@pytest.fixture
def files(tmp_path):
    tricky_midi().save(tmp_path / "tricky.mid")
    (tmp_path / "book.abc").write_text(ABC_BOOK)
    (tmp_path / "broken.krn").write_text("**kern\n4qq\n*-\n")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(data, [str(a) for a in args], catch_exceptions=False)


def test_stats_json(files):
    result = run("stats", files / "book.abc", files / "tricky.mid", "--json", "--cache-dir",
                 files / "cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["melodies"] == 3 and stats["sources"] == 2
    assert stats["notes"] == 9 + 5 + 8
    assert stats["pitch_range"] == [67, 81]
    assert stats["durations"]["1/3"] == 6
    assert stats["metres"] == {"3/4": 2, "6/8": 1}
    assert stats["keys"]["G major"] == 2
    assert stats["rejected"]["reasons"] == {"no notes": 1}
    assert "rejected 1" in result.stderr


def test_stats_text(files):
    result = run("stats", files / "book.abc", "--no-cache", "--jobs", "1")
    assert result.exit_code == 0
    assert "melodies    2" in result.stdout and "metres      3/4 1, 6/8 1" in result.stdout


def test_show_json_gives_pitch_duration_and_onset(files):
    result = run("show", files / "tricky.mid", "--json", "--no-cache", "--jobs", "1")
    [melody] = json.loads(result.stdout)
    assert [n["pitch"] for n in melody["notes"]] == [n.pitch for n in EXPECTED]
    assert [n["onset"] for n in melody["notes"]][:4] == [0, 1, 2, 3]
    assert melody["notes"][-1]["duration"] == pytest.approx(1 / 3)
    assert melody["time_signature"] == [3, 4] and melody["key"] == "G major"


def test_show_text_round_trips(files):
    result = run("show", files / "tricky.mid", "--no-cache", "--jobs", "1")
    [melody] = parse_text(result.stdout)
    assert melody.notes == EXPECTED


def test_show_with_options(files):
    result = run("show", files / "tricky.mid", "--part", "Bass", "--drop-rests",
                 "--transpose", "C", "--json", "--no-cache", "--jobs", "1")
    [melody] = json.loads(result.stdout)
    assert [n["pitch"] for n in melody["notes"]] == [53, 48]  # G major moved up to C major


def test_nothing_usable_exits_non_zero_with_reasons(files):
    (files / "song.wav").write_bytes(b"RIFF")
    result = run("stats", files / "broken.krn", files / "song.wav", "--no-cache", "--jobs", "1")
    assert result.exit_code == 1
    assert "no usable melodies" in result.stderr
    assert "unknown suffix '.wav'" in result.stderr and ".mid" in result.stderr
    assert "broken.krn" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: no usable melodies in {files / 'broken.krn'}, "
                      f"{files / 'song.wav'}: all 2 files or tunes were rejected (listed above)"]


def test_list_corpora(tmp_path):
    result = run("list-corpora", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"essen", "essen/kinder", "oneills", "ryans", "bach"} <= set(rows)
    assert "corpus:essen/kinder" in run("list-corpora").stdout


def test_ingest_options_are_reusable_and_match_the_library_defaults(files):
    assert IngestOptions().quantize == QUANTIZE_DEFAULT

    @click.command()
    @click.argument("sources", nargs=-1)
    @ingest_options
    @click.option("--epochs", default=1)
    def train(sources, epochs, **options):
        result = ingest_from_cli(sources, **options, epochs=epochs)
        click.echo(f"{len(result.melodies)} melodies")

    result = CliRunner().invoke(train, [str(files / "book.abc"), "--no-cache", "--jobs", "1"])
    assert result.exit_code == 0 and "2 melodies" in result.stdout
    bad = CliRunner().invoke(train, ["x.abc", "--quantize", "fast", "--no-cache"])
    assert bad.exit_code == 1 and "quantize 'fast'" in bad.stderr
