"""Character-level text through the shared pipeline: tiny classics, Unicode, bits per character."""

from __future__ import annotations

import json

import pytest

from melodyrnn.codecs.registry import codec_from_dict
from melodyrnn.codecs.text import CharCodec, known_only, read_text, split_text, text_rows
from melodyrnn.errors import ParseError, VocabularyError
from melodyrnn.generation.sampling import Sampling
from melodyrnn.models.config import ModelConfig
from melodyrnn.pipeline import continue_items, fit
from melodyrnn.training.config import TrainConfig
from tests.clitools import run

SENTENCE = ("if you want to build a ship, don't drum up people together to collect wood and "
            "don't assign them tasks and work, but rather teach them to long for the endless "
            "immensity of the sea.")
KOREAN = "나비야 나비야 이리 날아 오너라. 노랑나비 흰나비 춤을 추며 오너라."


def quiet(message: str) -> None:
    pass


def test_hihello_is_memorised_exactly() -> None:
    codec = CharCodec.fit(["hihello"])
    report = fit(["hihello"], codec, ModelConfig(hidden=32), TrainConfig(lr=0.05),
                 progress=False, log=quiet)
    assert report.result.history[-1].accuracy == 1.0
    assert continue_items(report.checkpoint, "h", 6) == ["hihello"]


def test_a_long_sentence_is_reproduced_from_its_first_characters() -> None:
    assert 170 <= len(SENTENCE) <= 190
    codec = CharCodec.fit([SENTENCE])
    report = fit([SENTENCE], codec, ModelConfig(hidden=64), TrainConfig(lr=0.02, bptt=32),
                 progress=False, log=quiet)
    assert report.result.history[-1].accuracy == 1.0, report.result.stop_reason
    seed = SENTENCE[:10]
    (text,) = continue_items(report.checkpoint, seed, len(SENTENCE) - len(seed))
    assert text == SENTENCE


def test_korean_round_trips_through_the_char_codec(tmp_path) -> None:
    path = tmp_path / "nabiya.txt"
    path.write_text(KOREAN, encoding="utf-8")
    text = read_text(path)
    codec = CharCodec.fit([text])
    assert codec.decode(codec.encode(text)) == KOREAN
    again = codec_from_dict(codec.to_dict())
    assert again.tokens == codec.tokens and again.decode(again.encode(KOREAN)) == KOREAN
    assert "나" in codec.tokens and len(codec.encode(KOREAN)) == len(KOREAN)


def test_unseen_characters_are_named() -> None:
    codec = CharCodec.fit(["abc"])
    with pytest.raises(VocabularyError, match="'z'"):
        codec.encode("abz", source="--seed")
    assert known_only("abzc", codec.tokens) == ("abc", 1)


def test_bad_utf8_gives_line_and_column(tmp_path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"first line\nab\xffc\n")
    with pytest.raises(ParseError, match=r"bad\.txt:2:3: not UTF-8 text: byte 0xff"):
        read_text(path)


def test_long_texts_become_batch_rows_short_ones_stay_whole() -> None:
    assert text_rows("hihello", 32, 256) == ["hihello"]
    rows = text_rows("x" * 10_000, 8, 256)
    assert len(rows) == 8 and "".join(rows) == "x" * 10_000
    assert split_text("abcdefghij", 0.2) == ("abcdefgh", "ij")


def test_cli_train_generate_evaluate_text(tmp_path) -> None:
    book, model = tmp_path / "book.txt", tmp_path / "text.pt"
    book.write_text("To be, or not to be: that is the question. " * 3, encoding="utf-8")
    run("train", "--kind", "text", book, "-o", model, "--no-progress", "--hidden", 64)
    out = run("generate", "--kind", "text", "--model", model, "--seed", "To be",
              "--length", 40).stdout
    assert out.startswith("To be, or not to be: that is the question.")
    sampled = run("generate", "--model", model, "--seed", "To be", "--length", 30,
                  "--temperature", "0.8", "--top-p", "0.9", "--num-outputs", 2).stdout
    assert sampled.count("To be") >= 2  # kind inferred from the model; two outputs
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("To be, or not to be: that is the question.", encoding="utf-8")
    report = json.loads(run("evaluate", "--kind", "text", "--model", model, held_out,
                            "--json").stdout)
    assert report["bits_per_char"] < 0.5 and report["characters"] > 30
    assert set(report) == {"one_step", "full_text", "bits_per_char", "characters"}
    shown = run("evaluate", "--model", model, held_out).stdout
    assert "bits/char" in shown


