"""OBJ and PLY sequences: one mesh file per frame plus ``sequence.json`` in one folder.

Frames are named ``frame_0000.obj`` / ``frame_0000.ply`` (zero-padded to at least 4 digits,
more when the frame count needs them); ``sequence.json`` holds the format, fps, frame, vertex
and face counts and the printf-style name pattern. OBJ coordinates are text with 8 decimals
(about 5e-9 off); PLY is binary little-endian float32, exact. Load a frame back with
``trimesh.load(path, process=False)`` so that vertices are not merged or reordered.

OBJ text is formatted with numpy (:func:`obj_vertex_lines`), not per number in Python: the files
are byte for byte what ``trimesh.exchange.obj.export_obj(..., digits=8)`` writes, its header
comment included, at a small fraction of its time (a 20 s clip is 600 frames of 5k vertices).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json
from ptalker.mesh.checks import as_faces, as_fps, as_vertices
from ptalker.mesh.sequence_file import SEQUENCE_INFO_FILE

MIN_FRAME_DIGITS = 4
OBJ_DECIMALS = 8
OBJ_HEADER = b"# https://github.com/mikedh/trimesh\n"
"""The first line of every OBJ frame (the files have always been trimesh's layout)."""
FIXED_POINT_LIMIT = 1e9
"""Coordinates at or above this in size are formatted by Python's '%.8f' (their digits do not
fit the int64 fixed point of :func:`obj_vertex_lines`); meshes never get near it."""
_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], np.uint8).view(np.uint32)[:, 0]
"""(10000,) the ASCII of 0000 .. 9999, four bytes each, as one uint32 word each."""


def obj_vertex_lines(frame: np.ndarray) -> bytes:
    """``v x y z`` lines, each ending in a newline, of a (V, 3) float32 ``frame``; every
    coordinate reads exactly as ``'%.8f' % float(x)`` does.

    Each number is laid out in a fixed-width row of bytes (see ``cells``) that a mask then
    squeezes: the '-' only for negatives, no leading zeros in the integer part.
    """
    values = frame.astype(np.float64).ravel()  # (N,) N = 3V
    if np.abs(values).max() >= FIXED_POINT_LIMIT:
        return (b"v %.8f %.8f %.8f\n" * len(frame)) % tuple(values.tolist())
    # A float32 times 1e8 needs at most 24 + 19 bits, so the product is exact in float64, and
    # rint rounds it half to even as '%.8f' rounds the exact decimal value.
    scaled = np.rint(np.abs(values) * 10.0 ** OBJ_DECIMALS).astype(np.int64)  # (N,)
    whole, fraction = np.divmod(scaled, 10 ** OBJ_DECIMALS)  # (N,) each
    width = len(str(whole.max()))  # W, digits of the largest integer part
    powers = 10 ** np.arange(width - 1, -1, -1)  # (W,)
    # cells (N, P + 8): P = W + 3 rounded up to whole uint32 words, so that the 8 decimals are
    # two aligned words: [padding] ' ' '-' [W digits] '.' [8 decimals]
    prefix = -(-(width + 3) // 4) * 4
    start = prefix - width - 3
    cells = np.empty((len(values), prefix + OBJ_DECIMALS), np.uint8)
    words = cells.view(np.uint32)  # (N, P / 4 + 2)
    words[:, :prefix // 4] = np.frombuffer(b" " * start + b" -" + b"0" * width + b".", np.uint32)
    cells[:, start + 2:prefix - 1] += (whole[:, None] // powers % 10).astype(np.uint8)
    keep = np.zeros(cells.shape, bool)
    keep[:, start] = keep[:, prefix - 2:] = True  # the space, the units digit, '.', the decimals
    keep[:, start + 1] = np.signbit(values)  # '%.8f' writes '-' for -0.0 and tiny negatives too
    keep[:, start + 2:prefix - 2] = whole[:, None] >= powers[:-1]
    high = fraction // 10_000
    words[:, -2] = _DIGITS4[high]
    words[:, -1] = _DIGITS4[fraction - 10_000 * high]
    lines = np.empty((len(frame), 3 * cells.shape[1] + 2), np.uint8)  # 'v' [3 cells] '\n'
    lines[:, 0], lines[:, -1] = ord("v"), ord("\n")
    lines[:, 1:-1] = cells.reshape(len(frame), -1)
    mask = np.ones(lines.shape, bool)
    mask[:, 1:-1] = keep.reshape(len(frame), -1)
    return lines[mask].tobytes()


def obj_face_lines(faces: np.ndarray) -> bytes:
    """``f a b c`` lines (1-based), each ending in a newline, of (F, 3) int ``faces``."""
    return (b"f %d %d %d\n" * len(faces)) % tuple((faces + 1).ravel().tolist())


Encoder = Callable[[np.ndarray], bytes]
"""Encodes one (V, 3) float32 frame as the bytes of its file."""


def _obj_encoder(faces: np.ndarray) -> Encoder:
    face_lines = obj_face_lines(faces) + b"\n"  # the same in every frame: formatted once
    return lambda frame: OBJ_HEADER + obj_vertex_lines(frame) + face_lines


def _ply_encoder(faces: np.ndarray) -> Encoder:
    import trimesh

    return lambda frame: trimesh.exchange.ply.export_ply(trimesh.Trimesh(frame, faces, process=False),
                                                         encoding="binary", vertex_normal=False,
                                                         include_attributes=False)


ENCODERS: dict[str, Callable[[np.ndarray], Encoder]] = {"obj": _obj_encoder, "ply": _ply_encoder}
"""Mesh-sequence format -> the function that makes its :data:`Encoder` for (F, 3) int64 faces."""


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
    vertices = as_vertices(vertices)
    with mesh_sequence_writer(out_dir, len(vertices), vertices.shape[1], faces, fps, fmt) as write:
        write(vertices)
    return Path(out_dir)


@contextlib.contextmanager
def mesh_sequence_writer(out_dir: str | os.PathLike, num_frames: int, num_vertices: int, faces: np.ndarray,
                         fps: float, fmt: str = "obj") -> Iterator[Callable[[np.ndarray], None]]:
    """:func:`write_mesh_sequence` for frames that come in blocks: yields a function that writes
    the next block (n, V, 3) of the ``num_frames`` frames; the folder is swapped in whole when the
    block of code ends with every frame written (else nothing changes)."""
    if fmt not in ENCODERS:
        raise PtalkerError(f"fmt: expected one of {', '.join(ENCODERS)} for a mesh sequence, got {fmt!r}")
    faces = as_faces(faces, num_vertices)
    info = {"format": fmt, "fps": as_fps(fps), "frames": num_frames, "vertices": int(num_vertices),
            "faces": len(faces), "pattern": f"frame_%0{frame_digits(num_frames)}d.{fmt}"}
    encode = ENCODERS[fmt](faces)
    written = 0
    with atomic_directory(Path(out_dir), marker=SEQUENCE_INFO_FILE) as tmp:
        def write(block: np.ndarray) -> None:
            nonlocal written
            for frame in as_vertices(block):
                (tmp / frame_name(written, num_frames, fmt)).write_bytes(encode(frame))
                written += 1

        yield write
        if written != num_frames:
            raise PtalkerError(f"{out_dir}: {written} frames were written of the {num_frames} announced")
        save_json(tmp / SEQUENCE_INFO_FILE, info)
