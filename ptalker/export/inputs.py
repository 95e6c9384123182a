"""Checks shared by every writer: the vertex array, the faces and the frame rate.

Each check returns the value in the form the writers use, or raises a one-line
:class:`~ptalker.errors.PtalkerError` naming the argument, what it got, what was expected and
the fix.
"""

from __future__ import annotations

import math

import numpy as np

from ptalker.errors import PtalkerError


def as_vertices(vertices: np.ndarray) -> np.ndarray:
    """Return ``vertices`` as float32 (T, V, 3) (:func:`~ptalker.data.layout.to_vertex_sequence`:
    a (T, V*3) array as the field stores it is reshaped).

    Raises:
        PtalkerError: another shape, no frames or vertices, a non-numeric or non-finite array.
    """
    from ptalker.data.layout import to_vertex_sequence  # lazily: it loads scipy; the CLI imports FORMATS

    array = np.asarray(vertices)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise PtalkerError(f"vertices: expected numbers, got dtype {array.dtype}; pass a float array")
    if array.ndim >= 2 and array.shape[1] == 0:
        raise PtalkerError(f"vertices: got {array.shape}, no vertices; pass one animation's vertex array")
    return to_vertex_sequence(array, None, "vertices")


def as_faces(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """Return ``faces`` as int64 (F, 3) after checking every index lies in [0, ``num_vertices``).

    Raises:
        PtalkerError: another shape, a non-integer array or an index out of range.
    """
    array = np.asarray(faces)
    if array.ndim != 2 or array.shape[1] != 3 or len(array) == 0:
        raise PtalkerError(f"faces: expected triangles of shape (F, 3) with F > 0, got {array.shape}; "
                           "pass the mesh's triangle index array")
    if not np.issubdtype(array.dtype, np.integer):
        raise PtalkerError(f"faces: expected integer vertex indices, got dtype {array.dtype}; "
                           "pass the triangle index array (e.g. Topology.of_head().faces)")
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= num_vertices:
        raise PtalkerError(f"faces: indices span [{low}, {high}] but the vertices have {num_vertices} "
                           f"points (valid: 0..{num_vertices - 1}); pass the faces of the mesh these vertices belong to")
    return array.astype(np.int64, copy=False)


def as_fps(fps: float) -> float:
    """Return ``fps`` as a float after checking it is a positive, finite frame rate.

    Raises:
        PtalkerError: zero, negative, non-finite or not a number.
    """
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise PtalkerError(f"fps: expected a frame rate in frames per second, got {fps!r}; "
                           "pass e.g. 30 for VOCASET or 25 for BIWI") from None
    if not math.isfinite(value) or value <= 0:
        raise PtalkerError(f"fps: expected a positive frame rate, got {fps!r}; pass e.g. 30 for VOCASET or 25 for BIWI")
    return value