def test_a_text_that_ends_at_its_own_line_break_gets_no_blank_line(tmp_path) -> None:
    book, model = tmp_path / "book.txt", tmp_path / "text.pt"
    book.write_text("lazy dog jumps\n", encoding="utf-8")
    run("train", "--kind", "text", book, "-o", model, "--no-progress", "--hidden", 32)
    out = run("generate", "--model", model, "--seed", "lazy", "--length", 11).stdout
    assert out == "lazy dog jumps\n"  # the eleventh character is the text's own line break
    run("generate", "--model", model, "--seed", "lazy", "--length", 11, "-o", tmp_path / "o.txt")
    assert (tmp_path / "o.txt").read_text(encoding="utf-8") == "lazy dog jumps\n"


def test_an_evaluated_text_with_an_unknown_character_is_named_by_its_file(tmp_path) -> None:
    book, model, other = tmp_path / "book.txt", tmp_path / "text.pt", tmp_path / "other.txt"
    book.write_text("hello there\n", encoding="utf-8")
    other.write_text("hello quiz\n", encoding="utf-8")
    run("train", "--kind", "text", book, "-o", model, "--no-progress", "--hidden", 8,
        "--epochs", 1)
    result = run("evaluate", "--kind", "text", "--model", model, book, other, ok=False)
    assert result.exit_code == 1
    assert f"Error: {other}: 'i' 'q' 'u' 'z' never seen in training" in result.stderr


def test_cli_text_errors_are_clean(tmp_path) -> None:
    book, model = tmp_path / "book.txt", tmp_path / "text.pt"
    book.write_text("hihello", encoding="utf-8")
    run("train", "--kind", "text", book, "-o", model, "--no-progress", "--hidden", 16)
    assert "never seen" in run("generate", "--model", model, "--seed", "hz", ok=False).output
    assert "trained on text, not series" in run("generate", "--kind", "series", "--model",
                                                model, ok=False).output
    assert "only with --kind series" in run("train", book, "--columns", "a", "-o", model,
                                            ok=False).output
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff")
    assert "not UTF-8" in run("train", "--kind", "text", bad, ok=False).output


def test_sampling_options_reach_text_generation() -> None:
    codec = CharCodec.fit(["abcabc"])
    report = fit(["abcabc"], codec, ModelConfig(hidden=16), TrainConfig(epochs=5),
                 progress=False, log=quiet)
    outputs = continue_items(report.checkpoint, "a", 20, Sampling(temperature=1.5, top_k=2),
                             num_outputs=3, rng_seed=1)
    assert len(outputs) == 3 and all(o.startswith("a") and len(o) == 21 for o in outputs)


def test_unknown_and_known_characters_are_shown_escaped_never_raw() -> None:
    codec = CharCodec.fit(["a b\nc"])
    with pytest.raises(VocabularyError) as info:
        codec.ids("a\x00", "--seed")
    message = str(info.value)
    assert "'\\x00' never seen in training" in message
    assert "the model knows: '\\n' ' ' a b c" in message and "\n" not in message


def test_a_text_run_resumes_in_its_own_file_and_refuses_a_new_split(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "book.txt").write_text("hello there, hello again\n", encoding="utf-8")
    run("train", "--kind", "text", "book.txt", "-o", "t.pt", "--no-progress", "--hidden", 8,
        "--epochs", 2, "--stop-accuracy", 2)
    resumed = run("train", "--kind", "text", "book.txt", "--resume", "t.pt", "--epochs", 3,
                  "--no-progress")
    assert "saved model to t.pt" in resumed.stdout and not (tmp_path / "melodyrnn.pt").exists()
    refused = run("train", "--kind", "text", "book.txt", "--resume", "t.pt", "--epochs", 4,
                  "--valid-fraction", 0.5, "--no-progress", ok=False)
    assert "--valid-fraction: --resume continues the run with its own settings" in refused.stderr
