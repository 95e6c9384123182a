"""Read the whole-face factors back from a vertex sequence: head pose, blinks, gaze, emotion.

These are the factor encoders of the controls: 'from_clip' takes a factor from a reference clip
with them, and the benchmarks check generated motion with them. Each reads one factor from its
own vertices, so the factors of a clip come apart by construction:

- head pose: Kabsch of the rigid vertices (scalp, ears) against the neutral face
  (:func:`ptalker.mesh.stabilize.remove_head_motion`), then everything below works on the
  head-stabilized frames;
- blinks: least squares of the eyelid vertices' offsets on the two blink offsets, clipped to 0..1;
- gaze: Kabsch of the left eyeball about its centroid (:func:`ptalker.controls.rig.measure_gaze`);
- emotion: non-negative least squares of the per-vertex median offset (the lasting expression)
  on the emotion offsets, over the face outside what speech moves (lips, jaw), the lids and the
  eyes; the largest coefficient names the emotion and is its intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ptalker.controls.rig import FaceRig, measure_gaze
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import EMOTIONS
from ptalker.mesh.stabilize import remove_head_motion


@dataclass
class Factors:
    """The factors of one clip of T frames."""

    rotation: np.ndarray
    """(T, 3) head rotation vectors (radians) about the neutral face's origin."""
    translation: np.ndarray
    """(T, 3) head translation (metres)."""
    blink: np.ndarray
    """(T, 2) left, right lid closure 0..1."""
    gaze: np.ndarray
    """(T, 2) yaw, pitch in degrees."""
    emotion: dict[str, float]
    """{label: intensity} for the non-neutral labels (non-negative)."""

    @property
    def emotion_label(self) -> str:
        """The strongest emotion, 'neutral' when none reaches 0.1."""
        label, value = max(self.emotion.items(), key=lambda item: item[1])
        return label if value >= 0.1 else "neutral"


def clip_factors(vertices: np.ndarray, rig: FaceRig, template: np.ndarray | None = None) -> Factors:
    """The factors of ``vertices`` (T, V, 3) against the person's neutral ``template`` (V, 3)
    (default: the per-vertex median of the clip, which hides a lasting emotion)."""
    vertices = np.asarray(vertices, np.float64)
    if vertices.ndim != 3 or vertices.shape[1:] != (len(rig.head_weights), 3):
        raise PtalkerError(f"clip: expected (T, {len(rig.head_weights)}, 3) vertices of the head, got {vertices.shape}")
    template = np.median(vertices, axis=0) if template is None else np.asarray(template, np.float64)
    head = remove_head_motion(vertices, template, rig.rigid)
    offsets = head.aligned - template  # (T, V, 3)
    lids = rig.eyelids
    basis = rig.blink_offsets[:, lids].reshape(2, -1).T  # (3L, 2)
    blink, *_ = np.linalg.lstsq(basis, offsets[:, lids].reshape(len(offsets), -1).T, rcond=None)
    gaze = measure_gaze(head.aligned, template, rig)
    keep = np.setdiff1d(np.arange(offsets.shape[1]), np.concatenate([lids, *rig.eyeballs, rig.speech]))
    labels = [label for label in EMOTIONS if label != "neutral"]
    emotion_basis = np.stack([rig.emotion_offsets[label][keep].ravel() for label in labels], 1)  # (3K, E)
    weights, _ = nnls(emotion_basis, np.median(offsets, axis=0)[keep].ravel())
    return Factors(rotation=head.rotation, translation=head.translation, blink=np.clip(blink.T, 0.0, 1.0),
                   gaze=gaze, emotion=dict(zip(labels, weights.astype(float))))
