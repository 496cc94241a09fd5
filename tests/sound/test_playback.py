"""Port playback: timing against a fake clock, silencing on interruption, loading, CLI."""

from __future__ import annotations

import random
import sys
from fractions import Fraction

import click
import mido
import pytest
from click.testing import CliRunner

from melodyrnn.cli import main
from melodyrnn.cli.sound import play as play_command
from melodyrnn.cli.sound import ports as ports_command
from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.writers import midi_file, write
from melodyrnn.sound import midi as sound_midi
from melodyrnn.sound import playback, ports

TOLERANCE_SECONDS = 0.005


class FakeClock:
    """A monotonic clock that moves only when slept on; each sleep may overshoot."""

    def __init__(self, start: float = 1000.0, oversleep: float = 0.0) -> None:
        self.now, self.oversleep, self.sleeps = start, oversleep, 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps += 1
        self.now += seconds + self.oversleep


class RecordingPort:
    """An output port that records each message with the clock time it was sent."""

    name = "recording"

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.sent = clock, []

    def send(self, message: mido.Message) -> None:
        self.sent.append((self.clock(), message))


def two_minute_melody(seed: int = 7) -> Melody:
    """About two minutes at 120 bpm of random pitches, durations and rests."""
    rng = random.Random(seed)
    notes, total = [], Fraction(0)
    while total < 240:  # quarter notes: 240 at 120 bpm is two minutes
        duration = Fraction(rng.choice([1, 2, 3, 4, 6, 8]), 4)
        pitch = None if rng.random() < 0.1 else rng.randint(55, 84)
        notes.append(Note(pitch, duration))
        total += duration
    return Melody(tuple(notes), tempo=120)


def note_ons(sent: list, start: float) -> list[tuple[float, int]]:
    return [(at - start, m.note) for at, m in sent if m.type == "note_on" and m.velocity]


def score_onsets(melody: Melody, bpm: float) -> list[tuple[float, int]]:
    beat = 60 / bpm
    return [(float(t) * beat, n.pitch) for t, n in zip(melody.onsets(), melody.notes)
            if n.pitch is not None]


@pytest.mark.parametrize("oversleep", [0.0, 0.001])
def test_two_minute_piece_stays_within_5_ms(oversleep: float) -> None:
    melody = two_minute_melody()
    clock = FakeClock(oversleep=oversleep)
    port = RecordingPort(clock)
    start = clock.now
    playback.play_to_port(midi_file(melody), port, clock=clock, sleep=clock.sleep)
    played, expected = note_ons(port.sent, start), score_onsets(melody, 120)
    assert [p for _, p in played] == [p for _, p in expected]
    errors = [abs(a - b) for (a, _), (b, _) in zip(played, expected)]
    assert expected[-1][0] > 115  # really a two-minute piece
    assert clock.sleeps > 200
    # Absolute scheduling: a 1 ms oversleep per call delays each event by 1 ms, never more,
    # although the sleeps add up to over 200 ms.
    assert max(errors) <= TOLERANCE_SECONDS
    assert max(errors) <= oversleep + 1e-9
    offs = [m for _, m in port.sent if m.type == "note_off"]
    assert len(offs) == len(played)


def test_bpm_override_rescales_times() -> None:
    melody = Melody((Note(60, Fraction(1)), Note(62, Fraction(1, 2)), Note(64, Fraction(2))),
                    tempo=120)
    clock = FakeClock()
    port = RecordingPort(clock)
    start = clock.now
    playback.play_to_port(sound_midi.load_midi(melody, bpm=60), port, clock=clock, sleep=clock.sleep)
    played = note_ons(port.sent, start)
    assert [p for _, p in played] == [60, 62, 64]
    assert [at for at, _ in played] == pytest.approx([0, 1.0, 1.5])


def test_midi_file_tempo_changes_are_followed() -> None:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=480),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=0),
        mido.Message("note_on", note=62, velocity=80, time=0),
        mido.Message("note_off", note=62, velocity=0, time=480),
        mido.Message("note_on", note=64, velocity=80, time=0),
        mido.Message("note_off", note=64, velocity=0, time=480),
    ])
    midi.tracks.append(track)
    ons = [at for at, m in sound_midi.timeline(midi) if m.type == "note_on"]
    assert ons == pytest.approx([0.0, 0.5, 1.5])
    # --bpm scales every tempo by the same ratio, so the tempo change survives.
    faster = sound_midi.load_midi(midi, bpm=240)
    assert [at for at, m in sound_midi.timeline(faster) if m.type == "note_on"] == pytest.approx(
        [0.0, 0.25, 0.75])


def test_the_slowest_bpm_keeps_every_tempo_a_midi_file_can_store() -> None:
    """--bpm 4 on a piece that slows to a quarter of its first tempo would ask for 1 bpm,
    which a MIDI file cannot hold: the slower tempo stops at MIDI's slowest (3.58 bpm)."""
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(30), time=480),
        mido.Message("note_off", note=60, velocity=0, time=480),
    ]))
    slowed = sound_midi.load_midi(midi, bpm=4)
    tempos = [m.tempo for m in slowed.tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(4), 0xFFFFFF]
    slowed.save(file=__import__("io").BytesIO())  # writable: every tempo in range


def test_program_override_on_midi_file() -> None:
    midi = midi_file(Melody((Note(60, Fraction(1)),)), program=0)
    changed = sound_midi.load_midi(midi, program=73)
    programs = {m.program for _, m in sound_midi.timeline(changed) if m.type == "program_change"}
    assert programs == {73}


