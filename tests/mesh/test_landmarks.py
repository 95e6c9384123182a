"""68 facial landmarks: barycentric interpolation on a mesh, the stand-in head's embedding (the 51
static landmarks plus a symmetric jaw contour), the pinhole projection of the preview camera,
the errors, and ``ptalker export --landmarks``."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from helpers import assert_allclose

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.flame.flame_files import LANDMARKS_68_FILE, read_flame_dir, read_landmarks_68, write_flame_dir
from ptalker.flame.landmarks import head_landmarks, landmark_embedding_68
from ptalker.flame.standin.regions import JAW_TOP_Y_M
from ptalker.flame.standin.rig import jaw_weights
from ptalker.mesh.landmarks import NUM_LANDMARKS, LandmarkEmbedding, landmarks_3d, project_landmarks
from ptalker.render.settings import Camera, RenderSettings, frame_camera, mesh_bounds

MIRROR = np.array([-1.0, 1.0, 1.0])


def random_embedding(rng, num_faces: int) -> LandmarkEmbedding:
    return LandmarkEmbedding(rng.integers(0, num_faces, NUM_LANDMARKS), rng.dirichlet(np.ones(3), NUM_LANDMARKS))


@pytest.fixture(scope="module")
def small_mesh():
    """(T, V, 3) random frames of 9 vertices and 6 triangles over them."""
    rng = np.random.default_rng(3)
    faces = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8], [8, 0, 3], [1, 5, 7]])
    return rng.normal(size=(4, 9, 3)), faces


def test_landmarks_are_the_barycentric_mix_of_their_triangle(small_mesh):
    vertices, faces = small_mesh
    embedding = random_embedding(np.random.default_rng(0), len(faces))
    expected = np.zeros((len(vertices), NUM_LANDMARKS, 3))
    for t in range(len(vertices)):
        for k in range(NUM_LANDMARKS):
            a, b, c = faces[embedding.face_idx[k]]
            wa, wb, wc = embedding.bary[k]
            expected[t, k] = wa * vertices[t, a] + wb * vertices[t, b] + wc * vertices[t, c]
    points = landmarks_3d(vertices, faces, embedding)
    assert points.shape == (len(vertices), NUM_LANDMARKS, 3) and points.dtype == np.float64
    assert_allclose(points, expected, 1e-12, "landmarks of a sequence")
    assert_allclose(landmarks_3d(vertices[2], faces, embedding), expected[2], 1e-12, "landmarks of one frame")
    assert landmarks_3d(vertices.astype(np.float32), faces, embedding).dtype == np.float32


def test_one_hot_weights_pick_the_corner(small_mesh):
    vertices, faces = small_mesh
    face_idx = np.arange(NUM_LANDMARKS) % len(faces)
    corner = np.arange(NUM_LANDMARKS) % 3
    embedding = LandmarkEmbedding(face_idx, np.eye(3)[corner])
    assert_allclose(landmarks_3d(vertices, faces, embedding), vertices[:, faces[face_idx, corner]], 0.0, "corners")


@pytest.mark.parametrize("face_idx, bary, message", [
    (np.zeros(67, np.int64), np.tile([1.0, 0.0, 0.0], (67, 1)), "expected (68,)"),
    (np.zeros(68), np.tile([1.0, 0.0, 0.0], (68, 1)), "integers"),
    (np.zeros(68, np.int64), np.ones((68, 2)) / 2, "expected (68, 3)"),
    (np.zeros(68, np.int64), np.tile([0.5, 0.2, 0.2], (68, 1)), "sum to 1"),
    (np.zeros(68, np.int64), np.tile([np.nan, 0.5, 0.5], (68, 1)), "finite"),
])
def test_bad_embeddings_are_refused(face_idx, bary, message):
    with pytest.raises(PtalkerError, match=re.escape(message)) as err:
        LandmarkEmbedding(face_idx, bary, source="lmk.npz")
    assert str(err.value).startswith("lmk.npz: ") and "\n" not in str(err.value)


def test_embedding_and_vertices_must_fit_the_mesh(small_mesh):
    vertices, faces = small_mesh
    beyond = LandmarkEmbedding(np.full(NUM_LANDMARKS, len(faces)), np.tile([1.0, 0, 0], (NUM_LANDMARKS, 1)),
                               source="lmk.npz")
    with pytest.raises(PtalkerError, match=r"lmk.npz: face ids span \[6, 6\] but the mesh has 6 triangles"):
        landmarks_3d(vertices, faces, beyond)
    embedding = random_embedding(np.random.default_rng(1), len(faces))
    with pytest.raises(PtalkerError, match="vertices: 7 per frame, but the faces use vertex ids up to 8"):
        landmarks_3d(vertices[:, :7], faces, embedding)
    with pytest.raises(PtalkerError, match=r"expected \(T, V, 3\) or \(V, 3\)"):
        landmarks_3d(vertices.reshape(4, -1), faces, embedding)


# --- the stand-in head ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin_68(standin_dir):
    return landmark_embedding_68(standin_dir)


@pytest.fixture(scope="module")
def standin_points(standin_68, standin_head, standin_template):
    return landmarks_3d(standin_template, np.asarray(standin_head["model"]["f"], np.int64), standin_68)


def test_standin_68_holds_the_51_static_landmarks_in_order(standin_68, standin_head):
    static = standin_head["embedding"]
    assert np.array_equal(standin_68.face_idx[17:], static["lmk_face_idx"])
    assert np.array_equal(standin_68.bary[17:], static["lmk_b_coords"])


def test_standin_68_is_what_the_flame_model_reports(standin_points, standin_model):
    """Landmarks 17-67 equal the FLAME layer's own 51 landmarks of the neutral head."""
    flame_51 = standin_model().landmarks.detach().numpy()  # (51, 3)
    assert_allclose(standin_points[17:], flame_51, 1e-6, "static landmarks vs FlameModel")


