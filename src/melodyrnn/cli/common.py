"""What every command shares: status lines, model lookup, resume and fine-tune checks.

Every command module imports from here and from ``options``, never from another command,
so no command reaches into another's private names. Only click and the small stdlib-only
MIDI modules (``sound.systems``, ``sound.connections``) are imported at load time.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from melodyrnn.cli.options import number_option
from melodyrnn.sound.connections import DEFAULT_WAIT_SECONDS
from melodyrnn.sound.systems import API_CHOICES, API_ENV

DEFAULT_MODEL_PATH = "melodyrnn.pt"
FINE_TUNE_LR = 0.001  # evaluate --folds --init: fine-tuning steps smaller than training's
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
MAX_SEED = 2**63 - 1  # torch generators take 64-bit seeds
MAX_WAIT_SECONDS = 3600.0  # --virtual --wait


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 note', '2 notes', '1 melody', '3 melodies'."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def epochs_done(report) -> str:
    """'53 epochs in 0.2 s', counting this run's epochs: after Ctrl-C, the kept ones (the
    last is the epoch whose weights are kept); after --resume, with the epoch reached."""
    result = report.result
    ran = len(result.history)
    reached = f" (now at epoch {result.epochs_run})" if result.epochs_run != ran else ""
    return f"{plural(ran, 'epoch')} in {report.seconds:.1f} s{reached}"


def checked_output(path: str | Path, inputs: Iterable[str | Path] = (),
                   suffixes: Iterable[str] | None = None, option: str = "-o") -> Path:
    """``path`` if the command may write it (``files.check_output``): call before any work."""
    from melodyrnn.files import check_output

    return check_output(path, inputs=[i for i in inputs if i], suffixes=suffixes, option=option)


def model_files(model_path: str | None) -> list[str]:
    """The checkpoint a command will read (``--model``, else ./melodyrnn.pt if it exists), so
    that ``-o`` can refuse to overwrite it."""
    path = model_path or DEFAULT_MODEL_PATH
    return [path] if Path(path).exists() else []


def check_checkpoint_output(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """``train -o``: a checkpoint name (.pt), writable, and none of the data files."""
    return checked_output(path, [i for i in inputs if Path(i).is_file()], CHECKPOINT_SUFFIXES)


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[int]]:
    """Inside the block SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so training keeps
    the last whole epoch and saves (schedulers and `timeout` send SIGTERM). The list holds
    the signal if one came; ``interrupt_status`` turns it into the exit status."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def training_notes(config: Any, amp: bool, device_type: str, preset: str | None = None,
                   held_out: bool = False) -> list[str]:
    """Lines saying what some accepted settings mean, so they do not pass silently; a value
    that came from ``preset`` rather than the command line says so."""
    lines = []
    if amp and device_type != "cuda":
        lines.append(f"note: --amp needs a CUDA GPU; training on {device_type} in full precision")
    if config.stop_accuracy > 1:
        origin = f" (from --preset {preset})" if preset else ""
        until = (f"it runs up to {plural(config.epochs, 'epoch')}, stopping when the held-out "
                 "loss stops improving (--valid-patience)" if held_out else
                 (f"it runs all {config.epochs} epochs" if config.epochs > 1 else
                  "it runs its only epoch"))
        lines.append(f"note: --stop-accuracy {config.stop_accuracy:g}{origin} is above 1, so "
                     f"training never stops on training accuracy: {until}")
    return lines


def interrupt_status(received: list[int]) -> int:
    """The exit status after an interrupted run: 143 for SIGTERM, 130 for Ctrl-C."""
    return 128 + (received[0] if received else signal.SIGINT)


def note(message: str) -> None:
    """Print a status line on stderr, keeping stdout for results."""
    click.echo(message, err=True)


def most_common(values: Iterable[Any]) -> Any:
    """The most frequent of ``values`` (the first seen wins a tie)."""
    return Counter(values).most_common(1)[0][0]


def check_positive(**values: int) -> None:
    """Raise click.BadParameter naming the option for a value below 1."""
    for name, value in values.items():
        if value < 1:
            raise click.BadParameter(f"{value}: expected 1 or more",
                                     param_hint=f"--{name.replace('_', '-')}")


