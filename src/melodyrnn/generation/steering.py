"""Musical constraints on generation, turned into token masks and costs for ``generate``.

Keys and ranges mask notes out by pitch (rests and the end token stay allowed); ``bars``
gives every token its duration as a cost, so a melody stops exactly at a bar line, and
shapes the last bar into a cadence (a stable degree of the key on a strong beat, at most a
fifth from the note before it, held to the end); a repetition guard stops one pitch from
sounding more than ``max_repeats`` times in a row. Masks are over the model's tokens as
they sound in the primer's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.generation.constraints import Cadence, Constraints
from melodyrnn.music.keys import (
    LETTER_PITCH_CLASS,
    MODE_FIFTHS,
    MODE_STEPS,
    key_pitch_classes,
    split_key,
)
from melodyrnn.music.melody import Melody

MAX_REPEATS = 8  # one pitch at most this many times in a row (99% of Essen tunes stay below)
_PITCH_NAME = re.compile(r"([A-Ga-g])([#b]{0,2})(-?\d+)")


def parse_pitch_name(text: str, option: str = "--range") -> int:
    """MIDI pitch of a scientific pitch name such as 'C4' (60), 'F#5', 'Bb3'."""
    match = _PITCH_NAME.fullmatch(text.strip())
    if not match:
        raise MelodyError(f"{option}: '{text}' is not a pitch: expected a name like C4, F#5, Bb3")
    letter, accidentals, octave = match.groups()
    pitch = 12 * (int(octave) + 1) + LETTER_PITCH_CLASS[letter.lower()]
    pitch += accidentals.count("#") - accidentals.count("b")
    if not 0 <= pitch <= 127:
        raise MelodyError(f"{option}: '{text}' is MIDI {pitch}, outside 0-127")
    return pitch


_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """Scientific name of a MIDI pitch, as --range takes it: 60 -> 'C4', 61 -> 'C#4'."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_range(text: str) -> tuple[int, int]:
    """Lowest and highest MIDI pitch of a range such as 'C4:C6'."""
    low, sep, high = text.partition(":")
    if not sep:
        raise MelodyError(f"--range: '{text}' is not a range: expected LOW:HIGH, e.g. C4:C6")
    bounds = parse_pitch_name(low), parse_pitch_name(high)
    if bounds[0] > bounds[1]:
        raise MelodyError(f"--range: '{text}' goes downwards: expected LOW:HIGH")
    return bounds


@dataclass(frozen=True)
class Steering:
    """What a musician asked for: key and mode, register, length in bars, end token use."""

    key: str | None = None
    mode: str = "major"
    pitch_range: tuple[int, int] | None = None
    bars: int | None = None
    stop_at_end: bool = True
    max_repeats: int = MAX_REPEATS

    def __post_init__(self) -> None:
        if self.mode not in MODE_FIFTHS:
            raise MelodyError(f"--mode: '{self.mode}' is not a mode: expected one of "
                              f"{', '.join(MODE_FIFTHS)}")
        if self.bars is not None and self.bars < 1:
            raise MelodyError(f"--bars {self.bars}: expected 1 or more")

    def constraints(self, codec: NoteCodec, primer: Melody) -> Constraints:
        """Masks and costs over the codec's tokens for continuing ``primer``."""
        notes = codec.notes_for(primer)
        allowed = torch.ones(len(notes), dtype=torch.bool)
        if self.key is not None:
            scale = key_pitch_classes(f"{self.key} {self.mode}")
            allowed &= torch.tensor([n is None or n.pitch is None or n.pitch % 12 in scale
                                     for n in notes])
        if self.pitch_range is not None:
            low, high = self.pitch_range
            allowed &= torch.tensor([n is None or n.pitch is None or low <= n.pitch <= high
                                     for n in notes])
        pitched = torch.tensor([n is not None and n.pitch is not None for n in notes])
        if (self.key is not None or self.pitch_range is not None) and not bool(
                (allowed & pitched).any()):  # only rests would be left: say so, not a silent song
            known = sorted({n.pitch for n in notes if n is not None and n.pitch is not None})
            where = f"; its notes span {pitch_name(known[0])}-{pitch_name(known[-1])}" if known else ""
            raise MelodyError(f"--key/--range leave none of the model's notes{where}")
        costs, budget, cadence = None, None, None
        stop_at_end = self.stop_at_end
        if self.bars is not None:  # the bar count ends the melody, with a cadence
            costs = torch.tensor([0.0 if n is None else float(n.duration) for n in notes])
            budget = float(bars_budget(primer, self.bars))
            cadence = _cadence(notes, primer)
            stop_at_end = False
        stop_id = codec.end_id if stop_at_end else None
        if not stop_at_end and codec.end_id is not None:
            allowed[codec.end_id] = False
        pitch_of = torch.tensor([-1 if n is None or n.pitch is None else n.pitch for n in notes])
        return Constraints(allowed, costs, budget, stop_id, cadence, pitch_of, self.max_repeats)


def bars_budget(primer: Melody, bars: int) -> Fraction:
    """Quarter notes to add after ``primer`` so the melody ends ``bars`` bar lines later
    (counting from the end of the bar the primer ends in; its pickup taken into account)."""
    bar = primer.bar_length
    to_bar_line = (bar - primer.position_in_bar(primer.total_duration)) % bar
    return to_bar_line + bars * bar


def strong_beats(time_signature: tuple[int, int]) -> tuple[float, ...]:
    """Offsets (quarter notes) in a bar where a final note may start: the downbeat, and the
    middle of bars of four (or, compound, two or four) beats."""
    beats, unit = time_signature
    bar = 4 * beats / unit
    compound = unit >= 8 and beats % 3 == 0 and beats > 3
    counted = beats // 3 if compound else beats
    return (0.0, bar / 2) if counted % 2 == 0 and counted >= (2 if compound else 4) else (0.0,)


def stable_pitch_classes(key: str) -> frozenset[int]:
    """The tonic, third and fifth of a key: the degrees a melody can end on."""
    letter, alteration, mode = split_key(key)
    tonic = (LETTER_PITCH_CLASS[letter] + alteration) % 12
    steps = MODE_STEPS[mode]
    return frozenset((tonic + steps[degree]) % 12 for degree in (0, 2, 4))


def _cadence(notes: list, primer: Melody) -> Cadence:
    stable = stable_pitch_classes(primer.key) if primer.key else frozenset(range(12))
    final = torch.tensor([n is not None and n.pitch is not None and n.pitch % 12 in stable
                          for n in notes])
    rest = torch.tensor([n is not None and n.pitch is None for n in notes])
    return Cadence(float(primer.bar_length), strong_beats(primer.time_signature), final, rest)
