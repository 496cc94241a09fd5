"""melodyrnn — learn melodies with stateful recurrent networks, then continue them.

\b
Quick start:
  melodyrnn train data/nabiya.txt          # learn a song, writes ./melodyrnn.pt
  melodyrnn generate --seed g8 e8 e4 f8    # continue a melody
  melodyrnn evaluate data/nabiya.txt       # one-step and full-song accuracy

Melodies are written as text: g8 e8 e4 f8 (letter, octave marks ' or ,, duration, dots).
Run `melodyrnn COMMAND --help` for each command's options.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from melodyrnn.cli_data import ingest_options
from melodyrnn.cli_streams import stream_kinds

DEFAULT_MODEL_PATH = "melodyrnn.pt"


class MelodyGroup(click.Group):
    """A click group that turns the project's errors into one clean line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        from melodyrnn.errors import MelodyError

        try:
            return super().invoke(ctx)
        except MelodyError as err:
            raise click.ClickException(str(err)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def note(message: str) -> None:
    """Print a status line on stderr, keeping stdout for results."""
    click.echo(message, err=True)


@click.group(cls=MelodyGroup, help=__doc__)
@click.version_option(package_name="melodyrnn")
@click.option("--threads", default=None, type=click.IntRange(1, 256), envvar="MELODYRNN_THREADS",
              help="CPU threads for PyTorch [default: 1, fastest for these small models; "
                   "env MELODYRNN_THREADS].")
def main(threads: int | None) -> None:
    import os

    # Read by PyTorch when it is first imported; commands import it lazily, after this.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)


# --- train ---------------------------------------------------------------------------------

FINE_TUNE_LR = 0.001  # evaluate --folds --init: fine-tuning steps smaller than training's

PRESETS: dict[str, dict[str, Any]] = {
    "folk": {"hidden": 256, "layers": 2, "embedding_dim": 64, "dropout": 0.3, "epochs": 30,
             "lr": 0.003, "optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine",
             "batch_size": 64, "bptt": 128, "stop_accuracy": 1.1, "valid_fraction": 0.05,
             "valid_patience": 4, "end_token": True, "transpose": "all"},
}


def _apply_preset(ctx: click.Context, name: str | None) -> None:
    """Make a preset's values the defaults of the options not given on the command line."""
    if name:
        ctx.default_map = {**(ctx.default_map or {}), **PRESETS[name]}


@main.command()
@stream_kinds("train")
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "arch",
              type=click.Choice(["lstm", "gru", "rnn", "mlp", "peephole", "cifg"]),
              default="lstm", show_default=True,
              help="Network: stateful LSTM, GRU, vanilla RNN, window MLP; LSTM variants "
                   "peephole, cifg.")
@click.option("--input", "input_kind", type=click.Choice(["embedding", "scalar"]),
              default="embedding", show_default=True,
              help="Token input: a learned embedding, or the classic index/max scalar.")
@click.option("--hidden", default=128, show_default=True, help="Units per hidden layer.")
@click.option("--layers", default=1, show_default=True, help="Stacked recurrent layers.")
@click.option("--embedding-dim", default=32, show_default=True, help="Size of token embeddings.")
@click.option("--dropout", default=0.0, show_default=True, help="Dropout between layers.")
@click.option("--window", default=4, show_default=True,
              help="Tokens per window: MLP context, classic batching, evaluation primer.")
@click.option("--batching", type=click.Choice(["stream", "windows"]), default="stream",
              show_default=True,
              help="stream: whole songs, truncated BPTT; windows: the classic one window per "
                   "step, batch 1, state carried across a song's windows.")
@click.option("--batch-size", default=32, show_default=True, help="Songs per batch (stream).")
@click.option("--bptt", default=64, show_default=True, help="Tokens per truncated-BPTT chunk.")
@click.option("--epochs", default=500, show_default=True, help="Most passes over the data.")
@click.option("--lr", default=0.01, show_default=True, help="Adam learning rate.")
@click.option("--clip", default=1.0, show_default=True, help="Gradient-norm clip (0 = off).")
@click.option("--optimizer", type=click.Choice(["adam", "adamw"]), default="adam",
              show_default=True, help="Adam, or AdamW (decoupled weight decay).")
