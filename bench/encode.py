"""Preparing a large corpus for training: transposition and token encoding, in one run.

    python bench/encode.py                       # all of Essen in every key (5.3 M notes)
    python bench/encode.py --source corpus:essen/kinder

Training on all of Essen in every key (`train corpus:essen --transpose all`) turns 101,544
melodies, 5.3 M notes, into token ids before the first epoch. The codec used to format each
note as text and look the text up; it now looks the note itself up. The baseline here is that
text-per-note encoding, timed on a sample of the same melodies in the same run; the figure
is the ratio of notes per second. Prints a table and writes bench/results/encode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.music.notation import note_text
from melodyrnn.music.sources import IngestOptions, load

RESULTS = Path(__file__).resolve().parent / "results" / "encode.json"
BASELINE_NOTES = 200_000  # the text-per-note baseline is timed on this many notes


def text_per_note_ids(codec: NoteCodec, melody) -> list[int]:
    """The old encoding: every note formatted as text, then the text looked up."""
    index = codec.code2idx
    return [index[note_text(n)] for n in melody.notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="corpus:essen")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    plain = load([args.source], IngestOptions(), progress=False)  # from the cache when warm
    start = time.perf_counter()
    every_key = load([args.source], IngestOptions(transpose="all"), progress=False).melodies
    load_seconds = time.perf_counter() - start
    notes = sum(len(m) for m in every_key)

    codec = NoteCodec.fit(every_key)
    start = time.perf_counter()
    streams = [codec.encode(m) for m in every_key]
    encode_seconds = time.perf_counter() - start

    sample, counted = [], 0
    for melody in every_key[:: max(1, notes // BASELINE_NOTES)]:
        sample.append(melody)
        counted += len(melody)
        if counted >= BASELINE_NOTES:
            break
    start = time.perf_counter()
    baseline_streams = [text_per_note_ids(codec, m) for m in sample]
    baseline_seconds = time.perf_counter() - start
    assert baseline_streams == [codec.encode(m) for m in sample]  # same ids, only faster

    rate, baseline_rate = notes / encode_seconds, counted / baseline_seconds
    report = {
        "source": args.source, "melodies": len(plain.melodies), "every_key_melodies": len(every_key),
        "notes": notes, "tokens": codec.vocab_size, "streams": len(streams),
        "load_and_transpose_s": round(load_seconds, 2), "encode_s": round(encode_seconds, 2),
        "encode_notes_per_s": round(rate), "baseline_notes": counted,
        "baseline_notes_per_s": round(baseline_rate), "speedup": round(rate / baseline_rate, 1),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.source} in every key: {len(every_key)} melodies, {notes} notes, "
          f"{codec.vocab_size} tokens")
    print(f"{'step':34} {'seconds':>8} {'notes/s':>12}")
    print(f"{'load (cached) + transpose':34} {load_seconds:8.1f}")
    print(f"{'encode, note lookup':34} {encode_seconds:8.1f} {rate:12,.0f}")
    print(f"{'encode, text per note (baseline)':34} {notes / baseline_rate:8.1f} "
          f"{baseline_rate:12,.0f}  (timed on {counted} notes)")
    print(f"speedup {rate / baseline_rate:.1f}x")


if __name__ == "__main__":
    main()
