"""Topology and geometry of the stand-in head.

The skin is a latitude-longitude grid around ``RAY_ORIGIN_M`` whose rows and columns are denser
over the face; each grid vertex is the outermost point of the head SDF along its ray. Three
slits cut the grid along rows: the mouth (upper and lower lips are separate vertices, so the
mouth opens when the jaw turns) and the two eyes (the lids). A mouth bag closes the mouth
opening from inside, and two eyeballs sit behind the lids. The topology depends on nothing
but the constants here, so every :class:`HeadParams` gives the same vertex order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptalker.flame.standin.sdf import (
    EYE_CENTER_M,
    EYEBALL_RADIUS_M,
    LID_THICKNESS_M,
    MOUTH_LINE_Y_M,
    HeadParams,
    project_rays,
    smoothstep,
)

RAY_ORIGIN_M = np.array([0.0, -0.005, 0.0])
NUM_ROWS = 46
NUM_COLUMNS = 100
FIRST_ROW_DEG, LAST_ROW_DEG = 4.0, 150.0
MOUTH_HALF_WIDTH_M = 0.0245
EYE_HALF_WIDTH_M = 0.0135
MOUTH_BAG_RINGS = 3
MOUTH_BAG_DEPTH_M = 0.009
EYEBALL_RINGS, EYEBALL_SEGMENTS = 12, 16
CORNEA_BULGE_M = 0.0011
UPPER_LID_OPEN_DEG, LOWER_LID_OPEN_DEG = 34.0, 12.0
UPPER_LID_EXTENT_DEG, LOWER_LID_EXTENT_DEG = 75.0, 50.0


@dataclass
class Slit:
    """A cut along grid row ``row`` between corner columns; interior vertices are doubled."""

    row: int
    columns: np.ndarray
    """Interior columns, left to right in the grid's column order."""
    upper: np.ndarray
    """Vertex ids above the cut (the original grid vertices)."""
    lower: np.ndarray
    """Vertex ids below the cut (the copies)."""
    corners: tuple[int, int]


@dataclass
class StandinMesh:
    """Vertices (V, 3), faces (F, 3) and the bookkeeping the rig needs."""

    vertices: np.ndarray
    faces: np.ndarray
    grid: np.ndarray
    """(NUM_ROWS, NUM_COLUMNS) vertex ids of the skin grid (upper copies on slit rows)."""
    pole: int
    mouth: Slit
    eyes: tuple[Slit, Slit]
    """(left, right) eye slits."""
    lip_loop: np.ndarray
    """The mouth opening's rim: right corner, upper lip, left corner, lower lip back."""
    bag: np.ndarray
    """Vertex ids of the mouth bag, ring after ring behind ``lip_loop``, then its back."""
    bag_side: np.ndarray
    """+1 upper half, -1 lower half, 0 corners and back, per bag vertex."""
    eyeballs: tuple[np.ndarray, np.ndarray]

    def below(self, slit: Slit) -> np.ndarray:
        """Boolean (V,): skin vertices on the lower side of ``slit`` (grid rows below it, copies)."""
        mask = np.zeros(len(self.vertices), dtype=bool)
        mask[self.grid[slit.row + 1:].ravel()] = True
        mask[slit.lower] = True
        return mask


def _warped_angles(count: int, lo: float, hi: float, density, endpoint: bool) -> np.ndarray:
    """``count`` angles in [lo, hi] spaced inversely to ``density`` (inverse-CDF sampling)."""
    fine = np.linspace(lo, hi, 20001)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density(fine[1:]) + density(fine[:-1])))])
    cdf /= cdf[-1]
    q = np.linspace(0.0, 1.0, count, endpoint=endpoint)
    return np.interp(q, cdf, fine)


def _snap(angles: np.ndarray, targets: list[float]) -> tuple[np.ndarray, list[int]]:
    """Move the rows nearest ``targets`` onto them, shifting rows in between linearly."""
    idx = [int(np.argmin(np.abs(angles - t))) for t in targets]
    knots = [0, *idx, len(angles) - 1]
    shifts = [0.0, *[t - angles[i] for t, i in zip(targets, idx)], 0.0]
    return angles + np.interp(np.arange(len(angles)), knots, shifts), idx


