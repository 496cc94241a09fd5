"""Hostile and careless input to the real command line: every case ends in one error line that
names the file or option, within 10 s, under a 1 GiB address-space limit, with no traceback;
no device, FIFO or input file is ever touched.

The commands of one test run one after another in a single limited process (``driver.py``),
so torch loads once; the cases that need a process of their own (signals, the real entry
point) run as one.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from limited import report, run_cases, run_process
from make_corpus import (
    GOOD_SONG,
    checkpoints,
    midi_bytes,
    music_files,
    resume_states,
    symlink_loop,
    tamper,
)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A working folder with one good song in it."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "song.txt").write_text(GOOD_SONG)
    return folder


@pytest.fixture(scope="module")
def text_model(home) -> Path:
    """A character model of one sentence, as `train --kind text` saves it."""
    from melodyrnn.codecs.text import CharCodec
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.models.config import ModelConfig
    from melodyrnn.pipeline import fit
    from melodyrnn.training.config import TrainConfig

    sentence = "if you want to build a ship, don't drum up people."
    report = fit([sentence], CharCodec.fit([sentence]), ModelConfig(hidden=8),
                 TrainConfig(epochs=1), progress=False, log=lambda message: None)
    return ckpt.save(report.checkpoint, home / "text.pt")


def fingerprint(paths) -> dict[str, tuple]:
    """What must not change: each path's kind and, for regular files, a hash of its bytes."""
    seen = {}
    for path in paths:
        info = os.lstat(path)
        content = hashlib.sha256(Path(path).read_bytes()).hexdigest() \
            if stat.S_ISREG(info.st_mode) else None
        seen[str(path)] = (stat.S_IFMT(info.st_mode), content)
    return seen


def test_each_hostile_music_file_ends_in_one_line_naming_it(home, nabiya_model):
    files = music_files(home / "music")
    before = fingerprint(path for path, _ in files.values())
    cases = [(name, ["data", "stats", "--parse-timeout", "2", "--no-cache", path])
             for name, (path, _) in files.items()]
    primed = ["a FIFO named like a MIDI file", "/dev/zero named like a MIDI file",
              "an .mxl zip bomb", "MIDI numerator0.mid", "ABC with Q:1/4=0"]
    cases += [(f"--primer: {name}", ["generate", "--model", nabiya_model, "--primer",
                                     files[name][0]]) for name in primed]
    outcomes = run_cases(cases, home)
    problems = {name: outcomes[name].problems(files[name][0].name, files[name][1])
                for name in files}
    problems.update({f"--primer: {name}": outcomes[f"--primer: {name}"].problems(
        files[name][0].name) for name in primed})
    assert not any(problems.values()), report(problems)
    assert fingerprint(path for path, _ in files.values()) == before  # nothing was written
    said = json.dumps([o.stderr + o.stdout for o in outcomes.values()])
    assert "secret-line-that-must-not-leak" not in said and "root:x" not in said


def test_hostile_files_in_a_folder_are_rejected_one_by_one_and_the_good_one_loads(home):
    folder = home / "mixed"
    files = music_files(folder)
    (folder / "good.txt").write_text(GOOD_SONG)
    loop = symlink_loop(home / "loop")
    outcomes = run_cases([
        ("folder", ["data", "stats", "--json", "--jobs", "2", "--parse-timeout", "2",
                    "--no-cache", folder]),
        ("glob over a symlink loop", ["data", "stats", "--no-cache", f"{loop}/**/*.txt"]),
    ], home)
    folder_run = outcomes["folder"]
    folder_run.limit = 30.0  # it also starts two worker processes, each importing music21
    assert not folder_run.problems(ok=True), folder_run.problems(ok=True)
    stats = json.loads(folder_run.stdout)
    rejected = {Path(item["source"].split("#")[0]).name: item["reason"]
                for item in stats["rejected"]["items"]}
    in_folder = {path.name for path, _ in files.values()
                 if path.name not in ("fifo.mid", "zero.mid")}  # not regular files: not listed
    assert in_folder <= set(rejected), sorted(in_folder - set(rejected))
    assert "took longer than 2 s" in rejected["slurs.abc"]  # stopped inside a worker process
    assert stats["melodies"] == 2  # good.txt, and tempo0.mid (a tempo of 0 is ignored)
    loop_run = outcomes["glob over a symlink loop"]
    assert not loop_run.problems(ok=True), loop_run.problems(ok=True)
    assert "files       1" in loop_run.stdout


