"""Melodies as music21 scores, for MusicXML output and engraved notation.

Measures, ties across bar lines, key and time signatures are music21's work; pitches are
spelled for the melody's key first, so only notes outside the key get accidentals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from melodyrnn.errors import MelodyError
from melodyrnn.music.keys import spell
from melodyrnn.music.melody import Melody

SHOWN_REASON = 120  # characters of music21's reason quoted in the one-line error

DEFAULT_TITLE = "melodyrnn"  # engraved when a melody has no title (music21 would say "Music21 Fragment")


@contextmanager
def _as_melody_error() -> Iterator[None]:
    """music21's refusals (a note value notation cannot show, such as 1/999999 of a quarter)
    as one MelodyError line."""
    from music21.exceptions21 import Music21Exception

    try:
        yield
    except Music21Exception as err:
        reason = " ".join(str(err).split())
        reason = reason if len(reason) <= SHOWN_REASON else reason[:SHOWN_REASON] + "..."
        raise MelodyError(f"notation cannot show this melody (music21: {reason}); write it "
                          "as .txt, .mid or .abc instead") from None


def music21_stream(melody: Melody, tempo_mark: bool = True):
    """A music21 score of the melody with measures, ties across bar lines, key and metre."""
    with _as_melody_error():
        return _music21_stream(melody, tempo_mark)


def _music21_stream(melody: Melody, tempo_mark: bool):
    from music21 import instrument, key, meter, note, stream, tempo

    part = stream.Part()
    voice = instrument.Instrument()
    voice.partId = "P1"  # music21 would draw a random id, and files would differ run to run
    part.insert(0, voice)
    if tempo_mark:
        part.append(tempo.MetronomeMark(number=melody.tempo))
    part.append(meter.TimeSignature(f"{melody.time_signature[0]}/{melody.time_signature[1]}"))
    if melody.key:
        tonic, mode = melody.key.split()
        part.append(key.Key(tonic.replace("b", "-") if len(tonic) > 1 else tonic, mode))
    lead = (melody.bar_length - melody.pickup) % melody.bar_length
    if lead:  # a pickup: fill the first bar for makeMeasures, then cut the filler out again
        filler = note.Rest()
        filler.quarterLength = lead
        part.append(filler)
    for item in melody.notes:
        if item.pitch is None:
            element = note.Rest()
        else:  # spell by name, so only notes outside the key get accidentals
            letter, alteration, octave = spell(item.pitch, melody.key)
            accidental = "#" * alteration if alteration > 0 else "-" * -alteration
            element = note.Note(f"{letter.upper()}{accidental}{octave}")
        element.quarterLength = item.duration
        part.append(element)
    from music21 import metadata

    score = stream.Score()
    score.metadata = metadata.Metadata(title=melody.title or DEFAULT_TITLE)
    measures = part.makeMeasures()
    if lead:
        _as_pickup_bar(measures.getElementsByClass(stream.Measure), lead)
    score.insert(0, measures)
    score.makeNotation(inPlace=True)
    return score


def _as_pickup_bar(measures, lead) -> None:
    """Turn the first bar, which starts with a filler rest ``lead`` long, into a pickup bar
    (numbered 0, as engravers do) and number the full bars from 1."""
    first = measures[0]
    filler = first.notesAndRests.first()
    first.remove(filler)
    for element in list(first.notesAndRests):
        element.offset -= lead
    first.paddingLeft = lead
    for number, measure in enumerate(measures):
        measure.number = number


def musicxml_bytes(score) -> bytes:
    """A music21 score as MusicXML, the same bytes for the same score on any day."""
    import re

    from music21.musicxml.m21ToXml import GeneralObjectExporter

    with _as_melody_error():
        xml = GeneralObjectExporter(score).parse()
    return re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", xml, count=1)


