"""Exports: a round trip for every format, the glTF validator, bad inputs, atomic writes."""

from __future__ import annotations

import json
import struct

import numpy as np
import pygltflib
import pytest
import soundfile
import trimesh
from helpers import assert_allclose

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.export import FORMATS, export_sequence, format_from_suffix, mesh_sequence
from ptalker.export.gltf import read_glb, write_glb
from ptalker.export.mesh_sequence import frame_name, write_mesh_sequence
from ptalker.export.morph import max_distance
from ptalker.export.pointcache import PC2_HEADER, read_mdd, read_pc2, write_mdd, write_pc2
from ptalker.export.validate import ValidatorMissing, validate_gltf
from ptalker.mesh.sequence_file import SEQUENCE_INFO_FILE

FPS = 30.0
NUM_FRAMES = 24
NUM_MODES = 10


@pytest.fixture(scope="module")
def mesh():
    """A 162-vertex sphere."""
    return trimesh.creation.icosphere(subdivisions=2)


@pytest.fixture(scope="module")
def vertices(mesh):
    """(T, V, 3) float32 smooth random motion: sine waves on random shapes with halving sizes."""
    rng = np.random.default_rng(0)
    times = np.arange(NUM_FRAMES)[:, None] / FPS  # (T, 1)
    waves = np.sin(2 * np.pi * rng.uniform(0.5, 3, NUM_MODES) * times + rng.uniform(0, 6, NUM_MODES))  # (T, M)
    shapes = rng.normal(size=(NUM_MODES, len(mesh.vertices), 3)) * 0.02 * 0.5 ** np.arange(NUM_MODES)[:, None, None]
    return (mesh.vertices[None] + np.einsum("tm,mvc->tvc", waves, shapes)).astype(np.float32)


def _glb_weights(path) -> np.ndarray:
    """The animation's (T*K,) weights, read with pygltflib alone."""
    gltf = pygltflib.GLTF2.load(str(path))
    accessor = gltf.accessors[gltf.animations[0].samplers[0].output]
    view = gltf.bufferViews[accessor.bufferView]
    return np.frombuffer(gltf.binary_blob(), "<f4", count=accessor.count, offset=view.byteOffset)


def test_glb_round_trip_within_bound(tmp_path, mesh, vertices):
    result = write_glb(tmp_path / "a.glb", vertices, mesh.faces, FPS)
    decoded = read_glb(tmp_path / "a.glb")
    assert result.bound_met and result.error_bound == 1e-4
    assert max_distance(decoded.vertices, vertices) <= result.error_bound
    assert_allclose(decoded.vertices, vertices, atol=result.max_error + 1e-7, what="decoded vertices")
    np.testing.assert_array_equal(decoded.faces, mesh.faces)
    np.testing.assert_array_equal(decoded.times_s, (np.arange(NUM_FRAMES) / FPS).astype(np.float32))


def test_glb_weights_in_unit_interval_and_named_targets(tmp_path, mesh, vertices):
    result = write_glb(tmp_path / "a.glb", vertices, mesh.faces, FPS)
    weights = _glb_weights(tmp_path / "a.glb").reshape(NUM_FRAMES, result.num_targets)
    assert weights.min() >= 0 and weights.max() <= 1
    assert_allclose(weights.min(axis=0), np.zeros(result.num_targets), atol=1e-6, what="lowest weight per target")
    assert_allclose(weights.max(axis=0), np.ones(result.num_targets), atol=1e-6, what="highest weight per target")
    gltf = pygltflib.GLTF2.load(str(tmp_path / "a.glb"))
    assert gltf.meshes[0].extras["targetNames"] == [f"pca_{k:03d}" for k in range(result.num_targets)]
    assert gltf.animations[0].samplers[0].interpolation == "LINEAR"
    assert all(gltf.accessors[t["POSITION"]].min for t in gltf.meshes[0].primitives[0].targets)


