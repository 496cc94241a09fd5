"""End to end on a real MIDI system: the melodyrnn command line playing to JACK.

Each test starts a private jackd with the dummy driver (``jack`` fixture; skipped with the
reason where jackd cannot run), opens JACK MIDI ports of its own and runs the real CLI in a
subprocess, as a user would. The tests run one after another on one pytest-xdist worker
(group ``jack``, ``--dist loadgroup`` in pyproject.toml): with two real-time JACK servers and
FluidSynth at once on a 2-core machine, JACK reported clients not finished in their cycle and
dropped the MIDI of those cycles (README, *Timing on a real MIDI system*).
"""

from __future__ import annotations

import difflib
import statistics
import subprocess
import time
from dataclasses import dataclass

import mido
import pytest
from jacktools import (
    Cli,
    JackServer,
    Player,
    Recorder,
    StallWatch,
    cannot_run_fluidsynth,
    jack_ports,
    realtime_priorities,
    start_fluidsynth,
)

from melodyrnn.music.keys import analyse_key, key_pitch_classes
from melodyrnn.music.notation import parse_text, parse_tokens
from melodyrnn.sound.priority import realtime

TICKS_PER_BEAT = 480
TOLERANCE_SECONDS = 0.005  # the bound for each message
# The share of messages within it on a loaded 2-core machine (load 8-10; figures in README):
# with real-time scheduling for jackd and the player (JACK's default; root, or the audio
# group's rtprio limit) 99.8-100% were seen; without it 97.9-98.9%, as ordinary processes
# wake up to 4 ms late and occasionally tens of milliseconds.
ON_TIME_SHARE = {True: 0.99, False: 0.95}
# Messages due while jackd's own thread was held up (its log says so, ``StallWatch``) cannot
# be on time whatever the player does: they are left out of the share above. A play is
# inconclusive if they are more than MAX_STALLED_SHARE of the piece; it is then played again,
# up to PLAYS times in all, and the timing is left unjudged if none is conclusive. In one CI
# run such stalls (up to 50 ms, on a 2-core virtual machine) left 98.2% within 5 ms, none
# lost; in another, 219 stalls held up 5.04% of the messages (the other 99.37% within 5 ms),
# which failed the test before plays were repeated. On an otherwise idle development machine
# (a virtual machine sharing its host) consecutive plays saw from 19 to 577 stalls.
MAX_STALLED_SHARE = 0.05
PLAYS = 2
STALL_MARGIN = 0.01
NOTE_ON, NOTE_OFF, CONTROL = 0x90, 0x80, 0xB0
CC_ALL_NOTES_OFF = 123
pytestmark = pytest.mark.xdist_group("jack")


@dataclass(frozen=True)
class Piece:
    """A MIDI file and, for each message, the time it is due and its bytes."""

    midi: mido.MidiFile
    due: list[tuple[float, tuple[int, ...]]]


def dense_piece(beats_slow: int, beats_fast: int, slow_bpm: int = 120, fast_bpm: int = 150,
                held: bool = False) -> Piece:
    """Three voices (sixteenths, triplet eighths, quarter dyads) on channels 0-2, with a tempo
    change after ``beats_slow`` beats; ``held`` makes the dyads last two beats (overlapping)."""
    events: list[tuple[int, int, tuple[int, ...]]] = []  # (tick, offs first, message)
    count = 0

    def note(channel: int, pitch: int, start: int, length: int) -> None:
        nonlocal count
        velocity = 1 + count % 127  # every message differs from its neighbours
        count += 1
        events.append((start, 1, (NOTE_ON | channel, pitch, velocity)))
        events.append((start + length, 0, (NOTE_OFF | channel, pitch, 0)))

    total = (beats_slow + beats_fast) * TICKS_PER_BEAT
    sixteenth, triplet = TICKS_PER_BEAT // 4, TICKS_PER_BEAT // 3
    for i, tick in enumerate(range(0, total, sixteenth)):
        note(0, 60 + (i * 5) % 24, tick, sixteenth * 3 // 4)
    for i, tick in enumerate(range(0, total, triplet)):
        note(1, 48 + (i * 7) % 12, tick, triplet // 2)
    for i, tick in enumerate(range(0, total, TICKS_PER_BEAT)):
        length = 2 * TICKS_PER_BEAT if held else TICKS_PER_BEAT * 9 // 10
        for pitch in (64 + i % 5, 67 + i % 5):
            note(2, pitch, tick, length)
    events.sort(key=lambda e: (e[0], e[1]))
    change = beats_slow * TICKS_PER_BEAT

    def seconds(tick: int) -> float:
        slow = min(tick, change) / TICKS_PER_BEAT * 60 / slow_bpm
        return slow + max(0, tick - change) / TICKS_PER_BEAT * 60 / fast_bpm

    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(slow_bpm))])
    now = 0
    for tick, _, message in events:
        if now < change <= tick:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(fast_bpm),
                                          time=change - now))
            now = change
        track.append(mido.Message.from_bytes(list(message), time=tick - now))
        now = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return Piece(midi, [(seconds(tick), message) for tick, _, message in events])


