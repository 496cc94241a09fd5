"""``melodyrnn train``: read sources, fit a model with the shared pipeline, save a checkpoint.

The options come from the config dataclasses (``ModelConfig``, ``TrainConfig``,
``IngestOptions``) and ``TrainRun`` below, so every default and limit is stated once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

import click

from melodyrnn.cli.common import (
    DEFAULT_MODEL_PATH,
    check_checkpoint_output,
    epochs_done,
    init_files,
    init_from,
    interrupt_status,
    most_common,
    note,
    plural,
    refuse_init_with_resume,
    resume_from,
    resumed_output,
    sigterm_as_interrupt,
    training_notes,
)
from melodyrnn.cli.data import ingest_options
from melodyrnn.cli.options import build, config_options
from melodyrnn.cli.streams import stream_kinds
from melodyrnn.codecs.features import parse_inputs
from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.models.config import ModelConfig
from melodyrnn.settings import setting, setting_like
from melodyrnn.training.config import TrainConfig

SPLIT_SEED = 0  # of --valid-fraction's split (the bundled model's was made with it)

PRESETS: dict[str, dict[str, Any]] = {
    # The bundled model's recipe: every melody read in its key (no transposed copies), with
    # the metre, phrase and repetition inputs and a copy memory; 5% held out for stopping.
    "folk": {"frame": "key", "inputs": "token,position,bar,lookback,degree,interval",
             "copy": True, "hidden": 192, "layers": 1, "embedding_dim": 48, "dropout": 0.2,
             "epochs": 20, "lr": 0.003, "optimizer": "adamw", "weight_decay": 0.01,
             "schedule": "cosine", "batch_size": 64, "bptt": 128, "stop_accuracy": 2.0,
             "valid_fraction": 0.05, "valid_patience": 4, "end_token": True},
}


@dataclass(frozen=True)
class TrainRun:
    """What a run does besides the model and its optimisation: vocabulary, outputs, device."""

    vocab: str = setting("data", "data: tokens seen in training; classic: the 14-token c-b "
                         "quarter/eighth table of the original tutorial.",
                         choices=("data", "classic"))
    end_token: bool = setting(False, "Learn an end-of-melody token, so generation can finish a "
                              "melody itself.")
    frame: str = setting_like(NoteCodec, "frame", "absolute")
    out: str = setting(DEFAULT_MODEL_PATH, "Checkpoint to write.", flag="-o --out",
                       metavar="PATH")
    valid_fraction: float = setting(0.0, "Hold out this share of melodies (split by melody, "
                                    "fixed seed: the same melodies whatever --rng-seed); the "
                                    "split is saved in the checkpoint for `evaluate --split "
                                    "valid`.", low=0.0, high=0.9)
    resume_path: str | None = setting(None, "Continue an interrupted or finished run from its "
                                      "checkpoint, saved back to that file unless -o is given "
                                      "(same SOURCES; its settings are kept: only --epochs may "
                                      "be given, to raise the total).", flag="--resume",
                                      metavar="FILE")
    init_path: str | None = setting(None, "Fine-tune: start from this checkpoint's weights "
                                    "(`bundled`: the folk model shipped with melodyrnn). Its "
                                    "architecture and vocabulary are kept; tokens it lacks are "
                                    "added. Pair with a small --lr.", flag="--init",
                                    metavar="FILE|bundled")
    checkpoint_every: int = setting(0, "Also save the checkpoint every N epochs (0 = only at "
                                    "the end).", low=0, high=100_000)
    device: str = setting("auto", "Where to train; auto picks a GPU when there is one.",
                          choices=("auto", "cpu", "cuda", "mps"))
    amp: bool = setting(False, "Mixed precision (bfloat16) on a GPU.")
    progress: bool = setting(True, "Show a progress bar.", switch="--progress/--no-progress")


RUN_DATA_OPTIONS = ("valid_fraction", "end_token", "frame", "vocab")  # kept by --resume


def check_resumed_data(resume: Any, loaded: Any, path: str) -> None:
    """Refuse SOURCES that are not the run's: a held-out melody beyond them, or a training
    melody with notes the model never saw."""
    sources = " ".join(resume.metadata.get("sources") or []) or "the run's"
    valid = resume.metadata.get("valid_indices") or []
    count = len(loaded.melodies)
    if valid and max(valid) >= count:
        raise click.UsageError(f"SOURCES differ from those {path} was trained on ({sources}): "
                               f"it held out melody {max(valid) + 1}, these have {count}")
    held = set(valid)
    for index, melody in enumerate(loaded.melodies):
        if index not in held and not resume.codec.covers(melody):
            raise click.UsageError(f"SOURCES differ from those {path} was trained on "
                                   f"({sources}): {loaded.origin(index)} has notes the "
                                   "model never saw")


def _apply_preset(ctx: click.Context, name: str | None) -> None:
    """Make a preset's values the defaults of the options not given on the command line."""
    if name:
        ctx.default_map = {**(ctx.default_map or {}), **PRESETS[name]}
        ctx.meta["preset"] = name