def test_tampered_models_and_models_of_another_kind_are_refused_in_one_line(home, nabiya_model,
                                                                         text_model):
    models = checkpoints(home / "models", nabiya_model)
    resumes = resume_states(home / "models", nabiya_model)
    song = home / "song.txt"
    cases = [(name, ["generate", "--model", path, "--length", "2"])
             for name, (path, _) in models.items()]
    cases += [(f"resume {name}", ["train", song, "--resume", path, "--no-progress",
                                  "-o", home / "resumed.pt"]) for name, (path, _) in resumes.items()]
    other = {  # a model of another kind, or an output its kind cannot write
        "evaluate hidden-30000": (["evaluate", "--model", models["hidden-30000"][0], song],
                                  ["hidden-30000.pt", "not a usable melodyrnn checkpoint"]),
        "generate --kind notes": (["generate", "--model", text_model, "--kind", "notes"],
                                  ["--kind notes", "trained on text"]),
        "evaluate --kind notes": (["evaluate", "--model", text_model, "--kind", "notes", song],
                                  ["--kind notes", "trained on text"]),
        "text to .mid": (["generate", "--model", text_model, "-o", home / "x.mid"],
                         ["x.mid", "expected a .txt file"]),
    }
    cases += [(name, args) for name, (args, _) in other.items()]
    outcomes = run_cases(cases, home)
    problems = {name: outcomes[name].problems(path.name, expected)
                for name, (path, expected) in models.items()}
    problems.update({f"resume {name}": outcomes[f"resume {name}"].problems(
        path.name, "training state", expected) for name, (path, expected) in resumes.items()})
    problems.update({name: outcomes[name].problems(*expected)
                     for name, (_, expected) in other.items()})
    assert not any(problems.values()), report(problems)
    assert not (home / "resumed.pt").exists() and not (home / "x.mid").exists()


OPTION_CASES = {  # the command's own arguments, then the bad options and the name to see
    "train": [(["--lr", "nan"], "--lr"), (["--lr", "-1"], "--lr"),
              (["--weight-decay", "nan"], "--weight-decay"),
              (["--weight-decay", "-1"], "--weight-decay"), (["--dropout", "-1"], "--dropout"),
              (["--dropout", "2"], "--dropout"), (["--dropout", "nan"], "--dropout"),
              (["--hidden", "100000"], "--hidden"), (["--layers", "100000"], "--layers"),
              (["--window", "100000", "--model", "mlp"], "--window"),
              (["--rng-seed", "99999999999999999999"], "--rng-seed"),
              (["--epochs", "1000000000"], "--epochs"),
              (["--model", "mlp", "--window", "256", "--embedding-dim", "1024",
                "--hidden", "2048", "--no-progress"], "parameters")],
    "generate": [(["--temperature", "nan"], "--temperature"),
                 (["--temperature", "inf"], "--temperature"),
                 (["--length", "1000000000"], "--length"), (["--length", "1e10"], "--length"),
                 (["--num-outputs", "100000"], "--num-outputs"),
                 (["--beam", "100000"], "--beam"), (["--memory", "nan"], "--memory"),
                 (["--rng-seed", "99999999999999999999"], "--rng-seed"),
                 (["--length", "100000", "--num-outputs", "100"], "--num-outputs"),
                 (["--mode", "minor"], "--mode"), (["--top-p", "nan"], "--top-p")],
    "evaluate": [(["--samples", "1000000"], "--samples"), (["--window", "100000"], "--window"),
                 (["--temperature", "nan", "--samples", "2"], "--temperature"),
                 (["--folds", "2", "--model", "lstm", "--lr", "nan"], "--lr"),
                 (["--rng-seed", "99999999999999999999"], "--rng-seed")],
    "render": [(["--bpm", "nan"], "--bpm"), (["--bpm", "0"], "--bpm")],
    "melodyrnn": [(["--max-file-mb", "0"], "--max-file-mb")],
}


