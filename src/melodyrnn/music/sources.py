"""Turn files, folders, globs and music21 corpora into melodies: in parallel, cached on disk.

``load(sources, options)`` expands the sources to files, reads each file's melodies from the
cache (keyed by the file's content, the reader version and the reading options) or parses it
in a process pool, and reports every file or tune that yielded nothing as a ``Rejection``
(the cache itself is ``music.cache``). music21 is never imported here.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.files import read_bytes
from melodyrnn.music.cache import (
    ShippedEntries,
    cache_key,
    default_cache_dir,
    read_cache,
    write_cache,
)
from melodyrnn.music.deadline import PARSE_SECONDS
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import shown
from melodyrnn.music.pool import CRASHED, run_jobs
from melodyrnn.music.quantize import DEFAULT_QUANTIZE, parse_quantize
from melodyrnn.music.readers import (
    MAX_TUNES_PER_FILE,
    SUFFIXES,
    Piece,
    Rejection,
    decode_text,
    guarded,
    read_abc_tune,
    read_pieces,
    split_abc,
)
from melodyrnn.music.transpose import normalise_key, transpositions
from melodyrnn.settings import check, setting

__all__ = [
    "CORPORA",
    "Corpus",
    "IngestOptions",
    "IngestResult",
    "Rejection",
    "list_corpora",
    "load",
    "rejection_summary",
    "split_by_melody",
]

TUNES_PER_JOB = 25  # ABC books are split into jobs of this many tunes so big books spread out
SUMMARY_REASONS = 8
SUMMARY_EXAMPLES = 3
SHOWN_TITLE = 60  # characters of a melody title in messages (control characters escaped)
POOL_GRACE_SECONDS = 30.0  # a worker's start and music21's import, before a job is stopped
LOGGED_PARSE = 100  # pieces: a parse this long says so in a log (a terminal gets a progress bar)
IN_PROCESS_SUFFIXES = (".txt",)  # read here even with several jobs: linear and fast


@dataclass(frozen=True)
class IngestOptions:
    """How to read sources: grid, part, rests, transposition, cache and parallelism."""

    quantize: str = setting(DEFAULT_QUANTIZE, "Grid for note times: note values joined by '+' "
                            "(16+24 = sixteenths and sixteenth/eighth-note triplets; 16 = "
                            "straight), or 'none'.")
    part: str | None = setting(None, "Read only this part (name or 0-based index) instead of "
                               "the highest note of all parts. Bach chorales default to "
                               "Soprano.")
    keep_rests: bool = setting(True, "Keep rests, or leave them out of the melodies.",
                               switch="--keep-rests/--drop-rests")
    transpose: str = setting("none", "all: add every key that stays in MIDI range; C: move each "
                             "melody to C major / A minor.", choices=("none", "all", "C"))
    exclude: tuple[str, ...] = setting((), "Leave out the files of this source (repeatable), "
                                       "e.g. corpus:essen --exclude corpus:essen/kinder.",
                                       multiple=True, metavar="SOURCE")
    cache_dir: str | None = setting(None, "Folder for parsed melodies [default: the user cache "
                                    "folder].", metavar="DIR")
    use_cache: bool = setting(True, "Read parsed melodies from the cache and write them there "
                              "(--no-cache: parse every file again).",
                              switch="--cache/--no-cache")
    jobs: int = setting(0, "Parsing processes; 0 uses every core.", low=0, high=256)
    parse_timeout: float = setting(PARSE_SECONDS, "Seconds one file (or ABC tune) may take to "
                                   "read before it is rejected.", low=0.0, low_open=True,
                                   high=3600.0)

    def __post_init__(self) -> None:
        parse_quantize(self.quantize)
        transpose = "none" if self.transpose is None else str(self.transpose)
        normalised = {"": "none", "none": "none", "all": "all", "c": "C"}.get(transpose.lower())
        if normalised is None:
            raise MelodyError(f"transpose '{self.transpose}': expected none, all or C")
        object.__setattr__(self, "transpose", normalised)
        object.__setattr__(self, "exclude", tuple(self.exclude))
        check(self)


@dataclass
class IngestResult:
    """Melodies read, what was rejected and why, and how many files were looked at.

    ``groups[i]`` is the index of the original melody that ``melodies[i]`` was transposed
    from, so a split can keep every transposition of a melody on the same side.
    """

    melodies: list[Melody]
    rejected: list[Rejection]
    sources: int
    groups: list[int] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # the file (and tune) of each melody

    def origin(self, index: int) -> str:
        """Where ``melodies[index]`` came from: its title and file, for messages."""
        title = self.melodies[index].title
        where = self.origins[index] if index < len(self.origins) else f"melody {index + 1}"
        return f"'{shown(title, SHOWN_TITLE)}' ({where})" if title else where

    def split(self, valid_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
        """Train and validation indexes into ``melodies``, by original melody."""
        return split_by_melody(self.melodies, valid_fraction, seed, self.groups or None)


@dataclass(frozen=True)
class Corpus:
    """A collection bundled with music21, addressed as ``corpus:NAME``."""

    name: str
    folder: str
    description: str
    suffixes: tuple[str, ...] = (".abc",)
    part: str | None = None
    exclude: tuple[str, ...] = ()  # file stems starting with these are left out


CORPORA: dict[str, Corpus] = {c.name: c for c in (
    Corpus("essen", "essenFolksong", "Essen folk song collection (German, Chinese, ... books)",
           exclude=("test",)),
    Corpus("oneills", "oneills1850", "O'Neill's Music of Ireland (1850), Irish dance tunes"),
    Corpus("ryans", "ryansMammoth", "Ryan's Mammoth Collection (1883), fiddle tunes"),
    Corpus("bach", "bach", "Bach chorales, soprano part unless --part says otherwise",
           suffixes=(".mxl", ".xml", ".krn"), part="Soprano"),
    Corpus("airds", "airdsAirs", "Aird's Selection of Scotch, English, Irish and Foreign Airs"),
    Corpus("miscfolk", "miscFolk", "American fife music and Northumbrian minstrelsy"),
    Corpus("nottingham", "nottingham-dataset", "Nottingham Music Database sample (2 reels)"),
)}


@dataclass(frozen=True)
class _File:
    """One file to read, with the part its corpus reads by default."""

    path: Path
    part: str | None = None


@dataclass(frozen=True)
class CorpusInfo:
    """A row of ``list_corpora``."""

    name: str
    description: str
    files: int
    pieces: int


# --- sources ------------------------------------------------------------------------------

def corpus_root() -> Path:
    """music21's bundled corpus folder, found without importing music21."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("corpus: sources need music21: pip install music21")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def _lookup_corpus(name: str, spec: str) -> Corpus:
    """The corpus ``name`` (the part of ``corpus:SPEC`` before any /BOOK)."""
    wanted = name.lower()
    for corpus in CORPORA.values():
        if wanted in (corpus.name, corpus.folder.lower()):
            return corpus
    shown = f"corpus:{spec}" if spec == name else f"corpus:{spec}: '{name}'"
    raise MelodyError(f"{shown}: unknown corpus: expected one of "
                      f"{', '.join(CORPORA)} or essen/BOOK (see 'melodyrnn data list-corpora')")


