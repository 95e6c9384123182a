"""Does an animation keep the person's mouth? Lip shape from 68 facial landmarks (iBUG order,
:mod:`ptalker.mesh.landmarks`), against the person's neutral face.

- Lip shape (:func:`lip_shape`): mouth width |L48 - L54| (corner to corner), upper lip thickness
  |L51 - L62| (upper-lip top to inner upper lip) and lower lip thickness |L57 - L66| (lower-lip
  bottom to inner lower lip), in the landmarks' units.
- Mouth identity error (:func:`mouth_identity_error`): the mean over those three measures of
  |median over frames - neutral value|, in millimetres (for landmarks in metres; other units
  through ``units_to_mm``). Speech moves the lips, but over a clip the typical shape should be
  the person's: a talker that drifts towards another mouth (wider, thinner lips) scores high.
"""

from __future__ import annotations

import numpy as np

from ptalker.constants import METRES_TO_MM
from ptalker.errors import PtalkerError
from ptalker.mesh.landmarks import (
    INNER_LOWER_LIP,
    INNER_UPPER_LIP,
    LOWER_LIP_BOTTOM,
    MOUTH_CORNERS,
    NUM_LANDMARKS,
    UPPER_LIP_TOP,
)

LIP_MEASURES = ("mouth_width", "upper_lip_thickness", "lower_lip_thickness")
"""The columns of :func:`lip_shape`, in order."""
_PAIRS = np.array([MOUTH_CORNERS, (UPPER_LIP_TOP, INNER_UPPER_LIP), (LOWER_LIP_BOTTOM, INNER_LOWER_LIP)])


def lip_shape(landmarks: np.ndarray) -> np.ndarray:
    """The three lip measures (..., 3) (``LIP_MEASURES``) of landmarks (..., 68, 3), float64 in
    the landmarks' units.

    Raises:
        PtalkerError: not (..., 68, 3).
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim < 2 or points.shape[-2:] != (NUM_LANDMARKS, 3):
        raise PtalkerError(f"landmarks: expected (..., {NUM_LANDMARKS}, 3) in iBUG order, got {points.shape}; "
                           "see ptalker.flame.landmarks.head_landmarks")
    return np.linalg.norm(points[..., _PAIRS[:, 0], :] - points[..., _PAIRS[:, 1], :], axis=-1)


def mouth_identity_error(sequence_landmarks: np.ndarray, neutral_landmarks: np.ndarray,
                         units_to_mm: float = METRES_TO_MM) -> float:
    """Mean over the lip measures of |median over frames - neutral value|, in millimetres.

    Args:
        sequence_landmarks: (T, 68, 3) the animation's landmarks.
        neutral_landmarks: (68, 3) the person's neutral face (their template's landmarks).
        units_to_mm: millimetres per landmark unit (1000 for metres, as FLAME).

    Raises:
        PtalkerError: wrong shapes or no frames.
    """
    frames = np.asarray(sequence_landmarks)
    if frames.ndim != 3 or len(frames) == 0:
        raise PtalkerError(f"sequence_landmarks: expected (T, {NUM_LANDMARKS}, 3) with T > 0, got {frames.shape}")
    if np.shape(neutral_landmarks) != (NUM_LANDMARKS, 3):
        raise PtalkerError(f"neutral_landmarks: expected ({NUM_LANDMARKS}, 3), got {np.shape(neutral_landmarks)}; "
                           "pass the landmarks of the person's neutral mesh")
    typical = np.median(lip_shape(frames), axis=0)  # (3,)
    return float(np.mean(np.abs(typical - lip_shape(neutral_landmarks))) * units_to_mm)
