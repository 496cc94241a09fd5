"""Audio rendering checked by analysis: FFT pitch of every note and spectral-flux onsets."""

from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from melodyrnn.cli.sound import render as render_command
from melodyrnn.errors import DependencyError, MelodyError
from melodyrnn.music.melody import Melody, Note
from melodyrnn.music.notation import format_melody, parse_tokens
from melodyrnn.music.writers import midi_file
from melodyrnn.sound import audio
from melodyrnn.sound.midi import load_midi

PITCH_TOLERANCE = 0.01  # relative: A4 = 440 Hz within 1 %
ONSET_TOLERANCE_SECONDS = 0.02
FFT_SIZE = 1 << 19  # zero padding for a fine frequency grid (0.08 Hz at 44.1 kHz)
MAX_HARMONIC = 4  # the strongest peak may be up to the 4th harmonic
HARMONIC_SEARCH = 0.015  # relative width around a sub-multiple where its peak is sought
SUBHARMONIC_LEVEL = 0.3  # a sub-multiple peak this strong relative to the strongest is real
FLUX_WINDOW, FLUX_HOP = 1024, 128
FLUX_THRESHOLD = 0.2  # of the strongest onset
MIN_ONSET_GAP_SECONDS = 0.06
# Only a missing program skips: with fluidsynth but no SoundFont the tests fail, loudly.
needs_fluidsynth = pytest.mark.skipif(
    audio.fluidsynth_program() is None,
    reason="the `fluidsynth` program is not installed "
           "(apt-get install fluidsynth fluid-soundfont-gm)")

# A4 first, a rest, dotted and long notes, a repeated pitch, notes down to A3.
KNOWN = parse_tokens("a4 c'8 e'8 a'4 r4 g4. f8 e8 e8 d4 c4 a,4 b,2")


def frequency(pitch: int) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def mono(samples: np.ndarray) -> np.ndarray:
    return samples if samples.ndim == 1 else samples.mean(axis=1)


def expected_notes(melody: Melody, bpm: float) -> list[tuple[float, float, int]]:
    """(start s, end s, pitch) of each sounding note."""
    beat = 60 / bpm
    return [(float(t) * beat, float(t + n.duration) * beat, n.pitch)
            for t, n in zip(melody.onsets(), melody.notes) if n.pitch is not None]


def fundamental(x: np.ndarray, rate: int, start: float, end: float) -> float:
    """Fundamental frequency (50 Hz - 5 kHz) of a stretch of samples.

    The strongest spectral peak may be a harmonic (a square wave's third is strong), so the
    lowest sub-multiple of it that still holds a clear peak is taken as the fundamental.
    """
    stretch = x[int(start * rate):int(end * rate)]
    spectrum = np.abs(np.fft.rfft(stretch * np.hanning(len(stretch)), FFT_SIZE))
    freqs = np.fft.rfftfreq(FFT_SIZE, 1 / rate)
    spectrum[(freqs < 50) | (freqs > 5000)] = 0
    strongest = int(np.argmax(spectrum))
    k = strongest
    for divisor in range(MAX_HARMONIC, 1, -1):
        centre = strongest / divisor
        low, high = int(centre * (1 - HARMONIC_SEARCH)), int(centre * (1 + HARMONIC_SEARCH)) + 1
        candidate = low + int(np.argmax(spectrum[low:high]))
        if spectrum[candidate] >= SUBHARMONIC_LEVEL * spectrum[strongest]:
            k = candidate
            break
    a, b, c = spectrum[k - 1], spectrum[k], spectrum[k + 1]
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / FFT_SIZE


def onsets(x: np.ndarray, rate: int) -> list[float]:
    """Onset times found blind: peaks of positive spectral flux, timed at the window centre."""
    padded = np.concatenate([np.zeros(FLUX_WINDOW), x])
    frames = np.lib.stride_tricks.sliding_window_view(padded, FLUX_WINDOW)[::FLUX_HOP]
    magnitude = np.log1p(np.abs(np.fft.rfft(frames * np.hanning(FLUX_WINDOW), axis=1)))
    flux = np.maximum(0, np.diff(magnitude, axis=0)).sum(axis=1)
    flux /= flux.max()
    times = (np.arange(1, len(magnitude)) * FLUX_HOP - FLUX_WINDOW / 2) / rate
    peaks: list[tuple[float, float]] = []
    for i in range(1, len(flux) - 1):
        if flux[i] >= FLUX_THRESHOLD and flux[i] >= flux[i - 1] and flux[i] > flux[i + 1]:
            if peaks and times[i] - peaks[-1][0] < MIN_ONSET_GAP_SECONDS:
                if flux[i] > peaks[-1][1]:
                    peaks[-1] = (times[i], flux[i])
                continue
            peaks.append((times[i], flux[i]))
    return [t for t, _ in peaks]