def test_unbounded_and_non_finite_options_are_refused_naming_the_option(home, nabiya_model):
    song = home / "song.txt"
    lead = {"train": ["train", song, "-o", home / "never.pt"],
            "generate": ["generate", "--model", nabiya_model],
            "evaluate": ["evaluate", "--model", nabiya_model, song],
            "render": ["render", song, "-o", home / "never.wav"]}

    def command_line(command: str, extra: list[str]) -> list:
        if command == "melodyrnn":  # the group's own options come before the command
            return [*extra, "data", "stats", song]
        return [*lead[command], *extra]

    cases = [(f"{command} {' '.join(extra)}", command_line(command, extra), option)
             for command, extras in OPTION_CASES.items() for extra, option in extras]
    outcomes = run_cases([(name, args) for name, args, _ in cases], home)
    problems = {name: outcomes[name].problems(option) for name, _, option in cases}
    assert not any(problems.values()), report(problems)
    assert not (home / "never.pt").exists() and not (home / "never.wav").exists()


def test_outputs_that_would_destroy_data_are_refused_before_any_work(home, nabiya_model):
    song = home / "song.txt"
    place = home / "outputs"
    place.mkdir()
    model = place / "model.pt"
    model.write_bytes(Path(nabiya_model).read_bytes())
    (place / "model-link.txt").symlink_to("model.pt")
    (place / "out-2.mid").symlink_to("model.pt")  # the second of two numbered outputs
    os.mkfifo(place / "fifo.pt")
    (place / "null.pt").symlink_to("/dev/null")
    (place / "folder.pt").mkdir()
    os.link(song, place / "same-song.txt")
    (place / "loop.pt").symlink_to("loop.pt")
    tune = place / "tune.mid"
    tune.write_bytes(midi_bytes())
    guarded = [song, tune, model, place / "fifo.pt", place / "null.pt", place / "same-song.txt"]
    before = fingerprint(guarded)
    cases = [
        ("train -o FIFO", ["train", song, "-o", place / "fifo.pt"], "is a FIFO"),
        ("train -o /dev/null link", ["train", song, "-o", place / "null.pt"],
         "is a character device"),
        ("train -o folder", ["train", song, "-o", place / "folder.pt"], "is a folder"),
        ("train -o symlink loop", ["train", song, "-o", place / "loop.pt"], "loop.pt"),
        ("train -o the song", ["train", song, "-o", song], "song.txt"),
        ("train -o missing folder", ["train", song, "-o", place / "absent" / "m.pt"],
         "does not exist"),
        ("train -o 300-character name", ["train", song, "-o", place / ("m" * 300 + ".pt")],
         "too long"),
        ("generate -o its primer", ["generate", "--primer", song, "-o", place / "same-song.txt"],
         "same file as the input"),
        ("generate -o a link to its model", ["generate", "--model", model, "-o",
                                             place / "model-link.txt"], "same file as the input"),
        ("generate's second output onto its model", ["generate", "--model", model,
                                                     "--num-outputs", "2", "-o", place / "out.mid"],
         "same file as the input"),
        ("train -o its --init model", ["train", song, "--init", model, "-o", model],
         "same file as the input"),
        ("render -o a FIFO", ["render", song, "-o", place / "fifo.pt"], "is a FIFO"),
        ("render -o its input", ["render", tune, "-o", tune], "same file as the input"),
        ("render -o .mp3", ["render", tune, "-o", place / "x.mp3"], "expected a .wav file"),
    ]
    outcomes = run_cases([(name, args) for name, args, _ in cases], home, warm=False)
    problems = {name: outcomes[name].problems("-o", expected) for name, _, expected in cases}
    assert not any(problems.values()), report(problems)
    assert not any("training lstm" in o.stderr for o in outcomes.values())  # refused first
    assert fingerprint(guarded) == before
    assert not list(place.glob(".*.tmp")) and not list(home.glob(".*.tmp"))


def test_the_real_entry_point_prints_one_line_and_no_traceback(home, nabiya_model):
    fifo = home / "entry.mid"
    os.mkfifo(fifo)
    read = run_process(["data", "stats", fifo], home)
    assert not read.problems("entry.mid", "is a FIFO"), read.problems("entry.mid", "is a FIFO")
    huge = tamper(nabiya_model, home / "entry.pt",
                  lambda payload: payload["model_config"].update(hidden=30000))
    load = run_process(["generate", "--model", huge], home)
    assert not load.problems("entry.pt", "at most 2048"), load.problems("entry.pt", "at most")
