"""Face measures on stand-in sequences with known lip gaps, blinks, audio lag and styles (head
motion removed). The face sets and the head-motion fit themselves: tests/mesh/test_face_sets.py."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_allclose, axis_x, pose
from scipy.ndimage import gaussian_filter1d

from ptalker.errors import PtalkerError
from ptalker.metrics.face_measures import (
    StyleStatistics,
    audio_envelope,
    audio_motion_lag,
    blink_times,
    lid_gap,
    lip_gap,
    style_statistics,
)

MM = 1e-3
FPS = 30.0
FRAMES = 120
SAMPLE_RATE = 16_000


def smooth_noise(rng, size: int, sigma: float) -> np.ndarray:
    """(size,) smooth random signal with unit std."""
    signal = gaussian_filter1d(rng.standard_normal(size), sigma)
    return (signal - signal.mean()) / signal.std()


# lip and lid gaps ----------------------------------------------------------------------------

def test_lip_gap(standin_model, standin_sets):
    jaw = pose(standin_model, jaw_pose=axis_x([0.0, 0.05, 0.1, 0.2]))
    gaps = lip_gap(jaw, standin_sets)
    assert abs(gaps[0]) < 1e-6, f"closed lips at rest: {gaps[0]}"
    assert np.all(np.diff(gaps) > 1 * MM), f"the jaw should part the lips: {gaps}"
    assert 7 * MM < gaps[2] < 11 * MM, f"0.1 rad of jaw should give about 9 mm: {gaps[2]}"
    part = lip_gap(pose(standin_model, expression={"lips_part": np.array([-1.0, -0.5, 0, 0.5, 1.0])}), standin_sets)
    assert np.all(np.diff(part) > 1 * MM), f"lips_part should open the lips: {part}"
    assert part[0] < -1 * MM and abs(part[2]) < 1e-6
    press = lip_gap(pose(standin_model, expression={"lip_press": np.array([0.0, 0.5, 1.0])}), standin_sets)
    assert np.all(np.diff(press) < -0.5 * MM), f"lip_press should push the gap below 0: {press}"


def test_lip_gap_with_template(standin_model, standin_template, standin_sets):
    jaw = axis_x([0.0, 0.1, 0.2])
    neck = np.array([[0.3, 0.0, 0.0], [-0.2, 0.4, 0.1], [0.0, 0.0, 0.5]])
    still = lip_gap(pose(standin_model, jaw_pose=jaw), standin_sets)
    moved = pose(standin_model, jaw_pose=jaw, neck_pose=neck)
    assert_allclose(lip_gap(moved, standin_sets, template=standin_template), still, 1e-6,
                    "lip gap, head motion removed")
    assert np.abs(lip_gap(moved, standin_sets) - still).max() > 1 * MM, "the raw gap should be off"


def test_lid_gap(standin_model, standin_sets):
    shut = pose(standin_model, expression={"blink_left": np.array([0.0, 1.0, 0.0]),
                                           "blink_right": np.array([0.0, 0.0, 1.0])})
    gaps = lid_gap(shut, standin_sets)  # (3, 2)
    assert gaps.shape == (3, 2)
    assert gaps[0, 0] > 3 * MM and abs(gaps[0, 0] - gaps[0, 1]) < 1e-6, f"open, symmetric: {gaps[0]}"
    assert abs(gaps[1, 0]) < 0.2 * MM and abs(gaps[1, 1] - gaps[0, 1]) < 1e-6, f"left blink: {gaps[1]}"
    assert abs(gaps[2, 1]) < 0.2 * MM and abs(gaps[2, 0] - gaps[0, 0]) < 1e-6, f"right blink: {gaps[2]}"


# blinks --------------------------------------------------------------------------------------

BLINK_FRAMES = (20, 63, 101)


def blink_curve(centres, frames=FRAMES, half_width=3) -> np.ndarray:
    """(frames,) blink weights: raised-cosine bumps of 2 * half_width + 1 frames."""
    t = np.arange(frames)
    weight = np.zeros(frames)
    for centre in centres:
        near = np.abs(t - centre) <= half_width
        weight[near] = 0.5 * (1 + np.cos(np.pi * (t[near] - centre) / (half_width + 1)))
    return weight


def test_blink_times(standin_model, standin_sets):
    both = blink_curve(BLINK_FRAMES)
    left = blink_curve((50,))
    vertices = pose(standin_model, expression={"blink_left": np.stack([both, left, 0 * both]),
                                               "blink_right": np.stack([both, 0 * both, 0 * both])})
    found = blink_times(lid_gap(vertices[0], standin_sets), FPS)
    assert found.shape == (len(BLINK_FRAMES),), f"found blinks at {found * FPS} frames"
    assert_allclose(found * FPS, BLINK_FRAMES, 1.0, "blink frames")
    assert blink_times(lid_gap(vertices[1], standin_sets), FPS).size == 0, "one eye closing is no blink"
    assert blink_times(lid_gap(vertices[2], standin_sets), FPS).size == 0, "no blink in a blinkless sequence"


def test_blink_times_edges_and_errors():
    gap = np.full((10, 2), 5 * MM)
    gap[:2] = 0.0
    gap[-1] = 0.0
    assert_allclose(blink_times(gap, 10.0), [0.05, 0.9], 1e-12, "runs at the ends")
    assert blink_times(np.zeros((10, 2)), FPS).size == 0, "eyes never open: no blink detectable"
    with pytest.raises(PtalkerError, match=r"\(T, 2\)"):
        blink_times(np.zeros((10, 3)), FPS)
    with pytest.raises(PtalkerError, match="closed_fraction"):
        blink_times(gap, FPS, closed_fraction=1.5)
    with pytest.raises(PtalkerError, match="fps"):
        blink_times(gap, 0.0)


# audio ---------------------------------------------------------------------------------------

def test_audio_envelope_against_naive():
    rng = np.random.default_rng(2)
    waveform = rng.standard_normal(7919).astype(np.float32)
    frames = 17  # the audio ends in frame 15's window
    envelope = audio_envelope(waveform, SAMPLE_RATE, FPS, frames)
    times = np.arange(waveform.size) / SAMPLE_RATE
    naive = []
    for i in range(frames):
        inside = (times >= (i - 0.5) / FPS) & (times < (i + 0.5) / FPS)
        naive.append(np.sqrt(np.mean(np.square(waveform[inside].astype(np.float64)))) if inside.any() else 0.0)
    assert_allclose(envelope, naive, 1e-9, "envelope")
    assert envelope[-1] == 0.0, "frames past the audio should be 0"


def lagged_pair(rng, shift_frames: float, frames: int = 240):
    """A waveform whose envelope follows a smooth signal, and that signal delayed by
    ``shift_frames`` at the motion rate (the mouth follows the audio by that much)."""
    steps_per_frame = 4
    grid = np.arange(-frames, 2 * frames * steps_per_frame) / (steps_per_frame * FPS)  # seconds
    values = np.maximum(1.5 + smooth_noise(rng, grid.size, sigma=2 * steps_per_frame), 0.05)

    def signal(seconds):  # smooth over ~2 frames, positive
        return np.interp(seconds, grid, values)

    sample_times = np.arange(int(frames / FPS * SAMPLE_RATE)) / SAMPLE_RATE  # (S,)
    waveform = rng.standard_normal(sample_times.size) * signal(sample_times)
    return waveform, signal((np.arange(frames) - shift_frames) / FPS)  # (S,), (T,)


LAG_ATOL_FRAMES = 0.1
"""Observed errors stay under 0.03 frames; a half-frame slip in the envelope's windows fails."""


