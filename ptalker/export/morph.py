"""A vertex animation as a base mesh plus K morph targets with weights in [0, 1].

The motion offsets (each frame minus the mean frame) are decomposed into principal components; K is the smallest
number of components whose reconstruction keeps every vertex of every frame within
``error_bound`` (euclidean distance, in the mesh's units: 1e-4 is 0.1 mm for metres), capped at
``max_targets``. Each component's coefficient c in [lo, hi] is then mapped exactly onto a weight
in [0, 1]: w = (c - lo) / (hi - lo), the target is scaled by (hi - lo) and the base mesh moves
by lo times the component. Engines that clamp weights to [0, 1] (Blender's importer) play it
back unchanged. A component whose coefficient never changes (hi == lo) keeps weight 0 and
lives in the base mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_ERROR_BOUND = 1e-4
"""Largest allowed vertex error, in mesh units (0.1 mm for meshes in metres, as VOCASET's)."""
DEFAULT_MAX_TARGETS = 64
"""Cap on the number of morph targets."""


@dataclass(frozen=True)
class MorphBasis:
    """``vertices[t] ~= base + sum_k weights[t, k] * targets[k]``, all float32.

    base (V, 3); targets (K, V, 3); weights (T, K) in [0, 1]. ``max_error`` is the largest
    distance between an input vertex and its decoded position over all frames, measured on the
    float32 arrays as stored; ``error_bound`` is what was asked for.
    """

    base: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    max_error: float
    error_bound: float

    @property
    def num_targets(self) -> int:
        return len(self.targets)


def decode(base: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, V, 3) float64 frames from base (V, 3), targets (K, V, 3) and weights (T, K)."""
    offsets = np.einsum("tk,kvc->tvc", weights.astype(np.float64), targets.astype(np.float64))  # (T, V, 3)
    return base.astype(np.float64) + offsets


def max_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The largest euclidean distance between matching points of two (..., 3) arrays."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.sqrt((diff * diff).sum(axis=-1)).max())


def fit_morph_basis(vertices: np.ndarray, error_bound: float = DEFAULT_ERROR_BOUND,
                    max_targets: int = DEFAULT_MAX_TARGETS) -> MorphBasis:
    """Fit a :class:`MorphBasis` to float32 (T, V, 3) ``vertices`` (checked by the caller).

    K is at least 1 and at most ``min(max_targets, T, 3V)``; when the cap stops it first, the
    returned ``max_error`` exceeds ``error_bound``.
    """
    num_frames, num_vertices = vertices.shape[:2]
    offsets = vertices.reshape(num_frames, -1).astype(np.float64)  # (T, V*3)
    mean = offsets.mean(axis=0)  # (V*3,)
    offsets -= mean
    coefficients, components = principal_components(offsets)
    rank = _smallest_rank(offsets, coefficients, components, error_bound, max_targets)
    base, targets, weights = _unit_weights(mean, components[:rank], coefficients[:, :rank])
    base = base.astype(np.float32).reshape(num_vertices, 3)
    targets = targets.astype(np.float32).reshape(rank, num_vertices, 3)
    weights = weights.astype(np.float32)
    error = max_distance(decode(base, targets, weights), vertices)
    return MorphBasis(base, targets, weights, error, float(error_bound))


def principal_components(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal directions of (T, D) float64 ``offsets``, largest variance first.

    Returns coefficients (T, R) and unit (or zero) components (R, D), R = min(T, D), with
    coefficients = offsets @ components.T. Uses the eigenvectors of the smaller Gram matrix:
    for T << D about ten times faster than an SVD; ``fit_morph_basis`` measures the error of
    the result exactly, so the precision lost on tiny components cannot go unnoticed.
    """
    if len(offsets) <= offsets.shape[1]:
        _, left = np.linalg.eigh(offsets @ offsets.T)  # (T, T), ascending eigenvalues
        components = left[:, ::-1].T @ offsets  # (T, D), row k has norm s_k
    else:
        _, right = np.linalg.eigh(offsets.T @ offsets)  # (D, D)
        components = right[:, ::-1].T
    norms = np.linalg.norm(components, axis=1, keepdims=True)  # (R, 1)
    components = components / np.where(norms > 0, norms, 1.0)
    return offsets @ components.T, components


def _smallest_rank(offsets: np.ndarray, coefficients: np.ndarray, components: np.ndarray,
                   error_bound: float, max_targets: int) -> int:
    """The smallest K whose rank-K reconstruction of (T, V*3) ``offsets`` is within the bound."""
    limit = max(1, min(max_targets, len(components)))
    residual = offsets.copy()  # (T, V*3)
    for rank in range(1, limit + 1):
        residual -= np.outer(coefficients[:, rank - 1], components[rank - 1])
        points = residual.reshape(len(residual), -1, 3)  # (T, V, 3)
        if np.sqrt((points * points).sum(axis=-1)).max() <= error_bound:
            return rank
    return limit


def _unit_weights(mean: np.ndarray, components: np.ndarray,
                  coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map (T, K) ``coefficients`` of (K, V*3) ``components`` onto weights in [0, 1].

    Returns base (V*3,), targets (K, V*3) and weights (T, K) with
    base + weights @ targets == mean + coefficients @ components.
    """
    low, high = coefficients.min(axis=0), coefficients.max(axis=0)  # (K,)
    span = np.where(high > low, high - low, 1.0)  # a constant coefficient keeps weight 0
    weights = np.clip((coefficients - low) / span, 0.0, 1.0)  # (T, K); the clip only removes rounding
    return mean + low @ components, components * span[:, None], weights
