"""Landmarks (FLAME's 51-point static embedding) and region masks of the stand-in head."""

from __future__ import annotations

import numpy as np

from ptalker.flame.standin.mesh import StandinMesh
from ptalker.flame.standin.sdf import EYE_CENTER_M, MOUTH_LINE_Y_M

BROW_POINTS_M = [(-0.052, 0.044), (-0.043, 0.049), (-0.033, 0.051), (-0.023, 0.050), (-0.013, 0.047)]
NOSE_BRIDGE_M = [(0.0, 0.036), (0.0, 0.022), (0.0, 0.006), (0.0, -0.012)]
NOSE_BASE_M = [(-0.013, -0.024), (-0.007, -0.027), (0.0, -0.028), (0.007, -0.027), (0.013, -0.024)]
UPPER_LIP_M = [(-0.017, 0.008), (-0.008, 0.012), (0.0, 0.010), (0.008, 0.012), (0.017, 0.008)]
LOWER_LIP_M = [(0.017, -0.012), (0.008, -0.016), (0.0, -0.017), (-0.008, -0.016), (-0.017, -0.012)]


def _skin(mesh: StandinMesh) -> np.ndarray:
    """Boolean (V,): vertices of the outer skin (not the mouth bag or eyeballs)."""
    skin = np.ones(len(mesh.vertices), dtype=bool)
    skin[mesh.bag] = False
    for ids in mesh.eyeballs:
        skin[ids] = False
    return skin


def _front_vertex(v: np.ndarray, mesh: StandinMesh, x: float, y: float) -> int:
    """The skin vertex facing forward that lies closest to (x, y) in a front view."""
    candidates = np.flatnonzero(_skin(mesh) & (v[:, 2] > 0.03))
    return int(candidates[np.argmin(np.hypot(v[candidates, 0] - x, v[candidates, 1] - y))])


def _slit_points(slit, fractions: list[float], lower: bool) -> list[int]:
    ids = slit.lower if lower else slit.upper
    return [int(ids[int(round(f * (len(ids) - 1)))]) for f in fractions]


def landmark_vertices(v: np.ndarray, mesh: StandinMesh) -> np.ndarray:
    """The 51 landmarks (iBUG 68 without the jaw contour) as vertex ids, in FLAME's order."""
    pick = [_front_vertex(v, mesh, x, y) for x, y in BROW_POINTS_M]
    pick += [_front_vertex(v, mesh, -x, y) for x, y in BROW_POINTS_M[::-1]]
    pick += [_front_vertex(v, mesh, x, y) for x, y in NOSE_BRIDGE_M + NOSE_BASE_M]
    for slit in (mesh.eyes[1], mesh.eyes[0]):  # image left to right: the subject's right eye first
        pick += [slit.corners[0], *_slit_points(slit, [0.3, 0.7], False), slit.corners[1],
                 *_slit_points(slit, [0.7, 0.3], True)]
    right, left = mesh.mouth.corners
    pick.append(_front_vertex(v, mesh, v[right, 0] - 0.003, MOUTH_LINE_Y_M))
    pick += [_front_vertex(v, mesh, x, MOUTH_LINE_Y_M + dy) for x, dy in UPPER_LIP_M]
    pick.append(_front_vertex(v, mesh, v[left, 0] + 0.003, MOUTH_LINE_Y_M))
    pick += [_front_vertex(v, mesh, x, MOUTH_LINE_Y_M + dy) for x, dy in LOWER_LIP_M]
    pick += [right, *_slit_points(mesh.mouth, [0.25, 0.5, 0.75], False), left,
             *_slit_points(mesh.mouth, [0.75, 0.5, 0.25], True)]
    return np.asarray(pick, dtype=np.int64)


def landmark_embedding(v: np.ndarray, mesh: StandinMesh) -> dict[str, np.ndarray]:
    """FLAME's static embedding: a face per landmark and barycentric weights (one-hot here)."""
    ids = landmark_vertices(v, mesh)
    face_idx, coords = [], []
    for vid in ids:
        face = int(np.flatnonzero((mesh.faces == vid).any(axis=1))[0])
        face_idx.append(face)
        coords.append((mesh.faces[face] == vid).astype(float))
    return {"lmk_face_idx": np.asarray(face_idx, dtype=np.int64), "lmk_b_coords": np.asarray(coords)}


