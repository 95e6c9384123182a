"""Cheaper speech encoders (int8, ONNX Runtime, both) for a trained PTalker (the session's
``tiny_trained``): the same features as float, within each path's precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.pipelines.animator import load_model
from ptalker.pipelines.fast_encoder import ENCODERS, OnnxAudioEncoder, onnx_cache_dir, use_encoder


@pytest.fixture(scope="module")
def audio():
    return (0.1 * np.random.default_rng(0).normal(size=37_000)).astype(np.float32)


def test_paths_match_float(tiny_trained, audio):
    """ONNX equals float to float precision; the int8 paths stay within 10% of the features'
    norm (this tiny model's; what matters, LVE, is in benchmarks/encoder_speed.py)."""
    float_model = load_model(tiny_trained.checkpoint, phones=False).model
    clip = torch.from_numpy(audio)[None]
    with torch.no_grad():
        reference = float_model.audio_encoder(clip, 69)  # (1, T, D)
        for encoder in ENCODERS[1:]:
            model = load_model(tiny_trained.checkpoint, phones=False, encoder=encoder).model
            features = model.audio_encoder(clip, 69)
            error = float((features - reference).norm() / reference.norm())
            limit = 1e-5 if encoder == "onnx" else 0.1
            assert features.shape == reference.shape and error < limit, f"{encoder}: relative error {error:.2e}"


def test_animate_with_each_path(tiny_trained, audio):
    vertices = {encoder: load_model(tiny_trained.checkpoint, phones=False, encoder=encoder).animate(audio).vertices
                for encoder in ENCODERS}
    assert all(v.shape == vertices["float"].shape for v in vertices.values())
    assert np.abs(vertices["onnx"] - vertices["float"]).max() < 1e-5


def test_export_is_cached(tiny_trained):
    first = load_model(tiny_trained.checkpoint, encoder="onnx").model.audio_encoder
    stamp = first.path.stat().st_mtime_ns
    second = load_model(tiny_trained.checkpoint, encoder="onnx").model.audio_encoder
    assert second.path == first.path and first.path.parent == onnx_cache_dir()
    assert second.path.stat().st_mtime_ns == stamp


def test_refusals(tiny_trained):
    with pytest.raises(PtalkerError, match="--encoder fast"):
        load_model(tiny_trained.checkpoint, encoder="fast")
    with pytest.raises(PtalkerError, match="CPU only"):
        load_model(tiny_trained.checkpoint, device="cuda", encoder="int8")
    model = load_model(tiny_trained.checkpoint, encoder="onnx").model
    assert isinstance(model.audio_encoder, OnnxAudioEncoder)
    with pytest.raises(PtalkerError, match="already replaced"):
        use_encoder(model, "int8")
    mask = torch.ones(2, 8000, dtype=torch.bool)
    mask[1, 4000:] = False
    with pytest.raises(PtalkerError, match="audio mask"):
        model.audio_encoder(torch.zeros(2, 8000), 15, mask)
