"""Landmarks (FLAME's 51-point static embedding, and the iBUG 68 with the jaw contour) and region
masks of the stand-in head."""

from __future__ import annotations

import numpy as np

from ptalker.flame.standin.mesh import StandinMesh
from ptalker.flame.standin.sdf import EYE_CENTER_M, MOUTH_LINE_Y_M
from ptalker.mesh.landmarks import JAW, LandmarkEmbedding

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


JAW_TOP_Y_M = 0.01
"""Height of the jaw contour's ends: the ears' centre."""
JAW_FRONT_Z_M = 0.02
"""The jaw contour is the outline of the skin in front of this plane (which leaves out the ears
and the neck): the face ellipsoid's widest plane."""


def _lower_hull(points: np.ndarray) -> np.ndarray:
    """The lower convex hull (K, 2) of 2D ``points`` (N, 2), left to right (monotone chain)."""
    chain: list[np.ndarray] = []
    for point in points[np.lexsort((points[:, 1], points[:, 0]))]:
        while len(chain) >= 2:
            (ax, ay), (bx, by) = chain[-1] - chain[-2], point - chain[-2]
            if ax * by - ay * bx > 0:  # a left turn: keep the last point
                break
            chain.pop()
        chain.append(point)
    return np.asarray(chain)


def jaw_contour_vertices(v: np.ndarray, mesh: StandinMesh) -> np.ndarray:
    """The 17 jaw-contour landmarks (iBUG 0-16) as vertex ids, image left to right.

    In a front view (x, y) the skin in front of ``JAW_FRONT_Z_M`` and below ``JAW_TOP_Y_M`` has a
    lower outline running from one ear's level around the chin to the other's; 17 points evenly
    spaced along its convex hull are each moved to the nearest skin vertex of that view. The
    mesh is mirror symmetric, so the contour is too, with the chin (8) on x = 0.
    """
    candidates = np.flatnonzero(_skin(mesh) & (v[:, 2] > JAW_FRONT_Z_M) & (v[:, 1] <= JAW_TOP_Y_M))
    front = v[candidates, :2]  # (N, 2)
    hull = _lower_hull(front)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(hull, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], len(JAW))
    points = np.stack([np.interp(targets, arc, hull[:, 0]), np.interp(targets, arc, hull[:, 1])], axis=-1)
    nearest = np.argmin(np.linalg.norm(front[None] - points[:, None], axis=-1), axis=1)  # (17,)
    return candidates[nearest].astype(np.int64)


def _on_faces(ids: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A face holding each vertex of ``ids`` (K,) and one-hot barycentric weights (K, 3) on it."""
    face_idx = np.asarray([np.flatnonzero((faces == vid).any(axis=1))[0] for vid in ids], dtype=np.int64)
    return face_idx, (faces[face_idx] == np.asarray(ids)[:, None]).astype(float)


def landmark_embedding(v: np.ndarray, mesh: StandinMesh) -> dict[str, np.ndarray]:
    """FLAME's static embedding: a face per landmark and barycentric weights (one-hot here)."""
    face_idx, coords = _on_faces(landmark_vertices(v, mesh), mesh.faces)
    return {"lmk_face_idx": face_idx, "lmk_b_coords": coords}


def landmark_embedding_68(v: np.ndarray, mesh: StandinMesh) -> LandmarkEmbedding:
    """The iBUG 68: :func:`jaw_contour_vertices`, then the 51 static landmarks in their order."""
    ids = np.concatenate([jaw_contour_vertices(v, mesh), landmark_vertices(v, mesh)])
    face_idx, coords = _on_faces(ids, mesh.faces)
    return LandmarkEmbedding(face_idx, coords, source="stand-in head")


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
