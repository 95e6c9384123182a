"""Mouth identity: lip shape from 68 landmarks, and how far an animation's typical mouth is from the
person's neutral one (0 for the neutral head, growing with a lip-shape offset)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_allclose

from ptalker.errors import PtalkerError
from ptalker.flame.landmarks import head_landmarks
from ptalker.metrics.mouth_identity import lip_shape, mouth_identity_error

MM = 1e-3


@pytest.fixture(scope="module")
def neutral(standin_dir, standin_template):
    """(68, 3) landmarks of the stand-in's neutral head, in metres."""
    return head_landmarks(standin_template[None], standin_dir)[0]


def widened(landmarks: np.ndarray, offset_m: float) -> np.ndarray:
    """``landmarks`` with both mouth corners (48 right, 54 left) moved outwards by ``offset_m``."""
    out = np.array(landmarks, dtype=np.float64)
    out[..., 48, 0] -= offset_m
    out[..., 54, 0] += offset_m
    return out


def test_lip_shape_measures_the_named_landmarks():
    points = np.random.default_rng(0).normal(size=(2, 5, 68, 3))  # lips apart: 62 and 66 differ
    shape = lip_shape(points)
    assert shape.shape == (2, 5, 3)
    norm = np.linalg.norm
    assert_allclose(shape[..., 0], norm(points[..., 48, :] - points[..., 54, :], axis=-1), 1e-12, "mouth width")
    assert_allclose(shape[..., 1], norm(points[..., 51, :] - points[..., 62, :], axis=-1), 1e-12, "upper lip")
    assert_allclose(shape[..., 2], norm(points[..., 57, :] - points[..., 66, :], axis=-1), 1e-12, "lower lip")


def test_lip_shape_of_the_standin(neutral):
    width, upper, lower = lip_shape(neutral)
    assert 0.04 < width < 0.07 and 0.005 < upper < 0.02 and 0.005 < lower < 0.025, (width, upper, lower)


def test_neutral_sequence_scores_zero(neutral, standin_dir, standin_template):
    sequence = head_landmarks(np.repeat(standin_template[None], 8, axis=0), standin_dir)
    assert mouth_identity_error(sequence, neutral) == 0.0


def test_error_rises_with_a_wider_mouth(neutral):
    sequence = np.repeat(neutral[None], 10, axis=0)
    errors = [mouth_identity_error(widened(sequence, d * MM), neutral) for d in (0, 1, 2, 4)]
    assert errors[0] == 0.0 and np.all(np.diff(errors) > 0), errors
    # each corner moves d mm along the mouth line: the width grows 2 d, the thicknesses stay
    assert_allclose(errors, [0.0, 2 / 3, 4 / 3, 8 / 3], 1e-6, "mm per offset")
    assert_allclose(mouth_identity_error(widened(sequence, 4 * MM), neutral, units_to_mm=1.0), 8 / 3 * MM, 1e-9,
                    "in the landmarks' units")


def test_a_few_odd_frames_do_not_move_the_median(neutral):
    sequence = np.repeat(neutral[None], 9, axis=0)
    sequence[[2, 6]] = widened(sequence[[2, 6]], 10 * MM)  # two wide-open frames out of nine
    assert mouth_identity_error(sequence, neutral) == 0.0


@pytest.mark.parametrize("sequence, neutral_shape, message", [
    (np.zeros((5, 51, 3)), (68, 3), r"expected \(\.\.\., 68, 3\)"),
    (np.zeros((0, 68, 3)), (68, 3), "T > 0"),
    (np.zeros((5, 68, 3)), (1, 68, 3), r"neutral_landmarks: expected \(68, 3\)"),
])
def test_bad_shapes_are_refused(sequence, neutral_shape, message):
    with pytest.raises(PtalkerError, match=message):
        mouth_identity_error(sequence, np.zeros(neutral_shape))
