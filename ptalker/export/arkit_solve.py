"""ARKit blend-shape weights of a vertex sequence: per frame 52 weights in [0, 1], head and eye angles.

The basis (52 vertex offsets on the sequence's neutral head) comes from the head model
(:mod:`ptalker.flame.arkit`); this module takes plain arrays. Method:

1. head pose: the rigid motion of the head per frame (Kabsch on the scalp and ears,
   :func:`ptalker.mesh.stabilize.remove_head_motion`), undone per vertex as the head model skins it:
   a frame is ``x + w (R x + t - x)`` with w the vertex's head weight, so ``x`` is solved back
   exactly also on the neck, which follows the head only partly;
2. weights: bounded least squares of all frames at once (a box-constrained quadratic solved by
   primal-dual active sets, each step one banded sparse LU solve), on the mean squared vertex
   distance in mm^2, plus ``smoothness`` x the squared second differences over frames and
   ``ridge`` x the square of each shape's motion (its weight x its RMS offset in mm); weights in [0, 1]; shapes with zero offsets
   keep weight 0. Opposite pairs (``pairs``: shapes that move the same vertices in opposite
   directions) are used one at a time, as ARKit does: after a first solve, per frame the member
   with the smaller motion (weight x RMS offset) is held at 0 and the weights are solved again;
3. angles: the head's yaw, pitch, roll (intrinsic Y-X-Z Euler angles of R, radians: yaw about the
   head's up axis +y, pitch about +x, the subject's left, chin down positive, roll about +z,
   forward) and each eyeball's, relative to the head (Kabsch of its vertices).

The reconstruction ``template + weights @ offsets``, posed back by step 1, is compared with the input:
mean and max vertex distance in mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from scipy.spatial.transform import Rotation

from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_frames, as_template
from ptalker.mesh.stabilize import remove_head_motion

MM_PER_M = 1000.0
EULER_ORDER = "YXZ"
"""Yaw (about y), then pitch (about x), then roll (about z), intrinsic."""
MAX_ACTIVE_SET_STEPS = 50
"""Most active-set steps of the bounded solve (it stops when the sets repeat, usually within 10)."""
ACTIVE_NORM_M = 1e-9
"""Shapes whose offsets are all shorter than this are zero shapes: their weight stays 0."""


@dataclass(frozen=True)
class SolveSettings:
    """How :func:`solve_arkit` weighs smoothness and small weights against the mean squared vertex
    distance (mm^2); both act on each shape's motion, weight x RMS offset (mm)."""

    smoothness: float = 1e-3
    """Weight of the squared second differences over frames."""
    ridge: float = 1e-5
    """Weight of the squares."""

    def check(self) -> "SolveSettings":
        for name in ("smoothness", "ridge"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise PtalkerError(f"SolveSettings.{name}: got {value!r}, expected a finite number >= 0")
        return self


@dataclass(frozen=True)
class ArkitSolve:
    """What :func:`solve_arkit` found for T frames."""

    weights: np.ndarray
    """(T, 52) float32 in [0, 1], in the order of the basis."""
    head_angles: np.ndarray
    """(T, 3) head yaw, pitch, roll in radians (see module doc)."""
    eye_angles: np.ndarray
    """(T, 2, 3) left and right eye yaw, pitch, roll in radians, relative to the head."""
    error_mean_mm: float
    error_max_mm: float

    def __str__(self) -> str:
        return (f"ARKit weights of {len(self.weights)} frames: reconstruction error {self.error_mean_mm:.3f} mm mean, "
                f"{self.error_max_mm:.3f} mm max")


def solve_arkit(vertices: np.ndarray, offsets: np.ndarray, template: np.ndarray, rigid_ids: np.ndarray,
                head_weights: np.ndarray | None = None, eyeballs: tuple[np.ndarray, np.ndarray] | None = None,
                pairs: tuple[tuple[int, int], ...] = (), settings: SolveSettings | None = None) -> ArkitSolve:
    """ARKit weights of ``vertices`` (T, V, 3) in the basis ``offsets`` (K, V, 3) on ``template`` (V, 3).

    ``rigid_ids`` (R,): vertices that move only with the head; ``head_weights`` (V,): how much each
    vertex follows the head (default 1 everywhere: the whole mesh moves rigidly); ``eyeballs``: the
    two eyeballs' vertex ids, for the eye angles (zero without them); ``pairs``: index pairs of
    opposite shapes, used one at a time.

    Raises:
        PtalkerError: arrays of mismatching vertex counts, non-finite values, bad settings.
    """
    settings = (settings or SolveSettings()).check()
    offsets = np.asarray(offsets, np.float64)
    if offsets.ndim != 3 or offsets.shape[2] != 3:
        raise PtalkerError(f"offsets: got shape {offsets.shape}, expected (K, V, 3) blend-shape offsets")
    vertices = as_frames(vertices, "vertices")
    if vertices.shape[1] != offsets.shape[1] or not np.isfinite(vertices).all():
        raise PtalkerError(f"vertices: got {vertices.shape[1]} vertices per frame (finite: "
                           f"{bool(np.isfinite(vertices).all())}), expected {offsets.shape[1]}, the head model's mesh; "
                           "ARKit weights are solved on the head model's topology only")
    template = as_template(template, offsets.shape[1])
    follow = np.ones(len(template)) if head_weights is None else np.asarray(head_weights, np.float64)
    motion = remove_head_motion(vertices, template, rigid_ids)
    rotation = Rotation.from_rotvec(motion.rotation).as_matrix()  # (T, 3, 3)
    local = unpose(vertices, rotation, motion.translation, follow)  # (T, V, 3)
    weights = _bounded_weights(local - template, offsets, settings, np.ones((len(vertices), len(offsets))))
    if pairs:
        size = np.sqrt((offsets ** 2).sum(axis=(1, 2)))  # (K,)
        upper = np.ones_like(weights)  # (T, K)
        for a, b in pairs:
            smaller = np.where(weights[:, a] * size[a] >= weights[:, b] * size[b], b, a)  # (T,)
            upper[np.arange(len(weights)), smaller] = 0.0
        weights = _bounded_weights(local - template, offsets, settings, upper)  # (T, K)
    rebuilt = pose(template + np.einsum("tk,kvc->tvc", weights, offsets), rotation, motion.translation, follow)
    distance = np.linalg.norm(rebuilt - vertices, axis=-1) * MM_PER_M  # (T, V)
    eyes = np.zeros((len(vertices), 2, 3))
    if eyeballs is not None:
        for side, ids in enumerate(eyeballs):
            turned = remove_head_motion(local, template, ids).rotation  # (T, 3) relative to the head
            eyes[:, side] = Rotation.from_rotvec(turned).as_euler(EULER_ORDER)
    return ArkitSolve(weights.astype(np.float32), Rotation.from_matrix(rotation).as_euler(EULER_ORDER), eyes,
                      float(distance.mean()), float(distance.max()))


def pose(local: np.ndarray, rotation: np.ndarray, translation: np.ndarray, follow: np.ndarray) -> np.ndarray:
    """(T, V, 3) frames ``x + w (R x + t - x)`` of ``local`` (T, V, 3), ``rotation`` (T, 3, 3),
    ``translation`` (T, 3) and head weights ``follow`` (V,)."""
    moved = np.einsum("tij,tvj->tvi", rotation, local) + translation[:, None]
    return local + follow[None, :, None] * (moved - local)


def unpose(vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray, follow: np.ndarray) -> np.ndarray:
    """The ``local`` (T, V, 3) that :func:`pose` maps onto ``vertices``: per vertex and frame
    ``((1 - w) I + w R) x = v - w t``, solved exactly (R^T (v - t) where w = 1)."""
    local = np.einsum("tji,tvj->tvi", rotation, vertices - translation[:, None])  # (T, V, 3) w = 1
    partial = np.flatnonzero(follow < 1.0)
    if partial.size:
        w = follow[partial][None, :, None, None]  # (1, P, 1, 1)
        matrices = (1.0 - w) * np.eye(3) + w * rotation[:, None]  # (T, P, 3, 3)
        right = vertices[:, partial] - follow[partial][None, :, None] * translation[:, None]  # (T, P, 3)
        local[:, partial] = np.linalg.solve(matrices, right[..., None])[..., 0]
    return local


def _bounded_weights(motion: np.ndarray, offsets: np.ndarray, settings: SolveSettings,
                     upper: np.ndarray) -> np.ndarray:
    """(T, K) weights in [0, ``upper`` (T, K)] of ``motion`` (T, V, 3) (module doc, step 2)."""
    num_frames, num_vertices = motion.shape[:2]
    active = np.flatnonzero(np.abs(offsets).max(axis=(1, 2)) > ACTIVE_NORM_M)
    basis = offsets[active].reshape(len(active), -1) * MM_PER_M  # (A, V*3) mm
    gram = basis @ basis.T / num_vertices  # (A, A)
    scale = np.diag(gram.diagonal())  # (A, A) mean squared mm of each shape at weight 1
    gram = gram + settings.ridge * scale
    targets = motion.reshape(num_frames, -1) * MM_PER_M @ basis.T / num_vertices  # (T, A)
    hessian = scipy.sparse.kron(scipy.sparse.eye(num_frames), gram)  # (T*A, T*A), frame-major
    if num_frames > 2 and settings.smoothness > 0:
        second = scipy.sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(num_frames - 2, num_frames))  # (T-2, T)
        hessian = hessian + settings.smoothness * scipy.sparse.kron(second.T @ second, scale)
    solved = box_quadratic(hessian.tocsr(), targets.reshape(-1), upper[:, active].reshape(-1))
    weights = np.zeros((num_frames, len(offsets)))
    weights[:, active] = solved.reshape(num_frames, len(active))
    return weights


