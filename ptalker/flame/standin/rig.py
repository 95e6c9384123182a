"""Skinning, joints, expression components, landmarks and region masks of the stand-in head.

Expression components are displacement fields (V, 3) for a coefficient of 1.0, the full natural
extent of the movement; they are additive, as FLAME's are, and negative values move the other
way (``lips_part`` at -1 closes the lips against an open jaw).
"""

from __future__ import annotations

import numpy as np

from ptalker.constants import FLAME_NUM_JOINTS
from ptalker.flame.standin.mesh import EYEBALL_RINGS, StandinMesh
from ptalker.flame.standin.sdf import MOUTH_LINE_Y_M, smoothstep

NECK_BASE_Y_M, NECK_TOP_Y_M = -0.125, -0.075
JAW_HINGE_M = np.array([0.0, -0.012, 0.004])
JAW_EDGE_DEG = 26.0
"""Angle below the jaw hinge's horizontal at which skin starts to follow the jaw."""


def _bump(v: np.ndarray, center, radii) -> np.ndarray:
    """Gaussian falloff (V,) around ``center`` with per-axis radii in metres."""
    q = (v - np.asarray(center)) / np.asarray(radii)
    return np.exp(-np.sum(q * q, axis=1))


def jaw_weights(v: np.ndarray, mesh: StandinMesh) -> np.ndarray:
    """How much each vertex (V,) follows the jaw: lower lip, chin and jaw line."""
    rel = v - JAW_HINGE_M
    below_deg = np.rad2deg(np.arctan2(-rel[:, 1], rel[:, 2]))
    by_angle = smoothstep(JAW_EDGE_DEG - 12.0, JAW_EDGE_DEG + 8.0, below_deg)
    front = smoothstep(-0.015, 0.03, v[:, 2])
    above_neck = smoothstep(-0.125, -0.095, v[:, 1])
    weight = by_angle * front * above_neck
    # along the lips the cut decides: the lower lip follows the jaw, the upper lip does not
    near_mouth = smoothstep(0.04, 0.022, np.abs(v[:, 0])) * smoothstep(-0.008, 0.008, v[:, 2] - 0.06)
    side = mesh.below(mesh.mouth).astype(float)
    side[list(mesh.mouth.corners)] = 0.5
    weight = weight * (1 - near_mouth) + side * near_mouth
    bag = mesh.bag
    weight[bag] = np.where(mesh.bag_side > 0, 0.0, np.where(mesh.bag_side < 0, 1.0, 0.5))
    for ids in mesh.eyeballs:
        weight[ids] = 0.0
    return weight


def skinning_weights(v: np.ndarray, mesh: StandinMesh) -> np.ndarray:
    """LBS weights (V, 5) over the joints global, neck, jaw, left eye, right eye."""
    weights = np.zeros((len(v), FLAME_NUM_JOINTS))
    head = smoothstep(NECK_BASE_Y_M, NECK_TOP_Y_M, v[:, 1])
    jaw = jaw_weights(v, mesh)
    weights[:, 0] = 1.0 - head
    weights[:, 1] = head * (1.0 - jaw)
    weights[:, 2] = head * jaw
    for joint, ids in zip((3, 4), mesh.eyeballs):
        weights[ids] = 0.0
        weights[ids, joint] = 1.0
    return weights