def given(name: str) -> bool:
    """True if the current command's option ``name`` was set on the command line (or env)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


def form_weight(checkpoint, weight: float) -> float:
    """``--form``'s weight for this model: 0 where it keeps no forms of its training tunes
    (an error if ``--form`` was asked for on the command line)."""
    if checkpoint.metadata.get("forms"):
        return weight
    if weight and given("form"):
        raise click.UsageError("--form: this model keeps no forms of its training tunes (it "
                               "was trained on text, or before models kept them): retrain it, "
                               "or give --form 0")
    return 0.0


def load_model(model_path: str | None):
    """The checkpoint at ``model_path``, else ./melodyrnn.pt, else the bundled folk model."""
    from melodyrnn.errors import CheckpointError
    from melodyrnn.models import checkpoint as ckpt

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


def refuse_resumed_settings(ctx: click.Context, also: Iterable[str] = ()) -> None:
    """``--resume`` continues a run with its own settings: refuse any model or training
    option (and the names in ``also``) given on the command line, --epochs excepted."""
    from dataclasses import fields

    from melodyrnn.models.config import ModelConfig
    from melodyrnn.settings import flag_of
    from melodyrnn.training.config import TrainConfig

    flags = {item.name: flag_of(item) for config in (ModelConfig, TrainConfig)
             for item in fields(config) if item.name != "epochs"}
    flags.update({name: "--" + name.replace("_", "-") for name in also})
    given = [flag for name, flag in flags.items()
             if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"{', '.join(given)}: --resume continues the run with its own "
                               "settings (model, training, held-out melodies, vocabulary); "
                               "only --epochs may change. Leave "
                               f"{'it' if len(given) == 1 else 'them'} out, or start a new run "
                               "from its weights with --init")


def resume_from(ctx: click.Context, path: str, epochs: int, also: Iterable[str] = ()):
    """The checkpoint to resume and its training settings (with --epochs if given), after
    refusing other settings given with it (``refuse_resumed_settings``)."""
    from dataclasses import replace

    from melodyrnn.errors import CheckpointError, MelodyError
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.training.config import TrainConfig
    from melodyrnn.training.loop import resume_problem

    refuse_resumed_settings(ctx, also)
    resume = ckpt.load(path)
    if not resume.training_state:
        raise click.UsageError(f"{path} holds no training state to resume from")
    try:
        train_config = TrainConfig(**resume.train_config)
    except (MelodyError, TypeError) as err:
        raise CheckpointError(f"{path}: not a usable melodyrnn checkpoint: train_config: "
                              f"{err}") from None
    problem = resume_problem(resume.model, train_config, resume.training_state)
    if problem:
        raise CheckpointError(f"{path}: not a usable melodyrnn checkpoint: training state: "
                              f"{problem}")
    given = ctx.get_parameter_source("epochs") is not click.core.ParameterSource.DEFAULT
    if given:
        train_config = replace(train_config, epochs=epochs)
    done = resume.training_state["epoch"]
    if done >= train_config.epochs:
        ran = (f"has already run {plural(done, 'epoch')}, so --epochs {epochs} leaves nothing "
               "to do" if given else f"has run all {done} of its {plural(done, 'epoch')}")
        raise click.BadParameter(f"{path} {ran}: give a larger total to go on (e.g. --epochs "
                                 f"{done + 10})", param_hint="--epochs")
    note(f"resuming {path} after epoch {done} of {train_config.epochs}")
    return resume, train_config


def resolve_init(path: str) -> str:
    """A checkpoint path for ``--init``; ``bundled`` is the folk model shipped in the package."""
    from melodyrnn.models import checkpoint as ckpt

    if path != "bundled":
        return path
    bundled = ckpt.bundled_path()
    if bundled is None:
        raise click.BadParameter("this installation has no bundled model (or "
                                 "MELODYRNN_NO_BUNDLED is set)", param_hint="--init")
    return str(bundled)


def refuse_init_with_resume(init_path: str | None, resume_path: str | None) -> None:
    """``train --init`` and ``--resume`` together: a usage error before any work."""
    if init_path and resume_path:
        raise click.UsageError("--init and --resume: give one (--resume continues a run "
                               "exactly; --init starts a new run from trained weights)")


def init_files(init_path: str | None) -> list[str]:
    """The ``--init`` checkpoint a training run will read, so that ``-o`` can refuse it."""
    return [resolve_init(init_path)] if init_path else []


def resumed_output(ctx: click.Context, out: str, resume_path: str | None) -> str:
    """Where a run saves: ``-o``, except that a resumed run without ``-o`` goes on in the
    file it resumes."""
    if resume_path and ctx.get_parameter_source("out") is click.core.ParameterSource.DEFAULT:
        return resume_path
    return out


def init_from(path: str, kind: str, resume_path: str | None = None):
    """``train --init``: the checkpoint to fine-tune, checked to hold a ``kind`` model."""
    from melodyrnn.models import checkpoint as ckpt
    from melodyrnn.models.ensemble import networks_of

    refuse_init_with_resume(path, resume_path)
    path = resolve_init(path)
    init = ckpt.load(path)
    if init.codec.kind != kind or not hasattr(init.codec, "extended"):
        raise click.BadParameter(f"{path} holds a {init.codec.kind} model; fine-tuning needs a "
                                 f"{kind} model", param_hint="--init")
    c = init.model_config
    networks = len(networks_of(init.model))
    which = f" (the first of its {networks} averaged networks)" if networks > 1 else ""
    note(f"fine-tuning {path}: its {c.arch}{which} ({c.layers}x{c.hidden}, "
         f"{init.codec.vocab_size} tokens) is kept; architecture options are ignored")
    return init


def read_melodies(sources: tuple[str, ...], **ingest: Any) -> list:
    """The melodies of SOURCES read with the command's ingest options."""
    from melodyrnn.cli.data import ingest_from_cli

    return ingest_from_cli(sources, **ingest).melodies


