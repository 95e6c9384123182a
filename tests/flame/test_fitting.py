"""FLAME parameters of vertex sequences (ptalker.flame.fitting, ptalker.flame.flame_params): known
parameters recovered, round trips through the .npz, its checks, ``ptalker fit`` and
``ptalker animate --format flame``."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from helpers import assert_allclose, tiny_flame
from scipy.spatial.transform import Rotation

from ptalker.audio.io import load_audio
from ptalker.cli import main
from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.fileio import save_npz
from ptalker.flame.fitting import (
    FitSettings,
    fit_flame,
    flame_params_vertices,
    load_flame_params,
    random_flame_motion,
    save_flame_params,
)
from ptalker.flame.flame_files import write_flame_dir
from ptalker.flame.flame_params import PARAM_NAMES, POSES
from ptalker.pipelines.animator import DEFAULT_CHECKPOINT

ROTATION_TOLERANCE_DEG = {"jaw_pose": 0.1, "leye_pose": 0.1, "reye_pose": 0.1, "neck_pose": 0.5, "global_orient": 0.5}
"""Recovery of known rotations (measured on 8 random 40-frame motions: at most 0.006 degrees for the
jaw and eyes, 0.17 for neck and global orientation, whose split only the neck's lowest vertices show)."""


def rotation_error_deg(fitted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(T,) angle in degrees between the axis-angle rotations ``fitted`` and ``truth`` (T, 3)."""
    return np.degrees((Rotation.from_rotvec(fitted).inv() * Rotation.from_rotvec(truth)).magnitude())


@pytest.fixture(scope="module")
def known(standin_dir):
    """(truth, fit): 20 frames of random smooth motion on the stand-in, fitted back."""
    truth = random_flame_motion(20, fps=30.0, seed=1, flame_dir=standin_dir)
    return truth, fit_flame(flame_params_vertices(truth, standin_dir), standin_dir, fps=30.0)


def test_known_parameters_are_recovered(known, standin_model):
    """Expression, jaw, neck, eyes, global pose, translation and shape come back within tolerances."""
    truth, fit = known
    assert fit.frames == 20 and fit.fps == 30.0
    assert fit.error_mean_mm < 0.01 and fit.error_max_mm < 0.5, str(fit)
    for name, tolerance in ROTATION_TOLERANCE_DEG.items():
        error = rotation_error_deg(getattr(fit, name), getattr(truth, name))
        assert error.max() < tolerance, f"{name}: {error.max():.3f} degrees off at frame {error.argmax()}"
    used = standin_model.used
    assert_allclose(fit.expression[:, :used["expression"]], truth.expression[:, :used["expression"]], 0.1,
                    "expression")
    assert not fit.expression[:, used["expression"]:].any(), "unused expression components are not zero"
    assert_allclose(fit.betas, truth.betas, 0.05, "betas")
    assert_allclose(fit.transl, truth.transl, 2e-4, "transl (m)")


def test_parameter_file_round_trip(tiny_corpus, standin_dir, tmp_path):
    """A corpus sequence -> parameters -> .npz -> vertices: within 0.5 mm everywhere, and the file
    holds exactly smplx's names, shapes and the error it reports."""
    vertices = np.load(tiny_corpus / "vertices_npy" / "S04_sentence03.npy")[:24].reshape(24, -1, 3)
    fit = fit_flame(vertices, standin_dir, fps=30.0)
    path = save_flame_params(tmp_path / "params.npz", fit)
    with np.load(path) as archive:
        shapes = {name: archive[name].shape for name in archive.files}
        assert all(archive[name].dtype == np.float32 for name in archive.files)
    assert shapes == {"betas": (FLAME_NUM_SHAPE,), "expression": (24, FLAME_NUM_EXPRESSION),
                      **{name: (24, 3) for name in POSES}, "fps": (), "error_mean_mm": (), "error_max_mm": ()}
    loaded = load_flame_params(path)
    assert loaded.fps == 30.0 and loaded.error_max_mm == pytest.approx(fit.error_max_mm)
    distance = np.linalg.norm(flame_params_vertices(path, standin_dir) - vertices, axis=-1) * 1000  # (T, V) mm
    assert distance.mean() < 0.05 and distance.max() < 0.5, (distance.mean(), distance.max())
    assert distance.mean() == pytest.approx(fit.error_mean_mm, abs=1e-4)


def test_parameter_file_errors(known, tmp_path):
    """A missing file, a missing array and a wrong shape: one-line errors naming file and array."""
    truth, _ = known
    with pytest.raises(PtalkerError, match="file not found"):
        load_flame_params(tmp_path / "none.npz")
    arrays = truth.params()
    save_npz(tmp_path / "missing.npz", **{name: value for name, value in arrays.items() if name != "jaw_pose"})
    with pytest.raises(PtalkerError, match=r"missing.npz: no jaw_pose \(it holds: betas, expression"):
        load_flame_params(tmp_path / "missing.npz")
    save_npz(tmp_path / "shape.npz", **{**arrays, "neck_pose": arrays["neck_pose"][:-1]})
    with pytest.raises(PtalkerError, match=r"shape.npz: neck_pose has shape \(19, 3\), expected \(T, 3\) with T = 20"):
        flame_params_vertices(tmp_path / "shape.npz")


def test_wrong_inputs_are_refused(standin_dir):
    """Another topology, non-finite frames and bad settings: PtalkerError before any fitting."""
    with pytest.raises(PtalkerError, match=r"vertices: 100 per frame, expected 5163 \(the mesh of"):
        fit_flame(np.zeros((3, 100, 3)), standin_dir)
    vertices = flame_params_vertices(random_flame_motion(3, seed=2, flame_dir=standin_dir), standin_dir)
    vertices[1, 7] = np.nan
    with pytest.raises(PtalkerError, match="NaN or infinite values in 1 frame"):
        fit_flame(vertices, standin_dir)
    with pytest.raises(PtalkerError, match="FitSettings.iterations: got 0"):
        fit_flame(vertices, standin_dir, FitSettings(iterations=0))


def test_full_flame_components(tmp_path):
    """A model with all 300 + 100 components in use and no vertex skinned to the neck alone (the tiny
    random FLAME): the parameters come out with smplx's shapes and the error they report is theirs."""
    flame_dir = write_flame_dir(tmp_path / "tiny", *tiny_flame(num_vertices=60))
    vertices = flame_params_vertices(random_flame_motion(4, seed=0, flame_dir=flame_dir), flame_dir)
    fit = fit_flame(vertices, flame_dir, FitSettings(iterations=30))
    assert fit.betas.shape == (FLAME_NUM_SHAPE,) and fit.expression.shape == (4, FLAME_NUM_EXPRESSION)
    distance = np.linalg.norm(flame_params_vertices(fit, flame_dir) - vertices, axis=-1) * 1000  # (T, V) mm
    assert distance.mean() == pytest.approx(fit.error_mean_mm, abs=1e-3)
    assert fit.error_mean_mm < 0.1 * np.linalg.norm(vertices - vertices.mean(1, keepdims=True), axis=-1).mean() * 1000


def test_fit_cli(known, standin_dir, tmp_path, capsys):
    """``ptalker fit`` reads a sequence file (fps from the .npz), writes the parameters and prints one
    line; a sequence of another mesh is a one-line error naming the file."""
    truth, _ = known
    seq = tmp_path / "seq.npz"
    save_npz(seq, vertices=flame_params_vertices(truth, standin_dir), fps=np.float32(25))
    assert main(["fit", str(seq), "--out", str(tmp_path / "p.npz"), "--flame-dir", str(standin_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("20 frames fitted: vertex error ") and out.count("\n") == 1, out
    assert load_flame_params(tmp_path / "p.npz").fps == 25.0
    np.save(tmp_path / "other.npy", np.zeros((2, 50, 3), np.float32))
    assert main(["fit", str(tmp_path / "other.npy"), "--out", str(tmp_path / "q.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ptalker: error: ") and "other.npy: vertices: 50 per frame" in err and err.count("\n") == 1
    assert not (tmp_path / "q.npz").exists()


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint in this checkout")
def test_animate_writes_flame_parameters(tiny_corpus, tmp_path):
    """``ptalker animate --format flame`` with the shipped checkpoint writes animation_flame.npz, and
    its parameters give back the animation within 0.5 mm."""
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, load_audio(tiny_corpus / "wav" / "S04_sentence03.wav")[:16000], 16000, subtype="FLOAT")
    out = tmp_path / "a"
    assert main(["animate", str(wav), "--out", str(out), "--format", "flame", "npy", "--audio-only"]) == 0
    assert {p.name for p in out.iterdir()} == {"vertices.npy", "sequence.json", "animation_flame.npz",
                                              "animation.npy", "ptalker_output.json"}
    vertices = np.load(out / "vertices.npy")
    fit = load_flame_params(out / "animation_flame.npz")
    assert fit.frames == len(vertices) == 30 and fit.fps == 30.0
    assert set(fit.params()) == set(PARAM_NAMES)
    distance = np.linalg.norm(flame_params_vertices(fit) - vertices, axis=-1) * 1000  # (T, V) mm
    assert distance.mean() < 0.5, f"round trip {distance.mean():.3f} mm mean"
