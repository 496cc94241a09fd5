"""A private JACK server for end-to-end MIDI tests, a recording port, FluidSynth as a JACK synth.

The server runs the dummy driver (no sound card) with ``--sync`` (in JACK's default
asynchronous mode MIDI messages were seen dropped, doubled and reordered), a client timeout
of 500 ms (``CLIENT_TIMEOUT_MS``), a 64-frame period (1.5 ms at 44.1 kHz, so delivery adds
well under the 5 ms the tests allow) and, as JACK does by default, real-time scheduling
where the system grants it. Clients
find it through ``JACK_DEFAULT_SERVER`` and never start a server of their own. Every rtmidi
client here is polled, never called back: a Python callback runs in JACK's process thread and
can stall the whole (synchronous) graph while it waits for the interpreter lock.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.clitools import ctrl_c_as_at_a_terminal

SAMPLE_RATE = 44100
PERIOD_FRAMES = 64
# How long the server waits for its clients each cycle before it gives the cycle up, MIDI and
# all. JACK derives its default from the period (tens of milliseconds at 64 frames, as far
# as we could tell), and a client woken later than that on a loaded 2-core machine lost
# messages; with 500 ms a late client makes its messages late, which the timing test
# measures, not lost.
CLIENT_TIMEOUT_MS = 500
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
_counter = itertools.count(1)


def server_name() -> str:
    """A name no other test process uses: JACK tools crash on names over 23 characters."""
    return f"mrt{os.getpid()}n{next(_counter)}"[:23]


def jack_env(server: str) -> dict[str, str]:
    """The environment of a process that must use ``server`` and never start one itself."""
    return {**os.environ, "JACK_DEFAULT_SERVER": server, "JACK_NO_START_SERVER": "1",
            "JACK_NO_AUDIO_RESERVATION": "1"}


def cannot_run_jack() -> str | None:
    """Why the JACK tests cannot run here (None when they can)."""
    missing = [tool for tool in ("jackd", "jack_lsp") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install jackd2)"
    try:
        import rtmidi
    except ImportError:
        return "python-rtmidi is not installed"
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        return "this python-rtmidi was built without JACK"
    return None


def jack_ports(server: str, connections: bool = False) -> str:
    """``jack_lsp`` output for a server ('' if it does not answer)."""
    done = subprocess.run(["jack_lsp", "-s", server, *(["-c"] if connections else [])],
                          capture_output=True, text=True, env=jack_env(server), timeout=10)
    return done.stdout if done.returncode == 0 else ""


@dataclass
class JackServer:
    """A running jackd and the environment its clients need."""

    name: str
    process: subprocess.Popen
    log: Path
    startup_seconds: float = 0.0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def realtime(self) -> bool:
        """Whether jackd got real-time scheduling (it carries on without when refused)."""
        return "Cannot use real-time scheduling" not in self.log.read_text()

    def wait_for_port(self, part: str, timeout: float = 10.0) -> str:
        """The full name of the first port containing ``part``, once it exists."""
        deadline = time.monotonic() + timeout
        while True:
            for line in jack_ports(self.name).splitlines():
                if part in line:
                    return line.strip()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no JACK port containing {part!r} after {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (close every client first) and remove its files in /dev/shm."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for leftover in (glob.glob(f"/dev/shm/jack_{self.name}_*")
                         + glob.glob(f"/dev/shm/jack_sem.*_{self.name}_*")):
            with suppress(OSError):
                os.remove(leftover)


class Polling:
    """A daemon thread that calls ``poll_once`` every ``poll`` seconds until ``close``."""

    def __init__(self, poll: float) -> None:
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def poll_once(self) -> None:
        """One round of work; subclasses say what."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            time.sleep(self._poll)

    def close(self) -> None:
        """Stop the thread (after the round in progress)."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Polling:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StallWatch(Polling):
    """When jackd itself fell behind: each ``XRun = N usec`` line its dummy driver writes (a
    cycle that started N microseconds late, the server's own thread held up), timed on the
    monotonic clock as the line appears in its log. ``windows`` are the stretches of time in
    which nothing through JACK could be on time; only stalls of ``least_usec`` or more count."""

    PATTERN = re.compile(r"XRun = (\d+) usec")

    def __init__(self, log: Path, least_usec: int = 3000, poll: float = 0.005) -> None:
        self.windows: list[tuple[float, float]] = []
        self._least, self._pending = least_usec, ""
        self._log = open(log, errors="replace")  # noqa: SIM115 - closed in close()
        self._log.seek(0, os.SEEK_END)
        super().__init__(poll)

    def poll_once(self) -> None:
        self._pending += self._log.read()
        now = time.monotonic()
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            match = self.PATTERN.search(line)
            if match and int(match.group(1)) >= self._least:
                # written when the late cycle began: the stall ended then, at most one poll
                # before this read
                self.windows.append((now - self._poll - int(match.group(1)) / 1e6, now))

    def close(self) -> None:
        """Stop watching and close the log."""
        super().close()
        self._log.close()


def start_jackd(folder: Path, realtime: bool = True) -> JackServer:
    """Start a private jackd with the dummy driver and wait until it answers; real-time (JACK's
    default, as musicians run it) unless ``realtime`` is False or the system refuses."""
    name = server_name()
    log = folder / f"jackd-{name}.log"
    command = ["jackd", "-n", name, "--realtime" if realtime else "--no-realtime", "--sync",
               "-t", str(CLIENT_TIMEOUT_MS), "-d", "dummy",
               "-r", str(SAMPLE_RATE), "-p", str(PERIOD_FRAMES)]
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env=jack_env(name), start_new_session=True)
    server = JackServer(name, process, log, env=jack_env(name))
    while "system:playback_1" not in jack_ports(name):
        if process.poll() is not None:
            raise RuntimeError(f"jackd exited ({process.returncode}): {log.read_text()[-300:]}")
        if time.monotonic() - started > START_TIMEOUT:
            server.stop()
            raise TimeoutError(f"jackd did not answer within {START_TIMEOUT} s")
        time.sleep(0.02)
    server.startup_seconds = time.monotonic() - started
    return server


class Recorder(Polling):
    """A JACK MIDI input port that records every message with its arrival time (monotonic)."""

    def __init__(self, client: str = "rec", port: str = "in", poll: float = 0.0005) -> None:
        import rtmidi

        self.name = f"{client}:{port}"
        self.events: list[tuple[float, tuple[int, ...]]] = []
        self._anchor: float | None = None
        self._midi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client)
        self._midi.ignore_types(sysex=False, timing=True, active_sense=True)
        self._midi.open_virtual_port(port)
        super().__init__(poll)

    def poll_once(self) -> None:
        # rtmidi's delta times come from JACK's clock at the receiving cycle: exact spacing.
        # The first arrival anchors them to the monotonic clock of this process.
        while (event := self._midi.get_message()) is not None:
            message, delta = event
            self._anchor = time.monotonic() if self._anchor is None else self._anchor + delta
            self.events.append((self._anchor, tuple(message)))

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` messages have arrived (or ``timeout`` seconds have passed): on a
        busy machine the last ones can still be on their way when the player exits."""
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop recording and close the port."""
        super().close()
        self._midi.close_port()
        self._midi.delete()


class Player:
    """A JACK MIDI output port for a scripted musician: sends raw messages, polled port list."""

    def __init__(self, client: str = "player", port: str = "out") -> None:
        import rtmidi

        self.name = f"{client}:{port}"
        self._midi = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
        self._midi.open_virtual_port(port)

    def send(self, *message: int) -> float:
        """Send one message now; the time it was sent."""
        self._midi.send_message(list(message))
        return time.monotonic()

    def close(self) -> None:
        """Close the port after the server has taken what was sent."""
        self._midi.close_port()
        self._midi.delete()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Finished:
    """What a command-line subprocess did."""

    code: int
    out: str
    err: str


def realtime_priorities(pid: int) -> dict[int, int]:
    """Real-time priority of each real-time thread of a process (thread id: priority), read
    from /proc; ordinary threads are left out."""
    found = {}
    for stat in glob.glob(f"/proc/{pid}/task/*/stat"):
        with suppress(OSError):
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            rt_priority, policy = int(fields[37]), int(fields[38])
            if policy in (1, 2):  # SCHED_FIFO, SCHED_RR
                found[int(Path(stat).parent.name)] = rt_priority
    return found


class Cli:
    """The real command line in a subprocess (``python -m melodyrnn ARGS``), its output read
    as it comes."""

    def __init__(self, *args: object, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "melodyrnn", *map(str, args)],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, preexec_fn=ctrl_c_as_at_a_terminal)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out),
                                               (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def wait_for(self, text: str, timeout: float, stream: str = "err") -> str:
        """The first line of stderr (or stdout) containing ``text``, once it is there."""
        lines = self.err if stream == "err" else self.out
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in lines if text in line), None)
            if found is not None:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from melodyrnn: {''.join(self.err)}")
            time.sleep(0.02)

    def interrupt(self) -> None:
        """Send SIGINT, what Ctrl-C sends."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float) -> Finished:
        """Wait for the command to end."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"melodyrnn still running after {timeout} s: "
                                 f"{''.join(self.err)}") from None
        for reader in self._readers:
            reader.join(10)
        return Finished(self.process.returncode, "".join(self.out), "".join(self.err))


@dataclass
class FluidSynth:
    """FluidSynth running as a JACK MIDI synth, its stderr lines collected."""

    process: subprocess.Popen
    name: str
    lines: list[str] = field(default_factory=list)

    def note_ons(self) -> list[tuple[int, int]]:
        """(channel, pitch) of each note FluidSynth started, in order. With ``-v`` it logs
        ``noteon CHANNEL KEY VELOCITY NOTE-ID ...`` once per voice (a piano note has two)."""
        started: dict[str, tuple[int, int]] = {}
        for line in self.lines:
            parts = line.replace("fluidsynth:", "").split()
            if len(parts) >= 5 and parts[0] == "noteon":
                started.setdefault(parts[4], (int(parts[1]), int(parts[2])))
        return list(started.values())

    def wait_until_listening(self, server: JackServer, timeout: float = 20.0) -> None:
        """Wait until FluidSynth plays what reaches its MIDI port: its port exists before its
        client is active, and notes sent in between are lost. A probe note on channel 16 shows
        when it is."""
        port = server.wait_for_port(f"{self.name}:midi_00", timeout)
        deadline = time.monotonic() + timeout
        with Player("probe") as probe:
            subprocess.run(["jack_connect", probe.name, port], env=server.env, check=True,
                           timeout=10)
            while (15, 0) not in self.note_ons():
                if time.monotonic() > deadline:
                    raise TimeoutError("FluidSynth did not play a probe note")
                probe.send(0x9F, 0, 1)
                probe.send(0x8F, 0, 0)
                time.sleep(0.1)

    def quit(self) -> int:
        """Ask FluidSynth's shell to quit (signals leave a dead JACK client behind)."""
        if self.process.poll() is None:
            with suppress(OSError):
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_fluidsynth(server: JackServer, name: str = "fsynth") -> FluidSynth:
    """FluidSynth with JACK audio and MIDI (ports NAME:midi_00, NAME:left/right), reporting each
    MIDI event on stderr (``-v``); its shell reads a pipe so that ``quit`` stops it cleanly."""
    command = ["stdbuf", "-oL", "-eL", "fluidsynth", "-a", "jack", "-m", "jack", "-v", "-g", "1.0",
               "-o", f"midi.jack.id={name}", "-o", f"audio.jack.id={name}",
               "-o", f"midi.jack.server={server.name}", "-o", f"audio.jack.server={server.name}",
               str(SOUNDFONT)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=server.env)
    synth = FluidSynth(process, name)

    def collect() -> None:
        for line in process.stderr:
            synth.lines.append(line.rstrip())

    threading.Thread(target=collect, daemon=True).start()
    return synth


def cannot_run_fluidsynth() -> str | None:
    """Why FluidSynth cannot be a JACK synth here (None when it can)."""
    missing = [tool for tool in ("fluidsynth", "stdbuf") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install fluidsynth)"
    if not SOUNDFONT.is_file():
        return f"no SoundFont at {SOUNDFONT} (apt-get install fluid-soundfont-gm)"
    return None
