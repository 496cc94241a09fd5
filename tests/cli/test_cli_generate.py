"""`melodyrnn generate` end to end: every steering and output option, files read back."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import mido
import pytest
from click.testing import CliRunner

from melodyrnn.cli import main
from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.keys import key_pitch_classes
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import parse_text, parse_tokens
from melodyrnn.music.writers import write
from melodyrnn.pipeline import fit
from melodyrnn.training.config import TrainConfig

SEED = ["--seed", "g8 e4 e4"]  # in 2/4 the second e4 crosses the first bar line


def corpus() -> list[Melody]:
    """Eight short tunes in 2/4 over G3-G5, chromatic steps, rests, eighths and quarters."""
    tunes = []
    for start in range(55, 71, 2):
        pitches = [start + step for step in (0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 6, 4, 3, 1, 0)]
        notes = [Note(p, Fraction(1, 2) if i % 3 else Fraction(1)) for i, p in enumerate(pitches)]
        notes[5] = Note(None, Fraction(1, 2))
        tunes.append(Melody(tuple(notes), tempo=96, time_signature=(2, 4), key="C major"))
    tunes.append(Melody(tuple(Note(p, Fraction(1, 2)) for p in (67, 64, 64, 65, 62, 62, 60, 79)),
                        tempo=96, time_signature=(2, 4), key="C major"))
    return tunes


def train_to(path: Path, melodies: list[Melody], end_token: bool = False, epochs: int = 15
             ) -> Path:
    first = melodies[0]
    metadata = {"tempo": first.tempo, "time_signature": list(first.time_signature),
                "key": first.key, "sources": ["test"]}
    report = fit(melodies, NoteCodec.fit(melodies, end_token=end_token),
                 ModelConfig(hidden=32, embedding_dim=8), TrainConfig(epochs=epochs),
                 metadata, progress=False, log=lambda message: None)
    return ckpt.save(report.checkpoint, path)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small model over two octaves of chromatic notes, so keys and ranges bite."""
    return train_to(tmp_path_factory.mktemp("gen") / "corpus.pt", corpus())


@pytest.fixture(scope="module")
def end_model(tmp_path_factory) -> Path:
    """A model with an end token that has learned its six-note songs end after six notes."""
    songs = [Melody(parse_tokens(text).notes, tempo=100, time_signature=(2, 4), key="C major")
             for text in ("c8 d8 e8 f8 g4 c4", "e8 f8 g8 a8 b4 e4", "d8 e8 f8 g8 a4 d4")]
    return train_to(tmp_path_factory.mktemp("gen") / "end.pt", songs, end_token=True,
                    epochs=200)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def generate(runner: CliRunner, model: Path, *args, ok: bool = True):
    result = runner.invoke(main, ["generate", "--model", str(model), *[str(a) for a in args]])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit), result.exception  # clean, not a crash
    return result


def melodies_of(result) -> list[Melody]:
    return parse_text(result.stdout)


# --- sampling --------------------------------------------------------------------------------

def test_same_rng_seed_prints_the_same_melodies_and_another_seed_others(runner, model):
    options = ["--temperature", "1.3", "--top-k", "8", "--top-p", "0.95", "--num-outputs", "3",
               "--length", "20"]
    first = generate(runner, model, *options, "--rng-seed", "7").stdout
    assert generate(runner, model, *options, "--rng-seed", "7").stdout == first
    assert generate(runner, model, *options, "--rng-seed", "8").stdout != first
    assert len(melodies_of(generate(runner, model, *options, "--rng-seed", "7"))) == 3


def test_top_k_one_and_beam_one_are_the_greedy_melody(runner, model):
    greedy = generate(runner, model, *SEED, "--length", "12", "--temperature", "0").stdout
    assert generate(runner, model, *SEED, "--length", "12", "--temperature", "2",
                    "--top-k", "1").stdout == greedy
    assert generate(runner, model, *SEED, "--length", "12", "--beam", "1").stdout == greedy


def test_beam_gives_num_outputs_distinct_melodies_best_first(runner, model):
    result = generate(runner, model, *SEED, "--length", "8", "--beam", "5", "--num-outputs", "3")
    melodies = melodies_of(result)
    assert len(melodies) == 3 and len({m.notes for m in melodies}) == 3
    assert all(len(m) == 3 + 8 for m in melodies)


def test_more_outputs_than_beams_is_an_error(runner, model):
    result = generate(runner, model, "--beam", "2", "--num-outputs", "3", ok=False)
    assert "--num-outputs 3 exceeds --beam 2" in result.stderr


