"""One file per trained model: format tag, version, configs, codec, weights and metadata.

Saved atomically (temp file + rename) and loaded with ``torch.load(weights_only=True)``,
so a checkpoint holds only plain data and tensors and can never run code when opened.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from melodyrnn.codecs.registry import codec_from_dict
from melodyrnn.codecs.tokens import TokenCodec
from melodyrnn.errors import CheckpointError, MelodyError
from melodyrnn.files import atomic_write
from melodyrnn.models.config import ModelConfig
from melodyrnn.models.network import SequenceModel

FORMAT_TAG = "melodyrnn-checkpoint"
FORMAT_VERSION = 1
DEFAULT_PATH = Path("melodyrnn.pt")
BUNDLED_PATH = Path(__file__).resolve().parents[1] / "bundled" / "folk.pt"
NO_BUNDLED_ENV = "MELODYRNN_NO_BUNDLED"  # set to 1 to ignore the bundled model


def bundled_path() -> Path | None:
    """The model shipped inside the package, unless absent or switched off."""
    if os.environ.get(NO_BUNDLED_ENV, "") not in ("", "0") or not BUNDLED_PATH.is_file():
        return None
    return BUNDLED_PATH


@dataclass
class Checkpoint:
    """A trained model with everything needed to use it again."""

    model: SequenceModel
    codec: TokenCodec
    train_config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    training_state: dict[str, Any] = field(default_factory=dict)

    @property
    def model_config(self) -> ModelConfig:
        """The architecture of the model."""
        return self.model.config


def save(checkpoint: Checkpoint, path: str | Path) -> Path:
    """Write a checkpoint atomically; a crash mid-write leaves any previous file intact."""
    payload = {
        "format": FORMAT_TAG,
        "version": FORMAT_VERSION,
        "model_config": checkpoint.model_config.to_dict(),
        "train_config": dict(checkpoint.train_config),
        "codec": checkpoint.codec.to_dict(),
        "metadata": dict(checkpoint.metadata),
        "state_dict": checkpoint.model.state_dict(),
        "training_state": checkpoint.training_state,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(path)
    with atomic_write(path) as file:
        file.write(buffer.getvalue())
    return path


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint; raise CheckpointError if it is missing, foreign, damaged or unsafe."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; anything else is foreign
        raise CheckpointError(f"{path}: not a readable melodyrnn checkpoint (truncated, or not "
                              "a PyTorch file); train one with `melodyrnn train`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused to load: the file holds objects other than "
                              f"plain data and tensors, which could run code "
                              f"({_unpickling_reason(err)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable melodyrnn checkpoint "
                              f"(truncated or not a PyTorch file: {str(err)[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path}: not a melodyrnn checkpoint (no '{FORMAT_TAG}' tag); "
                              "train one with `melodyrnn train`")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('version')} is "
                              f"not supported by this melodyrnn (expected {FORMAT_VERSION})")
    try:
        model = SequenceModel(ModelConfig(**payload["model_config"]))
        model.load_state_dict(payload["state_dict"])
        codec = codec_from_dict(payload["codec"])
    except (KeyError, TypeError, RuntimeError, MelodyError) as err:
        raise CheckpointError(f"{path}: damaged melodyrnn checkpoint: {str(err)[:200]}") from None
    model.eval()
    return Checkpoint(model, codec, payload.get("train_config", {}), payload.get("metadata", {}),
                      payload.get("training_state") or {})


def _unpickling_reason(err: pickle.UnpicklingError) -> str:
    """The specific line of torch's long weights-only message, e.g. 'unsupported GLOBAL ...'."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    specific = [line for line in lines[1:] if not line.startswith(("Check the documentation",
                                                                   "Please file an issue"))]
    return (specific or lines or ["unpickling failed"])[0][:160]
