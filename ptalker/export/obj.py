"""OBJ sequences: one Wavefront OBJ per frame plus ``sequence.json`` (fps, frame count).

Frames are named ``frame_0000.obj`` (zero-padded to the frame count's width); load them back
with ``trimesh.load(path, process=False)`` so that vertices are not merged or reordered.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json

SEQUENCE_INFO_FILE = "sequence.json"
MIN_FRAME_DIGITS = 4


def frame_name(index: int, num_frames: int) -> str:
    digits = max(MIN_FRAME_DIGITS, len(str(num_frames - 1)))
    return f"frame_{index:0{digits}d}.obj"


def write_obj_sequence(vertices: np.ndarray, faces: np.ndarray, out_dir: str | os.PathLike,
                       fps: float) -> Path:
    """Write (T, V, 3) ``vertices`` with (F, 3) ``faces`` as an OBJ sequence in ``out_dir``.

    The folder is assembled beside ``out_dir`` and swapped in whole, so it never mixes frames
    of two runs. Returns ``out_dir``.
    """
    vertices = np.asarray(vertices)
    if vertices.ndim != 3 or vertices.shape[2] != 3 or len(vertices) == 0:
        raise PtalkerError(f"vertices: expected shape (T, V, 3) with T > 0, got {vertices.shape}")
    out_dir = Path(out_dir)
    with atomic_directory(out_dir) as tmp:
        for index, frame in enumerate(vertices):
            mesh = trimesh.Trimesh(frame, faces, process=False)
            text = trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_texture=False)
            (tmp / frame_name(index, len(vertices))).write_text(text)
        save_json(tmp / SEQUENCE_INFO_FILE, {"fps": fps, "frames": len(vertices),
                                             "vertices": int(vertices.shape[1])})
    return out_dir
