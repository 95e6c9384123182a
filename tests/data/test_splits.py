"""Data set specs: the built-in VOCASET/BIWI splits, their YAML copies, custom specs."""

import dataclasses

import pytest
from helpers import REPO

from ptalker.data.layout import SequenceName
from ptalker.data.splits import BIWI, VOCASET, DatasetSpec, SplitSpec, get_dataset_spec
from ptalker.errors import PtalkerError

CONFIGS = REPO / "configs" / "data"


@pytest.mark.parametrize("name, builtin", [("vocaset", VOCASET), ("biwi", BIWI)])
def test_yaml_configs_equal_the_builtin_specs(name, builtin):
    spec = get_dataset_spec("custom", CONFIGS / f"{name}.yaml")
    assert spec == builtin
    assert get_dataset_spec(name) == builtin


def test_custom_example_loads():
    spec = get_dataset_spec("custom", CONFIGS / "custom_example.yaml")
    assert spec.split("test").contains(SequenceName("carol", "anything"))
    assert spec.num_vertices is None


def test_vocaset_splits_follow_the_design():
    assert VOCASET.frame_step == 2 and VOCASET.num_vertices == 5023
    train, val, test = (set(VOCASET.split(s).subjects) for s in ("train", "val", "test"))
    assert len(train) == 8 and len(val) == 2 and len(test) == 2
    assert not (train & val or train & test or val & test)
    assert VOCASET.split("train").sentences == [f"sentence{i:02d}" for i in range(1, 41)]
    assert VOCASET.split("test").sentences == [f"sentence{i:02d}" for i in range(21, 41)]
    assert VOCASET.condition_subjects == VOCASET.split("train").subjects


def test_biwi_splits_follow_the_design():
    assert BIWI.frame_step == 1 and BIWI.num_vertices == 23370
    sentences = [set(BIWI.split(s).sentences) for s in ("train", "val", "test")]
    assert [len(s) for s in sentences] == [32, 4, 4]
    assert not (sentences[0] & sentences[1] or sentences[0] & sentences[2] or sentences[1] & sentences[2])
    assert BIWI.split("test") == BIWI.split("test_a")
    assert not set(BIWI.split("test_b").subjects) & set(BIWI.split("train").subjects)
    assert len(BIWI.split("test_b").subjects) == 8


def test_split_contains_and_every_sentence():
    split = SplitSpec(["F2"], ["e01"])
    assert split.contains(SequenceName("F2", "e01"))
    assert not split.contains(SequenceName("F2", "e02")) and not split.contains(SequenceName("F3", "e01"))
    assert SplitSpec(["F2"]).contains(SequenceName("F2", "anything"))


def test_unknown_split_names_the_known_ones():
    with pytest.raises(PtalkerError, match="no split 'dev'.*train, val, test"):
        VOCASET.split("dev")


def test_invalid_specs_are_errors():
    with pytest.raises(PtalkerError, match="whole multiple"):
        DatasetSpec(name="x", fps=25, fps_on_disk=60, splits={})
    with pytest.raises(PtalkerError, match="regions 'lips'"):
        DatasetSpec(name="x", fps=30, fps_on_disk=30, splits={}, regions="lips")


def test_for_root_reads_layout_json(tmp_path):
    assert VOCASET.for_root(tmp_path) is VOCASET
    (tmp_path / "layout.json").write_text('{"fps": 30}')
    spec = VOCASET.for_root(tmp_path)
    assert spec.fps_on_disk == 30 and spec.fps == 30 and spec.frame_step == 1
    (tmp_path / "layout.json").write_text('{"fps": 60, "normalization": "none"}')
    assert VOCASET.for_root(tmp_path).frame_step == 2
    (tmp_path / "layout.json").write_text("not json")
    with pytest.raises(PtalkerError, match=r"layout\.json"):
        VOCASET.for_root(tmp_path)


def test_custom_yaml_errors_and_overrides(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text((CONFIGS / "biwi.yaml").read_text() + "frame_rate: 25\n")
    with pytest.raises(PtalkerError, match="unknown key.*frame_rate"):
        get_dataset_spec("custom", path)
    with pytest.raises(PtalkerError, match="--config"):
        get_dataset_spec("custom")
    spec = get_dataset_spec("custom", CONFIGS / "vocaset.yaml", ["fps=60"])
    assert spec == dataclasses.replace(VOCASET, fps=60) and spec.frame_step == 1
