"""Hostile inputs for the CLI tests, generated where a test wants them (nothing is committed).

``music_files(folder)`` writes files a hostile or careless user could hand to any command
that reads music; ``checkpoints(folder, good)`` makes tampered copies of a good checkpoint.
Each returns {case name: (path, fragment the one-line error must contain)}. Run it alone
to look at the files: ``python tests/hostile/make_corpus.py OUTDIR [GOOD.pt]``.
"""

from __future__ import annotations

import os
import struct
import sys
import zipfile
from pathlib import Path

MB = 1 << 20
GOOD_SONG = "g8 e8 e4 f8 d8 d4 c8 d8 e8 f8 g8 g8 g4\n"
FAKE_PASSWD = "root:x:0:0:root:/root:/bin/bash\nsecret-line-that-must-not-leak\n"


# --- MIDI bytes, written by hand so that any field can hold any value -------------------------

def _vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(meta: list[bytes] = (), notes: int = 3, ticks: int = 480) -> bytes:
    """A format-0 MIDI file: ``meta`` events (delta 0) then ``notes`` quarter notes from C4."""
    events = b"".join(b"\x00" + event for event in meta)
    for index in range(notes):
        events += b"\x00" + bytes([0x90, 60 + index, 80]) + _vlq(ticks) + bytes([0x80, 60 + index, 0])
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def time_signature(numerator: int, denominator_power: int) -> bytes:
    return bytes([0xFF, 0x58, 4, numerator, denominator_power, 24, 8])


def set_tempo(microseconds: int) -> bytes:
    return b"\xff\x51\x03" + microseconds.to_bytes(3, "big")


# --- music files ------------------------------------------------------------------------------