def test_standin_jaw_contour(standin_points, standin_68, standin_head, standin_topology):
    jaw = standin_points[:17]
    assert_allclose(jaw[::-1], jaw * MIRROR, 1e-9, "jaw contour mirrored (point k vs 16 - k)")
    assert abs(jaw[8, 0]) < 1e-9, "chin off the midline"
    assert np.all(jaw[:8, 0] < 0) and np.all(np.diff(jaw[:9, 0]) > 0), "jaw not running from the right to the chin"
    assert np.all(np.diff(jaw[:9, 1]) < 0), "jaw not running down from ear level to the chin"
    assert int(np.argmin(jaw[:, 1])) == 8, "the chin is not the lowest point"
    assert abs(jaw[0, 1] - JAW_TOP_Y_M) < 0.005, f"contour starts at y = {jaw[0, 1]:.3f}, not at ear level"
    assert jaw[8, 1] < standin_points[57, 1] - 0.02, "chin not below the lower lip"
    faces = np.asarray(standin_head["model"]["f"], np.int64)
    ids = faces[standin_68.face_idx[:17], np.argmax(standin_68.bary[:17], axis=1)]  # one-hot: on vertices
    mesh = standin_topology.mesh
    assert not np.isin(ids, np.concatenate([mesh.bag, *mesh.eyeballs])).any(), "a jaw landmark inside the head"
    follows_jaw = jaw_weights(np.asarray(standin_head["model"]["v_template"]), mesh)[ids]  # jaw vs skull, not neck
    assert np.all(follows_jaw[2:15] > 0.8), f"the contour below the ears must be on the jaw: {follows_jaw.round(2)}"
    assert follows_jaw[0] == follows_jaw[16] == 0.0, "the contour's ends (ear level) must stay with the skull"


def test_head_landmarks_checks_the_vertex_count(standin_dir, standin_template, standin_points):
    sequence = np.repeat(standin_template[None], 3, axis=0)
    assert_allclose(head_landmarks(sequence, standin_dir), np.repeat(standin_points[None], 3, 0), 1e-12, "head")
    with pytest.raises(PtalkerError, match=f"seq.npy: 100 vertices, but 68 landmarks are known only on the head "
                                           f"model's mesh \\({len(standin_template)} vertices"):
        head_landmarks(np.zeros((2, 100, 3)), standin_dir, source="seq.npy")


def test_flame_dir_without_68_says_how_to_add_one(standin_dir, tmp_path):
    model, embedding = read_flame_dir(standin_dir)
    bare = write_flame_dir(tmp_path / "flame", model, embedding)
    with pytest.raises(PtalkerError, match=f"{LANDMARKS_68_FILE}: not found.*landmark_embedding.npy beside "
                                           "generic_model.pkl and rerun 'ptalker flame import"):
        landmark_embedding_68(bare)
    (bare / LANDMARKS_68_FILE).write_bytes(b"not a zip")
    with pytest.raises(PtalkerError, match="not a 68-landmark embedding"):
        read_landmarks_68(bare)


# --- projection ---------------------------------------------------------------------------------


