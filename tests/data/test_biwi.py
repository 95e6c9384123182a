"""BIWI .vl reading, rigid scans, normalisation and convert_biwi on fake raw data in tmp_path."""

import io
import json
import struct
import tarfile

import numpy as np
import pytest
import soundfile

from ptalker.constants import BIWI_NUM_VERTICES
from ptalker.data.biwi import convert_biwi, normalize_meshes, parse_vl, read_rigid_scan, read_vl, read_vl_sequence
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.layout import load_templates
from ptalker.data.splits import BIWI
from ptalker.errors import PtalkerError

RATE_HZ = 44100
N = BIWI_NUM_VERTICES


def vl_bytes(vertices):
    """The documented format, written independently: uint32 LE count, then float32 LE x y z."""
    vertices = np.asarray(vertices, dtype=np.float32)
    return struct.pack("<I", vertices.shape[0]) + vertices.astype("<f4").tobytes()


def write_obj(path, vertices, faces, with_uv=True):
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += ["vt 0.5 0.5", "vt 0.25 0.75"] if with_uv else []
    lines += [f"f {a + 1}/1 {b + 1}/2 {c + 1}/1" if with_uv else f"f {a + 1} {b + 1} {c + 1}"
              for a, b, c in faces]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_wav(path, seconds=0.4):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(RATE_HZ * seconds)) / RATE_HZ
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 220 * t), RATE_HZ, subtype="PCM_16")


def test_vl_round_trip(tmp_path):
    vertices = np.random.default_rng(0).normal(size=(17, 3)).astype(np.float32)
    path = tmp_path / "frame_001.vl"
    path.write_bytes(vl_bytes(vertices))
    data = path.read_bytes()
    assert len(data) == 4 + 17 * 12 and struct.unpack_from("<I", data)[0] == 17
    assert struct.unpack_from("<3f", data, 4) == tuple(vertices[0])  # x0 y0 z0 first
    read = read_vl(path)
    assert read.dtype == np.float32 and read.shape == (17, 3)
    np.testing.assert_array_equal(read, vertices)


def test_truncated_or_missing_vl_names_the_file(tmp_path):
    path = tmp_path / "frame_002.vl"
    path.write_bytes(vl_bytes(np.zeros((5, 3)))[:-4])
    with pytest.raises(PtalkerError, match=r"frame_002\.vl.*5 vertices"):
        read_vl(path)
    with pytest.raises(PtalkerError, match="too short"):
        parse_vl(b"\x01", "x.vl")
    with pytest.raises(PtalkerError, match=r"frame_009\.vl.*not found"):
        read_vl(tmp_path / "frame_009.vl")


def test_sequence_frames_sorted_by_number_from_folder_or_tar(tmp_path):
    frames = [np.full((4, 3), i, np.float32) for i in range(12)]
    folder = tmp_path / "e01"
    folder.mkdir()
    tar_path = tmp_path / "e02.tar"
    with tarfile.open(tar_path, "w") as archive:
        for i, frame in enumerate(frames):
            name = f"frame_{i + 1}.vl"  # unpadded: frame_10 must come after frame_9
            (folder / name).write_bytes(vl_bytes(frame))
            info = tarfile.TarInfo(f"e02/{name}")
            info.size = len(vl_bytes(frame))
            archive.addfile(info, io.BytesIO(vl_bytes(frame)))
    for source in (folder, tar_path):
        sequence = read_vl_sequence(source)
        assert sequence.shape == (12, 4, 3)
        np.testing.assert_array_equal(sequence[:, 0, 0], np.arange(12))


def test_rigid_scan_keeps_every_vertex_in_file_order(tmp_path):
    vertices = np.arange(15, dtype=float).reshape(5, 3)
    write_obj(tmp_path / "F1.obj", vertices, [[3, 1, 2], [0, 1, 2]])  # vertex 4 unused
    read, faces = read_rigid_scan(tmp_path / "F1.obj")
    np.testing.assert_array_equal(read, vertices)
    np.testing.assert_array_equal(faces, [[3, 1, 2], [0, 1, 2]])
    (tmp_path / "bad.obj").write_text("v 1 2\nf 1 1 1\n")
    with pytest.raises(PtalkerError, match=r"bad\.obj"):
        read_rigid_scan(tmp_path / "bad.obj")


