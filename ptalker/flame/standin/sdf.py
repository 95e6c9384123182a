"""The stand-in head as a signed distance function built from smooth primitives.

All lengths are metres; axes follow FLAME: +y up, +z forward (out of the face), +x the
subject's left. :class:`HeadParams` holds the proportions that the shape components vary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EYE_CENTER_M = np.array([0.032, 0.028, 0.066])
"""Centre of the left eyeball; the right eye mirrors x."""
EYEBALL_RADIUS_M = 0.0125
LID_THICKNESS_M = 0.0015
MOUTH_LINE_Y_M = -0.048
"""Height where the lips meet."""


@dataclass(frozen=True)
class HeadParams:
    """Multiplicative proportions of the head (1.0 = the mean stand-in head)."""

    head_width: float = 1.0
    head_height: float = 1.0
    head_depth: float = 1.0
    face_length: float = 1.0
    jaw_width: float = 1.0
    nose_length: float = 1.0
    nose_width: float = 1.0
    cheek_fullness: float = 1.0
    lip_fullness: float = 1.0
    brow_prominence: float = 1.0
    ear_size: float = 1.0


def _ellipsoid(p: np.ndarray, center, radii) -> np.ndarray:
    """Approximate signed distance (N,) from points (N, 3) to an ellipsoid."""
    radii = np.asarray(radii, dtype=float)
    q = (p - np.asarray(center, dtype=float)) / radii
    k0 = np.linalg.norm(q, axis=-1)
    k1 = np.linalg.norm(q / radii, axis=-1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below ``edge0``, 1 beyond ``edge1`` (either order), a cubic ramp between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _smooth_subtract(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """``a`` with ``b`` carved out."""
    return -_smooth_union(-a, b, k)


def _mirrored(p: np.ndarray, center, radii) -> np.ndarray:
    """Distance to an ellipsoid and its mirror image across x = 0."""
    mirrored = p * np.array([-1.0, 1.0, 1.0])
    return np.minimum(_ellipsoid(p, center, radii), _ellipsoid(mirrored, center, radii))


def head_sdf(p: np.ndarray, s: HeadParams) -> np.ndarray:
    """Signed distance (N,) of points (N, 3) to the head surface (negative inside)."""
    d = _ellipsoid(p, (0, 0.025, -0.012), (0.074 * s.head_width, 0.092 * s.head_height,
                                            0.098 * s.head_depth))
    face = _ellipsoid(p, (0, -0.032 * s.face_length, 0.024),
                      (0.058 * s.jaw_width * s.head_width, 0.066 * s.face_length, 0.070))
    d = _smooth_union(d, face, 0.02)
    chin = _ellipsoid(p, (0, -0.087 * s.face_length, 0.060), (0.021 * s.jaw_width, 0.017, 0.021))
    d = _smooth_union(d, chin, 0.012)
    cheeks = _mirrored(p, (0.040, -0.008, 0.050), np.array([0.027, 0.026, 0.030]) * s.cheek_fullness)
    d = _smooth_union(d, cheeks, 0.015)
    brow = _ellipsoid(p, (0, 0.047, 0.068), (0.050, 0.013, 0.020 * s.brow_prominence))
    d = _smooth_union(d, brow, 0.018)
    d = _smooth_union(d, _neck(p), 0.03)
    d = _smooth_union(d, _nose(p, s), 0.006)
    d = _smooth_union(d, _lips(p, s), 0.007)
    d = _smooth_union(d, _ears(p, s), 0.004)
    return _eyes(p, d)


def _neck(p: np.ndarray) -> np.ndarray:
    """An upright elliptic cylinder, open downwards (the grid stops above its end)."""
    radial = np.hypot(p[:, 0] / 1.05, p[:, 2] + 0.024)
    above = p[:, 1] + 0.035  # the neck ends inside the head
    return np.maximum(radial - 0.050, above)


def _nose(p: np.ndarray, s: HeadParams) -> np.ndarray:
    tip_z = 0.070 + 0.034 * s.nose_length
    bridge = _ellipsoid(p, (0, 0.010, 0.070 + 0.015 * s.nose_length),
                        (0.0095 * s.nose_width, 0.030, 0.017 * s.nose_length))
    tip = _ellipsoid(p, (0, -0.014, tip_z - 0.011), (0.011 * s.nose_width, 0.011, 0.011))
    alae = _mirrored(p, (0.013 * s.nose_width, -0.019, tip_z - 0.020), (0.0085, 0.0075, 0.009))
    nose = _smooth_union(_smooth_union(bridge, tip, 0.008), alae, 0.005)
    nostrils = _mirrored(p, (0.0065 * s.nose_width, -0.026, tip_z - 0.014), (0.003, 0.0025, 0.004))
    return _smooth_subtract(nose, nostrils, 0.002)


def _lips(p: np.ndarray, s: HeadParams) -> np.ndarray:
    f = s.lip_fullness
    upper = _ellipsoid(p, (0, MOUTH_LINE_Y_M + 0.0065, 0.083), (0.026, 0.0075 * f, 0.0115 * f))
    lower = _ellipsoid(p, (0, MOUTH_LINE_Y_M - 0.0075, 0.081), (0.024, 0.0085 * f, 0.0115 * f))
    lips = _smooth_union(upper, lower, 0.003)
    # a shallow groove where the lips meet, so that closed lips still read as two
    groove = np.hypot((p[:, 1] - MOUTH_LINE_Y_M) / 0.0012, np.maximum(np.abs(p[:, 0]) - 0.022, 0) / 0.004)
    groove_sdf = (groove - 1.0) * 0.0012
    return _smooth_subtract(lips, groove_sdf, 0.001)


def _ears(p: np.ndarray, s: HeadParams) -> np.ndarray:
    e = s.ear_size
    ear = _mirrored(p, (0.073 * s.head_width, 0.010, -0.014), (0.011, 0.030 * e, 0.018 * e))
    concha = _mirrored(p, (0.085 * s.head_width, 0.006, -0.010), (0.006, 0.011 * e, 0.008 * e))
    return _smooth_subtract(ear, concha, 0.003)


def _eyes(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Carve the eye sockets and wrap the lids over the eyeballs."""
    socket = _mirrored(p, EYE_CENTER_M + (0, 0.001, 0.016), (0.013, 0.009, 0.006))
    d = _smooth_subtract(d, socket, 0.006)
    shell = EYEBALL_RADIUS_M + LID_THICKNESS_M
    lids = _mirrored(p, EYE_CENTER_M, (shell, shell, shell))
    return _smooth_union(d, lids, 0.003)


