"""Audio augmentation: same length and timing, deterministic per seed, each part switchable."""

from __future__ import annotations

import dataclasses

import numpy as np

from ptalker.audio.augment import AugmentConfig, augment


def tone() -> np.ndarray:
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 0.5)).astype(np.float32)  # silence, then a tone


def test_shape_determinism_and_change():
    audio = tone()
    a = augment(audio, np.random.default_rng(1), AugmentConfig())
    b = augment(audio, np.random.default_rng(1), AugmentConfig())
    assert a.shape == audio.shape and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, augment(audio, np.random.default_rng(2), AugmentConfig()))


def test_only_gain_when_the_rest_is_off():
    off = AugmentConfig(gain_db=[-6.0, -6.0], resample_p=0.0, room_p=0.0, tilt_p=0.0, noise_p=0.0)
    out = augment(tone(), np.random.default_rng(0), off)
    np.testing.assert_allclose(out, tone() * 10 ** (-6 / 20), atol=1e-6)


def test_timing_is_kept():
    """The tone still starts at 0.5 s whatever is applied (no delay from filters or resampling)."""
    every = AugmentConfig(resample_p=1.0, room_p=1.0, tilt_p=1.0, noise_p=1.0, snr_db=[40.0, 40.0])
    for seed in range(5):
        out = augment(tone(), np.random.default_rng(seed), every)
        onset = np.flatnonzero(np.abs(out) > 0.5 * np.abs(out).max())[0] / 16000
        assert 0.49 < onset < 0.53, (seed, onset)


def test_noise_level_follows_snr():
    noisy = dataclasses.replace(AugmentConfig(), gain_db=[0.0, 0.0], resample_p=0.0, room_p=0.0, tilt_p=0.0,
                                noise_p=1.0, snr_db=[10.0, 10.0])
    audio = tone()
    out = augment(audio, np.random.default_rng(0), noisy)
    snr = 10 * np.log10(np.mean(audio.astype(float) ** 2) / np.mean((out - audio).astype(float) ** 2))
    assert abs(snr - 10.0) < 0.5
