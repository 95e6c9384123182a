"""The file-in/file-out commands (ptalker.pipelines.files): ``ptalker render`` and ``ptalker
export`` on a sequence file (formats, frame rate and faces found), and render_file's inputs."""

from __future__ import annotations

import json

import imageio_ffmpeg
import numpy as np
import pytest
import trimesh
from helpers import probe_video

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.export.gltf import read_glb
from ptalker.export.pointcache import read_mdd
from ptalker.mesh.topology import Topology
from ptalker.pipelines.files import render_file

SIZE = 64
FPS = 25.0
FRAMES = 12


@pytest.fixture(scope="module")
def sphere():
    """A breathing icosphere: (FRAMES, V, 3) float32 frames and its (F, 3) faces."""
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    scale = 1.0 + 0.05 * np.sin(np.linspace(0, np.pi, FRAMES))[:, None, None]
    return (mesh.vertices[None] * scale).astype(np.float32), np.asarray(mesh.faces)


@pytest.fixture
def sphere_npz(tmp_path, sphere):
    """The sphere saved with its faces and fps (25)."""
    path = tmp_path / "seq.npz"
    np.savez(path, vertices=sphere[0], faces=sphere[1], fps=FPS)
    return path


def test_export_formats_from_the_command_line(sphere_npz, tmp_path, capsys):
    vertices = np.load(sphere_npz)["vertices"]
    assert main(["export", str(sphere_npz), "--out", str(tmp_path / "clip.glb"), "--error-bound", "1e-5"]) == 0
    assert "glb" in capsys.readouterr().out
    assert np.abs(read_glb(tmp_path / "clip.glb").vertices - vertices).max() <= 1e-5
    assert main(["export", str(sphere_npz), "--format", "mdd", "--out", str(tmp_path / "clip.mdd")]) == 0
    cache = read_mdd(tmp_path / "clip.mdd")
    assert np.allclose(cache.vertices, vertices) and np.isclose(cache.times_s[1], 1 / 25)
    assert main(["export", str(sphere_npz), "--format", "ply", "--out", str(tmp_path / "frames")]) == 0
    assert len(list((tmp_path / "frames").glob("*.ply"))) == 12
    assert main(["export", str(sphere_npz), "--out", str(tmp_path / "frames2")]) == 2
    assert "cannot tell the export format" in capsys.readouterr().err


def test_render_from_the_command_line(sphere_npz, tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    assert main(["render", str(sphere_npz), "--out", str(out), "--size", "64", "--compare", str(sphere_npz)]) == 0
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 12 and abs(seconds - 12 / 25) < 0.05
    np.save(tmp_path / "bare.npy", np.load(sphere_npz)["vertices"])
    assert main(["render", str(tmp_path / "bare.npy"), "--out", str(tmp_path / "b.mp4")]) == 2
    assert "pass --fps" in capsys.readouterr().err


@pytest.fixture
def sequence_file(tmp_path, sphere):
    """A .npy sequence in its own folder; the small sphere stands in for the head model."""
    path = tmp_path / "seq" / "motion.npy"
    path.parent.mkdir()
    np.save(path, sphere[0])
    return path


def test_render_file_needs_a_frame_rate(tmp_path, sequence_file, sphere):
    with pytest.raises(PtalkerError, match="motion.npy: no frame rate known .*pass --fps"):
        render_file(sequence_file, tmp_path / "out.mp4", faces=tmp_path / "faces.npy")
    (sequence_file.parent / "sequence.json").write_text(json.dumps({"fps": 20}))
    np.save(tmp_path / "faces.npy", sphere[1])
    result = render_file(sequence_file, tmp_path / "out.mp4", faces=tmp_path / "faces.npy", size=SIZE)
    assert result.fps == 20.0 and probe_video(result.path)["frames"] == FRAMES
    (sequence_file.parent / "sequence.json").write_text(json.dumps({"fps": -1}))
    with pytest.raises(PtalkerError, match="sequence.json: fps: expected a positive frame rate"):
        render_file(sequence_file, tmp_path / "out.mp4")


def test_render_file_faces(tmp_path, sequence_file, sphere, monkeypatch):
    vertices, faces = sphere
    np.save(tmp_path / "wrong.npy", faces + vertices.shape[1])
    with pytest.raises(PtalkerError, match="wrong.npy: faces: indices span"):
        render_file(sequence_file, tmp_path / "out.mp4", fps=FPS, faces=tmp_path / "wrong.npy")
    trimesh.Trimesh(vertices[0], faces, process=False).export(tmp_path / "mesh.obj")
    result = render_file(sequence_file, tmp_path / "out.mp4", fps=FPS, faces=tmp_path / "mesh.obj", size=SIZE)
    assert result.frames == FRAMES
    head = Topology(template=vertices[0], faces=faces, masks=None)
    monkeypatch.setattr("ptalker.flame.flame_model.head_topology", lambda flame_dir=None: head)
    assert render_file(sequence_file, tmp_path / "head.mp4", fps=FPS, size=SIZE).frames == FRAMES
    np.save(sequence_file, vertices[:, :100])
    with pytest.raises(PtalkerError, match=f"100 vertices and no triangles; the head model in use has {len(vertices[0])}, "
                                           "so pass --faces"):
        render_file(sequence_file, tmp_path / "out.mp4", fps=FPS)


def test_render_file_npz_with_compare(tmp_path, sphere):
    vertices, faces = sphere
    np.savez(tmp_path / "pred.npz", vertices=vertices, faces=faces, fps=np.float32(30))
    np.save(tmp_path / "truth.npy", vertices[::-1])
    result = render_file(tmp_path / "pred.npz", tmp_path / "cmp.mp4", compare=tmp_path / "truth.npy", size=SIZE)
    assert result.fps == 30.0 and probe_video(result.path)["size"] == (2 * SIZE, SIZE)
    np.savez(tmp_path / "empty.npz", faces=faces)
    with pytest.raises(PtalkerError, match="empty.npz: no 'vertices' array \\(it holds: faces\\)"):
        render_file(tmp_path / "empty.npz", tmp_path / "x.mp4")
    with pytest.raises(PtalkerError, match="expected a vertex sequence as .npy"):
        render_file(tmp_path / "cmp.mp4", tmp_path / "x.mp4")
