"""Pictures of melodies: a piano roll (matplotlib) and engraved notation (verovio). No torch."""

from __future__ import annotations

import io

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.music.melody import Melody
from melodyrnn.music.notation import pitch_name

ROLL_HEIGHT_INCHES = 3.5
ROLL_INCHES_PER_BAR = 1.6
PRIMER_COLOUR, NOTE_COLOUR = "#e8a33d", "#3d6fb6"
MAX_PAGE_HEIGHT = 60_000  # verovio's largest page: about 3,000 notes of a melody


def piano_roll_png(melody: Melody, primer_notes: int = 0, dpi: int = 110) -> bytes:
    """A PNG piano roll: one bar per note, bar lines, the first ``primer_notes`` notes marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    pitches = [n.pitch for n in melody.notes if n.pitch is not None]
    low, high = (min(pitches), max(pitches)) if pitches else (60, 72)
    total = float(melody.total_duration) or 1.0
    bars = max(1, int(-(-melody.total_duration // melody.bar_length)))
    width = min(40.0, max(6.0, ROLL_INCHES_PER_BAR * bars))
    figure, axes = plt.subplots(figsize=(width, ROLL_HEIGHT_INCHES))
    for index, (onset, note) in enumerate(zip(melody.onsets(), melody.notes)):
        if note.pitch is None:
            continue
        colour = PRIMER_COLOUR if index < primer_notes else NOTE_COLOUR
        axes.broken_barh([(float(onset), float(note.duration) * 0.95)], (note.pitch - 0.4, 0.8),
                         facecolors=colour)
    bar = float(melody.bar_length)
    first_line = float(melody.pickup)  # the first bar line ends a pickup
    for line in range(bars + 1):
        axes.axvline(first_line + line * bar, color="#999999", linewidth=0.8, zorder=0)
    axes.set_xlim(0, max(total, bars * bar))
    axes.set_ylim(low - 1.5, high + 1.5)
    ticks = range(low, high + 1)
    axes.set_yticks(list(ticks), [pitch_name(p, melody.key) for p in ticks], fontsize=7)
    axes.set_xlabel("quarter notes")
    beats, unit = melody.time_signature
    axes.set_title(f"{melody.title or 'melody'} — {len(melody)} notes, {beats}/{unit}"
                   f"{', ' + melody.key if melody.key else ''}", fontsize=9, loc="left")
    if primer_notes:  # above the plot, so it never hides notes
        axes.legend(handles=[Patch(color=PRIMER_COLOUR, label="seed"),
                             Patch(color=NOTE_COLOUR, label="generated")],
                    loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=7,
                    frameon=False, borderaxespad=0.2)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()


def score_svg(melody: Melody) -> str:
    """The melody engraved as notation, as SVG (MusicXML rendered by verovio, offline)."""
    try:
        import verovio
    except ImportError:
        raise DependencyError("engraving needs verovio: pip install verovio") from None
    from melodyrnn.music.scores import music21_stream, musicxml_bytes

    # no metronome mark: its note glyph needs a font that rasterisers may lack
    xml = musicxml_bytes(music21_stream(melody, tempo_mark=False)).decode("utf-8")
    toolkit = verovio.toolkit()
    # xmlIdChecksum: element ids from the input, not random, so the same melody gives the same
    # file. One page as tall as verovio allows (then trimmed): only one page is written.
    toolkit.setOptions({"adjustPageHeight": True, "breaks": "auto", "scale": 45,
                        "pageWidth": 2100, "pageHeight": MAX_PAGE_HEIGHT, "footer": "none",
                        "header": "none", "xmlIdChecksum": True})
    if not toolkit.loadData(xml):
        raise DependencyError("verovio could not read the score")
    if toolkit.getPageCount() > 1:
        raise MelodyError(f"{len(melody)} notes are too many to engrave on one page: "
                          "write .musicxml or .mid instead")
    return toolkit.renderToSVG(1)


def score_png(melody: Melody) -> bytes:
    """The engraved notation as PNG (SVG rasterised with cairosvg)."""
    try:
        import cairosvg
    except (ImportError, OSError) as err:
        raise DependencyError(f"--score PNG needs cairosvg and libcairo2 ({err})") from None
    return cairosvg.svg2png(bytestring=score_svg(melody).encode("utf-8"), background_color="white")
