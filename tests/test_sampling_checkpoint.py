"""Speaker-pair batches and self-describing checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.data.sampling import SpeakerPairSampler, other_clip, partner
from ptalker.errors import PtalkerError
from ptalker.mesh.regions import RegionMasks
from ptalker.mesh.topology import Topology
from ptalker.pipelines.checkpoint import load_checkpoint, load_state, save_checkpoint

SUBJECTS = ["A"] * 5 + ["B"] * 4 + ["C"] * 3 + ["D"]


def test_pairs_share_a_speaker():
    sampler = SpeakerPairSampler(SUBJECTS, batch_size=4, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 2  # 2 + 2 + 1 pairs -> two batches of two pairs
    for batch in batches:
        assert len(batch) == 4 and len(set(batch)) == 4
        for position, index in enumerate(batch):
            assert SUBJECTS[batch[partner(position)]] == SUBJECTS[index]
    assert 12 not in {i for b in batches for i in b}, "a subject with one clip has no pair"


def test_deterministic_per_epoch_and_sharded():
    sampler = SpeakerPairSampler(SUBJECTS * 4, batch_size=4, seed=3)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    shards = [list(SpeakerPairSampler(SUBJECTS * 4, 4, seed=3, rank=r, world=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) and not {tuple(b) for b in shards[0]} & {tuple(b) for b in shards[1]}
    assert {tuple(b) for s in shards for b in s} <= {tuple(b) for b in first}


@pytest.mark.parametrize("size", [3, 0])
def test_bad_batch_size(size):
    with pytest.raises(PtalkerError, match="batch_size"):
        SpeakerPairSampler(SUBJECTS, size)


def test_needs_pairs():
    with pytest.raises(PtalkerError, match="two clips"):
        SpeakerPairSampler(["A", "B"], 2)


def triangle() -> Topology:
    masks = RegionMasks(lips=np.array([0, 1]), upper_face=np.array([2]), source="test", all={"face": np.array([1])})
    return Topology(np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]), masks)


def test_checkpoint_round_trip(tmp_path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "c.pt", model, {"model": {"width": 3}}, triangle(), extra={"epoch": 4},
                    weights_dtype=torch.float16)
    data = load_checkpoint(tmp_path / "c.pt")
    assert data["config"] == {"model": {"width": 3}} and data["extra"]["epoch"] == 4
    assert data["model"]["weight"].dtype == torch.float16
    other = torch.nn.Linear(3, 2)
    load_state(other, data)
    assert other.weight.dtype == torch.float32
    assert torch.allclose(other.weight, model.weight, atol=1e-3)
    mesh = Topology.from_checkpoint(data["topology"], "c.pt")
    np.testing.assert_array_equal(mesh.template, np.eye(3))
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])
    assert mesh.masks.lips.tolist() == [0, 1] and mesh.masks.upper_face.tolist() == [2]
    assert mesh.masks.all["face"].tolist() == [1] and mesh.masks.source == "test"
    assert data["topology"]["num_vertices"] == 3
    with pytest.raises(PtalkerError, match="stores no mesh"):
        Topology.from_checkpoint({"num_vertices": 3}, "old.pt")
    with pytest.raises(PtalkerError, match="do not fit"):
        load_state(torch.nn.Linear(3, 3), data)  # strict: shapes must match


def test_checkpoint_errors(tmp_path):
    with pytest.raises(PtalkerError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(PtalkerError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(PtalkerError, match="not a ptalker checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_export_checkpoint(tmp_path):
    from ptalker.pipelines.checkpoint import export_checkpoint

    model = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "last.pt", model, {}, triangle(),
                    extra={"train_state": {"optimizer": {"big": torch.zeros(1000)}}, "fps": 30.0})
    export_checkpoint(tmp_path / "last.pt", tmp_path / "ship.pt")
    data = load_checkpoint(tmp_path / "ship.pt")
    assert data["extra"] == {"fps": 30.0} and data["model"]["weight"].dtype == torch.float16
    assert (tmp_path / "ship.pt").stat().st_size < (tmp_path / "last.pt").stat().st_size


def test_other_clip():
    subjects = ["A", "B", "A", "A", "C"]
    assert [other_clip(subjects, i) for i in range(5)] == [2, None, 3, 0, None]  # next of the same, cyclically
    assert other_clip(subjects, 2, same_subject=False) == 4 and other_clip(subjects, 4, same_subject=False) == 0
    assert other_clip(["A"], 0, same_subject=False) is None