def _direction(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit rays (..., 3): theta from +y (up), phi around y from +z (front) towards +x."""
    return np.stack([np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi)], -1)


def _angles_of(point: np.ndarray) -> tuple[float, float]:
    d = point - RAY_ORIGIN_M
    return float(np.arccos(d[1] / np.linalg.norm(d))), float(np.arctan2(d[0], d[2]))


def grid_angles() -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row angles (NUM_ROWS,), column angles (NUM_COLUMNS,), eye row, mouth row."""
    eye_front = EYE_CENTER_M + (0.0, 0.0, EYEBALL_RADIUS_M + LID_THICKNESS_M)
    theta_eye, _ = _angles_of(eye_front)
    theta_mouth, _ = _angles_of(np.array([0.0, MOUTH_LINE_Y_M, 0.09]))
    face_band = np.deg2rad(97.0)
    rows = _warped_angles(NUM_ROWS, np.deg2rad(FIRST_ROW_DEG), np.deg2rad(LAST_ROW_DEG),
                          lambda t: 1.0 + 2.2 * np.exp(-((t - face_band) / 0.45) ** 2), True)
    rows, (eye_row, mouth_row) = _snap(rows, [theta_eye, theta_mouth])
    columns = _warped_angles(NUM_COLUMNS, -np.pi, np.pi,
                             lambda p: 1.0 + 2.6 * np.exp(-(p / 0.6) ** 2), False)
    mirror = (-np.arange(NUM_COLUMNS)) % NUM_COLUMNS  # column j mirrors column N - j
    columns = 0.5 * (columns - columns[mirror])
    columns[0] = -np.pi
    return rows, columns, eye_row, mouth_row


def _slit_columns(columns: np.ndarray, center_phi: float, half_width_rad: float) -> np.ndarray:
    return np.flatnonzero(np.abs(columns - center_phi) <= half_width_rad)


def _grid_faces(grid: np.ndarray, pole: int) -> list[tuple[int, int, int]]:
    """Triangles of the skin grid; diagonals mirror across x = 0 so the mesh is symmetric."""
    rows, cols = grid.shape
    faces = [(pole, grid[0, j], grid[0, (j + 1) % cols]) for j in range(cols)]
    for i in range(rows - 1):
        for j in range(cols):
            a, b = grid[i, j], grid[i, (j + 1) % cols]
            c, d = grid[i + 1, (j + 1) % cols], grid[i + 1, j]
            if j < cols // 2:
                faces += [(a, c, b), (a, d, c)]
            else:
                faces += [(a, d, b), (b, d, c)]
    return faces


def _cut_slit(faces: list, grid: np.ndarray, row: int, columns: np.ndarray, next_id: int) -> tuple[list, Slit]:
    """Double the interior vertices of ``row`` at ``columns``; faces below use the copies."""
    upper = grid[row, columns]
    lower = np.arange(next_id, next_id + len(columns))
    remap = dict(zip(upper.tolist(), lower.tolist()))
    below = set(grid[row + 1].tolist())
    cut = []
    for face in faces:
        if any(v in below for v in face):
            face = tuple(remap.get(v, v) for v in face)
        cut.append(face)
    cols = grid.shape[1]
    corners = (int(grid[row, (columns[0] - 1) % cols]), int(grid[row, (columns[-1] + 1) % cols]))
    return cut, Slit(row, columns, upper, lower, corners)


def _tube_faces(rings: list[np.ndarray], closed: bool) -> list[tuple[int, int, int]]:
    """Triangles joining consecutive rings of equal length."""
    faces = []
    for r0, r1 in zip(rings[:-1], rings[1:]):
        n = len(r0)
        for k in range(n if closed else n - 1):
            a, b, c, d = r0[k], r0[(k + 1) % n], r1[(k + 1) % n], r1[k]
            faces += [(a, b, c), (a, c, d)]
    return faces


def _fan(ring: np.ndarray, center: int, reverse: bool) -> list[tuple[int, int, int]]:
    n = len(ring)
    faces = [(center, ring[k], ring[(k + 1) % n]) for k in range(n)]
    return [f[::-1] for f in faces] if reverse else faces


@dataclass
class Topology:
    """Everything about the stand-in mesh that does not depend on HeadParams."""

    rows: np.ndarray
    columns: np.ndarray
    mesh: StandinMesh


def build_topology() -> Topology:
    """Vertex ids and faces of the stand-in head (positions are filled by :func:`place`)."""
    rows, columns, eye_row, mouth_row = grid_angles()
    grid = 1 + np.arange(NUM_ROWS * NUM_COLUMNS).reshape(NUM_ROWS, NUM_COLUMNS)
    pole, next_id = 0, 1 + grid.size
    faces = _grid_faces(grid, pole)

    mouth_cols = _slit_columns(columns, 0.0, MOUTH_HALF_WIDTH_M / 0.093)
    faces, mouth = _cut_slit(faces, grid, mouth_row, mouth_cols, next_id)
    next_id += len(mouth_cols)
    eyes = []
    for sign in (1.0, -1.0):  # left eye (+x) first, as FLAME orders its eye joints
        center = EYE_CENTER_M * (sign, 1.0, 1.0) + (0.0, 0.0, EYEBALL_RADIUS_M)
        _, phi = _angles_of(center)
        cols = _slit_columns(columns, phi, EYE_HALF_WIDTH_M / 0.085)
        faces, slit = _cut_slit(faces, grid, eye_row, cols, next_id)
        next_id += len(cols)
        eyes.append(slit)

    loop = np.concatenate([[mouth.corners[0]], mouth.upper, [mouth.corners[1]], mouth.lower[::-1]])
    side = np.concatenate([[0], np.ones(len(mouth.upper)), [0], -np.ones(len(mouth.lower))])
    rings = [loop]
    for _ in range(MOUTH_BAG_RINGS):
        rings.append(np.arange(next_id, next_id + len(loop)))
        next_id += len(loop)
    bag_back = next_id
    next_id += 1
    bag_faces = _tube_faces(rings, closed=True) + _fan(rings[-1], bag_back, reverse=False)
    faces += [f[::-1] for f in bag_faces]  # seen from inside: normals face the bag's axis
    bag = np.concatenate([*rings[1:], [bag_back]])
    bag_side = np.concatenate([np.tile(side, MOUTH_BAG_RINGS), [0]])

    eyeballs = []
    for _ in range(2):
        count = EYEBALL_RINGS * EYEBALL_SEGMENTS + 2
        ids = np.arange(next_id, next_id + count)
        next_id += count
        ring_ids = ids[1:-1].reshape(EYEBALL_RINGS, EYEBALL_SEGMENTS)
        ball = _fan(ring_ids[0], ids[0], reverse=True) + _tube_faces(list(ring_ids), closed=True)
        ball += _fan(ring_ids[-1], ids[-1], reverse=False)
        faces += [f[::-1] for f in ball]  # normals point out of the eyeball
        eyeballs.append(ids)

    mesh = StandinMesh(np.zeros((next_id, 3)), np.asarray(faces, dtype=np.int64), grid, pole,
                       mouth, (eyes[0], eyes[1]), loop, bag, bag_side, (eyeballs[0], eyeballs[1]))
    return Topology(rows, columns, mesh)


def _sphere(center: np.ndarray, radius: float) -> np.ndarray:
    """Eyeball vertices (EYEBALL_RINGS * EYEBALL_SEGMENTS + 2, 3): front pole, rings, back pole.

    The cornea bulges forward so that eye rotations are visible.
    """
    polar = np.linspace(0, np.pi, EYEBALL_RINGS + 2)[1:-1]
    around = np.linspace(0, 2 * np.pi, EYEBALL_SEGMENTS, endpoint=False)
    p, a = np.meshgrid(polar, around, indexing="ij")
    bulge = CORNEA_BULGE_M * np.clip(np.cos(p) - np.cos(np.deg2rad(35)), 0, None) / (1 - np.cos(np.deg2rad(35)))
    r = radius + bulge
    ring = np.stack([r * np.sin(p) * np.cos(a), r * np.sin(p) * np.sin(a), r * np.cos(p)], -1)
    front = [0.0, 0.0, radius + CORNEA_BULGE_M]
    return center + np.concatenate([[front], ring.reshape(-1, 3), [[0.0, 0.0, -radius]]])


def _place_bag(v: np.ndarray, mesh: StandinMesh) -> None:
    """Mouth bag: rings behind the lip loop, deeper, wider and taller inside."""
    n_loop = len(mesh.lip_loop)
    lips = v[mesh.lip_loop]
    side = mesh.bag_side[:n_loop]
    for k in range(1, MOUTH_BAG_RINGS + 1):
        ring = lips.copy()
        ring[:, 0] *= 1.0 + 0.12 * k
        ring[:, 1] = MOUTH_LINE_Y_M + side * 0.007 * np.sin(np.pi * k / (MOUTH_BAG_RINGS + 1.5))
        ring[:, 2] -= MOUTH_BAG_DEPTH_M * k
        v[mesh.bag[(k - 1) * n_loop:k * n_loop]] = ring
    v[mesh.bag[-1]] = lips.mean(0) - (0.0, 0.0, MOUTH_BAG_DEPTH_M * (MOUTH_BAG_RINGS + 1))


def _open_lids(v: np.ndarray, mesh: StandinMesh, eye: int) -> None:
    """Rotate the lids of one eye open around the eyeball's horizontal axis, in place."""
    center = EYE_CENTER_M * (1.0 if eye == 0 else -1.0, 1.0, 1.0)
    skin = np.concatenate([mesh.grid.ravel(), mesh.eyes[eye].lower])
    rel = v[skin] - center
    radius = np.hypot(rel[:, 1], rel[:, 2])
    elevation = np.arctan2(rel[:, 1], rel[:, 2])
    lateral = np.clip(1.0 - (rel[:, 0] / EYE_HALF_WIDTH_M) ** 2, 0.0, None) ** 1.5
    near = smoothstep(0.028, EYEBALL_RADIUS_M + LID_THICKNESS_M, radius)
    front = smoothstep(-0.008, 0.0, rel[:, 2])
    lower = mesh.below(mesh.eyes[eye])[skin]
    upper_turn = np.deg2rad(UPPER_LID_OPEN_DEG) * np.clip(
        1.0 - np.maximum(elevation, 0) / np.deg2rad(UPPER_LID_EXTENT_DEG), 0.0, 1.0)
    lower_turn = -np.deg2rad(LOWER_LID_OPEN_DEG) * np.clip(
        1.0 - np.maximum(-elevation, 0) / np.deg2rad(LOWER_LID_EXTENT_DEG), 0.0, 1.0)
    turn = np.where(lower, lower_turn, upper_turn) * lateral * near * front
    new_elevation = elevation + turn
    v[skin, 1] = center[1] + radius * np.sin(new_elevation)
    v[skin, 2] = center[2] + radius * np.cos(new_elevation)


def place(topology: Topology, params: HeadParams, eyes_open: tuple[bool, bool] = (True, True),
          start_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vertex positions (V, 3) of the stand-in head for ``params``, lips closed.

    Also returns each skin ray's length (1 + NUM_ROWS * NUM_COLUMNS,); passing a head's lengths
    (plus a margin) as ``start_m`` speeds up building a nearby shape.
    """
    mesh = topology.mesh
    v = np.zeros_like(mesh.vertices)
    theta, phi = np.meshgrid(topology.rows, topology.columns, indexing="ij")
    directions = np.concatenate([[[0.0, 1.0, 0.0]], _direction(theta, phi).reshape(-1, 3)])
    ids = np.concatenate([[mesh.pole], mesh.grid.ravel()])
    v[ids], dist = project_rays(RAY_ORIGIN_M, directions, params, start_m)
    for slit in (mesh.mouth, *mesh.eyes):
        v[slit.lower] = v[slit.upper]
    _place_bag(v, mesh)
    for eye, ids in enumerate(mesh.eyeballs):
        v[ids] = _sphere(EYE_CENTER_M * (1.0 if eye == 0 else -1.0, 1.0, 1.0), EYEBALL_RADIUS_M)
    for eye, is_open in enumerate(eyes_open):
        if is_open:
            _open_lids(v, mesh, eye)
    return v, dist
