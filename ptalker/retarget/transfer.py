"""Carrying an animation of the template onto the user's mesh.

Each user vertex is tied to a point of the fitted template (a triangle and barycentric weights;
:func:`correspond`). A frame of the animation is split into the head's rigid motion (Kabsch on
the scalp and ears, :mod:`ptalker.mesh.stabilize`) and the face's motion in the head's frame
(offsets from the neutral); the offsets are interpolated at the tied points, scaled and turned
by the alignment's similarity, and added to the user's neutral mesh; then the head's rigid motion,
expressed in the user's frame (``R_s R_t R_s^T`` about the similarity's origin), is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ptalker.mesh.stabilize import remove_head_motion
from ptalker.retarget.similarity import Similarity
from ptalker.retarget.surface import SurfaceIndex

RING_SHIFT = 0.5
"""How far (a share of the way to its neighbours' centroid) a user vertex's query point moves
inwards before its template triangle is looked up: on a closed mouth whose lips are separate
vertices at one place, this picks the upper lip for upper-lip vertices and the lower for lower."""


@dataclass
class Correspondence:
    """Where each user vertex sits on the fitted template."""

    face: np.ndarray
    """(Vu,) int64 template triangle."""
    bary: np.ndarray
    """(Vu, 3) barycentric weights on it (non-negative, summing to 1)."""
    distance: np.ndarray
    """(Vu,) distance of the user vertex from that triangle (user units)."""


def _ring_centroids(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) mean of each vertex's neighbours' positions over ``faces`` (F, 3) (itself when alone)."""
    total, count = np.zeros_like(vertices), np.zeros(len(vertices))
    for a, b in ((0, 1), (1, 2), (2, 0), (1, 0), (2, 1), (0, 2)):
        np.add.at(total, faces[:, a], vertices[faces[:, b]])
        np.add.at(count, faces[:, a], 1.0)
    alone = count == 0
    total[alone], count[alone] = vertices[alone], 1.0
    return total / count[:, None]


def correspond(user_vertices: np.ndarray, user_faces: np.ndarray, fitted: np.ndarray,
               faces: np.ndarray) -> Correspondence:
    """Tie each user vertex (Vu, 3) to the fitted template (V, 3) with triangles ``faces`` (F, 3):
    the triangle is the one nearest a query point moved :data:`RING_SHIFT` towards the vertex's
    neighbours, the weights those of the vertex itself projected onto it."""
    index = SurfaceIndex(fitted, faces)
    query = user_vertices + RING_SHIFT * (_ring_centroids(user_vertices, user_faces) - user_vertices)
    face = index.closest(query).face
    exact = index.closest(user_vertices, restrict=face[:, None])
    bary = exact.bary / exact.bary.sum(axis=1, keepdims=True)
    return Correspondence(face=face, bary=bary, distance=exact.distance)


def interpolate(values: np.ndarray, faces: np.ndarray, corr: Correspondence) -> np.ndarray:
    """Values (..., V, 3) at the template's vertices -> (..., Vu, 3) at the tied points."""
    corners = values[..., faces[corr.face], :]  # (..., Vu, 3 corners, 3)
    return np.einsum("...ukc,uk->...uc", corners, corr.bary)


@dataclass
class TransferredMotion:
    """An animation on the user's mesh."""

    vertices: np.ndarray
    """(T, Vu, 3) float32, user units and frame."""
    head_rotation_deg: np.ndarray
    """(T,) angle of the head's rigid rotation in each frame (degrees; the same on both meshes)."""


def transfer_motion(frames: np.ndarray, neutral: np.ndarray, faces: np.ndarray, rigid_ids: np.ndarray,
                    corr: Correspondence, similarity: Similarity, user_neutral: np.ndarray) -> TransferredMotion:
    """Retarget ``frames`` (T, V, 3) of the template, whose neutral is ``neutral`` (V, 3) with
    triangles ``faces`` (F, 3) and head-rigid vertices ``rigid_ids`` (R,), to the user's mesh
    ``user_neutral`` (Vu, 3) tied by ``corr``, ``similarity`` mapping template onto user frame."""
    motion = remove_head_motion(frames, neutral, rigid_ids)
    offsets = motion.aligned - neutral  # (T, V, 3) face motion in the head's frame
    user = user_neutral + similarity.apply_vectors(interpolate(offsets, faces, corr))  # (T, Vu, 3)
    head = Rotation.from_rotvec(motion.rotation).as_matrix()  # (T, 3, 3): vertices ~ neutral @ head.T + t
    turn = similarity.rotation @ head @ similarity.rotation.T  # (T, 3, 3) in the user's frame
    origin = similarity.translation
    shift = similarity.apply_vectors(motion.translation) + origin  # (T, 3)
    moved = np.einsum("tij,tuj->tui", turn, user - origin) + shift[:, None]  # (T, Vu, 3)
    return TransferredMotion(vertices=moved.astype(np.float32), head_rotation_deg=np.degrees(np.linalg.norm(motion.rotation, axis=1)))
