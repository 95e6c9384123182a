"""OBJ and PLY sequences: one mesh file per frame plus ``sequence.json`` in one folder.

Frames are named ``frame_0000.obj`` / ``frame_0000.ply`` (zero-padded to at least 4 digits,
more when the frame count needs them); ``sequence.json`` holds the format, fps, frame, vertex
and face counts and the printf-style name pattern. OBJ coordinates are text with 8 decimals
(about 5e-9 off); PLY is binary little-endian float32, exact. Load a frame back with
``trimesh.load(path, process=False)`` so that vertices are not merged or reordered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import trimesh

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json
from ptalker.mesh.checks import as_faces, as_fps, as_vertices
from ptalker.mesh.sequence_file import SEQUENCE_INFO_FILE

MIN_FRAME_DIGITS = 4
OBJ_DECIMALS = 8


def _obj_bytes(mesh: trimesh.Trimesh) -> bytes:
    text = trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_color=False,
                                           include_texture=False, digits=OBJ_DECIMALS)
    return text.encode("utf-8")


def _ply_bytes(mesh: trimesh.Trimesh) -> bytes:
    return trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=False,
                                           include_attributes=False)


ENCODERS: dict[str, Callable[[trimesh.Trimesh], bytes]] = {"obj": _obj_bytes, "ply": _ply_bytes}
"""Mesh-sequence format -> the function that encodes one frame."""


def frame_digits(num_frames: int) -> int:
    """How many digits the frame numbers of a ``num_frames`` sequence are padded to."""
    return max(MIN_FRAME_DIGITS, len(str(num_frames - 1)))


def frame_name(index: int, num_frames: int, fmt: str = "obj") -> str:
    """The file name of frame ``index`` (from 0) of a ``num_frames`` sequence, e.g. ``frame_0007.obj``."""
    return f"frame_{index:0{frame_digits(num_frames)}d}.{fmt}"


def write_mesh_sequence(vertices: np.ndarray, faces: np.ndarray, out_dir: str | os.PathLike,
                        fps: float, fmt: str = "obj") -> Path:
    """Write (T, V, 3) or (T, V*3) ``vertices`` with (F, 3) ``faces`` as one ``fmt`` file per frame.

    ``fmt`` is "obj" or "ply". The folder is assembled beside ``out_dir`` and swapped in whole,
    so it never mixes frames of two runs and a failed write leaves the old folder as it was.
    Returns ``out_dir``.

    Raises:
        PtalkerError: an unknown ``fmt``, or bad vertices, faces or fps.
    """
    if fmt not in ENCODERS:
        raise PtalkerError(f"fmt: expected one of {', '.join(ENCODERS)} for a mesh sequence, got {fmt!r}")
    vertices = as_vertices(vertices)
    faces = as_faces(faces, vertices.shape[1])
    info = {"format": fmt, "fps": as_fps(fps), "frames": len(vertices), "vertices": int(vertices.shape[1]),
            "faces": len(faces), "pattern": f"frame_%0{frame_digits(len(vertices))}d.{fmt}"}
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, marker=SEQUENCE_INFO_FILE) as tmp:
        for index, frame in enumerate(vertices):
            mesh = trimesh.Trimesh(frame, faces, process=False)
            (tmp / frame_name(index, len(vertices), fmt)).write_bytes(ENCODERS[fmt](mesh))
        save_json(tmp / SEQUENCE_INFO_FILE, info)
    return out_dir
