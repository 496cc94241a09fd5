"""One file per trained model: format tag, version, configs, codec, weights and metadata.

Saved atomically (temp file + rename) with a SHA-256 checksum of the weights, and loaded
with ``torch.load(weights_only=True)``, so a checkpoint holds only plain data and tensors
and can never run code when opened. Before anything is built the file is checked as data
from a stranger: an uncompressed PyTorch archive (a zip bomb is refused unread), configs of
the right types within the options' bounds, every weight of the shape the config implies
(worked out on the ``meta`` device, so a tampered config allocates nothing), the checksum
when there is one (files written before it existed, like older bundled models, still load),
a codec that fits the model, and metadata a melody can use. Tensors are memory-mapped while
they are checked; only the model's own weights are ever copied into memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import typing
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from melodyrnn.codecs.registry import codec_from_dict
from melodyrnn.codecs.tokens import TokenCodec
from melodyrnn.errors import CheckpointError, FileError, MelodyError
from melodyrnn.files import atomic_write, regular_file
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.ensemble import MAX_MEMBERS as MAX_NETWORKS
from melodyrnn.models.ensemble import Ensemble, networks_of
from melodyrnn.models.network import SequenceModel, check_size, shape_of
from melodyrnn.music.form import FormBook
from melodyrnn.music.keys import split_key
from melodyrnn.music.melody import metre_problem, tempo_problem
from melodyrnn.settings import check

FORMAT_TAG = "melodyrnn-checkpoint"
FORMAT_VERSION = 1
DEFAULT_PATH = Path("melodyrnn.pt")
BUNDLED_PATH = Path(__file__).resolve().parents[1] / "bundled" / "folk.pt"
NO_BUNDLED_ENV = "MELODYRNN_NO_BUNDLED"  # set to 1 to ignore the bundled model
CHECKSUM_KEY = "weights_sha256"
MAX_PICKLE_BYTES = 64 << 20  # the archive's plain-data part (configs, codec, metadata)
MAX_MEMBERS = 100_000
TENSOR_BYTES_PER_WEIGHT_BYTE = 8  # weights, optimiser moments, best weights: about 4x
TENSOR_BYTES_SLACK = 16 << 20  # random-number states, series history and the like
MAX_TOKEN_CHARS = 4096  # a long note is tied whole notes: "d'1~ d'1~ ..."
FEED_BATCHINGS = ("stream", "windows")  # feeds.FEEDS (imported there, not here: no cycle)


def bundled_path() -> Path | None:
    """The model shipped inside the package, unless absent or switched off."""
    if os.environ.get(NO_BUNDLED_ENV, "") not in ("", "0") or not BUNDLED_PATH.is_file():
        return None
    return BUNDLED_PATH


@dataclass
class Checkpoint:
    """A trained model with everything needed to use it again."""

    model: SequenceModel | Ensemble
    codec: TokenCodec
    train_config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    training_state: dict[str, Any] = field(default_factory=dict)

    @property
    def model_config(self) -> ModelConfig:
        """The architecture of the model."""
        return self.model.config


def weights_checksum(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every weight's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        if tensor.numel():
            digest.update(memoryview(tensor.reshape(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()


def save(checkpoint: Checkpoint, path: str | Path, half: bool = False) -> Path:
    """Write a checkpoint atomically; a crash mid-write leaves any previous file intact.

    ``half`` stores the weights in 16-bit floats (half the file; they are computed with in
    32 bits again when loaded): for a model that is finished, not for one to resume.
    """
    weights = checkpoint.model.state_dict()
    if half:
        weights = {name: tensor.half() if tensor.is_floating_point() else tensor
                   for name, tensor in weights.items()}
    networks = len(networks_of(checkpoint.model))
    payload = {
        "format": FORMAT_TAG,
        "version": FORMAT_VERSION,
        "model_config": checkpoint.model_config.to_dict(),
        "train_config": dict(checkpoint.train_config),
        "codec": checkpoint.codec.to_dict(),
        "metadata": dict(checkpoint.metadata),
        "state_dict": weights,
        CHECKSUM_KEY: weights_checksum(weights),
        "training_state": checkpoint.training_state,
        **({"networks": networks} if networks > 1 else {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(path)
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path


def combine(checkpoints: list[Checkpoint]) -> Checkpoint:
    """One checkpoint averaging the networks of several (``ensemble.Ensemble``), which must
    share the config, the codec and the held-out melodies; the first one's metadata is kept."""
    first = checkpoints[0]
    for other in checkpoints[1:]:
        if other.codec.to_dict() != first.codec.to_dict():
            raise MelodyError("an ensemble's networks must share one vocabulary (train them on "
                              "the same data with the same options)")
        if other.metadata.get("valid_indices") != first.metadata.get("valid_indices"):
            raise MelodyError("an ensemble's networks must hold out the same melodies (train "
                              "them with the same --valid-fraction on the same data)")
    networks = [network for c in checkpoints for network in networks_of(c.model)]
    return Checkpoint(Ensemble(networks).eval(), first.codec, dict(first.train_config),
                      dict(first.metadata))


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint; raise CheckpointError if it is missing, foreign, damaged or unsafe."""
    path = Path(path)
    payload = read_payload(path)

    def unusable(reason: str) -> CheckpointError:
        return CheckpointError(f"{path}: not a usable melodyrnn checkpoint: {reason}")

    try:
        config = _model_config(payload.get("model_config"))
        networks = _networks(payload.get("networks", 1))
        shape = shape_of(config)  # on the meta device: a huge config allocates nothing
        check_size(config, shape)
        whole = shape if networks == 1 else Ensemble([shape_of(config) for _ in range(networks)])
        _check_weights(payload.get("state_dict"), whole, payload.get(CHECKSUM_KEY))
        _check_tensor_bytes(payload, config)
        codec = _codec(payload.get("codec"), config)
        train_config = _plain_dict(payload.get("train_config", {}), "train_config")
        _check_train_config(train_config)
        metadata = _plain_dict(payload.get("metadata", {}), "metadata")
        _check_metadata(metadata, codec)
        training_state = _plain_dict(payload.get("training_state") or {}, "training_state")
        model = SequenceModel(config) if networks == 1 else \
            Ensemble([SequenceModel(config) for _ in range(networks)])
        model.load_state_dict(payload["state_dict"])
    except (MelodyError, KeyError, TypeError, ValueError, RuntimeError, IndexError,
            AttributeError, ArithmeticError) as err:
        reason = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise unusable(" ".join(str(reason).split())[:240]) from None
    model.eval()
    return Checkpoint(model, codec, train_config, metadata, training_state)


def kind_of(path: str | Path) -> str | None:
    """The codec kind a checkpoint holds ('notes', 'text', 'series'), or None if unreadable."""
    try:
        codec = read_payload(Path(path)).get("codec")
    except MelodyError:
        return None
    kind = codec.get("kind") if isinstance(codec, dict) else None
    return kind if isinstance(kind, str) else None


def read_payload(path: Path) -> dict[str, Any]:
    """The unpickled contents of a checkpoint file, tensors memory-mapped, tag and version
    checked; CheckpointError for a file that is missing, foreign, unsafe or a zip bomb."""
    try:
        regular_file(path, "model file")
    except FileError as err:
        raise CheckpointError(str(err)) from None
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; anything else is foreign
        raise CheckpointError(f"{path}: not a readable melodyrnn checkpoint (truncated, or not "
                              "a PyTorch file); train one with `melodyrnn train`")
    _check_archive(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused to load: the file holds objects other than "
                              f"plain data and tensors, which could run code "
                              f"({_unpickling_reason(err)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError,
            TypeError, IndexError, MemoryError, OverflowError) as err:
        raise CheckpointError(f"{path}: not a readable melodyrnn checkpoint "
                              f"(truncated or not a PyTorch file: {str(err)[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path}: not a melodyrnn checkpoint (no '{FORMAT_TAG}' tag); "
                              "train one with `melodyrnn train`")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('version')!r} "
                              f"is not supported by this melodyrnn (expected {FORMAT_VERSION})")
    return payload


def _check_archive(path: Path) -> None:
    """Refuse archives torch would never write: compressed members (a zip bomb unpacks a
    small file to gigabytes), too many members, an oversized plain-data part."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable melodyrnn checkpoint ({err})") from None
    problem = None
    if len(members) > MAX_MEMBERS:
        problem = f"{len(members)} archive members"
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED:
            problem = f"compressed archive member {member.filename!r} (torch writes none)"
        elif member.filename.endswith("data.pkl") and member.file_size > MAX_PICKLE_BYTES:
            problem = f"{member.file_size >> 20} MB of plain data (at most {MAX_PICKLE_BYTES >> 20})"
        if problem:
            break
    if problem:
        raise CheckpointError(f"{path}: not a usable melodyrnn checkpoint: {problem}; refused "
                              "unread")


