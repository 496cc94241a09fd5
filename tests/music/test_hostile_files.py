"""Hostile files: each is rejected with a reason, never a traceback or a hang, and the
other files of the same run still ingest."""

from __future__ import annotations

import io

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from melodyrnn.errors import MelodyError
from melodyrnn.music.sources import IngestOptions, load

GOOD_SONG = "g8 e8 e4 f8 d8 d4\n"
SUFFIXES = [".mid", ".musicxml", ".abc", ".txt", ".krn", ".mxl"]
FAST = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def ingest(folder, **options):
    return load([str(folder)], IngestOptions(use_cache=False, jobs=1, **options), progress=False)


def good_midi_bytes() -> bytes:
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=480),
                            mido.Message("note_on", note=62, velocity=80, time=0),
                            mido.Message("note_off", note=62, velocity=0, time=480)])
    buffer = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=buffer)
    return buffer.getvalue()


@FAST
@given(content=st.binary(max_size=400), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_are_rejected_with_a_reason_and_good_files_still_load(tmp_path_factory,
                                                                          content, suffix):
    folder = tmp_path_factory.mktemp("hostile")
    (folder / f"junk{suffix}").write_bytes(content)
    (folder / "good.txt").write_text(GOOD_SONG, encoding="utf-8")
    result = ingest(folder)
    assert len(result.melodies) >= 1
    for rejection in result.rejected:
        assert rejection.reason.strip()


@pytest.mark.parametrize("cut", [1, 10, 20, 30])
def test_truncated_midi_is_rejected_or_read_partially_never_crashes(tmp_path, cut):
    data = good_midi_bytes()
    (tmp_path / "cut.mid").write_bytes(data[: len(data) - cut])
    (tmp_path / "good.txt").write_text(GOOD_SONG, encoding="utf-8")
    result = ingest(tmp_path)
    cut_rejected = any("cut.mid" in r.source for r in result.rejected)
    assert len(result.melodies) == (1 if cut_rejected else 2)  # good.txt always loads


@pytest.mark.parametrize(("name", "content", "why"), [
    ("empty.txt", b"", "no notes"),
    ("latin1.txt", "g8 é8".encode("latin-1"), "UTF-8"),
    ("pitch.txt", b"c''''''''''4", "MIDI"),
    ("huge.txt", b"c1*100000/1", ""),
    ("broken.abc", b"X:1\nT:t\nK:C\n[[[[(((\n", ""),
    ("odd.musicxml", b"<?xml version='1.0'?><score-partwise><part id='P1'><measure>"
                     b"<unknown-element/></measure></part></score-partwise>", ""),
])
def test_bad_files_get_a_clear_per_file_reason(tmp_path, name, content, why):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text(GOOD_SONG, encoding="utf-8")
    result = ingest(tmp_path)
    assert len(result.melodies) >= 1
    rejected = {r.source.split("/")[-1].split("#")[0]: r.reason for r in result.rejected}
    if name != "huge.txt":  # a huge but valid duration is a legal (if silly) note
        assert name in rejected
        assert why in rejected[name]


def test_nothing_usable_is_an_error_listing_the_reasons(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"not midi at all")
    (tmp_path / "b.txt").write_bytes(b"% only a comment\n")
    with pytest.raises(MelodyError) as error:
        ingest(tmp_path)
    message = str(error.value)
    assert "a.mid" in message and "b.txt" in message