def test_glb_more_targets_for_a_tighter_bound(tmp_path, mesh, vertices):
    bounds = (1e-2, 1e-3, 1e-5)
    results = [write_glb(tmp_path / f"{b}.glb", vertices, mesh.faces, FPS, error_bound=b) for b in bounds]
    counts = [r.num_targets for r in results]
    assert counts == sorted(counts) and counts[0] < counts[-1], counts
    for result in results:
        assert result.max_error <= result.error_bound
        assert max_distance(read_glb(result.path).vertices, vertices) <= result.error_bound


def test_glb_cap_reports_the_missed_bound(tmp_path, mesh, vertices):
    result = write_glb(tmp_path / "a.glb", vertices, mesh.faces, FPS, error_bound=1e-6, max_targets=2)
    assert result.num_targets == 2 and not result.bound_met
    assert "not met" in str(result)
    assert max_distance(read_glb(result.path).vertices, vertices) == pytest.approx(result.max_error, abs=1e-7)


def test_glb_still_sequence_has_one_idle_target(tmp_path, mesh):
    still = np.repeat(mesh.vertices[None].astype(np.float32), 3, axis=0)  # hi == lo for every coefficient
    result = write_glb(tmp_path / "a.glb", still, mesh.faces, FPS)
    assert result.num_targets == 1 and np.all(_glb_weights(result.path) == 0)
    assert_allclose(read_glb(result.path).vertices, still, atol=1e-7, what="still frames")


def test_glb_uint32_indices_for_big_meshes(tmp_path):
    rng = np.random.default_rng(1)
    big = rng.normal(size=(2, 70_002, 3)).astype(np.float32)
    faces = np.arange(70_002).reshape(-1, 3)
    decoded = read_glb(write_glb(tmp_path / "big.glb", big, faces, FPS, normals=False).path)
    np.testing.assert_array_equal(decoded.faces, faces)
    assert max_distance(decoded.vertices, big) <= 1e-4


def test_glb_passes_khronos_validator(tmp_path, mesh, vertices):
    write_glb(tmp_path / "a.glb", vertices, mesh.faces, FPS)
    try:
        report = validate_gltf(tmp_path / "a.glb")
    except ValidatorMissing as err:
        pytest.skip(str(err))
    assert report.num_errors == 0 and report.num_warnings == 0, str(report)


def test_pc2_round_trip_is_exact_and_laid_out_as_blender_reads(tmp_path, vertices):
    path = write_pc2(tmp_path / "a.pc2", vertices.reshape(NUM_FRAMES, -1), start_frame=1.0)
    data = path.read_bytes()
    assert PC2_HEADER.unpack_from(data) == (b"POINTCACHE2\0", 1, vertices.shape[1], 1.0, 1.0, NUM_FRAMES)
    assert len(data) == 32 + vertices.size * 4
    cache = read_pc2(path)
    np.testing.assert_array_equal(cache.vertices, vertices)
    assert (cache.start_frame, cache.sampling) == (1.0, 1.0)


def test_mdd_round_trip_is_exact_and_big_endian(tmp_path, vertices):
    path = write_mdd(tmp_path / "a.mdd", vertices, FPS)
    data = path.read_bytes()
    assert struct.unpack_from(">ii", data) == (NUM_FRAMES, vertices.shape[1])
    assert len(data) == 8 + NUM_FRAMES * 4 + vertices.size * 4
    cache = read_mdd(path)
    np.testing.assert_array_equal(cache.vertices, vertices)
    np.testing.assert_array_equal(cache.times_s, (np.arange(NUM_FRAMES) / FPS).astype(np.float32))


