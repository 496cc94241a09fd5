"""``--kind text|series`` for train, generate and evaluate: the CLI wiring of the other codecs.

``stream_kinds(command)`` wraps a notes command: with ``--kind notes`` (the default, or what
the model holds) it runs unchanged; with text or series it goes to the runner here. This
module and the codecs are the only places that know which kind of stream is used; the
runners call the same ``pipeline.fit`` / ``continue_items`` / ``score_items`` as notes.
Only click is imported at module level.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from melodyrnn.cli.common import (
    DEFAULT_MODEL_PATH,
    check_checkpoint_output,
    checked_output,
    epochs_done,
    given,
    init_files,
    init_from,
    interrupt_status,
    load_model,
    model_files,
    note,
    numbered,
    plural,
    refuse_init_with_resume,
    resume_from,
    resumed_output,
    sigterm_as_interrupt,
)
from melodyrnn.cli.options import build
from melodyrnn.files import atomic_write, is_stdout

F = TypeVar("F", bound=Callable[..., Any])
KINDS = ("notes", "text", "series")
SERIES_OPTIONS = ("columns", "target", "horizon")
SERIES_VALID_FRACTION = 0.2  # series hold out their last fifth unless --valid-fraction says
TEXT_MIN_ROW = 256  # a long text is cut into batch rows of at least this many characters
HISTORY_ROWS = 200  # training rows kept in a series checkpoint (plots, generate's history)
HELD_OUT_ROWS = 2000  # held-out rows kept for the forecast plot's truth line
PLOT_HISTORY = 90  # history rows drawn before a forecast
MAX_HORIZON = 100_000  # generate --kind series: steps forecast
TEXT_SUFFIXES = (".txt",)
SERIES_SUFFIXES = (".csv", ".png")


def stream_kinds(command: str) -> Callable[[F], F]:
    """Add ``--kind`` (and the series options) to a notes command and route other kinds here."""

    def decorate(callback: F) -> F:
        @functools.wraps(callback)
        def wrapper(*args: Any, kind: str | None, **kwargs: Any) -> Any:
            extra = {name: kwargs.pop(name) for name in SERIES_OPTIONS if name in kwargs}
            stored = _stored_kind(command, kwargs)
            if kind is not None and stored is not None and kind != stored:
                raise click.UsageError(_wrong_kind(kwargs.get("model_path"), stored, kind))
            kind = kind or stored or "notes"
            if kind == "notes":
                series_only = [f"--{name}" for name, value in extra.items()
                               if value is not None and given(name)]
                if series_only:
                    raise click.UsageError(f"{', '.join(series_only)}: only with --kind series")
                return callback(*args, **kwargs)
            return RUNNERS[(command, kind)](**kwargs, **extra)

        options = [click.option("--kind", type=click.Choice(KINDS), default=None,
                                help="What the data is: notes, text (characters) or series "
                                     "(numeric CSV columns). "
                                     + ("Default: notes." if command == "train" else
                                        "Default: the kind the model was trained on."))]
        if command == "train":
            options += [
                click.option("--columns", default=None,
                             help="Series: comma-separated CSV columns to use as features "
                                  "[default: every numeric column]."),
                click.option("--target", default=None,
                             help="Series: the column to forecast and score [default: the "
                                  "last of --columns]."),
            ]
        if command == "generate":
            options.append(click.option("--horizon", default=None,
                                        type=click.IntRange(1, MAX_HORIZON),
                                        help="Series: steps to forecast [default: 30]."))
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _stored_kind(command: str, kwargs: dict[str, Any]) -> str | None:
    """The kind stored in the model file the command will use; None for train, for no file
    (the bundled model holds notes) or for an unreadable one (the command reports why)."""
    if command == "train":
        return None
    path = Path(kwargs.get("model_path") or DEFAULT_MODEL_PATH)
    if not path.is_file():
        return None
    from melodyrnn.models.checkpoint import kind_of

    kind = kind_of(path)  # the same safe reading as loading: never a FIFO or a zip bomb
    return kind if kind in KINDS else None


def _model_of_kind(model_path: str | None, kind: str):
    checkpoint = load_model(model_path)
    if checkpoint.codec.kind != kind:
        raise click.UsageError(_wrong_kind(model_path, checkpoint.codec.kind, kind))
    return checkpoint


def _wrong_kind(model_path: str | None, stored: str, asked: str) -> str:
    return (f"--kind {asked}: this model ({model_path or DEFAULT_MODEL_PATH}) was trained on "
            f"{stored}, not {asked}: use --kind {stored} or another --model")


# --- train -----------------------------------------------------------------------------------

def _configs(kw: dict[str, Any], input_kind: str | None = None):
    """ModelConfig and TrainConfig from the train command's options."""
    from melodyrnn.models.config import ModelConfig
    from melodyrnn.training.config import TrainConfig

    overrides = {"input": input_kind} if input_kind else {}
    return build(ModelConfig, kw, **overrides), build(TrainConfig, kw)


