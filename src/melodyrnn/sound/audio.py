"""Audio: render MIDI to samples with FluidSynth or a built-in NumPy synthesiser, write WAV, play.

FluidSynth (the ``fluidsynth`` program and a General MIDI SoundFont) gives real instruments;
when either is missing, ``synth="auto"`` falls back to an additive synthesiser with an
envelope and says so in ``Rendered.notes``. WAV files are written with the stdlib ``wave``
module through ``files.atomic_write``. No torch here; numpy is imported only when used.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.files import atomic_write, regular_file
from melodyrnn.sound.midi import check_audio_length, timeline

SAMPLE_RATE = 44100
DEFAULT_GAIN = 1.0  # FluidSynth's own default (0.2) is quiet; the result is normalised anyway
NORMALISED_PEAK = 0.89  # -1 dBFS: loud, with headroom for 16-bit rounding
TAIL_THRESHOLD = 1e-3  # -60 dB relative to the peak: FluidSynth's release tail below it is cut
TAIL_PAD_SECONDS = 0.05
RELEASE_SECONDS = 0.08  # built-in synth: fade after a note-off
ATTACK_SECONDS = 0.005
FLUIDSYNTH_TIMEOUT_SECONDS = 600
SYNTHS = ("auto", "fluidsynth", "builtin")
SOUNDFONT_CANDIDATES = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),  # Debian/Ubuntu fluid-soundfont-gm
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),  # Fedora, Arch
    Path("/usr/share/soundfonts/default.sf2"),
)
DEFAULT_SOUNDFONT = SOUNDFONT_CANDIDATES[0]
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"
NO_SOUND = ("no sound device available ({why}); render to a file instead: "
            "`melodyrnn render FILE -o out.wav`, then play out.wav with any audio player")


@dataclass(frozen=True)
class Timbre:
    """A built-in instrument: harmonic amplitudes (fundamental first) and an envelope."""

    harmonics: tuple[float, ...]
    sustain: float  # level held while the key is down, relative to the attack peak
    decay_seconds: float  # time constant from the peak towards the sustain level


# General MIDI programs come in families of eight; each family gets one simple timbre.
# The fundamental is always the strongest partial, so the heard pitch is unambiguous.
TIMBRES: dict[int, Timbre] = {
    0: Timbre((1.0, 0.5, 0.3, 0.2, 0.1), 0.25, 0.5),            # piano
    1: Timbre((1.0, 0.1, 0.3, 0.05), 0.0, 0.4),                  # chromatic percussion
    2: Timbre((1.0, 0.7, 0.5, 0.4, 0.3, 0.2), 1.0, 0.1),         # organ
    3: Timbre((1.0, 0.6, 0.4, 0.25, 0.15), 0.15, 0.4),           # guitar
    4: Timbre((1.0, 0.8, 0.3, 0.1), 0.4, 0.3),                   # bass
    5: Timbre((1.0, 0.6, 0.45, 0.35, 0.28, 0.22, 0.18), 0.9, 0.2),  # strings
    7: Timbre((1.0, 0.8, 0.7, 0.5, 0.4, 0.3), 0.85, 0.15),       # brass
    8: Timbre((1.0, 0.05, 0.6, 0.05, 0.4, 0.05, 0.25), 0.9, 0.1),  # reed (odd partials)
    9: Timbre((1.0, 0.2, 0.05), 0.9, 0.1),                       # pipe (flute)
    10: Timbre((1.0, 0.0, 1 / 3, 0.0, 1 / 5, 0.0, 1 / 7), 0.9, 0.1),  # synth lead (square)
}
TIMBRES[6] = TIMBRES[5]  # ensemble
DEFAULT_TIMBRE = Timbre((1.0, 0.4, 0.2), 0.7, 0.2)
PROGRAMS_PER_FAMILY = 8
DRUM_CHANNEL = 9


@dataclass
class Rendered:
    """Rendered audio: float samples in [-1, 1] shaped (frames,) or (frames, channels)."""

    samples: Any
    sample_rate: int
    synth: str
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


# --- choosing a synthesiser ----------------------------------------------------------------

def find_soundfont(soundfont: str | Path | None = None) -> Path | None:
    """The SoundFont to use: the one given (which must exist) or the first system one found."""
    if soundfont is not None:
        path = Path(soundfont).expanduser()
        regular_file(path, "SoundFont file")  # a FIFO would hang FluidSynth
        return path
    return next((p for p in SOUNDFONT_CANDIDATES if p.is_file()), None)


def fluidsynth_program() -> str | None:
    """Path of the ``fluidsynth`` program, or None when it is not installed."""
    return shutil.which("fluidsynth")


def render_midi(midi: Any, soundfont: str | Path | None = None, synth: str = "auto",
                sample_rate: int = SAMPLE_RATE, gain: float = DEFAULT_GAIN,
                source: str = "the melody") -> Rendered:
    """Render a ``mido.MidiFile`` to samples with FluidSynth, the built-in synth, or the best
    available; MelodyError naming ``source`` if it lasts longer than audio may."""
    if synth not in SYNTHS:
        raise MelodyError(f"unknown synth '{synth}': expected one of {', '.join(SYNTHS)}")
    check_audio_length(midi, source)  # before allocating seconds x sample rate samples
    if synth == "builtin":
        return Rendered(synthesize(midi, sample_rate), sample_rate, "builtin")
    program, font = fluidsynth_program(), find_soundfont(soundfont)
    missing = ("the fluidsynth program is not installed" if program is None
               else "no General MIDI SoundFont found (use --soundfont)" if font is None else None)
    if missing and synth == "fluidsynth":
        raise DependencyError(f"cannot render with FluidSynth: {missing}; {INSTALL_HINT}")
    if missing:
        return Rendered(synthesize(midi, sample_rate), sample_rate, "builtin",
                        [f"{missing} ({INSTALL_HINT}); used the built-in synthesiser"])
    assert program is not None and font is not None
    samples = run_fluidsynth(midi, program, font, sample_rate, gain)
    if _has_notes(midi) and not samples.any():
        if synth == "fluidsynth":
            raise MelodyError(f"FluidSynth rendered silence with SoundFont {font}")
        return Rendered(synthesize(midi, sample_rate), sample_rate, "builtin",
                        [f"FluidSynth rendered silence with {font}; used the built-in synthesiser"])
    return Rendered(samples, sample_rate, "fluidsynth")


def _has_notes(midi: Any) -> bool:
    return any(m.type == "note_on" and m.velocity > 0 for track in midi.tracks for m in track)


# --- FluidSynth ----------------------------------------------------------------------------

def run_fluidsynth(midi: Any, program: str, soundfont: Path, sample_rate: int = SAMPLE_RATE,
                   gain: float = DEFAULT_GAIN) -> Any:
    """Render with the FluidSynth program offline; stereo float samples, normalised, tail trimmed."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="melodyrnn-") as folder:
        source, raw = Path(folder) / "in.mid", Path(folder) / "out.raw"
        midi.save(source)
        # Raw little-endian float output: no clipping inside FluidSynth, no WAV parsing here.
        command = [program, "-ni", "-q", "-g", str(gain), "-r", str(sample_rate), "-T", "raw",
                   "-O", "float", "-E", "little", "-F", str(raw), str(soundfont), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=FLUIDSYNTH_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise MelodyError(f"FluidSynth failed: {err}") from None
        if done.returncode != 0 or not raw.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise MelodyError(f"FluidSynth failed (exit {done.returncode}): "
                              f"{detail[-1] if detail else 'no message'}")
        samples = np.fromfile(raw, dtype="<f4").reshape(-1, 2)  # 32 bits: half the memory
    samples = trim_tail(samples, int(midi.length * sample_rate), sample_rate)
    return normalise(samples, in_place=True)


def trim_tail(samples: Any, minimum: int = 0, sample_rate: int = SAMPLE_RATE) -> Any:
    """Cut trailing near-silence (FluidSynth appends seconds of it), keeping ``minimum`` frames."""
    import numpy as np

    frames = samples.reshape(len(samples), -1)
    level = np.abs(frames[:, 0])
    for channel in range(1, frames.shape[1]):  # a channel at a time: no copy of them all
        np.maximum(level, np.abs(frames[:, channel]), out=level)
    if not len(level) or level.max() == 0:
        return samples[:minimum]
    loud = np.flatnonzero(level > level.max() * TAIL_THRESHOLD)
    end = max(minimum, int(loud[-1]) + 1 + int(TAIL_PAD_SECONDS * sample_rate))
    return samples[:end]


def normalise(samples: Any, peak: float = NORMALISED_PEAK, in_place: bool = False) -> Any:
    """Scale samples so that their loudest one reaches ``peak`` (silence stays silence);
    ``in_place`` scales the array given instead of a copy."""
    import numpy as np

    top = max(float(np.max(samples)), -float(np.min(samples))) if len(samples) else 0.0
    if top <= 0:
        return samples
    if in_place:
        samples *= peak / top
        return samples
    return samples * (peak / top)


# --- built-in synthesiser ------------------------------------------------------------------

def timbre_for(program: int) -> Timbre:
    """The built-in timbre for a General MIDI program number (0-127)."""
    return TIMBRES.get(program // PROGRAMS_PER_FAMILY, DEFAULT_TIMBRE)


def note_spans(midi: Any) -> list[tuple[float, float, int, int, int]]:
    """Notes of a MidiFile as (start s, end s, pitch, velocity, program); drums left out."""
    programs = [0] * 16
    open_notes: dict[tuple[int, int], tuple[float, int]] = {}
    spans: list[tuple[float, float, int, int, int]] = []
    for at, message in timeline(midi):
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type in ("note_on", "note_off") and message.channel != DRUM_CHANNEL:
            key = (message.channel, message.note)
            if key in open_notes:  # a note-off, or a repeated note-on that ends the previous one
                start, velocity = open_notes.pop(key)
                spans.append((start, at, message.note, velocity, programs[message.channel]))
            if message.type == "note_on" and message.velocity > 0:
                open_notes[key] = (at, message.velocity)
    end = float(midi.length)
    spans.extend((start, max(end, start), key[1], velocity, programs[key[0]])
                 for key, (start, velocity) in open_notes.items())
    return sorted(spans)


def tone(pitch: int, seconds: float, timbre: Timbre, sample_rate: int = SAMPLE_RATE) -> Any:
    """One note: additive partials under an attack-decay-sustain-release envelope."""
    import numpy as np

    frequency = 440.0 * 2.0 ** ((pitch - 69) / 12)
    held = max(1, round(seconds * sample_rate))
    total = held + round(RELEASE_SECONDS * sample_rate)
    t = np.arange(total) / sample_rate
    wave = np.zeros(total)
    for number, amplitude in enumerate(timbre.harmonics, start=1):
        if amplitude and number * frequency < sample_rate / 2:
            wave += amplitude * np.sin(2 * np.pi * number * frequency * t)
    wave /= sum(timbre.harmonics)
    decay = timbre.sustain + (1 - timbre.sustain) * np.exp(-t / timbre.decay_seconds)
    envelope = np.minimum(1.0, t / ATTACK_SECONDS) * decay
    release_from = envelope[held - 1]
    after = t[held:] - t[held - 1]
    envelope[held:] = release_from * np.maximum(0.0, 1 - after / RELEASE_SECONDS)
    return wave * envelope


def synthesize(midi: Any, sample_rate: int = SAMPLE_RATE) -> Any:
    """Render a MidiFile with the built-in additive synthesiser: mono float samples, normalised."""
    import numpy as np

    spans = note_spans(midi)
    length = max([float(midi.length)] + [end + RELEASE_SECONDS for _, end, *_ in spans])
    out = np.zeros(round(length * sample_rate) + 1)
    for start, end, pitch, velocity, program in spans:
        sound = tone(pitch, end - start, timbre_for(program), sample_rate) * (velocity / 127)
        first = round(start * sample_rate)
        out[first:first + len(sound)] += sound[:len(out) - first]
    return normalise(out)


# --- files and devices ---------------------------------------------------------------------

WAV_BLOCK_FRAMES = 1 << 20


def wav_bytes(samples: Any, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] as the bytes of a 16-bit PCM WAV file."""
    import io
    import wave

    import numpy as np

    frames = np.asarray(samples)
    channels = 1 if frames.ndim == 1 else frames.shape[1]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        # in blocks: ten minutes of stereo would need several copies of itself at once
        for start in range(0, max(len(frames), 1), WAV_BLOCK_FRAMES):
            block = np.asarray(frames[start:start + WAV_BLOCK_FRAMES], dtype=np.float64)
            out.writeframes(np.round(np.clip(block, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def write_wav(samples: Any, path: str | Path, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float samples in [-1, 1] as a 16-bit PCM WAV file, atomically."""
    path = Path(path)
    data = wav_bytes(samples, sample_rate)  # rendered fully before touching the disk
    with atomic_write(path) as file:
        file.write(data)
    return path


def read_wav(path: str | Path) -> tuple[Any, int]:
    """Read a 16-bit PCM WAV file as float samples shaped (frames, channels) and its rate."""
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as file:
        if file.getsampwidth() != 2:
            raise MelodyError(f"{path}: only 16-bit WAV files are supported")
        data = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
        return data.reshape(-1, file.getnchannels()) / 32768.0, file.getframerate()


def render_to_wav(midi: Any, path: str | Path, soundfont: str | Path | None = None,
                  synth: str = "auto", sample_rate: int = SAMPLE_RATE,
                  source: str = "the melody") -> Rendered:
    """Render a MidiFile and write it as WAV; return the rendering (its notes say what happened)."""
    rendered = render_midi(midi, soundfont=soundfont, synth=synth, sample_rate=sample_rate,
                           source=source)
    write_wav(rendered.samples, path, rendered.sample_rate)
    return rendered


def _sounddevice() -> Any:
    """The sounddevice module with a usable default output; DependencyError if there is none."""
    try:
        import sounddevice
    except ImportError:
        raise DependencyError(NO_SOUND.format(
            why="the optional package sounddevice is not installed: pip install sounddevice, "
                "and apt-get install libportaudio2")) from None
    except OSError as err:  # sounddevice imports but cannot load the PortAudio library
        raise DependencyError(NO_SOUND.format(why=f"{err}; apt-get install libportaudio2")) \
            from None
    try:
        sounddevice.query_devices(kind="output")
    except Exception as err:  # PortAudioError or ValueError when no output device exists
        raise DependencyError(NO_SOUND.format(why=f"no output device: {err}")) from None
    return sounddevice


def check_sound_device() -> None:
    """Raise DependencyError, saying how to get sound, unless a sound output device exists."""
    _sounddevice()


def play_samples(samples: Any, sample_rate: int = SAMPLE_RATE) -> None:
    """Play samples on the default sound device and wait until they finish (Ctrl-C stops)."""
    sounddevice = _sounddevice()
    try:
        sounddevice.play(samples.astype("float32"), sample_rate)
        sounddevice.wait()
    except KeyboardInterrupt:
        sounddevice.stop()
        raise
    except Exception as err:
        raise DependencyError(NO_SOUND.format(why=str(err))) from None
