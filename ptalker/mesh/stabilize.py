"""Head stabilisation: remove the head's rigid motion from a vertex sequence.

Per frame, the rotation R and translation t that best map the template's rigid vertices (scalp
and ears, :func:`ptalker.mesh.face_sets.rigid_region_ids`) onto the frame's (Kabsch, no
scaling): ``vertices ~ template @ R.T + t``, R about the template's origin.
``aligned = (vertices - t) @ R`` undoes it. Training clips, reference clips and the face
measures are all stabilised this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_frames, as_template, check_indices

MIN_RIGID_VERTICES = 3
"""Kabsch needs three points (not on one line) to fix a rotation."""


@dataclass
class HeadMotion:
    """The head's rigid motion in a sequence, and the sequence without it."""

    aligned: np.ndarray
    """(T, V, 3) float64 vertices with the head's rigid motion removed (template's frame)."""
    rotation: np.ndarray
    """(T, 3) axis-angle (rad) of the head relative to the template."""
    translation: np.ndarray
    """(T, 3) translation (metres), applied after rotating about the template's origin."""


def _fit_head(vertices: np.ndarray, template: np.ndarray,
              rigid_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame Kabsch of ``template[rigid_ids]`` onto ``vertices[:, rigid_ids]``.

    Returns rotations (T, 3, 3) and translations (T, 3) with vertices ~ template @ R.T + t.
    """
    source = template[rigid_ids]  # (R, 3)
    target = vertices[:, rigid_ids]  # (T, R, 3)
    source_mean = source.mean(axis=0)  # (3,)
    target_mean = target.mean(axis=1)  # (T, 3)
    covariance = np.einsum("ri,trj->tij", source - source_mean, target - target_mean[:, None])  # (T, 3, 3)
    u, _, vt = np.linalg.svd(covariance)  # (T, 3, 3) each
    flip = np.sign(np.linalg.det(np.einsum("tji,tkj->tik", vt, u)))  # (T,) det(V U^T): -1 = reflection
    vt[:, 2] *= flip[:, None]  # turn a reflection into the nearest rotation
    rotation = np.einsum("tji,tkj->tik", vt, u)  # (T, 3, 3) R = V U^T
    translation = target_mean - np.einsum("tij,j->ti", rotation, source_mean)  # (T, 3)
    return rotation, translation


def remove_head_motion(vertices: np.ndarray, template: np.ndarray, rigid_ids: np.ndarray) -> HeadMotion:
    """Remove the head's rigid motion from ``vertices`` (T, V, 3), fitted per frame (Kabsch, no
    scaling) on ``rigid_ids`` (R,), R >= 3, ids that move only with the head (``FaceSets.rigid``),
    against ``template`` (V, 3), the subject's neutral mesh. Raises PtalkerError on wrong shapes
    or ids out of range."""
    vertices = as_frames(vertices, "remove_head_motion")
    template = as_template(template, vertices.shape[1])
    rigid_ids = check_indices(rigid_ids, vertices.shape[1], "rigid_ids")
    if np.unique(rigid_ids).size < MIN_RIGID_VERTICES:
        raise PtalkerError(f"rigid_ids: got {np.unique(rigid_ids).size} distinct ids, expected at "
                           f"least {MIN_RIGID_VERTICES} to fix a rotation")
    rotation, translation = _fit_head(vertices, template, rigid_ids)
    aligned = np.einsum("tni,tij->tnj", vertices - translation[:, None], rotation,
                        optimize=True)  # (T, V, 3) (v - t) @ R
    return HeadMotion(aligned=aligned, rotation=Rotation.from_matrix(rotation).as_rotvec(),
                      translation=translation)
