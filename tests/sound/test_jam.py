"""Call and response without a MIDI system: phrases from played notes, the listening loop on a
fake clock with scripted input, answers, stale answers, failures and Ctrl-C."""

from __future__ import annotations

import random
from fractions import Fraction

import mido
import pytest

from melodyrnn.errors import MelodyError
from melodyrnn.music.keys import analyse_key
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import parse_tokens
from melodyrnn.sound import jam, phrases
from melodyrnn.sound.phrases import Played, beat_seconds, phrase_melody

GRID = (16, 24)
NABIYA = "g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4"


def played(text: str, bpm: float, start: float = 10.0, gate: float = 0.9,
           jitter: float = 0.0, seed: int = 0) -> list[Played]:
    """Song text as a player plays it: each note held for ``gate`` of its length, onsets off
    by up to ``jitter`` seconds."""
    rng = random.Random(seed)
    beat, at, notes = 60 / bpm, 0.0, []
    for note in parse_tokens(text).notes:
        length = float(note.duration) * beat
        if note.pitch is not None:
            onset = start + at + rng.uniform(-jitter, jitter)
            notes.append(Played(onset, onset + gate * length, note.pitch))
        at += length
    return notes


# --- phrases -------------------------------------------------------------------------------

def test_tempo_is_measured_from_the_onsets() -> None:
    onsets = [p.onset for p in played(NABIYA, 100)]
    assert 60 / beat_seconds(onsets, 0.5, GRID) == pytest.approx(100)


def test_tempo_survives_a_loose_player() -> None:
    onsets = [p.onset for p in played(NABIYA, 112, jitter=0.015, seed=3)]
    assert 60 / beat_seconds(onsets, 0.5, GRID) == pytest.approx(112, rel=0.02)


def test_tempo_is_read_in_one_octave_at_the_same_speed() -> None:
    """Quarter notes at 70 bpm read as eighths at 140: the same speed, so the same answer."""
    onsets = [p.onset for p in played("c4 d4 e4 f4 g4", 70)]
    beat = beat_seconds(onsets, 0.5, GRID)
    assert 60 / beat == pytest.approx(140)
    assert phrases.MIN_BPM <= 60 / beat < 2 * phrases.MIN_BPM


def test_tempo_needs_two_onsets_a_chord_is_one() -> None:
    assert beat_seconds([], 0.5, GRID) == 0.5
    assert beat_seconds([3.0, 3.01, 3.02], 0.5, GRID) == 0.5


def test_a_phrase_played_in_time_reads_back_as_written() -> None:
    phrase = phrase_melody(played(NABIYA, 100, jitter=0.01), 0.6, GRID, (4, 4))
    written = parse_tokens(NABIYA)
    assert phrase.notes == written.notes
    assert (phrase.tempo, phrase.time_signature) == (100, (4, 4))
    assert phrase.key == analyse_key(written.notes) and phrase.key_analysed


def test_a_long_silence_is_a_rest_a_short_one_is_not() -> None:
    notes = [Played(0.0, 0.3, 60), Played(0.5, 0.8, 62),  # staccato quarters: legato
             Played(1.0, 1.25, 64), Played(2.0, 2.5, 65)]  # then a rest of 1.5 beats
    phrase = phrase_melody(notes, 0.5, GRID, (4, 4))
    assert phrase.notes == (Note(60, 1), Note(62, 1), Note(64, Fraction(1, 2)),
                            Note(None, Fraction(3, 2)), Note(65, 1))


def test_chords_keep_their_top_note_and_the_last_note_ends_on_a_beat() -> None:
    notes = [Played(0.0, 0.45, 60), Played(0.01, 0.45, 67), Played(0.5, 1.3, 65)]
    phrase = phrase_melody(notes, 0.5, GRID, (4, 4))
    assert phrase.notes == (Note(67, 1), Note(65, 2))  # released at 1.6 beats: held to 2


