"""NumPy exports: .npz with everything a sequence has, .npy with the vertices alone.

An .npz holds::

    vertices        (T, V, 3) float32
    faces           (F, 3) int64
    fps             () float64
    flame_<name>    each FLAME parameter given, e.g. flame_expression (T, 100), flame_jaw_pose (T, 3),
                    flame_shape (300,); stored as given (numeric, finite)

Read it with ``np.load(path)`` (no pickles inside). A .npy holds the (T, V, 3) float32 vertices
only, as ``vertices.npy`` files elsewhere in ptalker; the field's (T, V*3) layout is one
``reshape(len(v), -1)`` away.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import save_npy, save_npz
from ptalker.mesh.checks import as_faces, as_fps, as_vertices

FLAME_PREFIX = "flame_"


def write_npz(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray, fps: float,
              flame_params: Mapping[str, np.ndarray] | None = None) -> Path:
    """Write (T, V, 3) or (T, V*3) ``vertices``, (F, 3) ``faces``, ``fps`` and optional FLAME
    parameters (name -> array, stored as ``flame_<name>``) to an .npz at ``path``, atomically.

    Raises:
        PtalkerError: bad vertices, faces or fps; a parameter name that is not an identifier or
            an array that is not numeric and finite.
    """
    vertices = as_vertices(vertices)
    arrays = {"vertices": vertices, "faces": as_faces(faces, vertices.shape[1]),
              "fps": np.float64(as_fps(fps))}
    arrays.update({FLAME_PREFIX + name: array for name, array in _flame_arrays(flame_params or {}).items()})
    path = Path(path)
    save_npz(path, **arrays)
    return path


def write_npy(path: str | os.PathLike, vertices: np.ndarray) -> Path:
    """Write (T, V, 3) or (T, V*3) ``vertices`` as a (T, V, 3) float32 .npy at ``path``, atomically."""
    path = Path(path)
    save_npy(path, as_vertices(vertices))
    return path


def _flame_arrays(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Check FLAME parameters: identifier names, numeric finite arrays."""
    if not isinstance(params, Mapping):
        raise PtalkerError(f"flame_params: expected a dict of name -> array, got {type(params).__name__}; "
                           "pass e.g. {'expression': (T, 100) array, 'jaw_pose': (T, 3) array}")
    checked = {}
    for name, value in params.items():
        array = np.asarray(value)
        if not isinstance(name, str) or not name.isidentifier():
            raise PtalkerError(f"flame_params: key {name!r} is not a plain name; use names such as 'expression'")
        if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
            raise PtalkerError(f"flame_params[{name!r}]: expected finite numbers, got dtype {array.dtype}; "
                               "pass the parameter as a float array")
        checked[name] = array
    return checked