# --- what a checkpoint must hold -------------------------------------------------------------

def _plain_dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise MelodyError(f"{name} must be a table of named values, got {type(value).__name__}")
    return value


def _typed_fields(config_class: type, data: dict[str, Any], name: str) -> None:
    """MelodyError unless every entry of ``data`` is a field of ``config_class`` of its type."""
    hints = typing.get_type_hints(config_class)
    known = {item.name for item in fields(config_class)}
    for key, value in data.items():
        if key not in known:
            raise MelodyError(f"{name}: unknown setting {key!r}")
        hint = hints[key]
        options = typing.get_args(hint) or (hint,)
        if value is None and type(None) in options:
            continue
        if typing.get_origin(hint) in (tuple, list):  # e.g. tuple[int, ...]: whole numbers
            ok = isinstance(value, (tuple, list)) and all(
                type(v) is int and v >= 0 for v in value)
        elif bool in options:
            ok = isinstance(value, bool)
        elif int in options or float in options:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and (float in options or isinstance(value, int)))
        elif str in options:
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise MelodyError(f"{name}: {key} = {value!r} is not of type "
                              f"{getattr(hint, '__name__', hint)}")


def _model_config(data: Any) -> ModelConfig:
    """The model config, of the right types and within the options' bounds."""
    data = _plain_dict(data, "model_config")
    _typed_fields(ModelConfig, data, "model_config")
    config = ModelConfig(**data)
    check(config)
    if not 1 <= config.window <= 256:
        raise MelodyError(f"model_config: window {config.window}: expected 1 to 256")
    if config.vocab_size < 1:
        raise MelodyError(f"model_config: vocab_size {config.vocab_size}: expected 1 or more")
    return config