def _checked_run_output(kw: dict[str, Any], sources: tuple[str, ...]) -> dict[str, Any]:
    """The options with ``out`` where the run will save (``resumed_output``), checked against
    the data files and the --init checkpoint before any work."""
    kw = {**kw, "out": resumed_output(click.get_current_context(), kw["out"],
                                      kw.get("resume_path"))}
    refuse_init_with_resume(kw.get("init_path"), kw.get("resume_path"))
    check_checkpoint_output(kw["out"], [*sources, *init_files(kw.get("init_path"))])
    return kw


def _fit_and_save(items: list, codec: Any, kw: dict[str, Any], metadata: dict[str, Any],
                  valid_items: list, input_kind: str | None = None):
    """Train (or resume) with the shared pipeline, print a summary, save; the checkpoint."""
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.pipeline import fit
    from melodyrnn.training.loop import pick_device

    model_config, train_config = _configs(kw, input_kind)
    resume = None
    if kw.get("resume_path"):
        resume, train_config = resume_from(click.get_current_context(), kw["resume_path"],
                                            kw["epochs"], also=("valid_fraction",))
        if resume.codec.kind != codec.kind:
            raise click.UsageError(f"{kw['resume_path']} holds a {resume.codec.kind} model")
    init = None
    if kw.get("init_path"):
        init = init_from(kw["init_path"], codec.kind, kw.get("resume_path"))
        codec = init.codec.extended(items)
        metadata = {**metadata, "init": kw["init_path"]}
    where = pick_device(kw.get("device", "auto"))
    if where.type != "cpu":
        note(f"training on {where}")
    with sigterm_as_interrupt() as received:  # SIGTERM keeps the last epoch, like Ctrl-C
        report = fit(items, codec, model_config, train_config, metadata,
                     progress=kw.get("progress", True), log=note, resume=resume, device=where,
                     amp=kw.get("amp", False) and where.type == "cuda",
                     save_every=kw.get("checkpoint_every", 0), save_to=kw["out"],
                     valid_items=valid_items, init=init)
    last = report.result.history[-1] if report.result.history else None
    if last is not None:
        held = f", held-out loss {last.valid_loss:.4f}" if last.valid_loss is not None else ""
        accuracy = f", accuracy {last.accuracy:.1%}" if codec.target_kind == "class" else ""
        note(f"{epochs_done(report)}: loss {last.loss:.4f}{accuracy}{held}")
    path = ckpt.save(report.checkpoint, kw["out"])
    click.echo(f"saved model to {path}")
    if report.result.interrupted:
        raise SystemExit(interrupt_status(received))
    return report


def train_text(sources: tuple[str, ...], **kw: Any) -> None:
    """``train --kind text``: a character-level model of the text files in SOURCES."""
    from melodyrnn.codecs.text import CharCodec, known_only, read_texts, split_text, text_rows

    kw = _checked_run_output(kw, sources)
    text = read_texts(sources)
    train_part, valid_part = split_text(text, kw["valid_fraction"])
    codec = CharCodec.fit([train_part])
    valid_part, dropped = known_only(valid_part, codec.tokens)
    if kw["valid_fraction"] > 0:
        note(f"held out the last {len(valid_part)} characters for validation"
             + (f" ({dropped} characters unseen in training dropped)" if dropped else ""))
    items = text_rows(train_part, kw["batch_size"], TEXT_MIN_ROW)
    valid_items = text_rows(valid_part, kw["batch_size"], TEXT_MIN_ROW) if valid_part else []
    note(f"training {kw['arch']} on {len(train_part)} characters ({len(items)} "
         f"row{'s' if len(items) > 1 else ''}), {codec.vocab_size} distinct characters")
    report = _fit_and_save(items, codec, kw, {"sources": list(sources)}, valid_items)
    if valid_items:
        from melodyrnn.pipeline import score_items

        result = score_items(report.checkpoint, valid_items)
        note(f"validation: {result.bits_per_token:.3f} bits/char, one-step "
             f"{result.one_step.accuracy:.1%} on {result.one_step.total} held-out characters")


