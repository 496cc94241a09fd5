"""``melodyrnn data``: look at what ingest makes of files, folders and corpora.

The ``ingest_options`` decorator (made from ``IngestOptions``) and ``ingest_from_cli`` are
shared with ``train`` and ``evaluate`` so every command reads sources the same way. The
readers (and music21 behind them) load when a command runs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

import click

from melodyrnn.cli.options import build, config_options

if TYPE_CHECKING:
    from melodyrnn.music.melody import Melody
    from melodyrnn.music.sources import IngestResult

F = TypeVar("F", bound=Callable[..., Any])

def ingest_options(func: F) -> F:
    """Add the shared source-reading options (--quantize, --part, ... --jobs) to a command."""
    from melodyrnn.music.sources import IngestOptions

    return config_options(IngestOptions)(func)


def ingest_from_cli(sources: tuple[str, ...] | list[str], **options: Any) -> IngestResult:
    """Load sources with the values of ``ingest_options``; print rejections to stderr.

    Keys other than the ingest options (and ``progress``) are ignored, so a command can pass
    all its keyword arguments. Raises ``click.ClickException`` when nothing is usable.
    """
    from melodyrnn.errors import MelodyError
    from melodyrnn.music.sources import IngestOptions, NoMelodies, load, rejection_summary

    try:
        settings = build(IngestOptions, options)
        result = load(list(sources), settings, progress=options.get("progress", True))
    except NoMelodies as err:  # the details first, then the one-line error
        if len(err.rejected) > 1:  # listed above: the error line only sums them up
            click.echo(rejection_summary(err.rejected, err.files), err=True)
            raise click.ClickException(
                f"no usable melodies in {', '.join(sources)}: all {len(err.rejected)} "
                "files or tunes were rejected (listed above)") from None
        raise click.ClickException(str(err)) from None
    except MelodyError as err:
        raise click.ClickException(str(err)) from None
    if result.rejected:
        click.echo(rejection_summary(result.rejected, result.sources), err=True)
    return result


@click.group()
def data() -> None:
    """Inspect music sources: statistics, corpora, and the melodies the model will see."""


# --- stats ----------------------------------------------------------------------------------

def _fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value}"


def melody_stats(result: IngestResult) -> dict[str, Any]:
    """Counts over an ingest result as plain data (what ``data stats --json`` prints)."""
    melodies = result.melodies
    notes = [n for m in melodies for n in m.notes]
    pitches = [n.pitch for n in notes if n.pitch is not None]
    tokens = Counter(notes)  # Note hashes fast; Fraction does not
    durations: Counter = Counter()
    for note, count in tokens.items():
        durations[note.duration] += count
    lengths = [sum(1 for n in m.notes if n.pitch is not None) for m in melodies]
    reasons = Counter(r.reason for r in result.rejected)
    return {
        "sources": result.sources,
        "melodies": len(melodies),
        "notes": len(pitches),
        "rests": len(notes) - len(pitches),
        "notes_per_melody": {"min": min(lengths), "mean": round(len(pitches) / len(melodies), 1),
                             "max": max(lengths)} if melodies else None,
        "tokens": len(tokens),
        "pitch_range": [min(pitches), max(pitches)] if pitches else None,
        "durations": {_fraction_text(d): c for d, c in sorted(durations.items())},
        "metres": dict(Counter(f"{a}/{b}" for a, b in (m.time_signature for m in melodies))
                       .most_common()),
        "keys": dict(Counter(m.key or "unknown" for m in melodies).most_common()),
        "rejected": {"count": len(result.rejected), "reasons": dict(reasons.most_common()),
                     "items": [{"source": r.source, "reason": r.reason}
                               for r in result.rejected]},
    }


def _top(counts: dict[str, int], limit: int = 8) -> str:
    items = list(counts.items())
    text = ", ".join(f"{k} {v}" for k, v in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


@data.command()
@click.argument("sources", nargs=-1, required=True)
@ingest_options
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(sources: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Melodies, notes, tokens, pitch range, durations, metres, keys and rejections of SOURCES.

    SOURCES are files (.mid .midi .musicxml .mxl .xml .abc .krn .txt), folders, globs such as
    "scores/*.mxl", or corpus:NAME (see list-corpora).
    """
    from melodyrnn.music.notation import pitch_name

    summary = melody_stats(ingest_from_cli(sources, **options))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    low_high = summary["pitch_range"]
    per = summary["notes_per_melody"]
    lines = [
        f"files       {summary['sources']}",
        f"melodies    {summary['melodies']}",
        f"notes       {summary['notes']} (+ {summary['rests']} rests; per melody "
        f"{per['min']}-{per['max']}, mean {per['mean']})",
        f"tokens      {summary['tokens']} distinct pitch+duration pairs",
        f"pitch range {low_high[0]}-{low_high[1]} ({pitch_name(low_high[0])} to "
        f"{pitch_name(low_high[1])})" if low_high else "pitch range -",
        f"durations   {_top(summary['durations'], 12)}  (quarter notes)",
        f"metres      {_top(summary['metres'])}",
        f"keys        {_top(summary['keys'])}",
        f"rejected    {summary['rejected']['count']}",
    ]
    click.echo("\n".join(lines))


# --- list-corpora ---------------------------------------------------------------------------

@data.command("list-corpora")
@click.option("--json", "as_json", is_flag=True, help="Print the corpora as JSON.")
def list_corpora_command(as_json: bool) -> None:
    """The corpus:NAME sources bundled with music21, with file and tune counts."""
    from dataclasses import asdict

    from melodyrnn.errors import MelodyError
    from melodyrnn.music.sources import list_corpora

    try:
        rows = list_corpora()
    except MelodyError as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    width = max(len(r.name) for r in rows) + len("corpus:")
    click.echo(f"{'source':<{width}}  {'files':>5}  {'tunes':>5}  description")
    for row in rows:
        click.echo(f"{'corpus:' + row.name:<{width}}  {row.files:>5}  {row.pieces:>5}  "
                   f"{row.description}")


# --- show -----------------------------------------------------------------------------------

def melody_json(melody: Melody) -> dict[str, Any]:
    """One melody as plain data: settings and notes with pitch, duration and onset in quarters."""
    from melodyrnn.music.notation import note_text

    return {
        "title": melody.title,
        "tempo": melody.tempo,
        "time_signature": list(melody.time_signature),
        "key": melody.key,
        "notes": [{"pitch": n.pitch, "duration": float(n.duration), "onset": float(onset),
                   "text": note_text(n)}
                  for onset, n in zip(melody.onsets(), melody.notes, strict=True)],
    }


@data.command()
@click.argument("sources", nargs=-1, required=True)
@ingest_options
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Show at most this many melodies.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one list of notes (pitch, duration, onset) per melody as JSON.")
def show(sources: tuple[str, ...], limit: int | None, as_json: bool, **options: Any) -> None:
    """The melodies of SOURCES as the model will see them, in the song text format."""
    from melodyrnn.music.notation import format_melodies

    melodies = ingest_from_cli(sources, **options).melodies[:limit]
    if as_json:
        click.echo(json.dumps([melody_json(m) for m in melodies], indent=2))
    else:
        click.echo(format_melodies(melodies), nl=False)