@pytest.mark.parametrize("fmt, atol", [("obj", 1e-7), ("ply", 0.0)])
def test_mesh_sequence_round_trip(tmp_path, mesh, vertices, fmt, atol):
    out = write_mesh_sequence(vertices, mesh.faces, tmp_path / "frames", FPS, fmt)
    files = sorted(out.glob(f"frame_*.{fmt}"))
    assert [f.name for f in files] == [f"frame_{i:04d}.{fmt}" for i in range(NUM_FRAMES)]
    for index, file in enumerate(files):
        loaded = trimesh.load(file, process=False)
        assert_allclose(loaded.vertices, vertices[index], atol=atol, what=f"{file.name} vertices")
        np.testing.assert_array_equal(loaded.faces, mesh.faces)
    info = json.loads((out / SEQUENCE_INFO_FILE).read_text())
    assert info == {"format": fmt, "fps": FPS, "frames": NUM_FRAMES, "vertices": len(mesh.vertices),
                    "faces": len(mesh.faces), "pattern": f"frame_%04d.{fmt}"}


def _trimesh_obj(frame: np.ndarray, faces: np.ndarray) -> bytes:
    """What the OBJ writer wrote before it formatted with numpy: trimesh's export, 8 decimals."""
    mesh = trimesh.Trimesh(frame, faces, process=False)
    return trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_color=False,
                                           include_texture=False, digits=8).encode()


def test_obj_frames_are_the_bytes_trimesh_writes(tmp_path, mesh, vertices):
    out = write_mesh_sequence(vertices[:3], mesh.faces, tmp_path / "frames", FPS)
    for index in range(3):
        assert (out / frame_name(index, 3)).read_bytes() == _trimesh_obj(vertices[index], mesh.faces)


@pytest.mark.parametrize("scale", [1e-9, 1e-4, 0.1, 1.0, 37.0, 1e4, 1e8, 5e8, 1e11])
def test_obj_vertex_lines_read_as_printf_does(scale):
    """Every size of number (the largest through Python's own formatting), signs, -0.0, numbers
    that round to -0.00000000, and exact ties (1/512 and 3/512 end in ...5 at the 9th decimal:
    rounded half to even, as '%.8f' does)."""
    rng = np.random.default_rng(3)
    frame = (rng.normal(size=(500, 3)) * scale).astype(np.float32)
    frame[:3] = [[-0.0, 0.0, 1 / 512], [3 / 512, -3 / 512, -1e-12], [0.5e-8, -1.5e-8, 2.5e-8]]
    expected = "".join("v %.8f %.8f %.8f\n" % tuple(map(float, row)) for row in frame).encode()
    assert mesh_sequence.obj_vertex_lines(frame) == expected


def test_frame_names_widen_for_long_sequences():
    assert frame_name(7, 10) == "frame_0007.obj"
    assert frame_name(7, 12_345, "ply") == "frame_00007.ply"


