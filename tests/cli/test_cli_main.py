"""The command line end to end: train, generate, evaluate, with clean errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import mido
import pytest
from click.testing import CliRunner

from melodyrnn.cli import main
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.music.notation import parse_file, parse_text

SEED = ["g8", "e8", "e4", "f8"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()  # click >= 8.2 keeps result.stdout and result.stderr apart


def run(runner: CliRunner, *args: str, ok: bool = True):
    result = runner.invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    return result


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory, nabiya_path):
    """`melodyrnn train data/nabiya.txt -o MODEL` with the defaults, run once for this module."""
    path = tmp_path_factory.mktemp("cli") / "nabiya.pt"
    result = run(CliRunner(), "train", nabiya_path, "-o", path, "--no-progress")
    return path, result


# --- train -------------------------------------------------------------------------------------

def test_train_writes_the_model_and_says_where(cli_model):
    path, result = cli_model
    assert result.stdout == f"saved model to {path}\n"
    assert ckpt.load(path).codec.vocab_size == 9


def test_train_reports_the_data_and_why_it_stopped(cli_model):
    _, result = cli_model
    assert "training lstm on 1 melody, 54 notes, 9 distinct tokens" in result.stderr
    assert "stopped at epoch" in result.stderr and "--stop-accuracy" in result.stderr


def test_train_writes_melodyrnn_pt_in_the_current_folder_by_default(runner, nabiya_path,
                                                                    tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "train", nabiya_path, "--epochs", "1", "--hidden", "8", "--no-progress")
    assert result.stdout == "saved model to melodyrnn.pt\n"
    assert ckpt.load(tmp_path / "melodyrnn.pt").model_config.hidden == 8


def test_train_with_the_classic_vocabulary_uses_the_14_token_table(runner, nabiya_path,
                                                                   tmp_path):
    out = tmp_path / "classic.pt"
    run(runner, "train", nabiya_path, "--vocab", "classic", "--epochs", "1", "--hidden", "8",
        "--no-progress", "-o", out)
    assert ckpt.load(out).codec.tokens[:7] == ["c4", "d4", "e4", "f4", "g4", "a4", "b4"]
    assert ckpt.load(out).codec.vocab_size == 14


def test_train_on_a_missing_file_names_the_file(runner, tmp_path):
    result = run(runner, "train", tmp_path / "absent.txt", ok=False)
    assert "absent.txt" in result.stderr and "not found" in result.stderr


def test_train_on_a_bad_song_points_at_the_token(runner, tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("g8 e8 e4\nf8 d8 x4\n", encoding="utf-8")
    result = run(runner, "train", song, "-o", tmp_path / "m.pt", ok=False)
    assert f"{song}:2:7: 'x4' is not a note" in result.stderr
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize(("option", "value"), [("--epochs", "0"), ("--hidden", "-1"),
                                               ("--window", "0")])
def test_train_refuses_non_positive_sizes(runner, nabiya_path, option, value):
    result = run(runner, "train", nabiya_path, option, value, ok=False)
    assert option in result.stderr and "expected 1 or more" in result.stderr


# --- generate ----------------------------------------------------------------------------------

def test_generate_after_train_prints_exactly_the_54_note_song(runner, cli_model, nabiya):
    path, _ = cli_model
    result = run(runner, "generate", "--seed", *SEED, "--model", path)
    assert parse_text(result.stdout) == [nabiya]
    assert len(parse_text(result.stdout)[0]) == 54


def test_quoted_seed_works_like_separate_tokens(runner, nabiya_model):
    separate = run(runner, "generate", "--seed", *SEED, "--model", nabiya_model)
    quoted = run(runner, "generate", "--seed", " ".join(SEED), "--model", nabiya_model)
    assert quoted.stdout == separate.stdout


def test_generate_says_which_model_it_used_on_stderr(runner, nabiya_model):
    result = run(runner, "generate", "--seed", *SEED, "--model", nabiya_model)
    assert f"using model {nabiya_model}" in result.stderr
    assert "using model" not in result.stdout


def test_generate_uses_melodyrnn_pt_in_the_current_folder(runner, nabiya_model, nabiya,
                                                          tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(nabiya_model, tmp_path / "melodyrnn.pt")
    result = run(runner, "generate", "--seed", *SEED)
    assert "using model melodyrnn.pt" in result.stderr
    assert parse_text(result.stdout) == [nabiya]


def test_without_any_model_generate_says_how_to_train_one(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MELODYRNN_NO_BUNDLED", "1")
    result = run(runner, "generate", "--seed", *SEED, ok=False)
    assert "melodyrnn train" in result.stderr
    assert "melodyrnn.pt" in result.stderr


def test_without_any_model_evaluate_says_how_to_train_one(runner, nabiya_path, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MELODYRNN_NO_BUNDLED", "1")
    result = run(runner, "evaluate", nabiya_path, ok=False)
    assert "melodyrnn train" in result.stderr


def test_without_a_local_model_generate_uses_the_bundled_one_and_says_so(runner, tmp_path,
                                                                       monkeypatch):
    from melodyrnn.models.checkpoint import BUNDLED_PATH, bundled_path

    if not BUNDLED_PATH.is_file():
        pytest.skip("this checkout has no bundled model")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MELODYRNN_NO_BUNDLED", raising=False)
    assert bundled_path() == BUNDLED_PATH
    result = run(runner, "generate", "--seed", *SEED, "--length", "16")
    assert "bundled folk model" in result.stderr
    melody = parse_text(result.stdout)[0]
    assert 4 < len(melody) <= 20 and melody.notes[:4] == parse_text(" ".join(SEED))[0].notes


def test_a_missing_model_file_is_named(runner, tmp_path):
    result = run(runner, "generate", "--seed", *SEED, "--model", tmp_path / "gone.pt", ok=False)
    assert "gone.pt: no such model file" in result.stderr


def test_a_file_that_is_not_a_model_is_a_clear_error(runner, nabiya_path):
    result = run(runner, "generate", "--seed", *SEED, "--model", nabiya_path, ok=False)
    assert f"{nabiya_path}: not a readable melodyrnn checkpoint" in result.stderr


def test_seed_token_never_seen_lists_known_tokens(runner, nabiya_model):
    result = run(runner, "generate", "--seed", "g8", "a8", "e4", "f8", "--model", nabiya_model,
                 ok=False)
    known = " ".join(ckpt.load(nabiya_model).codec.tokens)
    assert "'a8' never seen in training" in result.stderr
    assert f"the model knows: {known}" in result.stderr


def test_seed_token_that_is_not_a_note_is_pointed_at(runner, nabiya_model):
    result = run(runner, "generate", "--seed", "g8", "e8", "h8", "--model", nabiya_model,
                 ok=False)
    assert "--seed:1:7: 'h8' is not a note: expected c d e f g a b or r" in result.stderr


def test_without_a_seed_generate_starts_from_the_training_songs_opening(runner, nabiya_model,
                                                                       nabiya):
    result = run(runner, "generate", "--model", nabiya_model)
    assert "no --seed given" in result.stderr
    assert parse_text(result.stdout) == [nabiya]


def test_length_sets_how_many_notes_are_added(runner, nabiya_model, nabiya):
    result = run(runner, "generate", "--seed", *SEED, "--length", "6", "--model", nabiya_model)
    (melody,) = parse_text(result.stdout)
    assert melody.notes == nabiya.notes[:10]


def test_sampling_is_repeatable_with_the_same_rng_seed(runner, nabiya_model):
    args = ["generate", "--seed", *SEED, "--temperature", "3", "--model", nabiya_model]
    first = run(runner, *args, "--rng-seed", "1").stdout
    assert run(runner, *args, "--rng-seed", "1").stdout == first
    assert run(runner, *args, "--rng-seed", "2").stdout != first


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--length", "-1", "--length"), ("--num-outputs", "0", "--num-outputs"),
    ("--temperature", "-1", "--temperature"), ("--top-p", "0", "--top-p"),
])
def test_generate_refuses_bad_options_with_their_name(runner, nabiya_model, option, value,
                                                      message):
    result = run(runner, "generate", "--seed", *SEED, option, value, "--model", nabiya_model,
                 ok=False)
    assert message in result.stderr


def test_output_suffix_picks_midi(runner, nabiya_model, nabiya, tmp_path):
    out = tmp_path / "song.mid"
    result = run(runner, "generate", "--seed", *SEED, "--model", nabiya_model, "-o", out)
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    notes = [m.note for m in mido.MidiFile(out).tracks[0] if m.type == "note_on"]
    assert notes == [n.pitch for n in nabiya.notes]


def test_output_suffix_picks_musicxml(runner, nabiya_model, nabiya, tmp_path):
    import music21

    out = tmp_path / "song.musicxml"
    run(runner, "generate", "--seed", *SEED, "--model", nabiya_model, "-o", out)
    score = music21.converter.parse(out).stripTies()
    assert [n.pitch.midi for n in score.recurse().notes] == [n.pitch for n in nabiya.notes]


def test_output_suffix_picks_text(runner, nabiya_model, nabiya, tmp_path):
    out = tmp_path / "song.txt"
    run(runner, "generate", "--seed", *SEED, "--model", nabiya_model, "-o", out)
    assert parse_file(out) == [nabiya]


def test_several_outputs_get_numbered_files(runner, nabiya_model, tmp_path):
    out = tmp_path / "out.mid"
    run(runner, "generate", "--seed", *SEED, "--model", nabiya_model, "--num-outputs", "3",
        "--temperature", "1", "-o", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.mid", "out-2.mid", "out-3.mid"]
    for path in tmp_path.iterdir():
        assert len([m for m in mido.MidiFile(path).tracks[0] if m.type == "note_on"]) == 54


def test_several_outputs_print_several_songs(runner, nabiya_model):
    result = run(runner, "generate", "--seed", *SEED, "--model", nabiya_model, "--num-outputs",
                 "2", "--length", "4")
    assert [len(m) for m in parse_text(result.stdout)] == [8, 8]


def test_unknown_output_suffix_is_an_error(runner, nabiya_model, tmp_path):
    result = run(runner, "generate", "--seed", *SEED, "--model", nabiya_model,
                 "-o", tmp_path / "song.wav", ok=False)
    assert "unknown output suffix '.wav'" in result.stderr


def test_classic_window_model_needs_a_window_of_seed_notes(runner, nabiya_path, tmp_path):
    out = tmp_path / "windows.pt"
    run(runner, "train", nabiya_path, "--batching", "windows", "--epochs", "1", "--hidden", "8",
        "--no-progress", "-o", out)
    result = run(runner, "generate", "--seed", "g8", "e8", "--model", out, ok=False)
    assert "the seed has 2 tokens; this model needs at least 4" in result.stderr
    result = run(runner, "generate", "--seed", *SEED, "--length", "3", "--model", out)
    assert len(parse_text(result.stdout)[0]) == 7


# --- evaluate ----------------------------------------------------------------------------------

def test_evaluate_json_has_exactly_the_documented_keys(runner, nabiya_model, nabiya_path):
    result = run(runner, "evaluate", nabiya_path, "--json", "--model", nabiya_model)
    report = json.loads(result.stdout)
    assert set(report) == {"one_step", "full_song", "bits_per_note"}
    assert report["one_step"] == {"correct": 50, "total": 50}
    assert report["full_song"] == {"correct": 50, "total": 50}
    assert isinstance(report["bits_per_note"], float) and report["bits_per_note"] >= 0


def test_evaluate_prints_both_protocols(runner, nabiya_model, nabiya_path):
    result = run(runner, "evaluate", nabiya_path, "--model", nabiya_model)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["one-step", "50/50"]
    assert lines[1].split()[:2] == ["full-song", "50/50"]
    assert lines[2].startswith("bits/note")
    assert f"using model {nabiya_model}" in result.stderr


def test_evaluate_on_a_missing_file_names_it(runner, nabiya_model, tmp_path):
    result = run(runner, "evaluate", tmp_path / "nope.txt", "--model", nabiya_model, ok=False)
    assert "nope.txt" in result.stderr and "not found" in result.stderr


def test_evaluate_on_notes_the_model_never_saw_lists_known_tokens(runner, nabiya_model,
                                                                  tmp_path):
    song = tmp_path / "other.txt"
    song.write_text("a8 b8 c'4 a8 b8 c'4\n", encoding="utf-8")
    result = run(runner, "evaluate", song, "--model", nabiya_model, ok=False)
    assert "never seen in training" in result.stderr and "the model knows" in result.stderr


# --- help ---------------------------------------------------------------------------------------

def test_top_level_help_lists_the_commands(runner):
    result = run(runner, "--help")
    for command in ("train", "generate", "evaluate"):
        assert command in result.stdout


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(runner, command):
    result = run(runner, command, "--help")
    assert result.stdout.startswith(f"Usage: main {command}")
    assert main.commands[command].help


def test_train_help_shows_the_defaults(runner):
    result = run(runner, "train", "--help")
    assert "[default: 500]" in result.stdout and "[default: lstm]" in result.stdout


@pytest.mark.parametrize("module", ["melodyrnn.cli", "melodyrnn.music.writers", "melodyrnn.music.notation"])
def test_importing_the_cli_and_writers_leaves_torch_and_music21_unloaded(module):
    # `melodyrnn --help` stays instant because heavy libraries load only when a command runs.
    check = (f"import sys, {module}; "
             "heavy = sorted({'torch', 'music21'} & set(sys.modules)); print(heavy)")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [
    ["generate", "--top-p", "0"], ["generate", "--bpm", "3"], ["train", "--no-such-option"],
    ["--threads", "0", "generate"], ["render", "song.txt", "-o", "x.wav", "--synth", "organ"],
    ["nosuch"],
])
def test_a_usage_error_is_one_line_with_no_usage_banner(args):
    result = subprocess.run([sys.executable, "-m", "melodyrnn", *args], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
