"""Face sets from the stand-in's masks and the rigid head-motion fit (remove_head_motion) on
stand-in sequences turned and shifted by known amounts."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_allclose, axis_x, pose
from scipy.spatial.transform import Rotation

from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.metrics.face_measures import lip_gap

ALIGN_ATOL_M = 1e-5
ROTATION_ATOL_RAD = 5e-5
"""The stand-in's ears move 0.2 mm with a 0.2 rad jaw: the fit tilts by ~2e-5 rad then."""


@pytest.fixture(scope="module")
def head_ids(standin_head):
    """Vertices with no skinning weight on the root joint: rigid with the head under neck_pose."""
    weights = np.asarray(standin_head["model"]["weights"])  # (V, 5) joints global, neck, jaw, eyes
    return np.flatnonzero(weights[:, 0] == 0)


# FaceSets ------------------------------------------------------------------------------------

def test_face_sets_from_standin(standin_sets, standin_head):
    masks = standin_head["masks"]
    assert np.array_equal(standin_sets.lip_upper, masks["lip_contact_upper"])
    assert np.array_equal(standin_sets.lid_lower[1], masks["right_lid_lower"])
    assert np.array_equal(standin_sets.mouth_corners, masks["mouth_corners"])
    assert set(masks["scalp"]) | set(masks["left_ear"]) | set(masks["right_ear"]) == set(standin_sets.rigid)
    assert not set(masks["nose"]) & set(standin_sets.rigid), "the nose moves with expressions"
    assert "FLAME_masks.pkl" in standin_sets.source


def test_face_sets_errors(standin_head):
    masks = dict(standin_head["masks"])
    del masks["left_lid_lower"], masks["mouth_corners"]
    with pytest.raises(PtalkerError, match="my_masks.pkl.*left_lid_lower, mouth_corners"):
        FaceSets.from_masks(masks, "my_masks.pkl")
    masks = dict(standin_head["masks"], lip_contact_lower=standin_head["masks"]["lip_contact_lower"][:-1])
    with pytest.raises(PtalkerError, match="lip_contact_upper has .* equal length"):
        FaceSets.from_masks(masks, "x")
    masks = dict(standin_head["masks"], mouth_corners=np.array([1, 2, 3]))
    with pytest.raises(PtalkerError, match="expected 2"):
        FaceSets.from_masks(masks, "x")
    masks = dict(standin_head["masks"], forehead=np.array([10**6]))
    sets = FaceSets.from_masks(masks, "big.pkl")
    with pytest.raises(PtalkerError, match="big.pkl brows: indices span"):
        lip_gap(np.zeros((2, 5163, 3)), sets)


# head motion ---------------------------------------------------------------------------------

def naive_kabsch(template, frame, ids):
    """One frame through scipy: rotation R, translation t with frame ~ template @ R.T + t."""
    source, target = template[ids], frame[ids].astype(np.float64)
    rotation, _ = Rotation.align_vectors(target - target.mean(0), source - source.mean(0))
    return rotation, target.mean(0) - rotation.apply(source.mean(0))


def test_remove_global_motion(standin_model, standin_template, standin_sets):
    rng = np.random.default_rng(0)
    frames = 6
    rotvecs = rng.normal(0.0, 0.3, (frames, 3))
    shifts = rng.normal(0.0, 0.05, (frames, 3))
    jaw = axis_x(np.linspace(0.0, 0.2, frames))
    still = pose(standin_model, jaw_pose=jaw)  # (F, V, 3)
    moved = pose(standin_model, jaw_pose=jaw, global_pose=rotvecs, translation=shifts)
    root = standin_model().joints[0].detach().numpy()  # (3,) global rotation centre
    head = remove_head_motion(moved, standin_template, standin_sets.rigid)
    assert_allclose(head.rotation, rotvecs, ROTATION_ATOL_RAD, "recovered rotation")
    expected_shift = root - Rotation.from_rotvec(rotvecs).apply(root) + shifts  # (F, 3)
    assert_allclose(head.translation, expected_shift, ALIGN_ATOL_M, "recovered translation")
    assert_allclose(head.aligned, still, ALIGN_ATOL_M, "aligned vertices")
    for i in range(frames):
        rotation, shift = naive_kabsch(standin_template, moved[i], standin_sets.rigid)
        assert_allclose(head.rotation[i], rotation.as_rotvec(), 1e-9, f"frame {i} vs scipy")
        assert_allclose(head.translation[i], shift, 1e-9, f"frame {i} shift vs scipy")


def test_remove_neck_motion(standin_model, standin_template, standin_sets, head_ids):
    rng = np.random.default_rng(1)
    neck = rng.normal(0.0, 0.2, (5, 3))
    expression = {"smile_left": np.linspace(0, 1, 5), "blink_right": np.linspace(1, 0, 5)}
    still = pose(standin_model, expression=expression, jaw_pose=axis_x([0.0, 0.1, 0.2, 0.05, 0.0]))
    moved = pose(standin_model, expression=expression, jaw_pose=axis_x([0.0, 0.1, 0.2, 0.05, 0.0]),
                 neck_pose=neck)
    head = remove_head_motion(moved, standin_template, standin_sets.rigid)
    angles = np.linalg.norm(head.rotation, axis=1)
    assert_allclose(angles, np.linalg.norm(neck, axis=1), ROTATION_ATOL_RAD, "rotation angles")
    assert_allclose(head.rotation, neck, ROTATION_ATOL_RAD, "rotation vectors")
    assert_allclose(head.aligned[:, head_ids], still[:, head_ids], ALIGN_ATOL_M, "aligned head")


def test_remove_head_motion_fits_rotations_only(standin_template, standin_sets):
    """A mirror image is not undone: the fit is the nearest proper rotation, never a reflection."""
    mirrored = standin_template * np.array([-1.0, 1.0, 1.0])  # (V, 3) x -> -x
    head = remove_head_motion(mirrored[None], standin_template, standin_sets.rigid)
    tetra = standin_sets.rigid[[0, len(standin_sets.rigid) // 3, 2 * len(standin_sets.rigid) // 3, -1]]  # 4 rigid ids

    def signed_volume(points):
        return np.linalg.det(points[1:] - points[0])

    assert np.sign(signed_volume(head.aligned[0, tetra])) == np.sign(signed_volume(mirrored[tetra])) \
        == -np.sign(signed_volume(standin_template[tetra])) != 0


def test_remove_head_motion_errors(standin_template, standin_sets):
    with pytest.raises(PtalkerError, match=r"\(T, V, 3\).*\(4, 15489\)"):
        remove_head_motion(np.zeros((4, 5163 * 3)), standin_template, standin_sets.rigid)
    with pytest.raises(PtalkerError, match="template: expected shape"):
        remove_head_motion(np.zeros((4, 5163, 3)), standin_template[:-1], standin_sets.rigid)
    with pytest.raises(PtalkerError, match="rigid_ids: indices span"):
        remove_head_motion(np.zeros((4, 5163, 3)), standin_template, np.array([0, 1, 99999]))
    with pytest.raises(PtalkerError, match="at least 3"):
        remove_head_motion(np.zeros((4, 5163, 3)), standin_template, np.array([0, 1, 1]))