# --- steering --------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "mode"), [("G", "major"), ("D", "dorian"), ("bes", "minor")])
def test_key_and_mode_keep_new_notes_in_the_scale(runner, model, key, mode):
    result = generate(runner, model, *SEED, "--temperature", "1.5", "--num-outputs", "4",
                      "--length", "30", "--key", key, "--mode", mode)
    tonic = {"bes": "Bb"}.get(key, key)  # lilypond-style names work too
    scale = key_pitch_classes(f"{tonic} {mode}")
    new = [n for m in melodies_of(result) for n in m.notes[3:]]
    assert len(new) == 120
    assert all(n.pitch % 12 in scale for n in new if n.pitch is not None)
    assert {m.key for m in melodies_of(result)} == {f"{tonic} {mode}"}


def test_range_keeps_new_notes_in_the_register(runner, model):
    result = generate(runner, model, *SEED, "--temperature", "1.5", "--num-outputs", "4",
                      "--length", "30", "--range", "E4:A4")
    pitches = [n.pitch for m in melodies_of(result) for n in m.notes[3:] if n.pitch is not None]
    assert pitches and all(64 <= p <= 69 for p in pitches)


@pytest.mark.parametrize(("time", "bars", "total"), [("2/4", 3, 10), ("3/4", 2, 9), ("6/8", 2, 9)])
def test_bars_end_on_the_bar_line_of_the_time_signature(runner, model, time, bars, total):
    # The seed lasts 2.5 quarter notes, ending mid-bar: the bars are counted from the next line.
    result = generate(runner, model, *SEED, "--temperature", "1", "--num-outputs", "4",
                      "--bars", bars, "--time", time)
    melodies = melodies_of(result)
    assert result.stdout.startswith(f"\\tempo 96\n\\time {time}\n")
    assert [m.total_duration for m in melodies] == [total] * 4


def test_no_stop_runs_past_the_end_token(runner, end_model):
    stopped = melodies_of(generate(runner, end_model, "--seed", "c8 d8 e8 f8", "--length", "20"))
    assert [str(n) for n in stopped[0].notes] == [str(n) for n in parse_tokens(
        "c8 d8 e8 f8 g4 c4").notes]  # the model ends its songs after six notes
    full = melodies_of(generate(runner, end_model, "--seed", "c8 d8 e8 f8", "--length", "20",
                                "--no-stop"))
    assert len(full[0]) == 4 + 20


# --- primers and seeds -----------------------------------------------------------------------

PRIMER_SONG = "\\tempo 96\n\\time 2/4\n" + "c8 d8 e8 f8 g8 a8 b8 c'8 b8 a8 g4 e8 d8 c4\n"


@pytest.mark.parametrize("suffix", [".txt", ".mid", ".musicxml", ".abc"])
def test_primer_file_uses_its_last_notes(runner, model, tmp_path, suffix):
    song = parse_text(PRIMER_SONG)[0]
    path = write(song, tmp_path / f"primer{suffix}")
    result = generate(runner, model, "--primer", path, "--primer-notes", "5", "--length", "6")
    melody = melodies_of(result)[0]
    assert melody.notes[:5] == song.notes[-5:]
    assert len(melody) == 11
    assert f"primer: the last 5 notes of {path}" in result.stderr


def test_primer_file_keeps_its_own_metre_and_key_unless_options_say_otherwise(runner, model,
                                                                              tmp_path):
    path = tmp_path / "waltz.txt"
    notes = PRIMER_SONG.splitlines()[-1]
    path.write_text("\\time 3/4\n\\key f major\n\\tempo 90\n" + notes + "\n")
    own = melodies_of(generate(runner, model, "--primer", path, "--bars", "2"))[0]
    assert (own.time_signature, own.key, own.tempo) == ((3, 4), "F major", 90)
    assert own.total_duration % 3 == 0  # ends on a 3/4 bar line
    told = melodies_of(generate(runner, model, "--primer", path, "--bars", "2", "--time", "2/4",
                                "--bpm", "120"))[0]
    assert (told.time_signature, told.key, told.tempo) == ((2, 4), "F major", 120)


def test_primer_and_seed_together_is_an_error(runner, model, tmp_path):
    path = tmp_path / "p.txt"
    path.write_text(PRIMER_SONG)
    result = generate(runner, model, "--primer", path, *SEED, ok=False)
    assert "either --seed or --primer" in result.stderr


def test_unknown_seed_tokens_get_the_nearest_known_ones(runner, nabiya_model):
    result = generate(runner, nabiya_model, "--seed", "g8 e8 e4 f16 fis8 g''8", ok=False)
    message = result.stderr
    assert "'f16' 'fis8' \"g''8\" never seen in training" in message
    assert "for 'f16' try f8 f4" in message          # same pitch, another duration
    assert "for 'fis8' try f8 g8" in message         # a semitone away, same duration
    assert "for \"g''8\" try g8" in message          # octaves away, same duration


# --- output files ----------------------------------------------------------------------------

