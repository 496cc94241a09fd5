"""``melodyrnn evaluate``: score a model (classic protocols), compare samples, or cross-validate."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from melodyrnn.cli.common import (
    DEFAULT_MODEL_PATH,
    FINE_TUNE_LR,
    MAX_SEED,
    form_weight,
    given,
    init_from,
    load_model,
    note,
    plural,
    read_melodies,
    resolve_init,
)
from melodyrnn.cli.data import ingest_from_cli, ingest_options
from melodyrnn.cli.options import build, config_options, number_option
from melodyrnn.cli.streams import stream_kinds
from melodyrnn.evaluation.config import CrossValConfig
from melodyrnn.generation.form import FORM_WEIGHT
from melodyrnn.generation.sampling import MUSICAL, Sampling
from melodyrnn.settings import setting_of

MAX_WINDOW = 256  # as train --window
MAX_SAMPLES = 10_000  # evaluate --samples: generated melodies
MAX_FOLDS = 1_000
SKIPPED_SHOWN = 5  # melodies named when some are skipped


@click.command()
@stream_kinds("evaluate")
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to evaluate (default: ./{DEFAULT_MODEL_PATH}); with --folds, "
                   "the kind of model to train per fold: ppm, lstm, gru, rnn, mlp, or ppm+lstm "
                   "(ppm+gru, ...: the PPM and the network mixed per note) [ppm].")
@click.option("--window", default=None, type=click.IntRange(1, MAX_WINDOW),
              help="Real tokens given before predicting (default: the model's window).")
@click.option("--split", type=click.Choice(["all", "valid"]), default="all", show_default=True,
              help="valid: only the melodies held out by `train --valid-fraction` (give the "
                   "same SOURCES and reading options as for training).")
@click.option("--folds", default=None, type=click.IntRange(2, MAX_FOLDS),
              help="K-fold cross-validation by melody: pitch-only bits/note, rests dropped, "
                   "every note scored once (IDyOM's protocol).")
@click.option("--ppm-order", default=None, type=click.IntRange(0),
              help="With --model ppm: highest context order [default: unbounded, PPM*].")
@click.option("--stm/--no-stm", default=True, show_default=True,
              help="With --model ppm: add IDyOM's short-term model of the melody itself.")
@click.option("--update-exclusion", is_flag=True,
              help="With --model ppm: update exclusion in the long-term model.")
@click.option("--epochs", default=None, type=click.IntRange(0, 100_000),
              help="With --folds and a network: training epochs per fold [default: 20; with "
                   "--init, 0 scores the pre-trained model as it is].")
@number_option("--lr", default=None, kind=float, low=0, high=10, low_open=True,
              help="With --folds and a network: learning rate [default: 0.005; with --init "
                   "0.001].")
@click.option("--init", "init_path", default=None, metavar="FILE|bundled",
              help="With --folds and a network: start every fold from this pre-trained "
                   "checkpoint and fine-tune it on the fold's training melodies.")
@click.option("--samples", default=None, type=click.IntRange(1, MAX_SAMPLES),
              help="Generate this many melodies (each primed with a real melody's opening), "
                   "compare their statistics with the real melodies' and run a classifier "
                   "two-sample test (AUC; baselines real vs real and an order-2 Markov chain).")
@config_options(Sampling, only=("temperature", "top_p", "epsilon"), defaults=asdict(MUSICAL))
@number_option("--memory", default=0.0, show_default=True, kind=float, low=0, high=100,
              help="For --samples: mix in a short-term model of each melody's own notes, as "
                   "`generate --memory`.")
@number_option("--echo", default=0.0, show_default=True, kind=float, low=0, high=100,
              help="For --samples: favour carrying on passages each melody played before, as "
                   "`generate --echo`.")
@number_option("--form", default=FORM_WEIGHT, show_default=True, kind=float, low=0, high=100,
              help="For --samples: repeat bars where a training tune's form does, as "
                   "`generate --form` (0 = off).")
@click.option("--rng-seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED),
              help="Seed for --samples, and for --folds' split and networks.")
@config_options(CrossValConfig)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@ingest_options
def evaluate(sources: tuple[str, ...], model_path: str | None, window: int | None,
             split: str, folds: int | None, ppm_order: int | None, stm: bool,
             update_exclusion: bool, epochs: int | None, lr: float | None,
             init_path: str | None, samples: int | None, temperature: float, top_p: float,
             epsilon: float, memory: float, echo: float, form: float, rng_seed: int,
             as_json: bool, **ingest: Any) -> None:
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
    fold_options = [f"--{name.replace('_', '-')}" for name in _fold_settings() if given(name)]
    if fold_options:
        raise click.UsageError(f"{', '.join(fold_options)}: only with --folds")
    from melodyrnn.pipeline import score_items

    checkpoint = load_model(model_path)
    loaded = ingest_from_cli(sources, **ingest)
    chosen = list(range(len(loaded.melodies)))
    training = loaded.melodies
    if split == "valid":
        chosen = checkpoint.metadata.get("valid_indices") or []
        if not chosen:
            raise click.UsageError("this model was trained without --valid-fraction")
        if max(chosen) >= len(loaded.melodies):
            raise click.UsageError("SOURCES differ from the training run's: give the same ones")
        held_out = set(chosen)
        training = [m for i, m in enumerate(loaded.melodies) if i not in held_out]
    melodies = [loaded.melodies[i] for i in chosen]
    if samples:
        _compare_samples(checkpoint, melodies, training, samples,
                         Sampling(temperature, top_p=top_p, epsilon=epsilon), memory, echo,
                         form_weight(checkpoint, form), rng_seed, as_json)
        return
    melodies = _known_only(checkpoint.codec, loaded, chosen)
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


def _known_only(codec, loaded, chosen: list[int]) -> list:
    """The chosen melodies whose every note the model knows; the others are named on stderr
    (a held-out melody may use a note no training melody had). If none is left, the error
    names the first melody, its unknown notes and the notes the model knows."""
    usable = [i for i in chosen if codec.covers(loaded.melodies[i])]
    known = set(usable)
    skipped = [i for i in chosen if i not in known]
    if skipped and not usable:
        codec.encode(loaded.melodies[skipped[0]], source=loaded.origin(skipped[0]))  # raises
    if skipped:
        names = ", ".join(loaded.origin(i) for i in skipped[:SKIPPED_SHOWN])
        more = f" and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN \
            else ""
        note(f"skipped {plural(len(skipped), 'melody', 'melodies')} of {len(chosen)} with "
             f"notes the model never saw: {names}{more}")
    return [loaded.melodies[i] for i in usable]


def _compare_samples(checkpoint, melodies: list, training: list, count: int, sampling,
                     memory: float, echo: float, form: float, rng_seed: int,
                     as_json: bool) -> None:
    """``evaluate --samples``: statistics of generated vs real melodies and two-sample tests."""
    from melodyrnn.evaluation.plausibility import format_table, format_tests
    from melodyrnn.pipeline import judge_samples

    note(f"generating {plural(count, 'sample')} from real openings, then the two-sample "
         "tests (about a minute for 200 with the bundled model on one core)...")
    report = judge_samples(checkpoint, melodies, training, count, sampling, memory, rng_seed,
                           echo, form)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    click.echo(format_table(report.rows))
    how = f"temperature {sampling.temperature:g}"
    how += f", top-p {sampling.top_p:g}" if sampling.top_p < 1 else ""
    how += f", epsilon {sampling.epsilon:g}" if sampling.epsilon else ""
    how += f", memory {memory:g}" if memory else ""
    how += f", echo {echo:g}" if echo else ""
    how += f", form {form:g}" if form else ""
    click.echo(f"{count} samples ({how}, up to {report.length} new notes each) vs "
               f"{plural(len(melodies), 'real melody', 'real melodies')}")
    click.echo(format_tests(report.tests))


def _cross_validate(sources: tuple[str, ...], arch: str, folds: int, ppm_order: int | None,
                    stm: bool, update_exclusion: bool, epochs: int | None, lr: float | None,
                    init_path: str | None, rng_seed: int, as_json: bool,
                    ingest: dict[str, Any]) -> None:
    """``evaluate --folds``: cross-validate a kind of model and print bits per note."""
    from melodyrnn.evaluation.config import ARCHS
    from melodyrnn.evaluation.crossval import format_result
    from melodyrnn.pipeline import cross_validate

    if arch not in ARCHS:
        raise click.BadParameter(f"'{arch}': with --folds expected one of {', '.join(ARCHS)}",
                                 param_hint="--model")
    extra: dict[str, Any] = {"epochs": epochs} if epochs is not None else {}
    if init_path:
        extra["init"] = resolve_init(init_path)
        init_from(extra["init"], "notes")  # fails early, with a clear message, if unusable
        extra["lr"] = FINE_TUNE_LR
    elif epochs == 0:
        raise click.BadParameter("0: expected 1 or more (0 only with --init)",
                                 param_hint="--epochs")
    if lr is not None:
        extra["lr"] = lr
    config = build(CrossValConfig, ingest, model=arch, folds=folds, seed=rng_seed,
                   ppm_order=ppm_order, stm=stm, update_exclusion=update_exclusion, **extra)
    melodies = read_melodies(sources, **ingest)
    result = cross_validate(melodies, config, log=note)
    click.echo(json.dumps(result.to_dict()) if as_json else format_result(result))


def _fold_settings() -> list[str]:
    """The names of the options that only --folds reads (CrossValConfig's settings)."""
    from dataclasses import fields

    return [item.name for item in fields(CrossValConfig) if setting_of(item) is not None]