def test_keyboard_interrupt_silences_the_port() -> None:
    melody = Melody(tuple(Note(60 + i, Fraction(1)) for i in range(8)))
    clock = FakeClock()
    port = RecordingPort(clock)

    def sleep(seconds: float) -> None:
        if clock.sleeps == 3:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    with pytest.raises(KeyboardInterrupt):
        playback.play_to_port(midi_file(melody), port, clock=clock, sleep=sleep)
    messages = [m for _, m in port.sent]
    last_on = max(i for i, m in enumerate(messages) if m.type == "note_on")
    after = messages[last_on + 1:]
    sounding = messages[last_on].note
    assert any(m.type == "note_off" and m.note == sounding for m in after)
    for control in (playback.CC_ALL_NOTES_OFF, playback.CC_RESET_CONTROLLERS):
        channels = {m.channel for m in after
                    if m.type == "control_change" and m.control == control}
        assert channels == set(range(16))


def test_error_from_port_also_silences() -> None:
    clock = FakeClock()

    class FailingPort(RecordingPort):
        def send(self, message: mido.Message) -> None:
            super().send(message)
            if message.type == "note_off":
                raise OSError("port went away")

    port = FailingPort(clock)
    with pytest.raises(OSError):
        playback.play_to_port(midi_file(Melody((Note(60, Fraction(1)),) * 2)), port,
                          clock=clock, sleep=clock.sleep)
    assert any(m.type == "control_change" and m.control == playback.CC_ALL_NOTES_OFF
               for _, m in port.sent)


def test_play_without_port_or_sound_device_says_how_to_get_sound(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as if not installed
    melody = Melody((Note(69, Fraction(1)),))
    with pytest.raises(DependencyError, match=r"no sound device.*melodyrnn render FILE -o out.wav"):
        playback.play(melody)


def test_cli_play_without_sound_device(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    song = tmp_path / "song.txt"
    song.write_text("a4\n")
    result = CliRunner().invoke(main, ["play", str(song)])
    assert result.exit_code == 1
    assert "no sound device available" in result.output and "melodyrnn render" in result.output


def test_play_melody_to_port_object() -> None:
    clock = FakeClock()
    port = RecordingPort(clock)
    # Real clock here, so keep it short: two quarter notes at 1000 bpm take 0.12 s.
    result = playback.play(Melody((Note(69, Fraction(1)), Note(71, Fraction(1)))),
                           playback.Target(port), bpm=1000, program=40)
    assert port.sent[0][1].type == "program_change" and port.sent[0][1].program == 40
    assert [m.note for _, m in port.sent if m.type == "note_on"] == [69, 71]
    assert result.seconds == pytest.approx(0.12)
    assert result.target == "recording"


def test_load_text_midi_and_musicxml(tmp_path) -> None:
    melody = Melody((Note(67, Fraction(1, 2)), Note(None, Fraction(1, 2)), Note(64, Fraction(1)),
                     Note(72, Fraction(2))), tempo=96, time_signature=(4, 4))
    for suffix in (".txt", ".mid", ".musicxml"):
        path = write(melody, tmp_path / f"song{suffix}")
        loaded = sound_midi._load_for_playback(path)
        if isinstance(loaded, Melody):
            assert loaded.notes == melody.notes, suffix
            assert loaded.tempo == 96, suffix
        else:
            assert isinstance(loaded, mido.MidiFile)
        loaded_midi = sound_midi.load_midi(path)
        ons = [round(at, 6) for at, m in sound_midi.timeline(loaded_midi) if m.type == "note_on"]
        assert ons == pytest.approx([0.0, 0.625, 1.25]), suffix


def test_load_rejects_unknown_and_broken_files(tmp_path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    with pytest.raises(MelodyError, match=r"cannot play '\.wav' files"):
        sound_midi._load_for_playback(tmp_path / "a.wav")
    (tmp_path / "b.mid").write_bytes(b"not midi")
    with pytest.raises(MelodyError, match="not a readable MIDI file"):
        sound_midi._load_for_playback(tmp_path / "b.mid")
    with pytest.raises(MelodyError, match="no such file"):
        sound_midi._load_for_playback(tmp_path / "missing.txt")


def test_commands_are_plain_click_commands() -> None:
    assert isinstance(ports_command, click.Command)
    assert not isinstance(play_command, click.Group)


def _alsa_available() -> bool:
    try:
        ports.survey("alsa")
    except DependencyError:
        return False
    return True


@pytest.mark.skipif(not _alsa_available(),
                    reason="no ALSA sequencer here: ALSA virtual-port test skipped (JACK: test_jack.py)")
def test_alsa_virtual_port_receives_notes_on_time() -> None:
    """Where ALSA offers virtual ports, play to one for real on the real clock."""
    import time

    import rtmidi

    received: list[tuple[float, list[int]]] = []
    melody = Melody(tuple(Note(60 + i % 5, Fraction(1, 2)) for i in range(8)), tempo=240)
    sink = rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, name="melodyrnn-test")
    sink.open_virtual_port("sink")
    start = time.monotonic()
    playback.play_to_port(midi_file(melody), "melodyrnn-test", api="alsa")
    time.sleep(0.05)
    while (event := sink.get_message()) is not None:
        received.append((time.monotonic(), event[0]))
    sink.delete()
    ons = [m[1] for _, m in received if m[0] & 0xF0 == 0x90 and m[2]]
    assert ons == [p for _, p in score_onsets(melody, 240)]
    assert time.monotonic() - start < 3
