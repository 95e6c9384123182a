"""ARKit blend shapes: the basis on the stand-in, the solve, the Live Link CSV / JSON / glb files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.export.arkit_files import LIVELINK_SHAPES, livelink_timecode
from ptalker.export.arkit_solve import pose, solve_arkit
from ptalker.export.validate import ValidatorMissing, validate_gltf
from ptalker.flame.arkit import ARKIT_NAMES, OPPOSITE_PAIRS, PAIR_INDICES, STANDIN_ZERO, arkit_basis
from ptalker.pipelines.arkit import export_arkit
from ptalker.safe_pickle import load_pickle


def read_livelink(path):
    """(timecodes, counts, {column: (T,) values}) of a CSV laid out as Live Link Face writes it:
    Timecode, BlendShapeCount, then 61 values (52 shapes, head yaw/pitch/roll, each eye's)."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["Timecode", "BlendShapeCount"] and len(header) == 63
    columns = {name: np.array([float(row[i]) for row in body]) for i, name in enumerate(header) if i >= 2}
    return [row[0] for row in body], [int(row[1]) for row in body], columns


@pytest.fixture(scope="module")
def basis(standin_model):
    return arkit_basis(standin_model)


def smooth_curves(rng, frames, count):
    """(T, count) smooth random curves in [-1, 1]."""
    knots = rng.uniform(-1, 1, (frames // 10 + 2, count))
    x = np.linspace(0, len(knots) - 1, frames)
    return np.stack([np.interp(x, np.arange(len(knots)), knots[:, k]) for k in range(count)], 1)


def test_names_are_arkit_and_standin_zero_shapes(basis):
    assert len(ARKIT_NAMES) == 52 == len(set(ARKIT_NAMES))
    assert {n[0].upper() + n[1:] for n in ARKIT_NAMES} == set(LIVELINK_SHAPES)
    assert basis.offsets.shape == (52, len(basis.template), 3)
    assert set(basis.zero_shapes) == set(STANDIN_ZERO) and "tongueOut" in basis.zero_shapes
    for left, right in (("mouthFrownLeft", "mouthFrownRight"), ("browDownLeft", "browDownRight")):
        lo, ro = basis.offsets[ARKIT_NAMES.index(left)], basis.offsets[ARKIT_NAMES.index(right)]
        moved_left = np.abs(lo).max(axis=1) > 1e-6
        assert basis.template[moved_left, 0].min() > -0.006  # the left half (+x) and the ramp only
        assert np.allclose(lo + ro, basis.offsets[ARKIT_NAMES.index(left)] + basis.offsets[ARKIT_NAMES.index(right)])


def test_known_weights_solve_back(basis):
    """Random smooth weights (one of each opposite pair at a time) through the basis, posed by a head
    motion, solve back within 0.02."""
    rng = np.random.default_rng(0)
    frames = 60
    curves = smooth_curves(rng, frames, 52)
    weights = np.clip(curves, 0.0, 1.0)
    for a, b in OPPOSITE_PAIRS:
        signed = curves[:, ARKIT_NAMES.index(a)]
        weights[:, ARKIT_NAMES.index(a)], weights[:, ARKIT_NAMES.index(b)] = np.clip(signed, 0, 1), np.clip(-signed, 0, 1)
    weights[:, [ARKIT_NAMES.index(n) for n in basis.zero_shapes]] = 0.0
    local = basis.template + np.einsum("tk,kvc->tvc", weights, basis.offsets)
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_rotvec(0.1 * smooth_curves(rng, frames, 3)).as_matrix()
    vertices = pose(local, rotation, 0.01 * smooth_curves(rng, frames, 3), basis.head_weights)
    solve = solve_arkit(vertices, basis.offsets, basis.template, basis.rigid, basis.head_weights, basis.eyeballs,
                        PAIR_INDICES)
    error = np.abs(solve.weights - weights)
    assert error.max() < 0.02, f"max weight error {error.max():.4f} at {ARKIT_NAMES[np.argmax(error.max(0))]}"
    assert solve.error_mean_mm < 0.01
    assert solve.weights.min() >= 0.0 and solve.weights.max() <= 1.0


def test_corpus_sequences_reproduced(tiny_corpus, tmp_path, standin_dir):
    templates = load_pickle(tiny_corpus / "templates.pkl")
    for path in sorted((tiny_corpus / "vertices_npy").glob("*.npy"))[:3]:
        vertices = np.load(path).reshape(-1, len(templates[path.stem.rsplit("_", 1)[0]]), 3)
        template = np.asarray(templates[path.stem.rsplit("_", 1)[0]]).reshape(-1, 3)
        result = export_arkit(vertices, 30, tmp_path / path.stem, template=template, flame_dir=standin_dir)
        assert result.solve.error_mean_mm < 0.3, f"{path.stem}: {result.solve}"
        weights = result.solve.weights
        assert weights.min() >= 0.0 and weights.max() <= 1.0


def test_files(tiny_corpus, tmp_path, standin_dir):
    path = sorted((tiny_corpus / "vertices_npy").glob("*.npy"))[0]
    vertices = np.load(path)
    result = export_arkit(vertices, 30, tmp_path / "take.glb", flame_dir=standin_dir)
    csv_path, json_path, glb_path = result.paths
    assert (csv_path.name, json_path.name, glb_path.name) == ("take.csv", "take.json", "take.glb")
    codes, counts, columns = read_livelink(csv_path)
    frames = len(result.solve.weights)
    assert len(codes) == frames and set(counts) == {61} and codes[0] == "00:00:00:00.000"
    assert codes[31] == "00:00:01:01.000"
    for index, name in enumerate(ARKIT_NAMES):
        assert np.allclose(columns[name[0].upper() + name[1:]], result.solve.weights[:, index], atol=1e-6)
    assert np.allclose(columns["HeadYaw"], result.solve.head_angles[:, 0], atol=1e-6)
    data = json.loads(json_path.read_text())
    assert data["names"] == list(ARKIT_NAMES) and np.asarray(data["weights"]).shape == (frames, 52)
    import pygltflib

    gltf = pygltflib.GLTF2().load(str(glb_path))
    assert gltf.meshes[0].extras["targetNames"] == list(ARKIT_NAMES)
    assert len(gltf.meshes[0].primitives[0].targets) == 52
    try:
        report = validate_gltf(glb_path)
    except ValidatorMissing:
        pytest.skip("the Khronos glTF validator is not installed")
    assert report.num_errors == 0, str(report)


def test_timecode():
    assert livelink_timecode(0, 30) == "00:00:00:00.000"
    assert livelink_timecode(30 * 3661 + 7, 30) == "01:01:01:07.000"
    assert livelink_timecode(1, 29.97) == "00:00:00:01.001"


def test_other_topology_is_refused(tmp_path, standin_dir):
    with pytest.raises(PtalkerError, match="head model's mesh"):
        export_arkit(np.zeros((4, 100, 3), np.float32), 30, tmp_path, flame_dir=standin_dir)
    assert not any(tmp_path.iterdir())
    with pytest.raises(PtalkerError, match="out"):
        export_arkit(np.zeros((4, 100, 3), np.float32), 30, tmp_path / "x.txt", flame_dir=standin_dir)
