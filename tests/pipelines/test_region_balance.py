"""Per-region balance of audio and style in the flow sampler (issue 18): upper-face style 0 is the
null style there and leaves the mouth alone; the mouth's audio weight raises lip sync; the region
blend weights are a partition of unity with exact zeros far from a region; bad weights are clear
errors."""

from __future__ import annotations

import numpy as np
import pytest

from ptalker.audio.io import load_audio
from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.region_blend import region_blend_weights
from ptalker.metrics.face_measures import envelope_correlations, lip_gap
from ptalker.pipelines.animator import ASSETS_DIR, FLOW_CHECKPOINT, load_model
from ptalker.pipelines.region_balance import RegionBalance, check_region_weights, parse_region_options

SAMPLE = ASSETS_DIR / "demo" / "sample.wav"


@pytest.fixture(scope="module")
def animator():
    return load_model(FLOW_CHECKPOINT, phones=False)


@pytest.fixture(scope="module")
def speech():
    return load_audio(SAMPLE)


def test_upper_style_zero_is_the_null_style_there_and_leaves_the_mouth(animator, speech):
    styled = animator.animate(speech, "S01").vertices
    null = animator.animate(speech).vertices
    balanced = animator.animate(speech, "S01", region_weights={"upper": {"style": 0.0}}).vertices
    mouth, upper = animator.region_blend[0] == 1, animator.region_blend[1] == 1
    assert np.abs(balanced[:, upper] - null[:, upper]).max() < 1e-4
    assert np.abs(styled[:, upper] - null[:, upper]).max() > 1e-4  # the style does move the upper face
    assert np.array_equal(balanced[:, mouth], styled[:, mouth])


def test_mouth_audio_weight_raises_lip_sync(animator, speech):
    sets = FaceSets.from_masks(animator.topology.masks.all, "stand-in")
    template = animator.topology.template

    def sync(weight: float) -> float:
        vertices = animator.animate(speech, "S01", region_weights={"mouth": {"audio": weight}}).vertices
        _, corr = envelope_correlations(speech, 16000, lip_gap(vertices, sets, template), animator.fps, 0.1)
        return float(np.nanmax(corr))

    scores = [sync(weight) for weight in (0.5, 1.0, 1.5, 2.0)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_region_blend_weights_partition_the_mesh(animator):
    masks = animator.topology.masks
    blend = region_blend_weights(animator.topology.template, masks)
    assert blend.shape == (3, len(animator.topology.template)) and blend.min() >= 0
    assert np.allclose(blend.sum(axis=0), 1.0, atol=1e-6)
    assert (blend[0, masks.all["mouth"]] == 1).all() and (blend[1, masks.upper_face] == 1).all()
    far = masks.all["scalp"]
    assert (blend[0, far] == 0).all() and (blend[2, masks.all["neck"]] == 1).all()
    jaw = np.zeros(blend.shape[1])
    jaw[masks.all["neck"][:5]] = 1.0  # vertices skinned to the jaw join the mouth
    assert (region_blend_weights(animator.topology.template, masks, jaw)[0, masks.all["neck"][:5]] == 1).all()
    with pytest.raises(PtalkerError, match="jaw_weights: expected"):
        region_blend_weights(animator.topology.template, masks, jaw[:10])


def test_region_weights_are_checked():
    balance = check_region_weights({"jaw": {"audio": 1.2}, "brows": {"style": 0}})
    assert balance["mouth"] == RegionBalance(1.2, 1.0) and balance["upper"] == RegionBalance(1.0, 0.0)
    assert parse_region_options(["mouth:audio=1.2,style=0.5", "upper:style=0"]) == {
        "mouth": {"audio": 1.2, "style": 0.5}, "upper": {"style": 0.0}}
    for weights, message in (({"nose": {"audio": 1}}, "unknown region 'nose'"),
                             ({"mouth": {"volume": 1}}, "unknown key 'volume'"),
                             ({"mouth": {"audio": -1}}, "expected a finite number >= 0, got -1"),
                             ({"mouth": {"audio": float("nan")}}, "expected a finite number >= 0"),
                             ({"mouth": 1.2}, "expected a dict")):
        with pytest.raises(PtalkerError, match=message):
            check_region_weights(weights)
    for option, message in (("mouth", "expected REGION:audio=A,style=S"), ("mouth:speed=2", "got 'speed=2'"),
                            ("mouth:audio=x", "got 'x'")):
        with pytest.raises(PtalkerError, match=message):
            parse_region_options([option])


def test_region_weights_need_the_flow_sampler(animator, speech):
    with pytest.raises(PtalkerError, match="region weights: balance the flow sampler's runs"):
        animator.animate(speech[:16000], sampler="decoder", region_weights={"mouth": {"audio": 2}})