def _networks(count: Any) -> int:
    """How many averaged networks the file holds (1 unless it is an ensemble)."""
    if type(count) is not int or not 1 <= count <= MAX_NETWORKS:
        raise MelodyError(f"networks: expected a count of 1 to {MAX_NETWORKS}, found {count!r}")
    return count


def _check_weights(weights: Any, shape: nn.Module, checksum: Any) -> None:
    """Every weight the config's model (``shape``, on the meta device) has, of its shape and
    dtype (or stored in 16 bits, ``save(half=True)``), all finite, and nothing else; and the
    checksum, if the file has one."""
    weights = _plain_dict(weights, "state_dict")
    expected = shape.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise MelodyError(f"the weights do not fit the model config (missing {missing[:3]}, "
                          f"unexpected {extra[:3]})")
    for name, shape in expected.items():
        tensor = weights[name]
        stored_as = (shape.dtype, torch.float16) if shape.dtype == torch.float32 \
            else (shape.dtype,)
        if not isinstance(tensor, torch.Tensor) or tensor.shape != shape.shape \
                or tensor.dtype not in stored_as:
            found = (f"{tuple(tensor.shape)} {tensor.dtype}" if isinstance(tensor, torch.Tensor)
                     else type(tensor).__name__)
            raise MelodyError(f"the weights do not fit the model config: {name} is {found}, "
                              f"expected {tuple(shape.shape)} {shape.dtype}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise MelodyError(f"weight {name} holds NaN or infinite values (a run that "
                              "diverged?): retrain, or use an earlier checkpoint")
    if checksum is not None and checksum != weights_checksum(weights):
        raise MelodyError("the weights do not match their checksum: the file is corrupted")


def _check_tensor_bytes(payload: dict[str, Any], config: ModelConfig) -> None:
    """No more tensor data than a model of this config and its training state can need."""
    weights = sum(t.numel() * t.element_size() for t in payload["state_dict"].values())
    limit = TENSOR_BYTES_PER_WEIGHT_BYTE * weights + TENSOR_BYTES_SLACK
    total = sum(t.numel() * t.element_size() for t in _tensors(payload))
    if total > limit:
        raise MelodyError(f"{total >> 20} MB of tensors for a model of {weights >> 20} MB of "
                          "weights")


def _tensors(value: Any) -> typing.Iterator[torch.Tensor]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _codec(data: Any, config: ModelConfig) -> TokenCodec:
    """The codec, rebuilt and checked to fit the model's input and output."""
    data = _plain_dict(data, "codec")
    tokens = data.get("tokens")
    if tokens is not None and (not isinstance(tokens, list) or not all(
            isinstance(t, str) and 0 < len(t) <= MAX_TOKEN_CHARS for t in tokens)):
        raise MelodyError("codec: tokens must be a list of short texts")
    codec = codec_from_dict(data)
    if codec.vocab_size != config.vocab_size:
        raise MelodyError(f"codec: {codec.vocab_size} tokens for a model of "
                          f"{config.vocab_size}")
    if (codec.kind == "series") != (config.input == "features"):
        raise MelodyError(f"codec: a {codec.kind} codec for a model with {config.input} input")
    if codec.kind == "series":
        codec.target_index  # noqa: B018 - raises ValueError for a target not among the columns
        if not len(codec.mean) == len(codec.scale) == codec.vocab_size:
            raise MelodyError("codec: the series scaling does not match its columns")
    elif config.output_size not in (0, codec.vocab_size):
        raise MelodyError(f"codec: {codec.vocab_size} tokens for a model predicting "
                          f"{config.output_size}")
    return codec


def _check_train_config(data: dict[str, Any]) -> None:
    """The training settings this layer uses: plain values and a batching a feed knows.

    (The full ``TrainConfig`` lives above this layer; ``--resume`` checks all of it.)
    """
    for key, value in data.items():
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise MelodyError(f"train_config: {key} = {type(value).__name__}, expected a value")
    if data.get("batching", "stream") not in FEED_BATCHINGS:
        raise MelodyError(f"train_config: batching {data.get('batching')!r}: expected one of "
                          f"{', '.join(FEED_BATCHINGS)}")


def _check_metadata(metadata: dict[str, Any], codec: TokenCodec) -> None:
    """The tempo, metre, key and primer generated melodies take from the training data."""
    if metadata.get("tempo") is not None and tempo_problem(metadata["tempo"]):
        raise MelodyError(f"metadata: {tempo_problem(metadata['tempo'])}")
    metre = metadata.get("time_signature")
    if metre is not None and metre_problem(tuple(metre) if isinstance(metre, list) else metre):
        raise MelodyError(f"metadata: {metre_problem(metre)}")
    key = metadata.get("key")
    if key is not None:
        if not isinstance(key, str):
            raise MelodyError(f"metadata: key {key!r} is not a key")
        split_key(key)
    if codec.kind != "series" and not _token_ids(metadata.get("primer", []), codec):
        raise MelodyError("metadata: the primer must be token ids of the codec")
    openings = metadata.get("openings", [])
    if not isinstance(openings, list) or not all(
            isinstance(o, dict) and _token_ids(o.get("tokens"), codec) for o in openings):
        raise MelodyError("metadata: openings must hold token ids of the codec")
    for number, opening in enumerate(openings, start=1):  # each must rebuild a melody
        try:
            if opening.get("key") is not None:
                split_key(str(opening["key"]))
            if hasattr(codec, "opened"):
                codec.opened(opening)
        except (MelodyError, ArithmeticError, TypeError, ValueError) as err:
            reason = err if isinstance(err, MelodyError) else type(err).__name__
            raise MelodyError(f"metadata: opening {number}: {reason}: expected the metre, "
                              "tempo, key and pickup of a melody") from None
    indices = metadata.get("valid_indices", [])
    if not isinstance(indices, list) or not all(type(i) is int and i >= 0 for i in indices):
        raise MelodyError("metadata: valid_indices must be melody numbers")
    if metadata.get("forms") is not None:
        FormBook.from_plain(metadata["forms"])


def _token_ids(ids: Any, codec: TokenCodec) -> bool:
    return isinstance(ids, list) and all(type(i) is int and 0 <= i < codec.vocab_size
                                         for i in ids)


def _unpickling_reason(err: pickle.UnpicklingError) -> str:
    """The specific line of torch's long weights-only message, e.g. 'unsupported GLOBAL ...'."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    specific = [line for line in lines[1:] if not line.startswith(("Check the documentation",
                                                                   "Please file an issue"))]
    return (specific or lines or ["unpickling failed"])[0][:160]