def test_midi_carries_bpm_time_key_and_program(runner, model, tmp_path):
    out = tmp_path / "song.mid"
    generate(runner, model, *SEED, "--length", "10", "--bpm", "72", "--program", "73",
             "--time", "3/4", "--key", "G", "-o", out)
    track = mido.MidiFile(out).tracks[0]
    by_type = {m.type: m for m in track}
    assert by_type["set_tempo"].tempo == mido.bpm2tempo(72)
    assert (by_type["time_signature"].numerator, by_type["time_signature"].denominator) == (3, 4)
    assert by_type["key_signature"].key == "G"
    assert by_type["program_change"].program == 73
    assert len([m for m in track if m.type == "note_on"]) >= 3


def test_several_outputs_get_numbered_files(runner, model, tmp_path):
    generate(runner, model, "--temperature", "1", "--num-outputs", "3", "-o", tmp_path / "out.mid")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.mid", "out-2.mid", "out-3.mid"]
    contents = {p.read_bytes() for p in tmp_path.iterdir()}
    assert len(contents) == 3


def test_musicxml_is_a_score_with_measures_key_time_and_ties(runner, model, tmp_path):
    from music21 import converter, key, meter, stream

    out = tmp_path / "song.musicxml"
    text = generate(runner, model, *SEED, "--length", "10", "--key", "D", "--time", "2/4").stdout
    generate(runner, model, *SEED, "--length", "10", "--key", "D", "--time", "2/4", "-o", out)
    melody = parse_text(text)[0]
    score = converter.parse(out)
    measures = list(score.recurse().getElementsByClass(stream.Measure))
    assert len(measures) == -(-melody.total_duration // 2)
    assert score.recurse().getElementsByClass(key.KeySignature)[0].sharps == 2
    assert score.recurse().getElementsByClass(meter.TimeSignature)[0].ratioString == "2/4"
    tied = [n for n in score.recurse().notes if n.tie is not None]
    assert tied and tied[0].tie.type == "start"  # the seed's e4 across the first bar line
    # music21 pads an incomplete last bar with a hidden rest; it is not part of the melody
    flat = [n for n in score.stripTies().recurse().notesAndRests if not n.style.hideObjectOnPrint]
    assert [(None if n.isRest else n.pitch.midi, Fraction(n.quarterLength)) for n in flat] == \
        [(n.pitch, n.duration) for n in melody.notes]


def test_abc_reads_back_as_the_same_pitches_and_durations(runner, model, tmp_path):
    from music21 import converter

    args = [*SEED, "--length", "24", "--temperature", "1.2", "--key", "F", "--rng-seed", "3"]
    melody = parse_text(generate(runner, model, *args).stdout)[0]
    out = tmp_path / "song.abc"
    generate(runner, model, *args, "-o", out)
    score = converter.parse(out, format="abc").stripTies()
    read = [(None if n.isRest else n.pitch.midi, Fraction(n.quarterLength))
            for n in score.recurse().notesAndRests]
    assert read == [(n.pitch, n.duration) for n in melody.notes]
    assert "K:F" in out.read_text() and "M:2/4" in out.read_text()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_piano_roll_and_score_are_valid_pictures(runner, model, tmp_path):
    generate(runner, model, *SEED, "--bars", "4", "-o", tmp_path / "roll.png")
    width, height = png_size((tmp_path / "roll.png").read_bytes())
    assert 500 <= width <= 5000 and 250 <= height <= 600
    generate(runner, model, *SEED, "--bars", "4", "--score", "-o", tmp_path / "score.png")
    width, height = png_size((tmp_path / "score.png").read_bytes())
    assert 500 <= width <= 3000 and 50 <= height <= 1000


def test_svg_is_engraved_notation(runner, model, tmp_path):
    out = tmp_path / "song.svg"
    generate(runner, model, *SEED, "--length", "8", "-o", out)
    text = out.read_text()
    assert text.lstrip().startswith("<svg") and 'class="note"' in text


def test_a_long_melody_is_engraved_to_its_end_not_cut_at_one_page(runner, model, tmp_path):
    out = tmp_path / "long.svg"
    result = generate(runner, model, "--temperature", "1", "--length", "500")
    generate(runner, model, "--temperature", "1", "--length", "500", "-o", out)
    pitched = [n for n in melodies_of(result)[0].notes if n.pitch is not None]
    assert out.read_text().count('class="note"') >= len(pitched)  # tied halves count twice


@pytest.mark.parametrize("options", [["-o", "x.mid"], ["-o", "x.musicxml"], ["-o", "x.xml"],
                                     ["-o", "x.abc"], ["-o", "x.txt"], ["-o", "x.png"],
                                     ["-o", "x.svg"], ["-o", "x.png", "--score"]])
def test_same_command_and_rng_seed_give_byte_identical_files(runner, model, tmp_path, options,
                                                             monkeypatch):
    args = ["--temperature", "1.1", "--bars", "4", "--key", "G", "--rng-seed", "5"]
    contents = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        generate(runner, model, *args, *options)
        contents.append((tmp_path / folder / options[1]).read_bytes())
    assert contents[0] == contents[1]


# --- playing ---------------------------------------------------------------------------------

def test_play_sends_the_first_melody_to_the_port_with_bpm_and_program(runner, model,
                                                                      monkeypatch):
    from melodyrnn.sound import playback as play

    sent = {}
    monkeypatch.setattr(play, "play_to_port",
                        lambda midi, port, **options: sent.update(midi=midi, port=port))
    monkeypatch.setattr(play, "play_to_device",
                        lambda midi, **options: sent.update(midi=midi, port=None))
    generate(runner, model, *SEED, "--length", "4", "--temperature", "0", "--play", "--port",
             "Synth 1", "--bpm", "80", "--program", "40")
    assert sent["port"] == "Synth 1"
    messages = list(sent["midi"].tracks[0])
    assert [m.program for m in messages if m.type == "program_change"] == [40]
    assert [m.tempo for m in messages if m.type == "set_tempo"] == [mido.bpm2tempo(80)]
    assert len([m for m in messages if m.type == "note_on"]) == 3 + 4
    generate(runner, model, *SEED, "--length", "4", "--play")
    assert sent["port"] is None  # no --port: the sound device


# --- bad values ------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "message"), [
    (["--range", "C4-C6"], "--range: 'C4-C6' is not a range"),
    (["--range", "C6:C4"], "--range: 'C6:C4' goes downwards"),
    (["--range", "H2:C6"], "--range: 'H2' is not a pitch"),
    (["--range", "C4:C11"], "--range: 'C11' is MIDI 144, outside 0-127"),
    (["--key", "H"], "--key: 'H' is not a tonic"),
    (["--key", "G", "--mode", "blues"], "--mode: 'blues' is not a mode"),
    (["--time", "3/5"], "--time: '3/5' is not a time signature"),
    (["--time", "three"], "--time: 'three' is not a time signature"),
    (["--bars", "0"], "--bars 0: expected 1 to 1000"),
    (["--bars", "1001"], "--bars 1001: expected 1 to 1000"),
    (["--bpm", "3", "-o", "slow.mid"], "--bpm"),
    (["--key", "C", "--range", "C#4:C#4"], "--key/--range leave none of the model's notes"),
    (["--range", "C7:C8"], "its notes span G3-A5"),
    (["--primer", "missing.mid"], "missing.mid"),
    (["--primer-notes", "0"], "--primer-notes"),
])
def test_bad_values_are_clean_errors_naming_the_option(runner, model, options, message):
    result = generate(runner, model, *options, ok=False)
    assert message in result.stderr.replace("Invalid value for ", "").replace("'--", "--")


