"""ptalker flame import: a chumpy FLAME pickle made here loads without chumpy and runs in smplx."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from ptalker.cli import main
from ptalker.errors import PtalkerError, UnsafePickleError
from ptalker.flame.flame_model import FlameModel
from ptalker.flame.importer import import_flame_model

V = 12


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo should-not-run",))


def _chumpy_pickle(path, model):
    """Pickle ``model`` with its arrays wrapped in a class named chumpy.ch.Ch, as FLAME does."""
    module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = types.ModuleType("chumpy"), module
    try:
        wrapped = {k: Ch(v) if k in ("v_template", "shapedirs", "posedirs", "weights") else v
                   for k, v in model.items()}
        path.write_bytes(pickle.dumps(wrapped, protocol=2))
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


@pytest.fixture
def raw_flame(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.random((V, 5))
    model = {
        "v_template": rng.normal(size=(V, 3)) * 0.05, "f": np.array([[0, 1, 2], [2, 3, 4]], np.uint32),
        "shapedirs": rng.normal(size=(V, 3, 400)) * 1e-3, "posedirs": np.zeros((V, 3, 36)),
        "J_regressor": scipy.sparse.csc_matrix(np.full((5, V), 1.0 / V)),
        "weights": weights / weights.sum(1, keepdims=True),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
        "bs_style": "lbs", "bs_type": "lrotmin",
    }
    _chumpy_pickle(tmp_path / "generic_model.pkl", model)
    embedding = {"lmk_face_idx": np.zeros(51, np.int64), "lmk_b_coords": np.tile([1.0, 0, 0], (51, 1))}
    (tmp_path / "flame_static_embedding.pkl").write_bytes(pickle.dumps(embedding))
    (tmp_path / "FLAME_masks.pkl").write_bytes(pickle.dumps({"lips": np.array([1, 2]),
                                                            "forehead": np.array([3]),
                                                            "eye_region": np.array([4])}))
    return tmp_path, model


def test_chumpy_model_imports_and_runs_in_smplx(raw_flame, tmp_path):
    folder, model = raw_flame
    out = import_flame_model(folder / "generic_model.pkl", out_dir=tmp_path / "flame")
    flame = FlameModel(out)
    betas = torch.zeros(300)
    betas[:2] = torch.tensor([1.0, -2.0])
    got = flame(shape=betas).vertices.detach().numpy()
    want = model["v_template"] + model["shapedirs"][:, :, 0] - 2 * model["shapedirs"][:, :, 1]
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()
    assert flame.masks_path is not None


def test_existing_target_is_kept_without_overwrite(raw_flame, tmp_path):
    folder, _ = raw_flame
    target = tmp_path / "flame"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(PtalkerError, match="--overwrite"):
        import_flame_model(folder / "generic_model.pkl", out_dir=target)
    assert (target / "keep.txt").read_text() == "mine"


def test_missing_embedding_is_a_clear_error(raw_flame, tmp_path):
    folder, _ = raw_flame
    (folder / "flame_static_embedding.pkl").unlink()
    with pytest.raises(PtalkerError, match="--embedding"):
        import_flame_model(folder / "generic_model.pkl", out_dir=tmp_path / "flame")


def test_malicious_model_pickle_is_refused_by_the_cli(tmp_path, capsys):
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(pickle.dumps({"v_template": _Evil()}))
    with pytest.raises(UnsafePickleError):
        import_flame_model(path, out_dir=tmp_path / "flame")
    assert main(["flame", "import", str(path), "--out", str(tmp_path / "flame")]) == 2
    err = capsys.readouterr().err.strip()
    assert "system" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "flame").exists()
