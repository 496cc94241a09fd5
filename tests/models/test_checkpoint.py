"""Checkpoints: one self-describing file, written atomically, loaded without running code."""

from __future__ import annotations

import os
import pickle
import shlex

import pytest
import torch

from melodyrnn import files
from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import CheckpointError
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel


@pytest.fixture
def small_checkpoint() -> ckpt.Checkpoint:
    torch.manual_seed(0)
    codec = NoteCodec(["g8", "e8", "e4", "f8"])
    model = SequenceModel(ModelConfig(vocab_size=4, output_size=4, hidden=8, embedding_dim=4))
    return ckpt.Checkpoint(model.eval(), codec, {"epochs": 3, "batching": "stream"},
                           {"primer": [0, 1, 2, 3], "tempo": 100, "key": None})


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_saved_checkpoint_loads_back_with_the_same_behaviour(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    loaded = ckpt.load(path)
    tokens = torch.tensor([[0, 1, 2, 3, 2, 1]])
    with torch.no_grad():
        assert torch.equal(loaded.model(tokens)[0], small_checkpoint.model(tokens)[0])
    assert loaded.model_config == small_checkpoint.model_config
    assert loaded.codec.tokens == small_checkpoint.codec.tokens
    assert type(loaded.codec) is NoteCodec
    assert loaded.train_config == small_checkpoint.train_config
    assert loaded.metadata == small_checkpoint.metadata
    assert not loaded.model.training


def test_checkpoint_file_holds_tag_version_configs_codec_and_weights(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == ckpt.FORMAT_TAG and payload["version"] == ckpt.FORMAT_VERSION
    assert payload["model_config"]["hidden"] == 8
    assert payload["codec"] == {"kind": "notes", "tokens": ["g8", "e8", "e4", "f8"],
                                "end_token": False}
    assert set(payload["state_dict"]) == set(small_checkpoint.model.state_dict())


def test_trained_nabiya_checkpoint_round_trips(nabiya_model, nabiya_fit):
    loaded = ckpt.load(nabiya_model)
    assert loaded.codec.tokens == nabiya_fit.checkpoint.codec.tokens
    original = nabiya_fit.checkpoint.model.state_dict()
    assert all(torch.equal(t, original[k]) for k, t in loaded.model.state_dict().items())


def test_failed_serialisation_leaves_the_previous_file_intact(small_checkpoint, tmp_path,
                                                             monkeypatch):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(small_checkpoint, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failure_while_writing_the_file_leaves_the_previous_file_intact(small_checkpoint,
                                                                       tmp_path, monkeypatch):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    before = path.read_bytes()
    written = []

    def sync_then_fail(fd):
        written.append(os.fstat(fd).st_size)  # the new bytes are in the temporary file...
        raise OSError("device went away")  # ...when the write fails before the rename

    monkeypatch.setattr(files.os, "fsync", sync_then_fail)
    with pytest.raises(OSError, match="device went away"):
        ckpt.save(small_checkpoint, path)
    assert written and written[0] > 0
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_interrupted_first_save_leaves_no_file(small_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(small_checkpoint, tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        ckpt.load(tmp_path / "absent.pt")


@pytest.mark.parametrize("content", [os.urandom(256), b"", b"g8 e8 e4 f8\n"],
                         ids=["random-bytes", "empty", "song-text"])
def test_a_file_that_is_not_a_pytorch_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"model\.pt: not a readable melodyrnn checkpoint"):
        ckpt.load(path)


@pytest.mark.parametrize("payload", [[1, 2, 3], {"weights": torch.zeros(2)},
                                     {"format": "other-tool", "version": 1}],
                         ids=["list", "dict-without-tag", "other-tag"])
def test_a_foreign_pytorch_file_is_not_a_melodyrnn_checkpoint(tmp_path, payload):
    path = tmp_path / "foreign.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as info:
        ckpt.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a melodyrnn checkpoint")
    assert "melodyrnn train" in message


def test_a_truncated_checkpoint_is_a_clear_error(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not a readable melodyrnn checkpoint"):
        ckpt.load(path)


def test_a_newer_format_version_is_refused(small_checkpoint, tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"format": ckpt.FORMAT_TAG, "version": 99}, path)
    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        ckpt.load(path)


def test_weights_that_do_not_fit_the_config_are_a_damaged_checkpoint(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["hidden"] = 9
    torch.save(payload, path)
    with pytest.raises(CheckpointError,
                       match="not a usable melodyrnn checkpoint: the weights do not fit"):
        ckpt.load(path)


class Payload:
    """Unpickling this runs a shell command: what a malicious 'model' would do."""

    def __init__(self, marker) -> None:
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    if writer == "torch":
        torch.save({"format": ckpt.FORMAT_TAG, "version": 1, "evil": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError) as info:
        ckpt.load(path)
    assert not marker.exists()
    if writer == "torch":  # a real PyTorch file: the weights-only unpickler refuses the call
        assert "refused to load" in str(info.value) and "could run code" in str(info.value)
        assert "system" in str(info.value)  # names what it refused
    else:  # not even a PyTorch file: never unpickled at all
        assert "not a readable melodyrnn checkpoint" in str(info.value)


def test_the_malicious_payload_is_live_when_loaded_unsafely(tmp_path):
    # The control for the test above: plain unpickling does run it.
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


# --- checked as data from a stranger ----------------------------------------------------------

def test_a_saved_checkpoint_carries_a_checksum_of_its_weights(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    assert payload[ckpt.CHECKSUM_KEY] == ckpt.weights_checksum(payload["state_dict"])
    payload["state_dict"]["head.bias"] = payload["state_dict"]["head.bias"] + 1e-3
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not match their checksum: the file is corrupted"):
        ckpt.load(path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("with_checksum", [True, False])
def test_weights_that_are_not_finite_are_refused(small_checkpoint, tmp_path, bad, with_checksum):
    # A diverged run's weights would make every sampling step fail deep inside torch.
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["head.bias"][0] = bad
    if with_checksum:
        payload[ckpt.CHECKSUM_KEY] = ckpt.weights_checksum(payload["state_dict"])
    else:
        del payload[ckpt.CHECKSUM_KEY]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"weight head\.bias holds NaN or infinite values"):
        ckpt.load(path)


def test_checkpoints_written_before_checksums_still_load(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    del payload[ckpt.CHECKSUM_KEY]
    torch.save(payload, path)
    assert ckpt.load(path).codec.tokens == small_checkpoint.codec.tokens
    assert ckpt.load(ckpt.BUNDLED_PATH).codec.kind == "notes"  # made before checksums


@pytest.mark.parametrize(("change", "reason"), [
    (lambda p: p["model_config"].update(hidden=30000), "hidden 30000: expected at most 2048"),
    (lambda p: p["model_config"].update(vocab_size=10**7), "distinct tokens"),
    (lambda p: p["model_config"].update(hidden=True), "not of type int"),
    (lambda p: p["model_config"].update(colour="blue"), "unknown setting 'colour'"),
    (lambda p: p["codec"].update(tokens=["g8", "e8", "e4"]), "3 tokens for a model of 4"),
    (lambda p: p["metadata"].update(time_signature=[4, 0]), "time signature 4/0"),
    (lambda p: p["metadata"].update(primer=[0, 99]), "primer"),
    (lambda p: p.update(state_dict=[]), "state_dict must be"),
], ids=["huge", "vocabulary", "type", "unknown", "codec", "metre", "primer", "weights"])
def test_tampered_fields_are_one_line_naming_the_file(small_checkpoint, tmp_path, change,
                                                      reason):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as info:
        ckpt.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a usable melodyrnn checkpoint: ")
    assert reason in message and "\n" not in message


def test_a_compressed_archive_is_refused_before_it_is_unpacked(small_checkpoint, tmp_path):
    import zipfile

    good = ckpt.save(small_checkpoint, tmp_path / "good.pt")
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as archive:
        for member in source.infolist():
            archive.writestr(member, source.read(member), zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="compressed archive member"):
        ckpt.load(bomb)


def test_kind_of_reads_the_kind_without_building_a_model(small_checkpoint, tmp_path):
    path = ckpt.save(small_checkpoint, tmp_path / "model.pt")
    assert ckpt.kind_of(path) == "notes"
    assert ckpt.kind_of(tmp_path / "absent.pt") is None