def test_points_on_the_axis_land_at_the_image_centre():
    camera = Camera(position=np.array([0.1, -0.2, 1.0]), yfov=math.radians(20), aspect=640 / 480, znear=0.1, zfar=5)
    points = np.array([[0.1, -0.2, 0.0], [0.1, -0.2, -0.7]])
    assert_allclose(project_landmarks(points, camera, 640, 480), np.array([[320.0, 240.0]] * 2), 1e-9, "axis")
    # the top and right edges of the field of view
    half = math.tan(math.radians(10))
    edges = np.array([[0.1, -0.2 + half, 0.0], [0.1 + half * 640 / 480, -0.2, 0.0]])
    assert_allclose(project_landmarks(edges, camera, 640, 480), np.array([[320.0, 0.0], [640.0, 240.0]]), 1e-9,
                    "field of view edges")
    batch = project_landmarks(np.zeros((2, 3, NUM_LANDMARKS, 3)) + [0.1, -0.2, 0.0], camera, 640, 480)
    assert batch.shape == (2, 3, NUM_LANDMARKS, 2)


def test_preview_camera_centres_the_mesh_bounds(standin_template):
    settings = RenderSettings(width=300, height=200)
    bounds = mesh_bounds(standin_template)
    camera = frame_camera(bounds, settings)
    centre = project_landmarks(bounds.mean(axis=0)[None], camera, 300, 200)
    assert_allclose(centre, np.array([[150.0, 100.0]]), 1e-9, "box centre")
    pixels = project_landmarks(standin_template, camera, 300, 200)
    assert np.all((pixels > 0) & (pixels < [300, 200])), "the framed head leaves the image"


def test_points_behind_the_camera_are_refused():
    camera = Camera(position=np.zeros(3), yfov=1.0, aspect=1.0, znear=0.1, zfar=5)
    with pytest.raises(PtalkerError, match="1 lie behind the camera"):
        project_landmarks(np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]), camera, 64, 64)


# --- ptalker export --landmarks ---------------------------------------------------------------------


def test_export_landmarks_from_the_command_line(standin_dir, standin_template, standin_points, tmp_path, capsys):
    frames = np.repeat(standin_template[None], 6, axis=0).astype(np.float32)
    frames[:, :, 1] += np.linspace(0.0, 0.004, 6)[:, None]  # the head rises 4 mm
    np.save(tmp_path / "seq.npy", frames)
    out = tmp_path / "out" / "clip.glb"
    assert main(["export", str(tmp_path / "seq.npy"), "--out", str(out), "--fps", "25", "--landmarks",
                 "--size", "320", "240"]) == 0
    assert "68 landmarks of 6 frames" in capsys.readouterr().out
    points_3d, points_2d = np.load(out.parent / "landmarks_3d.npy"), np.load(out.parent / "landmarks_2d.npy")
    assert out.is_file() and points_3d.shape == (6, 68, 3) and points_2d.shape == (6, 68, 2)
    assert points_3d.dtype == np.float32 and points_2d.dtype == np.float32
    assert_allclose(points_3d[0], standin_points, 1e-6, "exported 3D landmarks")
    assert_allclose(points_3d[5] - points_3d[0], np.tile([0.0, 0.004, 0.0], (68, 1)), 1e-6, "landmarks follow")
    assert np.all((points_2d > 0) & (points_2d < [320, 240])) and np.all(points_2d[5, :, 1] < points_2d[0, :, 1])
    info = json.loads((out.parent / "landmarks.json").read_text())
    assert info["fps"] == 25 and info["frames"] == 6 and info["image_size"] == [320, 240]
    assert "48/54 mouth corners" in info["order"] and len(info["camera"]["position"]) == 3
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")], "temporary files left"


def test_export_landmarks_of_another_mesh_is_one_line_and_writes_nothing(standin_dir, tmp_path, capsys):
    path = tmp_path / "other.npz"
    np.savez(path, vertices=np.zeros((2, 4, 3), np.float32), faces=np.array([[0, 1, 2], [1, 2, 3]]), fps=30.0)
    assert main(["export", str(path), "--out", str(tmp_path / "out" / "clip.npy"), "--landmarks"]) == 2
    err = capsys.readouterr().err.strip()
    assert "4 vertices, but 68 landmarks are known only on the head model's mesh" in err and "\n" not in err
    assert not (tmp_path / "out").exists()
    assert main(["export", str(path), "--out", str(tmp_path / "clip.npy"), "--size", "64"]) == 2
    assert "add --landmarks" in capsys.readouterr().err
