"""Audio loading: mono 16 kHz float32 from any rate and channel count; unusable audio refused."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from ptalker.audio.io import check_waveform, load_audio, resample
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError


def sine(freq_hz: float, rate_hz: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate_hz * seconds))) / rate_hz
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def peak_frequency(audio: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1.0 / rate_hz)[np.argmax(spectrum)])


def test_stereo_44k_to_mono_16k(tmp_path):
    rate, seconds = 44_100, 1.3
    left = sine(440.0, rate, seconds, 0.6)
    right = sine(440.0, rate, seconds, 0.2)  # same tone, different level: the mean is 0.4
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), rate, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    expected_len = len(left) * AUDIO_SAMPLE_RATE_HZ / rate
    assert abs(len(audio) - expected_len) <= 1, f"length {len(audio)}, expected {expected_len:.1f}"
    freq = peak_frequency(audio, AUDIO_SAMPLE_RATE_HZ)
    assert abs(freq - 440.0) <= 2.0, f"peak at {freq} Hz, expected 440 Hz"
    # mono is the channel mean: amplitude 0.4 away from the filter's edge transients
    middle = audio[len(audio) // 4: 3 * len(audio) // 4]
    assert abs(np.max(np.abs(middle)) - 0.4) < 0.01, np.max(np.abs(middle))


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 48_000])
def test_rates(tmp_path, rate):
    tone = sine(300.0, rate, 0.5)
    path = tmp_path / f"mono_{rate}.flac"
    soundfile.write(path, tone, rate)
    audio = load_audio(path)
    expected_len = len(tone) * AUDIO_SAMPLE_RATE_HZ / rate
    assert abs(len(audio) - expected_len) <= 1, f"{rate} Hz: length {len(audio)} vs {expected_len}"
    assert abs(peak_frequency(audio, AUDIO_SAMPLE_RATE_HZ) - 300.0) <= 4.0
    if rate == AUDIO_SAMPLE_RATE_HZ:  # no resampling: the samples come through (16-bit FLAC)
        assert np.max(np.abs(audio - tone)) < 1e-4


def test_target_rate(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, sine(1000.0, 16_000, 1.0), 16_000)
    audio = load_audio(path, target_rate_hz=8_000)
    assert abs(len(audio) - 8_000) <= 1
    assert abs(peak_frequency(audio, 8_000) - 1000.0) <= 2.0


def test_resample_matches_reference():
    """Against a naive reference: a band-limited sine sampled directly at the target rate."""
    rate, target = 48_000, 16_000
    audio = resample(sine(200.0, rate, 1.0), rate, target)
    reference = sine(200.0, target, 1.0)
    assert audio.dtype == np.float32 and audio.shape == reference.shape
    middle = slice(1000, -1000)  # skip the filter's edge transients
    diff = np.abs(audio[middle] - reference[middle])
    assert diff.max() < 1e-3, f"max difference {diff.max():.3g} at sample {1000 + int(np.argmax(diff))}"


def test_resample_same_rate_is_identity():
    audio = np.linspace(-1, 1, 11)
    out = resample(audio, 16_000, 16_000)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, audio.astype(np.float32))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 1), dtype=np.float32), 16_000)
    with pytest.raises(PtalkerError, match="empty.wav.*empty"):
        load_audio(path)


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_silent_file(tmp_path, subtype):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(16_000, dtype=np.float32), 16_000, subtype=subtype)
    with pytest.raises(PtalkerError, match="silent.wav.*silent"):
        load_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_float_wav(tmp_path, bad):
    tone = sine(440.0, 16_000, 0.5)
    tone[100] = bad
    path = tmp_path / "nan.wav"
    soundfile.write(path, tone, 16_000, subtype="FLOAT")
    with pytest.raises(PtalkerError, match="nan.wav.*NaN or infinite"):
        load_audio(path)


def test_non_finite_survives_resampling(tmp_path):
    tone = sine(440.0, 44_100, 0.5)
    tone[5000] = np.nan
    path = tmp_path / "nan44.wav"
    soundfile.write(path, tone, 44_100, subtype="FLOAT")
    with pytest.raises(PtalkerError, match="nan44.wav"):
        load_audio(path)


@pytest.mark.parametrize("content", [b"", b"this is not audio\n" * 20, b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_not_audio(tmp_path, content):
    path = tmp_path / "speech.wav"
    path.write_bytes(content)
    with pytest.raises(PtalkerError) as info:
        load_audio(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(PtalkerError, match="missing.wav.*not found"):
        load_audio(tmp_path / "missing.wav")


def test_check_waveform():
    audio = check_waveform(np.array([0.0, 0.5, -0.5]), "x")
    assert audio.dtype == np.float32
    for bad, match in ((np.zeros(0), "empty"), (np.zeros(10), "silent"), (np.full(10, 1e-7), "silent"),
                       (np.array([0.1, np.nan]), "NaN"), (np.ones((2, 5)), r"\(S,\)")):
        with pytest.raises(PtalkerError, match=f"src.wav: .*{match}"):
            check_waveform(bad, "src.wav")
