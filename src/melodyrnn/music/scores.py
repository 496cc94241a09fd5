"""Melodies as music21 scores, for MusicXML output and engraved notation.

Measures, ties across bar lines, key and time signatures are music21's work; pitches are
spelled for the melody's key first, so only notes outside the key get accidentals.
"""

from __future__ import annotations

from melodyrnn.music.keys import spell
from melodyrnn.music.melody import Melody

DEFAULT_TITLE = "melodyrnn"  # engraved when a melody has no title (music21 would say "Music21 Fragment")


def music21_stream(melody: Melody, tempo_mark: bool = True):
    """A music21 score of the melody with measures, ties across bar lines, key and metre."""
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

    xml = GeneralObjectExporter(score).parse()
    return re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", xml, count=1)