def _book_name(stem: str) -> str:
    return stem.rstrip("0123456789") or stem


def _corpus_files(spec: str) -> list[_File]:
    name, _, book = spec.partition("/")
    corpus = _lookup_corpus(name, spec)
    folder = corpus_root() / corpus.folder
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in corpus.suffixes
                   and not p.stem.lower().startswith(corpus.exclude))
    if book:
        chosen = [p for p in files if book.lower() in (p.stem.lower(), _book_name(p.stem).lower())]
        if not chosen:
            books = sorted({_book_name(p.stem) for p in files})
            raise MelodyError(f"corpus:{spec}: no book '{book}' in {corpus.name}: expected one "
                              f"of {', '.join(books)}")
        files = chosen
    return [_File(p, corpus.part) for p in files]


def _is_glob(source: str) -> bool:
    return any(ch in source for ch in "*?[")


def _folder_files(folder: Path) -> list[Path]:
    """Music files under a folder; symlinked folders inside are not entered (no loops)."""
    found = []
    for root, folders, names in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found += [Path(root) / name for name in names if not name.startswith(".")
                  and Path(name).suffix.lower() in SUFFIXES and (Path(root) / name).is_file()]
    return sorted(found)


def _glob(pattern: str) -> list[Path]:
    """Paths matching a glob; ``**`` never enters symlinked folders, so a loop cannot hang it."""
    if "**" not in pattern:
        return [Path(p) for p in sorted(glob.glob(pattern))]
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if _is_glob(part))
    base = Path(*parts[:first]) if first else Path(".")
    rest = str(Path(*parts[first:]))
    # pathlib's "**" does not follow symlinks to folders (glob.glob's does, endlessly)
    return sorted(p for p in base.glob(rest)
                  if not any(part.startswith(".") for part in p.relative_to(base).parts))


