"""The whole-face controls on the stand-in head: each factor moves only its own vertices, reaches
what was asked, and reads back from the motion (ptalker.controls)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.controls.compose import apply_controls, speech_pauses
from ptalker.controls.factors import clip_factors
from ptalker.controls.procedural import POSE_LIMIT_DEG
from ptalker.controls.rig import FaceRig, measure_gaze
from ptalker.controls.spec import check_controls, parse_control_options
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import EMOTIONS
from ptalker.mesh.regions import RegionMasks
from ptalker.metrics.face_measures import blink_times, lid_gap

FPS = 30.0
JAW_JOINT = 2


@pytest.fixture(scope="module")
def rig(standin_model):
    return FaceRig.from_model(standin_model)


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """(S,) 16 kHz noise in 0.4-1.2 s bursts ("phrases") separated by 0.3 s of silence."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(seconds * 16000), np.float32)
    t = 0.2
    while t < seconds:
        length = rng.uniform(0.4, 1.2)
        start, stop = int(t * 16000), int(min(t + length, seconds) * 16000)
        audio[start:stop] = rng.normal(0, 0.1, stop - start) * np.abs(np.sin(np.linspace(0, 9, stop - start)))
        t += length + 0.3
    return audio


def talking(standin_model, seconds: float, seed: int = 0) -> np.ndarray:
    """(T, V, 3) the stand-in opening and closing its jaw and lips, head still."""
    frames = int(seconds * FPS)
    phase = np.arange(frames) / FPS * 2 * np.pi * 3.0
    jaw = torch.zeros(frames, 3)
    jaw[:, 0] = torch.from_numpy(0.1 * (1 + np.sin(phase))).float()
    expression = torch.zeros(frames, len(standin_model.expression_names))
    expression[:, standin_model.expression_names.index("lips_part")] = torch.from_numpy(np.cos(phase)).float()
    with torch.no_grad():
        return standin_model(jaw_pose=jaw, expression=expression).vertices.numpy().astype(np.float64)


def controlled(frames, rig, template, seconds=None, **controls):
    audio = speech_like(seconds or len(frames) / FPS)
    return apply_controls(frames, audio, FPS, check_controls(controls), rig, template)[0].astype(np.float64)


def test_blinks_move_only_the_eyelids_at_the_requested_rate(standin_model, standin_template, standin_sets, rig):
    frames = talking(standin_model, 60.0)
    plain = controlled(frames, rig, standin_template)
    blinked = controlled(frames, rig, standin_template, blink={"rate_per_min": 15})
    masks = RegionMasks.from_flame_masks(standin_model.masks_path).all
    jaw = np.flatnonzero(standin_model.layer.lbs_weights[:, JAW_JOINT].numpy() > 0)
    for ids in (masks["lips"], jaw, rig.rigid):
        assert np.abs(blinked[:, ids] - plain[:, ids]).max() < 1e-6
    moved = np.flatnonzero(np.abs(blinked - plain).max(axis=(0, 2)) > 0)
    assert set(moved) <= set(rig.eyelids) and len(moved) > 0
    count = len(blink_times(lid_gap(blinked, standin_sets), FPS))
    assert abs(count - 15) <= 0.2 * 15, count
    assert len(blink_times(lid_gap(plain, standin_sets), FPS)) == 0


def test_blinks_prefer_phrase_boundaries(standin_template, rig):
    audio = speech_like(60.0, seed=3)
    frames = np.repeat(standin_template[None], int(60 * FPS), 0)
    _, report = apply_controls(frames, audio, FPS, check_controls({"blink": {"rate_per_min": 12}}), rig,
                               standin_template)
    from ptalker.controls import procedural
    from ptalker.metrics.face_measures import audio_envelope

    pauses = speech_pauses(audio_envelope(audio, 16000, FPS, len(frames)), FPS)
    starts = procedural.blink_times(60.0, 12, np.random.default_rng([0, 3]), pauses)
    assert len(starts) == report.blinks
    at_pause = np.mean([any(abs(t - p) < 1e-9 for p, _ in pauses) for t in starts])
    assert at_pause > 0.5, at_pause


def test_gaze_reaches_the_requested_rotation(standin_model, standin_template, rig):
    frames = talking(standin_model, 2.0)
    rng = np.random.default_rng(1)
    request = np.stack([rng.uniform(-20, 20, len(frames)), rng.uniform(-12, 12, len(frames))], 1)
    looked = controlled(frames, rig, standin_template, gaze=request)
    assert np.abs(measure_gaze(looked, standin_template, rig) - request).max() < 0.5
    other = np.setdiff1d(np.arange(frames.shape[1]), np.concatenate(rig.eyeballs))
    assert np.abs(looked[:, other] - frames[:, other]).max() == 0.0
    generated = controlled(frames, rig, standin_template, gaze="generate")
    assert np.abs(measure_gaze(generated, standin_template, rig)).max() <= 20.0 + 0.5


