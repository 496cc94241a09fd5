"""MIDI systems and ports: --midi-api, listing, choosing, virtual ports, connections, messages."""

from __future__ import annotations

import os
from fractions import Fraction

import mido
import pytest
from click.testing import CliRunner
from fakertmidi import ALSA, COREMIDI, JACK, WINDOWS, jack_not_running, no_sequencer

from melodyrnn.cli import main
from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.sound import connections, jack, ports, priority, systems
from melodyrnn.sound.playback import Target, play


def melodyrnn(*args: object):
    """``melodyrnn ARGS`` in-process, with stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args])


# --- listing -------------------------------------------------------------------------------

def test_ports_lists_each_working_system_numbered_and_named(fake_midi) -> None:
    fake_midi({ALSA: ["Midi Through:Midi Through Port-0 14:0", "FLUID Synth (123):Synth input 128:0"],
               JACK: ["fsynth:midi_00"]})
    result = melodyrnn("ports")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("ALSA (--midi-api alsa):\n0: Midi Through:Midi Through Port-0 14:0\n"
                             "1: FLUID Synth (123):Synth input 128:0\n"
                             "JACK (--midi-api jack):\n0: fsynth:midi_00\n")


def test_ports_notes_a_jack_that_is_not_running_and_how_to_start_it(fake_midi) -> None:
    fake_midi({ALSA: ["Midi Through"], JACK: jack_not_running()})
    result = melodyrnn("ports")
    assert result.exit_code == 0
    assert result.stdout == "ALSA (--midi-api alsa):\n0: Midi Through\n"
    assert "JACK is not running: start it with `jackd -d alsa`" in result.stderr
    assert "`jackd -d dummy`" in result.stderr


def test_no_midi_system_at_all_is_one_clear_line(fake_midi, capfd) -> None:
    fake_midi({ALSA: no_sequencer(), JACK: jack_not_running()})
    result = melodyrnn("ports")
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: no MIDI system available; use `melodyrnn render FILE -o out.wav`")
    assert "ALSA has no sequencer" in line and "JACK is not running" in line
    assert "snd_seq_hw_open" not in capfd.readouterr().err  # the C library's noise is hidden


def test_midi_api_picks_one_system(fake_midi) -> None:
    fake_midi({ALSA: ["Midi Through"], JACK: ["fsynth:midi_00"]})
    assert melodyrnn("ports", "--midi-api", "jack").stdout == "JACK (--midi-api jack):\n0: fsynth:midi_00\n"


def test_midi_api_from_the_environment(fake_midi, monkeypatch) -> None:
    fake_midi({ALSA: ["Midi Through"], JACK: ["fsynth:midi_00"]})
    monkeypatch.setenv(systems.API_ENV, "jack")
    assert "fsynth:midi_00" in melodyrnn("ports").stdout
    assert "Midi Through" not in melodyrnn("ports").stdout


def test_a_named_system_that_fails_says_why(fake_midi) -> None:
    fake_midi({ALSA: ["Midi Through"], JACK: jack_not_running()})
    result = melodyrnn("ports", "--midi-api", "jack")
    assert result.exit_code == 1
    assert result.output.startswith("Error: JACK is not running: start it with")


def test_a_system_rtmidi_was_built_without(fake_midi) -> None:
    fake_midi({ALSA: ["Midi Through"]})
    with pytest.raises(DependencyError, match=r"no CoreMIDI support \(it has: ALSA, JACK\)"):
        ports.survey("coremidi")


def test_ports_lists_inputs_for_jam(fake_midi) -> None:
    fake_midi({JACK: ["fsynth:midi_00"]}, compiled=(JACK,), inputs={JACK: ["keyboard:out"]})
    assert melodyrnn("ports", "--input").stdout == "JACK (--midi-api jack):\n0: keyboard:out\n"


# --- choosing and opening ------------------------------------------------------------------

def test_resolve_port_by_number_name_and_part() -> None:
    names = ["Midi Through:Midi Through Port-0 14:0", "FLUID Synth (123):Synth input 128:0"]
    assert ports.resolve_port_name("1", names) == names[1]
    assert ports.resolve_port_name(0, names) == names[0]
    assert ports.resolve_port_name(names[0], names) == names[0]
    assert ports.resolve_port_name("fluid synth", names) == names[1]
    with pytest.raises(MelodyError, match=r"no MIDI port named 'Yamaha'.*0: Midi Through.*1: FLUID"):
        ports.resolve_port_name("Yamaha", names)
    with pytest.raises(MelodyError, match=r"no MIDI port number 5.*available ports"):
        ports.resolve_port_name("5", names)
    with pytest.raises(MelodyError, match="ambiguous"):
        ports.resolve_port_name(":", names)
    with pytest.raises(MelodyError, match="offers no MIDI output ports"):
        ports.resolve_port_name("x", [])


def test_auto_finds_a_named_port_on_whichever_system_has_it(fake_midi) -> None:
    fake = fake_midi({ALSA: ["Midi Through"], JACK: ["fsynth:midi_00"]})
    with ports.open_port("fsynth") as port:
        assert (port.name, port.system.key) == ("fsynth:midi_00", "jack")
    (opened,) = [c for c in fake.clients if c.opened]
    assert opened.api == JACK and opened.closed and opened.deleted
    assert all(c.deleted for c in fake.clients)  # the clients that only looked are gone too


def test_auto_numbers_count_the_first_working_system(fake_midi) -> None:
    fake_midi({ALSA: no_sequencer(), JACK: ["a:in", "b:in"]})
    with ports.open_port("1") as port:
        assert port.name == "b:in"


def test_unknown_port_lists_the_ports(fake_midi, tmp_path) -> None:
    fake_midi({ALSA: ["Midi Through", "FLUID Synth"]}, compiled=(ALSA,))
    song = tmp_path / "song.txt"
    song.write_text("g8 e8\n")
    result = melodyrnn("play", song, "--port", "Yamaha")
    assert result.exit_code == 1
    assert "no MIDI port named 'Yamaha'; available ports: 0: Midi Through, 1: FLUID Synth" \
        in result.output


def test_play_without_midi_system(fake_midi, tmp_path) -> None:
    fake_midi({ALSA: no_sequencer()}, compiled=(ALSA,))
    song = tmp_path / "song.txt"
    song.write_text("g8 e8 e4 f8\n")
    result = melodyrnn("play", song, "--port", "0")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: no MIDI system available; use `melodyrnn render" in result.output


def test_play_sends_every_message_and_closes_the_port(fake_midi, tmp_path) -> None:
    fake = fake_midi({JACK: ["fsynth:midi_00"]}, compiled=(JACK,))
    song = tmp_path / "song.txt"
    song.write_text("c4 e4\n")
    result = melodyrnn("play", song, "--midi-api", "jack", "--port", "fsynth", "--bpm", "1000")
    assert result.exit_code == 0, result.output
    assert "on fsynth:midi_00" in result.stderr
    (client,) = [c for c in fake.clients if c.opened]
    ons = [m[1] for m in client.sent if m[0] & 0xF0 == 0x90 and m[2]]
    assert ons == [60, 64] and client.closed


def test_input_port_returns_what_arrived(fake_midi) -> None:
    fake = fake_midi({JACK: []}, compiled=(JACK,), inputs={JACK: ["keyboard:out"]})
    with ports.open_input("keyboard") as port:
        (client,) = [c for c in fake.clients if c.opened]
        client.incoming += [[0x90, 60, 100], [0xF0, 1], [0x80, 60, 0]]  # a broken sysex between
        received = port.receive()
        assert [m.type for m in received] == ["note_on", "note_off"]
        assert port.receive() == []


# --- virtual ports -------------------------------------------------------------------------

def test_virtual_port_is_named_and_waits_for_the_time_given(fake_midi) -> None:
    fake = fake_midi({COREMIDI: []}, compiled=(COREMIDI,))
    said: list[str] = []
    melody = Melody((Note(60, Fraction(1, 4)),), tempo=240)
    result = play(melody, Target(virtual="feed", wait=0.05), say=said.append)
    (client,) = [c for c in fake.clients if c.opened]
    assert client.opened == "virtual:feed" and client.name == "melodyrnn"
    assert result.target == "melodyrnn:feed"
    assert said[0].startswith("waiting up to 0.05 s for a connection to melodyrnn:feed on CoreMIDI")
    assert said[1] == "CoreMIDI cannot say what is connected here; waited 0.05 s"
    assert [m[1] for m in client.sent if m[0] == 0x90 and m[2]] == [60]


def test_windows_has_no_virtual_ports(fake_midi) -> None:
    fake_midi({WINDOWS: []}, compiled=(WINDOWS,))
    with pytest.raises(DependencyError, match=r"Windows MIDI has no virtual ports.*loopMIDI"):
        ports.open_virtual_output("feed")


def test_virtual_and_port_together_are_refused(tmp_path) -> None:
    song = tmp_path / "song.txt"
    song.write_text("c4\n")
    result = melodyrnn("play", song, "--port", "0", "--virtual", "feed")
    assert result.exit_code == 2 and "give --port or --virtual, not both" in result.output


def test_virtual_port_name_must_not_contain_a_colon() -> None:
    with pytest.raises(MelodyError, match="without ':'"):
        ports.open_virtual_output("a:b")


JACK_LISTING = """system:playback_1
   fsynth:left
