"""The emotion of a voice, guessed from its prosody.

:func:`prosody_features` measures eight numbers of a clip (:data:`FEATURES`); a multinomial
logistic regression over the standardized numbers (:class:`EmotionModel`, trained on the
whole-face synthetic corpus by :mod:`ptalker.training.voice_emotion` and shipped as
``ptalker/assets/voice_emotion.json``) turns them into probabilities of the five emotions of
:data:`ptalker.flame.expressions.EMOTIONS`.

>>> guess = emotion_from_voice(waveform)          # (S,) float, 16 kHz mono
>>> guess.label, guess.probabilities["happy"]

The model has heard espeak-ng voices only (docs/architecture.md, "Real speech"): on human speech
take its guess as a hint, not a measurement.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "voice_emotion.json"
FRAME_PERIOD_MS = 10.0
"""Hop of the f0 and energy frames."""
HOP = int(AUDIO_SAMPLE_RATE_HZ * FRAME_PERIOD_MS / 1000)
"""160 samples per frame at 16 kHz."""
WINDOW = 400
"""Energy window, 25 ms at 16 kHz, centred on each frame."""
F0_FLOOR_HZ, F0_CEIL_HZ = 40.0, 800.0
"""f0 search range (WORLD's default floor, 71 Hz, misses low sad male voices)."""
REFERENCE_HZ = 100.0
"""f0 in semitones is 12 * log2(f0 / 100 Hz), the same for every speaker."""
SPEECH_RANGE_DB = 35.0
"""A frame is speech when its energy is within this of the clip's loudest frame."""
SILENCE_RMS = 1e-4
"""A clip whose loudest frame has less RMS than this (-80 dBFS) is silent."""
MIN_DURATION_S = 0.5
MIN_VOICED_FRAMES = 10
SYLLABLE_PROMINENCE_DB = 3.0
SYLLABLE_GAP_S = 0.08
SMOOTH_S = 0.02
"""Gaussian sigma of the energy envelope whose peaks count syllables."""
EPS = 1e-10

FEATURES = ("f0_mean_st", "f0_std_st", "f0_range_st", "f0_speed_st_per_s", "voiced_fraction",
            "energy_std_db", "energy_peak_db", "syllable_rate_hz")
"""The prosody features, in this order (each one number per clip):

- f0_mean_st: mean f0 of voiced frames, semitones re REFERENCE_HZ (speaker-independent reference);
- f0_std_st: standard deviation of the voiced frames' f0, semitones;
- f0_range_st: 90th minus 10th percentile of the voiced f0, semitones;
- f0_speed_st_per_s: mean |f0 change| between consecutive voiced frames, semitones per second;
- voiced_fraction: voiced frames / speech frames;
- energy_std_db: standard deviation of the speech frames' RMS energy in dB;
- energy_peak_db: 95th percentile minus mean of the speech frames' energy in dB;
- syllable_rate_hz: peaks of the smoothed energy (SYLLABLE_PROMINENCE_DB prominence, at least
  SYLLABLE_GAP_S apart) per second from the first to the last speech frame.

All but f0_mean_st are independent of the recording's gain and of the speaker's base pitch.
"""


@dataclass
class VoiceEmotion:
    """A guess of a clip's emotion."""

    label: str
    """The most probable emotion."""
    probabilities: dict[str, float]
    """{emotion: probability}, summing to 1."""


def _check_waveform(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """(S,) float64 ``waveform``, or a PtalkerError naming what is wrong with it."""
    if sample_rate != AUDIO_SAMPLE_RATE_HZ:
        raise PtalkerError(f"voice emotion: sample_rate {sample_rate} Hz; resample to {AUDIO_SAMPLE_RATE_HZ} Hz "
                           "first (ptalker.audio.io.resample or load_audio)")
    audio = np.asarray(waveform)
    if audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise PtalkerError(f"voice emotion: waveform of shape {audio.shape} and dtype {audio.dtype}; "
                           "give a mono float array (S,)")
    if not np.all(np.isfinite(audio)):
        raise PtalkerError("voice emotion: the waveform holds NaN or infinite samples; give finite audio")
    if audio.size < MIN_DURATION_S * sample_rate:
        raise PtalkerError(f"voice emotion: {audio.size / sample_rate:.2f} s of audio is too short; give at "
                           f"least {MIN_DURATION_S} s of speech")
    return audio.astype(np.float64)


def frame_energy_db(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RMS per frame (F,) and in dB (F,): WINDOW samples centred every HOP, F = S // HOP + 1
    (the frames of pyworld's f0 at FRAME_PERIOD_MS)."""
    padded = np.pad(audio, WINDOW // 2)
    count = audio.size // HOP + 1
    starts = np.arange(count) * HOP
    frames = padded[starts[:, None] + np.arange(WINDOW)[None]]  # (F, WINDOW)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    return rms, 20.0 * np.log10(rms + EPS)


def f0_hz(audio: np.ndarray) -> np.ndarray:
    """(F,) f0 in Hz per frame (0 = unvoiced), WORLD's dio refined by stonemask."""
    with warnings.catch_warnings():  # pyworld 0.3.5 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        import pyworld
    f0, times = pyworld.dio(audio, AUDIO_SAMPLE_RATE_HZ, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                            frame_period=FRAME_PERIOD_MS)
    return pyworld.stonemask(audio, f0, times, AUDIO_SAMPLE_RATE_HZ)


def _syllable_rate(energy_db: np.ndarray, speech: np.ndarray) -> float:
    """Energy peaks per second over the span of the speech frames (bool (F,))."""
    first, last = np.flatnonzero(speech)[[0, -1]]
    span = energy_db[first:last + 1]
    smooth = gaussian_filter1d(span, sigma=SMOOTH_S * 1000.0 / FRAME_PERIOD_MS)
    peaks, _ = find_peaks(smooth, prominence=SYLLABLE_PROMINENCE_DB,
                          distance=max(1, int(round(SYLLABLE_GAP_S * 1000.0 / FRAME_PERIOD_MS))))
    return len(peaks) / max(span.size * FRAME_PERIOD_MS / 1000.0, FRAME_PERIOD_MS / 1000.0)


def prosody_features(waveform: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE_HZ) -> np.ndarray:
    """(len(FEATURES),) float64 prosody features of a mono clip (S,) at 16 kHz (see FEATURES).

    Raises:
        PtalkerError: wrong sample rate, not a mono float array, too short, silent, no voiced speech.
    """
    audio = _check_waveform(waveform, sample_rate)
    rms, energy_db = frame_energy_db(audio)
    if rms.max() < SILENCE_RMS:
        raise PtalkerError("voice emotion: the waveform is silent (below -80 dBFS); give a clip with speech")
    speech = energy_db > energy_db.max() - SPEECH_RANGE_DB  # (F,)
    f0 = f0_hz(audio)
    count = min(f0.size, speech.size)
    f0, speech, energy_db = f0[:count], speech[:count], energy_db[:count]
    voiced = (f0 > 0) & speech
    if voiced.sum() < MIN_VOICED_FRAMES:
        raise PtalkerError(f"voice emotion: only {int(voiced.sum())} voiced frames of "
                           f"{FRAME_PERIOD_MS:.0f} ms found; give a clip of speech (at least "
                           f"{MIN_VOICED_FRAMES} voiced frames)")
    semitones = 12.0 * np.log2(f0[voiced] / REFERENCE_HZ)
    steps = np.diff(np.where(voiced, 12.0 * np.log2(np.maximum(f0, EPS) / REFERENCE_HZ), np.nan))
    steps = steps[np.isfinite(steps)]  # between consecutive voiced frames only
    speech_db = energy_db[speech]
    low, high = np.percentile(semitones, [10, 90])
    values = {
        "f0_mean_st": semitones.mean(),
        "f0_std_st": semitones.std(),
        "f0_range_st": high - low,
        "f0_speed_st_per_s": np.abs(steps).mean() * 1000.0 / FRAME_PERIOD_MS if steps.size else 0.0,
        "voiced_fraction": voiced.sum() / speech.sum(),
        "energy_std_db": speech_db.std(),
        "energy_peak_db": np.percentile(speech_db, 95) - speech_db.mean(),
        "syllable_rate_hz": _syllable_rate(energy_db, speech),
    }
    return np.array([values[name] for name in FEATURES], np.float64)


@dataclass
class EmotionModel:
    """Multinomial logistic regression over standardized prosody features."""

    labels: list[str]
    features: list[str]
    means: np.ndarray
    """(D,) feature means of the training clips."""
    stds: np.ndarray
    """(D,) feature standard deviations of the training clips."""
    weights: np.ndarray
    """(C, D) one row per label."""
    bias: np.ndarray
    """(C,)"""
    info: dict
    """What it was trained on and how well it did (corpus, accuracy per split, regularisation)."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(N, C) label probabilities of features (N, D) (or (C,) for one clip (D,))."""
        z = (np.asarray(features, np.float64) - self.means) / self.stds
        logits = z @ self.weights.T + self.bias
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)

    def to_json(self) -> dict:
        return {"labels": self.labels, "features": self.features, "means": self.means.tolist(),
                "stds": self.stds.tolist(), "weights": self.weights.tolist(), "bias": self.bias.tolist(),
                **self.info}

    @classmethod
    def from_json(cls, data: dict, source: str) -> "EmotionModel":
        """The model of a JSON mapping (``source`` names the file in errors)."""
        try:
            labels, features = list(data["labels"]), list(data["features"])
            arrays = [np.asarray(data[key], np.float64) for key in ("means", "stds", "weights", "bias")]
        except (KeyError, TypeError, ValueError) as err:
            raise PtalkerError(f"{source}: not a voice-emotion model ({err}); retrain it with "
                               "benchmarks/voice_emotion.py") from None
        means, stds, weights, bias = arrays
        shapes_ok = means.shape == stds.shape == (len(features),) and weights.shape == (len(labels), len(features)) \
            and bias.shape == (len(labels),)
        if features != list(FEATURES) or not shapes_ok or np.any(stds <= 0):
            raise PtalkerError(f"{source}: features or array shapes do not match this ptalker's "
                               f"{len(FEATURES)} prosody features; retrain it with benchmarks/voice_emotion.py")
        info = {k: v for k, v in data.items() if k not in ("labels", "features", "means", "stds", "weights", "bias")}
        return cls(labels, features, means, stds, weights, bias, info)


def load_emotion_model(path: str | os.PathLike = MODEL_PATH) -> EmotionModel:
    """The model at ``path`` (default: the shipped one)."""
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: voice-emotion model not found; make it with python benchmarks/voice_emotion.py")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PtalkerError(f"{path}: not readable JSON ({err}); make it again with "
                           "python benchmarks/voice_emotion.py") from None
    if not isinstance(data, dict):
        raise PtalkerError(f"{path}: expected a JSON mapping; make it again with python benchmarks/voice_emotion.py")
    return EmotionModel.from_json(data, str(path))


@functools.lru_cache(maxsize=1)
def _shipped_model() -> EmotionModel:
    return load_emotion_model(MODEL_PATH)


def emotion_from_voice(waveform: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE_HZ) -> VoiceEmotion:
    """The emotion the shipped model hears in a mono clip ``waveform`` (S,) at 16 kHz.

    Raises:
        PtalkerError: wrong sample rate, not a mono float array, shorter than MIN_DURATION_S,
            silent, no voiced speech.
    """
    model = _shipped_model()
    probabilities = model.probabilities(prosody_features(waveform, sample_rate))  # (C,)
    return VoiceEmotion(model.labels[int(np.argmax(probabilities))],
                        {label: float(p) for label, p in zip(model.labels, probabilities)})