def _naive_normalize(vertices, faces):
    v = np.array([[x, -y, -z] for x, y, z in vertices], dtype=np.float64)
    v = v - v.mean(axis=0)
    area = 0.0
    for a, b, c in faces:
        area += 0.5 * np.linalg.norm(np.cross(v[b] - v[a], v[c] - v[a]))
    return v / np.sqrt(area)


def test_normalize_matches_naive_reference_and_is_scale_free():
    rng = np.random.default_rng(1)
    vertices = rng.normal(size=(30, 3)) * 100 + 5
    faces = rng.integers(0, 30, size=(40, 3))
    result = normalize_meshes(vertices, faces)
    expected = _naive_normalize(vertices, faces)
    diff = np.abs(result - expected)
    assert diff.max() < 1e-6, f"max difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"
    np.testing.assert_allclose(normalize_meshes(vertices * 7.5 + 3, faces), result, atol=1e-6)
    batch = normalize_meshes(np.stack([vertices, 2 * vertices]), faces)  # (T, V, 3) at once
    np.testing.assert_allclose(batch[1], result, atol=1e-6)


# ---- convert_biwi: F2 (train) e01 as a folder, e02 as a tar, e03 without audio;
# ---- M1 (test B) e37 with audio under audio/<subject>/; F3 has no rigid scan.

def _frames(rng, count):
    return rng.normal(size=(count, N, 3)).astype(np.float32) * 50


def write_raw(raw):
    rng = np.random.default_rng(2)
    faces = np.arange(N - N % 3).reshape(-1, 3)  # disjoint triangles over random points
    expected = {}
    for subject in ("F2", "M1"):
        write_obj(raw / "rigid_scans" / f"{subject}.obj", rng.normal(size=(N, 3)) * 50, faces)
    for stem, count in (("F2_e01", 3), ("F2_e03", 2), ("M1_e37", 2), ("F3_e01", 2)):
        subject, sentence = stem.split("_")
        expected[stem] = _frames(rng, count)
        for i, frame in enumerate(expected[stem]):
            path = raw / "faces" / subject / sentence / f"frame_{i + 1:03d}.vl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(vl_bytes(frame))
    expected["F2_e02"] = _frames(rng, 2)
    with tarfile.open(raw / "faces" / "F2" / "e02.tar", "w") as archive:
        for i, frame in enumerate(expected["F2_e02"]):
            info = tarfile.TarInfo(f"e02/frame_{i + 1:03d}.vl")
            info.size = len(vl_bytes(frame))
            archive.addfile(info, io.BytesIO(vl_bytes(frame)))
    for stem in ("F2_e01", "F2_e02", "F3_e01"):
        write_wav(raw / "wav" / f"{stem}.wav")
    write_wav(raw / "audio" / "M1" / "e37.wav")
    return expected, faces


def test_convert_writes_raw_coordinates_without_normalisation(tmp_path):
    expected, _ = write_raw(tmp_path / "raw")
    out = tmp_path / "out"
    report = convert_biwi(tmp_path / "raw", out, normalize=False)
    assert sorted(report.written) == ["F2_e01", "F2_e02", "M1_e37"]
    for stem in report.written:
        stored = np.load(out / "vertices_npy" / f"{stem}.npy")
        assert stored.dtype == np.float32 and stored.shape == (len(expected[stem]), N * 3)
        np.testing.assert_array_equal(stored.reshape(-1, N, 3), expected[stem])
    assert (out / "wav" / "M1_e37.wav").read_bytes() == \
        (tmp_path / "raw" / "audio" / "M1" / "e37.wav").read_bytes()
    assert json.loads((out / "layout.json").read_text()) == {"fps": 25, "normalization": "none"}
    assert report.frames == 7 and report.seconds == pytest.approx(1.2, abs=1e-3)
    skipped = dict(report.skipped)
    assert "F3_*" in skipped and "rigid scan not found" in skipped["F3_*"]
    assert "no audio" in skipped["F2_e03"] and "no frames" in skipped["F2_e04"]
    assert "wrote 3 sequences" in str(report) and "more skipped" in str(report)


