"""Placing the template (the head model's neutral mesh) on the user's neutral head mesh.

1. A similarity (scale matters: the user's mesh may be in centimetres): from the user's landmarks
   when given (Umeyama on the named points), else from 24 axis-aligned starts of a trimmed ICP
   (:mod:`ptalker.retarget.similarity`); then refined by ICP and Gauss-Newton point-to-plane.
2. A face check: the face region must lie near the user's surface (``face_rms``, in eye widths)
   and, for found landmarks, the user's surface must have a nose (``nose_prominence``: how far
   the most forward point near the template's nose tip stands out from a ring around it, in eye
   widths; a sphere or a cube has none). Failing either is a one-line PtalkerError.
3. Non-rigid ICP of the template onto the user's surface (:mod:`ptalker.retarget.nricp`), pulled
   to the user's landmarks when given; vertices with weight 0 (eyeballs) follow their nearest
   fitted neighbours.

The head model is FLAME-like: facing +z with y up (``FORWARD``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ptalker.errors import PtalkerError
from ptalker.mesh.landmarks import LandmarkEmbedding, landmarks_3d
from ptalker.retarget.nricp import LandmarkPull, nricp
from ptalker.retarget.similarity import Similarity, icp_similarity, multistart_similarity, refine_similarity, umeyama
from ptalker.retarget.surface import SurfaceIndex, SurfaceSample

FORWARD = np.array([0.0, 0.0, 1.0])
"""The direction the head model's face looks in its own frame (FLAME's +z)."""
NOSE_TIP, EYE_OUTER = 30, (36, 45)
"""iBUG 68 ids: nose tip, outer eye corners (their distance is the 'eye width' unit of the checks)."""
SURFACE_SAMPLES = 40000
MIN_LANDMARKS = 4
MAX_FACE_RMS = 0.12
"""Largest RMS distance of the template's face region to the user's surface after the similarity,
in eye widths (the stand-in on heads of other shapes: <= 0.05; a sphere 0.13, a cube 0.17)."""
MIN_NOSE_PROMINENCE = 0.1
"""Least nose prominence in eye widths (the stand-in: 0.17; an ellipsoid 0.06, a sphere 0.05, a cube 0)."""
FOLLOWERS = 20
"""Weighted neighbours whose mean displacement a weight-0 vertex takes."""


@dataclass
class Alignment:
    """The template placed on the user's mesh."""

    similarity: Similarity
    fitted: np.ndarray
    """(V, 3) the template after the non-rigid fit, in the user's frame."""
    user_landmarks: np.ndarray
    """(68, 3) the user's landmarks: given, or the template's projected onto the user's surface
    (the nose tip: the most forward point near it); NaN rows were not given."""
    landmark_rigid: np.ndarray
    """(68,) distance of the similarity-placed template's landmarks from the user's (user units)."""
    landmark_fitted: np.ndarray
    """(68,) the same after the non-rigid fit."""
    fit_distance: np.ndarray
    """(W,) distance of each weighted fitted template vertex from the user's surface (user units)."""
    face_rms: float
    """RMS distance of the face region from the user's surface after the similarity, in eye widths."""
    nose_prominence: float | None
    """In eye widths; None when the landmarks were given."""
    eye_width: float
    """Outer eye-corner distance of the placed template (user units)."""