def zip_bomb(path: Path, unpacked: int) -> None:
    """A small .mxl whose MusicXML member unpacks to ``unpacked`` bytes."""
    chunk = b" " * MB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("score.musicxml", "w", force_zip64=True) as member:
        member.write(b"<?xml version='1.0'?><score-partwise>")
        for _ in range(unpacked // MB):
            member.write(chunk)


def music_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Hostile music files in ``folder``: {case: (path, fragment of the expected error)}."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, path: Path, expected: str) -> None:
        cases[name] = (path, expected)

    fifo = folder / "fifo.mid"
    os.mkfifo(fifo)
    case("a FIFO named like a MIDI file", fifo, "is a FIFO")
    zero = folder / "zero.mid"
    zero.symlink_to("/dev/zero")
    case("/dev/zero named like a MIDI file", zero, "is a character device")
    big = folder / "big.txt"
    with open(big, "wb") as file:
        file.truncate(17 * MB)  # sparse: costs no disk
    case("a file above the size limit", big, "limit for input files")
    bomb = folder / "bomb.mxl"
    zip_bomb(bomb, 64 * MB)
    case("an .mxl zip bomb", bomb, "unpacked .mxl")
    for name, meta, expected in [
        ("denominator.mid", [time_signature(4, 255)], "time signature 4/2^255"),
        ("numerator0.mid", [time_signature(0, 2)], "time signature 0/4"),
        ("tempo0.mid", [set_tempo(0)], None),  # a tempo of 0 is ignored: the file reads
        ("badkey.mid", [b"\xff\x59\x02\x14\x00"], "not a readable MIDI file"),
    ]:
        (folder / name).write_bytes(midi_bytes(meta))
        if expected:
            case(f"MIDI {name}", folder / name, expected)
    (folder / "tempo0.abc").write_text("X:1\nT:t\nM:4/4\nQ:1/4=0\nL:1/8\nK:C\nCDEF GABc|\n")
    case("ABC with Q:1/4=0", folder / "tempo0.abc", "tempo0.abc#X:1")
    slurs = folder / "slurs.abc"
    slurs.write_text("X:1\nT:slurs\nM:4/4\nL:1/8\nK:C\n" + " ".join(["(C"] * 800) + "\n")
    case("ABC with 800 open slurs (minutes in music21)", slurs, "took longer than")
    for name, text, expected in [
        ("long-note.txt", "c4*10000/1\n", "1:1: 'c4*10000/1': a note of 10000 quarter notes"),
        ("huge-note.txt", "c4*1000000/1\n", "1:1:"),
        ("digits.txt", "c4*" + "9" * 5000 + "/1\n", "at most 6 digits"),
        ("tempo-digits.txt", "\\tempo " + "9" * 5000 + "\nc4\n", "1:1: '\\tempo 9999"),
        ("tie-chain.txt", "c1~ " * 2000 + "c1\n", "expected at most 1024"),
        ("metre0.txt", "\\time 0/4\nc4\n", "'\\time 0/4'"),
        ("nul.txt", "c4 \x00x4\n", "'\\x00x4' is not a note"),
    ]:
        (folder / name).write_text(text)
        case(f"song text {name}", folder / name, expected)
    secret = folder / "passwd"
    secret.write_text(FAKE_PASSWD)
    link = folder / "passwd.txt"
    link.symlink_to(secret)
    case("a song symlinked to a password file", link, "passwd.txt:1:1: not a song text")
    return cases


def symlink_loop(folder: Path) -> Path:
    """A folder whose subfolder links back to it (twice): a naive ``**`` walk never ends."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "song.txt").write_text(GOOD_SONG)
    (folder / "again").symlink_to(".")
    (folder / "more").symlink_to(".")
    return folder


# --- checkpoints ------------------------------------------------------------------------------

def tamper(good: Path, path: Path, change) -> Path:
    """A copy of the checkpoint ``good`` at ``path``, its payload changed by ``change``."""
    import torch

    payload = torch.load(good, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def checkpoints(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Tampered copies of the checkpoint ``good``: {case: (path, expected fragment)}."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, str]] = {}

    def tampered(name: str, expected: str, change) -> None:
        cases[name] = (tamper(good, folder / f"{name}.pt", change), expected)

    def config(**values):
        return lambda payload: payload["model_config"].update(values)

    tampered("hidden-30000", "expected at most 2048", config(hidden=30000))
    tampered("hidden-0", "expected 1 or more", config(hidden=0))
    tampered("hidden-negative", "expected 1 or more", config(hidden=-5))
    tampered("hidden-text", "not of type int", config(hidden="128"))
    tampered("layers-100000", "expected at most 8", config(layers=100000))
    tampered("embedding-0", "expected 1 or more", config(embedding_dim=0))
    tampered("vocabulary-10M", "distinct tokens", config(vocab_size=10_000_000,
                                                         output_size=10_000_000))
    tampered("unknown-arch", "expected one of", config(arch="transformer"))
    tampered("codec-tokens-number", "codec", lambda p: p["codec"].update(tokens=5))
    tampered("codec-kind", "unknown codec kind", lambda p: p["codec"].update(kind="midi"))
    tampered("codec-too-few-tokens", "tokens for a model of",
             lambda p: p["codec"].update(tokens=p["codec"]["tokens"][:-1]))
    tampered("metadata-metre", "time signature 4/0",
             lambda p: p["metadata"].update(time_signature=[4, 0]))
    tampered("metadata-tempo", "tempo 0", lambda p: p["metadata"].update(tempo=0))
    tampered("metadata-key", "not a", lambda p: p["metadata"].update(key="H major"))
    tampered("metadata-type", "metadata must be", lambda p: p.update(metadata=[1, 2]))
    tampered("batching", "batching", lambda p: p["train_config"].update(batching="magic"))
    tampered("openings", "openings", lambda p: p["metadata"].update(
        openings=[{"tokens": [10**6], "pickup": [1, 0]}]))
    tampered("opening-pickup-1-over-0", "opening 1: ZeroDivisionError: expected the metre, tempo, "
             "key and pickup of a melody", lambda p: p["metadata"].update(
                 openings=[{"tokens": [0, 1], "time_signature": [2, 4], "tempo": 100,
                            "pickup": [1, 0]}]))

    def corrupt(payload) -> None:  # a flipped weight: the stored checksum no longer matches
        name = sorted(payload["state_dict"])[0]
        payload["state_dict"][name] = payload["state_dict"][name].clone()
        payload["state_dict"][name].view(-1)[0] += 1.0

    tampered("corrupted-weights", "checksum", corrupt)

    def wrong_shape(payload) -> None:
        name = sorted(payload["state_dict"])[0]
        payload["state_dict"][name] = torch.zeros(3, 3)

    tampered("weights-wrong-shape", "do not fit the model config", wrong_shape)
    tampered("extra-tensor", "MB of tensors",
             lambda p: p["metadata"].update(extra=torch.zeros(24 * MB // 4)))
    bomb = folder / "zip-bomb.pt"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as archive:
        for member in source.infolist():
            archive.writestr(member, source.read(member), zipfile.ZIP_DEFLATED)
        with archive.open("archive/data/huge", "w", force_zip64=True) as huge:
            for _ in range(64):  # 64 MB from a few kB
                huge.write(b"\0" * MB)
    cases["zip-bomb"] = (bomb, "compressed archive member")
    fifo = folder / "fifo.pt"
    os.mkfifo(fifo)
    cases["fifo"] = (fifo, "is a FIFO")
    random_bytes = folder / "random.pt"
    random_bytes.write_bytes(os.urandom(4096))
    cases["random-bytes"] = (random_bytes, "not a readable melodyrnn checkpoint")
    return cases


def resume_states(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Checkpoints whose training state cannot be resumed: {case: (path, expected)}."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, str]] = {}
    for name, change, expected in [
        ("no-epoch", lambda s: s.pop("epoch"), "missing 'epoch'"),
        ("negative-epoch", lambda s: s.update(epoch=-3), "epoch -3"),
        ("bad-rng", lambda s: s.update(torch_rng=torch.zeros(3, dtype=torch.uint8)), "state"),
        ("bad-optimizer", lambda s: s.update(optimizer={"state": {}, "param_groups": []}),
         "training state"),
    ]:
        payload = torch.load(good, weights_only=True)
        change(payload["training_state"])
        path = folder / f"resume-{name}.pt"
        torch.save(payload, path)
        cases[name] = (path, expected)
    return cases


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, (path, expected) in music_files(out / "music").items():
        print(f"{name:48} {path}  -> {expected!r}")
    if len(sys.argv) > 2:
        for name, (path, expected) in checkpoints(out / "models", Path(sys.argv[2])).items():
            print(f"{name:48} {path}  -> {expected!r}")
