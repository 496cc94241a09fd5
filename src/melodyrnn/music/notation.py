"""The song text format: parse it with exact error positions, and format melodies back.

A note is a letter ``c d e f g a b``, optional accidentals (``is`` sharp, ``es`` flat,
``#``/``b`` shorthand), octave marks (``'`` up, ``,`` down from the octave of middle C),
a duration ``1 2 4 8 16 32 64`` and dots, e.g. ``g8``, ``fis'4.``, ``bes,16``. ``r`` is a
rest. ``~`` ties two notes of one pitch. ``*N/M`` scales a duration (``c8*2/3`` is a
triplet eighth). ``%`` starts a comment, ``|`` bar lines are ignored, header lines
``\\tempo 100``, ``\\time 3/4``, ``\\key g major`` set tempo, metre and key (they carry over
to later songs), ``\\partial 8`` says the song starts with an upbeat of that length (this
song only), and a blank line separates songs. ``parse_text(format_melodies(ms)) == ms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from melodyrnn.errors import FileError, MelodyError, ParseError
from melodyrnn.files import read_bytes
from melodyrnn.music.keys import LETTER_PITCH_CLASS, MODE_FIFTHS, spell, split_key
from melodyrnn.music.melody import (
    DEFAULT_TEMPO,
    DEFAULT_TIME_SIGNATURE,
    MAX_MELODY_NOTES,
    MAX_MELODY_QUARTERS,
    MAX_TEMPO,
    MIN_TEMPO,
    Melody,
    Note,
    length_problem,
    metre_problem,
)

DURATION_VALUES = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_DURATION = Fraction(1)  # a quarter note, in quarter notes
MIDDLE_C_OCTAVE = 4
NOTES_PER_LINE_BARS = 4
MAX_DIGITS = 6  # in any number of the text format: durations, scales, tempo, metre
SHOWN_TOKEN = 24  # characters of a bad token quoted in an error message
MAX_TOKEN = 64  # the longest note token read (a long legal one, with a scale, is about 30)

_NOTE = re.compile(
    r"(?P<name>[a-g]|r)(?P<acc>(?:is|es|s|#|b)*)(?P<octave>[',]*)"
    r"(?P<dur>\d+)?(?P<dots>\.*)(?:\*(?P<num>\d+)/(?P<den>\d+))?(?P<tie>~)?"
)

# What a note token may start with (every part optional but the name): a long token is
# judged by its first MAX_TOKEN characters.
_NOTE_START = re.compile(r"(?:[a-g]|r)(?:is|es|s|#|b)*[',]*\d*\.*(?:\*\d*(?:/\d*)?)?~?")


@dataclass
class _SongBuilder:
    """Notes and settings collected while reading one song."""

    tempo: int = DEFAULT_TEMPO
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    key: str | None = None
    title: str | None = None
    pickup: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        self.pickup_where: tuple[str, int, int] | None = None  # where \\partial was read
        self.notes: list[Note] = []
        self.duration = DEFAULT_DURATION
        self.tie_pending = False
        self.length = Fraction(0)  # quarter notes so far

    def settings(self) -> _SongBuilder:
        """A fresh builder that inherits tempo, metre and key for the next song (not the pickup)."""
        return _SongBuilder(self.tempo, self.time_signature, self.key)

    def melody(self) -> Melody:
        bar = Fraction(4 * self.time_signature[0], self.time_signature[1])
        if self.pickup >= bar and self.pickup_where is not None:
            beats, unit = self.time_signature
            raise ParseError(f"'\\partial {_pickup_text(self.pickup)}': an upbeat of "
                             f"{self.pickup} quarter notes is a bar or more in {beats}/{unit} "
                             f"({bar} quarter notes): expected less than a bar",
                             *self.pickup_where)
        return Melody(tuple(self.notes), self.tempo, self.time_signature, self.key, self.title,
                      self.pickup)


def parse_text(text: str, source: str = "<text>", quote_first_word: bool = True
               ) -> list[Melody]:
    """Read every song in a text; raise ParseError naming source, line and column on bad input.

    Without ``quote_first_word`` (files), a text whose first word is neither a note nor a
    header is not song text at all, and the error does not quote it: the file may be
    something else (a symlink to /etc/passwd, a key), and rejection summaries get shared.
    """
    melodies: list[Melody] = []
    song = _SongBuilder()
    token_pos = (source, 0, 0)
    recognised = quote_first_word  # once a note or header is read, bad words are typos
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("%", 1)[0]
        if not raw_line.strip():
            if song.tie_pending:
                raise ParseError("'~' at the end of a song: expected a note to tie to", *token_pos)
            if song.notes:
                melodies.append(song.melody())
            song = song.settings()
            continue
        stripped = line.strip()
        if stripped.startswith("\\"):
            where = (source, line_number, line.index("\\") + 1)
            if not recognised and stripped.split()[0] not in _HEADERS:
                raise ParseError(NOT_SONG_TEXT, *where)
            _read_header(stripped, song, *where)
            recognised = True
            continue
        for match in re.finditer(r"\S+", line):
            token_pos = (source, line_number, match.start() + 1)
            if not recognised and not _note_like(match.group()):
                raise ParseError(NOT_SONG_TEXT, *token_pos)
            _read_token(match.group(), song, token_pos)
            recognised = True
    if song.tie_pending:
        raise ParseError("'~' at the end of the text: expected a note to tie to", *token_pos)
    if song.notes:
        melodies.append(song.melody())
    return melodies


def parse_file(path: str | Path) -> list[Melody]:
    """Read every song in a text file; raise ParseError if it is unreadable or holds no notes."""
    path = Path(path)
    try:
        text = read_bytes(path, what="song text file").decode("utf-8")
    except FileError as err:
        detail = str(err).removeprefix(f"{path}: ").removeprefix("cannot read: ")
        raise ParseError(f"cannot read: {detail}", str(path)) from None
    except UnicodeDecodeError as err:
        raise ParseError(f"not UTF-8 text (byte {err.start}): expected a song text file",
                         str(path)) from None
    melodies = parse_text(text, str(path), quote_first_word=False)
    if not melodies:
        raise ParseError("no notes found: expected notes such as 'g8 e8 e4'", str(path))
    return melodies


def parse_tokens(text: str, source: str = "--seed") -> Melody:
    """Read one melody from a line of tokens, e.g. a ``--seed`` option; raise ParseError on bad input.

    Header words may come first on the same line: ``\\time 3/4 \\key g major \\partial 4 d4 g2``.
    """
    if "\n" in text.strip():
        text = " ".join(text.split())
    if text.lstrip().startswith("\\"):
        text = _headers_on_lines(text)
    melodies = parse_text(text, source)
    if not melodies:
        raise ParseError("no notes given: expected notes such as 'g8 e8 e4 f8'", source)
    return melodies[0]


_HEADER_WORDS = {"\\time": 1, "\\tempo": 1, "\\partial": 1, "\\key": 1}
_HEADERS = (*_HEADER_WORDS, "\\title")
NOT_SONG_TEXT = ("not a song text: its first word is neither a note nor a header (not shown: "
                 "this may be some other kind of file); expected notes such as 'g8 e8 e4'")


def _note_like(token: str) -> bool:
    """A note, a bar line or tie, or a note but for a capital letter (a typo worth quoting)."""
    token = token[:1].lower() + token[1:]
    if len(token) > MAX_TOKEN:  # judged by its start: the whole would take the pattern long
        return bool(_NOTE_START.fullmatch(token[:MAX_TOKEN]))
    return token in ("|", "~") or bool(_NOTE.fullmatch(token))


def _headers_on_lines(text: str) -> str:
    """One line of leading header words and notes as the file layout: a line per header."""
    words = text.split()
    lines = []
    while words and words[0] in _HEADER_WORDS:
        name, *words = words
        taken = words[: _HEADER_WORDS[name]]
        words = words[len(taken):]
        if name == "\\key" and words and words[0].lower() in MODE_FIFTHS:
            taken.append(words.pop(0))  # the mode, when given
        lines.append(" ".join([name, *taken]))
    return "\n".join([*lines, " ".join(words)])


def _read_header(line: str, song: _SongBuilder, source: str, line_number: int,
                 column: int) -> None:
    name, _, value = line.partition(" ")
    value = value.strip()
    where = (source, line_number, column)
    if name == "\\tempo":
        if not _is_number(value) or not MIN_TEMPO <= int(value) <= MAX_TEMPO:
            raise ParseError(f"'\\tempo {shown(value)}': expected beats per minute, "
                             f"{MIN_TEMPO} to {MAX_TEMPO}", *where)
        song.tempo = int(value)
    elif name == "\\time":
        match = re.fullmatch(r"(\d+)/(\d+)", value)
        if not match or not _is_number(match[1]) or not _is_number(match[2]) \
                or metre_problem((int(match[1]), int(match[2]))):
            raise ParseError(f"'\\time {shown(value)}': expected a metre such as 3/4 or 6/8 "
                             f"(1-64 beats over 1, 2, 4, 8, 16, 32 or 64)", *where)
        song.time_signature = (int(match[1]), int(match[2]))
    elif name == "\\key":
        song.key = None if value == "none" else _parse_key(value, where)
    elif name == "\\title":
        song.title = value or None
    elif name == "\\partial":
        song.pickup, song.pickup_where = _pickup(value, where), where
    else:
        raise ParseError(f"'{shown(name)}' is not a header: expected \\tempo, \\time, \\key, "
                         "\\partial or \\title", *where)


def _is_number(text: str) -> bool:
    """Digits only, and few enough of them (int() of thousands of digits is refused)."""
    return text.isdigit() and text.isascii() and len(text) <= MAX_DIGITS


def shown(token: str, limit: int = SHOWN_TOKEN) -> str:
    """A token as error messages quote it: control characters escaped, at most a few dozen
    characters (a line of some other file read as a song is not echoed whole)."""
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in token)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pickup(value: str, where: tuple[str, int, int]) -> Fraction:
    """The length of ``\\partial 8``, ``\\partial 4.`` ...: a duration as notes write it."""
    problem = ParseError(f"'\\partial {shown(value)}': expected the upbeat's duration, e.g. "
                         "\\partial 8 or \\partial 4.", *where)
    match = _NOTE.fullmatch("r" + value) if value[:1].isdigit() else None
    if not match or match["tie"] or match["dur"] is None:
        raise problem
    try:
        return _duration(match, value, _SongBuilder(), where)
    except ParseError:
        raise problem from None


def _parse_key(value: str, where: tuple[str, int, int]) -> str:
    parts = value.split()
    mode = parts[1] if len(parts) > 1 else "major"
    match = _NOTE.fullmatch(parts[0]) if parts else None
    if not match or match["name"] == "r" or match["octave"] or match["dur"] or match["dots"]:
        raise ParseError(f"'\\key {shown(value)}': expected a tonic and a mode, e.g. 'g major'",
                         *where)
    alteration = _alteration(match["name"], match["acc"], parts[0], where)
    key = f"{match['name'].upper()}{'#' * alteration}{'b' * -alteration} {mode.lower()}"
    try:
        split_key(key)
    except MelodyError as err:
        raise ParseError(str(err), *where) from None
    return key


def _alteration(letter: str, accidentals: str, token: str, where: tuple[str, int, int]) -> int:
    """Semitones added by an accidental string such as 'is', 'eses', 's' (in 'as'), '#', 'b'."""
    steps = []
    rest = accidentals
    if rest.startswith("s") and letter in "ae":
        steps.append(-1)
        rest = rest[1:]
    for part in re.findall(r"is|es|#|b|s", rest):
        if part == "s":
            raise ParseError(f"'{shown(token)}' has a stray 's': expected 'is' or 'es'", *where)
        steps.append(1 if part in ("is", "#") else -1)
    if len(set(steps)) > 1:
        raise ParseError(f"'{shown(token)}' mixes sharps and flats", *where)
    if len(steps) > 2:
        raise ParseError(f"'{shown(token)}' has more than two accidentals", *where)
    return sum(steps)


def _read_token(token: str, song: _SongBuilder, where: tuple[str, int, int]) -> None:
    if token == "|":
        return
    if token == "~":
        if not song.notes or song.tie_pending:
            raise ParseError("'~' must stand between two notes of the same pitch", *where)
        song.tie_pending = True
        return
    if len(token) > MAX_TOKEN:  # before the pattern: its repeats would run a long time
        raise ParseError(f"'{shown(token)}' is not a note: {len(token):,} characters, expected "
                         f"at most {MAX_TOKEN} (numbers of at most {MAX_DIGITS} digits, at most "
                         f"{MAX_DIGITS} dots, two accidentals)", *where)
    match = _NOTE.fullmatch(token)
    if not match:
        lower = token[:1].lower() + token[1:]
        hint = (f" (note names are lower case: '{shown(lower)}')"
                if token[:1].isupper() and _NOTE.fullmatch(lower) else "")
        raise ParseError(f"'{shown(token)}' is not a note: expected c d e f g a b or r, "
                         "then accidentals, octave marks, duration and dots (e.g. fis'4.)"
                         + hint, *where)
    pitch = _pitch(match, token, where)
    duration = _duration(match, token, song, where)
    try:
        if song.tie_pending:
            previous = song.notes[-1]
            if previous.pitch != pitch:
                raise ParseError(f"'~' ties notes of different pitch before '{shown(token)}'",
                                 *where)
            song.notes[-1] = Note(pitch, previous.duration + duration)
        else:
            song.notes.append(Note(pitch, duration))
    except MelodyError as err:
        if isinstance(err, ParseError):
            raise
        raise ParseError(f"'{shown(token)}': {err}", *where) from None
    song.length += duration
    if len(song.notes) > MAX_MELODY_NOTES or song.length > MAX_MELODY_QUARTERS:
        raise ParseError(f"'{shown(token)}': "
                         f"{length_problem(len(song.notes), song.length)}", *where)
    song.tie_pending = bool(match["tie"])


def _pitch(match: re.Match[str], token: str, where: tuple[str, int, int]) -> int | None:
    if match["name"] == "r":
        if match["acc"] or match["octave"]:
            raise ParseError(f"'{shown(token)}' is a rest with a pitch mark: expected r plus a "
                             "duration", *where)
        return None
    octave = MIDDLE_C_OCTAVE + match["octave"].count("'") - match["octave"].count(",")
    pitch = 12 * (octave + 1) + LETTER_PITCH_CLASS[match["name"]]
    pitch += _alteration(match["name"], match["acc"], token, where)
    if not 0 <= pitch <= 127:
        raise ParseError(f"'{shown(token)}' is MIDI pitch {pitch}: expected 0 to 127", *where)
    return pitch


def _duration(match: re.Match[str], token: str, song: _SongBuilder,
              where: tuple[str, int, int]) -> Fraction:
    if match["dur"] is None:
        if match["dots"] or match["num"]:
            raise ParseError(f"'{shown(token)}' has dots or a scale but no duration", *where)
        return song.duration
    numbers = [match[name] for name in ("dur", "num", "den") if match[name] is not None]
    if any(len(number) > MAX_DIGITS for number in numbers) or len(match["dots"]) > MAX_DIGITS:
        raise ParseError(f"'{shown(token)}': expected numbers of at most {MAX_DIGITS} digits and "
                         f"at most {MAX_DIGITS} dots", *where)
    value = int(match["dur"])
    if value not in DURATION_VALUES:
        raise ParseError(f"'{shown(token)}' has duration {value}: expected one of "
                         f"{' '.join(map(str, DURATION_VALUES))}", *where)
    base = Fraction(4, value)
    duration = base * (2 - Fraction(1, 2 ** len(match["dots"])))
    if match["num"] is not None:
        num, den = int(match["num"]), int(match["den"])
        if num == 0 or den == 0:
            raise ParseError(f"'{shown(token)}' scales by {num}/{den}: expected a positive ratio",
                             *where)
        duration *= Fraction(num, den)
        written = duration_parts(duration)[-1]  # what formatting will write for it
        if any(len(number) > MAX_DIGITS for number in re.findall(r"\d+", written)):
            raise ParseError(f"'{shown(token)}' lasts {duration} quarter notes, which the text "
                             f"format writes as '{shown(written)}', over {MAX_DIGITS} digits: "
                             "expected a simpler ratio", *where)
    song.duration = duration
    return duration


# --- formatting -------------------------------------------------------------------------

def pitch_name(pitch: int | None, key: str | None = None) -> str:
    """The text-format name of a MIDI pitch spelled for a key, e.g. 60 -> 'c', 73 -> "cis'"."""
    if pitch is None:
        return "r"
    letter, alteration, octave = spell(pitch, key)
    suffix = "is" * alteration if alteration > 0 else "es" * -alteration
    if suffix.startswith("es") and letter in "ae":
        suffix = suffix[1:]  # 'as' and 'es', not 'aes' and 'ees'
    marks = octave - MIDDLE_C_OCTAVE
    return letter + suffix + ("'" * marks if marks > 0 else "," * -marks)


def duration_parts(duration: Fraction) -> list[str]:
    """Duration strings that tie together to the given length, e.g. 3/2 -> ['4.'], 5/4 -> ['4', '16']."""
    parts: list[str] = []
    whole = Fraction(4)
    while duration not in _SINGLE_DURATIONS and duration > whole:  # a loop: notes may be long
        parts.append("1")
        duration -= whole
    if duration in _SINGLE_DURATIONS:
        return [*parts, _SINGLE_DURATIONS[duration]]
    if (duration * 16).denominator == 1:  # a sum of plain values: tie them, longest first
        left = duration
        for value in DURATION_VALUES:
            while left >= Fraction(4, value):
                parts.append(str(value))
                left -= Fraction(4, value)
        return parts
    base = next(v for v in reversed(DURATION_VALUES) if Fraction(4, v) >= duration)
    ratio = duration / Fraction(4, base)
    return [*parts, f"{base}*{ratio.numerator}/{ratio.denominator}"]


def _single_durations() -> dict[Fraction, str]:
    """Every length one duration word writes (values with up to three dots), first word wins."""
    words: dict[Fraction, str] = {}
    for value in DURATION_VALUES:
        for dots in range(4):
            words.setdefault(Fraction(4, value) * (2 - Fraction(1, 2 ** dots)),
                             f"{value}{'.' * dots}")
    return words


_SINGLE_DURATIONS = _single_durations()


def note_text(note: Note, key: str | None = None) -> str:
    """One note as text; long or odd durations become tied notes, e.g. 'c4~ c16'."""
    name = pitch_name(note.pitch, key)
    return "~ ".join(name + part for part in duration_parts(note.duration))


def format_melody(melody: Melody, header: bool = True, after_key: bool = False) -> str:
    """A melody as text, one line per four bars, with header lines for its tempo, metre and key."""
    lines = []
    if header:
        if melody.title:
            lines.append(f"\\title {melody.title}")
        lines.append(f"\\tempo {melody.tempo}")
        lines.append(f"\\time {melody.time_signature[0]}/{melody.time_signature[1]}")
        if melody.key:
            lines.append(f"\\key {_key_text(melody.key)}")
        elif after_key:  # headers carry over to later songs, so say there is none
            lines.append("\\key none")
        if melody.pickup:
            lines.append(f"\\partial {_pickup_text(melody.pickup)}")
    line_length = melody.bar_length * NOTES_PER_LINE_BARS
    words: list[str] = []
    for onset, note in zip(melody.onsets(), melody.notes):
        if words and onset > melody.pickup and (onset - melody.pickup) % line_length == 0:
            lines.append(" ".join(words))
            words = []
        words.append(note_text(note, melody.key))
    if words:
        lines.append(" ".join(words))
    return "\n".join(lines) + "\n"


def format_melodies(melodies: list[Melody]) -> str:
    """Several melodies as text, separated by blank lines."""
    return "\n".join(format_melody(m, after_key=i > 0 and bool(melodies[i - 1].key))
                     for i, m in enumerate(melodies))


def _pickup_text(pickup: Fraction) -> str:
    """A pickup's length as one duration word: '8', '4.', or a scaled quarter '4*5/4'."""
    parts = duration_parts(pickup)
    return parts[0] if len(parts) == 1 else f"4*{pickup.numerator}/{pickup.denominator}"


def _key_text(key: str) -> str:
    letter, alteration, mode = split_key(key)
    suffix = "is" * alteration if alteration > 0 else "es" * -alteration
    if suffix.startswith("es") and letter in "ae":
        suffix = suffix[1:]
    return f"{letter}{suffix} {mode}"
