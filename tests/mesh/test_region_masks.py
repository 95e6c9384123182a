"""Region masks: FLAME_masks.pkl, lve.txt/fdd.txt index files, validation."""

import collections
import pickle

import numpy as np
import pytest

from ptalker.errors import PtalkerError, UnsafePickleError
from ptalker.flame.flame_dir import ENV_VAR as FLAME_DIR_ENV
from ptalker.flame.masks import default_region_masks
from ptalker.mesh.regions import RegionMasks, read_index_file


def write_flame_masks(path, **extra):
    masks = {"lips": np.array([5, 3, 4]), "forehead": np.array([9, 7, 8]),
             "eye_region": np.array([8, 6]), "face": np.arange(10),
             "left_eyeball": np.array([1, 2])}
    masks.update(extra)
    path.write_bytes(pickle.dumps(masks, protocol=2))
    return path


def test_from_flame_masks(tmp_path):
    masks = RegionMasks.from_flame_masks(write_flame_masks(tmp_path / "FLAME_masks.pkl"))
    np.testing.assert_array_equal(masks.lips, [5, 3, 4])
    np.testing.assert_array_equal(masks.upper_face, [6, 7, 8, 9])  # sorted unique union
    assert set(masks.all) == {"lips", "forehead", "eye_region", "face", "left_eyeball"}
    assert masks.lips.dtype == np.int64
    assert "FLAME_masks.pkl" in masks.source and "forehead+eye_region" in masks.source
    masks.check(10, "test mesh")


def test_flame_masks_missing_key(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps({"lips": np.array([1]), "face": np.array([1])}))
    with pytest.raises(PtalkerError, match="forehead, eye_region"):
        RegionMasks.from_flame_masks(path)


def test_flame_masks_refuses_code(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(collections.OrderedDict(lips=[1])))
    with pytest.raises(UnsafePickleError, match="OrderedDict"):
        RegionMasks.from_flame_masks(path)


def test_index_files_any_separation(tmp_path):
    (tmp_path / "lve.txt").write_text("3, 1, 2")
    (tmp_path / "fdd.txt").write_text("4,5\n6 7\t\n7\n")
    masks = RegionMasks.from_index_files(tmp_path / "lve.txt", tmp_path / "fdd.txt")
    np.testing.assert_array_equal(masks.lips, [3, 1, 2])  # file order, as the field reads it
    np.testing.assert_array_equal(masks.upper_face, [4, 5, 6, 7, 7])  # duplicates kept
    assert "lve.txt" in masks.source and masks.all == {}
    assert RegionMasks.from_regions_dir(tmp_path).source == masks.source


def test_index_file_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1, 2, x3")
    with pytest.raises(PtalkerError, match="bad.txt.*integers"):
        read_index_file(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n")
    with pytest.raises(PtalkerError, match="no vertex indices"):
        read_index_file(empty)
    with pytest.raises(PtalkerError, match="missing.txt: index file not found"):
        read_index_file(tmp_path / "missing.txt")
    with pytest.raises(PtalkerError, match="regions folder not found"):
        RegionMasks.from_regions_dir(tmp_path / "nothing")


def test_check_out_of_range_and_empty():
    masks = RegionMasks(lips=np.array([0, 10]), upper_face=np.array([1]), source="test")
    with pytest.raises(PtalkerError, match="lip indices span 0..10 but mesh.ply has 10 vertices"):
        masks.check(10, "mesh.ply")
    masks.check(11)
    negative = RegionMasks(lips=np.array([0]), upper_face=np.array([-1]), source="test")
    with pytest.raises(PtalkerError, match="upper-face"):
        negative.check(5)
    empty = RegionMasks(lips=np.array([], dtype=np.int64), upper_face=np.array([1]), source="t")
    with pytest.raises(PtalkerError, match="empty"):
        empty.check(5)


def test_default_region_masks(tmp_path, monkeypatch):
    monkeypatch.delenv(FLAME_DIR_ENV, raising=False)
    assert default_region_masks(10) is None
    monkeypatch.setenv(FLAME_DIR_ENV, str(tmp_path))
    assert default_region_masks(10) is None  # no file there
    write_flame_masks(tmp_path / "FLAME_masks.pkl")
    masks = default_region_masks(10)
    np.testing.assert_array_equal(masks.lips, [5, 3, 4])
    assert default_region_masks(5) is None  # another topology: not applicable


def test_default_region_masks_fall_back_to_the_standin(monkeypatch, standin_model):
    monkeypatch.delenv(FLAME_DIR_ENV, raising=False)
    masks = default_region_masks(standin_model.num_vertices)
    assert masks is not None and len(masks.lips) > 50 and len(masks.upper_face) > 100
    assert "FLAME_masks.pkl" in masks.source
