"""The architecture of a model as plain data: stored in checkpoints, shown as ``train`` options.

No torch here, so the command line can describe its options without loading PyTorch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from melodyrnn.settings import setting

ARCHITECTURES = ("lstm", "gru", "rnn", "mlp", "peephole", "cifg")  # network.CORES
INPUTS = ("embedding", "scalar", "features")  # network.ENCODERS; features: numeric series
HEADS = ("joint", "pitch-duration", "duration-pitch")  # heads.HEADS
LTM_BIAS = 7.0  # IDyOM's *ltm-stm-bias* default for combining PPMs (its viewpoint bias is 2)
MAX_HIDDEN = 2048  # units per layer: a 2048-unit LSTM layer is 17 M weights
MAX_LAYERS = 8
MAX_EMBEDDING = 1024
MAX_VOCAB = 100_000  # distinct tokens (or series features) a model may have
MAX_PARAMETERS = 250_000_000  # 1 GB of float32 weights; training needs about 4x that


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a model; stored in checkpoints. Settings are ``train`` options."""

    arch: str = setting("lstm", "Network: stateful LSTM, GRU, vanilla RNN, window MLP; LSTM "
                        "variants peephole, cifg.", flag="--model", choices=ARCHITECTURES)
    vocab_size: int = 0
    output_size: int = 0
    hidden: int = setting(128, "Units per hidden layer.", low=1, high=MAX_HIDDEN)
    layers: int = setting(1, "Stacked recurrent layers.", low=1, high=MAX_LAYERS)
    input: str = setting("embedding", "Token input: a learned embedding, or the classic "
                         "index/max scalar.", choices=INPUTS,
                         offered=("embedding", "scalar"))
    embedding_dim: int = setting(32, "Size of token embeddings.", low=1, high=MAX_EMBEDDING)
    window: int = 4  # copied from TrainConfig.window by pipeline.fit
    dropout: float = setting(0.0, "Dropout between layers.", low=0.0, high=0.9)
    inputs: str = setting("token", "What the network sees of each note: its token, plus any of "
                          "position (onset in the bar, metre), bar (place in a 16-bar phrase), "
                          "lookback (the notes one and two bars back, repeat flags), phrase (the "
                          "same four and eight bars back), degree "
                          "(scale degree in the key signature), interval (from the previous "
                          "note); comma-separated.", metavar="token[,GROUP...]")
    head: str = setting("joint", "Output: joint (one softmax over pitch+duration tokens), or "
                        "factored: pitch-duration (the pitch, then its duration given the "
                        "pitch) or duration-pitch.", choices=HEADS)
    copy: bool = setting(False, "A copy memory over the melody so far: the network can repeat "
                         "what followed a moment like this one earlier in the melody, as folk "
                         "tunes repeat their bars (its neural short-term model).")
    feature_sizes: tuple[int, ...] = ()  # set by pipeline.fit from the codec and ``inputs``
    pitch_classes: int = 0  # factored heads: rest + pitches, and durations (from the codec)
    duration_classes: int = 0
    ends: bool = False  # factored heads: the vocabulary has an end token

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return asdict(self)
