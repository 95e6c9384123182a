"""make demo's job: the shipped sentence animated in a test speaker's style: arrays, OBJ, glb, video, plot."""

import json

import imageio_ffmpeg
import numpy as np
import pytest
import trimesh

from ptalker.cli import main
from ptalker.export.gltf import read_glb
from ptalker.pipelines.animator import DEFAULT_CHECKPOINT


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint in this checkout")
def test_demo_writes_npy_obj_and_audio(tmp_path, standin_model):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    vertices = np.load(out / "vertices.npy")
    assert vertices.ndim == 3 and vertices.shape[1:] == (standin_model.num_vertices, 3)
    assert 90 <= len(vertices) <= 150 and vertices.dtype == np.float32  # a 3.5 s sentence at 30 fps
    frames = sorted((out / "obj").glob("frame_*.obj"))
    assert len(frames) == len(vertices)
    assert json.loads((out / "obj" / "sequence.json").read_text())["fps"] == 30
    mesh = trimesh.load(frames[7], process=False)
    assert np.abs(mesh.vertices - vertices[7]).max() < 1e-6
    assert np.array_equal(mesh.faces, standin_model.faces)
    assert (out / "animation.wav").stat().st_size > 10000
    info = json.loads((out / "demo.json").read_text())
    assert "S12" in info["style"] and info["frames"] == len(vertices)
    motion = np.linalg.norm(vertices - vertices.mean(axis=0), axis=-1).max(axis=0)  # (V,)
    assert motion.max() > 0.002, "the mouth should move"
    glb = read_glb(out / "animation.glb")
    assert np.abs(glb.vertices - vertices).max() <= 1e-4
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out / "preview.mp4"))
    assert frames == len(vertices) and abs(seconds - len(vertices) / 30) < 0.1
    assert (out / "lip_opening.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = json.loads((out / "ptalker_output.json").read_text())  # the output-folder rules' record
    assert written["command"] == "demo" and {"vertices.npy", "obj", "demo.json", "lip_opening.png"} <= set(written["files"])
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "lock or staging folder left behind"
