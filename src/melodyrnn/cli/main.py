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

from typing import Any

import click

from melodyrnn.cli import data, evaluate, generate, jam, sound, train
from melodyrnn.files import DEFAULT_MAX_FILE_MB, MAX_FILE_MB_ENV

MAX_FILE_MB = 65_536  # the most --max-file-mb accepts (64 GB)


class MelodyGroup(click.Group):
    """A click group that turns the project's errors into one clean line and a non-zero exit."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise  # no command at all: the help, as click shows it
        except click.UsageError as err:  # a bad option of melodyrnn itself: one line too
            err.ctx = None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        from melodyrnn.errors import MelodyError

        try:
            return super().invoke(ctx)
        except MelodyError as err:
            raise click.ClickException(str(err)) from None
        except click.UsageError as err:  # one line: no usage banner and "Try --help" hint
            err.ctx = None
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=MelodyGroup, help=__doc__)
@click.version_option(package_name="melodyrnn")
@click.option("--threads", default=None, type=click.IntRange(1, 256), envvar="MELODYRNN_THREADS",
              help="CPU threads for PyTorch [default: 1, fastest for these small models; "
                   "env MELODYRNN_THREADS].")
@click.option("--max-file-mb", default=None, type=click.IntRange(1, MAX_FILE_MB),
              envvar=MAX_FILE_MB_ENV, metavar="MB",
              help=f"Largest input file read (music, text, CSV; also the unpacked size of "
                   f".mxl) [default: {DEFAULT_MAX_FILE_MB}; env {MAX_FILE_MB_ENV}].")
def main(threads: int | None, max_file_mb: int | None) -> None:
    import os

    # Read by PyTorch when it is first imported; commands import it lazily, after this.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    if max_file_mb:  # read where files are read, also by the ingest worker processes
        os.environ[MAX_FILE_MB_ENV] = str(max_file_mb)


main.add_command(train.train)
main.add_command(generate.generate)
main.add_command(evaluate.evaluate)
main.add_command(data.data)
main.add_command(sound.ports)
main.add_command(sound.play)
main.add_command(sound.render)
main.add_command(jam.jam)