def train_series(sources: tuple[str, ...], columns: str | None = None,
                 target: str | None = None, **kw: Any) -> None:
    """``train --kind series``: a window model of numeric CSV columns."""
    from melodyrnn.codecs.series import NumericCodec, chronological_split, read_csv, window_items
    from melodyrnn.evaluation.forecast import one_step

    if len(sources) != 1:
        raise click.UsageError("--kind series trains on one CSV file")
    kw = _checked_run_output(kw, sources)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    table = read_csv(sources[0], names)
    if target and target not in table.columns:
        raise click.BadParameter(f"{target!r} is not one of the columns "
                                 f"{', '.join(table.columns)}", param_hint="--target")
    fraction = kw["valid_fraction"] if given("valid_fraction") else SERIES_VALID_FRACTION
    window = kw["window"]
    train_part, valid_part = chronological_split(table, fraction)
    if len(train_part) <= window + 1:
        raise click.UsageError(f"{sources[0]}: {plural(len(train_part), 'training row')} "
                               f"{'is' if len(train_part) == 1 else 'are'} too few for "
                               f"--window {window}")
    codec = NumericCodec.fit(train_part, target)
    items = window_items(train_part.values, window)
    # Held-out windows end in held-out rows; their context may reach back into training rows.
    valid_items = window_items(table.values[len(train_part) - window :], window) \
        if len(valid_part) else []
    note(f"training {kw['arch']} on rows 1-{len(train_part)} of {sources[0]} "
         f"({len(items)} windows of {window}), {len(valid_part)} later rows held out; "
         f"features {', '.join(codec.columns)}; target {codec.target}; scaling fitted on the "
         "training rows only")
    metadata = {"sources": [str(Path(sources[0]).resolve())], "window": window,
                "train_rows": len(train_part), "source_rows": len(table),
                "history": train_part.values[-HISTORY_ROWS:].tolist(),
                "held_out": valid_part.values[:HELD_OUT_ROWS].tolist()}
    report = _fit_and_save(items, codec, kw, metadata, valid_items, input_kind=codec.input)
    if len(valid_part):
        result = one_step(report.checkpoint.model, codec, table.values, window, len(train_part))
        note("held-out rows, one step ahead:")
        for line in result.lines():
            note("  " + line)


# --- generate --------------------------------------------------------------------------------

TEXT_LENGTH = 50  # characters after the seed unless --length says

def generate_text(more_seed: tuple[str, ...] = (), seed: str | None = None,
                  length: int | None = None,
                  temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                  epsilon: float = 0.0, num_outputs: int = 1, rng_seed: int = 0,
                  model_path: str | None = None, out: str | None = None, beam: int = 0, **_: Any) -> None:
    """``generate --kind text``: continue a seed text and print it (seed first)."""
    from melodyrnn.generation.sampling import Sampling
    from melodyrnn.pipeline import continue_items

    length = TEXT_LENGTH if length is None else length
    paths = _outputs(out, num_outputs, TEXT_SUFFIXES, tuple(model_files(model_path)))
    checkpoint = _model_of_kind(model_path, "text")
    primer = " ".join(([seed] if seed is not None else []) + list(more_seed))
    if not primer:
        primer = checkpoint.codec.decode(checkpoint.metadata.get("primer", []))
        note(f"no --seed given: starting from the training text's opening {primer!r}")
    sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p, epsilon=epsilon)
    texts = continue_items(checkpoint, primer, length, sampling=sampling,
                           num_outputs=num_outputs, rng_seed=rng_seed, beams=beam or 0)
    # A text that ends at a line break of its own gets no second one
    texts = [text.removesuffix("\n") for text in texts]
    if not paths:
        click.echo("\n\n".join(texts))
        return
    for path, text in zip(paths, texts):
        with atomic_write(path) as file:
            file.write((text + "\n").encode("utf-8"))
        note(f"wrote {path}")


def _outputs(out: str | None, count: int, suffixes: tuple[str, ...],
             inputs: tuple[str | None, ...] = ()) -> list[Path]:
    """The files ``-o`` names for ``count`` outputs, each checked before any work; none for
    standard output (no ``-o``, or ``-o -``)."""
    if out is None or is_stdout(out):
        return []
    return [checked_output(path, inputs, suffixes) for path in numbered(Path(out), count)]


