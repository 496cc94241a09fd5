"""``melodyrnn generate``: continue a seed melody with a trained model and write or play it."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import click

from melodyrnn.cli.common import (
    DEFAULT_MODEL_PATH,
    MAX_SEED,
    MidiChoice,
    check_positive,
    checked_output,
    form_weight,
    given,
    load_model,
    melody_settings,
    midi_options,
    model_files,
    note,
    numbered,
)
from melodyrnn.cli.options import config_options, number_option
from melodyrnn.cli.streams import stream_kinds
from melodyrnn.errors import MelodyError
from melodyrnn.files import is_stdout
from melodyrnn.generation.form import FORM_WEIGHT
from melodyrnn.generation.sampling import MUSICAL, Sampling
from melodyrnn.music.melody import MAX_TEMPO, MIN_TEMPO

# Bounds that keep one command within the memory of an ordinary machine (README: Errors).
MAX_LENGTH = 100_000  # new notes (or characters) per melody
MAX_BARS = 1_000
MAX_OUTPUTS = 256  # melodies generated together
MAX_TOKENS = 1_000_000  # --length x --num-outputs
MAX_BEAM = 64
DEFAULT_LENGTH = 50  # 나비야: 54 notes from a four-note seed
ENDING_LENGTH = 256  # the cap for a model that ends melodies itself (99.8% of Essen is shorter)


@click.command()
@stream_kinds("generate")
@click.argument("more_seed", nargs=-1, metavar="[SEED_TOKENS]...")
@click.option("--seed", "seed", default=None,
              help="Notes to start from, e.g. --seed g8 e8 e4 f8 or --seed 'g8 e8 e4 f8'. "
                   "Default: the opening of a training melody kept in the model, drawn "
                   "with --rng-seed (older models: the first training song's; text: the "
                   "training text's opening).")
@click.option("--length", default=None, type=click.IntRange(0, MAX_LENGTH),
              help="New notes to generate: at most this many for a model that ends melodies "
                   "itself (an end token; see --no-stop), this many otherwise. Default: "
                   f"{ENDING_LENGTH} for a model with an end token, {DEFAULT_LENGTH} for one "
                   f"without. Limits: 0 to {MAX_LENGTH}.")
@config_options(Sampling, defaults=asdict(MUSICAL))
@click.option("--beam", default=0, show_default=True, type=click.IntRange(0, MAX_BEAM),
              help="Beam search of this width for the most probable continuation "
                   "(0 = sample).")
@number_option("--memory", default=0.0, show_default=True, kind=float, low=0, high=100,
              help="Weight of a short-term model of the melody so far (IDyOM's STM): it "
                   "favours continuing motifs the melody has already played, as songs do "
                   "(0 = off; 0.2-0.3 suits a model without --copy; one with it, such as the "
                   "bundled model, needs little: 0.1 narrows its pitches, 0.3 or more makes it "
                   "loop). Not with --beam.")
@number_option("--echo", default=0.0, show_default=True, kind=float, low=0, high=100,
              help="Favour carrying on a passage the melody played before: where its last "
                   "3-12 notes occurred earlier, the note that followed them there gets this "
                   "many nats more log-probability, so phrases come back and carry through, "
                   "as in folk songs (0 = off; 1 is a good start). Not with --beam.")
@number_option("--form", default=FORM_WEIGHT, show_default=True, kind=float, low=0, high=100,
              help="Repeat bars the way a real tune does: each melody borrows the form of a "
                   "training tune of its metre (drawn with --rng-seed), and where that tune "
                   "repeats an earlier bar, the note that bar has at the same place gets this "
                   "many nats more log-probability (0 = off). Models that keep no forms "
                   "(text, older models) sample without. Not with --beam.")
@click.option("--num-outputs", default=1, show_default=True,
              type=click.IntRange(1, MAX_OUTPUTS), help="Melodies to generate in one batch.")
@click.option("--rng-seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED),
              help="Seed for repeatable sampling.")
@click.option("--key", "key_tonic", default=None,
              help="Keep to the scale of this tonic, e.g. G, F#, Bb (see --mode).")
@click.option("--mode", default="major", show_default=True,
              help="Scale for --key: major, minor, dorian, phrygian, lydian, mixolydian, "
                   "aeolian, locrian.")
@click.option("--range", "pitch_range", default=None,
              help="Keep notes within a register, e.g. C4:C6.")
@click.option("--bars", default=None, type=click.INT,
              help="Generate this many bars after the seed, ending on a bar line "
                   f"(overrides --length). Limits: 1 to {MAX_BARS}.")
@click.option("--time", "time_signature", default=None,
              help="Time signature for --bars and the output, e.g. 3/4 "
                   "(default: the training data's).")
@click.option("--no-stop", is_flag=True,
              help="Do not stop at the model's end-of-melody token (where a melody stops "
                   "there mid-bar, a rest closes its last bar).")
@click.option("--primer", "primer_file", default=None, type=click.Path(dir_okay=False),
              help="Start from the last --primer-notes notes of a file (.txt .mid .musicxml "
                   ".xml .mxl .abc) instead of --seed.")
@click.option("--primer-notes", default=8, show_default=True,
              type=click.IntRange(1, MAX_LENGTH),
              help="How many notes from the end of --primer to use.")
@click.option("--model", "model_path", default=None, type=click.Path(dir_okay=False),
              help=f"Checkpoint to use (default: ./{DEFAULT_MODEL_PATH}).")
@click.option("-o", "--out", default=None, type=click.Path(dir_okay=False),
              help="Write to a file instead of stdout (- is stdout); the suffix picks the "
                   "format: .txt .mid .midi .musicxml .xml .abc .png (piano roll) .svg "
                   "(notation). Several outputs get numbered files.")
@click.option("--score", is_flag=True, help="With -o .png: engrave notation, not a piano roll.")
@click.option("--bpm", default=None, type=click.IntRange(MIN_TEMPO, MAX_TEMPO),
              help="Tempo of the output (default: the training data's).")
@click.option("--program", default=0, show_default=True, type=click.IntRange(0, 127),
              help="General MIDI instrument for MIDI output and --play (0 = piano).")
@click.option("--play", "play_it", is_flag=True,
              help="Play the (first) melody: to --port, else through the sound device.")
@click.option("--port", default=None, help="MIDI output port (name or number) for --play.")
@midi_options
def generate(more_seed: tuple[str, ...], seed: str | None, length: int | None,
             temperature: float,
             top_k: int, top_p: float, epsilon: float, beam: int, memory: float, echo: float,
             form: float, num_outputs: int,
             rng_seed: int, key_tonic: str | None, mode: str, pitch_range: str | None, bars: int | None,
             time_signature: str | None, no_stop: bool, primer_file: str | None,
             primer_notes: int, model_path: str | None, out: str | None, score: bool,
             bpm: int | None, program: int, play_it: bool, port: str | None,
             midi: MidiChoice) -> None:
    """Continue a melody with a trained model and print it (seed first) as text.

    \b
    melodyrnn generate --seed g8 e8 e4 f8
    melodyrnn generate --seed g8 e8 e4 f8 --temperature 0.9 --top-p 0.95 --num-outputs 4
    melodyrnn generate --primer tune.mid --key G --range D4:D6 --bars 8 -o new.musicxml
    """
    check_positive(num_outputs=num_outputs, primer_notes=primer_notes)
    if length is not None and length < 0:
        raise click.BadParameter("expected 0 or more", param_hint="--length")
    if beam < 0:
        raise click.BadParameter("expected 0 (sampling) or more", param_hint="--beam")
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise click.UsageError(f"--bars {bars}: expected 1 to {MAX_BARS}")
    if beam and memory:
        raise click.UsageError("--memory shapes sampling; it does not combine with --beam")
    if beam and echo:
        raise click.UsageError("--echo shapes sampling; it does not combine with --beam")
    if beam and form and given("form"):
        raise click.UsageError("--form shapes sampling; it does not combine with --beam")
    shaping = [f"--{name.replace('_', '-')}" for name in ("temperature", "top_k", "top_p",
                                                          "epsilon") if given(name)]
    if beam and shaping:
        one = len(shaping) == 1
        raise click.UsageError(f"{', '.join(shaping)}: shape{'s' * one} sampling; beam search "
                               "(--beam) takes the most probable notes and ignores "
                               f"{'it' if one else 'them'}")
    if primer_file and (seed or more_seed):
        raise click.UsageError("give either --seed or --primer, not both")
    if score and not (out or "").lower().endswith(".png"):
        raise click.UsageError("--score engraves notation as a PNG picture: give -o NAME.png "
                               "(.svg is always notation)")
    most = ENDING_LENGTH if length is None else length  # the default is at most this
    tokens = num_outputs * (most if bars is None else _bars_cap(bars))
    if tokens > MAX_TOKENS:
        raise click.UsageError(f"--length x --num-outputs: {tokens:,} notes: expected at most "
                               f"{MAX_TOKENS:,} in one command")
    paths = _output_paths(out, num_outputs, primer_file, model_path)  # before any work
    from melodyrnn.generation.steering import Steering, parse_range
    from melodyrnn.music.notation import format_melodies
    from melodyrnn.pipeline import continue_items

    sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p, epsilon=epsilon)
    try:  # --key, --mode and --range are option values: a bad one is a usage error (status 2)
        steering = Steering(key=_key_tonic(key_tonic), mode=mode.lower(),
                            pitch_range=parse_range(pitch_range) if pitch_range else None,
                            bars=bars, stop_at_end=not no_stop)
    except MelodyError as err:
        raise click.UsageError(str(err)) from None
    if given("mode") and not key_tonic:  # (a misspelt mode was named just above)
        raise click.UsageError(f"--mode {mode}: only with --key (the scale's tonic, e.g. "
                               f"--key A --mode {mode})")
    checkpoint = load_model(model_path)
    primer, known = _primer(seed, more_seed, primer_file, primer_notes, checkpoint, rng_seed)
    primer = _settled(primer, known, checkpoint,
                      time_signature=_parse_time(time_signature) if time_signature else None,
                      key=f"{steering.key} {steering.mode}" if key_tonic else None, tempo=bpm)
    constraints = steering.constraints(checkpoint.codec, primer)
    _report_single_pitch(constraints)
    stops = checkpoint.codec.end_id is not None and not no_stop and bars is None
    chosen = length is not None
    if length is None:
        length = ENDING_LENGTH if stops else DEFAULT_LENGTH
    cap = length if bars is None else _bars_cap(bars)
    weight = 0.0 if beam else form_weight(checkpoint, form)
    melodies = continue_items(checkpoint, primer, cap, sampling, num_outputs, rng_seed,
                              constraints, beam, memory, echo, weight)
    if bars is None:  # --bars ends on its own bar line; otherwise the end token may stop it
        ended = [len(m) - len(primer) < length for m in melodies]
        _report_endings(melodies, ended, len(primer), length, chosen)
        # a melody its end token finished mid-bar gets a rest to the bar line
        melodies = [m.with_last_bar_closed() if stopped else m
                    for m, stopped in zip(melodies, ended)]
    if weight:
        _report_form(checkpoint, primer, melodies[0], weight, rng_seed, constraints,
                     len(melodies) > 1)
    key_known = "key" in known or key_tonic is not None
    melodies = [_labelled(m, primer, key_known, i, len(melodies))
                for i, m in enumerate(melodies, 1)]
    if not paths:
        click.echo(format_melodies(melodies), nl=False)
    else:
        from melodyrnn.music.writers import write

        for path, melody in zip(paths, melodies):
            write([melody], path, program=program, primer_notes=len(primer), score=score)
            note(f"wrote {path}")
    if play_it:
        from melodyrnn.sound.playback import play

        play(melodies[0], midi.target(port), program=program, say=note)


BARS_TOKEN_CAP = 10_000  # with --bars the bar count ends generation; this only bounds it
_SEED_HEADERS = {"time": "time_signature", "key": "key", "tempo": "tempo", "partial": "pickup"}
TOKENS_PER_BAR = 128  # more than any bar of real notes holds


def _report_form(checkpoint, primer, melody, weight: float, rng_seed: int,
                 constraints, several: bool) -> None:
    """Say on stderr which bars the first melody's borrowed form repeats (nothing if none
    falls after the seed)."""
    from melodyrnn.music.form import describe_form
    from melodyrnn.pipeline import form_plan, planned_bars

    plan = form_plan(checkpoint, primer, weight, 1, rng_seed, planned_bars(primer, constraints))
    form = plan.rows[0].form if plan is not None else None
    if not form:
        return
    bar = primer.bar_length
    seeded = max(0, int((primer.total_duration - primer.pickup) // bar))
    spanned = -(-(melody.total_duration - melody.pickup) // bar)
    repeats = describe_form(form[:int(spanned)], first_bar=seeded)
    if repeats:
        whose = "melody 1's borrowed form" if several else "borrowed form"
        note(f"{whose} (a training tune's, leant on by --form {weight:g}; 0 for none): "
             f"{repeats}")


def _report_single_pitch(constraints) -> None:
    """Say on stderr when --key/--range leave a single pitch: the melody can only repeat it
    (the repetition guard has nothing else to offer)."""
    from melodyrnn.generation.steering import pitch_name

    if constraints.allowed is None or constraints.pitch_of is None:
        return
    left = set(constraints.pitch_of[constraints.allowed & (constraints.pitch_of >= 0)].tolist())
    if len(left) == 1:
        note(f"--key/--range leave one of the model's pitches ({pitch_name(left.pop())}): "
             "the melody can only repeat it; widen --range for a tune")


def _bars_cap(bars: int) -> int:
    return min(BARS_TOKEN_CAP, bars * TOKENS_PER_BAR)


def _output_paths(out: str | None, count: int, primer_file: str | None,
                  model_path: str | None) -> list[Path]:
    """The files -o names (numbered for several melodies), each checked against the primer
    and the model file; [] for stdout."""
    if out is None or is_stdout(out):
        return []
    from melodyrnn.music.writers import WRITERS

    inputs = [*([primer_file] if primer_file else []), *model_files(model_path)]
    return [checked_output(path, inputs, WRITERS) for path in numbered(Path(out), count)]


def _primer(seed: str | None, more_seed: tuple[str, ...], primer_file: str | None,
            primer_notes: int, checkpoint, rng_seed: int):
    """The melody to continue (--seed tokens, the end of a --primer file, or a real opening the
    model was trained on) and which of its settings (metre, key, tempo, pickup) are its own."""
    import re

    from melodyrnn.music.notation import parse_tokens

    tokens = " ".join(([seed] if seed else []) + list(more_seed))
    if tokens.strip():
        given = {_SEED_HEADERS[name] for name in re.findall(r"\\(\w+)", tokens)
                 if name in _SEED_HEADERS}
        melody = parse_tokens(tokens, source="--seed")
        return melody, given | ({"key"} if melody.key else set())
    if seed is not None:
        raise click.BadParameter("no notes given", param_hint="--seed")
    if primer_file:
        from melodyrnn.music.deadline import PARSE_SECONDS
        from melodyrnn.music.readers import read

        source = read(primer_file, seconds=PARSE_SECONDS)[0]  # any reader failure: one line
        kept = source.notes[-primer_notes:]
        start = source.total_duration - sum(n.duration for n in kept)
        pickup = (source.bar_length - source.position_in_bar(start)) % source.bar_length
        note(f"primer: the last {len(kept)} notes of {primer_file}")
        own = {"time_signature", "tempo", "pickup"} | (set() if source.key_analysed else {"key"})
        return replace(source.with_notes(kept), pickup=pickup), own
    openings = checkpoint.metadata.get("openings")
    if openings and hasattr(checkpoint.codec, "opened"):
        import random

        index = random.Random(rng_seed).randrange(len(openings))
        melody = checkpoint.codec.opened(openings[index])
        other = "; --rng-seed picks another" if len(openings) > 1 else ""
        note(f"no --seed given: starting from the opening of training melody {index + 1} of "
             f"{len(openings)} kept in the model ({len(melody)} notes, {melody.key or 'no key'}"
             f"{other})")
        return melody, {"time_signature", "tempo", "pickup", "key"}
    melody = checkpoint.codec.decode(checkpoint.metadata.get("primer", []),
                                     like=melody_settings(checkpoint.metadata))
    if not len(melody):
        raise click.UsageError("no --seed given and the model keeps no opening to start from: "
                               "give one, e.g. --seed g8 e8 e4 f8")
    note(f"no --seed given: starting from the first training song's opening ({len(melody)} notes)")
    return melody, {"time_signature", "tempo", "key"}


def _settled(primer, known: set[str], checkpoint, *, time_signature, key, tempo):
    """The primer with the metre, key and tempo the output will have: the options if given,
    else the primer's own, else (metre, tempo) the model's usual ones, else (key) the key
    the model hears in the primer, as a reference only: the output's key is analysed again."""
    from melodyrnn.pipeline import likely_key

    usual = melody_settings(checkpoint.metadata)
    settings = {
        "time_signature": time_signature or (primer.time_signature if "time_signature" in known
                                             else usual.time_signature),
        "tempo": tempo or (primer.tempo if "tempo" in known else usual.tempo),
    }
    primer = replace(primer, **settings)
    return replace(primer, key=key or (primer.key if "key" in known else
                                       likely_key(checkpoint, primer)))


def _labelled(melody, primer, key_known: bool, number: int, count: int):
    """A generated melody with its key (analysed from all its notes unless the seed, primer
    or --key gave one), titled after the primer's title if it had one."""
    from melodyrnn.music.keys import analyse_key

    key = melody.key if key_known else analyse_key(melody.notes) or melody.key
    if not primer.title:
        return replace(melody, key=key, title=None)
    return replace(melody, key=key,
                   title=f"After {primer.title}" + (f" ({number})" if count > 1 else ""))


def _report_endings(melodies, ended: list[bool], primer_length: int, cap: int,
                    chosen: bool) -> None:
    """Say on stderr which melodies the model's end token finished before the cap (the
    --length given, if ``chosen``)."""
    for number, (melody, stopped) in enumerate(zip(melodies, ended), 1):
        if stopped:
            new = len(melody) - primer_length
            which = f"melody {number}" if len(melodies) > 1 else "the melody"
            cap_is = f"--length {cap} is a cap" if chosen else f"at most {cap} without --length"
            note(f"{which} ended at the model's end token after {new} new notes "
                 f"({cap_is}; --no-stop goes on)")


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