def _nose(similarity: Similarity, surface: SurfaceSample, tip: np.ndarray, eye_width: float) -> tuple[np.ndarray, float]:
    """The user's nose tip (3,) near the placed template's ``tip`` and its prominence (eye widths)."""
    forward = similarity.rotation @ FORWARD
    front = surface.normals @ forward > 0.3

    def split(origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = surface.points - origin
        ahead = rel @ forward
        return ahead, np.linalg.norm(rel - ahead[:, None] * forward, axis=1)

    ahead, side = split(tip)
    near = np.flatnonzero(front & (side < 0.2 * eye_width) & (np.abs(ahead) < 0.3 * eye_width))
    if near.size == 0:
        return tip, 0.0
    found = surface.points[near[np.argmax(ahead[near])]]
    ahead, side = split(found)
    ring = front & (side > 0.25 * eye_width) & (side < 0.35 * eye_width) & (ahead > -0.6 * eye_width)
    return found, (float(-np.median(ahead[ring]) / eye_width) if ring.sum() >= 10 else 0.0)


def _place(template: np.ndarray, weights: np.ndarray, surface: SurfaceSample, template_landmarks: np.ndarray,
           user_landmarks: np.ndarray | None) -> Similarity:
    """The similarity of the template onto the user's mesh (landmarks first when given, then ICP)."""
    skin = template[weights > 0]
    if user_landmarks is None:
        return multistart_similarity(skin, surface)[0]
    known = np.isfinite(user_landmarks).all(axis=1)
    start = umeyama(template_landmarks[known], user_landmarks[known])
    return refine_similarity(skin, surface, icp_similarity(skin, surface, start, iterations=20)[0])[0]


def align_template(template: np.ndarray, faces: np.ndarray, embedding: LandmarkEmbedding, weights: np.ndarray,
                   face_ids: np.ndarray, user_vertices: np.ndarray, user_faces: np.ndarray,
                   user_landmarks: np.ndarray | None = None, source: str = "mesh") -> Alignment:
    """Fit ``template`` (V, 3) with triangles ``faces`` (F, 3) onto the user's mesh
    (``user_vertices`` (Vu, 3), ``user_faces`` (Fu, 3)).

    ``weights`` (V,): 1 for vertices to pull onto the surface, 0 for inner parts (eyeballs);
    ``face_ids``: the template's face region (the face check); ``user_landmarks`` (68, 3): the
    user's iBUG 68 points, NaN rows for points not given (at least 4 given). ``source`` names the
    mesh in errors.

    Raises:
        PtalkerError: too few landmarks, or a mesh with no face on it (the face check).
    """
    surface = SurfaceSample.of_mesh(user_vertices, user_faces, SURFACE_SAMPLES)
    marks = landmarks_3d(template, faces, embedding)  # (68, 3)
    if user_landmarks is not None and np.isfinite(user_landmarks).all(axis=1).sum() < MIN_LANDMARKS:
        raise PtalkerError(f"landmarks: {np.isfinite(user_landmarks).all(axis=1).sum()} points given, expected at "
                           f"least {MIN_LANDMARKS} (e.g. nose tip, chin, outer eye and mouth corners)")
    similarity = _place(template, weights, surface, marks, user_landmarks)
    eye_width = similarity.scale * float(np.linalg.norm(marks[EYE_OUTER[0]] - marks[EYE_OUTER[1]]))
    placed = similarity.apply(template)
    _, index = surface.nearest(placed[face_ids])
    gap = np.einsum("ij,ij->i", placed[face_ids] - surface.points[index], surface.normals[index])
    face_rms = float(np.sqrt(np.mean(gap ** 2)) / eye_width)
    if face_rms > MAX_FACE_RMS:
        raise PtalkerError(f"{source}: no head found: after the best similarity fit the template's face lies "
                           f"{face_rms:.2f} eye widths (RMS) from the mesh, more than {MAX_FACE_RMS}; give a head mesh "
                           "(a face with nose, eyes and mouth), or --landmarks to place it")
    user_index = SurfaceIndex(user_vertices, user_faces)
    prominence, pull = None, None
    if user_landmarks is None:
        found = user_index.closest(similarity.apply(marks)).points  # (68, 3)
        found[NOSE_TIP], prominence = _nose(similarity, surface, found[NOSE_TIP], eye_width)
        if prominence < MIN_NOSE_PROMINENCE:
            raise PtalkerError(f"{source}: no nose found: the surface near the fitted nose tip stands out "
                               f"{prominence:.2f} eye widths, less than {MIN_NOSE_PROMINENCE}; give a head mesh "
                               "with a face, or --landmarks to place it")
        user_landmarks = found
    else:
        known = np.isfinite(user_landmarks).all(axis=1)
        pull = LandmarkPull(embedding.face_idx[known],
                            embedding.bary[known], user_landmarks[known])
    fitted = nricp(placed, faces, surface, weights, landmarks=pull)
    fitted = _carry_unweighted(placed, fitted, weights)
    fitted_marks = landmarks_3d(fitted, faces, embedding)
    return Alignment(similarity=similarity, fitted=fitted, user_landmarks=user_landmarks,
                     landmark_rigid=np.linalg.norm(similarity.apply(marks) - user_landmarks, axis=1),
                     landmark_fitted=np.linalg.norm(fitted_marks - user_landmarks, axis=1),
                     fit_distance=user_index.closest(fitted[weights > 0]).distance, face_rms=face_rms,
                     nose_prominence=prominence, eye_width=eye_width)


def _carry_unweighted(placed: np.ndarray, fitted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``fitted`` (V, 3) with each weight-0 vertex moved from ``placed`` by the mean displacement of
    its :data:`FOLLOWERS` nearest weighted vertices."""
    free, held = np.flatnonzero(weights <= 0), np.flatnonzero(weights > 0)
    if free.size == 0:
        return fitted
    _, near = cKDTree(placed[held]).query(placed[free], k=min(FOLLOWERS, held.size))
    near = held[np.asarray(near).reshape(free.size, -1)]
    out = fitted.copy()
    out[free] = placed[free] + (fitted[near] - placed[near]).mean(axis=1)
    return out