@pytest.mark.parametrize("shift", [-4, -1, 2, 6, 1.5, -2.5])
def test_audio_motion_lag(shift):
    waveform, mouth = lagged_pair(np.random.default_rng(3), shift)
    lag = audio_motion_lag(waveform, SAMPLE_RATE, mouth, FPS)
    assert abs(lag * FPS - shift) < LAG_ATOL_FRAMES, f"lag {lag * FPS:.3f} frames, expected {shift}"


def test_audio_motion_lag_errors():
    waveform = np.random.default_rng(4).standard_normal(SAMPLE_RATE)
    assert np.isnan(audio_motion_lag(waveform, SAMPLE_RATE, np.ones(30), FPS)), "constant mouth"
    with pytest.raises(PtalkerError, match="mono"):
        audio_motion_lag(np.zeros((SAMPLE_RATE, 2)), SAMPLE_RATE, np.arange(30.0), FPS)
    with pytest.raises(PtalkerError, match="T >= 3"):
        audio_motion_lag(waveform, SAMPLE_RATE, np.arange(2.0), FPS)
    with pytest.raises(PtalkerError, match="under one frame"):
        audio_motion_lag(waveform, SAMPLE_RATE, np.arange(30.0), FPS, max_lag_s=0.01)
    with pytest.raises(PtalkerError, match="num_frames"):
        audio_envelope(waveform, SAMPLE_RATE, FPS, 0)


# style statistics ----------------------------------------------------------------------------

