"""Reading hostile files: bounded, time-limited, never through music21's pickle cache, and
whatever a reader raises becomes that file's one-line rejection."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import time
import zlib
from pathlib import Path

import pytest
from hostile.make_corpus import midi_bytes, set_tempo, time_signature, zip_bomb

from melodyrnn.errors import MelodyError
from melodyrnn.files import MAX_FILE_MB_ENV
from melodyrnn.music import readers
from melodyrnn.music.cache import cache_key
from melodyrnn.music.deadline import ParseTimeout, time_limit
from melodyrnn.music.readers import Rejection, guarded, read, read_pieces
from melodyrnn.music.sources import IngestOptions, load

GOOD = "g8 e8 e4 f8\n"
SCORE = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>M</part-name>
</score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>1</divisions>
<time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration><type>whole</type>
</note></measure></part></score-partwise>
"""


def ingest(*paths, **options):
    return load([str(p) for p in paths], IngestOptions(use_cache=False, jobs=1, **options),
                progress=False)


# --- MIDI fields ------------------------------------------------------------------------------

@pytest.mark.parametrize(("meta", "reason"), [
    ([time_signature(4, 255)], "time signature 4/2^255"),
    ([time_signature(0, 2)], "time signature 0/4"),
    ([time_signature(99, 2)], "time signature 99/4"),
])
def test_a_midi_metre_no_score_could_have_rejects_the_file(tmp_path, meta, reason):
    path = tmp_path / "odd.mid"
    path.write_bytes(midi_bytes(meta))
    [rejection] = read_pieces(path)
    assert isinstance(rejection, Rejection) and rejection.reason.startswith(reason)


def test_a_midi_tempo_of_zero_is_ignored(tmp_path):
    path = tmp_path / "tempo0.mid"
    path.write_bytes(midi_bytes([set_tempo(0)]))
    [melody] = read(path)
    assert melody.tempo == 120 and len(melody) == 3


# --- compressed MusicXML ----------------------------------------------------------------------

def test_an_mxl_that_unpacks_beyond_the_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_FILE_MB_ENV, "1")
    bomb = tmp_path / "bomb.mxl"
    zip_bomb(bomb, 8 << 20)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(MelodyError, match=r"bomb\.mxl: unpacked \.mxl of 8\.0 MB is more than"):
        readers.parse_score(bomb)


def test_an_mxl_within_the_limit_reads(tmp_path):
    import zipfile

    path = tmp_path / "small.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", "<container/>")
        archive.writestr("score.musicxml", SCORE)
    [melody] = read(path)
    assert [n.pitch for n in melody.notes] == [60]


# --- any exception is the file's rejection ----------------------------------------------------

@pytest.mark.parametrize("error", [ZeroDivisionError("division by zero"), RecursionError(),
                                   AttributeError("'NoneType' object has no attribute 'x'")])
def test_whatever_a_reader_raises_is_that_files_rejection(error):
    def read_it():
        raise error

    [rejection] = guarded(read_it, "tune.abc#X:3")
    assert rejection.source == "tune.abc#X:3" and rejection.reason.startswith("reader failed")


def test_one_bad_tune_never_stops_the_folder(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text(GOOD)
    (tmp_path / "bad.txt").write_text(GOOD)
    real = readers.read_text

    def flaky(path, **options):
        if Path(path).name == "bad.txt":
            raise ZeroDivisionError("division by zero")
        return real(path, **options)

    monkeypatch.setitem(readers.READERS, ".txt", flaky)
    result = ingest(tmp_path)
    assert len(result.melodies) == 1
    assert [(Path(r.source).name, r.reason) for r in result.rejected] == [
        ("bad.txt", "reader failed: ZeroDivisionError: division by zero")]
    with pytest.raises(MelodyError, match=r"bad\.txt: no melodies \(reader failed: Zero"):
        read(tmp_path / "bad.txt")  # what --primer uses: the same handling, one line


def test_a_reader_that_runs_too_long_is_stopped():
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match=r"took longer than 0\.2 s"), time_limit(0.2):
        while True:
            pass
    assert time.monotonic() - started < 5
    [rejection] = guarded(lambda: time.sleep(30), "slow.abc", seconds=0.2)
    assert rejection.reason == "took longer than 0.2 s to read (see --parse-timeout)"