def check_rendering(samples: np.ndarray, rate: int, melody: Melody, bpm: float) -> None:
    """Every note's fundamental within 1 % of its pitch; onsets where the durations say."""
    x = mono(samples)
    notes = expected_notes(melody, bpm)
    found = [fundamental(x, rate, start + 0.03, end - 0.02) for start, end, _ in notes]
    wanted = [frequency(pitch) for *_, pitch in notes]
    report = [f"{w:.1f}->{f:.1f}" for w, f in zip(wanted, found)]
    assert all(abs(f / w - 1) < PITCH_TOLERANCE for f, w in zip(found, wanted)), report
    detected = onsets(x, rate)
    starts = [start for start, *_ in notes]
    assert len(detected) == len(starts), (np.round(detected, 3), starts)
    assert np.max(np.abs(np.array(detected) - starts)) < ONSET_TOLERANCE_SECONDS, \
        (np.round(detected, 3), starts)


@needs_fluidsynth
def test_fluidsynth_rendering_has_right_pitches_and_onsets() -> None:
    bpm = 150  # not the melody's 120: the override must reach FluidSynth
    rendered = audio.render_midi(load_midi(KNOWN, bpm=bpm), synth="fluidsynth")
    assert rendered.synth == "fluidsynth" and rendered.notes == []
    assert rendered.samples.shape[1] == 2
    check_rendering(rendered.samples, rendered.sample_rate, KNOWN, bpm)
    # The release tail is trimmed: no more than a couple of seconds after the last note.
    assert rendered.seconds < float(KNOWN.total_duration) * 60 / bpm + 2.5


@pytest.mark.parametrize("program", [0, 19, 73, 80])
def test_builtin_rendering_has_right_pitches_and_onsets(program: int) -> None:
    rendered = audio.render_midi(load_midi(KNOWN, program=program), synth="builtin")
    assert rendered.synth == "builtin"
    check_rendering(rendered.samples, rendered.sample_rate, KNOWN, KNOWN.tempo)


def test_builtin_respects_bpm_and_program() -> None:
    slow = audio.synthesize(midi_file(KNOWN, tempo=60))
    fast = audio.synthesize(midi_file(KNOWN, tempo=240))
    assert len(slow) / len(fast) == pytest.approx(4, rel=0.02)
    check_rendering(fast, audio.SAMPLE_RATE, KNOWN, 240)
    a4 = Melody((Note(69, Fraction(2)),))

    def third_harmonic_ratio(program: int) -> float:
        x = audio.synthesize(midi_file(a4, program=program))[:audio.SAMPLE_RATE]
        spectrum = np.abs(np.fft.rfft(x))  # 1 Hz bins
        return spectrum[1320] / spectrum[440]

    assert third_harmonic_ratio(80) > 3 * third_harmonic_ratio(73)  # square lead vs flute


@needs_fluidsynth
def test_fluidsynth_respects_program() -> None:
    a4 = Melody((Note(69, Fraction(2)),))
    piano = audio.render_midi(midi_file(a4, program=0), synth="fluidsynth").samples
    flute = audio.render_midi(midi_file(a4, program=73), synth="fluidsynth").samples
    n = min(len(piano), len(flute))
    assert not np.allclose(piano[:n], flute[:n], atol=0.05)
    for samples in (piano, flute):
        assert abs(fundamental(mono(samples), audio.SAMPLE_RATE, 0.1, 0.9) / 440 - 1) < 0.01


def test_auto_falls_back_and_says_so(monkeypatch) -> None:
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    rendered = audio.render_midi(midi_file(KNOWN), synth="auto")
    assert rendered.synth == "builtin"
    assert "fluidsynth program is not installed" in rendered.notes[0]
    assert "built-in synthesiser" in rendered.notes[0]
    with pytest.raises(DependencyError, match="apt-get install fluidsynth"):
        audio.render_midi(midi_file(KNOWN), synth="fluidsynth")


def test_auto_falls_back_without_soundfont(monkeypatch) -> None:
    monkeypatch.setattr(audio, "SOUNDFONT_CANDIDATES", ())
    monkeypatch.setattr(audio.shutil, "which", lambda name: "/usr/bin/fluidsynth")
    rendered = audio.render_midi(midi_file(KNOWN))
    assert rendered.synth == "builtin" and "SoundFont" in rendered.notes[0]


def test_missing_soundfont_file_is_an_error(tmp_path) -> None:
    with pytest.raises(MelodyError, match="no such SoundFont"):
        audio.render_midi(midi_file(KNOWN), soundfont=tmp_path / "none.sf2")
    with pytest.raises(MelodyError, match="unknown synth"):
        audio.render_midi(midi_file(KNOWN), synth="moog")