def expand_sources(sources: Iterable[str]) -> tuple[list[_File], list[Rejection]]:
    """Files named by paths, folders (recursive), globs and ``corpus:NAME``, without repeats."""
    files: list[_File] = []
    rejected: list[Rejection] = []
    for source in sources:
        source = str(source)
        if source.startswith("corpus:"):
            files += _corpus_files(source[len("corpus:"):])
            continue
        paths = _glob(source) if _is_glob(source) else [Path(source)]
        if not paths:
            rejected.append(Rejection(source, "no files match"))
        for path in paths:
            if path.is_dir():
                found = _folder_files(path)
                if not found:
                    rejected.append(Rejection(str(path), "folder holds no music files "
                                              f"({' '.join(SUFFIXES)})"))
                files += [_File(p) for p in found]
            elif path.exists():
                files.append(_File(path))
            else:
                rejected.append(Rejection(str(path), "not found"))
    seen: set[Path] = set()
    unique = []
    for item in files:
        resolved = item.path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(item)
    return unique, rejected


def excluding(files: list[_File], exclude: Iterable[str]) -> list[_File]:
    """``files`` without those named by the ``exclude`` sources; an exclusion that names
    nothing among ``files``, or one that leaves nothing, is a MelodyError."""
    kept = files
    for source in exclude:
        dropped = {item.path.resolve() for item in expand_sources([source])[0]}
        remaining = [item for item in kept if item.path.resolve() not in dropped]
        if len(remaining) == len(kept):
            raise MelodyError(f"--exclude {source}: matches none of the sources' files")
        kept = remaining
    if not kept:
        raise MelodyError(f"--exclude {' '.join(exclude)}: leaves no files to read")
    return kept


def list_corpora() -> list[CorpusInfo]:
    """Every ``corpus:`` name with its file and tune counts (Essen books too), without parsing."""
    rows = []
    for corpus in CORPORA.values():
        files = _corpus_files(corpus.name)
        rows.append(CorpusInfo(corpus.name, corpus.description, len(files),
                               sum(_count_pieces(f.path) for f in files)))
        if corpus.name == "essen":
            books: dict[str, list[Path]] = {}
            for item in files:
                books.setdefault(_book_name(item.path.stem), []).append(item.path)
            for book, paths in books.items():
                rows.append(CorpusInfo(f"essen/{book}", f"Essen book {book}", len(paths),
                                       sum(_count_pieces(p) for p in paths)))
    return rows


def _count_pieces(path: Path) -> int:
    if path.suffix.lower() != ".abc":
        return 1
    return len(re.findall(rb"(?m)^X:", path.read_bytes()))


# --- parsing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """Work for one process: a whole file, or some tunes of an ABC book."""

    file_index: int
    path: str
    part: str | None
    quantize: str
    keep_rests: bool
    tunes: tuple[tuple[str, str], ...] | None = None  # (label, text) of ABC tunes
    seconds: float = PARSE_SECONDS  # the time limit of each file or tune

    @property
    def size(self) -> int:
        return len(self.tunes) if self.tunes is not None else 1


def run_job(job: _Job) -> list[Piece]:
    """Parse one job; every failure of a file or tune (an exception of any type, or taking
    longer than ``job.seconds``) becomes its Rejection (missing dependencies excepted)."""
    options = {"quantize": job.quantize, "part": job.part, "keep_rests": job.keep_rests}
    if job.tunes is not None:
        pieces: list[Piece] = []
        for label, text in job.tunes:
            source = f"{job.path}#{label}" if label else job.path
            pieces += guarded(lambda text=text, source=source: [
                read_abc_tune(text, source, **options)], source, job.seconds)
        return pieces
    return guarded(lambda: read_pieces(job.path, **options), job.path, job.seconds)


def _jobs_for(index: int, item: _File, content: bytes, options: IngestOptions) -> list[_Job]:
    part = options.part if options.part is not None else item.part
    base = _Job(index, str(item.path), part, options.quantize, options.keep_rests,
                seconds=options.parse_timeout)
    if item.path.suffix.lower() != ".abc":
        return [base]
    tunes = split_abc(decode_text(content))
    if not tunes or len(tunes) > MAX_TUNES_PER_FILE:  # the whole-file reader says why not
        return [base]
    return [replace(base, tunes=tuple(tunes[i:i + TUNES_PER_JOB]))
            for i in range(0, len(tunes), TUNES_PER_JOB)]


