"""Small music files written by the tests themselves: a tricky MIDI file and an ABC book."""

from __future__ import annotations

from fractions import Fraction as Fr

import mido

from melodyrnn.music.melody import Note

TPB = 480


def midi_track(name: str, events: list[tuple[int, str, int, int, int]]) -> mido.MidiTrack:
    """A track from (tick, kind, channel, pitch, velocity) events in absolute ticks."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, kind, channel, pitch, velocity in sorted(events, key=lambda e: e[0]):
        track.append(mido.Message(kind, channel=channel, note=pitch, velocity=velocity,
                                  time=tick - now))
        now = tick
    return track


def _on(tick: int, pitch: int, channel: int = 0) -> tuple[int, str, int, int, int]:
    return (tick, "note_on", channel, pitch, 90)


def _off(tick: int, pitch: int, channel: int = 0, zero_velocity: bool = True):
    return (tick, "note_on", channel, pitch, 0) if zero_velocity else \
        (tick, "note_off", channel, pitch, 64)


def tricky_midi() -> mido.MidiFile:
    """Tempo changes, overlapping notes, a re-struck note, a bass part and a drum track."""
    meta = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
        mido.MetaMessage("key_signature", key="G", time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=960),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=960),
    ])
    melody = midi_track("Melody", [
        _on(0, 72), _on(480, 71), _off(500, 72),          # legato overlap, lower note follows
        _off(960, 71),                                     # then a beat of silence
        _on(1440, 76), _off(2400, 76, zero_velocity=False),  # spans a tempo change
        _on(2400, 79), _on(2640, 79), _off(2880, 79), _off(2880, 79),  # re-struck, extra off
        _on(2880, 74), _off(3040, 74), _on(3040, 76), _off(3200, 76),  # eighth-note triplet
        _on(3200, 77), _off(3360, 77),
    ])
    bass = midi_track("Bass", [(t, k, 1, p, v) for t, k, _, p, v in [
        _on(0, 48), _off(960, 48), _on(1440, 43), _off(3360, 43)]])
    drums = midi_track("Drums", [(t, k, 9, p, v) for t, k, _, p, v in [
        _on(0, 81), _off(120, 81), _on(1000, 81), _off(1200, 81), _on(2400, 82),
        _off(2500, 82)]])
    midi = mido.MidiFile(ticks_per_beat=TPB)
    midi.tracks += [meta, melody, bass, drums]
    return midi


EXPECTED = (Note(72, Fr(1)), Note(71, Fr(1)), Note(None, Fr(1)), Note(76, Fr(2)),
            Note(79, Fr(1, 2)), Note(79, Fr(1, 2)), Note(74, Fr(1, 3)), Note(76, Fr(1, 3)),
            Note(77, Fr(1, 3)))


ABC_BOOK = """\
% a tiny book
L:1/8

X:1
T:Up And Down
M:3/4
K:G
GAB c2 d | (3efg d4 |]

X:2
T:Nothing Here
M:4/4
K:C

X:3
T:Minor Tune
M:6/8
K:Am
A2B c2e | a3- a2 z |]
"""