def project_rays(origin: np.ndarray, directions: np.ndarray, params: HeadParams,
                 start_m: np.ndarray | None = None, step_m: float = 0.002,
                 iterations: int = 30) -> np.ndarray:
    """Outermost surface point (N, 3) along each ray (N, 3) from ``origin`` (3,).

    March inwards from ``start_m`` (N,) (default 0.3 m, outside any head) until inside, then
    bisect. Returns the distances (N,) too.
    """
    n = len(directions)
    start = np.full(n, 0.3) if start_m is None else np.asarray(start_m, dtype=float)
    t_out = start.copy()
    t_in = np.full(n, np.nan)
    for k in range(int(np.ceil(start.max() / step_m))):
        todo = np.isnan(t_in)
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        t = np.maximum(start[idx] - k * step_m, 0.0)
        inside = head_sdf(origin + t[:, None] * directions[idx], params) < 0
        t_in[idx[inside]] = t[inside]
        t_out[idx[~inside]] = t[~inside]
    if np.isnan(t_in).any():
        raise RuntimeError("stand-in head: a ray from the centre missed the surface")
    for _ in range(iterations):
        mid = 0.5 * (t_in + t_out)
        inside = head_sdf(origin + mid[:, None] * directions, params) < 0
        t_in = np.where(inside, mid, t_in)
        t_out = np.where(inside, t_out, mid)
    dist = 0.5 * (t_in + t_out)
    return origin + dist[:, None] * directions, dist
