"""Vertex-sequence files as ``ptalker render``, ``export`` and ``plot`` read them.

A sequence file is a ``.npy`` of shape (T, V, 3) or (T, V*3), or an ``.npz`` with ``vertices``
and optionally ``faces`` and ``fps`` (what ``ptalker export --format npz`` writes).

- fps: the one given > the ``.npz``'s ``fps`` > ``"fps"`` in a ``sequence.json`` beside the file
  (``ptalker animate`` and the OBJ/PLY exports write one).
- faces: the file given (an (F, 3) integer ``.npy`` or a mesh file trimesh reads) > the ``.npz``'s
  ``faces`` (> the head model's triangles when the vertex count is the head's: see
  :func:`ptalker.pipelines.files.read_sequence`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy, load_npz
from ptalker.mesh.checks import as_faces, as_fps, to_vertex_sequence

SEQUENCE_INFO_FILE = "sequence.json"
"""The JSON beside a sequence file or an OBJ/PLY folder: fps, frames, vertices."""


@dataclass
class SequenceFile:
    """What a sequence file holds."""

    vertices: np.ndarray
    """(T, V, 3) float32."""
    faces: np.ndarray | None
    """(F, 3) triangles, when the file has them."""
    fps: float | None


def load_sequence(path: str | os.PathLike) -> SequenceFile:
    """Read a ``.npy`` or ``.npz`` vertex sequence (see module doc).

    Raises:
        PtalkerError: a missing or unreadable file, another extension, no ``vertices`` in an .npz, a bad shape.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return SequenceFile(to_vertex_sequence(load_npy(path), None, str(path)), None, None)
    if path.suffix.lower() != ".npz":
        raise PtalkerError(f"{path}: expected a vertex sequence as .npy (T, V, 3) or .npz with 'vertices'; "
                           "save it with numpy.save or ptalker export --format npz")
    arrays = load_npz(path, "re-export it")
    if "vertices" not in arrays:
        raise PtalkerError(f"{path}: no 'vertices' array (it holds: {', '.join(arrays) or 'nothing'}); "
                           "save the sequence as vertices=...")
    vertices = to_vertex_sequence(arrays["vertices"], None, str(path))
    fps = float(arrays["fps"]) if "fps" in arrays and arrays["fps"].size == 1 else None
    return SequenceFile(vertices, arrays.get("faces"), fps)


def _sidecar_fps(path: Path) -> float | None:
    """The ``"fps"`` of the ``sequence.json`` beside ``path`` (None when there is none)."""
    info = path.parent / SEQUENCE_INFO_FILE
    if not info.is_file():
        return None
    try:
        data = json.loads(info.read_text())
    except (OSError, ValueError) as err:
        raise PtalkerError(f"{info}: not readable JSON ({err}); fix it or pass --fps") from None
    return data.get("fps") if isinstance(data, dict) else None


def resolve_fps(fps: float | None, sequence: SequenceFile, path: Path, required: bool = True) -> float | None:
    """The frame rate to use for the sequence read from ``path`` (see module doc); None when none is
    known and not ``required``.

    Raises:
        PtalkerError: none is known though ``required``, or the one found is not a positive number.
    """
    for value, source in ((fps, "--fps"), (sequence.fps, f"{path} (fps)"),
                          (_sidecar_fps(path), str(path.parent / SEQUENCE_INFO_FILE))):
        if value is not None:
            return _named(source, as_fps, value)
    if not required:
        return None
    raise PtalkerError(f"{path}: no frame rate known (no 'fps' in the file, no {SEQUENCE_INFO_FILE} beside it); "
                       "pass --fps, e.g. --fps 30 for VOCASET or 25 for BIWI")


def _named(source: str, check, *args):
    """``check(*args)``, with ``source`` put in front of the message of a PtalkerError it raises."""
    try:
        return check(*args)
    except PtalkerError as err:
        raise PtalkerError(f"{source}: {err}") from None


def _faces_file(path: Path) -> np.ndarray:
    """The triangles in ``path``: an (F, 3) .npy, or any mesh file trimesh reads."""
    if path.suffix.lower() == ".npy":
        return load_npy(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: faces file not found; check the --faces path")
    import trimesh

    try:
        mesh = trimesh.load(str(path), process=False, force="mesh")
    except Exception as err:  # trimesh raises many types for unreadable files
        raise PtalkerError(f"{path}: could not read a mesh ({type(err).__name__}: {err}); give an (F, 3) .npy "
                           "or an .obj/.ply of the same mesh") from None
    return np.asarray(mesh.faces)


def resolve_faces(faces: str | os.PathLike | None, sequence: SequenceFile, path: Path) -> np.ndarray | None:
    """The (F, 3) triangles for the sequence read from ``path`` (see module doc), or None when
    neither ``faces`` nor the file gives any.

    Raises:
        PtalkerError: an unreadable faces file, or triangles that do not fit the vertices.
    """
    count = sequence.vertices.shape[1]
    if faces is not None:
        return _named(str(faces), as_faces, _faces_file(Path(faces)), count)
    if sequence.faces is not None:
        return _named(f"{path} (faces)", as_faces, sequence.faces, count)
    return None