def lateness(arrived: list[tuple[float, tuple[int, ...]]], due: list[tuple[float, tuple[int, ...]]]
             ) -> list[float]:
    """How late each message arrived, relative to the earliest one: the CLI's start instant
    cannot be seen from here, and a message is never early, so the least delay is zero."""
    delays = [at - due_at for (at, _), (due_at, _) in zip(arrived, due)]
    least = min(delays)
    return [delay - least for delay in delays]


def during(windows: list[tuple[float, float]], arrived: list[tuple[float, tuple[int, ...]]],
           late: list[float]) -> list[bool]:
    """For each message, whether it was due to arrive (its arrival time less its ``lateness``)
    within ``STALL_MARGIN`` of a stretch in which jackd itself was held up."""
    return [any(start - STALL_MARGIN <= at - delay <= end + STALL_MARGIN
                for start, end in windows) for (at, _), delay in zip(arrived, late)]


def differences(arrived: list[tuple[float, tuple[int, ...]]],
                due: list[tuple[float, tuple[int, ...]]]) -> str:
    """Which messages were lost or doubled, by their place in the piece and time due."""
    got, want = [m for _, m in arrived], [m for _, m in due]
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, want, got, autojunk=False).get_opcodes():
        if tag != "equal":
            lines.append(f"{tag} due #{i1}-{i2} (at {due[i1][0] if i1 < len(due) else 'end'} s, "
                         f"{want[i1:i2][:3]}) arrived #{j1}-{j2} {got[j1:j2][:3]}")
    return f"{len(got)} of {len(want)} messages arrived: " + "; ".join(lines[:5])


def missed(jack: JackServer) -> str:
    """What jackd's log says about cycles its clients did not finish (their MIDI is lost)."""
    lines = [line for line in jack.log.read_text().splitlines() if "was not finished" in line]
    return f"jackd logged {len(lines)} unfinished client cycles" + (f", e.g. {lines[0]!r}"
                                                                   if lines else "")