# --- the ingest cache -------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("pitch", 500), ("pitch", True), ("denominator", 0), ("tempo", 0), ("metre", [4, 0]),
    ("key", "H major"), ("key", 7), ("notes", "many"),
])
def test_an_edited_cache_entry_is_discarded_the_file_parsed_again_and_the_entry_rewritten(
        tmp_path, field, value):
    song = tmp_path / "song.txt"
    song.write_text(GOOD)
    options = IngestOptions(cache_dir=str(tmp_path / "cache"), jobs=1)
    first = load([str(song)], options, progress=False)
    [entry] = (tmp_path / "cache").glob("*.json")
    data = json.loads(entry.read_text())
    melody = data["pieces"][0]
    if field == "pitch":
        data["notes"][0][0] = value
    elif field == "denominator":
        data["notes"][0][2] = value
    else:
        melody[{"tempo": 1, "metre": 2, "key": 3, "notes": 4}[field]] = value
    entry.write_text(json.dumps(data))
    again = load([str(song)], options, progress=False)
    assert again.melodies == first.melodies and not again.rejected
    assert json.loads(entry.read_text()) != data  # rewritten from the file


def test_cache_keys_of_a_fifo_are_never_computed(tmp_path):
    fifo = tmp_path / "endless.mid"
    os.mkfifo(fifo)
    (tmp_path / "good.txt").write_text(GOOD)
    result = load([str(fifo), str(tmp_path / "good.txt")],
                  IngestOptions(cache_dir=str(tmp_path / "cache"), jobs=1), progress=False)
    assert [r.reason for r in result.rejected] == [
        "is a FIFO, not a regular file: expected a music file"]
    assert cache_key(b"x", ".mid", "16", None, True)  # the key itself still works on content


# --- music21's pickle cache -------------------------------------------------------------------

class Payload:
    """Unpickling this runs a shell command, as a pickle planted by an attacker would."""

    def __init__(self, marker: Path) -> None:
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A score, and a malicious pickle where music21 would look for a cached parse of it: its
    scratch folder (a shared folder under the system's temporary directory by default)."""
    from music21 import converter, environment

    scratch = tmp_path / "music21-scratch"
    scratch.mkdir()
    monkeypatch.setattr(environment.Environment, "getRootTempDir", lambda self: scratch)
    score = tmp_path / "tune.musicxml"
    score.write_text(SCORE)
    marker = tmp_path / "pwned"
    target = converter.PickleFilter(score).getPickleFp(scratch, zipType="gz")
    target.write_bytes(zlib.compress(pickle.dumps(Payload(marker))))
    later = time.time() + 60  # newer than the score, so music21 would trust it
    os.utime(target, (later, later))
    return score, marker


def test_the_planted_pickle_runs_under_a_plain_music21_parse(planted):
    # The control: music21's own cache lookup does load it, so it is planted where it looks.
    score, marker = planted
    from music21 import converter

    with pytest.raises(Exception):  # noqa: B017 - the payload is not a stream
        converter.parse(str(score))
    assert marker.exists()


def test_no_reader_and_no_player_ever_loads_music21s_cache(planted, monkeypatch):
    score, marker = planted
    from melodyrnn.sound.midi import load_midi

    [melody] = read(score)
    assert [n.pitch for n in melody.notes] == [60]
    midi = load_midi(score)  # play and render read scores this way
    assert midi.tracks
    assert len(ingest(score).melodies) == 1
    assert not marker.exists()


def test_no_music21_parse_in_the_code_bypasses_the_readers():
    source = Path(readers.__file__).resolve().parents[1]
    calls = [(path.name, line.strip()) for path in source.rglob("*.py")
             for line in path.read_text().splitlines()
             if "converter.parse(" in line and "``" not in line]  # code, not docs
    assert calls == [], calls  # every score is parsed from bytes by readers.parse_score


def test_scores_are_parsed_from_the_bytes_read(tmp_path, monkeypatch):
    seen = {}
    from music21 import converter

    real = converter.parseData

    def spy(data, **options):
        seen["data"] = data
        return real(data, **options)

    monkeypatch.setattr(converter, "parseData", spy)
    score = tmp_path / "tune.musicxml"
    score.write_text(SCORE)
    readers.parse_score(score)
    assert isinstance(seen["data"], str) and "score-partwise" in seen["data"]
