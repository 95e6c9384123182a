"""Self-describing checkpoints: the mesh and config inside, half-precision weights, clear errors, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.mesh.regions import RegionMasks
from ptalker.mesh.topology import Topology
from ptalker.pipelines.checkpoint import load_checkpoint, load_state, save_checkpoint


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