def box_quadratic(hessian: scipy.sparse.csr_matrix, linear: np.ndarray, upper: np.ndarray,
                  max_iterations: int = MAX_ACTIVE_SET_STEPS) -> np.ndarray:
    """(N,) x in [0, ``upper``] minimising ``x^T H x / 2 - linear^T x`` for a banded positive definite
    ``hessian`` (N, N) and ``upper`` (N,) in {0, 1}: primal-dual active sets (each step fixes the
    coordinates whose scaled gradient step leaves the box and solves for the others exactly), from
    the unbounded solution clipped to the box, until the sets repeat."""
    diagonal = hessian.diagonal()
    fixed = upper <= 0.0
    x = np.clip(_banded_solve(hessian, linear), 0.0, upper)  # the unbounded solution, clipped: the first sets
    sets = None
    for _ in range(max_iterations):
        step = x - (hessian @ x - linear) / diagonal
        lower, high = (step < 0.0) | fixed, (step > upper) & ~fixed
        if sets is not None and np.array_equal(lower, sets[0]) and np.array_equal(high, sets[1]):
            break
        sets = (lower, high)
        free = np.flatnonzero(~(lower | high))
        x = np.where(high, upper, 0.0)
        if free.size:
            right = linear[free] - hessian[free] @ x
            x[free] = _banded_solve(hessian[free][:, free], right)
    return np.clip(x, 0.0, upper)


def _banded_solve(matrix: scipy.sparse.spmatrix, right: np.ndarray) -> np.ndarray:
    """Solve the banded ``matrix`` (N, N) x = ``right`` (N,) (sparse LU in the given order: no fill beyond the band)."""
    return scipy.sparse.linalg.splu(scipy.sparse.csc_matrix(matrix), permc_spec="NATURAL").solve(right)
