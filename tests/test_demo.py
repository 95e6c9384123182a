"""make demo's job: a scripted motion of the head written as .npy and an OBJ sequence."""

import json
import subprocess
import sys

import numpy as np
import trimesh

from ptalker.cli import main


def test_demo_writes_npy_and_obj_sequence(tmp_path, standin_model):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seconds", "0.5", "--fps", "30"]) == 0
    vertices = np.load(out / "vertices.npy")
    assert vertices.shape == (15, standin_model.num_vertices, 3) and vertices.dtype == np.float32
    frames = sorted((out / "obj").glob("frame_*.obj"))
    assert len(frames) == 15
    assert json.loads((out / "obj" / "sequence.json").read_text())["fps"] == 30
    mesh = trimesh.load(frames[7], process=False)
    assert np.abs(mesh.vertices - vertices[7]).max() < 1e-6
    assert np.array_equal(mesh.faces, standin_model.faces)
    motion = np.linalg.norm(vertices - vertices[:1], axis=-1).max(axis=0)  # (V,)
    assert motion.max() > 0.003  # the jaw and lids really move
    params = np.load(out / "params.npz")
    assert params["jaw_pose"].shape == (15, 3) and params["jaw_pose"][:, 0].max() > 0.05


def test_demo_rejects_bad_arguments(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--seconds", "0"]) == 2
    assert "positive" in capsys.readouterr().err


def test_module_entry_point_shows_help():
    result = subprocess.run([sys.executable, "-m", "ptalker", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("flame", "data", "score", "demo"):
        assert command in result.stdout
