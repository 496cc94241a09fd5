"""What ``evaluate --folds`` cross-validates, as plain data and options. No numpy, no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.errors import MelodyError
from melodyrnn.models.config import ModelConfig
from melodyrnn.settings import setting, setting_like

NEURAL_ARCHS = ("lstm", "gru", "rnn", "mlp")
MIXTURE_ARCHS = tuple(f"ppm+{arch}" for arch in NEURAL_ARCHS)
ARCHS = ("ppm", *NEURAL_ARCHS, *MIXTURE_ARCHS)
# The defaults below are the best configuration found on the development set, Essen *dva*
# (192 melodies, 10 folds, seed 0), never on *kinder* (the reported set); bench/README.md,
# "Structure-aware models", lists every variant tried.
MIX_BIAS = 2.0  # of 0.5, 1, 2, 4: best for ppm+lstm on dva
PPM_BIAS = 2.0  # of 1, 2, 4, 7 (IDyOM's 7 is for one viewpoint): best on dva for three
VIEWPOINTS = "cpitch,cpintfref,cpint"  # best of cpitch, +cpintfref, +cpint, all three on dva


@dataclass(frozen=True)
class CrossValConfig:
    """What to cross-validate; the neural defaults keep a 10-fold kinder run to a few minutes."""

    model: str = "ppm"
    folds: int = 10
    seed: int = 0
    ppm_order: int | None = None  # None: unbounded (PPM*)
    update_exclusion: bool = False
    stm: bool = True
    bias: float = setting(PPM_BIAS, "With --folds and a PPM: the bias of IDyOM's "
                          "entropy-weighted mix of its viewpoints and of the long- and "
                          "short-term models (higher trusts the more certain one more; "
                          "IDyOM's 7 suits --viewpoints cpitch alone).", low=0.0, high=20.0)
    ltm_plus: bool = False  # IDyOM's LTM+: also learn each test melody once predicted
    mix_bias: float = setting(MIX_BIAS, "With --folds and ppm+<network>: the bias of the "
                              "entropy-weighted mix of the PPM and network predictions.",
                              low=0.0, high=20.0)
    epochs: int = 20
    lr: float = 0.005
    hidden: int = setting_like(ModelConfig, "hidden", 128)
    layers: int = setting_like(ModelConfig, "layers", 1)
    embedding_dim: int = setting_like(ModelConfig, "embedding_dim", 32)
    batch_size: int = 16
    bptt: int = 64
    dropout: float = setting_like(ModelConfig, "dropout", 0.0)
    inputs: str = setting_like(ModelConfig, "inputs", "token")
    head: str = setting_like(ModelConfig, "head", "joint")
    copy: bool = setting_like(ModelConfig, "copy", True)
    frame: str = setting_like(NoteCodec, "frame", "key")
    rests: bool = True  # the network reads the rests (when notes start); False: notes only
    valid_fraction: float = setting(0.0, "With --folds and a network: stop each fold's training "
                                    "when this share of its training melodies (held out) stops "
                                    "improving (0: run all --epochs).", low=0.0, high=0.5)
    valid_patience: int = 3
    init: str | None = None  # a pre-trained checkpoint each fold starts from (fine-tuning)
    viewpoints: str = setting(VIEWPOINTS, "With --folds and a PPM: its viewpoints, comma-separated: "
                              "cpitch (the pitch), cpintfref (the pitch relative to the key "
                              "signature's tonic), cpint (the interval from the last note).",
                              metavar="VIEWPOINT[,...]")

    def __post_init__(self) -> None:
        if self.model not in ARCHS:
            raise MelodyError(f"--model {self.model}: with --folds expected one of "
                              f"{', '.join(ARCHS)}")
        if self.init and self.model == "ppm":
            raise MelodyError("--init: with --folds only a network (or ppm+<network>) starts "
                              "from a pre-trained checkpoint")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
