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
def main() -> None:
    pass


# --- train ---------------------------------------------------------------------------------

@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "arch", type=click.Choice(["lstm", "gru", "rnn", "mlp"]),
              default="lstm", show_default=True,
              help="Network: stateful LSTM, GRU, vanilla RNN, or an MLP over a window.")
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
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def train(sources: tuple[str, ...], arch: str, input_kind: str, hidden: int, layers: int,
          embedding_dim: int, dropout: float, window: int, batching: str, batch_size: int,
          bptt: int, epochs: int, lr: float, clip: float, stop_accuracy: float,
          stop_patience: int, vocab: str, rng_seed: int, out: str, progress: bool) -> None:
    """Train a model on melodies in SOURCES and save it.

    SOURCES are song text files (see README for the format). Training stops early once
    the model predicts every training note (see --stop-accuracy).
    """
    _check_positive(hidden=hidden, layers=layers, window=window, epochs=epochs,
                    batch_size=batch_size, bptt=bptt, embedding_dim=embedding_dim)
    from melodyrnn import checkpoint as ckpt
    from melodyrnn.codec import NoteCodec
    from melodyrnn.models import ModelConfig
    from melodyrnn.pipeline import fit
    from melodyrnn.train import TrainConfig

    melodies = _read_melodies(sources)
    codec = NoteCodec.classic() if vocab == "classic" else NoteCodec.fit(melodies)
    model_config = ModelConfig(arch=arch, hidden=hidden, layers=layers, input=input_kind,
                               embedding_dim=embedding_dim, dropout=dropout)
    train_config = TrainConfig(epochs=epochs, lr=lr, batching=batching, window=window,
                               batch_size=batch_size, bptt=bptt, clip=clip,
                               stop_accuracy=stop_accuracy, stop_patience=stop_patience,
                               rng_seed=rng_seed)
    notes = sum(len(m) for m in melodies)
    note(f"training {arch} on {len(melodies)} melod{'y' if len(melodies) == 1 else 'ies'}, "
         f"{notes} notes, {codec.vocab_size} distinct tokens")
    first = melodies[0]
    metadata = {"tempo": first.tempo, "time_signature": list(first.time_signature),
                "key": first.key, "sources": list(sources)}
    report = fit(melodies, codec, model_config, train_config, metadata, progress=progress,
                 log=note)
    last = report.result.history[-1] if report.result.history else None
    if last is not None:
        note(f"{report.result.epochs_run} epochs in {report.seconds:.1f} s: "
             f"loss {last.loss:.4f}, accuracy {last.accuracy:.1%}")
    path = ckpt.save(report.checkpoint, out)
    click.echo(f"saved model to {path}")
    if report.result.interrupted:
        sys.exit(130)


# --- generate ------------------------------------------------------------------------------

@main.command()
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
@click.option("--num-outputs", default=1, show_default=True,
              help="Melodies to generate in one batch.")
@click.option("--rng-seed", default=0, show_default=True, help="Seed for repeatable sampling.")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to use (default: ./{DEFAULT_MODEL_PATH}).")
@click.option("-o", "--out", default=None, type=click.Path(dir_okay=False),
              help="Write to a file instead of stdout; the suffix picks the format: "
                   ".txt .mid .midi .musicxml .xml. Several outputs get numbered files.")
@click.option("--play", "play_it", is_flag=True,
              help="Play the (first) melody: to --port, else through the sound device.")
@click.option("--port", default=None, help="MIDI output port (name or number) for --play.")
def generate(more_seed: tuple[str, ...], seed: str | None, length: int, temperature: float,
             top_k: int, top_p: float, num_outputs: int, rng_seed: int,
             model_path: str | None, out: str | None, play_it: bool, port: str | None) -> None:
    """Continue a melody with a trained model and print it (seed first) as text."""
    _check_positive(num_outputs=num_outputs)
    if length < 0:
        raise click.BadParameter("expected 0 or more", param_hint="--length")
    from melodyrnn.generate import Sampling
    from melodyrnn.notation import format_melodies, parse_tokens
    from melodyrnn.pipeline import continue_items

    checkpoint = _load_model(model_path)
    like = _melody_settings(checkpoint.metadata)
    tokens = " ".join(([seed] if seed else []) + list(more_seed))
    if tokens:
        primer = like.with_notes(parse_tokens(tokens, source="--seed").notes)
    else:
        primer = checkpoint.codec.decode(checkpoint.metadata.get("primer", []), like=like)
        note(f"no --seed given: starting from the first training song's opening "
             f"({len(primer)} notes)")
    sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p)
    melodies = continue_items(checkpoint, primer, length, sampling, num_outputs, rng_seed)
    if out is None:
        click.echo(format_melodies(melodies), nl=False)
    else:
        from melodyrnn.export import write

        for path, melody in zip(_numbered(Path(out), len(melodies)), melodies):
            write([melody], path)
            note(f"wrote {path}")
    if play_it:
        from melodyrnn.play import play_melody

        play_melody(melodies[0], port=port)


# --- evaluate ------------------------------------------------------------------------------

@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to evaluate (default: ./{DEFAULT_MODEL_PATH}).")
@click.option("--window", default=None, type=int,
              help="Real tokens given before predicting (default: the model's window).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def evaluate(sources: tuple[str, ...], model_path: str | None, window: int | None,
             as_json: bool) -> None:
    """Score a model on melodies: one-step and full-song accuracy, bits per note.

    \b
    one-step:  for every window of real notes, is the next note predicted?
    full-song: prime with the first notes, feed back the model's own predictions
               to the end; how many positions match the real song?
    """
    if window is not None:
        _check_positive(window=window)
    from melodyrnn.pipeline import score_items

    checkpoint = _load_model(model_path)
    melodies = _read_melodies(sources)
    result = score_items(checkpoint, melodies, window)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    for name, score in (("one-step", result.one_step), ("full-song", result.full_song)):
        click.echo(f"{name:10} {score.correct}/{score.total} correct ({score.accuracy:.1%})")
    click.echo(f"{'bits/note':10} {result.bits_per_token:.4f}")
    for index, position, _, _ in result.mismatches[:5]:
        click.echo(f"melody {index + 1}: full-song prediction first differs at note "
                   f"{position + 1}")


# --- shared helpers --------------------------------------------------------------------------

def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise click.BadParameter(f"{value}: expected 1 or more",
                                     param_hint=f"--{name.replace('_', '-')}")


def _read_melodies(sources: tuple[str, ...]) -> list:
    from melodyrnn.notation import parse_file

    melodies = []
    for source in sources:
        melodies.extend(parse_file(source))
    return melodies


def _load_model(model_path: str | None):
    from melodyrnn import checkpoint as ckpt
    from melodyrnn.errors import CheckpointError

    path = Path(model_path or DEFAULT_MODEL_PATH)
    if model_path is None and not path.exists():
        raise CheckpointError(f"no model given and ./{DEFAULT_MODEL_PATH} does not exist: "
                              "train one first, e.g. `melodyrnn train data/nabiya.txt`, "
                              "or pass --model PATH")
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
from melodyrnn import cli_audio  # noqa: E402

main.add_command(cli_audio.ports)
main.add_command(cli_audio.play)
main.add_command(cli_audio.render)

from melodyrnn import cli_data  # noqa: E402

main.add_command(cli_data.data)