def summary(late: list[float]) -> str:
    """The distribution of lateness in milliseconds, for the test log and README."""
    ordered = sorted(late)

    def at(share: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    within = sum(x <= TOLERANCE_SECONDS for x in late) / len(late)
    return (f"{len(late)} messages: median {at(0.5):.2f} ms, p90 {at(0.9):.2f}, p99 {at(0.99):.2f}, "
            f"p99.9 {at(0.999):.2f}, max {1000 * ordered[-1]:.2f}; {100 * within:.2f}% within 5 ms")


def test_ports_lists_the_jack_ports(jack: JackServer) -> None:
    with Recorder():
        done = Cli("ports", "--midi-api", "jack", env=jack.env).finish(60)
    assert done.code == 0, done.err
    assert "JACK (--midi-api jack):" in done.out
    assert any(line.split(": ", 1)[1] == "rec:in" for line in done.out.splitlines()
               if line[:1].isdigit())


@dataclass(frozen=True)
class Timing:
    """One play of a piece to the recorder: how late each message was, which of them were due
    while jackd itself was held up, and a report of both for the log and the assertions."""

    late: list[float]
    stalled: list[bool]
    stalls: int

    @property
    def conclusive(self) -> bool:
        """Whether jackd ran well enough to judge the player: few messages due in its stalls."""
        return sum(self.stalled) <= MAX_STALLED_SHARE * len(self.late)

    @property
    def counted(self) -> list[float]:
        """Lateness of the messages not due while jackd was held up."""
        return [delay for delay, excused in zip(self.late, self.stalled) if not excused]

    @property
    def report(self) -> str:
        """Lateness of all messages and of those counted, and how many were left out."""
        return (f"{summary(self.late)}; {sum(self.stalled)} messages due while jackd itself was "
                f"held up ({self.stalls} stalls of 3 ms or more), {summary(self.counted)} of the rest")


def play_and_time(jack: JackServer, piece: Piece, path) -> Timing:
    """Play ``piece`` (saved at ``path``) through the CLI to the recorder, check that every
    message arrived in order, and time them."""
    with Recorder() as recorder, StallWatch(jack.log) as stalls:
        done = Cli("play", path, "--midi-api", "jack", "--port", "rec", env=jack.env).finish(240)
        recorder.wait_for(len(piece.due))
    assert done.code == 0, done.err
    arrived = recorder.events
    assert len(arrived) == len(piece.due), f"{differences(arrived, piece.due)}; {missed(jack)}"
    assert [m for _, m in arrived] == [m for _, m in piece.due], "messages out of order"
    late = lateness(arrived, piece.due)
    return Timing(late, during(stalls.windows, arrived, late), len(stalls.windows))


@pytest.mark.long
def test_two_minute_piece_arrives_complete_in_order_and_on_time(jack: JackServer, tmp_path,
                                                                capsys) -> None:
    """Every note-on and note-off of a dense piece of over two minutes (with a tempo change)
    arrives, in order, and at least 99% of them within 5 ms of their time (95% where the
    system refuses real-time scheduling), leaving out those due while jackd itself was held
    up. A play in which jackd was held up for more than 5% of the messages says nothing about
    the player's timing and is played once more; if that one is no better, the timing is not
    judged (skipped with both figures), while completeness and order were checked in each."""
    piece = dense_piece(beats_slow=120, beats_fast=151)  # 60 s + 60.4 s
    assert piece.due[-1][0] > 120
    path = tmp_path / "song.mid"
    piece.midi.save(path)
    with realtime() as player_realtime:
        scheduling = jack.realtime and player_realtime
    reports = []
    for _ in range(PLAYS):
        timing = play_and_time(jack, piece, path)
        reports.append(f"{timing.report} ({'real-time' if scheduling else 'ordinary'} "
                       f"scheduling{'' if timing.conclusive else '; inconclusive'})")
        with capsys.disabled():
            print(f"\nJACK timing, {reports[-1]}")
        if timing.conclusive:
            break
    report = " | ".join(reports)
    if not timing.conclusive:
        pytest.skip(f"timing not judged: jackd itself was held up in every play: {report}")
    within = sum(x <= TOLERANCE_SECONDS for x in timing.counted) / len(timing.counted)
    assert within >= ON_TIME_SHARE[scheduling], report
    assert statistics.median(timing.late) <= 0.002, report


def hanging(arrived: list[tuple[float, tuple[int, ...]]]) -> set[tuple[int, int]]:
    """(channel, pitch) of notes left sounding: note-ons with no later note-off or all-notes-off."""
    sounding: set[tuple[int, int]] = set()
    for _, message in arrived:
        status, data, value = (*message, 0, 0)[:3]
        kind, channel = status & 0xF0, status & 0x0F
        if kind == NOTE_ON and value > 0:
            sounding.add((channel, data))
        elif kind in (NOTE_ON, NOTE_OFF):
            sounding.discard((channel, data))
        elif kind == CONTROL and data == CC_ALL_NOTES_OFF:
            sounding = {(c, p) for c, p in sounding if c != channel}
    return sounding


def test_ctrl_c_mid_piece_leaves_no_note_hanging(jack: JackServer, tmp_path) -> None:
    path = tmp_path / "song.mid"
    dense_piece(beats_slow=40, beats_fast=0, held=True).midi.save(path)
    with Recorder() as recorder:
        cli = Cli("play", path, "--midi-api", "jack", "--port", "rec", env=jack.env)
        deadline = time.monotonic() + 60
        while len(recorder.events) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        priorities = realtime_priorities(cli.process.pid)
        cli.interrupt()
        done = cli.finish(30)
        time.sleep(0.1)
    assert done.code == 130 and "interrupted" in done.err, done.err
    arrived = recorder.events
    assert len(arrived) > 100
    last_on = max(i for i, (_, m) in enumerate(arrived) if m[0] & 0xF0 == NOTE_ON and m[2])
    sounding = hanging(arrived[:last_on + 1])
    assert len(sounding) >= 2  # the held dyad at least: the interrupt hit sounding notes
    after = [m for _, m in arrived[last_on + 1:]]
    offs = {(m[0] & 0x0F, m[1]) for m in after if m[0] & 0xF0 == NOTE_OFF}
    assert sounding <= offs, "a sounding note got no note-off"
    if cli.process.pid in priorities:  # the player's thread got real-time scheduling: it must
        # stay below the JACK client thread it feeds, or it can hold that thread's cycle up
        others = [p for tid, p in priorities.items() if tid != cli.process.pid]
        assert others and priorities[cli.process.pid] < min(others), priorities
    silenced = {m[0] & 0x0F for m in after if m[0] & 0xF0 == CONTROL and m[1] == CC_ALL_NOTES_OFF}
    assert silenced == set(range(16)), "all-notes-off missing on some channels"
    assert not hanging(arrived)


@pytest.mark.skipif(cannot_run_fluidsynth() is not None, reason=f"{cannot_run_fluidsynth()}")
def test_fluidsynth_plays_what_it_is_sent_by_part_of_its_name(jack: JackServer, tmp_path) -> None:
    song = tmp_path / "song.txt"
    song.write_text("g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4\n")
    synth = start_fluidsynth(jack, "fsynth")
    try:
        synth.wait_until_listening(jack)
        done = Cli("play", song, "--midi-api", "jack", "--port", "fsynth", "--bpm", "400",
                   env=jack.env).finish(60)
        assert done.code == 0, done.err
        assert "on fsynth:midi_00" in done.err
        deadline = time.monotonic() + 5
        while len(synth.note_ons()) < 13 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        synth.quit()
    pitches = [67, 64, 64, 65, 62, 62, 60, 62, 64, 65, 67, 67, 67]
    played = [(channel, pitch) for channel, pitch in synth.note_ons() if channel == 0]
    assert played == [(0, p) for p in pitches], "\n".join(synth.lines)


def test_virtual_port_waits_for_a_connection_then_plays(jack: JackServer, tmp_path) -> None:
    song = tmp_path / "song.txt"
    song.write_text("c4 e4 g4\n")
    with Recorder() as recorder:
        cli = Cli("play", song, "--midi-api", "jack", "--virtual", "feed", "--wait", "60",
                  "--bpm", "600", env=jack.env)
        jack.wait_for_port("melodyrnn:feed", timeout=30)
        time.sleep(0.3)
        assert not recorder.events  # nothing is sent before the connection
        connected = time.monotonic()
        subprocess.run(["jack_connect", "melodyrnn:feed", recorder.name], env=jack.env,
                       check=True, timeout=10)
        done = cli.finish(60)
        time.sleep(0.1)
    assert done.code == 0, done.err
    assert "connected to rec:in" in done.err
    ons = [(at, m[1]) for at, m in recorder.events if m[0] & 0xF0 == NOTE_ON and m[2]]
    assert [p for _, p in ons] == [60, 64, 67]
    assert ons[0][0] - connected < 1.0  # played as soon as it was connected


def test_generate_plays_its_melody_on_a_virtual_port(jack: JackServer) -> None:
    with Recorder() as recorder:
        cli = Cli("generate", "--seed", "g8 e8 e4 f8", "--length", "6", "--play", "--midi-api",
                  "jack", "--virtual", "gen", "--bpm", "600", env=jack.env)
        jack.wait_for_port("melodyrnn:gen", timeout=120)
        subprocess.run(["jack_connect", "melodyrnn:gen", recorder.name], env=jack.env,
                       check=True, timeout=10)
        done = cli.finish(60)
        time.sleep(0.1)
    assert done.code == 0, done.err
    (melody,) = parse_text(done.out)
    ons = [m[1] for _, m in recorder.events if m[0] & 0xF0 == NOTE_ON and m[2]]
    assert ons == [n.pitch for n in melody.notes if n.pitch is not None]
    assert ons[:4] == [67, 64, 64, 65]


def gone(jack: JackServer, port: str, within: float = 5.0) -> bool:
    """Whether ``port`` is (or soon is) no longer listed: jackd drops a closed client's ports
    a moment after the process has gone, later on a loaded machine."""
    deadline = time.monotonic() + within
    while port in jack_ports(jack.name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_virtual_port_plays_after_the_wait_when_nobody_connects(jack: JackServer, tmp_path
                                                                ) -> None:
    song = tmp_path / "song.txt"
    song.write_text("c4\n")
    started = time.monotonic()
    done = Cli("play", song, "--midi-api", "jack", "--virtual", "lonely", "--wait", "1",
               env=jack.env).finish(60)
    assert done.code == 0, done.err
    assert "no connection after 1 s; playing anyway" in done.err
    assert time.monotonic() - started >= 1
    assert gone(jack, "melodyrnn:lonely")  # closed on exit


# --- jam: call and response ----------------------------------------------------------------

# Two bars of 4/4 each, ending on a bar line: 나비야 at 100 bpm, then an A-minor phrase faster.
PHRASES = (("g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4", 100),
           ("a8 c'8 e'4 d'8 c'8 b4 a8 b8 c'8 d'8 e'4 a4", 132))
LATENCY_BOUND = 0.100  # the bound from recognising the pause to the first answer


def play_phrase(player: Player, text: str, bpm: float, gate: float = 0.9) -> tuple[float, float]:
    """Play song text on a port in time, each note held for ``gate`` of its length; the
    moments of the first note-on and the last release."""
    beat = 60 / bpm
    start = time.monotonic() + 0.05
    at, release = 0.0, start
    for note in parse_tokens(text).notes:
        length = float(note.duration) * beat
        if note.pitch is not None:
            wait_until(start + at)
            player.send(NOTE_ON, note.pitch, 90)
            wait_until(start + at + gate * length)
            release = player.send(NOTE_OFF, note.pitch, 0)
        at += length
    return start, release


def wait_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(min(left, 0.005))


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """The slope of the least-squares line through the points and the largest distance from it."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, max(abs(y - my - slope * (x - mx)) for x, y in zip(xs, ys))


def test_jam_answers_each_phrase_soon_in_key_in_tempo_and_at_length(jack: JackServer, capsys
                                                                    ) -> None:
    """A scripted player plays two phrases, pausing after each; the bundled model answers
    each within the latency bound of the pause being recognised, keeps to the phrase's key,
    plays in the phrase's tempo and lasts the bars asked for; Ctrl-C then silences it."""
    wait_beats, bars = 2, 2
    latencies = []
    with Player() as player, Recorder() as recorder:
        cli = Cli("jam", "--in", player.name, "--out", recorder.name, "--midi-api", "jack",
                  "--bars", bars, "--wait", wait_beats, "--time", "4/4", env=jack.env)
        assert "player:out" in cli.wait_for("listening on", timeout=120)
        for number, (text, bpm) in enumerate(PHRASES, 1):
            _, released = play_phrase(player, text, bpm)
            recognised = released + wait_beats * 60 / bpm  # the pause is complete
            while sum("\\title answer" in line for line in cli.out) < number:
                cli.wait_for("\\title answer", timeout=60, stream="out")
                time.sleep(0.05)
            time.sleep(0.3)
            answer = parse_text("".join(cli.out))[-1]
            heard = [(at, m) for at, m in recorder.events
                     if at > recognised - 1 and m[0] & 0xF0 == NOTE_ON and m[2]]
            assert heard, "".join(cli.err)
            latencies.append(heard[0][0] - recognised)
            key = analyse_key(parse_tokens(text).notes)
            assert f"in {key}" in cli.err[-1]
            scale = key_pitch_classes(key)
            assert all(n.pitch % 12 in scale for n in answer.notes if n.pitch is not None), key
            assert answer.total_duration == bars * 4, cli.err  # whole bars: ends on a bar line
            pitches = [n.pitch for n in answer.notes if n.pitch is not None]
            assert [m[1] for _, m in heard] == pitches  # what arrived is what it printed
            due = [float(t) * 60 / bpm for t, n in zip(answer.onsets(), answer.notes)
                   if n.pitch is not None]
            pace, wobble = fit_line(due, [at for at, _ in heard])
            assert abs(pace - 1) < 0.015, f"played at {bpm / pace:.1f} bpm, not {bpm}"
            assert wobble < 0.010, f"notes off the beat by up to {1000 * wobble:.1f} ms"
        cli.interrupt()
        done = cli.finish(30)
        time.sleep(0.1)
    assert done.code == 130, done.err
    reports = [line.strip() for line in done.err.splitlines() if line.startswith("heard")]
    with capsys.disabled():
        print("\njam: first answered notes " + ", ".join(f"{1000 * x:.1f}" for x in latencies)
              + " ms after the pauses; " + "; ".join(reports))
    assert max(latencies) < LATENCY_BOUND, done.err
    silenced = {m[0] & 0x0F for _, m in recorder.events
                if m[0] & 0xF0 == CONTROL and m[1] == CC_ALL_NOTES_OFF}
    assert silenced == set(range(16)) and not hanging(recorder.events)
