"""The 68 facial landmarks of the head model in use: its FLAME directory's
``landmark_embedding_68.npz`` (the stand-in's own, or DECA's for a real FLAME), and the landmarks of
vertex sequences on its mesh. The order and the arithmetic: :mod:`ptalker.mesh.landmarks`.
"""

from __future__ import annotations

import os

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.flame.flame_dir import resolve_flame_dir
from ptalker.flame.flame_files import LANDMARKS_68_FILE, read_landmarks_68
from ptalker.mesh.landmarks import LandmarkEmbedding, landmarks_3d


def landmark_embedding_68(flame_dir: str | os.PathLike | None = None) -> LandmarkEmbedding:
    """The 68-landmark embedding of the head model (``flame_dir``, else the configured FLAME, else
    the stand-in; see :mod:`ptalker.flame.flame_dir`), on that model's faces.

    Raises:
        PtalkerError: the FLAME directory has no 68-landmark embedding (the message says how to
            add one).
    """
    return read_landmarks_68(resolve_flame_dir(flame_dir))


def head_landmarks(vertices: np.ndarray, flame_dir: str | os.PathLike | None = None,
                   source: str = "vertices") -> np.ndarray:
    """The 68 landmarks (T, 68, 3) of a sequence (T, V, 3) on the head model's mesh (V its vertex
    count), in the sequence's units; ``source`` names the sequence in errors.

    Raises:
        PtalkerError: another vertex count, or a head model without a 68-landmark embedding.
    """
    from ptalker.flame.flame_model import head_topology  # smplx and torch: only when landmarks are made

    embedding = landmark_embedding_68(flame_dir)
    head = head_topology(flame_dir)
    count = np.shape(vertices)[-2] if np.ndim(vertices) >= 2 else 0
    if count != head.num_vertices:
        raise PtalkerError(f"{source}: {count} vertices, but 68 landmarks are known only on the head model's "
                           f"mesh ({head.num_vertices} vertices, {LANDMARKS_68_FILE} of "
                           f"{resolve_flame_dir(flame_dir)}); pass a sequence of that head")
    return landmarks_3d(vertices, head.faces, embedding)
