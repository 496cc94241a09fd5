"""Call and response: listen to a player on a MIDI input; when they pause, play an answer.

A phrase ends when nothing has sounded for ``--wait`` beats (one bar by default) at the tempo
measured from it (``phrases``). The answer comes from a ``respond(phrase) -> Melody``
callback (the command line's model); it is asked in a worker thread once the silence has
lasted half the pause, so that when the pause is recognised the answer is ready and its
first note goes out within milliseconds; a note played in the meantime makes that answer
stale, and the next silence asks again. The answer is played in the measured tempo with
real-time scheduling where allowed; what the player plays meanwhile is not heard. Ctrl-C
silences the output. No torch here: the model lives behind ``respond``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import DEFAULT_TIME_SIGNATURE, Melody
from melodyrnn.music.quantize import DEFAULT_QUANTIZE, parse_quantize
from melodyrnn.music.writers import DEFAULT_PROGRAM, midi_file
from melodyrnn.sound.midi import Timeline, timeline
from melodyrnn.sound.phrases import Played, beat_seconds, phrase_melody
from melodyrnn.sound.playback import OutputPort, play_timeline, silence
from melodyrnn.sound.priority import realtime

Respond = Callable[[Melody], Melody]
POLL_SECONDS = 0.002  # how often the input is read while listening
# A silence this share of the pause long starts the answer: well after the gaps between
# notes, and (for the default pause of a bar) half a bar ahead of the 10-60 ms it takes.
PREPARE_SHARE = 0.5
DEFAULT_BPM = 120.0  # the tempo assumed until a phrase has two onsets


class InputPort(Protocol):
    """What listening needs from a port: the messages that arrived since the last call."""

    def receive(self) -> list[Any]: ...


@dataclass(frozen=True)
class JamSettings:
    """How to listen and answer: metre, the pause that ends a phrase, grid, instrument."""

    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    wait_beats: float | None = None  # None: one bar of the metre
    bpm: float = DEFAULT_BPM
    grid: tuple[int, ...] = field(default_factory=lambda: parse_quantize(DEFAULT_QUANTIZE))
    program: int = DEFAULT_PROGRAM
    poll_seconds: float = POLL_SECONDS
    prepare_share: float = PREPARE_SHARE  # 1: answer only once the pause is recognised

    def pause_seconds(self, beat: float) -> float:
        """How long a silence ends a phrase, at ``beat`` seconds per quarter note."""
        if self.wait_beats is not None:
            return self.wait_beats * beat
        beats, unit = self.time_signature
        return float(Fraction(4 * beats, unit)) * beat


@dataclass(frozen=True)
class Turn:
    """One exchange: the phrase heard, the answer played, and how soon its first note went
    out after the pause was recognised (seconds)."""

    phrase: Melody
    answer: Melody
    latency: float
    beat: float


class Listener:
    """The notes of one phrase as they arrive: which sound now, which were played, and since
    when nothing has sounded; tempo and phrase are worked out once per change."""

    def __init__(self, settings: JamSettings) -> None:
        self.settings = settings
        self.played: list[Played] = []
        self.sounding: dict[tuple[int, int], float] = {}
        self.quiet_since: float | None = None
        self._beat: float | None = None
        self._phrase: Melody | None = None

    def hear(self, message: Any, at: float) -> None:
        """Take one incoming MIDI message received at time ``at``."""
        key = (getattr(message, "channel", 0), getattr(message, "note", 0))
        if message.type == "note_on" and message.velocity > 0:
            self.sounding[key] = at
            self.quiet_since = None
        elif message.type in ("note_on", "note_off") and key in self.sounding:
            self.played.append(Played(self.sounding.pop(key), at, message.note))
            if not self.sounding:
                self.quiet_since = at
            self._beat = self._phrase = None

    @property
    def beat(self) -> float:
        """Seconds per quarter note, measured from the onsets so far."""
        if self._beat is None:
            self._beat = beat_seconds([p.onset for p in self.played], 60 / self.settings.bpm,
                                      self.settings.grid)
        return self._beat

    @property
    def phrase(self) -> Melody:
        """The phrase so far as a melody (``phrases.phrase_melody``)."""
        if self._phrase is None:
            self._phrase = phrase_melody(self.played, self.beat, self.settings.grid,
                                         self.settings.time_signature)
        return self._phrase

    def silence(self) -> tuple[float, float] | None:
        """When the current silence will be worth answering (``prepare_share`` of the pause)
        and when it ends the phrase; None while notes sound or before any."""
        if self.quiet_since is None or not self.played:
            return None
        pause = self.settings.pause_seconds(self.beat)
        return self.quiet_since + self.settings.prepare_share * pause, self.quiet_since + pause


class Answers:
    """Answers prepared in a worker thread, one at a time, for the phrase as it stands."""

    def __init__(self, respond: Respond) -> None:
        self._respond = respond
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="melodyrnn-answer")
        self._asked: tuple[Melody, Future[Melody]] | None = None

    def prepare(self, phrase: Melody) -> None:
        """Start answering ``phrase`` unless that is already under way (an answer to an
        earlier phrase that has not started yet is dropped)."""
        if self._asked is None or self._asked[0] != phrase:
            if self._asked is not None:
                self._asked[1].cancel()
            self._asked = (phrase, self._pool.submit(self._respond, phrase))

    def answer(self, phrase: Melody) -> Melody:
        """The answer to ``phrase``: the prepared one (waiting for it if need be) or a new one."""
        self.prepare(phrase)
        assert self._asked is not None
        return self._asked[1].result()

    def close(self) -> None:
        """Let the worker finish what it is doing; forget the rest."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class _FirstNote:
    """A port that notes when its first note-on was sent."""

    def __init__(self, port: OutputPort, clock: Callable[[], float]) -> None:
        self.port, self.clock, self.first = port, clock, None

    def send(self, message: Any) -> None:
        self.port.send(message)
        if self.first is None and message.type == "note_on" and message.velocity > 0:
            self.first = self.clock()


