"""The corpora shipped pre-parsed: a first run on a new machine parses nothing, and gets
exactly what parsing would give."""

from __future__ import annotations

import gzip

import pytest

from melodyrnn.music import sources
from melodyrnn.music.cache import ShippedEntries, cache_key, shipped_path
from melodyrnn.music.sources import CORPORA, IngestOptions, expand_sources, load

pytest.importorskip("music21")


def _no_parsing(*args, **kwargs):
    raise AssertionError("a shipped corpus file was parsed")


def test_every_corpus_file_is_shipped_for_the_default_options():
    """Fails when READER_VERSION, the defaults or music21's corpus move on: then run
    scripts/ship_corpora.py again."""
    shipped = ShippedEntries()
    options = IngestOptions()
    files, _ = expand_sources([f"corpus:{name}" for name in CORPORA])
    missing = [str(f.path) for f in files
               if shipped.pieces(cache_key(f.path.read_bytes(), f.path.suffix.lower(),
                                           options.quantize, f.part, options.keep_rests),
                                 str(f.path)) is None]
    assert not missing, f"{len(missing)} corpus files not shipped, e.g. {missing[:3]}"


def test_a_first_run_reads_a_corpus_without_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_run_all", _no_parsing)
    loaded = load(["corpus:essen/kinder"], IngestOptions(cache_dir=str(tmp_path)),
                  progress=False)
    assert len(loaded.melodies) == 213


def test_shipped_melodies_are_the_parsed_ones(tmp_path):
    parsed = load(["corpus:miscfolk"], IngestOptions(use_cache=False), progress=False)
    shipped = load(["corpus:miscfolk"], IngestOptions(cache_dir=str(tmp_path)), progress=False)
    assert shipped.melodies == parsed.melodies
    assert shipped.origins == parsed.origins


def test_a_damaged_shipped_file_means_parsing_again(tmp_path):
    damaged = tmp_path / "ingest.json.gz"
    damaged.write_bytes(gzip.compress(b"{not json"))
    file = next(iter(expand_sources(["corpus:nottingham"])[0]))
    options = IngestOptions()
    key = cache_key(file.path.read_bytes(), file.path.suffix.lower(), options.quantize, file.part,
                    options.keep_rests)
    assert ShippedEntries(damaged).pieces(key, str(file.path)) is None
    assert ShippedEntries(shipped_path()).pieces(key, str(file.path))


def test_a_long_parse_says_so_in_a_log(tmp_path, monkeypatch, capsys):
    """Without a terminal there is no progress bar, so a parse of many pieces prints one line."""
    monkeypatch.setattr(sources, "LOGGED_PARSE", 1)
    song = tmp_path / "song.txt"
    song.write_text("g8 e8 e4 f8 d8 d4\n")
    load([str(song)], IngestOptions(use_cache=False, jobs=1))
    assert "parsing 1 pieces in 1 file with 1 process...\n" in capsys.readouterr().err
    load([str(song)], IngestOptions(cache_dir=str(tmp_path / "cache"), jobs=1))
    assert "parsing 1 pieces in 1 file with 1 process (cached for the next run)" in \
        capsys.readouterr().err