melodyrnn-01:feed
   fsynth:midi_00
   rec:in
fsynth:midi_00
   melodyrnn-01:feed
rec:in
   melodyrnn-01:feed
melodyrnn:other
"""

ALSA_CLIENTS = '''Client info
  cur  clients : 4

Client   0 : "System" [Kernel]
  Port   0 : "Timer" (Rwe-)
    Connecting To: 15:0
Client 128 : "melodyrnn" [User Legacy]
  Port   0 : "feed" (R-e-) [Output]
    Connecting To: 129:0, 130:0[real:0]
Client 129 : "FLUID Synth (4242)" [User Legacy]
  Port   0 : "Synth input port (4242:0)" (-We-) [Input]
    Connected From: 128:0
'''


def test_jack_connections_read_from_jack_lsp() -> None:
    port = f"{jack.client_pattern('melodyrnn')}:feed"
    assert jack.peers(JACK_LISTING, port) == ["fsynth:midi_00", "rec:in"]
    assert jack.peers(JACK_LISTING, "melodyrnn:other") == []
    assert jack.peers(JACK_LISTING, "rec:in") == ["melodyrnn-01:feed"]


def test_jack_link_is_awaited_until_listed() -> None:
    listings = iter(["rec:in\n", "rec:in\n   melodyrnn:out\n"])
    naps: list[float] = []
    assert jack.await_link("rec:in", "melodyrnn", look=lambda: next(listings), sleep=naps.append)
    assert naps == [jack.POLL_SECONDS]
    assert jack.await_link("rec:in", "melodyrnn", look=lambda: None, sleep=naps.append) is None


def test_alsa_connections_read_from_the_kernel_list() -> None:
    assert connections.alsa_peers(ALSA_CLIENTS, "melodyrnn:feed") == ["129:0", "130:0[real:0]"]
    assert connections.alsa_peers(ALSA_CLIENTS, "melodyrnn:other") == []


class Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waiting_ends_at_the_first_connection() -> None:
    clock = Clock()
    answers = iter([[], [], ["fsynth:midi_00"]])
    peers = connections.wait_for_connection(lambda: next(answers), 10, clock, clock.sleep)
    assert peers == ["fsynth:midi_00"] and clock.now == pytest.approx(2 * connections.POLL_SECONDS)


def test_waiting_gives_up_after_the_time_given() -> None:
    clock = Clock()
    assert connections.wait_for_connection(lambda: [], 1, clock, clock.sleep) == []
    assert clock.now == pytest.approx(1)


def test_waiting_where_nobody_can_tell_takes_the_whole_time() -> None:
    clock = Clock()
    assert connections.wait_for_connection(lambda: None, 3, clock, clock.sleep) is None
    assert clock.now == 3


# --- real-time scheduling ------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="no POSIX scheduling here")
def test_realtime_scheduling_is_given_back_after_the_block() -> None:
    before = os.sched_getscheduler(0)
    with priority.realtime() as raised:
        if raised:
            assert os.sched_getscheduler(0) == os.SCHED_RR
    assert os.sched_getscheduler(0) == before


def test_message_bytes_reach_rtmidi(fake_midi) -> None:
    fake = fake_midi({JACK: ["x:in"]}, compiled=(JACK,))
    with ports.open_port("x") as port:
        port.send(mido.Message("control_change", channel=3, control=123, value=0))
    (client,) = [c for c in fake.clients if c.opened]
    assert client.sent == [[0xB3, 123, 0]]
