"""``melodyrnn jam``: live call and response with a trained model on MIDI ports.

The listening, pause detection, tempo measurement, quantisation and playback live in
``sound.jam``; this command builds the answer from a checkpoint the way ``generate`` does
(primer, key steering, ``--bars``, ``pipeline.continue_items``) and prints each answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import click

from melodyrnn.cli.common import load_model, melody_settings, midi_api_option, note
from melodyrnn.cli.options import build, config_options, number_option
from melodyrnn.generation.sampling import Sampling

ANSWER_TOKEN_CAP = 10_000  # --bars ends each answer; this only bounds it
PRIMER_NOTES = 64  # the most recent notes of a long phrase that prime the answer


def responder(checkpoint, bars: int, sampling: Sampling, rng_seed: int) -> Callable:
    """``respond(phrase) -> answer`` for ``sound.jam``: the model continues the phrase (its
    notes mapped to the nearest the model knows) in the phrase's key for ``bars`` bars."""
    from melodyrnn.generation.steering import Steering
    from melodyrnn.pipeline import continue_items

    codec = checkpoint.codec
    seeds = itertools.count(rng_seed)

    def respond(phrase):
        phrase = phrase.with_notes(phrase.notes[-PRIMER_NOTES:])
        ids = codec.encode(phrase, source="the phrase", nearest=True)
        primer = codec.decode(ids[:-1] if codec.end_id is not None else ids, like=phrase)
        tonic, mode = phrase.key.split() if phrase.key else (None, "major")
        steering = Steering(key=tonic, mode=mode, bars=bars)
        (melody,) = continue_items(checkpoint, primer, ANSWER_TOKEN_CAP, sampling, 1, next(seeds),
                                   steering.constraints(codec, primer))
        return melody.with_notes(melody.notes[len(primer):])

    return respond


@click.command()
@click.option("--in", "in_port", required=True, metavar="NAME|NUM",
              help="MIDI input port the player plays on (see `melodyrnn ports --input`).")
@click.option("--out", "out_port", required=True, metavar="NAME|NUM",
              help="MIDI output port for the answers, e.g. a synthesiser (see `melodyrnn ports`).")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help="Checkpoint to answer with (default: ./melodyrnn.pt, else the bundled model).")
@click.option("--bars", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Length of each answer in bars (after the bar the phrase ends in).")
@number_option("--wait", "wait_beats", default=None, kind=float, low=0.25, high=64,
              help="The rest, in beats at the phrase's tempo, that ends a phrase "
                   "[default: one bar].")
@number_option("--bpm", default=120.0, show_default=True, kind=float, low=20, high=400,
              help="Tempo assumed for the pause until a phrase has shown its own.")
@click.option("--time", "time_signature", default=None,
              help="Metre of the phrases, e.g. 3/4 (default: the model's usual).")
@click.option("--program", default=0, show_default=True, type=click.IntRange(0, 127),
              help="General MIDI instrument of the answers.")
@config_options(Sampling, defaults={"temperature": 0.8})
@click.option("--rng-seed", default=0, show_default=True, help="Seed of the first answer.")
@midi_api_option
def jam(in_port: str, out_port: str, model_path: str | None, bars: int, wait_beats: float | None,
        bpm: float, time_signature: str | None, program: int, rng_seed: int, midi_api: str,
        **sampling: float) -> None:
    """Play a phrase on --in; when you pause, the model answers on --out; then it listens again.

    \b
    melodyrnn jam --in "keyboard" --out "FLUID Synth" --bars 2
    melodyrnn jam --in player:out --out fsynth --midi-api jack --model folk.pt --wait 2

    Each answer continues the phrase just played, in its tempo and key, and is printed as
    song text. Ctrl-C stops and silences the output.
    """
    from melodyrnn.music.melody import Melody, Note
    from melodyrnn.sound.jam import JamSettings
    from melodyrnn.sound.jam import jam as play_jam
    from melodyrnn.sound.ports import open_input, open_port

    checkpoint = load_model(model_path)
    metre = _metre(time_signature) if time_signature else \
        melody_settings(checkpoint.metadata).time_signature
    settings = JamSettings(time_signature=metre, wait_beats=wait_beats, bpm=bpm, program=program)
    respond = responder(checkpoint, bars, build(Sampling, sampling), rng_seed)
    respond(Melody((Note(60, 1), Note(62, 1)), time_signature=metre, key="C major"))  # warm up
    with open_input(in_port, midi_api) as inport, open_port(out_port, midi_api) as outport:
        note(f"listening on {inport.name}, answering on {outport.name} ({bars} bars after each "
             "pause; Ctrl-C stops)")
        play_jam(inport, outport, respond, settings, report=_report, complain=note)


def _report(turn) -> None:
    """Say how the turn went on stderr; print the answer as song text on stdout (the answers
    together read as a song file)."""
    from melodyrnn.music.notation import format_melody

    phrase, answer = turn.phrase, turn.answer
    note(f"heard {len(phrase)} notes at {60 / turn.beat:.0f} bpm in {phrase.key or 'no key'}; "
         f"answered {float(answer.total_duration):g} beats, first note {1000 * turn.latency:.0f} ms "
         "after the pause")
    click.echo(format_melody(replace(answer, title="answer")))  # a blank line between songs


def _metre(text: str) -> tuple[int, int]:
    numerator, _, denominator = text.partition("/")
    if not (numerator.strip().isdigit() and denominator.strip().isdigit()) or \
            int(denominator) not in (1, 2, 4, 8, 16, 32) or int(numerator) < 1:
        raise click.BadParameter(f"'{text}' is not a time signature: expected e.g. 3/4 or 6/8",
                                 param_hint="--time")
    return int(numerator), int(denominator)
