"""Click commands for hearing melodies: ``ports``, ``play`` and ``render``.

They are plain commands; ``cli.main`` attaches them to the group. Heavy imports (mido,
numpy, music21) happen inside the commands so ``melodyrnn --help`` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from melodyrnn.cli.common import MidiChoice, midi_api_option, midi_options, note
from melodyrnn.cli.options import number_option
from melodyrnn.errors import MelodyError
from melodyrnn.files import STDOUT, check_output, is_stdout
from melodyrnn.music.melody import MAX_TEMPO, MIN_TEMPO

SYNTH_CHOICES = ("auto", "fluidsynth", "builtin")
AUDIO_SUFFIXES = (".wav",)
FLUIDSYNTH_DRIVERS = {"alsa": "-a alsa -m alsa_seq", "jack": "-a jack -m jack",
                      "coremidi": "-a coreaudio -m coremidi", "windows": "-a dsound -m winmidi"}


def _format_seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _existing_file() -> click.Path:
    return click.Path(exists=True, dir_okay=False, path_type=Path)


bpm_option = number_option("--bpm", kind=float, low=MIN_TEMPO, high=MAX_TEMPO, default=None,
                          help="Tempo in quarter notes per minute (default: the file's tempo).")
program_option = click.option("--program", type=click.IntRange(0, 127), default=None,
                              help="General MIDI instrument 0-127 (default: the file's, or 0 "
                                   "piano).")


@click.command()
@midi_api_option
@click.option("--input", "inputs", is_flag=True,
              help="List the MIDI input ports (for `jam --in`) instead of the outputs.")
def ports(midi_api: str, inputs: bool) -> None:
    """List the MIDI output (or input) ports of each MIDI system, numbered for --port."""
    from melodyrnn.sound.ports import survey

    kind = "input" if inputs else "output"
    found = survey(midi_api, kind)
    for system, names in found.ports:
        click.echo(f"{system.label} (--midi-api {system.key}):")
        if not names and inputs:
            note("  no MIDI input ports (connect a keyboard, or start a program that plays MIDI)")
        elif not names:
            note(f"  no MIDI output ports (start a synthesiser, e.g. "
                 f"`fluidsynth {FLUIDSYNTH_DRIVERS[system.key]} SF2`)")
        for number, name in enumerate(names):
            click.echo(f"{number}: {name}")
    for _, err in found.failures:
        note(f"note: {err}")


@click.command()
@click.argument("file", type=_existing_file())
@click.option("--port", "port", default=None, metavar="NAME|NUM",
              help="MIDI output port by number or (part of its) name; see `melodyrnn ports`. "
                   "Without it (or --virtual), plays through the sound device.")
@midi_options
@bpm_option
@program_option
def play(file: Path, port: str | None, midi: MidiChoice, bpm: float | None,
         program: int | None) -> None:
    """Play a .mid, .txt or .musicxml FILE to a MIDI port or the sound device (Ctrl-C stops)."""
    from melodyrnn.sound.playback import play as play_source

    result = play_source(file, midi.target(port), bpm=bpm, program=program, say=note)
    note(f"played {file} ({_format_seconds(result.seconds)}) on {result.target}")


@click.command()
@click.argument("file", type=_existing_file())
@click.option("-o", "--out", "--output", "output",
              type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="WAV file to write (- writes the WAV to standard output); --out as in "
                   "train and generate.")
@click.option("--soundfont", type=_existing_file(), default=None,
              help="General MIDI SoundFont (.sf2) for FluidSynth "
                   "[default: /usr/share/sounds/sf2/FluidR3_GM.sf2].")
@bpm_option
@program_option
@click.option("--synth", type=click.Choice(SYNTH_CHOICES), default="auto", show_default=True,
              help="FluidSynth, the built-in synthesiser, or FluidSynth when installed.")
def render(file: Path, output: Path, soundfont: Path | None, bpm: float | None,
           program: int | None, synth: str) -> None:
    """Render a .mid, .txt or .musicxml FILE to a WAV audio file (no sound card needed)."""
    from melodyrnn.sound.audio import render_midi, render_to_wav, wav_bytes
    from melodyrnn.sound.midi import load_midi

    try:
        to_stdout = is_stdout(output)
        if not to_stdout:  # before any work; never over the input, a device or a FIFO
            check_output(output, inputs=[p for p in (file, soundfont) if p],
                         suffixes=AUDIO_SUFFIXES)
        midi = load_midi(file, bpm=bpm, program=program)
        if to_stdout:
            rendered = render_midi(midi, soundfont=soundfont, synth=synth, source=str(file))
            sys.stdout.buffer.write(wav_bytes(rendered.samples, rendered.sample_rate))
            sys.stdout.flush()
        else:
            rendered = render_to_wav(midi, output, soundfont=soundfont, synth=synth,
                                     source=str(file))
    except MelodyError as err:
        raise click.ClickException(str(err)) from None
    for remark in rendered.notes:
        note(f"note: {remark}")
    where = "standard output" if str(output) == STDOUT else output
    click.echo(f"wrote {where} ({_format_seconds(rendered.seconds)}, {rendered.synth}, "
               f"{rendered.sample_rate} Hz)", err=True)