def _run_all(jobs: list[_Job], workers: int, progress: bool, caching: bool = True
             ) -> Iterator[tuple[_Job, list[Piece]]]:
    """Run jobs in a process pool (or here when one worker is enough), yielding as they finish;
    ``caching`` says whether what they parse is kept for the next run (for the log line)."""
    from tqdm import tqdm

    total = sum(j.size for j in jobs)
    if progress and total >= LOGGED_PARSE and not sys.stderr.isatty():  # a log, not a terminal
        files = len({j.path for j in jobs})
        cached = " (cached for the next run)" if caching else ""
        print(f"parsing {total} pieces in {files} file{'s' * (files != 1)} with {workers} "
              f"process{'es' * (workers != 1)}{cached}...",
              file=sys.stderr, flush=True)
    bar = tqdm(total=total, unit="piece", desc="parsing", file=sys.stderr,
               disable=None if progress else True, leave=False)
    here = [j for j in jobs if workers <= 1 or len(jobs) <= 1
            or Path(j.path).suffix.lower() in IN_PROCESS_SUFFIXES]
    pooled = sorted((j for j in jobs if j not in here), key=lambda j: -j.size)
    try:
        for job in here:  # time-limited by a timer in this process
            yield job, run_job(job)
            bar.update(job.size)
        # In worker processes a stuck job is also stopped from outside, after its own limit.
        for outcome in run_jobs(run_job, pooled, workers, _job_deadline) if pooled else ():
            job = outcome.job
            yield job, (outcome.result if outcome.failure is None
                        else _failed(job, outcome.failure))
            bar.update(job.size)
    finally:
        bar.close()


def _job_deadline(job: _Job) -> float:
    return job.seconds * job.size + POOL_GRACE_SECONDS


def _failed(job: _Job, reason: str) -> list[Piece]:
    """One Rejection per file or tune of a job whose process crashed or was stopped."""
    if job.tunes is None:
        return [Rejection(job.path, reason)]
    return [Rejection(f"{job.path}#{label}" if label else job.path, reason)
            for label, _ in job.tunes]


def _worker_count(jobs: int) -> int:
    return jobs or os.cpu_count() or 1


# --- loading ------------------------------------------------------------------------------

def load(sources: list[str], options: IngestOptions | None = None,
         progress: bool = True) -> IngestResult:
    """Melodies from every source; raise MelodyError with the rejections if none is usable."""
    options = options or IngestOptions()
    files, rejected = expand_sources(sources)
    if options.exclude:
        files = excluding(files, options.exclude)
    cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
    per_file: list[list[Piece] | None] = [None] * len(files)
    cache_paths: list[Path | None] = [None] * len(files)
    jobs: list[_Job] = []
    shipped = ShippedEntries()
    for index, item in enumerate(files):
        try:  # only regular files, within the size limit: never a FIFO or /dev/zero
            content = read_bytes(item.path, what="music file")
        except MelodyError as err:
            per_file[index] = [Rejection(str(item.path),
                                         str(err).removeprefix(f"{item.path}: "))]
            continue
        if options.use_cache:
            part = options.part if options.part is not None else item.part
            key = cache_key(content, item.path.suffix.lower(), options.quantize, part,
                            options.keep_rests)
            cache_paths[index] = cache_dir / f"{key}.json"
            per_file[index] = read_cache(cache_paths[index], str(item.path))
            if per_file[index] is None:
                per_file[index] = shipped.pieces(key, str(item.path))
        if per_file[index] is None:
            jobs += _jobs_for(index, item, content, options)
    parsed: dict[int, dict[int, list[Piece]]] = {}
    for job, pieces in _run_all(jobs, _worker_count(options.jobs), progress,
                                  options.use_cache) if jobs else ():
        parsed.setdefault(job.file_index, {})[id(job)] = pieces
    order = {id(job): n for n, job in enumerate(jobs)}
    unsettled = set()  # crashed or stopped: worth another try next time, so not cached
    for index, chunks in parsed.items():
        pieces = [p for key in sorted(chunks, key=order.__getitem__) for p in chunks[key]]
        per_file[index] = pieces
        if any(isinstance(p, Rejection) and _unsettled(p.reason) for p in pieces):
            unsettled.add(index)
    melodies: list[Melody] = []
    origins: list[str] = []
    for index, pieces in enumerate(per_file):
        pieces = pieces or [Rejection(str(files[index].path), "no melodies")]
        if cache_paths[index] is not None and index in parsed and index not in unsettled:
            write_cache(cache_paths[index], pieces, str(files[index].path))
        for number, piece in enumerate(pieces, start=1):
            if isinstance(piece, Melody):
                melodies.append(piece)
                origins.append(str(files[index].path) + (f" #{number}" if len(pieces) > 1
                                                         else ""))
            else:
                rejected.append(piece)
    if not melodies:
        raise NoMelodies(list(map(str, sources)), rejected, len(files))
    augmented, groups = _transpose(melodies, options.transpose)
    return IngestResult(augmented, rejected, len(files), groups, [origins[g] for g in groups])


