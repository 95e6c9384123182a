"""Atomic writes (an error never clobbers a good file or leaves temp files) and checked .npy reads."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, atomic_open, load_npy, save_json, save_npy, save_text


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_open_writes(tmp_path):
    path = tmp_path / "sub" / "deeper" / "out.bin"  # parents are created
    with atomic_open(path) as handle:
        handle.write(b"abc")
        assert not path.exists(), "the destination appeared before the block finished"
    assert path.read_bytes() == b"abc"
    assert listing(path.parent) == ["out.bin"]


def test_atomic_open_text_mode(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_open(path, "w") as handle:
        handle.write("héllo\n")
    assert path.read_text() == "héllo\n"


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_open_keeps_original_on_error(tmp_path, error):
    path = tmp_path / "data.json"
    path.write_text('{"good": true}')
    with pytest.raises(error):
        with atomic_open(path, "w") as handle:
            handle.write('{"half": ')
            raise error("interrupted")
    assert path.read_text() == '{"good": true}'
    assert listing(tmp_path) == ["data.json"], "a temporary file was left behind"


def test_atomic_open_no_file_on_error(tmp_path):
    path = tmp_path / "new.npy"
    with pytest.raises(ValueError):
        with atomic_open(path) as handle:
            handle.write(b"partial")
            raise ValueError("boom")
    assert listing(tmp_path) == []


def test_atomic_replace(tmp_path):
    path = tmp_path / "a.txt"
    save_text(path, "one")
    save_text(path, "two")
    assert path.read_text() == "two"
    assert listing(tmp_path) == ["a.txt"]


def test_atomic_directory_replaces_whole(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_directory(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        (tmp / "new.txt").write_text("new")
        assert (out / "old.txt").exists(), "the old folder went away before the block finished"
    assert listing(out) == ["new.txt"]
    assert listing(tmp_path) == ["model"], "a temporary folder was left behind"


@pytest.mark.parametrize("existing", [True, False])
def test_atomic_directory_keeps_original_on_error(tmp_path, existing):
    out = tmp_path / "sub" / "model"
    if existing:
        out.mkdir(parents=True)
        (out / "good.txt").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("interrupted")
    if existing:
        assert listing(out) == ["good.txt"] and (out / "good.txt").read_text() == "good"
        assert listing(out.parent) == ["model"], "a temporary folder was left behind"
    else:
        assert listing(out.parent) == [], "a folder appeared although the block failed"


def test_atomic_directory_with_marker_refuses_a_foreign_folder(tmp_path):
    mine, foreign = tmp_path / "mine", tmp_path / "foreign"
    for folder, name in ((mine, "sequence.json"), (foreign, "thesis.tex")):
        folder.mkdir()
        (folder / name).write_text("x")
    with pytest.raises(PtalkerError, match="not a folder ptalker wrote"):
        with atomic_directory(foreign, marker="sequence.json"):
            pass
    assert listing(foreign) == ["thesis.tex"]
    with atomic_directory(mine, marker="sequence.json") as tmp:
        (tmp / "sequence.json").write_text("new")
    assert (mine / "sequence.json").read_text() == "new"
    assert (mine.stat().st_mode & 0o777) == 0o777 & ~_current_umask(), "the folder ignores the umask"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_save_npy_round_trip(tmp_path):
    arrays = [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, -2], dtype=np.int16),
              np.zeros((0, 5)), np.array(3.5), [[1.0, 2.0]]]
    for i, array in enumerate(arrays):
        path = tmp_path / f"a{i}.npy"
        save_npy(path, array)
        out = load_npy(path)
        expected = np.asarray(array)
        assert out.dtype == expected.dtype and out.shape == expected.shape
        np.testing.assert_array_equal(out, expected)
    assert len(listing(tmp_path)) == len(arrays)


def test_save_npy_refuses_objects_and_keeps_original(tmp_path):
    path = tmp_path / "a.npy"
    save_npy(path, np.ones(3))
    with pytest.raises(ValueError):
        save_npy(path, np.array([{"a": 1}], dtype=object))
    np.testing.assert_array_equal(np.load(path), np.ones(3))
    assert listing(tmp_path) == ["a.npy"]


def test_save_json(tmp_path):
    data = {"b": [1, 2.5, None], "a": {"x": "ü"}}
    path = tmp_path / "d.json"
    save_json(path, data)
    assert json.loads(path.read_text()) == data
    assert list(json.loads(path.read_text())) == ["b", "a"]  # order kept
    assert path.read_text().endswith("\n")


def test_save_json_unserialisable_keeps_original(tmp_path):
    path = tmp_path / "d.json"
    save_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        save_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert listing(tmp_path) == ["d.json"]


def test_load_npy_refuses_object_arrays(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(PtalkerError) as info:
        load_npy(path)
    assert "objects.npy" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("array", [np.array(["a", "bc"]), np.array([b"x"])])
def test_load_npy_refuses_non_numeric(tmp_path, array):
    path = tmp_path / "text.npy"
    np.save(path, array)
    with pytest.raises(PtalkerError, match="text.npy.*numeric"):
        load_npy(path)


@pytest.mark.parametrize("keep", [0, 5, 60, -8])
def test_load_npy_truncated(tmp_path, keep):
    path = tmp_path / "trunc.npy"
    np.save(path, np.arange(100, dtype=np.float64))
    data = path.read_bytes()
    path.write_bytes(data[:keep % len(data)] if keep else b"")
    with pytest.raises(PtalkerError) as info:
        load_npy(path)
    assert "trunc.npy" in str(info.value) and "\n" not in str(info.value)


def test_load_npy_not_npy(tmp_path):
    path = tmp_path / "text.npy"
    path.write_text("0 1 2 3\n")
    with pytest.raises(PtalkerError, match="text.npy"):
        load_npy(path)


def test_load_npy_npz_is_refused(tmp_path):
    path = tmp_path / "arrays.npy"
    with open(path, "wb") as handle:
        np.savez(handle, a=np.ones(2))
    with pytest.raises(PtalkerError, match="arrays.npy"):
        load_npy(path)


def test_load_npy_missing(tmp_path):
    with pytest.raises(PtalkerError, match="gone.npy.*not found"):
        load_npy(tmp_path / "gone.npy")
