"""Non-rigid ICP (Amberg, Romdhani and Vetter 2007, "Optimal step nonrigid ICP"): one affine
transform per template vertex, kept alike along edges by a stiffness that is lowered step by step,
each vertex pulled onto the user's surface (the tangent plane of its nearest surface sample).

Written here rather than taken from ``trimesh.registration.nricp_amberg`` for three things that
one lacks: per-vertex weights (the eyeballs and mouth interior of the head model must not be
pulled onto the skin), rejection of pairs whose normals disagree (an upper lip must not snap onto
a lower one), and a scale-free setting (coordinates are normalised by the template's RMS radius).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ptalker.retarget.surface import SurfaceSample, vertex_normals

STIFFNESS = (20.0, 8.0, 3.0, 1.5, 0.8)
"""Stiffness weights, high to low (coordinates in template RMS radii)."""
ITERATIONS_PER_STEP = 2
GAMMA = 1.0
"""Weight of each transform's translation against its linear part in the stiffness term."""
MAX_DISTANCE = 0.15
"""Pairs farther apart than this (template RMS radii) are ignored."""
MIN_NORMAL_DOT = 0.5
"""Pairs whose normals differ by more than 60 degrees are ignored."""
ANCHOR = 0.05
"""Weight of each vertex's pull back to its start: the data term only pulls along normals, so without
it the template would slide along the surface as the stiffness drops."""


@dataclass
class LandmarkPull:
    """Template points pinned to user positions: barycentric points of template triangles."""

    face: np.ndarray
    """(L,) int64 template triangles."""
    bary: np.ndarray
    """(L, 3) barycentric weights."""
    target: np.ndarray
    """(L, 3) user-frame positions."""
    weight: float = 1.0


def _edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) unique undirected edges of ``faces`` (F, 3)."""
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _point_rows(vertices: np.ndarray, columns: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """(N, 4V) rows mixing the homogeneous points [x, y, z, 1] of ``vertices`` (V, 3) at the vertex
    ids ``columns`` (N, K) with ``weights`` (N, K)."""
    n, k = columns.shape
    homogeneous = np.concatenate([vertices, np.ones((len(vertices), 1))], axis=1)  # (V, 4)
    values = (weights[:, :, None] * homogeneous[columns]).reshape(n, 4 * k)  # (N, 4K)
    cols = (4 * columns[:, :, None] + np.arange(4)).reshape(n, 4 * k)
    rows = np.repeat(np.arange(n), 4 * k)
    return sp.csr_matrix((values.ravel(), (rows, cols.ravel())), shape=(n, 4 * len(vertices)))


def nricp(vertices: np.ndarray, faces: np.ndarray, surface: SurfaceSample, weights: np.ndarray,
          landmarks: LandmarkPull | None = None, stiffness: tuple[float, ...] = STIFFNESS) -> np.ndarray:
    """Deform ``vertices`` (V, 3) (already placed on the user's mesh by a similarity) with
    triangles ``faces`` (F, 3) onto ``surface`` (the user's, same frame); ``weights`` (V,) say how
    much each vertex is pulled (0: carried along by its neighbours only). Returns the fitted (V, 3)."""
    centre = vertices.mean(axis=0)
    radius = float(np.sqrt(((vertices - centre) ** 2).sum(axis=1).mean()))
    source = (vertices - centre) / radius  # (V, 3) normalised
    points, normals = (surface.points - centre) / radius, surface.normals
    count = len(source)
    edges = _edges(faces)
    incidence = sp.csr_matrix((np.r_[np.ones(len(edges)), -np.ones(len(edges))],
                               (np.r_[np.arange(len(edges)), np.arange(len(edges))], np.r_[edges[:, 0], edges[:, 1]])),
                              shape=(len(edges), count))
    smooth = sp.kron(incidence, sp.diags([1.0, 1.0, 1.0, GAMMA])).tocsr()  # (4E, 4V)
    data = _point_rows(source, np.arange(count)[:, None], np.ones((count, 1)))  # (V, 4V)
    affine = np.tile(np.eye(4, 3), (count, 1))  # (4V, 3) identity transforms
    pins = None
    if landmarks is not None:
        pins = _point_rows(source, faces[landmarks.face], landmarks.bary)  # (L, 4V)
        pin_target = (landmarks.target - centre) / radius
    tree_surface = SurfaceSample(points=points, normals=normals, tree=surface.tree)
    for alpha in stiffness:
        for _ in range(ITERATIONS_PER_STEP):
            moved = data @ affine  # (V, 3)
            _, index = surface.tree.query(moved * radius + centre)
            foot, normal = tree_surface.points[index], tree_surface.normals[index]
            gap = np.einsum("ij,ij->i", moved - foot, normal)
            target = moved - gap[:, None] * normal  # (V, 3) on the tangent plane
            agree = np.einsum("ij,ij->i", vertex_normals(moved, faces), normal) > MIN_NORMAL_DOT
            w = weights * agree * (np.linalg.norm(moved - foot, axis=1) < MAX_DISTANCE)
            blocks = [alpha * smooth, sp.diags(w) @ data, ANCHOR * data]
            rhs = [np.zeros((smooth.shape[0], 3)), w[:, None] * target, ANCHOR * source]
            if pins is not None:
                blocks.append(landmarks.weight * pins)
                rhs.append(landmarks.weight * pin_target)
            system = sp.vstack(blocks).tocsr()
            normal_matrix, right = (system.T @ system).tocsc(), system.T @ np.concatenate(rhs)
            affine = splu(normal_matrix, permc_spec="MMD_AT_PLUS_A").solve(right)  # (4V, 3)
    return (data @ affine) * radius + centre
