"""Per-vertex normals of a triangle mesh whose vertices move (the faces stay)."""

from __future__ import annotations

import numpy as np
import scipy.sparse

NORMAL_EPS = 1e-12
"""Vertices whose summed face normals are shorter than this get the normal (0, 0, 1)."""


class VertexNormals:
    """Area-weighted vertex normals for a fixed topology, computed with one sparse product.

    The (V, F) vertex-face incidence matrix is built once; each call then sums the face normals
    (cross products, whose length is twice the triangle's area) around every vertex.
    """

    def __init__(self, faces: np.ndarray, num_vertices: int) -> None:
        """``faces``: (F, 3) vertex indices below ``num_vertices``."""
        self.faces = np.asarray(faces, dtype=np.int64)
        num_faces = len(self.faces)
        rows = self.faces.reshape(-1)  # (F*3,) vertex of each face corner
        cols = np.repeat(np.arange(num_faces), 3)  # (F*3,) its face
        ones = np.ones(len(rows), dtype=np.float32)
        self.incidence = scipy.sparse.csr_matrix((ones, (rows, cols)), shape=(num_vertices, num_faces))

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 3) float32 unit normals of (V, 3) ``vertices``."""
        points = np.asarray(vertices, dtype=np.float32)
        corner0, corner1, corner2 = (points[self.faces[:, k]] for k in range(3))  # each (F, 3)
        face_normals = np.cross(corner1 - corner0, corner2 - corner0)  # (F, 3), length 2 * area
        normals = np.asarray(self.incidence @ face_normals, dtype=np.float32)  # (V, 3)
        length = np.linalg.norm(normals, axis=1, keepdims=True)  # (V, 1)
        flat = length[:, 0] < NORMAL_EPS
        normals[flat] = (0.0, 0.0, 1.0)
        length[flat] = 1.0
        return normals / length
