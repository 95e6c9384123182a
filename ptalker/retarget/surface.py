"""Closest points on a triangle mesh and dense surface samples, without a spatial-index package.

trimesh's ``mesh.nearest`` needs rtree, which ptalker does not install: :class:`SurfaceIndex`
finds candidate triangles with scipy KD-trees (the triangles whose centroids are nearest, and
those around the nearest vertex) and projects each point onto them exactly
(``trimesh.triangles.closest_point``). :class:`SurfaceSample` is a dense point cloud of a surface
with its triangle normals, for the fitting loops, which only need point-to-plane distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

CENTROID_CANDIDATES = 12
"""Triangles whose centroids are nearest a query, projected onto exactly."""
VERTEX_CANDIDATES = 8
"""Triangles around the query's nearest vertex, projected onto exactly (a ring's first ones)."""


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit normals (F, 3) of the triangles ``faces`` (F, 3) of ``vertices`` (V, 3) (degenerate: zeros)."""
    corners = vertices[faces]  # (F, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) (a vertex in no triangle: zeros)."""
    corners = vertices[faces]  # (F, 3, 3)
    weighted = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])  # (F, 3), |.| = 2 area
    normals = np.zeros_like(vertices, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], weighted)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


@dataclass
class ClosestPoints:
    """The closest surface point of each query point."""

    points: np.ndarray
    """(N, 3) closest points."""
    face: np.ndarray
    """(N,) int64 triangle of each."""
    bary: np.ndarray
    """(N, 3) barycentric weights on that triangle."""
    distance: np.ndarray
    """(N,) distance from the query."""


class SurfaceIndex:
    """Exact closest points on the triangles ``faces`` (F, 3) of ``vertices`` (V, 3)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.triangles = self.vertices[self.faces]  # (F, 3, 3)
        self._centroids = cKDTree(self.triangles.mean(axis=1))
        self._vertex_tree = cKDTree(self.vertices)
        ring = np.full((len(self.vertices), VERTEX_CANDIDATES), -1, dtype=np.int64)  # first faces around each vertex
        filled = np.zeros(len(self.vertices), dtype=np.int64)
        for face, corners in enumerate(self.faces):
            for vertex in corners:
                if filled[vertex] < VERTEX_CANDIDATES:
                    ring[vertex, filled[vertex]] = face
                    filled[vertex] += 1
        self._ring = ring

    def closest(self, points: np.ndarray, restrict: np.ndarray | None = None) -> ClosestPoints:
        """The closest point on the surface of each of ``points`` (N, 3); ``restrict`` (N, C) int
        triangle candidates per point replace the searched ones when given."""
        points = np.asarray(points, dtype=np.float64)
        if restrict is None:
            count = min(CENTROID_CANDIDATES, len(self.faces))
            _, near = self._centroids.query(points, k=count)
            near = near.reshape(len(points), count)
            _, nearest_vertex = self._vertex_tree.query(points)
            ring = self._ring[nearest_vertex]  # (N, VERTEX_CANDIDATES), -1 padded
            candidates = np.concatenate([near, np.where(ring >= 0, ring, near[:, :1])], axis=1)  # (N, C)
        else:
            candidates = np.asarray(restrict, dtype=np.int64)
        flat = candidates.reshape(-1)
        repeated = np.repeat(points, candidates.shape[1], axis=0)  # (N*C, 3)
        projected = trimesh.triangles.closest_point(self.triangles[flat], repeated)  # (N*C, 3)
        distance = np.linalg.norm(projected - repeated, axis=1).reshape(candidates.shape)  # (N, C)
        best = distance.argmin(axis=1)
        rows = np.arange(len(points))
        face = candidates[rows, best]
        closest = projected.reshape(*candidates.shape, 3)[rows, best]  # (N, 3)
        bary = trimesh.triangles.points_to_barycentric(self.triangles[face], closest)
        return ClosestPoints(points=closest, face=face, bary=np.clip(bary, 0.0, 1.0), distance=distance[rows, best])


@dataclass
class SurfaceSample:
    """A dense point cloud of a surface: points with their triangles' normals, and a KD-tree."""

    points: np.ndarray
    """(N, 3) points on the surface (the vertices, then random samples)."""
    normals: np.ndarray
    """(N, 3) unit normals (vertex normals at the vertices, triangle normals elsewhere)."""
    tree: cKDTree

    @classmethod
    def of_mesh(cls, vertices: np.ndarray, faces: np.ndarray, count: int, seed: int = 0) -> "SurfaceSample":
        """The vertices (V, 3) plus ``count`` area-uniform random points of the triangles (F, 3)."""
        vertices = np.asarray(vertices, dtype=np.float64)
        corners = vertices[faces]  # (F, 3, 3)
        area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
        rng = np.random.default_rng(seed)
        face = rng.choice(len(faces), size=count, p=area / area.sum()) if area.sum() > 0 else np.zeros(0, int)
        u, v = rng.random((2, len(face)))
        flip = u + v > 1
        u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
        sampled = corners[face, 0] + u[:, None] * (corners[face, 1] - corners[face, 0]) + \
            v[:, None] * (corners[face, 2] - corners[face, 0])  # (count, 3)
        points = np.concatenate([vertices, sampled])
        normals = np.concatenate([vertex_normals(vertices, faces), face_normals(vertices, faces)[face]])
        return cls(points=points, normals=normals, tree=cKDTree(points))

    def nearest(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance (N,), index (N,)) of the nearest sample of each query (N, 3)."""
        return self.tree.query(queries)