def generate_series(horizon: int | None = None, primer_file: str | None = None,
                    model_path: str | None = None, out: str | None = None, **_: Any) -> None:
    """``generate --kind series``: forecast the next steps; print CSV or write .csv / .png."""
    import numpy as np

    from melodyrnn.codecs.series import format_csv, read_csv
    from melodyrnn.evaluation.forecast import forecast, horizon_metrics, plot_forecast

    paths = _outputs(out, 1, SERIES_SUFFIXES, (primer_file, *model_files(model_path)))
    checkpoint = _model_of_kind(model_path, "series")
    codec, window = checkpoint.codec, checkpoint.model_config.window
    horizon = horizon or 30
    suffix = paths[0].suffix.lower() if paths else ""
    truth = None
    if primer_file:
        history = read_csv(primer_file, codec.columns).values
        note(f"forecasting from the last {window} of {len(history)} rows of {primer_file}")
    else:
        history = np.asarray(checkpoint.metadata.get("history") or [], dtype=float)
        held = np.asarray(checkpoint.metadata.get("held_out") or [], dtype=float)
        truth = held[:horizon] if len(held) else None
        note(f"forecasting from the end of the training rows kept in the model "
             f"({len(history)} rows)")
    predicted = forecast(checkpoint.model, codec, history, horizon, window)
    t = codec.target_index
    if truth is not None:
        result = horizon_metrics(predicted[:, t], truth[:, t], history[:, t], window, codec.target)
        note(f"forecast vs held-out truth over {result.count} steps:")
        for line in result.lines():
            note("  " + line)
    if not paths:
        click.echo(format_csv(codec.columns, predicted), nl=False)
    elif suffix == ".csv":
        with atomic_write(paths[0]) as file:
            file.write(format_csv(codec.columns, predicted).encode("utf-8"))
        note(f"wrote {out}")
    else:
        plot_forecast(out, history[-PLOT_HISTORY:, t], predicted[:, t],
                      truth[:, t] if truth is not None else None, label=codec.target)
        note(f"wrote {out}")


# --- evaluate --------------------------------------------------------------------------------

def evaluate_text(sources: tuple[str, ...], model_path: str | None = None,
                  window: int | None = None, as_json: bool = False, **_: Any) -> None:
    """``evaluate --kind text``: bits per character and next-character accuracy."""
    from melodyrnn.codecs.text import read_text, text_rows
    from melodyrnn.pipeline import score_items

    checkpoint = _model_of_kind(model_path, "text")
    texts = [read_text(path) for path in sources]
    for path, text in zip(sources, texts):  # an unknown character is named with its file
        checkpoint.codec.ids(text, source=path)
    result = score_items(checkpoint, text_rows("".join(texts), 64, 8 * TEXT_MIN_ROW), window)
    if result.one_step.total == 0:
        raise click.ClickException("nothing to evaluate: the text is shorter than the window")
    if as_json:
        scores = result.to_dict()
        click.echo(json.dumps({"one_step": scores["one_step"], "full_text": scores["full_song"],
                               "bits_per_char": result.bits_per_token,
                               "characters": result.one_step.total}))
        return
    for name, score in (("one-step", result.one_step), ("full-text", result.full_song)):
        click.echo(f"{name:10} {score.correct}/{score.total} characters correct "
                   f"({score.accuracy:.1%})")
    click.echo(f"{'bits/char':10} {result.bits_per_token:.4f}")


def evaluate_series(sources: tuple[str, ...], model_path: str | None = None,
                    window: int | None = None, split: str = "all", as_json: bool = False,
                    **_: Any) -> None:
    """``evaluate --kind series``: one-step RMSE/MAE against naive and moving-average baselines."""
    from melodyrnn.codecs.series import read_csv
    from melodyrnn.evaluation.forecast import one_step

    checkpoint = _model_of_kind(model_path, "series")
    if len(sources) != 1:
        raise click.UsageError("--kind series evaluates one CSV file")
    codec, meta = checkpoint.codec, checkpoint.metadata
    model_window = checkpoint.model_config.window
    if window is not None and window != model_window:
        raise click.BadParameter(f"this model reads windows of {model_window} rows",
                                 param_hint="--window")
    table = read_csv(sources[0], codec.columns)
    same_file = (str(Path(sources[0]).resolve()) in meta.get("sources", [])
                 and len(table) == meta.get("source_rows"))
    if split == "valid" and not same_file:
        raise click.UsageError("--split valid needs the training CSV file, unchanged")
    start = model_window
    if split == "valid" or (same_file and not given("split")):
        start = int(meta["train_rows"])
        note(f"scoring the rows held out in training ({start + 1}-{len(table)}; "
             "--split all scores every row)")
    result = one_step(checkpoint.model, codec, table.values, model_window, start)
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "first_row": max(start, model_window) + 1}))
        return
    for line in result.lines():
        click.echo(line)


RUNNERS: dict[tuple[str, str], Callable[..., None]] = {
    ("train", "text"): train_text,
    ("train", "series"): train_series,
    ("generate", "text"): generate_text,
    ("generate", "series"): generate_series,
    ("evaluate", "text"): evaluate_text,
    ("evaluate", "series"): evaluate_series,
}
