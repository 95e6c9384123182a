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
from ptalker.flame.importer import import_flame_model, read_deca_landmarks
from ptalker.flame.landmarks import head_landmarks, landmark_embedding_68

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


# --- DECA's 68-landmark embedding -------------------------------------------------------------


def _deca_embedding(path, faces_idx, bary, extra=None):
    """Save a dict as DECA's landmark_embedding.npy is saved: np.save of a pickled dict."""
    data = {"static_lmk_faces_idx": np.zeros(51, np.int64), "full_lmk_faces_idx": faces_idx,
            "full_lmk_bary_coords": bary, **(extra or {})}
    np.save(path, np.array(data, dtype=object), allow_pickle=True)


def test_deca_landmarks_are_imported_into_the_flame_dir(raw_flame, tmp_path):
    folder, model = raw_flame
    rng = np.random.default_rng(1)
    faces_idx, bary = rng.integers(0, 2, (1, 68)), rng.dirichlet(np.ones(3), (1, 68)).astype(np.float32)
    _deca_embedding(folder / "landmark_embedding.npy", faces_idx, bary)  # found beside generic_model.pkl
    out = import_flame_model(folder / "generic_model.pkl", out_dir=tmp_path / "flame")
    embedding = landmark_embedding_68(out)
    assert np.array_equal(embedding.face_idx, faces_idx[0]) and np.allclose(embedding.bary, bary[0])
    frames = np.repeat(model["v_template"][None], 2, axis=0)
    faces = np.asarray(model["f"], np.int64)[faces_idx[0]]  # (68, 3)
    want = np.einsum("kj,kjc->kc", bary[0].astype(np.float64), model["v_template"][faces])
    assert np.abs(head_landmarks(frames, out) - want).max() < 1e-6


def test_flame_dir_without_deca_landmarks_has_none(raw_flame, tmp_path):
    folder, _ = raw_flame
    out = import_flame_model(folder / "generic_model.pkl", out_dir=tmp_path / "flame")
    with pytest.raises(PtalkerError, match="no 68-landmark embedding; put DECA's landmark_embedding.npy"):
        landmark_embedding_68(out)


def test_bad_deca_landmarks_are_refused(raw_flame, tmp_path):
    folder, _ = raw_flame
    path = tmp_path / "landmark_embedding.npy"
    _deca_embedding(path, np.zeros((1, 68), np.int64), np.tile([1.0, 0, 0], (1, 68, 1)), {"evil": _Evil()})
    with pytest.raises(UnsafePickleError, match="system"):
        read_deca_landmarks(path)
    _deca_embedding(path, np.full((1, 68), 5), np.tile([1.0, 0, 0], (1, 68, 1)))  # the model has 2 faces
    with pytest.raises(PtalkerError, match=r"face ids span \[5, 5\] but the mesh has 2 triangles"):
        import_flame_model(folder / "generic_model.pkl", out_dir=tmp_path / "flame", landmarks_68=path)
    assert not (tmp_path / "flame").exists()
    np.save(path, np.zeros((68, 3)))
    with pytest.raises(PtalkerError, match="expected DECA's landmark embedding"):
        read_deca_landmarks(path)
    path.write_bytes(b"not numpy")
    with pytest.raises(PtalkerError, match="not a .npy file"):
        read_deca_landmarks(path)