@click.option("--weight-decay", default=0.0, show_default=True, help="Weight decay.")
@click.option("--schedule", type=click.Choice(["constant", "cosine"]), default="constant",
              show_default=True, help="Learning-rate schedule over the epochs.")
@click.option("--valid-patience", default=5, show_default=True,
              help="With --valid-fraction: stop when the held-out loss has not improved for "
                   "this many epochs, keeping the best weights.")
@click.option("--end-token", is_flag=True,
              help="Learn an end-of-melody token, so generation can finish a melody itself.")
@click.option("--stop-accuracy", default=1.0, show_default=True,
              help="Stop once this share of training targets is predicted ...")
@click.option("--stop-patience", default=10, show_default=True,
              help="... for this many more epochs in a row.")
@click.option("--vocab", type=click.Choice(["data", "classic"]), default="data",
              show_default=True,
              help="data: tokens seen in training; classic: the 14-token c-b quarter/eighth "
                   "table of the original tutorial.")
@click.option("--rng-seed", default=0, show_default=True, help="Seed for a repeatable run.")
@click.option("-o", "--out", default=DEFAULT_MODEL_PATH, show_default=True,
              type=click.Path(dir_okay=False), help="Checkpoint to write.")
@click.option("--valid-fraction", default=0.0, show_default=True,
              type=click.FloatRange(0.0, 0.9),
              help="Hold out this share of melodies (split by melody, fixed seed); the split "
                   "is saved in the checkpoint for `evaluate --split valid`.")
@click.option("--resume", "resume_path", default=None, type=click.Path(dir_okay=False),
              help="Continue an interrupted or finished run from its checkpoint (same "
                   "SOURCES; its settings are kept, --epochs may raise the total).")
@click.option("--init", "init_path", default=None, metavar="FILE|bundled",
              help="Fine-tune: start from this checkpoint's weights (`bundled`: the folk "
                   "model shipped with melodyrnn). Its architecture and vocabulary are kept; "
                   "tokens it lacks are added. Pair with a small --lr.")
@click.option("--checkpoint-every", default=0, show_default=True, type=click.IntRange(0),
              help="Also save the checkpoint every N epochs (0 = only at the end).")
@click.option("--device", default="auto", show_default=True,
              type=click.Choice(["auto", "cpu", "cuda", "mps"]),
              help="Where to train; auto picks a GPU when there is one.")
@click.option("--amp", is_flag=True, help="Mixed precision (bfloat16) on a GPU.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None, is_eager=True,
              expose_value=False, callback=lambda ctx, param, value: _apply_preset(ctx, value),
              help="A named set of defaults; options given explicitly still win. folk: the "
                   "bundled model's recipe (2x256 LSTM, dropout, AdamW + cosine, end token, "
                   "all transpositions, 5% held out).")
