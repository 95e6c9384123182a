"""The FLAME directory smplx expects: its files, how they are checked, read and written.

::

    DIR/FLAME_NEUTRAL.pkl            v_template, f, shapedirs (V, 3, 400), posedirs, J_regressor,
                                     weights, kintree_table
    DIR/flame_static_embedding.pkl   lmk_face_idx (51,), lmk_b_coords (51, 3)
    DIR/FLAME_masks.pkl              optional: region name -> vertex ids
    DIR/landmark_embedding_68.npz    optional: face_idx (68,), bary (68, 3), the iBUG 68 landmarks
                                     (DECA's landmark_embedding.npy, converted by the importer)
    DIR/standin.json                 only for the stand-in: component names

Which directory is used is :mod:`ptalker.flame.flame_dir`.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_LANDMARKS, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json, save_npz
from ptalker.mesh.landmarks import LandmarkEmbedding
from ptalker.safe_pickle import load_pickle

MODEL_FILE = "FLAME_NEUTRAL.pkl"
EMBEDDING_FILE = "flame_static_embedding.pkl"
MASKS_FILE = "FLAME_masks.pkl"
INFO_FILE = "standin.json"
LANDMARKS_68_FILE = "landmark_embedding_68.npz"
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


def read_landmarks_68(path: str | os.PathLike) -> LandmarkEmbedding:
    """The 68-landmark embedding of the FLAME directory ``path`` (its LANDMARKS_68_FILE).

    Raises:
        PtalkerError: the directory has none (the message says how to add one), or the file is
            not a 68-landmark embedding.
    """
    path = Path(path)
    file = path / LANDMARKS_68_FILE
    if not file.is_file():
        raise PtalkerError(
            f"{file}: not found, so this FLAME directory has no 68-landmark embedding; put DECA's "
            f"landmark_embedding.npy beside generic_model.pkl and rerun 'ptalker flame import generic_model.pkl "
            f"--out {path} --overwrite' (a stand-in directory: rerun 'ptalker flame standin --out {path}')")
    try:
        with np.load(file, allow_pickle=False) as data:
            face_idx, bary = data["face_idx"], data["bary"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise PtalkerError(f"{file}: not a 68-landmark embedding ({type(err).__name__}: {err}); "
                           "import the FLAME directory again") from None
    return LandmarkEmbedding(face_idx, bary, source=str(file))


def write_flame_dir(out: str | os.PathLike, model: dict, embedding: dict, masks: dict | None = None,
                    info: dict | None = None, overwrite: bool = False,
                    landmarks_68: LandmarkEmbedding | None = None) -> Path:
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
        if landmarks_68 is not None:
            save_npz(tmp / LANDMARKS_68_FILE, face_idx=landmarks_68.face_idx, bary=landmarks_68.bary)
    return out
