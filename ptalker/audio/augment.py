"""Training-time audio augmentation, so a model trained on synthesized speech hears real recordings.

Each clip gets, independently and at random: a loudness change, a round trip through a lower
sample rate (telephone to studio bandwidths), room colouring (convolution with a short decaying
noise impulse response), a tilt of the spectrum (cheap or close microphones) and background noise
at a random signal-to-noise ratio. Timing is never changed, so audio and motion stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import fftconvolve, lfilter, resample_poly

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ


@dataclass
class AugmentConfig:
    """Probability and range of each augmentation (probability 0 switches one off)."""

    gain_db: list[float] = field(default_factory=lambda: [-18.0, 6.0])
    resample_p: float = 0.3
    resample_hz: list[int] = field(default_factory=lambda: [8000, 11025, 12000])
    room_p: float = 0.4
    room_decay_s: list[float] = field(default_factory=lambda: [0.05, 0.4])
    tilt_p: float = 0.4
    noise_p: float = 0.5
    snr_db: list[float] = field(default_factory=lambda: [10.0, 40.0])


def augment(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """(S,) float32 at 16 kHz -> (S,) float32, augmented (same length, same timing)."""
    x = audio.astype(np.float64)
    if rng.random() < config.resample_p:
        low = int(rng.choice(config.resample_hz))
        x = resample_poly(resample_poly(x, low, AUDIO_SAMPLE_RATE_HZ), AUDIO_SAMPLE_RATE_HZ, low)[:len(audio)]
        x = np.pad(x, (0, len(audio) - len(x)))
    if rng.random() < config.room_p:
        decay = rng.uniform(*config.room_decay_s)
        n = int(decay * AUDIO_SAMPLE_RATE_HZ)
        response = rng.normal(size=n) * np.exp(-6.9 * np.arange(n) / n)  # -60 dB over ``decay``
        response[0] = 1.0 / max(rng.uniform(0.3, 1.0), 1e-3)  # the direct sound dominates
        x = fftconvolve(x, response / np.abs(response).sum() * 4.0)[:len(audio)]
    if rng.random() < config.tilt_p:
        pole = rng.uniform(-0.7, 0.7)  # < 0 brightens, > 0 darkens
        x = lfilter([1.0 - abs(pole)], [1.0, -pole], x)
    if rng.random() < config.noise_p:
        snr_db = rng.uniform(*config.snr_db)
        noise = np.cumsum(rng.normal(size=len(x))) if rng.random() < 0.5 else rng.normal(size=len(x))
        noise = noise - noise.mean()  # white or brown (rumble) noise
        power = np.mean(x ** 2) + 1e-12
        x = x + noise * np.sqrt(power / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr_db / 10))
    x = x * 10 ** (rng.uniform(*config.gain_db) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32)