def _ellipse(v: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((v[:, 0] - cx) / rx) ** 2 + ((v[:, 1] - cy) / ry) ** 2 < 1.0


CONTACT_MIDDLE_FRACTION = 0.5
"""Share of the mouth slit, around its middle, whose upper/lower vertices make the lip contact."""


def contact_pairs(mesh: StandinMesh) -> dict[str, np.ndarray]:
    """Paired vertex ids across the mouth and eye slits (i-th upper meets i-th lower when closed).

    ``lip_contact_upper``/``lip_contact_lower`` cover the middle of the mouth (the corners stay
    shut whatever the mouth does); ``{left,right}_lid_upper``/``_lower`` the whole eye slits;
    ``mouth_corners`` is (left, right).
    """
    n = len(mesh.mouth.upper)
    skip = int(round(n * (1 - CONTACT_MIDDLE_FRACTION) / 2))
    middle = slice(skip, n - skip)
    right, left = mesh.mouth.corners
    pairs = {"lip_contact_upper": mesh.mouth.upper[middle], "lip_contact_lower": mesh.mouth.lower[middle],
             "mouth_corners": np.array([left, right])}
    for side, slit in zip(("left", "right"), mesh.eyes):
        pairs[f"{side}_lid_upper"], pairs[f"{side}_lid_lower"] = slit.upper, slit.lower
    return {name: np.asarray(ids, dtype=np.int64) for name, ids in pairs.items()}


def region_masks(v: np.ndarray, mesh: StandinMesh) -> dict[str, np.ndarray]:
    """Vertex ids per region, with FLAME_masks.pkl's names where FLAME has them.

    'lips' is the LVE set and 'forehead' + 'eye_region' the FDD set, as the field uses FLAME's.
    The paired sets of :func:`contact_pairs` come along (they are ordered, not sorted).
    """
    skin = _skin(mesh)
    front = skin & (v[:, 2] > 0.02)
    lips = front & _ellipse(v, 0.0, MOUTH_LINE_Y_M - 0.001, 0.029, 0.016) & (v[:, 2] > 0.06)
    eyes = np.zeros(len(v), dtype=bool)
    for sign in (1.0, -1.0):
        eyes |= front & _ellipse(v, sign * EYE_CENTER_M[0], EYE_CENTER_M[1] + 0.003, 0.026, 0.020)
    masks = {
        "lips": lips,
        "mouth": (front & _ellipse(v, 0.0, MOUTH_LINE_Y_M, 0.042, 0.03)) | np.isin(np.arange(len(v)), mesh.bag),
        "forehead": front & (v[:, 1] > 0.058) & (np.abs(v[:, 0]) < 0.06),
        "eye_region": eyes,
        "nose": front & _ellipse(v, 0.0, 0.0, 0.02, 0.035) & (v[:, 2] > 0.075),
        "face": front & (v[:, 1] > -0.105) & (v[:, 1] < 0.075) & (np.abs(v[:, 0]) < 0.065),
        "neck": skin & (v[:, 1] < -0.09) & ~(front & (v[:, 1] > -0.105)),
        "scalp": skin & (v[:, 1] > 0.04) & ~(front & (v[:, 1] < 0.09)),
        "left_ear": skin & (v[:, 0] > 0.068) & (np.abs(v[:, 1] - 0.01) < 0.033) & (np.abs(v[:, 2] + 0.014) < 0.022),
        "right_ear": skin & (v[:, 0] < -0.068) & (np.abs(v[:, 1] - 0.01) < 0.033) & (np.abs(v[:, 2] + 0.014) < 0.022),
        "boundary": np.isin(np.arange(len(v)), mesh.grid[-1]),
    }
    out = {name: np.flatnonzero(mask).astype(np.int64) for name, mask in masks.items()}
    out["left_eyeball"] = mesh.eyeballs[0].astype(np.int64)
    out["right_eyeball"] = mesh.eyeballs[1].astype(np.int64)
    out["upper_face"] = np.union1d(out["forehead"], out["eye_region"])
    out.update(contact_pairs(mesh))
    return out