# --- the listening loop --------------------------------------------------------------------

class Clock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)


class ScriptedInput:
    """An input port that delivers scripted messages once the clock reaches their times."""

    def __init__(self, clock: Clock, script: list[tuple[float, mido.Message]]) -> None:
        self.clock, self.script = clock, sorted(script, key=lambda item: item[0])

    def receive(self) -> list[mido.Message]:
        due = [m for at, m in self.script if at <= self.clock()]
        self.script = [(at, m) for at, m in self.script if at > self.clock()]
        return due


class RecordingOutput:
    """An output port that records each message with the clock time it was sent."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.sent = clock, []

    def send(self, message: mido.Message) -> None:
        self.sent.append((self.clock(), message))

    def note_ons(self) -> list[tuple[float, int]]:
        return [(at, m.note) for at, m in self.sent if m.type == "note_on" and m.velocity]


def script_of(notes: list[Played]) -> list[tuple[float, mido.Message]]:
    """Played notes as the MIDI messages a keyboard sends."""
    return [item for p in notes for item in
            ((p.onset, mido.Message("note_on", note=p.pitch, velocity=90)),
             (p.release, mido.Message("note_off", note=p.pitch, velocity=0)))]


ANSWER = Melody((Note(None, Fraction(1, 2)), Note(67, Fraction(1, 2)), Note(64, 1), Note(60, 2)))


class Model:
    """A respond callback that records the phrases it was asked about."""

    def __init__(self, answer: Melody = ANSWER, fail: bool = False) -> None:
        self.answer, self.fail, self.asked = answer, fail, []

    def __call__(self, phrase: Melody) -> Melody:
        self.asked.append(phrase)
        if self.fail and len(self.asked) == 1:
            raise MelodyError("--key/--range leave none of the model's notes")
        return Melody(self.answer.notes, tempo=phrase.tempo, key=phrase.key)


def run(script: list[tuple[float, mido.Message]], model: Model, turns: int = 1, **settings):
    clock = Clock()
    out = RecordingOutput(clock)
    complaints: list[str] = []
    done = jam.jam(ScriptedInput(clock, script), out, model, jam.JamSettings(**settings),
                   complain=complaints.append, turns=turns, clock=clock, sleep=clock.sleep)
    return done, out, complaints


def test_a_pause_of_one_bar_ends_the_phrase_and_the_answer_follows_at_once() -> None:
    notes = played(NABIYA, 100, start=1.0)
    (turn,), out, _ = run(script_of(notes), Model())
    recognised = notes[-1].release + 4 * 0.6  # one bar of 4/4 at 100 bpm after the release
    assert turn.phrase.notes == parse_tokens(NABIYA).notes and turn.phrase.tempo == 100
    assert turn.latency < jam.POLL_SECONDS
    ons = out.note_ons()
    assert [p for _, p in ons] == [67, 64, 60]
    # From its first note (the leading rest is skipped), in the phrase's tempo.
    # Heard and recognised on polls of the input: each up to one poll late.
    assert [at - recognised for at, _ in ons] == pytest.approx([0, 0.3, 0.9],
                                                               abs=2 * jam.POLL_SECONDS)


def test_wait_sets_the_pause_in_beats() -> None:
    notes = played(NABIYA, 100, start=1.0)
    _, out, _ = run(script_of(notes), Model(), wait_beats=1.5)
    assert out.note_ons()[0][0] == pytest.approx(notes[-1].release + 0.9, abs=2 * jam.POLL_SECONDS)


def test_a_note_in_the_pause_continues_the_phrase_and_the_early_answer_is_dropped() -> None:
    first = played("g8 e8 e4 f8 d8 d4", 100, start=1.0)
    more = played("c8 d8 e8 f8 g8 g8 g4", 100, start=first[-1].onset + 0.6 + 1.2)  # 2 beats on
    model = Model()
    (turn,), out, _ = run(script_of(first + more), model)
    assert len(model.asked[0]) == 6  # asked when the player first fell silent ...
    assert len(turn.phrase) == 14 and model.asked[-1] == turn.phrase  # ... but answered this
    assert len(out.note_ons()) == 3  # one answer played
    assert out.note_ons()[0][0] > more[-1].release


def test_what_is_played_during_an_answer_is_not_heard() -> None:
    notes = played(NABIYA, 100, start=1.0)
    answering = notes[-1].release + 2.4 + 0.1
    stray = [(answering, mido.Message("note_on", note=50, velocity=90)),
             (answering + 5, mido.Message("note_off", note=50, velocity=0))]
    second = played("a8 b8 c'4", 100, start=answering + 6)
    model = Model()
    done, _, _ = run(script_of(notes) + stray + script_of(second), model, turns=2)
    assert [n.pitch for n in done[1].phrase.notes] == [69, 71, 72]


def test_an_answer_that_fails_is_reported_and_the_jam_listens_again() -> None:
    notes = played(NABIYA, 100, start=1.0)
    again = played("a8 b8 c'4", 100, start=notes[-1].release + 4)
    (turn,), _, complaints = run(script_of(notes) + script_of(again), Model(fail=True))
    assert complaints == ["no answer to that phrase: --key/--range leave none of the model's notes"]
    assert [n.pitch for n in turn.phrase.notes] == [69, 71, 72]


def test_ctrl_c_silences_the_output() -> None:
    clock = Clock()
    out = RecordingOutput(clock)

    def sleep(seconds: float) -> None:
        if clock.now > 1:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    script = script_of(played("g8 e8", 100, start=0.5))
    with pytest.raises(KeyboardInterrupt):
        jam.jam(ScriptedInput(clock, script), out, Model(), jam.JamSettings(), clock=clock,
                sleep=sleep)
    silenced = {m.channel for _, m in out.sent if m.type == "control_change" and m.control == 123}
    assert silenced == set(range(16))


def test_the_answer_plays_in_the_measured_tempo_from_its_first_note() -> None:
    events = jam.answer_timeline(Melody(ANSWER.notes, tempo=100), beat=0.5)
    ons = [(at, m.note) for at, m in events if m.type == "note_on"]
    assert ons == [(0.0, 67), (pytest.approx(0.25), 64), (pytest.approx(0.75), 60)]
    assert jam.answer_timeline(Melody((Note(None, 1),)), beat=0.5) == []


# --- the command ---------------------------------------------------------------------------

def test_jam_without_a_midi_system_is_one_clear_line(fake_midi) -> None:
    from click.testing import CliRunner
    from fakertmidi import ALSA, JACK, jack_not_running, no_sequencer

    from melodyrnn.cli import main

    fake_midi({ALSA: no_sequencer(), JACK: jack_not_running()})
    result = CliRunner().invoke(main, ["jam", "--in", "keyboard", "--out", "synth"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: no MIDI system available")
    assert "JACK is not running" in result.output


def test_jam_answers_with_the_model_in_the_phrase_key_for_the_bars_asked() -> None:
    from melodyrnn.cli.jam import responder
    from melodyrnn.generation.sampling import Sampling
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.music.keys import key_pitch_classes

    bundled = ckpt.bundled_path()
    if bundled is None:
        pytest.skip("no bundled model in this installation")
    respond = responder(ckpt.load(bundled), 2, Sampling(temperature=0.8), 0)
    phrase = phrase_melody(played(NABIYA, 100, jitter=0.01), 0.6, GRID, (3, 4))
    answer = respond(phrase)
    scale = key_pitch_classes(phrase.key)
    assert all(n.pitch % 12 in scale for n in answer.notes if n.pitch is not None)
    # 나비야 is 8 beats: in 3/4 it ends two beats into bar 3, so the answer completes that
    # bar (1 beat) and adds two bars (6).
    assert answer.total_duration == 7 and answer.tempo == 100
