"""Moving melodies between keys: one transposition, all twelve keys, or to C major / A minor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from melodyrnn.music.keys import analyse_key, key_fifths, transpose_key
from melodyrnn.music.melody import MIDI_RANGE, Melody

KEY_SHIFTS = range(-5, 7)  # one transposition into each of the twelve keys


def pitch_span(melody: Melody) -> tuple[int, int] | None:
    """Lowest and highest pitch of a melody, None if it holds only rests."""
    pitches = [n.pitch for n in melody.notes if n.pitch is not None]
    return (min(pitches), max(pitches)) if pitches else None


def fits(melody: Melody, semitones: int) -> bool:
    """True if the melody moved by the given semitones stays inside the MIDI range."""
    span = pitch_span(melody)
    return span is None or (span[0] + semitones in MIDI_RANGE and span[1] + semitones in MIDI_RANGE)


def transposed(melody: Melody, semitones: int) -> Melody:
    """The melody and its key moved by a number of semitones."""
    moved = melody.transposed(semitones)
    return replace(moved, key=transpose_key(melody.key, semitones))


def transpositions(melody: Melody, shifts: Iterable[int] = KEY_SHIFTS) -> list[Melody]:
    """The melody in every key (shift 0 first) that keeps all notes in the MIDI range."""
    ordered = sorted(shifts, key=lambda s: (s != 0, abs(s), s))
    return [transposed(melody, s) for s in ordered if fits(melody, s)]


def normalise_key(melody: Melody) -> Melody:
    """The melody moved to a signature without accidentals: C major, A minor (D dorian stays)."""
    key = melody.key or analyse_key(melody.notes)
    if key is None:
        return melody
    melody = replace(melody, key=key)
    shift = (-7 * key_fifths(key)) % 12
    for candidate in sorted((shift, shift - 12), key=abs):
        if fits(melody, candidate):
            return transposed(melody, candidate)
    return melody


