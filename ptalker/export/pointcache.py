"""PC2 and MDD point caches, in the layouts Blender's Mesh Cache modifier reads.

PC2 (little-endian; 3ds Max's point cache, Blender ``MOD_meshcache_pc2``)::

    char[12]  b"POINTCACHE2\\0"
    int32     file version, 1
    int32     number of points V
    float32   start frame
    float32   sampling: frames between two samples (1.0 = every frame)
    int32     number of samples T
    float32   T * V * 3 coordinates, frame after frame

MDD (big-endian; LightWave's format, Blender ``MOD_meshcache_mdd``)::

    int32     number of frames T
    int32     number of points V
    float32   T frame times in seconds (frame / fps)
    float32   T * V * 3 coordinates, frame after frame

Neither file holds faces: the cache drives a mesh with the same vertices in the same order,
e.g. the first frame of an OBJ sequence written by :mod:`ptalker.export.mesh_sequence`.
Blender's own MDD exporter writes one extra rest-pose frame after the times; the modifier
does not expect it and these files do not have it.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.mesh.checks import as_fps, as_vertices

PC2_SIGNATURE = b"POINTCACHE2\0"
PC2_VERSION = 1
PC2_HEADER = struct.Struct("<12siiffi")  # signature, version, points, start frame, sampling, samples
MDD_HEADER = struct.Struct(">ii")  # frames, points
FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Pc2Cache:
    """A PC2 file read back: ``vertices`` (T, V, 3) float32, the start frame and the sampling
    (frames between samples)."""

    vertices: np.ndarray
    start_frame: float
    sampling: float


@dataclass(frozen=True)
class MddCache:
    """An MDD file read back: ``vertices`` (T, V, 3) float32 and ``times_s`` (T,) float32 seconds."""

    vertices: np.ndarray
    times_s: np.ndarray


def write_pc2(path: str | os.PathLike, vertices: np.ndarray, start_frame: float = 0.0,
              sampling: float = 1.0) -> Path:
    """Write (T, V, 3) or (T, V*3) ``vertices`` as a PC2 file at ``path`` (atomically); returns ``path``."""
    vertices = as_vertices(vertices)
    frames, points = vertices.shape[:2]
    header = PC2_HEADER.pack(PC2_SIGNATURE, PC2_VERSION, points, float(start_frame), float(sampling), frames)
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        handle.write(header)
        handle.write(vertices.astype("<f4").tobytes())
    return path


def write_mdd(path: str | os.PathLike, vertices: np.ndarray, fps: float) -> Path:
    """Write (T, V, 3) or (T, V*3) ``vertices`` at ``fps`` as an MDD file at ``path`` (atomically)."""
    vertices = as_vertices(vertices)
    frames, points = vertices.shape[:2]
    times_s = np.arange(frames) / as_fps(fps)  # (T,)
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        handle.write(MDD_HEADER.pack(frames, points))
        handle.write(times_s.astype(">f4").tobytes())
        handle.write(vertices.astype(">f4").tobytes())
    return path


def read_pc2(path: str | os.PathLike) -> Pc2Cache:
    """Read a PC2 file.

    Raises:
        PtalkerError: missing, not a PC2 file, or a size that does not match its header.
    """
    data = _read(path, PC2_HEADER.size)
    signature, _, points, start, sampling, frames = PC2_HEADER.unpack_from(data)
    if signature != PC2_SIGNATURE:
        raise PtalkerError(f"{path}: not a PC2 point cache (no POINTCACHE2 signature); pass a .pc2 file")
    vertices = _coordinates(path, data, PC2_HEADER.size, frames, points, "<f4")
    return Pc2Cache(vertices, float(start), float(sampling))


def read_mdd(path: str | os.PathLike) -> MddCache:
    """Read an MDD file.

    Raises:
        PtalkerError: missing, or a size that does not match its header.
    """
    data = _read(path, MDD_HEADER.size)
    frames, points = MDD_HEADER.unpack_from(data)
    times_end = MDD_HEADER.size + max(frames, 0) * FLOAT32_BYTES
    vertices = _coordinates(path, data, times_end, frames, points, ">f4")  # checks the size, times included
    times_s = np.frombuffer(data, ">f4", count=frames, offset=MDD_HEADER.size)  # (T,)
    return MddCache(vertices, times_s.astype(np.float32))


def _read(path: str | os.PathLike, header_bytes: int) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: point cache not found; check the path")
    data = path.read_bytes()
    if len(data) < header_bytes:
        raise PtalkerError(f"{path}: {len(data)} bytes, shorter than a point-cache header; re-export it")
    return data


def _coordinates(path: str | os.PathLike, data: bytes, offset: int, frames: int, points: int,
                 dtype: str) -> np.ndarray:
    """The (T, V, 3) float32 frames stored from ``offset`` on, checked against the header's counts."""
    expected = offset + frames * points * 3 * FLOAT32_BYTES
    if frames <= 0 or points <= 0 or len(data) != expected:
        raise PtalkerError(f"{path}: {len(data)} bytes, but its header says {frames} frames of {points} points "
                           f"({expected} bytes); the file is truncated or not a point cache")
    coords = np.frombuffer(data, dtype, count=frames * points * 3, offset=offset)
    return coords.reshape(frames, points, 3).astype(np.float32)  # (T, V, 3)
