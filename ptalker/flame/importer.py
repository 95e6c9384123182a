"""``ptalker flame import``: FLAME 2020 ``generic_model.pkl`` to the directory smplx expects.

The FLAME download stores its arrays as chumpy objects; chumpy does not import on current
Python/numpy. The restricted unpickler reads them without chumpy (see safe_pickle), and this
module writes plain numpy arrays into a FLAME directory (see flame_dir) that smplx loads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse

from ptalker.errors import PtalkerError
from ptalker.flame.flame_dir import user_flame_dir
from ptalker.flame.flame_files import EMBEDDING_FILE, MASKS_FILE, check_embedding, check_model, write_flame_dir
from ptalker.mesh.regions import RegionMasks
from ptalker.safe_pickle import load_pickle

ARRAY_KEYS = ("v_template", "f", "shapedirs", "posedirs", "weights", "kintree_table", "J")


def _plain_model(model: dict) -> dict:
    """The model with numpy arrays (and a sparse J_regressor), ready for plain pickling."""
    plain = {key: np.asarray(model[key]) for key in ARRAY_KEYS if key in model}
    regressor = model["J_regressor"]
    plain["J_regressor"] = scipy.sparse.csc_matrix(regressor) if scipy.sparse.issparse(regressor) \
        else np.asarray(regressor)
    for key in ("bs_style", "bs_type"):
        if key in model:
            plain[key] = str(model[key])
    return plain


def _beside(model_path: Path, given: Path | None, name: str) -> Path | None:
    if given is not None:
        if not given.is_file():
            raise PtalkerError(f"{given}: file not found; check the path")
        return given
    candidate = model_path.parent / name
    return candidate if candidate.is_file() else None


def import_flame_model(model_path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                       embedding: str | os.PathLike | None = None,
                       masks: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Convert ``generic_model.pkl`` (+ landmark embedding, + optional masks) into a FLAME dir.

    Args:
        model_path: FLAME 2020 generic_model.pkl (chumpy pickle) or an already plain pickle.
        out_dir: target directory (default: :func:`ptalker.flame.flame_dir.user_flame_dir`).
        embedding: flame_static_embedding.pkl; default: found beside ``model_path``.
        masks: FLAME_masks.pkl; default: found beside ``model_path`` (optional).
        overwrite: replace an existing target directory.

    Returns:
        The directory written.
    """
    model_path = Path(model_path)
    model = load_pickle(model_path)
    check_model(model, str(model_path))
    embedding_path = _beside(model_path, Path(embedding) if embedding else None, EMBEDDING_FILE)
    if embedding_path is None:
        raise PtalkerError(
            f"{model_path.parent / EMBEDDING_FILE}: landmark embedding not found; pass --embedding "
            "with flame_static_embedding.pkl (it comes with the FLAME download)"
        )
    landmarks = load_pickle(embedding_path)
    check_embedding(landmarks, str(embedding_path))
    landmarks = {key: np.asarray(value) for key, value in landmarks.items()}
    masks_path = _beside(model_path, Path(masks) if masks else None, MASKS_FILE)
    region_data = None
    if masks_path is not None:
        regions = RegionMasks.from_flame_masks(masks_path)
        regions.check(len(model["v_template"]), str(masks_path))
        region_data = {name: np.asarray(ids, dtype=np.int64) for name, ids in regions.all.items()}
    out = Path(out_dir) if out_dir is not None else user_flame_dir()
    return write_flame_dir(out, _plain_model(model), landmarks, region_data, overwrite=overwrite)