def melody_settings(metadata: dict[str, Any]):
    """An empty melody with the tempo, metre and key a checkpoint's metadata records."""
    from melodyrnn.music.melody import DEFAULT_TEMPO, DEFAULT_TIME_SIGNATURE, Melody

    return Melody((), tempo=int(metadata.get("tempo") or DEFAULT_TEMPO),
                  time_signature=tuple(metadata.get("time_signature") or DEFAULT_TIME_SIGNATURE),
                  key=metadata.get("key"))


def numbered(path: Path, count: int) -> list[Path]:
    """``path`` itself for one output, else ``stem-1.suffix`` ... ``stem-N.suffix``."""
    if count == 1:
        return [path]
    width = len(str(count))
    return [path.with_name(f"{path.stem}-{i:0{width}d}{path.suffix}")
            for i in range(1, count + 1)]


# --- MIDI: the system, virtual ports -------------------------------------------------------

midi_api_option = click.option(
    "--midi-api", type=click.Choice(API_CHOICES), default="auto", show_default=True,
    envvar=API_ENV, help="MIDI system: auto (the first that works), alsa, jack, coremidi or "
                         f"windows [env {API_ENV}].")


@dataclass(frozen=True)
class MidiChoice:
    """``--midi-api``, ``--virtual`` and ``--wait``: the MIDI system, and a port to open."""

    api: str = "auto"
    virtual: str | None = None
    wait: float = DEFAULT_WAIT_SECONDS

    def target(self, port: str | None):
        """Where to play: ``--port``, ``--virtual`` or (neither) the sound device."""
        from melodyrnn.sound.playback import Target

        if port is not None and self.virtual is not None:
            raise click.UsageError("give --port or --virtual, not both")
        return Target(port, self.virtual, self.wait, self.api)


def midi_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--midi-api``, ``--virtual NAME`` and ``--wait SECONDS`` to a command that plays;
    it receives them as one ``midi`` (a ``MidiChoice``)."""

    @functools.wraps(command)
    def with_midi(*args: Any, midi_api: str, virtual: str | None, wait: float,
                  **kwargs: Any) -> Any:
        return command(*args, midi=MidiChoice(midi_api, virtual, wait), **kwargs)

    options = (
        midi_api_option,
        click.option("--virtual", default=None, metavar="NAME",
                     help="Open a virtual MIDI output port NAME (melodyrnn:NAME) for a synth or "
                          "DAW to connect to, wait for the connection, then play."),
        number_option("--wait", kind=float, low=0, high=MAX_WAIT_SECONDS,
                      default=DEFAULT_WAIT_SECONDS, show_default=True,
                      help="With --virtual: the longest wait in seconds for a connection (all "
                           "of it where the system cannot tell)."),
    )
    for option in reversed(options):
        with_midi = option(with_midi)
    return with_midi