def test_npz_and_npy_round_trip(tmp_path, mesh, vertices):
    params = {"expression": np.zeros((NUM_FRAMES, 100), np.float32), "jaw_pose": np.ones((NUM_FRAMES, 3))}
    export_sequence(vertices, mesh.faces, FPS, tmp_path / "a.npz", flame_params=params)
    with np.load(tmp_path / "a.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["faces", "flame_expression", "flame_jaw_pose", "fps", "vertices"]
        np.testing.assert_array_equal(data["vertices"], vertices)
        np.testing.assert_array_equal(data["faces"], mesh.faces)
        np.testing.assert_array_equal(data["flame_jaw_pose"], params["jaw_pose"])
        assert float(data["fps"]) == FPS
    export_sequence(vertices.reshape(NUM_FRAMES, -1), mesh.faces, FPS, tmp_path / "a.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), vertices)


def test_format_from_suffix():
    assert FORMATS == ("glb", "pc2", "mdd", "obj", "ply", "npz", "npy")
    assert format_from_suffix("out/clip.GLB") == "glb" and format_from_suffix("a.pc2") == "pc2"
    for name in ("frames", "frames.obj", "clip.fbx"):
        with pytest.raises(PtalkerError, match="give the format"):
            format_from_suffix(name)


def test_export_writes_audio_beside(tmp_path, mesh, vertices):
    speech = (0.1 * np.sin(np.arange(AUDIO_SAMPLE_RATE_HZ) / 10)).astype(np.float32)  # (S,) 1 s
    result = export_sequence(vertices.reshape(NUM_FRAMES, -1), mesh.faces, FPS, tmp_path / "clip.glb", audio=speech)
    assert result.audio == tmp_path / "clip.wav" and result.glb.bound_met
    samples, rate = soundfile.read(result.audio, dtype="float32")
    assert rate == AUDIO_SAMPLE_RATE_HZ and len(samples) == len(speech)
    assert_allclose(samples, speech, atol=1e-4, what="WAV samples")
    assert "morph targets" in str(result) and "clip.wav" in str(result)
    copied = export_sequence(vertices, mesh.faces, FPS, tmp_path / "seq", "obj", audio=result.audio)
    assert copied.audio.read_bytes() == result.audio.read_bytes() and copied.path.is_dir()


@pytest.mark.parametrize("change, argument", [
    ({"vertices": np.zeros((4, 5))}, "vertices"),
    ({"vertices": np.full((2, 162, 3), np.nan)}, "vertices"),
    ({"faces": np.array([[0, 1, 162]])}, "faces"),
    ({"faces": np.array([[0.0, 1.0, 2.0]])}, "faces"),
    ({"fps": 0}, "fps"),
    ({"fmt": "fbx"}, "fmt"),
    ({"fmt": "mdd", "start_frame": 1.0}, "start_frame"),
    ({"error_bound": -1.0}, "error_bound"),
    ({"max_targets": 0}, "max_targets"),
    ({"audio": np.zeros(100, np.float32)}, "audio"),
    ({"fmt": "npz", "flame_params": {"jaw pose": np.zeros(3)}}, "flame_params"),
])
def test_bad_input_raises_one_line_naming_the_argument(tmp_path, mesh, vertices, change, argument):
    kwargs = {"vertices": vertices, "faces": mesh.faces, "fps": FPS, "out": tmp_path / "a.glb", "fmt": "glb"}
    kwargs.update(change)
    with pytest.raises(PtalkerError) as err:
        export_sequence(**kwargs)
    assert str(err.value).startswith(argument) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path, mesh, vertices, monkeypatch):
    path = tmp_path / "a.glb"
    path.write_bytes(b"old")
    with pytest.raises(PtalkerError):
        export_sequence(vertices, mesh.faces[:, :2], FPS, path)

    def fail(self):
        raise OSError("disk full")
    monkeypatch.setattr(pygltflib.GLTF2, "save_to_bytes", fail)
    with pytest.raises(OSError, match="disk full"):
        export_sequence(vertices, mesh.faces, FPS, path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.glb"]


def test_failed_sequence_write_keeps_the_old_folder(tmp_path, mesh, vertices, monkeypatch):
    out = write_mesh_sequence(vertices[:2], mesh.faces, tmp_path / "frames", FPS)
    before = sorted(p.name for p in out.iterdir())
    calls = []

    def fail_on_third(frame):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return b""
    monkeypatch.setitem(mesh_sequence.ENCODERS, "obj", lambda faces: fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        write_mesh_sequence(vertices, mesh.faces, out, FPS)
    assert sorted(p.name for p in out.iterdir()) == before and [p.name for p in tmp_path.iterdir()] == ["frames"]


def test_readers_reject_other_files(tmp_path, vertices):
    pc2 = write_pc2(tmp_path / "a.pc2", vertices)
    with pytest.raises(PtalkerError, match="not a binary glTF"):
        read_glb(pc2)
    with pytest.raises(PtalkerError, match="truncated"):
        read_mdd(pc2)
    (tmp_path / "b.pc2").write_bytes(pc2.read_bytes()[:-4])
    with pytest.raises(PtalkerError, match="truncated"):
        read_pc2(tmp_path / "b.pc2")
    with pytest.raises(PtalkerError, match="not found"):
        read_pc2(tmp_path / "missing.pc2")
