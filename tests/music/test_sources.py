"""Sources, the parallel cached ingest, rejections and splits."""

from __future__ import annotations

import json
from fractions import Fraction as Fr

import pytest
from musicfiles import ABC_BOOK, EXPECTED, tricky_midi

from melodyrnn.errors import MelodyError
from melodyrnn.music import cache, sources
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.sources import IngestOptions, Rejection, load, split_by_melody


@pytest.fixture
def folder(tmp_path):
    """A folder of tunes: MIDI, an ABC book (one empty tune), text, a broken score, a stray file."""
    root = tmp_path / "tunes"
    (root / "sub").mkdir(parents=True)
    tricky_midi().save(root / "tricky.mid")
    (root / "sub" / "book.abc").write_text(ABC_BOOK)
    (root / "song.txt").write_text("\\key c major\nc4 d4 e4 f4\n\ng4 a4 b4 c'4\n")
    (root / "broken.mxl").write_bytes(b"this is not a zip file")
    (root / "notes.wav").write_bytes(b"RIFF")
    return root


def options(tmp_path, **changes) -> IngestOptions:
    return IngestOptions(cache_dir=str(tmp_path / "cache"), jobs=1, **changes)


def test_folder_ingests_and_rejects_the_broken_file(tmp_path, folder):
    result = load([str(folder)], options(tmp_path), progress=False)
    assert result.sources == 4  # the .wav is not a music file
    assert len(result.melodies) == 1 + 2 + 2
    assert result.melodies[-1].notes == EXPECTED  # files in sorted order: book, song, tricky
    reasons = {r.source.rsplit("/", 1)[-1]: r.reason for r in result.rejected}
    assert set(reasons) == {"broken.mxl", "book.abc#X:2"}
    assert "unparseable" in reasons["broken.mxl"]
    assert reasons["book.abc#X:2"] == "no notes"


def test_sources_glob_missing_path_and_duplicates(tmp_path, folder):
    sources = [str(folder / "*.txt"), str(folder / "song.txt"), str(folder / "nope.mid"),
               str(folder / "*.none")]
    result = load(sources, options(tmp_path), progress=False)
    assert result.sources == 1 and len(result.melodies) == 2
    assert [r.reason for r in result.rejected] == ["not found", "no files match"]


def test_second_run_reads_only_the_cache(tmp_path, folder, monkeypatch):
    first = load([str(folder)], options(tmp_path), progress=False)
    entries = list((tmp_path / "cache").glob("*.json"))
    assert len(entries) == 4
    assert all(json.loads(p.read_text())["format"] == cache.CACHE_FORMAT for p in entries)

    def no_parsing(job):
        raise AssertionError(f"parsed {job.path} despite the cache")

    monkeypatch.setattr(sources, "run_job", no_parsing)
    second = load([str(folder)], options(tmp_path), progress=False)
    assert second.melodies == first.melodies
    assert [m.title for m in second.melodies] == [m.title for m in first.melodies]
    assert second.rejected == first.rejected
    with pytest.raises(AssertionError, match="despite the cache"):
        load([str(folder)], options(tmp_path, use_cache=False), progress=False)
    with pytest.raises(AssertionError, match="despite the cache"):
        load([str(folder)], options(tmp_path, quantize="16"), progress=False)


def test_damaged_cache_entry_is_parsed_again(tmp_path, folder):
    source = str(folder / "song.txt")
    first = load([source], options(tmp_path), progress=False)
    [entry] = (tmp_path / "cache").glob("*.json")
    entry.write_text("{not json")
    assert load([source], options(tmp_path), progress=False).melodies == first.melodies
    assert json.loads(entry.read_text())["format"] == cache.CACHE_FORMAT


def test_process_pool_matches_single_process(tmp_path, folder):
    single = load([str(folder)], options(tmp_path, use_cache=False), progress=False)
    pooled = load([str(folder)], IngestOptions(use_cache=False, jobs=2), progress=False)
    assert pooled.melodies == single.melodies
    assert pooled.rejected == single.rejected


def test_nothing_usable_raises_with_the_summary(tmp_path, folder):
    with pytest.raises(MelodyError, match=r"no usable melodies[\s\S]*broken\.mxl"):
        load([str(folder / "broken.mxl"), str(folder / "missing.abc")], options(tmp_path),
             progress=False)


def test_transpose_options(tmp_path, folder):
    source = [str(folder / "song.txt")]
    plain = load(source, options(tmp_path), progress=False)
    every = load(source, options(tmp_path, transpose="all"), progress=False)
    assert len(every.melodies) == 24 and every.groups[:12] == [0] * 12
    assert every.melodies[0] == plain.melodies[0]
    to_c = load([str(folder / "tricky.mid")], options(tmp_path, transpose="C"), progress=False)
    assert to_c.melodies[0].key == "C major"
    assert to_c.melodies[0].notes[0].pitch == 72 + 5  # G up a fourth to C
    with pytest.raises(MelodyError, match="transpose"):
        IngestOptions(transpose="D")


