"""``ptalker export-model --format onnx``: the ONNX graph of a PTalker (the session's
``tiny_trained``) run by ONNX Runtime gives the offsets torch gives, for clips of any length."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.pipelines.animator import load_model
from ptalker.pipelines.fast_encoder import onnx_session
from ptalker.pipelines.onnx_export import export_model

TOLERANCE = 1e-4
"""Largest |ONNX Runtime - torch| offset allowed, in mesh units."""
CLIP_SAMPLES = (14_400, 38_517, 80_003)
"""0.9 s, 2.4 s (with a remainder: the graph cuts the audio to the frames' span) and 5 s."""


@pytest.fixture(scope="module")
def exported(tiny_trained, tmp_path_factory):
    return export_model(tmp_path_factory.mktemp("onnx") / "talker.onnx", tiny_trained.checkpoint)


def test_files_and_sidecar(exported, tiny_trained):
    animator = load_model(tiny_trained.checkpoint, phones=False)
    side = json.loads(exported.sidecar.read_text())
    assert exported.model.is_file() and side["model"] == exported.model.name
    assert [entry["name"] for entry in side["inputs"]] == ["audio", "style"]
    output = side["outputs"][0]
    assert output["name"] == "offsets" and output["shape"][2:] == [animator.model.num_vertices, 3]
    assert side["fps"] == animator.fps and side["sample_rate_hz"] == 16000
    assert set(side["styles"]) == {"neutral", *animator.speakers} and side["speakers"] == animator.speakers
    np.testing.assert_array_equal(np.load(exported.sidecar.parent / side["template"]), animator.topology.template)
    np.testing.assert_array_equal(np.load(exported.sidecar.parent / side["faces"]), animator.topology.faces)
    assert exported.max_abs_diff is not None and exported.max_abs_diff < TOLERANCE


def test_onnx_equals_torch(exported, tiny_trained):
    """Three lengths, the neutral style and a training speaker's: ONNX Runtime's offsets within
    1e-4 of Animator.animate's (one window: clips up to 10 s)."""
    animator = load_model(tiny_trained.checkpoint, phones=False)
    side = json.loads(exported.sidecar.read_text())
    session = onnx_session(exported.model)
    rng = np.random.default_rng(0)
    for samples in CLIP_SAMPLES:
        audio = (0.1 * rng.normal(size=samples)).astype(np.float32)
        for name in ("neutral", animator.speakers[0]):
            style = np.asarray(side["styles"][name], np.float32)[None]
            ours = session.run(None, {"audio": audio[None], "style": style})[0][0]  # (T, V, 3)
            theirs = animator.animate(audio, None if name == "neutral" else name).vertices - animator.topology.template
            assert ours.shape == theirs.shape == (int(round(samples / 16000 * animator.fps)),
                                                  animator.model.num_vertices, 3)
            error = np.abs(ours - theirs)
            where = np.unravel_index(error.argmax(), error.shape)
            assert error.max() < TOLERANCE, f"{samples} samples, style {name}: max diff {error.max():.2e} at {where}"


def test_frame_count_rounds_as_python(exported):
    """2400 samples at 30 fps are 4.5 frames, 12000 are 22.5: round half to even gives 4 and 22,
    as the Animator does."""
    session = onnx_session(exported.model)
    side = json.loads(exported.sidecar.read_text())
    style = np.asarray(side["styles"]["neutral"], np.float32)[None]
    for samples, frames in ((2400, 4), (800, 2), (12_000, 22)):
        audio = np.random.default_rng(samples).normal(size=(1, samples)).astype(np.float32)
        assert session.run(None, {"audio": audio, "style": style})[0].shape[1] == frames


def test_opset_15(tmp_path, tiny_trained):
    """Opset 15 (older Unity Sentis) spells LayerNormalization out; the same offsets."""
    export = export_model(tmp_path / "talker15.onnx", tiny_trained.checkpoint, opset=15)
    assert json.loads(export.sidecar.read_text())["opset"] == 15
    assert export.max_abs_diff < TOLERANCE


def test_bad_requests(tmp_path, tiny_trained):
    with pytest.raises(PtalkerError, match="--format"):
        export_model(tmp_path / "a.onnx", tiny_trained.checkpoint, fmt="tflite")
    with pytest.raises(PtalkerError, match=".onnx"):
        export_model(tmp_path / "a.bin", tiny_trained.checkpoint)
    with pytest.raises(PtalkerError, match="--opset"):
        export_model(tmp_path / "a.onnx", tiny_trained.checkpoint, opset=9)