def test_emotion_intensity_zero_is_neutral_and_each_emotion_reads_back(standin_model, standin_template, rig):
    frames = talking(standin_model, 2.0)
    for label in EMOTIONS:
        zero = controlled(frames, rig, standin_template, emotion={"label": label, "intensity": 0.0})
        assert np.array_equal(zero, frames.astype(np.float32).astype(np.float64))
    for label in EMOTIONS[1:]:
        moved = controlled(frames, rig, standin_template, emotion={"label": label, "intensity": 0.7})
        factors = clip_factors(moved, rig, standin_template)
        assert factors.emotion_label == label
        assert factors.emotion[label] == pytest.approx(0.7, abs=0.1)
    assert clip_factors(frames, rig, standin_template).emotion_label == "neutral"


def test_pose_generate_from_clip_and_none(standin_model, standin_template, rig):
    frames = talking(standin_model, 8.0)
    still = controlled(frames, rig, standin_template, pose=None)
    assert np.array_equal(still, frames.astype(np.float32))  # no pose: the head as the lip model left it
    posed = controlled(frames, rig, standin_template, pose="generate")
    rotation = clip_factors(posed, rig, standin_template).rotation
    degrees = np.degrees(np.linalg.norm(rotation, axis=1))
    assert degrees.max() <= POSE_LIMIT_DEG and degrees.max() > 1.0
    acceleration = np.diff(np.degrees(rotation), 2, axis=0) * FPS ** 2
    assert np.abs(acceleration).max() < 2000.0  # deg/s^2: a nod, not a jolt
    copied = controlled(frames, rig, standin_template, pose="from_clip", clip=posed)
    back = clip_factors(copied, rig, standin_template)
    assert np.abs(back.rotation - rotation).max() < 1e-4  # rad; float32 frames
    # swapping the pose source leaves the expression (the head-stabilized face) unchanged
    other = controlled(frames, rig, standin_template, pose={"amount": 2.0})
    from ptalker.mesh.stabilize import remove_head_motion

    face_a = remove_head_motion(posed, standin_template, rig.rigid).aligned
    face_b = remove_head_motion(other, standin_template, rig.rigid).aligned
    face_still = remove_head_motion(still, standin_template, rig.rigid).aligned
    face_ids = np.flatnonzero(rig.head_weights == 1.0)
    assert np.abs(face_a[:, face_ids] - face_b[:, face_ids]).max() < 1e-5  # m; float32 frames
    assert np.abs(face_a[:, face_ids] - face_still[:, face_ids]).max() < 1e-5


def test_factors_do_not_leak_into_each_other(standin_model, standin_template, rig):
    frames = talking(standin_model, 4.0)
    full = {"pose": "generate", "gaze": "generate", "blink": {"rate_per_min": 20},
            "emotion": {"label": "happy", "intensity": 0.8}}
    base = controlled(frames, rig, standin_template, **full)
    for key in ("gaze", "blink", "emotion"):
        without = controlled(frames, rig, standin_template, **{k: v for k, v in full.items() if k != key})
        a, b = clip_factors(base, rig, standin_template), clip_factors(without, rig, standin_template)
        assert np.abs(a.rotation - b.rotation).max() < 1e-4, key


def test_control_errors_are_one_line():
    bad = [{"pose": "wobble"}, {"gaze": np.zeros((4, 3))}, {"blink": 15}, {"blink": {"rate_per_min": -1}},
           {"emotion": {"label": "joy"}}, {"emotion": {"label": "happy", "intensity": float("nan")}},
           {"pose": "from_clip"}, {"colour": 1}, {"pose": np.full((5, 3), np.nan)}, {"seed": -1}]
    for controls in bad:
        with pytest.raises(PtalkerError) as err:
            check_controls(controls)
        assert "\n" not in str(err.value)
    with pytest.raises(PtalkerError, match="--blink"):
        parse_control_options(blink="often")
    assert parse_control_options(emotion="voice:0.5")["emotion"] == {"intensity": 0.5}
    assert parse_control_options(emotion="sad")["emotion"] == {"label": "sad"}
    assert check_controls(parse_control_options(pose="still", gaze="ahead")).active is False


def test_array_lengths_must_match(standin_model, standin_template, rig):
    frames = talking(standin_model, 1.0)
    with pytest.raises(PtalkerError, match="rows given"):
        controlled(frames, rig, standin_template, pose=np.zeros((5, 3)))


def test_the_glb_carries_head_and_eye_motion(standin_model, standin_template, rig, tmp_path):
    from ptalker.export import export_sequence
    from ptalker.export.gltf import read_glb

    frames = talking(standin_model, 4.0)
    moving = controlled(frames, rig, standin_template, pose={"amount": 2.0}, gaze="generate", seed=2)
    assert np.abs(measure_gaze(moving, standin_template, rig)).max() > 1.0  # a saccade within the clip
    export_sequence(moving.astype(np.float32), standin_model.faces, FPS, tmp_path / "clip.glb", "glb")
    back = read_glb(tmp_path / "clip.glb").vertices.astype(np.float64)
    assert np.abs(back - moving).max() < 1e-4  # m: the glb's bound
    read = clip_factors(back, rig, standin_template)
    assert np.abs(read.rotation - clip_factors(moving, rig, standin_template).rotation).max() < 1e-3
    assert np.abs(read.gaze).max() > 1.0