def test_corpus_book_and_bach_soprano(tmp_path):
    result = load(["corpus:nottingham"], options(tmp_path), progress=False)
    assert [m.title for m in result.melodies] == ["Cuckoo's Nest", "Little Czech Number"]
    assert result.melodies[0].key == "D major" and not result.rejected
    [chorale] = load(["corpus:bach/bwv1.6"], options(tmp_path), progress=False).melodies
    assert chorale.notes[0].pitch == 65  # the soprano's F4, not the horn's descant
    with pytest.raises(MelodyError, match=r"^corpus:nope: unknown corpus"):
        load(["corpus:nope"], options(tmp_path), progress=False)
    with pytest.raises(MelodyError, match=r"^corpus:\.\./\.\./etc: '\.\.': unknown corpus"):
        load(["corpus:../../etc"], options(tmp_path), progress=False)  # named as written
    with pytest.raises(MelodyError, match=r"no book 'nope'.*kinder"):
        load(["corpus:essen/nope"], options(tmp_path), progress=False)


def test_list_corpora_counts_tunes_without_parsing():
    rows = {row.name: row for row in sources.list_corpora()}
    assert 8000 < rows["essen"].pieces < 9000
    assert rows["essen/kinder"].pieces == 213
    assert rows["bach"].files > 300


def test_cache_encoding_round_trips():
    melody = Melody((Note(60, Fr(1, 3)), Note(None, Fr(1)), Note(60, Fr(1, 3))), 90, (6, 8),
                    "A minor", "T")
    pieces = [melody, Rejection("a.abc#X:2", "no notes"), Rejection("elsewhere", "odd")]
    data = json.loads(json.dumps(cache.encode_pieces(pieces, "a.abc")))
    assert len(data["notes"]) == 2
    back = cache.decode_pieces(data, "a.abc")
    assert back == pieces and back[0].title == "T"


def test_split_by_melody_is_fixed_and_keeps_groups_together():
    melodies = [Melody((Note(60 + i, Fr(1)),)) for i in range(20)]
    train, valid = split_by_melody(melodies, 0.25, seed=3)
    assert (train, valid) == split_by_melody(melodies, 0.25, seed=3)
    assert len(valid) == 5 and sorted(train + valid) == list(range(20))
    groups = [i // 4 for i in range(20)]
    train, valid = split_by_melody(melodies, 0.4, seed=1, groups=groups)
    assert {groups[i] for i in train}.isdisjoint({groups[i] for i in valid})
    assert len(valid) == 8
    assert split_by_melody(melodies, 0.0) == (list(range(20)), [])
    with pytest.raises(MelodyError):
        split_by_melody(melodies[:1], 0.5)
    with pytest.raises(MelodyError):
        split_by_melody(melodies, 1.0)


def test_rejection_summary_groups_reasons():
    rejected = [Rejection(f"f{i}", "no notes") for i in range(5)] + [Rejection("g", "odd")]
    text = sources.rejection_summary(rejected, 9)
    assert text.splitlines()[0] == "rejected 6 (of 9 files):"
    assert "5 × no notes" in text and "f0, f1, f2 ..." in text and "1 × odd" in text


def test_cached_rejection_names_the_file_at_its_current_path(tmp_path):
    cache = tmp_path / "cache"
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "song.txt").write_text("g8 e8\nf8 x4\n", encoding="utf-8")
    options = IngestOptions(cache_dir=str(cache))
    with pytest.raises(MelodyError):
        load([str(tmp_path / "first" / "song.txt")], options, progress=False)
    with pytest.raises(MelodyError) as second:
        load([str(tmp_path / "second" / "song.txt")], options, progress=False)
    assert f"{tmp_path / 'second' / 'song.txt'}:2:4" in str(second.value)
    assert "first" not in str(second.value)


def test_the_same_bytes_under_another_suffix_are_read_by_that_suffix_s_reader(tmp_path):
    options = IngestOptions(cache_dir=str(tmp_path / "cache"), jobs=1)
    (tmp_path / "song.txt").write_text("c4 d4 e4\n")
    assert len(load([str(tmp_path / "song.txt")], options, progress=False).melodies) == 1
    (tmp_path / "song.mid").write_bytes((tmp_path / "song.txt").read_bytes())
    with pytest.raises(MelodyError, match=r"song\.mid: not a readable MIDI file"):
        load([str(tmp_path / "song.mid")], options, progress=False)


def test_globs_and_folders_never_follow_a_symlink_loop(tmp_path):
    root = tmp_path / "loop"
    root.mkdir()
    (root / "song.txt").write_text("c4 d4 e4\n")
    (root / "again").symlink_to(".")
    (root / "more").symlink_to(".")
    for source in (str(root / "**" / "*.txt"), str(root)):
        result = load([source], IngestOptions(use_cache=False, jobs=1), progress=False)
        assert result.sources == 1 and len(result.melodies) == 1


def test_each_melody_knows_the_file_it_came_from(tmp_path, folder):
    result = load([str(folder)], options(tmp_path), progress=False)
    origins = [result.origin(i) for i in range(len(result.melodies))]
    assert [o.split("/")[-1] for o in origins] == [
        "song.txt #1", "song.txt #2", "book.abc #1)", "book.abc #3)", "tricky.mid"]
    assert origins[2].startswith("'Up And Down' (")  # a title, when the file gives one


def test_a_file_that_takes_too_long_is_rejected_with_that_reason(tmp_path):
    slurs = tmp_path / "slurs.abc"
    slurs.write_text("X:1\nT:s\nM:4/4\nL:1/8\nK:C\n" + " ".join(["(C"] * 800) + "\n")
    (tmp_path / "good.txt").write_text("c4 d4\n")
    result = load([str(tmp_path)], IngestOptions(use_cache=False, jobs=1, parse_timeout=1),
                  progress=False)
    assert len(result.melodies) == 1
    assert [r.reason for r in result.rejected] == [
        "took longer than 1 s to read (see --parse-timeout)"]