def joint_regressor(v: np.ndarray, mesh: StandinMesh) -> np.ndarray:
    """(5, V) rows that average vertices to the joint positions, so joints follow the shape."""
    reg = np.zeros((FLAME_NUM_JOINTS, len(v)))
    bottom = mesh.grid[-1]
    reg[0, bottom] = 1.0 / len(bottom)  # neck base: centre of the neck's open end
    neck_row = mesh.grid[int(np.argmin([abs(v[r].mean(0)[1] - NECK_TOP_Y_M) for r in mesh.grid]))]
    reg[1, neck_row] = 1.0 / len(neck_row)
    for x in (1.0, -1.0):  # jaw hinge: the skin points in front of both ears
        target = JAW_HINGE_M + (0.075 * x, 0.0, 0.0)
        nearest = np.argsort(np.linalg.norm(v[mesh.grid.ravel()] - target, axis=1))[:4]
        reg[2, mesh.grid.ravel()[nearest]] = 1.0 / 8
    for joint, ids in zip((3, 4), mesh.eyeballs):
        rings = ids[1:-1].reshape(EYEBALL_RINGS, -1)
        equator = rings[[EYEBALL_RINGS // 2 - 1, EYEBALL_RINGS // 2]].ravel()
        reg[joint, equator] = 1.0 / len(equator)  # the two rings mirror about the centre
    return reg


MIRROR = np.array([-1.0, 1.0, 1.0])
LIP_Z_M = 0.085


def _lip_regions(v: np.ndarray, mesh: StandinMesh) -> tuple[np.ndarray, np.ndarray]:
    """Falloffs (V,) of the upper and lower lip, split by the mouth cut."""
    lower = mesh.below(mesh.mouth)
    lower[mesh.bag[mesh.bag_side < 0]] = True
    front = smoothstep(0.03, 0.07, v[:, 2])
    upper_lip = _bump(v, (0, MOUTH_LINE_Y_M + 0.006, LIP_Z_M), (0.028, 0.011, 0.03)) * front * ~lower
    lower_lip = _bump(v, (0, MOUTH_LINE_Y_M - 0.008, LIP_Z_M), (0.028, 0.013, 0.03)) * front * lower
    return upper_lip, lower_lip


def _left_components(v: np.ndarray) -> dict[str, np.ndarray]:
    """Components acting on the subject's left (+x); the right ones are their mirror images."""
    corner = np.array([0.025, MOUTH_LINE_Y_M, 0.075])
    cheek = _bump(v, corner + (0.006, 0.006, -0.006), (0.018, 0.016, 0.03))
    return {
        "smile": cheek[:, None] * (0.004, 0.006, -0.002),
        "lip_stretch": _bump(v, corner, (0.015, 0.012, 0.03))[:, None] * (0.006, -0.001, -0.002),
        "cheek_puff": _bump(v, (0.042, -0.035, 0.05), (0.02, 0.02, 0.03))[:, None] * (0.007, 0.0, 0.003),
    }


def _symmetric_components(v: np.ndarray, mesh: StandinMesh) -> dict[str, np.ndarray]:
    upper, lower = _lip_regions(v, mesh)
    lips = upper + lower
    middle = np.clip(1.0 - (v[:, 0] / 0.026) ** 2, 0.0, 1.0)  # the corners stay put
    front = smoothstep(0.03, 0.07, v[:, 2])[:, None]
    corners = _bump(v, (0.025, MOUTH_LINE_Y_M, 0.075), (0.013, 0.013, 0.03)) + \
        _bump(v, (-0.025, MOUTH_LINE_Y_M, 0.075), (0.013, 0.013, 0.03))
    inner_brows = _bump(v, (0.018, 0.045, 0.075), (0.015, 0.012, 0.03)) + \
        _bump(v, (-0.018, 0.045, 0.075), (0.015, 0.012, 0.03))
    mouth = _bump(v, (0, MOUTH_LINE_Y_M, LIP_Z_M), (0.035, 0.02, 0.04))[:, None] * front
    return {
        "brow_raise": _bump(v, (0, 0.05, 0.07), (0.055, 0.02, 0.04))[:, None] * front * (0, 0.008, 0.001),
        "brow_furrow": inner_brows[:, None] * np.stack(
            [-np.sign(v[:, 0]) * 0.003, np.full(len(v), -0.003), np.full(len(v), 0.001)], 1),
        "lip_pucker": lips[:, None] * np.stack(
            [-0.35 * v[:, 0], 0.0015 * (upper - lower) / np.maximum(lips, 1e-9),
             np.full(len(v), 0.007)], 1),
        "lip_press": upper[:, None] * (0, -0.0015, -0.0015) + lower[:, None] * (0, 0.0015, -0.0015),
        "upper_lip_raise": upper[:, None] * (0, 0.005, 0.001),
        "lower_lip_depress": lower[:, None] * (0, -0.006, 0.001),
        "lower_lip_tuck": lower[:, None] * (0, 0.004, -0.005),
        "lips_part": (middle * upper)[:, None] * (0, 0.003, 0) + (middle * lower)[:, None] * (0, -0.004, 0),
        "frown": corners[:, None] * (0, -0.005, 0),
        "nose_wrinkle": _bump(v, (0, 0.0, 0.085), (0.02, 0.015, 0.03))[:, None] * (0, 0.003, 0)
        + inner_brows[:, None] * (0, -0.002, 0),
        "mouth_sideways": mouth * (0.006, 0, 0),
    }


def expression_components(v_open: np.ndarray, v_blinked: tuple[np.ndarray, np.ndarray],
                          mesh: StandinMesh) -> tuple[list[str], np.ndarray]:
    """Named expression components: names (K,) and displacements (V, 3, K).

    ``v_blinked`` holds the head with the (left, right) lids closed.
    """
    comps = {"blink_left": v_blinked[0] - v_open, "blink_right": v_blinked[1] - v_open}
    left = _left_components(v_open)
    right = _left_components(v_open * MIRROR)
    for name in left:
        comps[f"{name}_left"] = left[name]
        comps[f"{name}_right"] = right[name] * MIRROR
    comps.update(_symmetric_components(v_open, mesh))
    for name, disp in comps.items():
        if not name.startswith("blink"):
            for ids in mesh.eyeballs:
                disp[ids] = 0.0
    names = list(comps)
    return names, np.stack([comps[n] for n in names], axis=-1)