@ingest_options
@click.pass_context
def train(ctx: click.Context, sources: tuple[str, ...], arch: str, input_kind: str, hidden: int,
          layers: int, embedding_dim: int, dropout: float, window: int, batching: str,
          batch_size: int, bptt: int, epochs: int, lr: float, clip: float,
          stop_accuracy: float, stop_patience: int, vocab: str, rng_seed: int, out: str,
          valid_fraction: float, resume_path: str | None, checkpoint_every: int, device: str,
          amp: bool, progress: bool, optimizer: str, weight_decay: float, schedule: str,
          valid_patience: int, end_token: bool, init_path: str | None,
          **ingest: Any) -> None:
    """Train a model on melodies in SOURCES and save it.

    SOURCES are song text files, MIDI, MusicXML, ABC or kern files, folders of them, glob
    patterns, or music21 corpora such as corpus:essen/kinder (see `melodyrnn data
    list-corpora`). Training stops early once the model predicts every training note (see
    --stop-accuracy).
    """
    _check_positive(hidden=hidden, layers=layers, window=window, epochs=epochs,
                    batch_size=batch_size, bptt=bptt, embedding_dim=embedding_dim)
    from melodyrnn import checkpoint as ckpt
    from melodyrnn.codec import NoteCodec
    from melodyrnn.distributed import device_for, from_environment
    from melodyrnn.train import pick_device

    where = pick_device(device_for(device))
    group = from_environment(where)  # one process, or one of torchrun's

    def say(message: str) -> None:
        if group.is_main:
            note(message)

    from melodyrnn.cli_data import ingest_from_cli
    from melodyrnn.models import ModelConfig
    from melodyrnn.pipeline import fit
    from melodyrnn.train import TrainConfig

    loaded = ingest_from_cli(sources, progress=progress and group.is_main, **ingest)
    melodies = loaded.melodies
    valid: list[int] = []
    held_out: list = []
    if valid_fraction > 0:
        # Transposed copies of one melody stay on the same side of the split.
        train_index, valid = loaded.split(valid_fraction, rng_seed)
        held_out = [melodies[i] for i in valid]
        melodies = [melodies[i] for i in train_index]
        say(f"held out {len(held_out)} melodies for validation")
    codec = (NoteCodec([*NoteCodec.classic().tokens], end_token=end_token)
             if vocab == "classic" else NoteCodec.fit(melodies, end_token=end_token))
    model_config = ModelConfig(arch=arch, hidden=hidden, layers=layers, input=input_kind,
                               embedding_dim=embedding_dim, dropout=dropout)
    train_config = TrainConfig(epochs=epochs, lr=lr, batching=batching, window=window,
                               batch_size=batch_size, bptt=bptt, clip=clip,
                               stop_accuracy=stop_accuracy, stop_patience=stop_patience,
                               rng_seed=rng_seed, optimizer=optimizer,
                               weight_decay=weight_decay, schedule=schedule,
                               valid_patience=valid_patience)
    init = _init_from(init_path, "notes", resume_path) if init_path else None
    if init is not None:
        codec = init.codec.extended(melodies)
    notes = sum(len(m) for m in melodies)
    network = arch if init is None else init.model_config.arch
    tokens = (f"{codec.vocab_size} distinct tokens" if init is None else
              f"{codec.vocab_size} tokens ({codec.vocab_size - init.codec.vocab_size} new)")
    say(f"training {network} on {len(melodies)} melod{'y' if len(melodies) == 1 else 'ies'}, "
        f"{notes} notes, {tokens}")
    # Generated melodies take the training data's most common tempo, metre and key.
    metadata = {"tempo": _most_common(m.tempo for m in melodies),
                "time_signature": list(_most_common(m.time_signature for m in melodies)),
                "key": _most_common(m.key for m in melodies), "sources": list(sources),
                "valid_indices": valid, **({"init": init_path} if init_path else {})}
    # Held-out melodies with a note the training data lacks cannot be scored by this codec.
    known = [m for m in held_out if codec.covers(m)]
    resume = None
    if resume_path:
        resume, train_config = _resume_from(ctx, resume_path, epochs)
        codec = resume.codec
    if group.world > 1:
        say(f"data-parallel training: {group.world} processes, global batch {batch_size}")
    if where.type != "cpu":
        say(f"training on {where}")
    report = fit(melodies, codec, model_config, train_config, metadata, progress=progress,
                 log=say, resume=resume, device=where, amp=amp and where.type == "cuda",
                 save_every=checkpoint_every, save_to=out, group=group, valid_items=known,
                 init=init)
    if not group.is_main:
        return
    last = report.result.history[-1] if report.result.history else None
    if last is not None:
        say(f"{report.result.epochs_run} epochs in {report.seconds:.1f} s: "
             f"loss {last.loss:.4f}, accuracy {last.accuracy:.1%}")
    path = ckpt.save(report.checkpoint, out)
    click.echo(f"saved model to {path}")
    if valid:
        from melodyrnn.pipeline import score_items

        result = score_items(report.checkpoint, known)
        say(f"validation: {len(known)} of {len(held_out)} held-out melodies use only known "
             f"tokens; one-step {result.one_step.accuracy:.1%}, "
             f"{result.bits_per_token:.3f} bits/note")
    if report.result.interrupted:
        sys.exit(130)


# --- generate ------------------------------------------------------------------------------

@main.command()
@stream_kinds("generate")
@click.argument("more_seed", nargs=-1, metavar="[SEED_TOKENS]...")
@click.option("--seed", "seed", default=None,
              help="Notes to start from, e.g. --seed g8 e8 e4 f8 or --seed 'g8 e8 e4 f8'. "
                   "Default: the start of the first training song.")