def test_wav_round_trip(tmp_path) -> None:
    samples = audio.synthesize(midi_file(KNOWN))
    path = audio.write_wav(samples, tmp_path / "a.wav")
    back, rate = audio.read_wav(path)
    assert rate == audio.SAMPLE_RATE and back.shape == (len(samples), 1)
    assert np.max(np.abs(back[:, 0] - samples)) < 1e-4
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_sound_device_missing_says_how_to_get_sound(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(DependencyError, match=r"melodyrnn render FILE -o out.wav"):
        audio.check_sound_device()


@pytest.mark.parametrize(("synth", "program"), [
    ("builtin", 80), pytest.param("fluidsynth", 0, marks=needs_fluidsynth)])
def test_cli_render(tmp_path, synth: str, program: int) -> None:
    song = tmp_path / "song.txt"
    song.write_text(format_melody(KNOWN))
    out = tmp_path / "song.wav"
    # FluidSynth plays the piano here: FluidR3's soft-attack instruments with vibrato (flute,
    # violin, trumpet) defeat blind onset and pitch analysis whatever the renderer's timing.
    result = CliRunner().invoke(render_command, [str(song), "-o", str(out), "--synth", synth,
                                                 "--program", str(program)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and synth in result.output
    samples, rate = audio.read_wav(out)
    check_rendering(samples, rate, KNOWN, KNOWN.tempo)


def test_cli_render_fallback_note_and_errors(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    song = tmp_path / "song.txt"
    song.write_text("a4 b4\n")
    out = tmp_path / "out.wav"
    runner = CliRunner()
    result = runner.invoke(render_command, [str(song), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: the fluidsynth program is not installed" in result.output
    assert out.is_file()
    result = runner.invoke(render_command, [str(song), "-o", str(out), "--synth", "fluidsynth"])
    assert result.exit_code == 1 and "Error: cannot render with FluidSynth" in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text("a4 q4\n")
    result = runner.invoke(render_command, [str(bad), "-o", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad.txt:1:4" in result.output



class FakeSoundDevice:
    """Stands in for the sounddevice module: one output device, records what it plays."""

    def __init__(self) -> None:
        self.played: list[tuple[np.ndarray, int]] = []
        self.waited = False

    def query_devices(self, kind: str | None = None) -> dict:
        return {"name": "fake output", "max_output_channels": 2}

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.played.append((samples, rate))

    def wait(self) -> None:
        self.waited = True

    def stop(self) -> None:
        pass


def test_play_through_sound_device_when_one_exists(monkeypatch) -> None:
    from melodyrnn.sound.playback import play

    device = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", device)
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)  # builtin synth: fast
    result = play(KNOWN, bpm=240)
    (samples, rate), = device.played
    assert device.waited and rate == audio.SAMPLE_RATE
    assert result.target == "sound device (builtin)"
    check_rendering(samples, rate, KNOWN, 240)


def test_a_piece_of_too_many_notes_is_refused_before_any_synthesiser_runs(tmp_path) -> None:
    import mido

    from melodyrnn.sound.midi import MAX_AUDIO_NOTES

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for i in range(MAX_AUDIO_NOTES + 1):  # one-tick notes: a few seconds, many notes
        track.append(mido.Message("note_on", note=60 + i % 12, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60 + i % 12, velocity=0, time=1))
    path = tmp_path / "dense.mid"
    midi.save(path)
    result = CliRunner().invoke(render_command, [str(path), "-o", str(tmp_path / "d.wav")])
    assert result.exit_code == 1
    assert f"{MAX_AUDIO_NOTES + 1:,} notes: rendering audio is limited to" in result.output
    assert not (tmp_path / "d.wav").exists()


def test_long_audio_is_written_in_blocks_with_the_same_bytes() -> None:
    rng = np.random.default_rng(0)
    samples = rng.uniform(-1.2, 1.2, size=(audio.WAV_BLOCK_FRAMES * 2 + 17, 2)).astype("float32")
    whole = np.round(np.clip(samples.astype(np.float64), -1, 1) * 32767).astype("<i2").tobytes()
    assert audio.wav_bytes(samples).endswith(whole)


@pytest.mark.parametrize("spelling", ["-o", "--out", "--output"])
def test_cli_render_takes_the_output_option_train_and_generate_take(tmp_path, spelling) -> None:
    song = tmp_path / "song.txt"
    song.write_text("a4 b4\n")
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(render_command, [str(song), spelling, str(out),
                                                 "--synth", "builtin"])
    assert result.exit_code == 0, result.output
    assert audio.read_wav(out)[0].size > 0
