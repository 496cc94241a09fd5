"""Keys as text ("G major", "F# minor", "D dorian"): their scales, signatures and spellings,
and the key of a melody analysed from its notes (Krumhansl-Kessler profiles).

Pure Python, no music21.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from melodyrnn.errors import MelodyError
from melodyrnn.music.melody import Note

FINAL_NOTE_MARGIN = 0.1  # correlation a key ending on its tonic may give up to the best fit
SCALE_SLACK = 0.02  # share of a melody outside a signature's scale still counted as fitting
# Krumhansl-Kessler key profiles, index 0 = tonic.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
LETTER_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
LETTER_FIFTHS = {"f": -1, "c": 0, "g": 1, "d": 2, "a": 3, "e": 4, "b": 5}
MODE_FIFTHS = {"lydian": 1, "major": 0, "ionian": 0, "mixolydian": -1, "dorian": -2,
               "minor": -3, "aeolian": -3, "phrygian": -4, "locrian": -5}
MODE_STEPS = {"ionian": (0, 2, 4, 5, 7, 9, 11), "dorian": (0, 2, 3, 5, 7, 9, 10),
              "phrygian": (0, 1, 3, 5, 7, 8, 10), "lydian": (0, 2, 4, 6, 7, 9, 11),
              "mixolydian": (0, 2, 4, 5, 7, 9, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
              "locrian": (0, 1, 3, 5, 6, 8, 10)}
MODE_STEPS["major"], MODE_STEPS["minor"] = MODE_STEPS["ionian"], MODE_STEPS["aeolian"]


def split_key(key: str) -> tuple[str, int, str]:
    """Split "F# minor" into (letter, alteration in semitones, mode); raise MelodyError if malformed."""
    parts = key.split()
    if len(parts) == 1:
        parts.append("major")
    if len(parts) != 2 or not parts[0] or parts[0][0].lower() not in LETTER_PITCH_CLASS:
        raise MelodyError(f"'{key}' is not a key: expected a tonic and a mode, e.g. 'G major'")
    tonic, mode = parts[0], parts[1].lower()
    if mode not in MODE_FIFTHS:
        raise MelodyError(f"'{mode}' is not a mode: expected one of {', '.join(MODE_FIFTHS)}")
    accidentals = tonic[1:]
    if accidentals and set(accidentals) - {"#"} and set(accidentals) - {"b", "-"}:
        raise MelodyError(f"'{tonic}' is not a tonic: expected a letter with # or b")
    alteration = accidentals.count("#") - accidentals.count("b") - accidentals.count("-")
    return tonic[0].lower(), alteration, mode


def key_fifths(key: str) -> int:
    """Sharps (positive) or flats (negative) in the key signature of a key such as "D minor"."""
    letter, alteration, mode = split_key(key)
    return LETTER_FIFTHS[letter] + 7 * alteration + MODE_FIFTHS[mode]


def key_pitch_classes(key: str) -> frozenset[int]:
    """Pitch classes (0 = C) of the scale of a key such as "G dorian"."""
    letter, alteration, mode = split_key(key)
    tonic = (LETTER_PITCH_CLASS[letter] + alteration) % 12
    return frozenset((tonic + step) % 12 for step in MODE_STEPS[mode])


def spell(pitch: int, key: str | None = None) -> tuple[str, int, int]:
    """Letter, alteration and octave for a MIDI pitch, spelled to suit a key.

    Of the spellings of a pitch class, the one nearest the key's centre on the line of
    fifths wins, so D minor gets C# (its leading note) and F major gets Bb.
    """
    centre = 2
    if key:
        centre = key_fifths(key) + 2 + (1 if MODE_FIFTHS[split_key(key)[2]] <= -2 else 0)
    candidates = []
    for letter, letter_pc in LETTER_PITCH_CLASS.items():
        alteration = (pitch % 12 - letter_pc + 6) % 12 - 6
        if abs(alteration) <= 2:
            position = LETTER_FIFTHS[letter] + 7 * alteration
            candidates.append((abs(position - centre), abs(alteration), -alteration, letter))
    _, _, negative_alteration, letter = min(candidates)
    alteration = -negative_alteration
    return letter, alteration, (pitch - alteration) // 12 - 1


def _key_name(tonic_pc: int, mode: str) -> str:
    """The spelling of a key with the fewest accidentals, e.g. (10, 'major') -> 'Bb major'."""
    best: tuple[tuple[int, int], str] | None = None
    for letter, pc in LETTER_PITCH_CLASS.items():
        for alteration in (0, -1, 1):
            if (pc + alteration) % 12 != tonic_pc:
                continue
            fifths = LETTER_FIFTHS[letter] + 7 * alteration + MODE_FIFTHS[mode]
            rank = (abs(fifths), alteration != 0)
            name = letter.upper() + {0: "", -1: "b", 1: "#"}[alteration]
            if best is None or rank < best[0]:
                best = (rank, f"{name} {mode}")
    assert best is not None
    return best[1]


def tonic_pitch_class(key: str) -> int:
    """Pitch class (0 = C) of the tonic of a key such as "F# minor"."""
    letter, alteration, _ = split_key(key)
    return (LETTER_PITCH_CLASS[letter] + alteration) % 12


def analyse_key(notes: Iterable[Note]) -> str | None:
    """The key of a melody from its notes (None if there are none).

    First the key signature whose scale holds the most of the melody (by duration: folk
    melodies are diatonic), then, of the major and minor keys of the signatures that fit
    about as well, the best Krumhansl-Kessler profile match; a key whose tonic is the last
    note wins when it matches almost as well (melodies end on their tonic).
    """
    weights = [0.0] * 12
    last = None
    for note in notes:
        if note.pitch is not None:
            weights[note.pitch % 12] += float(note.duration)
            last = note.pitch % 12
    total = sum(weights)
    if not total:
        return None
    outside = {fifths: sum(w for pc, w in enumerate(weights)
                           if pc not in _signature_scale(fifths)) / total
               for fifths in range(-6, 6)}
    fitting = [f for f, share in outside.items() if share <= min(outside.values()) + SCALE_SLACK]
    scores = []
    for fifths in fitting:
        major = (7 * fifths) % 12
        for tonic, mode, profile in ((major, "major", _MAJOR_PROFILE),
                                     ((major + 9) % 12, "minor", _MINOR_PROFILE)):
            rotated = weights[tonic:] + weights[:tonic]
            scores.append((_correlation(rotated, profile), tonic, mode))
    best = max(scores)
    ending = [s for s in scores if s[1] == last and s[0] >= best[0] - FINAL_NOTE_MARGIN]
    _, tonic, mode = max(ending) if ending else best
    return _key_name(tonic, mode)


def _signature_scale(fifths: int) -> frozenset[int]:
    major = (7 * fifths) % 12
    return frozenset((major + step) % 12 for step in MODE_STEPS["major"])


def _correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = (sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)) ** 0.5
    return num / den if den else 0.0


def key_from_signature(fifths: int, notes: Sequence[Note]) -> str:
    """Major or relative minor for a key signature, chosen by the last note (the usual tonic)."""
    major = (7 * fifths) % 12
    minor = (major + 9) % 12
    pitched = [n.pitch for n in notes if n.pitch is not None]
    if pitched and pitched[-1] % 12 == minor:
        return _key_name(minor, "minor")
    return _key_name(major, "major")


def transpose_key(key: str | None, semitones: int) -> str | None:
    """A key moved by a number of semitones, spelled with the fewest accidentals."""
    if key is None:
        return None
    mode = split_key(key)[2]
    return _key_name((tonic_pitch_class(key) + semitones) % 12, mode)


