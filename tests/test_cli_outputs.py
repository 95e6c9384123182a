"""``ptalker render`` and ``ptalker export`` on a sequence file: formats, frame rate and faces found."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
import trimesh

from ptalker.cli import main
from ptalker.export.gltf import read_glb
from ptalker.export.pointcache import read_mdd


@pytest.fixture
def sphere_npz(tmp_path):
    """A breathing icosphere, 12 frames at 25 fps, saved with its faces and fps."""
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    scale = 1.0 + 0.05 * np.sin(np.linspace(0, np.pi, 12))[:, None, None]
    path = tmp_path / "seq.npz"
    np.savez(path, vertices=(sphere.vertices[None] * scale).astype(np.float32), faces=sphere.faces, fps=25.0)
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
