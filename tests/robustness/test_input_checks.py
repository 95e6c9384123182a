"""Issue 21's input faults: every numeric option of every command refuses a value that is not a
finite number in its range, and vertex files with complex or huge coordinates are refused; each in
one line on stderr with exit status 2."""

from __future__ import annotations

import numpy as np
import pytest

from ptalker.cli import main

NUMERIC_OPTIONS = [
    (["animate", "a.wav", "--out", "o"], "--strength", ["nan", "-1", "inf", "x"]),
    (["animate", "a.wav", "--out", "o", "--stream"], "--chunk-ms", ["0", "nan", "-5"]),
    (["animate", "a.wav", "--out", "o"], "--control-seed", ["-1", "1.5", "nan"]),
    (["animate", "a.wav", "--out", "o"], "--cfg-audio", ["nan", "-1", "inf"]),
    (["animate", "a.wav", "--out", "o"], "--cfg-style", ["nan", "-0.5"]),
    (["animate", "a.wav", "--out", "o"], "--temperature", ["nan", "-1"]),
    (["animate", "a.wav", "--out", "o"], "--steps", ["0", "2.5", "nan"]),
    (["animate", "a.wav", "--out", "o"], "--seed", ["-1", "nan"]),
    (["batch", "in", "--out", "o"], "--workers", ["0", "-2", "1.5"]),
    (["batch", "in", "--out", "o"], "--strength", ["nan", "-1"]),
    (["adapt", "--audio", "a", "--motion", "m", "--out", "p.pt"], "--rank", ["0", "nan"]),
    (["adapt", "--audio", "a", "--motion", "m", "--out", "p.pt"], "--steps", ["0", "-3"]),
    (["adapt", "--audio", "a", "--motion", "m", "--out", "p.pt"], "--lr", ["0", "nan", "-1"]),
    (["adapt", "--audio", "a", "--motion", "m", "--out", "p.pt"], "--seed", ["-1"]),
    (["evaluate", "--data", "d", "--out", "o"], "--cfg-style", ["nan"]),
    (["edit", "infill", "p.npy", "--audio", "a.wav", "--span", "1:2", "--out", "o"], "--temperature", ["inf"]),
    (["render", "v.npy", "--out", "v.mp4"], "--fps", ["0", "nan", "-30", "inf"]),
    (["render", "v.npy", "--out", "v.mp4"], "--size", ["0", "-1", "100000"]),
    (["export", "v.npy", "--out", "v.glb"], "--fps", ["nan"]),
    (["export", "v.npy", "--out", "v.glb"], "--error-bound", ["0", "-1", "nan"]),
    (["export", "v.npy", "--out", "v.glb", "--landmarks"], "--size", ["0", "nan"]),
    (["fit", "v.npy", "--out", "p.npz"], "--fps", ["-1"]),
    (["retarget", "v.npy", "--mesh", "m.obj", "--out", "o"], "--fps", ["nan"]),
    (["sync", "a.wav", "v.npy"], "--fps", ["0"]),
    (["plot", "lips", "v.npy", "--out", "l.png"], "--fps", ["inf"]),
]


@pytest.mark.parametrize("argv, option, values", NUMERIC_OPTIONS, ids=[f"{a[0]}{o}" for a, o, _ in NUMERIC_OPTIONS])
def test_numeric_options_refuse_values_out_of_range(argv, option, values, capsys):
    for value in values:
        assert main([*argv, option, value]) == 2, (option, value)
        err = capsys.readouterr().err
        assert err.startswith(f"ptalker: error: {option} {value}: expected ") and err.count("\n") == 1, err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["animate", "a.wav", "--format", "fbx", "--out", "o"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err and "--help" in err, err


@pytest.mark.parametrize("command", ["render", "export"])
@pytest.mark.parametrize("kind", ["complex", "huge", "huge_npz", "complex_npz"])
def test_sequences_with_complex_or_huge_coordinates_are_refused(command, kind, standin_template, tmp_path, capsys):
    vertices = np.repeat(standin_template[None], 3, axis=0)  # (3, V, 3)
    if kind.startswith("complex"):
        vertices = vertices.astype(np.complex64) * (1 + 1j)
    else:
        vertices = vertices * 1e30
    path = tmp_path / ("seq.npz" if kind.endswith("npz") else "seq.npy")
    if kind.endswith("npz"):
        np.savez(path, vertices=vertices, fps=30)
    else:
        np.save(path, vertices)
    out = tmp_path / ("clip.mp4" if command == "render" else "clip.glb")
    assert main([command, str(path), "--out", str(out), "--fps", "30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ptalker: error: {path}") and err.count("\n") == 1, err
    assert ("real" in err) if kind.startswith("complex") else ("at most 10000" in err), err
    assert not out.exists()
