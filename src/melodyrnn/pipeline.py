"""The whole job in a few calls — fit, continue, score, cross-validate — for any codec.

These functions connect codec, episodes, model, trainer, generator and checkpoint; the CLI
only parses options and prints. Nothing here knows whether items are melodies or text.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.codecs.tokens import TokenCodec
from melodyrnn.errors import MelodyError
from melodyrnn.evaluation import crossval, plausibility
from melodyrnn.evaluation.config import CrossValConfig
from melodyrnn.evaluation.protocols import Evaluation, evaluate
from melodyrnn.generation.constraints import NO_CONSTRAINTS, Constraints
from melodyrnn.generation.decoding import beam_search, generate
from melodyrnn.generation.form import FormPlan
from melodyrnn.generation.sampling import Sampling
from melodyrnn.generation.steering import Steering
from melodyrnn.models.checkpoint import Checkpoint, load, save
from melodyrnn.models.ensemble import first_network
from melodyrnn.models.feeds import feed_of, input_groups, model_stream
from melodyrnn.models.network import ModelConfig, SequenceModel, check_size, grow_vocabulary
from melodyrnn.music.form import FormBook
from melodyrnn.music.keys import analyse_key, key_fifths, key_from_signature
from melodyrnn.music.melody import Melody
from melodyrnn.music.sources import split_by_melody
from melodyrnn.training.distributed import SINGLE, Group
from melodyrnn.training.loop import TrainConfig, TrainResult, train

SIGNATURE_KEYS = ("Gb major", "Db major", "Ab major", "Eb major", "Bb major", "F major", "C major",
                  "G major", "D major", "A major", "E major", "B major")
OPENINGS = 64  # training openings kept in a checkpoint (generate without --seed draws one)


@dataclass
class FitReport:
    """A trained checkpoint and how training went."""

    checkpoint: Checkpoint
    result: TrainResult
    seconds: float
    items: int
    tokens: int


def fit(items: Sequence[Any], codec: TokenCodec, model_config: ModelConfig,
        train_config: TrainConfig, metadata: dict[str, Any] | None = None,
        progress: bool = True, log: Callable[[str], None] | None = None,
        resume: Checkpoint | None = None, device: torch.device | None = None,
        amp: bool = False, save_every: int = 0, save_to: str | None = None,
        group: Group = SINGLE, valid_items: Sequence[Any] = (),
        init: Checkpoint | None = None) -> FitReport:
    """Encode items with ``codec``, train a model on them and wrap it as a checkpoint.

    With ``resume``, its model, codec and training state continue instead of a fresh
    model. With ``init`` (fine-tuning), training starts from a copy of that checkpoint's
    model, grown to ``codec``, which must keep ``init``'s tokens first (build it with
    ``init.codec.extended(items)``); ``model_config`` is then ignored. ``valid_items``
    (held out, in the codec's vocabulary) drive early stopping.
    With ``save_every`` > 0, a checkpoint is written to ``save_to`` every that many
    epochs (atomically), so a crash loses little.
    """
    inherited = resume or init
    groups = input_groups(inherited.model_config if inherited else model_config)
    if resume is not None:
        codec, model = resume.codec, resume.model
    elif init is not None:
        if codec.tokens[: init.codec.vocab_size] != init.codec.tokens:
            raise MelodyError("fine-tuning needs the checkpoint's vocabulary first, in order: "
                              "build the codec with init.codec.extended(items)")
        model = grow_vocabulary(copy.deepcopy(first_network(init.model)), codec.vocab_size,
                                codec.feature_sizes(groups) if groups else None)
    streams = [model_stream(codec, item, groups, f"item {i + 1}")
               for i, item in enumerate(items)]
    if resume is None and init is None:
        model_config, factors = _model_config(codec, model_config, train_config, groups)
        check_size(model_config)  # a clear error, not an allocation of gigabytes
        torch.manual_seed(train_config.rng_seed)
        model = SequenceModel(model_config, factors)
    first_tokens = codec.encode(items[0], source="item 1") if groups else streams[0]
    metadata = {**(inherited.metadata if inherited else {}), **(metadata or {}),
                "primer": list(first_tokens[: train_config.window])}
    if hasattr(codec, "opening"):  # real openings, for starting a melody without a seed
        step = max(1, len(items) // OPENINGS)
        metadata["openings"] = [codec.opening(item, least=train_config.window)
                                for item in list(items)[::step][:OPENINGS]]
        metadata["forms"] = FormBook.of(items).to_plain()  # plans of repeats (generate --form)

    def checkpoint_of(result: TrainResult) -> Checkpoint:
        return Checkpoint(model, codec, train_config.to_dict(),
                          {**metadata, "epochs_run": result.epochs_run,
                           "stop_reason": result.stop_reason}, result.training_state)

    def save_now(result: TrainResult) -> None:
        if save_every and save_to and group.is_main and result.epochs_run % save_every == 0:
            save(checkpoint_of(result), save_to)

    started = time.perf_counter()
    result = train(model, streams, train_config, codec.target_kind, progress=progress, log=log,
                   resume=resume.training_state if resume else None, device=device, amp=amp,
                   on_epoch=save_now, group=group,
                   valid_streams=[model_stream(codec, m, groups, "held-out")
                                  for m in valid_items])
    seconds = time.perf_counter() - started
    model.cpu()
    return FitReport(checkpoint_of(result), result, seconds, len(items),
                     sum(len(s) for s in streams))


def _model_config(codec: TokenCodec, config: ModelConfig, train_config: TrainConfig,
                  groups: tuple[str, ...]) -> tuple[ModelConfig, tuple[list[int], list[int]] | None]:
    """The config of a fresh model for ``codec`` (sizes filled in) and a factored head's
    token classes."""
    config = replace(config, vocab_size=codec.vocab_size, output_size=codec.vocab_size,
                     window=train_config.window)
    if groups:
        if not hasattr(codec, "feature_sizes"):
            raise MelodyError(f"--inputs {config.inputs}: derived inputs are for notes only")
        if train_config.batching != "stream":
            raise MelodyError(f"--inputs {config.inputs}: derived inputs need --batching stream")
        config = replace(config, feature_sizes=codec.feature_sizes(groups))
    if config.head == "joint":
        return config, None
    if not hasattr(codec, "factors"):
        raise MelodyError(f"--head {config.head}: a factored head is for notes only")
    pitch_of, duration_of, pitches, durations = codec.factors()
    config = replace(config, pitch_classes=pitches, duration_classes=durations,
                     ends=codec.end_id is not None)
    return config, (pitch_of, duration_of)


def continue_items(checkpoint: Checkpoint, primer: Any, length: int,
                   sampling: Sampling = Sampling(), num_outputs: int = 1, rng_seed: int = 0,
                   constraints: Constraints = NO_CONSTRAINTS, beams: int = 0,
                   memory: float = 0.0, echo: float = 0.0, form: float = 0.0) -> list[Any]:
    """Items (primer first) continued by up to ``length`` tokens, decoded by the codec.

    With ``beams`` > 0, beam search returns the most probable continuations instead of samples.
    ``memory`` > 0 mixes in a short-term model of each melody's own notes, ``echo`` > 0
    favours carrying on passages it played before, ``form`` > 0 repeats bars where a
    training tune's form does (``generate``; a model that kept no forms samples without).
    """
    codec = checkpoint.codec
    primer_ids = codec.encode(primer, source="seed")
    if codec.end_id is not None:
        primer_ids = primer_ids[:-1]
    feed = feed_of(checkpoint, like=primer)
    if beams > 0:
        rows = beam_search(checkpoint.model, primer_ids, length, beams, feed, num_outputs,
                           constraints)
    else:
        # One generator per melody: melody i of a batch is what --rng-seed rng_seed + i gives
        # alone, so --num-outputs never changes the first melody.
        generators = [torch.Generator().manual_seed(rng_seed + i) for i in range(num_outputs)]
        plan = form_plan(checkpoint, primer, form, num_outputs, rng_seed,
                         planned_bars(primer, constraints)) if form else None
        rows = generate(checkpoint.model, primer_ids, length, sampling, feed, num_outputs,
                        constraints, generators, memory, echo, plan)
    return [codec.decode(primer_ids + row, like=primer) for row in rows]


def planned_bars(primer: Any, constraints: Constraints) -> int | None:
    """How many bars (after the pickup) a melody of ``--bars`` will have; None without."""
    if constraints.budget is None or not isinstance(primer, Melody):
        return None
    total = primer.total_duration + Fraction(constraints.budget).limit_denominator(10**6)
    return round((total - primer.pickup) / primer.bar_length)


def form_plan(checkpoint: Checkpoint, primer: Any, weight: float, rows: int,
              rng_seed: int = 0, bars: int | None = None) -> FormPlan | None:
    """A plan of repeated bars for each of ``rows`` continuations of ``primer``: row i follows
    a training tune's form of the primer's metre, drawn with seed ``rng_seed + i`` (from the
    tunes of ``bars`` bars where some have as many); None where the model kept no forms
    (text, series, older models)."""
    plain, codec = checkpoint.metadata.get("forms"), checkpoint.codec
    if not plain or not isinstance(primer, Melody) or not hasattr(codec, "notes_for"):
        return None
    book = FormBook(plain)  # checked when the checkpoint was loaded
    forms = [book.draw(primer.time_signature, random.Random(f"form {rng_seed + i}"), bars)
             for i in range(rows)]
    durations = [None if n is None else n.duration for n in codec.notes_for(primer)]
    return FormPlan(weight, forms, durations, primer.pickup, primer.bar_length)


def sample_opening(checkpoint: Checkpoint, opening: Melody, length: int,
                   sampling: Sampling = Sampling(), rng_seed: int = 0, memory: float = 0.0,
                   echo: float = 0.0, form: float = 0.0) -> Melody:
    """One continuation of ``opening`` (up to ``length`` notes) as ``generate`` makes it
    with no steering options: stopped at the end token, under the repetition guard."""
    constraints = Steering().constraints(checkpoint.codec, opening)
    return continue_items(checkpoint, opening, length, sampling, rng_seed=rng_seed,
                          constraints=constraints, memory=memory, echo=echo, form=form)[0]


def judge_samples(checkpoint: Checkpoint, real: Sequence[Melody], training: Sequence[Melody],
                  count: int, sampling: Sampling = Sampling(), memory: float = 0.0,
                  rng_seed: int = 0, echo: float = 0.0,
                  form: float = 0.0) -> plausibility.PlausibilityReport:
    """``evaluate --samples``: ``count`` continuations of real openings (the model's window
    long, each made by ``sample_opening``), their statistics and two-sample tests against
    ``real``, with the baselines."""

    def sample(opening: Melody, length: int, index: int) -> Melody:
        return sample_opening(checkpoint, opening, length, sampling, rng_seed + index, memory,
                              echo, form)

    return plausibility.judge(real, training, sample, count, checkpoint.model_config.window,
                              checkpoint.codec.covers, rng_seed)


def score_items(checkpoint: Checkpoint, items: Sequence[Any], window: int | None = None
                ) -> Evaluation:
    """The classic one-step and full-song protocols on items, and bits per token."""
    codec = checkpoint.codec
    streams = [codec.encode(item, source=f"item {i + 1}") for i, item in enumerate(items)]
    window = window or checkpoint.model_config.window
    feeds = [feed_of(checkpoint, like=item) for item in items]
    return evaluate(checkpoint.model, streams, window, feeds)


def train_network(train_melodies: Sequence[Melody], config: CrossValConfig) -> Checkpoint:
    """A fold's network (``crossval.network_of(config.model)``) trained on its melodies.

    With ``config.init`` the fold starts from that pre-trained checkpoint (its architecture
    wins over ``config``'s) and fine-tunes it; with 0 epochs it is used as it is.
    """
    init = load(config.init) if config.init else None
    if init is not None and config.epochs == 0:
        return init
    train_melodies, held_out = list(train_melodies), []
    if config.valid_fraction > 0:  # early stopping on melodies of the training folds only
        keep, valid = split_by_melody(train_melodies, config.valid_fraction, config.seed)
        train_melodies, held_out = ([train_melodies[i] for i in keep],
                                    [train_melodies[i] for i in valid])
    codec = (init.codec.extended(train_melodies) if init is not None else
             NoteCodec.fit(train_melodies, frame=config.frame, grid=config.head != "joint"))
    model_config = ModelConfig(arch=crossval.network_of(config.model), hidden=config.hidden,
                               layers=config.layers, embedding_dim=config.embedding_dim,
                               dropout=config.dropout, inputs=config.inputs, head=config.head,
                               copy=config.copy)
    train_config = TrainConfig(epochs=config.epochs, lr=config.lr, batching="stream",
                               batch_size=config.batch_size, bptt=config.bptt,
                               stop_accuracy=1.1, rng_seed=config.seed,
                               valid_patience=config.valid_patience)
    return fit(train_melodies, codec, model_config, train_config, progress=False,
               log=lambda message: None, init=init,
               valid_items=[m for m in held_out if codec.covers(m)]).checkpoint


def cross_validate(melodies: Sequence[Melody], config: CrossValConfig = CrossValConfig(),
                   log: Callable[[str], None] | None = None) -> crossval.CrossValResult:
    """``evaluate --folds``: K-fold pitch-only bits/note, networks trained by ``train_network``."""
    return crossval.cross_validate(melodies, config, log, trainer=train_network)


def likely_key(checkpoint: Checkpoint, primer: Any) -> str | None:
    """The key of a primer that states none: for a model that reads notes relative to the key
    (the key frame, or degree inputs), the major key of the signature under which the model
    finds the primer most probable; otherwise (or if no signature fits) the key its notes
    suggest (``analyse_key``)."""
    guess = analyse_key(primer.notes)
    codec = checkpoint.codec
    relative = getattr(codec, "frame", "absolute") == "key" or \
        "degree" in input_groups(checkpoint.model_config)
    if not relative or len(primer) < 2:
        return guess
    groups = input_groups(checkpoint.model_config)
    best: tuple[float, str] | None = None
    for key in SIGNATURE_KEYS:
        candidate = replace(primer, key=key, key_analysed=False)
        if not codec.covers(candidate):
            continue
        stream = torch.as_tensor(model_stream(codec, candidate, groups))
        if codec.end_id is not None:
            stream = stream[:-1]
        with torch.no_grad():
            logits = checkpoint.model(stream[None, :-1])[0][0].log_softmax(-1)
        targets = stream[1:, 0] if stream.dim() == 2 else stream[1:]
        score = float(logits.gather(-1, targets[:, None]).sum())
        score += 1e-6 if guess and key_fifths(guess) == key_fifths(key) else 0.0  # ties: the notes'
        if best is None or score > best[0]:
            best = (score, key)
    if best is None:
        return guess
    signature = key_fifths(best[1])
    return guess if guess and key_fifths(guess) == signature else key_from_signature(
        signature, primer.notes)
