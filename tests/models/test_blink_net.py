"""The blink model (ptalker.models.blink_net): shapes, errors, and the shipped network
(ptalker.pipelines.blink_moments) reading speech; its quality is in benchmarks/blinks.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.controls.speech_features import FEATURE_DIM, frame_features
from ptalker.errors import PtalkerError
from ptalker.models.blink_net import BlinkNet
from ptalker.pipelines.blink_moments import blink_probability, load_blink_net


def speech_like(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    samples = int(seconds * 16000)
    return (rng.normal(0, 0.1, samples) * np.abs(np.sin(np.linspace(0, 3 * seconds, samples)))).astype(np.float32)


def test_blink_net_shapes_and_bad_features():
    net = BlinkNet(FEATURE_DIM).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 50, FEATURE_DIM)).shape == (2, 50)
    with pytest.raises(PtalkerError, match="expected features"):
        net(torch.randn(1, 10, FEATURE_DIM + 1))


def test_frame_features_are_finite_and_gain_free():
    audio = speech_like(2.0)
    features = frame_features(audio, 30.0, 60)
    assert features.shape == (60, FEATURE_DIM) and np.isfinite(features).all()
    np.testing.assert_allclose(frame_features(audio * 0.1, 30.0, 60), features, atol=1e-3)
    assert frame_features(np.zeros(100, np.float32), 30.0, 3).shape == (3, FEATURE_DIM)


def test_shipped_blink_model_reads_speech():
    probability = blink_probability(speech_like(3.0), 30.0, 90)
    assert probability.shape == (90,) and ((probability >= 0) & (probability <= 1)).all()


def test_a_bad_blink_model_file_is_one_line(tmp_path):
    bad = tmp_path / "blink.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(PtalkerError, match="not a blink model"):
        load_blink_net(bad)
