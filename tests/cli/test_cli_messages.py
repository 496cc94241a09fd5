"""What a new user reads: counts that agree, settings that do not pass silently, melodies
with unknown notes named by file, repeatable seeds, standard output with -o -."""

from __future__ import annotations

import io
import wave

from clitools import run

from melodyrnn.music.notation import parse_text

SEED = ["g8", "e8", "e4", "f8"]


def test_train_counts_notes_and_rests_as_data_stats_does(tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("c4 r4 d4 e4 r8 f8\n")
    result = run("train", song, "--epochs", "1", "--hidden", "4", "--no-progress",
                 "-o", tmp_path / "m.pt")
    assert "on 1 melody, 4 notes (+ 2 rests), 6 distinct tokens" in result.stderr
    assert "notes       4 (+ 2 rests" in run("data", "stats", song, "--no-cache").stdout


def test_a_one_note_song_says_there_is_nothing_to_predict(tmp_path):
    song = tmp_path / "one.txt"
    song.write_text("c4\n")
    result = run("train", song, "--no-progress", "-o", tmp_path / "m.pt", ok=False)
    assert "1 note, 1 distinct token\n" in result.stderr
    assert "every song has fewer than 2 notes" in result.stderr


def test_settings_that_change_nothing_are_said(tmp_path, nabiya_path):
    result = run("train", nabiya_path, "--epochs", "1", "--hidden", "4", "--no-progress",
                 "--stop-accuracy", "2", "--amp", "--device", "cpu", "-o", tmp_path / "m.pt")
    assert "--amp needs a CUDA GPU; training on cpu in full precision" in result.stderr
    assert ("--stop-accuracy 2 is above 1, so training never stops on training accuracy: it "
            "runs its only epoch") in result.stderr


def test_a_setting_from_a_preset_is_said_to_come_from_it(tmp_path, nabiya_path):
    result = run("train", nabiya_path, "--preset", "folk", "--epochs", "1", "--hidden", "4",
                 "--embedding-dim", "4", "--valid-fraction", "0", "--no-progress",
                 "-o", tmp_path / "m.pt")
    assert ("--stop-accuracy 2 (from --preset folk) is above 1, so training never stops on "
            "training accuracy: it runs its only epoch") in result.stderr


def test_mode_without_key_is_an_error(nabiya_model):
    result = run("generate", "--model", nabiya_model, "--mode", "minor", ok=False)
    assert "--mode minor: only with --key" in result.stderr


def test_the_first_melody_does_not_depend_on_how_many_are_made(nabiya_model):
    args = ["generate", "--model", nabiya_model, "--seed", *SEED, "--temperature", "1.5",
            "--length", "12", "--rng-seed", "5"]
    alone = parse_text(run(*args).stdout)
    two = parse_text(run(*args, "--num-outputs", "2").stdout)
    next_seed = parse_text(run(*args[:-1], "6").stdout)
    assert two[0].notes == alone[0].notes
    assert two[1].notes == next_seed[0].notes


def test_evaluate_scores_the_melodies_it_can_and_names_the_others(tmp_path, nabiya_model,
                                                                  nabiya_path):
    other = tmp_path / "other.txt"
    other.write_text("\\title Elsewhere\na8 b8 c'4 a8 b8 c'4\n")
    result = run("evaluate", "--model", nabiya_model, nabiya_path, other, "--no-cache")
    assert "skipped 1 melody of 2 with notes the model never saw: 'Elsewhere' (" in result.stderr
    assert "other.txt)" in result.stderr
    assert result.stdout.startswith("one-step   50/50 correct")


def test_dash_writes_to_standard_output(tmp_path, nabiya_model):
    text = run("generate", "--model", nabiya_model, "--seed", *SEED, "--length", "4",
               "-o", "-").stdout
    assert len(parse_text(text)[0]) == 8
    song = tmp_path / "song.txt"
    song.write_text("c4 d4\n")
    rendered = run("render", song, "-o", "-", "--synth", "builtin")
    with wave.open(io.BytesIO(rendered.stdout_bytes)) as audio:
        assert audio.getnframes() > 44100  # two beats at 120 bpm, and a release
    assert "wrote standard output" in rendered.stderr


def test_evaluate_split_valid_scores_the_usable_held_out_melodies_and_names_the_others(
        tmp_path):
    from melodyrnn.music.sources import split_by_melody

    titles = [f"Song {n}" for n in range(1, 7)]
    _, held = split_by_melody(titles, 0.34, seed=0)  # the two melodies train will hold out
    assert len(held) == 2
    songs = ["c8 d e f g4 g" for _ in titles]
    songs[held[0]] = "c8 d e fis g4 g"  # fis: a note no training melody has
    titles[held[0]] = "Stranger"
    folder = tmp_path / "songs"
    folder.mkdir()
    (folder / "songs.txt").write_text("\n\n".join(f"\\title {t}\n{s}"
                                                  for t, s in zip(titles, songs)) + "\n")
    model = tmp_path / "m.pt"
    trained = run("train", folder, "--valid-fraction", "0.34", "--epochs", "3", "--hidden", "8",
                  "--no-progress", "--no-cache", "-o", model)
    assert "held out 2 melodies" in trained.stderr
    assert "validation: 1 of 2 held-out melodies use only known tokens" in trained.stderr
    result = run("evaluate", "--model", model, folder, "--split", "valid", "--no-cache")
    assert "skipped 1 melody of 2 with notes the model never saw: 'Stranger' (" in result.stderr
    assert f"songs.txt #{held[0] + 1})" in result.stderr
    assert "item " not in result.stderr
    # the usable melody alone: 6 notes, the first 4 (the model's window) prime the rest
    assert result.stdout.startswith("one-step   ") and "/2 correct" in result.stdout


def test_runs_with_different_rng_seeds_hold_out_the_same_melodies(tmp_path):
    from melodyrnn.models.checkpoint import load

    songs = tmp_path / "songs.txt"
    songs.write_text("\n\n".join(f"\\title Song {n}\nc8 d e f g4 {'gab'[n % 3]}"
                                  for n in range(12)) + "\n")
    held = []
    for seed in ("0", "5"):
        model = tmp_path / f"m{seed}.pt"
        run("train", songs, "--valid-fraction", "0.25", "--epochs", "1", "--hidden", "8",
            "--rng-seed", seed, "--no-progress", "--no-cache", "-o", model)
        held.append(load(model).metadata["valid_indices"])
    assert len(held[0]) == 3 and held[0] == held[1]


def test_an_empty_song_file_is_called_empty_in_song_text_words(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("train", empty, "--no-progress", "--no-cache", "-o", tmp_path / "m.pt",
                 ok=False)
    assert "empty.txt: no notes found: expected notes such as 'g8 e8 e4'" in result.stderr
    assert "X:" not in result.stderr and "ABC" not in result.stderr


def test_unknown_characters_are_shown_escaped_never_raw(tmp_path, nabiya_model, nabiya_path):
    song = tmp_path / "song.txt"
    song.write_text("c4 d4 \x1b[31m\x00 e4\n")  # a terminal escape and a NUL
    result = run("train", song, "--no-progress", "--no-cache", "-o", tmp_path / "m.pt",
                 ok=False)
    assert "song.txt:1:7: '\\x1b[31m\\x00' is not a note" in result.stderr
    titled = tmp_path / "titled.txt"
    titled.write_text("\\title Clear\x1b[2J\na8 b8 c'4 a8 b8 c'4\n")
    skipped = run("evaluate", "--model", nabiya_model, nabiya_path, titled, "--no-cache")
    assert "never saw: 'Clear\\x1b[2J' (" in skipped.stderr
    for said in (result, skipped):
        assert "\x1b" not in said.output + said.stderr
        assert "\x00" not in said.output + said.stderr


def test_a_capitalised_seed_gets_a_lower_case_hint(nabiya_model):
    result = run("generate", "--model", nabiya_model, "--seed", "G4 E4", ok=False)
    assert "--seed:1:1: 'G4' is not a note" in result.stderr
    assert "(note names are lower case: 'g4')" in result.stderr


def test_counts_of_one_are_singular(tmp_path):
    song = tmp_path / "song.txt"
    song.write_text("c4 d4\n")
    trained = run("train", song, "--epochs", "1", "--hidden", "4", "--no-progress", "--no-cache",
                  "-o", tmp_path / "m.pt")
    assert "on 1 melody, 2 notes, 2 distinct tokens" in trained.stderr
    assert "1 epoch in " in trained.stderr and "1 epochs" not in trained.stderr
    table = tmp_path / "series.csv"
    table.write_text("a,b\n1,2\n")
    rows = run("train", "--kind", "series", table, "-o", tmp_path / "s.pt", ok=False)
    assert "1 training row is too few" in rows.stderr


def test_after_ctrl_c_the_kept_epoch_and_the_epochs_counted_agree(tmp_path, nabiya_path,
                                                                  monkeypatch):
    from melodyrnn.training import loop

    calls = {"n": 0}
    real = loop.OBJECTIVES["class"]

    def interrupted_in_epoch_four(output, targets):
        calls["n"] += 1
        if calls["n"] == 4:  # nabiya is one chunk: the fourth call is epoch 4
            raise KeyboardInterrupt
        return real(output, targets)

    monkeypatch.setitem(loop.OBJECTIVES, "class", interrupted_in_epoch_four)
    out = tmp_path / "m.pt"
    result = run("train", nabiya_path, "--epochs", "50", "--hidden", "8", "--no-progress",
                 "--no-cache", "-o", out, ok=False)
    assert result.exit_code == 130
    assert "interrupted: kept the weights of epoch 3; continue with --resume" in result.stderr
    assert "\n3 epochs in " in result.stderr
    calls["n"] = -100  # no more interrupts
    resumed = run("train", nabiya_path, "--resume", out, "--epochs", "5", "--no-progress",
                  "--no-cache", "-o", tmp_path / "r.pt")
    assert "\n2 epochs in " in resumed.stderr and "(now at epoch 5)" in resumed.stderr


def _songs_with_a_rare_note(tmp_path):
    """Six songs; the last holds the only 'fis' (so whichever side of a split it falls on,
    resuming with the other songs' codec would meet a note it never saw)."""
    songs = tmp_path / "songs.txt"
    songs.write_text("\n\n".join(["c8 d e f g a b c'", "e4 d c d e e e2", "g8 g a g f e d c",
                                   "c4 e g c' g e c2", "d8 e f g a4 g", "g8 fis g a b4 a"])
                     + "\n")
    return songs


def test_resume_keeps_the_runs_held_out_melodies_and_end_token(tmp_path):
    songs, first = _songs_with_a_rare_note(tmp_path), tmp_path / "first.pt"
    run("train", songs, "--valid-fraction", "0.3", "--end-token", "--epochs", "2", "--hidden",
        "8", "--no-progress", "--no-cache", "-o", first)
    resumed = run("train", songs, "--resume", first, "--epochs", "3", "--no-progress",
                  "--no-cache", "-o", tmp_path / "second.pt")
    assert "held out 2 melodies for validation (the resumed run's)" in resumed.stderr
    assert "training lstm on 4 melodies" in resumed.stderr
    from melodyrnn.models import checkpoint as ckpt

    before, after = ckpt.load(first), ckpt.load(tmp_path / "second.pt")
    assert after.metadata["valid_indices"] == before.metadata["valid_indices"]
    assert after.codec.tokens == before.codec.tokens and after.codec.end_token


def test_resume_refuses_data_settings_it_would_override(tmp_path):
    songs, first = _songs_with_a_rare_note(tmp_path), tmp_path / "first.pt"
    run("train", songs, "--valid-fraction", "0.3", "--epochs", "1", "--hidden", "8",
        "--no-progress", "--no-cache", "-o", first)
    result = run("train", songs, "--resume", first, "--epochs", "3", "--valid-fraction", "0.5",
                 "--no-progress", "--no-cache", "-o", tmp_path / "second.pt", ok=False)
    assert result.exit_code == 2
    assert ("--valid-fraction: --resume continues the run with its own settings (model, "
            "training, held-out melodies, vocabulary); only --epochs may change. Leave it out, "
            "or start a new run from its weights with --init") in result.stderr
    changed = run("train", songs, "--resume", first, "--epochs", "3", "--hidden", "64", "--lr",
                  "0.5", "--model", "gru", "--no-progress", "--no-cache", ok=False)
    assert "--model, --hidden, --lr: --resume continues the run" in changed.stderr
    assert "Leave them out" in changed.stderr and "training gru" not in changed.stderr


def test_resume_without_o_goes_on_in_the_file_it_resumes(tmp_path, nabiya_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "melodyrnn.pt").write_bytes(b"someone else's model")
    run("train", nabiya_path, "--epochs", "2", "--stop-accuracy", "2", "--hidden", "8",
        "--no-progress", "--no-cache", "-o", "run.pt")
    resumed = run("train", nabiya_path, "--resume", "run.pt", "--epochs", "4", "--no-progress",
                  "--no-cache")
    assert "saved model to run.pt" in resumed.stdout
    from melodyrnn.models import checkpoint as ckpt

    assert ckpt.load(tmp_path / "run.pt").training_state["epoch"] == 4
    assert (tmp_path / "melodyrnn.pt").read_bytes() == b"someone else's model"


def test_resume_with_other_sources_names_the_melody_the_model_never_saw(tmp_path):
    songs, first = _songs_with_a_rare_note(tmp_path), tmp_path / "first.pt"
    run("train", _first_songs(songs, tmp_path), "--epochs", "1", "--hidden", "8",
        "--no-progress", "--no-cache", "-o", first)
    result = run("train", songs, "--resume", first, "--epochs", "3", "--no-progress",
                 "--no-cache", "-o", tmp_path / "second.pt", ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "SOURCES differ from those" in lines[0]
    assert "songs.txt" in lines[0] and "has notes the model never saw" in lines[0]
    assert "Traceback" not in result.stderr


def _first_songs(songs, tmp_path):
    """The songs without the last one (the only one with 'fis')."""
    fewer = tmp_path / "fewer.txt"
    fewer.write_text("\n\n".join(songs.read_text().split("\n\n")[:-1]) + "\n")
    return fewer


def test_resume_asks_for_more_epochs_than_the_run_has_done(tmp_path, nabiya_path):
    first = tmp_path / "first.pt"
    run("train", nabiya_path, "--epochs", "3", "--stop-accuracy", "2", "--hidden", "8",
        "--no-progress", "--no-cache", "-o", first)
    result = run("train", nabiya_path, "--resume", first, "--epochs", "2", "--no-progress",
                 "--no-cache", "-o", tmp_path / "second.pt", ok=False)
    assert result.exit_code == 2
    assert ("has already run 3 epochs, so --epochs 2 leaves nothing to do: give a larger "
            "total to go on (e.g. --epochs 13)") in result.stderr
    assert "resuming" not in result.stderr
    again = run("train", nabiya_path, "--resume", first, "--no-progress", "--no-cache",
                "-o", tmp_path / "second.pt", ok=False)
    assert "has run all 3 of its 3 epochs: give a larger total" in again.stderr


def test_a_symlink_to_some_other_file_is_rejected_without_quoting_a_word_of_it(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    songs = tmp_path / "songs"
    elsewhere.mkdir()
    songs.mkdir()
    (songs / "good.txt").write_text("g8 e8 e4 f8 d8 d4\n")
    for suffix in (".txt", ".abc", ".mid", ".musicxml", ".krn"):
        secret = elsewhere / f"passwd{suffix}"  # one file each: links to one file count once
        secret.write_text("admin:x:0:0:admin:/home/admin:/bin/zsh\nAPI_KEY=hunter2 swordfish\n")
        (songs / f"linked{suffix}").symlink_to(secret)
    for command in (["data", "stats"], ["train"]):
        extra = ["--epochs", "1", "--hidden", "4", "--no-progress", "-o",
                 tmp_path / "m.pt"] if command == ["train"] else []
        result = run(*command, songs, "--no-cache", *extra)
        said = result.output + result.stderr
        assert "rejected 5 (of 6 files)" in said
        for suffix in (".txt", ".abc", ".mid", ".musicxml", ".krn"):
            assert f"linked{suffix}" in said
        for word in ("admin", "zsh", "API_KEY", "hunter2", "swordfish"):
            assert word not in said, (word, said)
    assert "linked.txt:1:1: not a song text" in said


def test_a_preset_that_holds_melodies_out_of_one_song_says_how_to_train_on_it(tmp_path,
                                                                             nabiya_path):
    result = run("train", nabiya_path, "--preset", "folk", "--no-progress",
                 "-o", tmp_path / "m.pt", ok=False)
    assert "--valid-fraction 0.05: holding melodies out for validation needs at least 2, got 1" \
        in result.stderr and "--valid-fraction 0 trains on every melody" in result.stderr
    assert not (tmp_path / "m.pt").exists()
