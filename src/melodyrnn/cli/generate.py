"""``melodyrnn generate``: continue a seed melody with a trained model and write or play it."""

from __future__ import annotations

from pathlib import Path

import click

from melodyrnn.cli.common import (
    DEFAULT_MODEL_PATH,
    check_positive,
    load_model,
    melody_settings,
    note,
    numbered,
)
from melodyrnn.cli.options import config_options
from melodyrnn.cli.streams import stream_kinds
from melodyrnn.generation.sampling import Sampling


@click.command()
@stream_kinds("generate")
@click.argument("more_seed", nargs=-1, metavar="[SEED_TOKENS]...")
@click.option("--seed", "seed", default=None,
              help="Notes to start from, e.g. --seed g8 e8 e4 f8 or --seed 'g8 e8 e4 f8'. "
                   "Default: the start of the first training song.")
@click.option("--length", default=50, show_default=True, help="New notes to generate.")
@config_options(Sampling)
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
    check_positive(num_outputs=num_outputs, primer_notes=primer_notes)
    if length < 0:
        raise click.BadParameter("expected 0 or more", param_hint="--length")
    if beam < 0:
        raise click.BadParameter("expected 0 (sampling) or more", param_hint="--beam")
    if beam and memory:
        raise click.UsageError("--memory shapes sampling; it does not combine with --beam")
    if primer_file and (seed or more_seed):
        raise click.UsageError("give either --seed or --primer, not both")
    from dataclasses import replace

    from melodyrnn.generation.steering import Steering, parse_range
    from melodyrnn.music.notation import format_melodies
    from melodyrnn.pipeline import continue_items

    sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p)
    steering = Steering(key=_key_tonic(key_tonic), mode=mode.lower(),
                        pitch_range=parse_range(pitch_range) if pitch_range else None,
                        bars=bars, stop_at_end=not no_stop)
    checkpoint = load_model(model_path)
    like = melody_settings(checkpoint.metadata)
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
        from melodyrnn.music.writers import write

        for path, melody in zip(numbered(Path(out), len(melodies)), melodies):
            write([melody], path, program=program, primer_notes=len(primer), score=score)
            note(f"wrote {path}")
    if play_it:
        from melodyrnn.sound.playback import play_melody

        play_melody(melodies[0], port=port, program=program)


BARS_TOKEN_CAP = 10_000  # with --bars the bar count ends generation; this only bounds it


def _primer(seed: str | None, more_seed: tuple[str, ...], primer_file: str | None,
            primer_notes: int, checkpoint, like):
    """The melody to continue: --seed tokens, the end of a --primer file, or the default."""
    from melodyrnn.music.notation import parse_tokens

    tokens = " ".join(([seed] if seed else []) + list(more_seed))
    if tokens.strip():
        return like.with_notes(parse_tokens(tokens, source="--seed").notes)
    if seed is not None:
        raise click.BadParameter("no notes given", param_hint="--seed")
    if primer_file:
        from melodyrnn.music.readers import read

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
    from melodyrnn.music.keys import split_key

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