@click.option("--length", default=50, show_default=True, help="New notes to generate.")
@click.option("--temperature", default=0.0, show_default=True,
              help="0 always picks the most likely note; higher is more adventurous.")
@click.option("--top-k", default=0, show_default=True, help="Sample among the k most likely "
              "notes (0 = all).")
@click.option("--top-p", default=1.0, show_default=True, help="Sample among the most likely "
              "notes whose probabilities add up to p (nucleus sampling).")
@click.option("--beam", default=0, show_default=True,
              help="Beam search of this width for the most probable continuation "
                   "(0 = sample).")
@click.option("--memory", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Weight of a short-term model of the melody so far (IDyOM's STM): it "
                   "favours continuing motifs the melody has already played, as songs do "
                   "(0 = off; 0.3 is a good start). Not with --beam.")
@click.option("--num-outputs", default=1, show_default=True,
              help="Melodies to generate in one batch.")
@click.option("--rng-seed", default=0, show_default=True, help="Seed for repeatable sampling.")
@click.option("--key", "key_tonic", default=None,
              help="Keep to the scale of this tonic, e.g. G, F#, Bb (see --mode).")
@click.option("--mode", default="major", show_default=True,
              help="Scale for --key: major, minor, dorian, phrygian, lydian, mixolydian, "
                   "aeolian, locrian.")
@click.option("--range", "pitch_range", default=None,
              help="Keep notes within a register, e.g. C4:C6.")
@click.option("--bars", default=None, type=int,
              help="Generate this many bars after the seed, ending on a bar line "
                   "(overrides --length).")
@click.option("--time", "time_signature", default=None,
              help="Time signature for --bars and the output, e.g. 3/4 "
                   "(default: the training data's).")
@click.option("--no-stop", is_flag=True,
              help="Do not stop at the model's end-of-melody token.")
@click.option("--primer", "primer_file", default=None, type=click.Path(dir_okay=False),
              help="Start from the last --primer-notes notes of a file (.txt .mid .musicxml "
                   ".xml .mxl .abc) instead of --seed.")
@click.option("--primer-notes", default=8, show_default=True,
              help="How many notes from the end of --primer to use.")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to use (default: ./{DEFAULT_MODEL_PATH}).")
@click.option("-o", "--out", default=None, type=click.Path(dir_okay=False),
              help="Write to a file instead of stdout; the suffix picks the format: "
                   ".txt .mid .midi .musicxml .xml .abc .png (piano roll) .svg (notation). "
                   "Several outputs get numbered files.")
@click.option("--score", is_flag=True, help="With -o .png: engrave notation, not a piano roll.")
@click.option("--bpm", default=None, type=click.IntRange(1, 1000),
              help="Tempo of the output (default: the training data's).")
@click.option("--program", default=0, show_default=True, type=click.IntRange(0, 127),
              help="General MIDI instrument for MIDI output and --play (0 = piano).")
@click.option("--play", "play_it", is_flag=True,
              help="Play the (first) melody: to --port, else through the sound device.")
@click.option("--port", default=None, help="MIDI output port (name or number) for --play.")
def generate(more_seed: tuple[str, ...], seed: str | None, length: int, temperature: float,
             top_k: int, top_p: float, beam: int, memory: float, num_outputs: int,
             rng_seed: int, key_tonic: str | None, mode: str, pitch_range: str | None, bars: int | None,
             time_signature: str | None, no_stop: bool, primer_file: str | None,
             primer_notes: int, model_path: str | None, out: str | None, score: bool,
             bpm: int | None, program: int, play_it: bool, port: str | None) -> None:
    """Continue a melody with a trained model and print it (seed first) as text.

    \b
    melodyrnn generate --seed g8 e8 e4 f8
    melodyrnn generate --seed g8 e8 e4 f8 --temperature 0.9 --top-p 0.95 --num-outputs 4
    melodyrnn generate --primer tune.mid --key G --range D4:D6 --bars 8 -o new.musicxml
    """
    _check_positive(num_outputs=num_outputs, primer_notes=primer_notes)
    if length < 0:
        raise click.BadParameter("expected 0 or more", param_hint="--length")
    if beam < 0:
        raise click.BadParameter("expected 0 (sampling) or more", param_hint="--beam")
    if beam and memory:
        raise click.UsageError("--memory shapes sampling; it does not combine with --beam")
    if primer_file and (seed or more_seed):
        raise click.UsageError("give either --seed or --primer, not both")
    from dataclasses import replace

    from melodyrnn.generate import Sampling
    from melodyrnn.notation import format_melodies
    from melodyrnn.pipeline import continue_items
    from melodyrnn.steering import Steering, parse_range

    sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p)
    steering = Steering(key=_key_tonic(key_tonic), mode=mode.lower(),
                        pitch_range=parse_range(pitch_range) if pitch_range else None,
                        bars=bars, stop_at_end=not no_stop)
    checkpoint = _load_model(model_path)
    like = _melody_settings(checkpoint.metadata)
    if time_signature:
        like = replace(like, time_signature=_parse_time(time_signature))
    if key_tonic:
        like = replace(like, key=f"{steering.key} {steering.mode}")
    if bpm:
        like = replace(like, tempo=bpm)
    primer = _primer(seed, more_seed, primer_file, primer_notes, checkpoint, like)
    if primer_file:  # the file's own metre, key and tempo, unless options say otherwise
        primer = replace(primer, **{field: getattr(like, field) for field, given in
                                    (("time_signature", time_signature), ("key", key_tonic),
                                     ("tempo", bpm)) if given})
    constraints = steering.constraints(checkpoint.codec, primer)
    melodies = continue_items(checkpoint, primer, length if bars is None else BARS_TOKEN_CAP,
                              sampling, num_outputs, rng_seed, constraints, beam, memory)
    if out is None:
        click.echo(format_melodies(melodies), nl=False)
    else:
        from melodyrnn.export import write

        for path, melody in zip(_numbered(Path(out), len(melodies)), melodies):
            write([melody], path, program=program, primer_notes=len(primer), score=score)
            note(f"wrote {path}")
    if play_it:
        from melodyrnn.play import play_melody

        play_melody(melodies[0], port=port, program=program)


