"""files: outputs checked before the work and written atomically; inputs read safely."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from melodyrnn import files
from melodyrnn.errors import FileError, MelodyError
from melodyrnn.files import atomic_write, check_output, max_file_bytes, read_bytes


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- reading ----------------------------------------------------------------------------------

def test_a_fifo_is_refused_at_once_without_blocking(tmp_path):
    fifo = tmp_path / "song.mid"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block forever
    with pytest.raises(FileError, match=r"song\.mid: is a FIFO, not a regular file"):
        read_bytes(fifo)


def test_a_device_is_refused_without_being_opened(tmp_path):
    (tmp_path / "zero.mid").symlink_to("/dev/zero")
    with pytest.raises(FileError, match="is a character device"):
        read_bytes(tmp_path / "zero.mid")


def test_a_folder_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(FileError, match="is a folder"):
        read_bytes(tmp_path)
    with pytest.raises(FileError, match=r"absent\.txt: no such song file"):
        read_bytes(tmp_path / "absent.txt", what="song file")


def test_files_above_the_limit_are_refused_and_the_message_says_how_to_raise_it(tmp_path,
                                                                               monkeypatch):
    path = tmp_path / "big.txt"
    path.write_bytes(b"c4 " * 700_000)  # 2.1 MB
    monkeypatch.setenv(files.MAX_FILE_MB_ENV, "2")
    assert max_file_bytes() == 2 * files.MB
    with pytest.raises(FileError, match=r"2\.0 MB is more than the 2\.0 MB limit.*--max-file-mb"):
        read_bytes(path)
    monkeypatch.setenv(files.MAX_FILE_MB_ENV, "3")
    assert read_bytes(path) == path.read_bytes()


def test_the_default_limit_is_16_mb_and_a_bad_setting_is_named(monkeypatch):
    monkeypatch.delenv(files.MAX_FILE_MB_ENV, raising=False)
    assert max_file_bytes() == 16 * files.MB
    monkeypatch.setenv(files.MAX_FILE_MB_ENV, "lots")
    with pytest.raises(FileError, match="MELODYRNN_MAX_FILE_MB='lots'"):
        max_file_bytes()


# --- checking outputs -------------------------------------------------------------------------

def test_a_new_file_in_an_existing_folder_or_an_existing_file_may_be_written(tmp_path):
    assert check_output(tmp_path / "new.mid", suffixes=(".mid",)) == tmp_path / "new.mid"
    (tmp_path / "old.mid").write_bytes(b"old")
    assert check_output(tmp_path / "old.mid", suffixes=(".MID",)) == tmp_path / "old.mid"


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: os.mkfifo(p), "is a FIFO"),
    (lambda p: p.symlink_to("/dev/null"), "is a character device"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.symlink_to(p.name), "Too many levels of symbolic links"),
], ids=["fifo", "device", "folder", "symlink-loop"])
def test_anything_but_a_regular_file_is_refused(tmp_path, make, expected):
    target = tmp_path / "out.pt"
    make(target)
    kind = os.lstat(target).st_mode
    with pytest.raises(FileError, match=f"-o {target}: {expected}"):
        check_output(target)
    assert os.lstat(target).st_mode == kind  # untouched


def test_an_input_is_never_an_output_even_under_another_name(tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("c4 d4\n")
    os.link(song, tmp_path / "alias.txt")
    for name in ("song.txt", "alias.txt"):
        with pytest.raises(FileError, match="is the same file as the input"):
            check_output(tmp_path / name, inputs=[song])


def test_a_symlink_is_judged_by_its_target(tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("c4\n")
    (tmp_path / "link.txt").symlink_to(song)
    with pytest.raises(FileError, match="same file as the input"):
        check_output(tmp_path / "link.txt", inputs=[song])
    (tmp_path / "new-link.mid").symlink_to(tmp_path / "not-yet.mid")  # dangling: a new file
    assert check_output(tmp_path / "new-link.mid")


def test_suffix_folder_and_name_are_checked(tmp_path):
    with pytest.raises(FileError, match=r"unknown output suffix '\.mp3': expected a \.wav file"):
        check_output(tmp_path / "x.mp3", suffixes=(".wav",))
    with pytest.raises(FileError, match=r"folder '.*absent' does not exist"):
        check_output(tmp_path / "absent" / "x.wav")
    with pytest.raises(FileError, match="too long"):
        check_output(tmp_path / ("x" * 300 + ".wav"))
    with pytest.raises(FileError, match="expected a file name"):
        check_output("")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_or_file_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "ro.txt").write_text("keep")
    (tmp_path / "ro.txt").chmod(0o444)
    locked.chmod(0o555)
    try:
        with pytest.raises(FileError, match="permission denied"):
            check_output(locked / "x.txt")
        with pytest.raises(FileError, match="read-only"):
            check_output(tmp_path / "ro.txt")
    finally:
        locked.chmod(0o755)


# --- atomic writes ----------------------------------------------------------------------------

def test_an_overwritten_file_keeps_its_mode(tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("old")
    path.chmod(0o640)
    with atomic_write(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_writing_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as file:
        file.write(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_a_fifo_or_device_is_never_replaced(tmp_path):
    fifo = tmp_path / "out.mid"
    os.mkfifo(fifo)
    with pytest.raises(FileError, match="is a FIFO: refusing to replace it"), \
            atomic_write(fifo) as file:
        file.write(b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_an_os_error_is_one_line_naming_the_path_and_leaves_the_old_file(tmp_path, monkeypatch,
                                                                         code):
    path = tmp_path / "model.pt"
    path.write_bytes(b"old")

    def fail(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(FileError) as info, atomic_write(path) as file:
        file.write(b"new")
    assert str(info.value) == f"{path}: cannot write: {os.strerror(code)}"
    assert isinstance(info.value, MelodyError) and isinstance(info.value, OSError)
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_very_long_name_still_gets_a_temporary_file_that_fits(tmp_path):
    path = tmp_path / ("n" * 240 + ".txt")
    with atomic_write(path) as file:
        file.write(b"ok")
    assert path.read_bytes() == b"ok" and leftovers(tmp_path) == []
