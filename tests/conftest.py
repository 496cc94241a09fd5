"""Shared fixtures: the 나비야 data file and one model trained on it with the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models import checkpoint as ckpt
from melodyrnn.models.config import ModelConfig
from melodyrnn.music.notation import parse_file
from melodyrnn.pipeline import FitReport, fit
from melodyrnn.training.config import TrainConfig

# The models in these tests are tiny: with several intra-op threads on a busy 2-core
# machine, thread hand-offs cost far more than the arithmetic (seen: 18 s vs 0.3 s).
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent
NABIYA = REPO / "data" / "nabiya.txt"


@pytest.fixture(scope="session")
def nabiya_path() -> Path:
    """data/nabiya.txt, the 54-note song every classic exercise starts from."""
    return NABIYA


@pytest.fixture(scope="session")
def nabiya(nabiya_path):
    """나비야 as one parsed Melody."""
    (melody,) = parse_file(nabiya_path)
    return melody


@pytest.fixture(scope="session")
def nabiya_fit(nabiya) -> FitReport:
    """A model trained on 나비야 with the default settings, once per test session."""
    # The same metadata `melodyrnn train` stores, so generated songs keep tempo, metre and key.
    metadata = {"tempo": nabiya.tempo, "time_signature": list(nabiya.time_signature),
                "key": nabiya.key, "sources": [str(NABIYA)]}
    return fit([nabiya], NoteCodec.fit([nabiya]), ModelConfig(), TrainConfig(), metadata,
               progress=False, log=lambda message: None)


@pytest.fixture(scope="session")
def nabiya_model(nabiya_fit, tmp_path_factory) -> Path:
    """The default 나비야 checkpoint saved to a file (do not modify it; copy it instead)."""
    return ckpt.save(nabiya_fit.checkpoint, tmp_path_factory.mktemp("model") / "nabiya.pt")