BARS_TOKEN_CAP = 10_000  # with --bars the bar count ends generation; this only bounds it


def _primer(seed: str | None, more_seed: tuple[str, ...], primer_file: str | None,
            primer_notes: int, checkpoint, like):
    """The melody to continue: --seed tokens, the end of a --primer file, or the default."""
    from melodyrnn.notation import parse_tokens

    tokens = " ".join(([seed] if seed else []) + list(more_seed))
    if tokens.strip():
        return like.with_notes(parse_tokens(tokens, source="--seed").notes)
    if seed is not None:
        raise click.BadParameter("no notes given", param_hint="--seed")
    if primer_file:
        from melodyrnn.formats import read

        source = read(primer_file)[0]
        notes = source.notes[-primer_notes:]
        note(f"primer: the last {len(notes)} notes of {primer_file}")
        return source.with_notes(notes)
    primer = checkpoint.codec.decode(checkpoint.metadata.get("primer", []), like=like)
    note(f"no --seed given: starting from the first training song's opening "
         f"({len(primer)} notes)")
    return primer


def _key_tonic(text: str | None) -> str | None:
    """A tonic such as 'g', 'F#', 'bes' or 'Bb' as 'G', 'F#', 'Bb'."""
    if text is None:
        return None
    from melodyrnn.music import split_key

    name = text.strip()
    name = name[0].upper() + name[1:].replace("is", "#").replace("es", "b")
    if name[1:] == "s":  # 'as' and 'es'
        name = name[0] + "b"
    try:
        split_key(name)
    except Exception:
        raise click.BadParameter(f"'{text}' is not a tonic: expected e.g. G, F#, Bb",
                                 param_hint="--key") from None
    return name


def _parse_time(text: str) -> tuple[int, int]:
    import re

    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or int(match[1]) < 1 or int(match[2]) not in (1, 2, 4, 8, 16, 32, 64):
        raise click.BadParameter(f"'{text}' is not a time signature: expected e.g. 3/4 or 6/8",
                                 param_hint="--time")
    return int(match[1]), int(match[2])