def _unsettled(reason: str) -> bool:
    return reason == CRASHED or "took longer than" in reason or "took too long" in reason


class NoMelodies(MelodyError):
    """No source yielded a melody: one line naming the sources (``rejected`` has the rest)."""

    def __init__(self, sources: list[str], rejected: list[Rejection], files: int) -> None:
        self.rejected, self.files = rejected, files
        if len(rejected) == 1:
            line = _named(rejected[0])
        else:
            shown = "; ".join(_named(r) for r in rejected[:SUMMARY_EXAMPLES])
            more = len(rejected) - SUMMARY_EXAMPLES
            line = (f"no usable melodies in {', '.join(sources)}: {shown}"
                    + (f"; and {more} more rejected" if more > 0 else ""))
        super().__init__(line)


def _named(rejection: Rejection) -> str:
    """'song.mid: no notes'; a reason that already names its file (with a line and column)
    is not prefixed again."""
    if rejection.reason.startswith(f"{rejection.source}:"):
        return rejection.reason
    return f"{rejection.source}: {rejection.reason}"


def _transpose(melodies: list[Melody], mode: str | None) -> tuple[list[Melody], list[int]]:
    if mode == "C":
        return [normalise_key(m) for m in melodies], list(range(len(melodies)))
    if mode == "all":
        result, groups = [], []
        for index, melody in enumerate(melodies):
            for moved in transpositions(melody):
                result.append(moved)
                groups.append(index)
        return result, groups
    return melodies, list(range(len(melodies)))


def rejection_summary(rejected: list[Rejection], total: int | None = None) -> str:
    """Rejections grouped by reason, most common first, with a few examples each."""
    if not rejected:
        return "rejected: none"
    head = f"rejected {len(rejected)}" + (f" (of {total} files)" if total else "")
    by_reason: dict[str, list[str]] = {}
    for item in rejected:
        by_reason.setdefault(item.reason, []).append(item.source)
    lines = [head + ":"]
    counts = Counter({reason: len(srcs) for reason, srcs in by_reason.items()})
    for reason, count in counts.most_common(SUMMARY_REASONS):
        examples = ", ".join(by_reason[reason][:SUMMARY_EXAMPLES])
        more = " ..." if count > SUMMARY_EXAMPLES else ""
        lines.append(f"  {count:>5} × {reason}  (e.g. {examples}{more})")
    if len(counts) > SUMMARY_REASONS:
        rest = sum(c for _, c in counts.most_common()[SUMMARY_REASONS:])
        lines.append(f"  {rest:>5} × other reasons")
    return "\n".join(lines)


def split_by_melody(melodies: list[Melody], valid_fraction: float, seed: int = 0,
                    groups: list[int] | None = None) -> tuple[list[int], list[int]]:
    """Train and validation indexes: whole melodies (or groups of them) held out, fixed seed."""
    if not 0 <= valid_fraction < 1:
        raise MelodyError(f"valid fraction {valid_fraction}: expected 0 <= fraction < 1")
    groups = groups if groups is not None else list(range(len(melodies)))
    if len(groups) != len(melodies):
        raise MelodyError("groups must give one group per melody")
    names = sorted(set(groups))
    if valid_fraction == 0:
        return list(range(len(melodies))), []
    if len(names) < 2:
        raise MelodyError(f"--valid-fraction {valid_fraction:g}: holding melodies out for "
                          f"validation needs at least 2, got {len(names)} "
                          "(--valid-fraction 0 trains on every melody)")
    count = min(len(names) - 1, max(1, round(len(names) * valid_fraction)))
    random.Random(seed).shuffle(names)
    held = set(names[:count])
    train = [i for i, g in enumerate(groups) if g not in held]
    valid = [i for i, g in enumerate(groups) if g in held]
    return train, valid