@click.command()
@stream_kinds("train")
@click.argument("sources", nargs=-1, required=True)
@config_options(ModelConfig)
@config_options(TrainConfig)
@config_options(TrainRun)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None, is_eager=True,
              expose_value=False, callback=lambda ctx, param, value: _apply_preset(ctx, value),
              help="A named set of defaults; options given explicitly still win. folk: the "
                   "bundled model's recipe (key frame, metre/phrase/lookback/degree/interval "
                   "inputs, copy memory, 1x192 LSTM, dropout, AdamW + cosine, end token, 5% "
                   "held out).")
@ingest_options
@click.pass_context
def train(ctx: click.Context, sources: tuple[str, ...], **options: Any) -> None:
    """Train a model on melodies in SOURCES and save it.

    SOURCES are song text files, MIDI, MusicXML, ABC or kern files, folders of them, glob
    patterns, or music21 corpora such as corpus:essen/kinder (see `melodyrnn data
    list-corpora`). Training stops early once the model predicts every training note (see
    --stop-accuracy).
    """
    model_config, train_config = build(ModelConfig, options), build(TrainConfig, options)
    run = build(TrainRun, options)
    run = replace(run, out=resumed_output(ctx, run.out, run.resume_path))
    refuse_init_with_resume(run.init_path, run.resume_path)
    parse_inputs(model_config.inputs)  # a bad --inputs fails before any data is read
    # before reading data or training; the --init checkpoint is an input too
    check_checkpoint_output(run.out, [*sources, *init_files(run.init_path)])
    from melodyrnn.cli.data import ingest_from_cli
    from melodyrnn.codecs.notes import NoteCodec
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.pipeline import fit, score_items
    from melodyrnn.training.distributed import device_for, from_environment
    from melodyrnn.training.loop import pick_device

    where = pick_device(device_for(run.device))
    group = from_environment(where)  # one process, or one of torchrun's

    def say(message: str) -> None:
        if group.is_main:
            note(message)

    from_preset = ctx.get_parameter_source("stop_accuracy") is click.core.ParameterSource.DEFAULT_MAP
    for line in training_notes(train_config, run.amp, where.type,
                               ctx.meta.get("preset") if from_preset else None,
                               held_out=run.valid_fraction > 0):
        say(line)

    loaded = ingest_from_cli(sources, **{**options, "progress": run.progress and group.is_main})
    melodies = loaded.melodies
    resume = None
    if run.resume_path:
        resume, train_config = resume_from(ctx, run.resume_path, train_config.epochs,
                                           RUN_DATA_OPTIONS)
        check_resumed_data(resume, loaded, run.resume_path)
    valid: list[int] = []
    held_out: list = []
    if resume is not None:  # the run's own held-out melodies, whatever --valid-fraction says
        valid = list(resume.metadata.get("valid_indices") or [])
        held = set(valid)
        held_out = [melodies[i] for i in valid]
        melodies = [m for i, m in enumerate(melodies) if i not in held]
        if valid:
            say(f"held out {plural(len(held_out), 'melody', 'melodies')} for validation "
                "(the resumed run's)")
    elif run.valid_fraction > 0:
        # Transposed copies of one melody stay on the same side of the split. The split's
        # seed is fixed, not --rng-seed: runs that differ only in their seed hold out the
        # same melodies, so their held-out figures compare (and their models can be
        # averaged without one having trained on the other's held-out tunes).
        train_index, valid = loaded.split(run.valid_fraction, SPLIT_SEED)
        held_out = [melodies[i] for i in valid]
        melodies = [melodies[i] for i in train_index]
        say(f"held out {plural(len(held_out), 'melody', 'melodies')} for validation")
    if resume is not None:
        codec = resume.codec
    elif run.vocab == "classic":
        codec = NoteCodec([*NoteCodec.classic().tokens], end_token=run.end_token)
    else:  # a factored head can give any pitch any duration: every pair is a token
        codec = NoteCodec.fit(melodies, end_token=run.end_token, frame=run.frame,
                              grid=model_config.head != "joint")
    init = init_from(run.init_path, "notes", run.resume_path) if run.init_path else None
    if init is not None:
        codec = init.codec.extended(melodies)
    rests = sum(1 for m in melodies for n in m.notes if n.pitch is None)
    notes = sum(len(m) for m in melodies) - rests  # counted as `data stats` counts them
    network = model_config.arch if init is None else init.model_config.arch
    tokens = (f"{plural(codec.vocab_size, 'distinct token')}" if init is None else
              f"{codec.vocab_size} tokens ({codec.vocab_size - init.codec.vocab_size} new)")
    resting = f" (+ {plural(rests, 'rest')})" if rests else ""
    say(f"training {network} on {plural(len(melodies), 'melody', 'melodies')}, "
        f"{plural(notes, 'note')}{resting}, {tokens}")
    # Generated melodies take the training data's most common tempo, metre and key.
    metadata = {"tempo": most_common(m.tempo for m in melodies),
                "time_signature": list(most_common(m.time_signature for m in melodies)),
                "key": most_common(m.key for m in melodies), "sources": list(sources),
                "valid_indices": valid, **({"init": run.init_path} if run.init_path else {})}
    # Held-out melodies with a note the training data lacks cannot be scored by this codec.
    known = [m for m in held_out if codec.covers(m)]
    if group.world > 1:
        say(f"data-parallel training: {group.world} processes, global batch "
            f"{train_config.batch_size}")
    if where.type != "cpu":
        say(f"training on {where}")
    with sigterm_as_interrupt() as received:  # SIGTERM keeps the last epoch, like Ctrl-C
        report = fit(melodies, codec, model_config, train_config, metadata,
                     progress=run.progress, log=say, resume=resume, device=where,
                     amp=run.amp and where.type == "cuda", save_every=run.checkpoint_every,
                     save_to=run.out, group=group, valid_items=known, init=init)
    if not group.is_main:
        return
    last = report.result.history[-1] if report.result.history else None
    if last is not None:
        say(f"{epochs_done(report)}: loss {last.loss:.4f}, accuracy {last.accuracy:.1%}")
    path = ckpt.save(report.checkpoint, run.out)
    click.echo(f"saved model to {path}")
    if valid:
        held = plural(len(held_out), "held-out melody", "held-out melodies")
        if known:
            result = score_items(report.checkpoint, known)
            say(f"validation: {len(known)} of {held} use only known tokens; one-step "
                f"{result.one_step.accuracy:.1%}, {result.bits_per_token:.3f} bits/note")
        else:
            say(f"validation: none of the {held} "
                f"{'uses' if len(held_out) == 1 else 'use'} only known tokens, so none is "
                "scored")
    if report.result.interrupted:
        sys.exit(interrupt_status(received))
