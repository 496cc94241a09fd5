"""Readers for real music files: MIDI (mido), MusicXML, ABC and kern (music21), song text.

Suffix picks the reader: ``.mid``/``.midi`` through mido; ``.musicxml``/``.mxl``/``.xml``,
``.abc`` (one melody per tune of a book) and ``.krn`` through music21; ``.txt`` through the
song text format. Polyphony becomes one line by the skyline rule (highest sounding note at
each moment) unless a part is picked by name or index. music21 is imported only when a
score has to be parsed, since the import alone takes most of a second.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.files import max_file_bytes, read_bytes, too_big
from melodyrnn.music.deadline import ParseTimeout, time_limit
from melodyrnn.music.keys import analyse_key, key_from_signature, split_key
from melodyrnn.music.melody import (
    DEFAULT_TEMPO,
    DEFAULT_TIME_SIGNATURE,
    MAX_TEMPO,
    MIN_TEMPO,
    Melody,
    length_problem,
    metre_problem,
)
from melodyrnn.music.notation import DURATION_VALUES, parse_file, shown
from melodyrnn.music.quantize import DEFAULT_QUANTIZE, Event, events_to_line, parse_quantize

READER_VERSION = 10  # bump when extraction changes, so cached melodies are parsed again
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
SCORE_FORMATS = {".xml": "musicxml", ".musicxml": "musicxml", ".mxl": "musicxml",
                 ".krn": "humdrum", ".abc": "abc"}

_ABC_TUNE_START = re.compile(r"(?m)^X:")
MAX_TUNES_PER_FILE = 5_000  # the largest book music21 ships has 720
_ABC_FIELD = re.compile(r"^[A-Za-z]:")
_ABC_METRE = re.compile(r"(?m)^M:[ \t]*(?P<text>(?P<num>\d+)/(?P<den>\d+)|C\|?)")
_ABC_COMMON_TIME = {"C": (4, 4), "C|": (2, 2)}
# Every metre a file declares, found before music21 reads it: a bar of 99,999,999 beats
# made music21 allocate gigabytes within the time limit.
_ABC_ANY_METRE = re.compile(r"(?:^|\[)M:[ \t]*(\d+)[ \t]*/[ \t]*(\d+)", re.MULTILINE)
_XML_METRE = re.compile(r"<beats>([^<]{0,40})</beats>\s*<beat-type>([^<]{0,40})</beat-type>")
_GUESSED_PITCH = re.compile(r"Could not get pitch information from note:\s*(?P<note>.*?), assuming C")
_WARNING_HEADER = re.compile(r"^\w+: WARNING:\s*")  # how music21's environment prefixes them
_ABC_KEY = re.compile(r"(?m)^K:[ \t]*(?:[A-Ga-g][#b]?)?[ \t]*(?P<mode>[A-Za-z]+)?")


@dataclass(frozen=True)
class Rejection:
    """A file or tune that yielded no melody, and why."""

    source: str
    reason: str


Piece = Melody | Rejection


# --- building melodies --------------------------------------------------------------------

def _build(events: list[Event], *, source: str, grid: Sequence[int], keep_rests: bool,
           tempo: float | None, time_signature: tuple[int, int] | None,
           fifths: int | None = None, key: str | None = None,
           title: str | None = None, bar_start: Fraction = Fraction(0)) -> Piece:
    """A Melody from events and file settings, or a Rejection saying why there is none.

    ``bar_start`` is where the file's first bar line lies on the events' time axis (negative
    when the first bar is an incomplete pickup bar); the pickup follows from it and the
    first note's onset.
    """
    if not events:
        return Rejection(source, "no notes")
    metre = time_signature or DEFAULT_TIME_SIGNATURE
    wrong = metre_problem(metre)
    if wrong:
        return Rejection(source, wrong)
    first, notes = events_to_line(events, grid, keep_rests)
    if not any(n.pitch is not None for n in notes):
        return Rejection(source, "no notes left after quantizing")
    wrong = length_problem(len(notes), sum((n.duration for n in notes), Fraction(0)))
    if wrong:
        return Rejection(source, wrong)
    if key is not None:
        try:
            split_key(key)
        except MelodyError:
            key = None
    if key is None and fifths is not None and -7 <= fifths <= 7:
        key = key_from_signature(fifths, notes)
    analysed = key is None
    if analysed:
        key = analyse_key(notes)
    bpm = round(tempo) if tempo and math.isfinite(tempo) and tempo > 0 else DEFAULT_TEMPO
    bar = Fraction(4 * metre[0], metre[1])
    pickup = (bar_start - first) % bar  # the first bar line after the first note
    return Melody(notes, max(MIN_TEMPO, min(MAX_TEMPO, bpm)), metre, key, title or None, pickup,
                  key_analysed=analysed and key is not None)


def _pick_parts(names: list[str], part: str | None, source: str) -> list[int] | Rejection:
    """Indexes of the parts to use: all, or the one named or numbered by ``part``."""
    if part is None:
        return list(range(len(names)))
    if part.strip().lstrip("-").isdigit():
        index = int(part)
        if -len(names) <= index < len(names):
            return [index % len(names)]
    else:
        wanted = part.strip().lower()
        exact = [i for i, n in enumerate(names) if n.lower() == wanted]
        loose = [i for i, n in enumerate(names) if wanted in n.lower()]
        if exact or loose:
            return (exact or loose)[:1]
    listing = ", ".join(f"{i}:{n or '?'}" for i, n in enumerate(names)) or "none"
    return Rejection(source, f"part '{part}' not found (parts: {listing})")


# --- MIDI ---------------------------------------------------------------------------------

def melodies_from_midi(midi, source: str = "<midi>", *, quantize: str = DEFAULT_QUANTIZE,
                       part: str | None = None, keep_rests: bool = True) -> list[Piece]:
    """One melody from a ``mido.MidiFile``: beats from ticks (tempo changes do not bend time)."""
    grid = parse_quantize(quantize)
    ticks = midi.ticks_per_beat or 480
    tempo = time_signature = key = None
    groups: dict[tuple[int, int], list[Event]] = {}
    names: dict[tuple[int, int], str] = {}
    for track_index, track in enumerate(midi.tracks):
        now = 0
        track_name = ""
        sounding: dict[tuple[int, int], int] = {}  # (channel, pitch) -> onset tick

        def close(channel: int, pitch: int, at: int, track_index: int = track_index,
                  sounding: dict[tuple[int, int], int] = sounding) -> None:
            onset = sounding.pop((channel, pitch))
            if at > onset:
                groups.setdefault((track_index, channel), []).append(
                    Event(Fraction(onset, ticks), Fraction(at, ticks), pitch))

        for message in track:
            now += message.time
            kind = message.type
            if kind == "set_tempo" and tempo is None and message.tempo > 0:
                tempo = 60_000_000 / message.tempo
            elif kind == "time_signature" and time_signature is None:
                time_signature = (message.numerator, message.denominator)
            elif kind == "key_signature" and key is None:
                key = _mido_key_name(message.key)
            elif kind == "track_name" and not track_name:
                track_name = message.name.strip()
            elif kind in ("note_on", "note_off") and message.channel != DRUM_CHANNEL:
                slot = (message.channel, message.note)
                if slot in sounding:
                    close(*slot, now)  # a note-off, or a re-struck note ends the last one
                if kind == "note_on" and message.velocity > 0:
                    sounding[slot] = now
        for slot in list(sounding):
            close(*slot, now)
        for channel in {c for t, c in groups if t == track_index}:
            names[(track_index, channel)] = track_name or f"track {track_index}"
    keys = sorted(groups)
    chosen = _pick_parts([names[k] for k in keys], part, source)
    if isinstance(chosen, Rejection):
        return [chosen]
    events = [e for i in chosen for e in groups[keys[i]]]
    if not events:
        return [Rejection(source, "no notes (drum channel 10 is left out)")]
    return [_build(events, source=source, grid=grid, keep_rests=keep_rests, tempo=tempo,
                   time_signature=time_signature, key=key)]


def _mido_key_name(name: str) -> str:
    """'Bb' -> 'Bb major', 'F#m' -> 'F# minor'."""
    return f"{name[:-1]} minor" if name.endswith("m") else f"{name} major"


def read_midi(path: Path, **options) -> list[Piece]:
    """Read a standard MIDI file."""
    return melodies_from_midi(open_midi(path, clip=True), str(path), **options)


def open_midi(path: str | Path, clip: bool = False):
    """A ``mido.MidiFile`` read from a regular file within the size limit."""
    import mido

    data = read_bytes(path, what="MIDI file")
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=clip)
    except Exception as err:  # mido raises many kinds (KeySignatureError, EOFError, ...)
        raise MelodyError(f"{path}: not a readable MIDI file ({_describe(err)})") from None


# --- music21 scores -----------------------------------------------------------------------

def _music21():
    try:
        import music21
    except ImportError as err:  # pragma: no cover - music21 is a dependency
        raise DependencyError("reading scores needs music21: pip install music21") from err
    return music21


def melodies_from_score(score, source: str = "<score>", *, quantize: str = DEFAULT_QUANTIZE,
                        part: str | None = None, keep_rests: bool = True,
                        mode_given: bool = True,
                        metre: tuple[int, int] | None = None) -> list[Piece]:
    """Melodies from a music21 Score, Part or Opus (one per score).

    ``mode_given=False`` says the file's key names no mode (ABC ``K:G``, as in Essen, where
    minor tunes lost theirs), so major or relative minor is chosen from the last note.
    ``metre`` overrides the first time signature found in the score.
    """
    m21 = _music21()
    if isinstance(score, m21.stream.Opus):
        pieces: list[Piece] = []
        for number, inner in enumerate(score.scores, start=1):
            pieces += melodies_from_score(inner, f"{source}#{number}", quantize=quantize,
                                          part=part, keep_rests=keep_rests,
                                          mode_given=mode_given, metre=metre)
        return pieces or [Rejection(source, "no scores")]
    parts = list(score.parts) if isinstance(score, m21.stream.Score) else [score]
    parts = [p for p in parts if not _is_percussion(p, m21)] or parts
    if not parts:
        parts = [score]
    names = [str(p.partName or p.id or "") for p in parts]
    chosen = _pick_parts(names, part, source)
    if isinstance(chosen, Rejection):
        return [chosen]
    events: list[Event] = []
    for index in chosen:
        events += _score_events(parts[index], m21)
    flat = score.flatten()
    signature = next(iter(flat.getElementsByClass(m21.meter.TimeSignature)), None)
    mark = next(iter(flat.getElementsByClass(m21.tempo.MetronomeMark)), None)
    key_sig = next(iter(flat.getElementsByClass(m21.key.KeySignature)), None)
    key = fifths = None
    if isinstance(key_sig, m21.key.Key) and (mode_given or key_sig.mode != "major"):
        key = f"{key_sig.tonic.name.replace('-', 'b')} {key_sig.mode}"
    elif key_sig is not None:
        fifths = key_sig.sharps  # a bare signature: major or relative minor by the last note
    title = score.metadata.title if getattr(score, "metadata", None) else None
    tempo = mark.getQuarterBPM() if mark is not None else None
    if metre is None and signature is not None:
        metre = (signature.numerator, signature.denominator)
    return [_build(events, source=source, grid=parse_quantize(quantize), keep_rests=keep_rests,
                   tempo=tempo, time_signature=metre, fifths=fifths, key=key, title=title,
                   bar_start=_first_bar_line(parts[chosen[0]], m21))]


def _first_bar_line(part, m21) -> Fraction:
    """Where the first full bar starts, relative to offset 0: minus the part of the first bar a
    pickup leaves out (music21's ``paddingLeft``), so a pickup bar ends on a bar line."""
    first = part.getElementsByClass(m21.stream.Measure).first()
    padding = Fraction(first.paddingLeft) if first is not None and first.paddingLeft else 0
    return -Fraction(padding)


def _is_percussion(part, m21) -> bool:
    clef = part.recurse().getElementsByClass(m21.clef.PercussionClef)
    return bool(clef.first()) or bool(part.recurse().getElementsByClass(m21.note.Unpitched))


def _score_events(part, m21) -> list[Event]:
    """Sounding notes of one part: grace notes and chord symbols dropped, ties merged."""
    events: list[Event] = []
    open_ties: dict[int, int] = {}  # pitch -> index in events of a note whose tie goes on
    flat = part.flatten()
    for element in flat.notes:
        if isinstance(element, m21.harmony.Harmony) or element.duration.isGrace:
            continue
        length = Fraction(element.quarterLength)
        if length <= 0:
            continue
        onset = Fraction(flat.elementOffset(element))
        tie = element.tie.type if element.tie is not None else None
        pitches = [p.midi for p in element.pitches] if element.isChord else [element.pitch.midi]
        for pitch in pitches:
            if not 0 <= pitch <= 127:
                continue
            index = open_ties.pop(pitch, None) if tie in ("stop", "continue") else None
            if index is not None and events[index].end == onset:
                events[index] = replace(events[index], end=onset + length)
            else:
                index = len(events)
                events.append(Event(onset, onset + length, pitch))
            if tie in ("start", "continue"):
                open_ties[pitch] = index
    return events


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older ABC books (Essen) are Latin-1


def split_abc(text: str) -> list[tuple[str, str]]:
    """Tunes of an ABC book as (label such as 'X:12', tune text with the book's header fields);
    none in a text without a single field line."""
    starts = [m.start() for m in _ABC_TUNE_START.finditer(text)]
    if not starts:
        # Without a single field line it is not ABC (perhaps a symlink to some other file):
        # not handed to music21, whose messages would quote it.
        fields = any(_ABC_FIELD.match(line) for line in text.splitlines())
        return [("", text)] if fields else []
    header = "".join(line + "\n" for line in text[:starts[0]].splitlines()
                     if _ABC_FIELD.match(line))
    tunes = []
    for start, stop in zip(starts, [*starts[1:], len(text)], strict=True):
        body = text[start:stop]
        number = body.split("\n", 1)[0][2:].strip()
        tunes.append((f"X:{number}", header + body))
    return tunes


def read_abc_tune(text: str, source: str, *, quantize: str = DEFAULT_QUANTIZE,
                  part: str | None = None, keep_rests: bool = True) -> Piece:
    """One melody from the text of one ABC tune, or a Rejection saying why not."""
    problem = declared_metre_problem(text, "abc")
    if problem:
        return Rejection(source, problem)
    m21 = _music21()
    from music21.abcFormat import translate

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # music21's warnings, read below
            handler = m21.abcFormat.ABCHandler()
            handler.process(text)
            score = translate.abcToStreamScore(handler)
    except Exception as err:  # music21 raises many kinds on malformed ABC
        return Rejection(source, f"unparseable ABC: {_describe(err)}")
    finally:
        warned = said.getvalue()
    guessed = _GUESSED_PITCH.search(warned)
    if guessed:  # music21 read a note it could not understand as C: not the tune written
        return Rejection(source, f"'{shown(guessed['note'].strip())}' is not an ABC note "
                                 "(music21 would have read it as C)")
    pass_on_warnings(warned.splitlines(), source)
    key_line = _ABC_KEY.search(text)
    mode_given = not key_line or bool(key_line["mode"])
    pieces = melodies_from_score(score, source, quantize=quantize, part=part,
                                 keep_rests=keep_rests, mode_given=mode_given,
                                 metre=_abc_metre(text))
    return pieces[0]


def guarded(read: Callable[[], list[Piece]], source: str,
            seconds: float | None = None) -> list[Piece]:
    """The pieces ``read()`` returns, or one Rejection naming ``source`` whatever it raises.

    A reader exception of any type (a music21 bug on an odd file, a ZeroDivisionError from a
    tempo of 0) rejects that file or tune only; ``seconds`` bounds the time it may take. A
    missing dependency is still raised: it concerns every file, not this one.
    """
    try:
        with time_limit(seconds):
            return read()
    except DependencyError:
        raise
    except ParseTimeout as err:
        return [Rejection(source, str(err))]
    except MelodyError as err:
        return [Rejection(source, _strip_source(str(err), source))]
    except RecursionError:
        return [Rejection(source, "reader failed: the file nests or ties too deeply")]
    except MemoryError:
        return [Rejection(source, "reader failed: out of memory")]
    except Exception as err:  # a reader bug on one odd file must not stop the others
        return [Rejection(source, f"reader failed: {_describe(err)}")]


def _strip_source(message: str, source: str) -> str:
    prefix = f"{source}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def declared_metre_problem(text: str, fmt: str) -> str | None:
    """What is wrong with a time signature the ABC or MusicXML text declares (see
    ``metre_problem``), checked before music21 parses it; None if every one is usable."""
    pattern = _XML_METRE if fmt == "musicxml" else _ABC_ANY_METRE
    for beats, unit in pattern.findall(text):
        numbers = [int(n) for n in re.findall(r"\d{1,12}", beats)]
        if not numbers or not unit.strip().isdigit() or len(unit.strip()) > 12:
            continue  # not numbers music21 can read either: its own error says so
        problem = metre_problem((sum(numbers), int(unit.strip())))
        if problem:
            return problem
    return None


def _abc_metre(text: str) -> tuple[int, int] | None:
    """The tune's M: field (music21 gives pickups and odd bars a metre of their own)."""
    start = text.find("X:")
    match = _ABC_METRE.search(text, max(start, 0)) or _ABC_METRE.search(text)
    if not match:
        return None
    if match["text"] in _ABC_COMMON_TIME:
        return _ABC_COMMON_TIME[match["text"]]
    numerator, denominator = int(match["num"]), int(match["den"])
    return (numerator, denominator) if numerator and denominator in DURATION_VALUES else None


def _describe(err: BaseException) -> str:
    text = " ".join(str(err).split())[:120]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def read_abc(path: Path, **options) -> list[Piece]:
    """Read an ABC file: one melody (or rejection) per tune."""
    text = decode_text(read_bytes(path, what="ABC file"))
    tunes = split_abc(text)
    if not tunes:
        return [Rejection(str(path), "no ABC tunes: no X: line, nor any field line such as "
                          "K: or L:")]
    if len(tunes) > MAX_TUNES_PER_FILE:
        return [Rejection(str(path), f"{len(tunes):,} tunes in one file: expected at most "
                          f"{MAX_TUNES_PER_FILE:,} (split the book into several files)")]
    return [read_abc_tune(body, f"{path}#{label}" if label else str(path), **options)
            for label, body in tunes]


def parse_score(path: str | Path):
    """A music21 stream parsed from the file's own bytes: never from music21's pickle cache.

    ``music21.converter.parse(path)`` would load a pickle from music21's shared scratch
    folder when one looks newer than the file, and anyone who can write there could run
    code; here music21 only ever sees the data read (within the size limit) from ``path``.
    A compressed ``.mxl`` is unpacked here too, with the size limit on what it unpacks to.
    """
    m21 = _music21()
    suffix = Path(path).suffix.lower()
    fmt = SCORE_FORMATS.get(suffix)
    if fmt is None:
        raise MelodyError(f"{path}: not a score file: expected one of "
                          f"{' '.join(SCORE_FORMATS)}")
    data = read_bytes(path, what=f"{fmt} file")
    text = _unpack_mxl(data, path) if suffix == ".mxl" else _score_text(data, fmt)
    problem = declared_metre_problem(text, fmt) if fmt in ("musicxml", "abc") else None
    if problem:
        raise MelodyError(f"{path}: {problem}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            score = m21.converter.parseData(text, format=fmt, forceSource=True)
        except Exception as err:  # music21 raises many kinds on malformed scores
            raise MelodyError(f"{path}: unparseable {fmt}: {_describe(err)}") from None
    pass_on_warnings([str(w.message) for w in caught], str(path))
    return score


MAX_WARNINGS_SHOWN = 3


def pass_on_warnings(messages: Sequence[str], source: str) -> None:
    """music21's warnings about a file, each distinct one on one line of stderr naming the
    file (music21 prints them over several lines, with its own source code)."""
    said = (_WARNING_HEADER.sub("", " ".join(m.split())) for m in messages if m.strip())
    distinct = list(dict.fromkeys(said))
    for message in distinct[:MAX_WARNINGS_SHOWN]:
        sys.stderr.write(f"{source}: music21 warns: {shown(message, 200)}\n")
    if len(distinct) > MAX_WARNINGS_SHOWN:
        sys.stderr.write(f"{source}: music21 warns of {len(distinct) - MAX_WARNINGS_SHOWN} "
                         "more things\n")


def _score_text(data: bytes, fmt: str) -> str:
    """The text of a score file: MusicXML by its declared encoding, others as ABC books are."""
    if fmt != "musicxml":
        return decode_text(data)
    declared = re.match(rb"<\?xml[^>]*encoding=['\"]([A-Za-z0-9_.-]+)['\"]", data[:200])
    for encoding in ((declared[1].decode("ascii"),) if declared else ()) + ("utf-8",
                                                                            "utf-16"):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        # music21 reads the text as it is, so the declaration must not name another encoding
        return re.sub(r"^(<\?xml[^>]*encoding=)['\"][^'\"]*['\"]", r"\1'UTF-8'", text,
                      count=1)
    raise MelodyError("not MusicXML text: neither its declared encoding, UTF-8 nor UTF-16")


def _unpack_mxl(data: bytes, path: str | Path) -> str:
    """The MusicXML text inside a compressed ``.mxl`` archive, unpacked within the size limit
    (a small archive can unpack to gigabytes: a zip bomb); the member music21 would pick."""
    limit = max_file_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if "META-INF" not in m.filename
                   and (Path(m.filename).suffix.lower() in (".musicxml", ".xml", ".mxl")
                        or m.filename == ".xml")]
        if not members:
            raise MelodyError(f"{path}: no MusicXML file inside the .mxl archive")
        member = members[0]
        if member.file_size > limit:
            raise too_big(path, member.file_size, limit, "unpacked .mxl")
        with archive.open(member) as stream:
            unpacked = stream.read(limit + 1)  # the declared size may lie
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError,
            EOFError, ValueError) as err:
        raise MelodyError(f"{path}: unparseable musicxml: not a readable .mxl archive "
                          f"({_describe(err)})") from None
    if len(unpacked) > limit:
        raise too_big(path, len(unpacked), limit, "unpacked .mxl")
    return _score_text(unpacked, "musicxml")


