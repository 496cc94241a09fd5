"""How soon `melodyrnn jam` answers: from the pause being recognised to the first answered note.

    python bench/jam_latency.py                  # bundled model, 2 and 4 bars, 6 turns each
    python bench/jam_latency.py --model m.pt --turns 10

The real listening loop (``sound.jam.jam``) on the real clock, with the command's own answer
(``cli.jam.responder``: the bundled folk model, key steering, --bars) and a scripted player
feeding phrases at 140 bpm (two bars of 4/4, then a pause of two beats). Ports are in-process
doubles, so the figure is melodyrnn's own latency (a JACK link adds one period, 1.5 ms at 64
frames; see tests/sound/test_jack.py for the end-to-end check). Two ways of answering:
``prepared`` (the default: the answer is generated once the silence has lasted half the
pause) and ``cold`` (generated only once the pause is recognised: the generation time is
the latency). Prints a table and writes bench/results/jam_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import mido

from melodyrnn.cli.jam import responder
from melodyrnn.generation.sampling import Sampling
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import parse_tokens
from melodyrnn.sound.jam import JamSettings, Turn, jam

RESULTS = Path(__file__).resolve().parent / "results" / "jam_latency.json"
BPM = 140
PHRASES = ("g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4",
           "a8 c'8 e'4 d'8 c'8 b4 a8 b8 c'8 d'8 e'4 a4",
           "d8 f#8 a8 f#8 g8 e8 c#4 d8 e8 f#8 g8 a2",
           "e'8 d'8 c'8 b8 a8 g#8 a4 b8 c'8 d'8 b8 a2")
BOUND_SECONDS = 0.100


class Player:
    """An input port double: plays the next phrase (on the real clock) when told to."""

    def __init__(self, phrases: list[str], bpm: float) -> None:
        self.phrases, self.beat, self.script = list(phrases), 60 / bpm, []
        self.next_phrase()

    def next_phrase(self, turn: Turn | None = None) -> None:
        """Start the next phrase 0.2 s from now (after the answer to the last one)."""
        text = self.phrases.pop(0)
        self.phrases.append(text)
        start, at = time.monotonic() + 0.2, 0.0
        for note in parse_tokens(text).notes:
            length = float(note.duration) * self.beat
            if note.pitch is not None:
                self.script += [(start + at, mido.Message("note_on", note=note.pitch, velocity=90)),
                                (start + at + 0.9 * length,
                                 mido.Message("note_off", note=note.pitch, velocity=0))]
            at += length

    def receive(self) -> list[mido.Message]:
        now = time.monotonic()
        due = [m for at, m in self.script if at <= now]
        self.script = [(at, m) for at, m in self.script if at > now]
        return due


class Silent:
    """An output port double that sends nowhere."""

    name = "nowhere"

    def send(self, message: mido.Message) -> None:
        pass


def run(checkpoint, bars: int, turns: int, share: float) -> list[float]:
    """Latencies (seconds) of ``turns`` answers of ``bars`` bars."""
    respond = responder(checkpoint, bars, Sampling(temperature=0.8), 0)
    respond(Melody((Note(60, 1), Note(62, 1)), key="C major"))  # warm up, as the command does
    player = Player(list(PHRASES), BPM)
    settings = JamSettings(time_signature=(4, 4), wait_beats=2, prepare_share=share)
    done = jam(player, Silent(), respond, settings, report=player.next_phrase, turns=turns)
    return [turn.latency for turn in done]


def generation_seconds(checkpoint, bars: int, repeats: int) -> list[float]:
    """How long the answer itself takes (``respond``), on the bench's first phrase."""
    respond = responder(checkpoint, bars, Sampling(temperature=0.8), 0)
    phrase = Melody(parse_tokens(PHRASES[0]).notes, tempo=BPM, key="G major")
    respond(phrase)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        respond(phrase)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    checkpoint = ckpt.load(args.model or ckpt.bundled_path())
    rows = []
    for bars in (2, 4):
        generation = generation_seconds(checkpoint, bars, 2 * args.turns)
        for way, share in (("prepared", 0.5), ("cold", 1.0)):
            latencies = run(checkpoint, bars, args.turns, share)
            rows.append({"bars": bars, "way": way, "turns": len(latencies),
                         "latency_ms_median": 1000 * statistics.median(latencies),
                         "latency_ms_max": 1000 * max(latencies),
                         "generation_ms_median": 1000 * statistics.median(generation),
                         "generation_ms_max": 1000 * max(generation),
                         "within_bound": all(x < BOUND_SECONDS for x in latencies)})
    print(f"{'bars':>4} {'answer':>9} {'latency median':>15} {'max':>8} {'generation median':>18} "
          f"{'max':>8}")
    for row in rows:
        print(f"{row['bars']:>4} {row['way']:>9} {row['latency_ms_median']:>12.1f} ms "
              f"{row['latency_ms_max']:>5.1f} ms {row['generation_ms_median']:>15.1f} ms "
              f"{row['generation_ms_max']:>5.1f} ms")
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "load_average": os.getloadavg()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine, "bpm": BPM, "rows": rows}, indent=2)
                           + "\n")
    print(f"machine: {machine}")


if __name__ == "__main__":
    main()
