"""The FLAME directory smplx expects: its files, how they are checked, read and written.

::

    DIR/FLAME_NEUTRAL.pkl            v_template, f, shapedirs (V, 3, 400), posedirs, J_regressor,
                                     weights, kintree_table
    DIR/flame_static_embedding.pkl   lmk_face_idx (51,), lmk_b_coords (51, 3)
    DIR/FLAME_masks.pkl              optional: region name -> vertex ids
    DIR/standin.json                 only for the stand-in: component names

Which directory is used is :mod:`ptalker.flame.flame_dir`.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_LANDMARKS, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json
from ptalker.safe_pickle import load_pickle

MODEL_FILE = "FLAME_NEUTRAL.pkl"
EMBEDDING_FILE = "flame_static_embedding.pkl"
MASKS_FILE = "FLAME_masks.pkl"
INFO_FILE = "standin.json"
MODEL_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


def check_model(model: dict, source: str) -> None:
    """Raise PtalkerError unless ``model`` is a FLAME model smplx can use with 300+100 components."""
    if not isinstance(model, dict):
        raise PtalkerError(f"{source}: expected a FLAME model dict, got {type(model).__name__}")
    missing = [key for key in MODEL_KEYS if key not in model]
    if missing:
        raise PtalkerError(f"{source}: not a FLAME model, missing {', '.join(missing)}; "
                           "give generic_model.pkl from the FLAME 2020 download")
    num_vertices = np.shape(model["v_template"])[0]
    shapedirs = np.shape(model["shapedirs"])
    if len(shapedirs) != 3 or shapedirs[0] != num_vertices or \
            shapedirs[2] < FLAME_NUM_SHAPE + FLAME_NUM_EXPRESSION:
        raise PtalkerError(
            f"{source}: shapedirs has shape {shapedirs}, expected ({num_vertices}, 3, "
            f"{FLAME_NUM_SHAPE + FLAME_NUM_EXPRESSION}); smplx would silently drop to 10+10 "
            "components: use the FLAME 2020 model"
        )


def check_embedding(embedding: dict, source: str) -> None:
    """Raise PtalkerError unless ``embedding`` is FLAME's 51-landmark static embedding."""
    if not isinstance(embedding, dict) or "lmk_face_idx" not in embedding or "lmk_b_coords" not in embedding:
        raise PtalkerError(f"{source}: expected a dict with lmk_face_idx and lmk_b_coords "
                           "(flame_static_embedding.pkl)")
    if np.shape(embedding["lmk_b_coords"]) != (FLAME_NUM_LANDMARKS, 3):
        raise PtalkerError(f"{source}: lmk_b_coords has shape {np.shape(embedding['lmk_b_coords'])}, "
                           f"expected ({FLAME_NUM_LANDMARKS}, 3)")


def read_flame_dir(path: str | os.PathLike) -> tuple[dict, dict]:
    """Read and check (model, embedding) through the restricted unpickler."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file():
        raise PtalkerError(f"{path}: no {MODEL_FILE} here; run 'ptalker flame import "
                           "generic_model.pkl' or leave the FLAME directory unset for the stand-in")
    model = load_pickle(path / MODEL_FILE)
    check_model(model, str(path / MODEL_FILE))
    embedding = load_pickle(path / EMBEDDING_FILE)
    check_embedding(embedding, str(path / EMBEDDING_FILE))
    return model, embedding


def write_flame_dir(out: str | os.PathLike, model: dict, embedding: dict, masks: dict | None = None,
                    info: dict | None = None, overwrite: bool = False) -> Path:
    """Write a FLAME directory atomically: assembled beside ``out``, then renamed into place.

    Raises:
        PtalkerError: ``out`` exists and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise PtalkerError(f"{out}: already exists; pass --overwrite to replace it or choose "
                           "another --out")
    with atomic_directory(out) as tmp:
        for name, data in ((MODEL_FILE, model), (EMBEDDING_FILE, embedding), (MASKS_FILE, masks)):
            if data is not None:
                with open(tmp / name, "wb") as handle:
                    pickle.dump(data, handle, protocol=2)
        if info is not None:
            save_json(tmp / INFO_FILE, info)
    return out
