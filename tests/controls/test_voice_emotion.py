"""Emotion from the voice (ptalker/controls/voice_emotion.py): features, the shipped model, errors.

Clips are espeak-ng sentences and a synthetic tone; the model is the shipped asset.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.controls.voice_emotion import (
    FEATURES,
    MODEL_PATH,
    emotion_from_voice,
    load_emotion_model,
    prosody_features,
)
from ptalker.data.synth.espeak import Voice, synthesize
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import EMOTIONS

TEXT = "Mary bought a warm blue coat for the winter trip."


def tone(seconds: float = 1.5, f0_hz: float = 150.0) -> np.ndarray:
    """(S,) a gliding tone with syllable-like loudness bumps at 4 Hz."""
    t = np.arange(int(seconds * AUDIO_SAMPLE_RATE_HZ)) / AUDIO_SAMPLE_RATE_HZ
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.1 * np.sin(2 * np.pi * t))) / AUDIO_SAMPLE_RATE_HZ
    return (0.3 * np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def test_features_of_a_tone_and_speech():
    features = prosody_features(tone())
    assert features.shape == (len(FEATURES),) and np.all(np.isfinite(features))
    values = dict(zip(FEATURES, features))
    assert values["f0_mean_st"] == pytest.approx(12 * np.log2(150 / 100), abs=0.5)
    assert values["voiced_fraction"] > 0.9
    assert values["syllable_rate_hz"] == pytest.approx(4.0, abs=1.0)
    speech = prosody_features(synthesize(TEXT, Voice(variant="m3")).waveform)
    assert speech.shape == (len(FEATURES),) and np.all(np.isfinite(speech))


def test_shipped_model():
    model = load_emotion_model()
    assert model.labels == list(EMOTIONS) and model.features == list(FEATURES)
    data = json.loads(MODEL_PATH.read_text())
    assert data["corpus"] == "synth_wholeface" and set(data["accuracy"]) == {"train", "val", "test"}
    guess = emotion_from_voice(synthesize(TEXT, Voice(variant="f1")).waveform)
    assert guess.label in EMOTIONS and set(guess.probabilities) == set(EMOTIONS)
    assert sum(guess.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
    assert guess.probabilities[guess.label] == max(guess.probabilities.values())


@pytest.mark.parametrize("variant", ["m3", "f1"])
def test_wide_high_voice_sounds_more_surprised_than_a_flat_low_one(variant):
    lively = emotion_from_voice(synthesize(TEXT, Voice(variant=variant, pitch=85, pitch_range=100)).waveform)
    flat = emotion_from_voice(synthesize(TEXT, Voice(variant=variant, pitch=20, pitch_range=10)).waveform)
    assert lively.probabilities["surprised"] > flat.probabilities["surprised"] + 0.1
    assert flat.probabilities["sad"] > lively.probabilities["sad"] + 0.1


@pytest.mark.parametrize("waveform, rate, match", [
    (tone(), 22050, "sample_rate"),
    (tone(0.2), AUDIO_SAMPLE_RATE_HZ, "too short"),
    (np.zeros(AUDIO_SAMPLE_RATE_HZ, np.float32), AUDIO_SAMPLE_RATE_HZ, "silent"),
    (np.stack([tone(), tone()], 1), AUDIO_SAMPLE_RATE_HZ, "mono"),
    (np.full(AUDIO_SAMPLE_RATE_HZ, np.nan, np.float32), AUDIO_SAMPLE_RATE_HZ, "NaN"),
    (np.random.default_rng(0).normal(0, 0.1, AUDIO_SAMPLE_RATE_HZ).astype(np.float32), AUDIO_SAMPLE_RATE_HZ,
     "voiced"),
])
def test_bad_input(waveform, rate, match):
    with pytest.raises(PtalkerError, match=match):
        emotion_from_voice(waveform, rate)


def test_bad_model_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"labels": ["a"], "features": ["x"], "means": [0], "stds": [1], "weights": [[1]],
                                "bias": [0]}))
    with pytest.raises(PtalkerError, match="model.json"):
        load_emotion_model(path)