def _speech(rng) -> dict:
    """Per-frame parameters of a plain speaking sequence and of variants of it."""
    t = np.arange(FRAMES) / FPS
    syllables = 0.5 * (1 + np.sin(2 * np.pi * 3.1 * t))  # (T,) in [0, 1]
    wobble = np.sin(2 * np.pi * 1.3 * t)  # (T,) for lip shape, brows
    jitter = 0.01 * rng.standard_normal(FRAMES)  # rad: frame-to-frame noise on the jaw
    neck = 0.05 * np.stack([smooth_noise(rng, FRAMES, 2.0) for _ in range(3)], axis=1)  # (T, 3)
    ones = np.ones(FRAMES)
    return {
        "base": ({}, 0.1 * syllables, None),
        "wide_jaw": ({}, 0.2 * syllables, None),
        "lip_shape": ({"lip_pucker": np.maximum(wobble, 0), "lip_stretch_left": np.maximum(-wobble, 0),
                       "lip_stretch_right": np.maximum(-wobble, 0)}, 0.1 * syllables, None),
        "smile": ({"smile_left": 0.8 * ones, "smile_right": 0.8 * ones}, 0.0 * t, None),
        "frown": ({"frown": 0.8 * ones}, 0.0 * t, None),
        "smile_left": ({"smile_left": 0.8 * ones}, 0.0 * t, None),
        "smile_right": ({"smile_right": 0.8 * ones}, 0.0 * t, None),
        "brows": ({"brow_raise": wobble}, 0.1 * syllables, None),
        "nodding": ({}, 0.1 * syllables, neck),
        "jittery": ({}, 0.1 * syllables + jitter, None),
        "blinking": ({"blink_left": blink_curve(BLINK_FRAMES), "blink_right": blink_curve(BLINK_FRAMES)},
                     0.1 * syllables, None),
    }


@pytest.fixture(scope="module")
def styles(standin_model, standin_template, standin_sets):
    """StyleStatistics of each variant of :func:`_speech`, rendered in one batch."""
    variants = _speech(np.random.default_rng(5))
    names = list(variants)
    expression = np.zeros((len(names), FRAMES, len(standin_model.expression_names)))  # (N, T, K)
    neck = np.zeros((len(names), FRAMES, 3))  # (N, T, 3)
    jaw = np.zeros((len(names), FRAMES))  # (N, T)
    for n, name in enumerate(names):
        weights, jaw[n], neck_n = variants[name]
        for component, values in weights.items():
            expression[n, :, standin_model.expression_names.index(component)] = values
        if neck_n is not None:
            neck[n] = neck_n
    vertices = pose(standin_model, expression=expression, jaw_pose=axis_x(jaw), neck_pose=neck)
    return {name: style_statistics(vertices[n], standin_template, standin_sets, FPS) for n, name in enumerate(names)}


def test_style_jaw(styles):
    base, wide = styles["base"], styles["wide_jaw"]
    assert wide.jaw_opening_mm > 1.5 * base.jaw_opening_mm > 3.0, (base, wide)


def test_style_lip_motion(styles):
    base, shaped = styles["base"], styles["lip_shape"]
    assert base.lip_motion_mm < 0.1 < 1.0 < shaped.lip_motion_mm, (base, shaped)
    assert abs(shaped.jaw_opening_mm - base.jaw_opening_mm) < 0.15 * base.jaw_opening_mm, (base, shaped)


def test_style_smile_and_asymmetry(styles):
    assert styles["smile"].smile_mm > 1.0 and styles["frown"].smile_mm < -1.0
    assert abs(styles["smile"].asymmetry_mm) < 1e-3 and abs(styles["frown"].asymmetry_mm) < 1e-3
    assert styles["smile_left"].asymmetry_mm > 1.0 and styles["smile_right"].asymmetry_mm < -1.0
    assert_allclose(styles["smile_left"].asymmetry_mm, -styles["smile_right"].asymmetry_mm, 1e-3,
                    "mirrored asymmetry")


def test_style_brows(styles):
    assert styles["base"].brow_motion_mm < 0.01 < 0.3 < styles["brows"].brow_motion_mm


def test_style_head_motion_removed(styles):
    base, nodding = styles["base"], styles["nodding"]
    assert base.head_motion_deg < 0.01 and nodding.head_motion_deg > 1.0, (base, nodding)
    for name, value in base.to_dict().items():
        if name != "head_motion_deg":
            assert abs(getattr(nodding, name) - value) < 1e-3 * max(1.0, abs(value)), \
                f"{name}: {getattr(nodding, name)} with head motion, {value} without"


def test_style_jerk_and_blinks(styles):
    assert styles["jittery"].jerk_ratio > 2 * styles["base"].jerk_ratio, \
        (styles["base"].jerk_ratio, styles["jittery"].jerk_ratio)
    assert styles["base"].blink_rate_hz == 0.0
    assert_allclose(styles["blinking"].blink_rate_hz, len(BLINK_FRAMES) * FPS / FRAMES, 1e-12, "blink rate")


def test_style_statistics_dict_and_errors(styles, standin_template, standin_sets):
    stats = styles["base"]
    assert StyleStatistics.from_dict(stats.to_dict()) == stats
    with pytest.raises(PtalkerError, match="missing jerk_ratio, unknown extra"):
        StyleStatistics.from_dict({**{k: v for k, v in stats.to_dict().items() if k != "jerk_ratio"},
                                   "extra": 1.0})
    with pytest.raises(PtalkerError, match="T >= 2"):
        style_statistics(standin_template[None], standin_template, standin_sets, FPS)
    with pytest.raises(PtalkerError, match="fps"):
        style_statistics(np.stack([standin_template, standin_template]), standin_template, standin_sets, -1.0)