# --- evaluate ------------------------------------------------------------------------------

@main.command()
@stream_kinds("evaluate")
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to evaluate (default: ./{DEFAULT_MODEL_PATH}); with --folds, "
                   "the kind of model to train per fold: ppm, lstm, gru, rnn, mlp, or ppm+lstm "
                   "(ppm+gru, ...: the PPM and the network mixed per note) [ppm].")
@click.option("--window", default=None, type=int,
              help="Real tokens given before predicting (default: the model's window).")
@click.option("--split", type=click.Choice(["all", "valid"]), default="all", show_default=True,
              help="valid: only the melodies held out by `train --valid-fraction` (give the "
                   "same SOURCES and reading options as for training).")
@click.option("--folds", default=None, type=click.IntRange(2),
              help="K-fold cross-validation by melody: pitch-only bits/note, rests dropped, "
                   "every note scored once (IDyOM's protocol).")
@click.option("--ppm-order", default=None, type=click.IntRange(0),
              help="With --model ppm: highest context order [default: unbounded, PPM*].")
@click.option("--stm/--no-stm", default=True, show_default=True,
              help="With --model ppm: add IDyOM's short-term model of the melody itself.")
@click.option("--update-exclusion", is_flag=True,
              help="With --model ppm: update exclusion in the long-term model.")
@click.option("--epochs", default=None, type=click.IntRange(0),
              help="With --folds and a network: training epochs per fold [default: 20; with "
                   "--init, 0 scores the pre-trained model as it is].")
@click.option("--lr", default=None, type=float,
              help="With --folds and a network: learning rate [default: 0.005; with --init "
                   "0.001].")
@click.option("--init", "init_path", default=None, metavar="FILE|bundled",
              help="With --folds and a network: start every fold from this pre-trained "
                   "checkpoint and fine-tune it on the fold's training melodies.")
@click.option("--samples", default=None, type=click.IntRange(1),
              help="Generate this many melodies (each primed with a real melody's opening) and "
                   "compare their statistics with the real melodies'.")
@click.option("--temperature", default=1.0, show_default=True, help="Sampling for --samples.")
@click.option("--top-p", default=1.0, show_default=True, help="Nucleus sampling for --samples.")
@click.option("--memory", default=0.0, show_default=True, type=click.FloatRange(0),
              help="For --samples: mix in a short-term model of each melody's own notes, as "
                   "`generate --memory`.")