def test_convert_normalises_like_the_field_and_reloads(tmp_path):
    expected, faces = write_raw(tmp_path / "raw")
    out = tmp_path / "out"
    convert_biwi(tmp_path / "raw", out)
    stored = np.load(out / "vertices_npy" / "F2_e01.npy").reshape(-1, N, 3)
    reference = _naive_normalize(expected["F2_e01"][1], faces)
    assert np.abs(stored[1] - reference).max() < 1e-6
    templates = load_templates(out)
    assert sorted(templates) == ["F2", "M1"] and templates["F2"].shape == (N, 3)
    assert json.loads((out / "layout.json").read_text())["normalization"] == "codetalker"
    np.testing.assert_array_equal(np.load(out / "faces.npy"), faces)  # the topology training needs
    train = TalkingHeadDataset(out, BIWI, "train")
    assert [n.stem for n in train.sequences] == ["F2_e01", "F2_e02"]
    assert train.num_missing == 6 * 32 - 2
    item = train[0]
    assert item.vertices.shape == (3, N, 3) and item.style_index == 0
    np.testing.assert_allclose(item.vertices.numpy(), stored)
    test_b = TalkingHeadDataset(out, BIWI, "test_b")
    assert len(test_b) == 1 and test_b[0].style_index == -1


def test_bad_sequences_are_skipped_not_raised(tmp_path):
    write_raw(tmp_path / "raw")
    frame = tmp_path / "raw" / "faces" / "F2" / "e01" / "frame_002.vl"
    frame.write_bytes(frame.read_bytes()[:1000])  # truncated
    (tmp_path / "raw" / "wav" / "F2_e02.wav").write_bytes(b"garbage")
    m1 = tmp_path / "raw" / "faces" / "M1" / "e37"
    for path in m1.glob("*.vl"):
        path.write_bytes(vl_bytes(np.zeros((10, 3))))  # wrong vertex count
    write_wav(tmp_path / "raw" / "wav" / "F2_e03.wav")
    report = convert_biwi(tmp_path / "raw", tmp_path / "out")
    skipped = dict(report.skipped)
    assert report.written == ["F2_e03"]
    assert "frame_002.vl" in skipped["F2_e01"] and "F2_e02.wav" in skipped["F2_e02"]
    assert "10 vertices" in skipped["M1_e37"]
    assert not (tmp_path / "out" / "vertices_npy" / "F2_e01.npy").exists()


def test_overwrite_refusal_keeps_bytes(tmp_path):
    write_raw(tmp_path / "raw")
    out = tmp_path / "out"
    convert_biwi(tmp_path / "raw", out, normalize=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(PtalkerError, match="--overwrite"):
        convert_biwi(tmp_path / "raw", out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    convert_biwi(tmp_path / "raw", out, overwrite=True)
    assert json.loads((out / "layout.json").read_text())["normalization"] == "codetalker"


def test_template_with_wrong_vertex_count_skips_the_subject(tmp_path):
    write_raw(tmp_path / "raw")
    write_obj(tmp_path / "raw" / "rigid_scans" / "M1.obj", np.eye(3), [[0, 1, 2]])
    report = convert_biwi(tmp_path / "raw", tmp_path / "out")
    assert "M1_e37" not in report.written
    assert f"expected {N}" in dict(report.skipped)["M1_*"]


def test_unusable_raw_folders_are_one_line_errors(tmp_path):
    with pytest.raises(PtalkerError, match=r"faces: folder not found.*frame_001\.vl") as err:
        convert_biwi(tmp_path, tmp_path / "out")
    assert "\n" not in str(err.value)
    (tmp_path / "faces").mkdir()
    with pytest.raises(PtalkerError, match="no BIWI sequence"):
        convert_biwi(tmp_path, tmp_path / "out")