def read_score(path: Path, **options) -> list[Piece]:
    """Read MusicXML, compressed MXL or Humdrum kern through music21."""
    return melodies_from_score(parse_score(path), str(path), **options)


def read_text(path: Path, *, quantize: str = DEFAULT_QUANTIZE, part: str | None = None,
              keep_rests: bool = True) -> list[Piece]:
    """Read the song text format; durations stay as written, keys are analysed if missing."""
    pieces: list[Piece] = []
    for melody in parse_file(path):
        if not keep_rests:
            melody = melody.with_notes([n for n in melody.notes if n.pitch is not None])
        if melody.key is None:
            melody = replace(melody, key=analyse_key(melody.notes), key_analysed=True)
        pieces.append(melody)
    return pieces


READERS: dict[str, Callable[..., list[Piece]]] = {
    ".mid": read_midi,
    ".midi": read_midi,
    ".musicxml": read_score,
    ".mxl": read_score,
    ".xml": read_score,
    ".abc": read_abc,
    ".krn": read_score,
    ".txt": read_text,
}
SUFFIXES = tuple(READERS)


def reader_for(path: str | Path) -> Callable[..., list[Piece]]:
    """The reader for a file's suffix; raise MelodyError listing the supported suffixes."""
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None:
        raise MelodyError(f"{path}: unknown suffix '{Path(path).suffix}': expected one of "
                          f"{' '.join(SUFFIXES)}")
    return reader


def read_pieces(path: str | Path, *, quantize: str = DEFAULT_QUANTIZE, part: str | None = None,
                keep_rests: bool = True) -> list[Piece]:
    """Every melody in a file, with a Rejection in place of each tune that yields nothing."""
    parse_quantize(quantize)  # fail early on a bad grid
    return reader_for(path)(Path(path), quantize=quantize, part=part, keep_rests=keep_rests)


def read(path: str | Path, *, quantize: str = DEFAULT_QUANTIZE, part: str | None = None,
         keep_rests: bool = True, seconds: float | None = None) -> list[Melody]:
    """Every melody in a file; raise MelodyError with the reasons if there is none.

    Whatever goes wrong inside a reader is a MelodyError naming the file (see ``guarded``).
    """
    reader_for(path)  # an unknown suffix is an error of its own, not a rejection
    pieces = guarded(lambda: read_pieces(path, quantize=quantize, part=part,
                                         keep_rests=keep_rests), str(path), seconds)
    melodies = [p for p in pieces if isinstance(p, Melody)]
    if not melodies:
        reasons = "; ".join(sorted({p.reason for p in pieces if isinstance(p, Rejection)}))
        raise MelodyError(f"{path}: no melodies ({reasons or 'empty'})")
    return melodies
