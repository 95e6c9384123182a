"""``ptalker flame import``: FLAME 2020 ``generic_model.pkl`` to the directory smplx expects.

The FLAME download stores its arrays as chumpy objects; chumpy does not import on current
Python/numpy. The restricted unpickler reads them without chumpy (see safe_pickle), and this
module writes plain numpy arrays into a FLAME directory (see flame_dir) that smplx loads. DECA's
``landmark_embedding.npy`` (the iBUG 68 landmarks on FLAME), when given or found beside the
model, is stored as the directory's plain ``landmark_embedding_68.npz``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse

from ptalker.errors import PtalkerError
from ptalker.flame.flame_dir import user_flame_dir
from ptalker.flame.flame_files import EMBEDDING_FILE, MASKS_FILE, check_embedding, check_model, write_flame_dir
from ptalker.mesh.landmarks import LandmarkEmbedding
from ptalker.mesh.regions import RegionMasks
from ptalker.safe_pickle import load_pickle, loads_pickle

ARRAY_KEYS = ("v_template", "f", "shapedirs", "posedirs", "weights", "kintree_table", "J")
DECA_LANDMARKS_FILE = "landmark_embedding.npy"
DECA_KEYS = ("full_lmk_faces_idx", "full_lmk_bary_coords")
"""DECA's 68-landmark arrays: face ids (1, 68) and barycentric weights (1, 68, 3)."""


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


def read_deca_landmarks(path: str | os.PathLike) -> LandmarkEmbedding:
    """The iBUG 68 of DECA's ``landmark_embedding.npy``: a dict saved by ``np.save`` whose
    ``full_lmk_faces_idx`` (1, 68) and ``full_lmk_bary_coords`` (1, 68, 3) are taken.

    ``np.load`` would run the pickle inside; the header is read here and the pickle goes through
    the restricted unpickler.

    Raises:
        PtalkerError: a missing file, not a .npy of a pickled dict, or no 68-landmark arrays in it.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: file not found; check the path")
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            dtype = read_header(handle)[2]
        except ValueError as err:
            raise PtalkerError(f"{path}: not a .npy file ({err}); give DECA's {DECA_LANDMARKS_FILE}") from None
        payload = handle.read()
    data = loads_pickle(payload, str(path)) if dtype.hasobject else None
    if isinstance(data, np.ndarray) and data.shape == ():
        data = data.item()  # np.save wraps the dict in a 0-d object array
    if not isinstance(data, dict) or any(key not in data for key in DECA_KEYS):
        raise PtalkerError(f"{path}: expected DECA's landmark embedding, a dict with {' and '.join(DECA_KEYS)}; "
                           f"give the {DECA_LANDMARKS_FILE} of DECA's data folder")
    face_idx, bary = (np.asarray(data[key]) for key in DECA_KEYS)
    return LandmarkEmbedding(face_idx[0] if face_idx.ndim == 2 and len(face_idx) == 1 else face_idx,
                             bary[0] if bary.ndim == 3 and len(bary) == 1 else bary, source=str(path))


def import_flame_model(model_path: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                       embedding: str | os.PathLike | None = None,
                       masks: str | os.PathLike | None = None, overwrite: bool = False,
                       landmarks_68: str | os.PathLike | None = None) -> Path:
    """Convert ``generic_model.pkl`` (+ landmark embedding, + optional masks and 68 landmarks) into
    a FLAME dir.

    Args:
        model_path: FLAME 2020 generic_model.pkl (chumpy pickle) or an already plain pickle.
        out_dir: target directory (default: :func:`ptalker.flame.flame_dir.user_flame_dir`).
        embedding: flame_static_embedding.pkl; default: found beside ``model_path``.
        masks: FLAME_masks.pkl; default: found beside ``model_path`` (optional).
        overwrite: replace an existing target directory.
        landmarks_68: DECA's landmark_embedding.npy (:func:`read_deca_landmarks`); default: found
            beside ``model_path`` (optional; 68 landmarks need it).

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
    landmarks_path = _beside(model_path, Path(landmarks_68) if landmarks_68 else None, DECA_LANDMARKS_FILE)
    full = None
    if landmarks_path is not None:
        full = read_deca_landmarks(landmarks_path)
        full.check(len(model["f"]))
    out = Path(out_dir) if out_dir is not None else user_flame_dir()
    return write_flame_dir(out, _plain_model(model), landmarks, region_data, overwrite=overwrite,
                           landmarks_68=full)
