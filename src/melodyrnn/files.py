"""Files on disk: outputs checked before the work and written atomically, inputs read safely.

The lowest layer beside ``errors``: every other package reads and writes through here.

- ``check_output`` says before any work whether ``-o PATH`` may be written: a new file in an
  existing writable folder, or an existing regular file that is not one of the inputs. A
  symlink is followed: the file it points to is replaced and the link stays a link.
- ``atomic_write`` writes a temporary file beside the target and renames it into place: an
  interrupted or failed write leaves the old file (and its mode) as it was and no temporary
  file behind; it never replaces a device, FIFO, socket or folder.
- ``read_bytes`` opens only regular files (a FIFO never blocks, a device is never opened) and
  refuses files above the input size limit, ``melodyrnn --max-file-mb`` (default 16 MB).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from melodyrnn.errors import FileError

STDOUT = "-"  # ``-o -``: standard output, where a command allows it
MAX_FILE_MB_ENV = "MELODYRNN_MAX_FILE_MB"  # set by ``melodyrnn --max-file-mb N``
DEFAULT_MAX_FILE_MB = 16
MB = 1 << 20
_READ_CHUNK = 1 << 20
_TEMP_NAME_CHARS = 40  # of the target's name in the temporary file's name


def max_file_bytes() -> int:
    """The size limit for input files: ``MELODYRNN_MAX_FILE_MB`` megabytes, default 16."""
    text = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    try:
        megabytes = int(text) if text else DEFAULT_MAX_FILE_MB
    except ValueError:
        raise FileError(f"{MAX_FILE_MB_ENV}={text!r}: expected a whole number of megabytes") \
            from None
    if megabytes < 1:
        raise FileError(f"{MAX_FILE_MB_ENV}={text!r}: expected 1 or more megabytes")
    return megabytes * MB


def too_big(path: str | Path, size: int, limit: int, what: str = "") -> FileError:
    """The error for an input of ``size`` bytes above ``limit``, saying how to raise it."""
    return FileError(f"{path}: {what or 'file'} of {_megabytes(size)} is more than the "
                     f"{_megabytes(limit)} limit for input files (raise it with "
                     "`melodyrnn --max-file-mb N`)")


def _megabytes(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= 10 * MB else f"{size / MB:.1f} MB"


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, e.g. 'a FIFO', 'a character device'."""
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


# --- reading ------------------------------------------------------------------------------

def regular_file(path: str | Path, what: str = "file") -> os.stat_result:
    """The ``stat`` of a regular file (symlinks followed); FileError for anything else."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileError(f"{path}: no such {what}") from None
    except OSError as err:
        raise FileError(f"{path}: cannot read: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileError(f"{path}: is {kind_of(info.st_mode)}, not a regular file: expected "
                        f"a {what}")
    return info


def read_bytes(path: str | Path, limit: int | None = None, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default ``max_file_bytes()``).

    A FIFO, device, socket or folder is refused without reading (a device is never even
    opened), so nothing blocks and nothing grows without bound.
    """
    limit = max_file_bytes() if limit is None else limit
    info = regular_file(path, what)  # before opening: opening some devices has effects
    if info.st_size > limit:
        raise too_big(path, info.st_size, limit, what)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as err:
        raise FileError(f"{path}: cannot read: {err.strerror}") from None
    try:
        opened = os.fstat(handle)  # the file may have been swapped since the stat above
        if not stat.S_ISREG(opened.st_mode):
            raise FileError(f"{path}: is {kind_of(opened.st_mode)}, not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(handle, min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise FileError(f"{path}: cannot read: {err.strerror}") from None
    finally:
        os.close(handle)
    if size > limit:  # it grew while being read
        raise too_big(path, size, limit, what)
    return b"".join(chunks)


# --- writing ------------------------------------------------------------------------------

def is_stdout(path: str | Path | None) -> bool:
    """True for ``-o -``."""
    return path is not None and str(path) == STDOUT


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = (),
                 suffixes: Iterable[str] | None = None, option: str = "-o") -> Path:
    """``path`` if a command may write there; FileError naming the option and why not.

    Allowed: a new file in an existing writable folder, or an existing writable regular file
    that is none of ``inputs`` (compared by device and inode, so another name for the same
    file is caught). A symlink is judged by the file it points to. With ``suffixes``, the
    name must end in one of them (case does not matter).
    """
    given = Path(path)
    where = f"{option} {path}"
    if not str(path) or given.name in ("", ".", ".."):
        raise FileError(f"{where}: expected a file name")
    target = Path(os.path.realpath(given))
    try:
        existing: os.stat_result | None = os.stat(given)
    except FileNotFoundError:
        existing = None  # a new file (or a link to one that does not exist yet)
    except OSError as err:  # a symlink loop, a name too long, a folder we may not enter
        raise FileError(f"{where}: {err.strerror}") from None
    if existing is not None:
        if not stat.S_ISREG(existing.st_mode):
            raise FileError(f"{where}: is {kind_of(existing.st_mode)}: expected a regular "
                            "file or a new file name")
        for source in inputs:
            if _same_file(existing, source):
                raise FileError(f"{where}: is the same file as the input {source}: writing "
                                "would destroy it; choose another output")
        if not os.access(target, os.W_OK):
            raise FileError(f"{where}: the file is read-only")
    allowed = tuple(s.lower() for s in suffixes) if suffixes is not None else None
    if allowed is not None and given.suffix.lower() not in allowed:
        raise FileError(f"{where}: unknown output suffix '{given.suffix}': expected a "
                        f"{_either(allowed)} file")
    folder = target.parent
    if not folder.is_dir():
        raise FileError(f"{where}: folder '{given.parent}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileError(f"{where}: cannot write in folder '{given.parent}': permission denied")
    longest = os.pathconf(folder, "PC_NAME_MAX")
    if len(os.fsencode(target.name)) > longest:
        raise FileError(f"{where}: the file name is too long (more than {longest} bytes)")
    return given


def _either(words: tuple[str, ...]) -> str:
    """'.csv or .png', '.mid, .txt or .abc'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _same_file(existing: os.stat_result, source: str | Path) -> bool:
    try:
        other = os.stat(source)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (existing.st_dev, existing.st_ino)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it into place only if the block succeeds.

    The old file keeps its mode; a symlink keeps pointing at the new file; any failure leaves
    the old file and no temporary one, and an ``OSError`` (disk full, read-only folder,
    permission, name too long) becomes a one-line ``FileError`` naming the path.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        existing: os.stat_result | None = os.stat(target)
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise FileError(f"{path}: is {kind_of(existing.st_mode)}: refusing to replace it with "
                        "a regular file")
    if not target.parent.is_dir():
        raise FileError(f"{path}: folder '{path.parent if str(path.parent) else '.'}' does "
                        "not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name[:_TEMP_NAME_CHARS]}.",
                                             suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise FileError(f"{path}: cannot write: {err.strerror}") from None
    try:
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        file_mode = stat.S_IMODE(existing.st_mode) if existing else 0o666 & ~_current_umask()
        os.chmod(temporary, file_mode)  # mkstemp makes files private
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise FileError(f"{path}: cannot write: {err.strerror or err}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