@click.option("--rng-seed", default=0, show_default=True,
              help="Seed for --samples, and for --folds' split and networks.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@ingest_options
def evaluate(sources: tuple[str, ...], model_path: str | None, window: int | None,
             split: str, folds: int | None, ppm_order: int | None, stm: bool,
             update_exclusion: bool, epochs: int | None, lr: float | None,
             init_path: str | None, samples: int | None, temperature: float, top_p: float,
             memory: float, rng_seed: int, as_json: bool, **ingest: Any) -> None:
    """Score a model on melodies: one-step and full-song accuracy, bits per note.

    \b
    one-step:  for every window of real notes, is the next note predicted?
    full-song: prime with the first notes, feed back the model's own predictions
               to the end; how many positions match the real song?

    \b
    With --folds K, train a model per fold instead and report pitch-only bits/note:
    melodyrnn evaluate --folds 10 --model ppm corpus:essen/kinder
    """
    if folds is not None:
        _cross_validate(sources, model_path or "ppm", folds, ppm_order, stm, update_exclusion,
                        epochs, lr, init_path, rng_seed, as_json, ingest)
        return
    if window is not None:
        _check_positive(window=window)
    from melodyrnn.pipeline import score_items

    checkpoint = _load_model(model_path)
    melodies = _read_melodies(sources, **ingest)
    if split == "valid":
        indices = checkpoint.metadata.get("valid_indices") or []
        if not indices:
            raise click.UsageError("this model was trained without --valid-fraction")
        if max(indices) >= len(melodies):
            raise click.UsageError("SOURCES differ from the training run's: give the same ones")
        melodies = [melodies[i] for i in indices]
    if samples:
        from melodyrnn.generate import Sampling

        _compare_samples(checkpoint, melodies, samples, Sampling(temperature, top_p=top_p),
                         memory, rng_seed, as_json)
        return
    result = score_items(checkpoint, melodies, window)
    if result.one_step.total == 0:
        raise click.ClickException(f"nothing to evaluate: every melody has at most "
                                   f"{window or checkpoint.model_config.window} notes "
                                   "(see --window)")
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    for name, score in (("one-step", result.one_step), ("full-song", result.full_song)):
        click.echo(f"{name:10} {score.correct}/{score.total} correct ({score.accuracy:.1%})")
    click.echo(f"{'bits/note':10} {result.bits_per_token:.4f}")
    for index, position, _, _ in result.mismatches[:5]:
        click.echo(f"melody {index + 1}: full-song prediction first differs at note "
                   f"{position + 1}")


def _compare_samples(checkpoint, melodies: list, count: int, sampling, memory: float,
                     rng_seed: int, as_json: bool) -> None:
    """``evaluate --samples``: statistics of generated vs real melodies, side by side."""
    import random
    import statistics

    from melodyrnn.pipeline import continue_items
    from melodyrnn.samplestats import compare

    width = checkpoint.model_config.window
    openings = [m.with_notes(m.notes[:width]) for m in melodies if len(m) > width]
    primers = [opening for opening in openings if checkpoint.codec.covers(opening)]
    if not primers:
        raise click.ClickException("no real melody opens with notes the model knows")
    length = int(statistics.median(len(m) for m in melodies)) - width
    openers = random.Random(rng_seed).choices(primers, k=count)  # real openings, drawn
    generated = [continue_items(checkpoint, opener, length, sampling, rng_seed=rng_seed + i,
                                memory=memory)[0] for i, opener in enumerate(openers)]
    rows = compare(generated, melodies)
    if as_json:
        click.echo(json.dumps({"samples": count, "real": len(melodies), "metrics": rows}))
        return
    click.echo(f"{'metric':30} {'samples':>17} {'real':>17}  within 1 sd")
    for row in rows:
        click.echo(f"{row['metric']:30} {row['samples_mean']:8.3f} ± {row['samples_sd']:6.3f} "
                   f"{row['real_mean']:8.3f} ± {row['real_sd']:6.3f}  "
                   f"{'yes' if row['within_one_sd'] else 'no'}")
    how = f"temperature {sampling.temperature:g}"
    how += f", top-p {sampling.top_p:g}" if sampling.top_p < 1 else ""
    how += f", memory {memory:g}" if memory else ""
    click.echo(f"{count} samples ({how}, up to {length} new notes each) vs "
               f"{len(melodies)} real melodies")


def _cross_validate(sources: tuple[str, ...], arch: str, folds: int, ppm_order: int | None,
                    stm: bool, update_exclusion: bool, epochs: int | None, lr: float | None,
                    init_path: str | None, rng_seed: int, as_json: bool,
                    ingest: dict[str, Any]) -> None:
    """``evaluate --folds``: cross-validate a kind of model and print bits per note."""
    from melodyrnn.crossval import ARCHS, CrossValConfig, cross_validate, format_result

    if arch not in ARCHS:
        raise click.BadParameter(f"'{arch}': with --folds expected one of {', '.join(ARCHS)}",
                                 param_hint="--model")
    extra: dict[str, Any] = {"epochs": epochs} if epochs is not None else {}
    if init_path:
        extra["init"] = _init_path(init_path)
        _init_from(extra["init"], "notes")  # fails early, with a clear message, if unusable
        extra["lr"] = FINE_TUNE_LR
    elif epochs == 0:
        raise click.BadParameter("0: expected 1 or more (0 only with --init)",
                                 param_hint="--epochs")
    if lr is not None:
        extra["lr"] = lr
    config = CrossValConfig(model=arch, folds=folds, seed=rng_seed, ppm_order=ppm_order, stm=stm,
                            update_exclusion=update_exclusion, **extra)
    melodies = _read_melodies(sources, **ingest)
    result = cross_validate(melodies, config, log=note)
    click.echo(json.dumps(result.to_dict()) if as_json else format_result(result))


# --- shared helpers --------------------------------------------------------------------------

def _most_common(values):
    from collections import Counter

    return Counter(values).most_common(1)[0][0]


def _resume_from(ctx: click.Context, path: str, epochs: int):
    """The checkpoint to resume and its training settings (with --epochs if given)."""
    from dataclasses import replace

    from melodyrnn import checkpoint as ckpt
    from melodyrnn.train import TrainConfig

    resume = ckpt.load(path)
    if not resume.training_state:
        raise click.UsageError(f"{path} holds no training state to resume from")
    train_config = TrainConfig(**resume.train_config)
    if ctx.get_parameter_source("epochs") is not click.core.ParameterSource.DEFAULT:
        train_config = replace(train_config, epochs=epochs)
    done = resume.training_state["epoch"]
    note(f"resuming {path} after epoch {done} of {train_config.epochs}")
    return resume, train_config


def _init_path(path: str) -> str:
    """A checkpoint path for ``--init``; ``bundled`` is the folk model shipped in the package."""
    from melodyrnn import checkpoint as ckpt

    if path != "bundled":
        return path
    bundled = ckpt.bundled_path()
    if bundled is None:
        raise click.BadParameter("this installation has no bundled model (or "
                                 "MELODYRNN_NO_BUNDLED is set)", param_hint="--init")
    return str(bundled)


def _init_from(path: str, kind: str, resume_path: str | None = None):
    """``train --init``: the checkpoint to fine-tune, checked to hold a ``kind`` model."""
    from melodyrnn import checkpoint as ckpt

    if resume_path:
        raise click.UsageError("--init and --resume: give one (--resume continues a run "
                               "exactly; --init starts a new run from trained weights)")
    path = _init_path(path)
    init = ckpt.load(path)
    if init.codec.kind != kind or not hasattr(init.codec, "extended"):
        raise click.BadParameter(f"{path} holds a {init.codec.kind} model; fine-tuning needs a "
                                 f"{kind} model", param_hint="--init")
    c = init.model_config
    note(f"fine-tuning {path}: its {c.arch} ({c.layers}x{c.hidden}, {init.codec.vocab_size} "
         "tokens) is kept; architecture options are ignored")
    return init


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise click.BadParameter(f"{value}: expected 1 or more",
                                     param_hint=f"--{name.replace('_', '-')}")


def _read_melodies(sources: tuple[str, ...], **ingest: Any) -> list:
    from melodyrnn.cli_data import ingest_from_cli

    return ingest_from_cli(sources, **ingest).melodies


def _load_model(model_path: str | None):
    from melodyrnn import checkpoint as ckpt
    from melodyrnn.errors import CheckpointError

    path = Path(model_path or DEFAULT_MODEL_PATH)
    if model_path is None and not path.exists():
        bundled = ckpt.bundled_path()
        if bundled is None:
            raise CheckpointError(f"no model given and ./{DEFAULT_MODEL_PATH} does not exist: "
                                  "train one first, e.g. `melodyrnn train data/nabiya.txt`, "
                                  "or pass --model PATH")
        note(f"no ./{DEFAULT_MODEL_PATH}: using the bundled folk model (Essen folk songs; "
             "train your own with `melodyrnn train`)")
        return ckpt.load(bundled)
    checkpoint = ckpt.load(path)
    note(f"using model {path}")
    return checkpoint


def _melody_settings(metadata: dict[str, Any]):
    from melodyrnn.music import DEFAULT_TEMPO, DEFAULT_TIME_SIGNATURE, Melody

    return Melody((), tempo=int(metadata.get("tempo") or DEFAULT_TEMPO),
                  time_signature=tuple(metadata.get("time_signature") or DEFAULT_TIME_SIGNATURE),
                  key=metadata.get("key"))


def _numbered(path: Path, count: int) -> list[Path]:
    if count == 1:
        return [path]
    width = len(str(count))
    return [path.with_name(f"{path.stem}-{i:0{width}d}{path.suffix}")
            for i in range(1, count + 1)]

# Commands from other modules; each imports only click at load time.
from melodyrnn import cli_audio, cli_data  # noqa: E402

main.add_command(cli_audio.ports)
main.add_command(cli_audio.play)
main.add_command(cli_audio.render)

main.add_command(cli_data.data)