def answer_timeline(answer: Melody, beat: float, program: int = DEFAULT_PROGRAM) -> Timeline:
    """The answer's messages, from its first note (it answers right away), at ``beat`` seconds
    per quarter note."""
    first = next((i for i, n in enumerate(answer.notes) if n.pitch is not None), None)
    if first is None:
        return []
    midi = midi_file(answer.with_notes(answer.notes[first:]), program=program, align_bars=False)
    scale = beat * answer.tempo / 60
    return [(at * scale, message) for at, message in timeline(midi)]


def listen(port: InputPort, settings: JamSettings, answers: Answers,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> tuple[Melody, float, float]:
    """Read the input until a phrase ends with a pause: the phrase, the moment the pause was
    recognised and the beat in seconds. Once a silence has lasted ``prepare_share`` of the
    pause, the answer to the phrase so far is started."""
    listener = Listener(settings)
    while True:
        now = clock()
        for message in port.receive():
            listener.hear(message, now)
        silence = listener.silence()
        if silence is None:
            sleep(settings.poll_seconds)
            continue
        prepare, deadline = silence
        if now >= prepare:
            answers.prepare(listener.phrase)
        if now >= deadline:
            return listener.phrase, now, listener.beat
        sleep(min(settings.poll_seconds, deadline - now))


def jam(inport: InputPort, outport: OutputPort, respond: Respond, settings: JamSettings,
        report: Callable[[Turn], None] = lambda turn: None,
        complain: Callable[[str], None] = lambda message: None, turns: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep) -> list[Turn]:
    """Listen and answer, ``turns`` times (forever if None); Ctrl-C silences the output.

    ``report`` hears of each turn as it is played; an answer that fails (a MelodyError from
    ``respond``) is passed to ``complain`` and the jam listens again.
    """
    answers = Answers(respond)
    done: list[Turn] = []
    try:
        while turns is None or len(done) < turns:
            phrase, recognised, beat = listen(inport, settings, answers, clock, sleep)
            try:
                answer = answers.answer(phrase)
            except MelodyError as err:
                complain(f"no answer to that phrase: {err}")
                continue
            stamped = _FirstNote(outport, clock)
            with realtime():
                play_timeline(answer_timeline(answer, beat, settings.program), stamped,
                              clock, sleep)
            inport.receive()  # what was played during the answer is not part of the next phrase
            turn = Turn(phrase, answer, (stamped.first or clock()) - recognised, beat)
            done.append(turn)
            report(turn)
    except KeyboardInterrupt:
        silence(outport)
        raise
    finally:
        answers.close()
    return done
