"""68 facial landmarks on a triangle mesh (iBUG 300-W order) and their pixels in a front view.

A :class:`LandmarkEmbedding` fixes each landmark to a point of one triangle: a face id and three
barycentric weights, as FLAME's landmark embeddings do. :func:`landmarks_3d` follows those points
through a vertex sequence; :func:`project_landmarks` maps them to the pixels of a pinhole camera
looking along -z with y up (the preview renderer's camera, ``ptalker.render.settings.Camera``).
The 68 embedding of the head model in use comes from :mod:`ptalker.flame.landmarks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ptalker.errors import PtalkerError

NUM_LANDMARKS = 68
JAW = range(0, 17)
"""The jaw contour, image left to right: the subject's right ear level (0), the chin (8), the left (16)."""
MOUTH_CORNERS = (48, 54)
"""The subject's right, then left mouth corner."""
UPPER_LIP_TOP, LOWER_LIP_BOTTOM = 51, 57
INNER_UPPER_LIP, INNER_LOWER_LIP = 62, 66
ORDER_NOTE = ("iBUG 300-W 68-point order, image left to right (the subject's right first): 0-16 jaw contour "
              "(8 the chin), 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth (48/54 mouth corners, 51 upper-lip "
              "top, 57 lower-lip bottom, 62 inner upper lip, 66 inner lower lip)")
BARY_SUM_TOLERANCE = 1e-4
"""How far a row of barycentric weights may sum from 1 (float32 files round)."""


@dataclass(frozen=True, eq=False)
class LandmarkEmbedding:
    """68 landmarks as points on mesh triangles, checked on construction (rows, finite weights
    that sum to 1); :meth:`check` checks the face ids against a mesh."""

    face_idx: np.ndarray
    """(68,) int64 triangle (row of the faces array) of each landmark."""
    bary: np.ndarray
    """(68, 3) float64 barycentric weights of the triangle's three corners, each row summing to 1."""
    source: str = field(default="landmark embedding", compare=False)
    """Where the embedding came from, named in error messages."""

    def __post_init__(self) -> None:
        face_idx, bary = np.asarray(self.face_idx), np.asarray(self.bary)
        if face_idx.shape != (NUM_LANDMARKS,) or not np.issubdtype(face_idx.dtype, np.integer):
            raise PtalkerError(f"{self.source}: face ids have shape {face_idx.shape} and dtype {face_idx.dtype}, "
                               f"expected ({NUM_LANDMARKS},) integers; give a 68-landmark embedding")
        if bary.shape != (NUM_LANDMARKS, 3) or not np.issubdtype(bary.dtype, np.number):
            raise PtalkerError(f"{self.source}: barycentric weights have shape {bary.shape}, expected "
                               f"({NUM_LANDMARKS}, 3); give a 68-landmark embedding")
        bary = bary.astype(np.float64)
        worst = np.abs(bary.sum(axis=1) - 1.0).max() if np.isfinite(bary).all() else math.inf
        if worst > BARY_SUM_TOLERANCE:
            raise PtalkerError(f"{self.source}: barycentric weights must be finite and each row sum to 1 (off by up "
                               f"to {worst:.3g}); the file is not a landmark embedding or is corrupted")
        object.__setattr__(self, "face_idx", face_idx.astype(np.int64))
        object.__setattr__(self, "bary", bary)

    def check(self, num_faces: int) -> None:
        """Raise PtalkerError unless every face id names one of ``num_faces`` triangles."""
        low, high = int(self.face_idx.min()), int(self.face_idx.max())
        if low < 0 or high >= num_faces:
            raise PtalkerError(f"{self.source}: face ids span [{low}, {high}] but the mesh has {num_faces} triangles; "
                               "use the embedding made for this mesh (the head model's)")


def landmarks_3d(vertices: np.ndarray, faces: np.ndarray, embedding: LandmarkEmbedding) -> np.ndarray:
    """The landmarks of each frame: (T, V, 3) -> (T, 68, 3), or (V, 3) -> (68, 3).

    Each landmark is the barycentric mix of the corners of its triangle in ``faces`` (F, 3), in
    the vertices' units and float dtype (float64 for integer input).

    Raises:
        PtalkerError: a bad vertex or face array, faces that index past the vertices, or an
            embedding whose face ids do not fit ``faces``.
    """
    points = np.asarray(vertices)
    if points.ndim not in (2, 3) or points.shape[-1] != 3 or not np.issubdtype(points.dtype, np.number):
        raise PtalkerError(f"vertices: expected (T, V, 3) or (V, 3) numbers, got {points.shape} {points.dtype}")
    triangles = np.asarray(faces)
    if triangles.ndim != 2 or triangles.shape[1] != 3 or not np.issubdtype(triangles.dtype, np.integer):
        raise PtalkerError(f"faces: expected (F, 3) integer vertex ids, got {triangles.shape} {triangles.dtype}")
    num_vertices = points.shape[-2]
    if triangles.size and (triangles.min() < 0 or triangles.max() >= num_vertices):
        raise PtalkerError(f"vertices: {num_vertices} per frame, but the faces use vertex ids up to "
                           f"{int(triangles.max())}; pass a sequence of the mesh these faces (and landmarks) belong to")
    embedding.check(len(triangles))
    corners = points[..., triangles[embedding.face_idx], :]  # (..., 68, 3 corners, 3)
    dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64
    return np.einsum("...kjc,kj->...kc", corners, embedding.bary).astype(dtype, copy=False)


class PinholeCamera(Protocol):
    """What :func:`project_landmarks` reads of a camera (``ptalker.render.settings.Camera`` is one)."""

    position: np.ndarray
    """(3,) camera centre; the camera looks along -z with y up."""
    yfov: float
    """Vertical field of view in radians."""
    aspect: float
    """Width / height the field of view is stretched to."""


def project_landmarks(points: np.ndarray, camera: PinholeCamera, width: int, height: int) -> np.ndarray:
    """Pixel coordinates (..., N, 2) of points (..., N, 3) (landmarks: N = 68) in a ``width`` x
    ``height`` image of ``camera``, as the renderer draws them (OpenGL perspective).

    Pixels: x to the right, y down, (0, 0) the top-left corner of the image, so a pixel's centre
    is at +0.5 and a point on the camera's axis lands at (width / 2, height / 2).

    Raises:
        PtalkerError: a bad point array or image size, or a point not in front of the camera.
    """
    array = np.asarray(points, dtype=np.float64)
    if array.ndim < 2 or array.shape[-1] != 3:
        raise PtalkerError(f"points: expected (..., N, 3) positions, got {array.shape}")
    if int(width) < 1 or int(height) < 1:
        raise PtalkerError(f"image size: expected positive width and height, got {width}x{height}; pass e.g. 512 512")
    offset = array - np.asarray(camera.position, dtype=np.float64)  # (..., N, 3) in camera axes
    depth = -offset[..., 2]
    if not np.all(depth > 0):
        raise PtalkerError(f"points: {int(np.sum(~(depth > 0)))} lie behind the camera (or are not finite); "
                           "frame the camera on the mesh (ptalker.render.settings.frame_camera)")
    tan_half = math.tan(camera.yfov / 2)
    focal_y = height / (2 * tan_half)  # pixels per unit of offset / depth
    focal_x = width / (2 * tan_half * camera.aspect)
    x = width / 2 + focal_x * offset[..., 0] / depth
    y = height / 2 - focal_y * offset[..., 1] / depth
    return np.stack([x, y], axis=-1)