@pytest.mark.parametrize("options", [
    ["--bars", "0"], ["--bars", "-1"], ["--bars", "1001"], ["--range", "C4-C6"],
    ["--range", "C6:C4"], ["--key", "H"], ["--key", "G", "--mode", "dorain"]])
def test_a_bad_bar_count_key_mode_or_range_is_a_bad_option_value_status_2(runner, model,
                                                                         options):
    assert generate(runner, model, *SEED, *options, ok=False).exit_code == 2


def test_sampling_options_with_beam_search_are_refused_not_ignored(runner, model):
    result = generate(runner, model, *SEED, "--beam", "2", "--top-k", "3", ok=False)
    assert result.exit_code == 2
    assert ("--top-k: shapes sampling; beam search (--beam) takes the most probable notes and "
            "ignores it") in result.stderr


@pytest.mark.parametrize("out", [None, "song.mid", "score.svg"])
def test_score_without_a_png_to_engrave_is_refused_not_ignored(runner, model, out, tmp_path):
    extra = ["-o", str(tmp_path / out)] if out else []
    result = generate(runner, model, *SEED, "--score", *extra, ok=False)
    assert result.exit_code == 2 and "--score engraves notation as a PNG" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_misspelt_mode_is_named_before_asking_for_a_key(runner, model):
    result = generate(runner, model, *SEED, "--mode", "dorain", ok=False)
    assert "--mode: 'dorain' is not a mode: expected one of" in result.stderr


def test_constraints_that_leave_one_pitch_say_so(runner, model):
    result = generate(runner, model, *SEED, "--range", "C4:C4", "--length", "6")
    assert "--key/--range leave one of the model's pitches (C4): the melody can only repeat it" \
        in result.stderr
    assert "leave one of" not in generate(runner, model, *SEED, "--length", "6").stderr
