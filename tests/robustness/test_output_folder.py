"""Issue 21's faults on ``ptalker animate``'s output folder: a folder with the user's files, a file
as --out, two writers, a failure half-way, and a later run leaving no outputs of an earlier one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.pipelines import animate_folder
from ptalker.pipelines.output_folder import LOCK_FILE, MANIFEST_FILE, FolderLock


def _wav(path, seconds):
    t = np.arange(int(16000 * seconds)) / 16000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, subtype="FLOAT")
    return str(path)


@pytest.fixture
def animate(tiny_trained, tmp_path):
    """``ptalker animate`` of ``seconds`` of a tone into ``out`` with the tiny model (audio only)."""
    def run(out, *extra, seconds=0.5):
        wav = _wav(tmp_path / f"tone_{seconds}.wav", seconds)
        return main(["animate", wav, "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint),
                     "--audio-only", *extra])
    return run


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert err.startswith("ptalker: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    return err


def test_ten_ms_of_audio_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["animate", _wav(tmp_path / "short.wav", 0.01), "--out", str(out)]) == 2
    _one_line_error(capsys, "short.wav", "10 ms", "at least 100 ms")
    assert not out.exists()
    assert main(["animate", _wav(tmp_path / "short.wav", 0.01), "--out", str(out), "--rules"]) == 2
    _one_line_error(capsys, "at least 100 ms")


def test_a_folder_of_the_users_files_is_refused_without_overwrite(animate, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "vertices.npy").write_bytes(b"the user's own file")
    (out / "notes.txt").write_text("keep me")
    assert animate(out, "--format", "npy") == 2
    _one_line_error(capsys, "did not write", "vertices.npy", "--overwrite")
    assert (out / "vertices.npy").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "vertices.npy"]
    assert animate(out, "--format", "npy", "--overwrite") == 0
    assert np.load(out / "vertices.npy").shape[0] == 15 and (out / "notes.txt").read_text() == "keep me"
    assert json.loads((out / MANIFEST_FILE).read_text())["command"] == "animate"
    assert animate(out, "--format", "npy") == 0, "a folder ptalker wrote into is ptalker's"


def test_a_file_as_out_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(animate_folder, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["animate", _wav(tmp_path / "a.wav", 0.5), "--out", str(target)]) == 2
    _one_line_error(capsys, "taken", "is a file, not a folder")
    assert target.read_text() == "x"


def test_a_second_run_replaces_the_first_whole(animate, tmp_path):
    """No OBJ frames or exports of an earlier run are left beside a later one's."""
    out = tmp_path / "out"
    assert animate(out, "--format", "obj", "glb", seconds=1.0) == 0
    assert len(list((out / "obj").glob("*.obj"))) == 30 and (out / "animation.glb").is_file()
    assert animate(out, "--format", "obj", seconds=0.5) == 0
    assert len(list((out / "obj").glob("*.obj"))) == 15
    assert sorted(p.name for p in out.iterdir()) == sorted(["obj", MANIFEST_FILE, "sequence.json", "vertices.npy"])


@pytest.mark.parametrize("writer,fmt", [("write_streamed", "npy"), ("write_outputs", "glb")])
def test_a_failed_run_leaves_the_folder_as_it_was(animate, tmp_path, monkeypatch, writer, fmt):
    """Block-by-block (npy) or whole-sequence (glb) writing that fails half-way changes nothing."""
    out = tmp_path / "out"
    assert animate(out, "--format", fmt, seconds=1.0) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(vertices_or_blocks, *args):
        (Path(args[-2] if writer == "write_streamed" else args[2]) / "vertices.npy").write_bytes(b"half")
        raise PtalkerError("export failed half-way")

    monkeypatch.setattr(animate_folder, writer, broken)
    assert animate(out, "--format", fmt, seconds=0.5) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, "no lock, old outputs"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "staging folder left"


def test_a_folder_another_process_writes_is_refused(animate, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with FolderLock(out):  # this process holds it, as a running ptalker would
        assert animate(out, "--format", "npy") == 2
        _one_line_error(capsys, "another ptalker process", f"pid {os.getpid()}")
    assert not (out / LOCK_FILE).exists() and not (out / "vertices.npy").exists()


def test_a_lock_of_a_process_that_is_gone_is_taken_over(animate, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (out / LOCK_FILE).write_text(json.dumps({"pid": int(gone.stdout), "host": socket.gethostname(), "since": "x"}))
    (out / ".ptalker-staging-dead").mkdir()  # a killed run's half-written outputs
    assert animate(out, "--format", "npy") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MANIFEST_FILE, "animation.npy", "sequence.json", "vertices.npy"])


def test_edit_refuses_a_folder_of_the_users_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    status = main(["edit", "infill", str(tmp_path / "take.npy"), "--audio", str(tmp_path / "line.wav"),
                   "--span", "1.0:2.0", "--out", str(folder)])
    assert status == 2 and "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "my notes"


def test_demo_refuses_a_folder_of_the_users_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "vertices.npy").write_bytes(b"my own array")
    assert main(["demo", "--out", str(folder)]) == 2
    _one_line_error(capsys, str(folder), "--overwrite")
    assert sorted(p.name for p in folder.iterdir()) == ["vertices.npy"]
    assert (folder / "vertices.npy").read_bytes() == b"my own array"
