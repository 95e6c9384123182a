"""Input checks of mesh data: vertex sequences, triangles, frame rates, templates and vertex ids.

The writers, the renderer, the sequence files and the measures all check their inputs here.
Each check returns the value in the form its callers use, or raises a one-line
:class:`~ptalker.errors.PtalkerError` naming the argument, what it got, what was expected and
the fix.
"""

from __future__ import annotations

import math

import numpy as np

from ptalker.errors import PtalkerError

MAX_COORDINATE = 1e4
"""The largest absolute vertex coordinate accepted (mesh units: 10 km for heads in metres, 10 m in
millimetres); anything larger is a unit or export error, not a face."""


def as_vertices(vertices: np.ndarray) -> np.ndarray:
    """Return ``vertices`` as float32 (T, V, 3) (:func:`to_vertex_sequence`: a (T, V*3) array as the
    field stores it is reshaped).

    Raises:
        PtalkerError: another shape, no frames or vertices, a non-numeric or non-finite array.
    """
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
                           "pass the triangle index array (e.g. head_topology().faces)")
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
def to_vertex_sequence(array: np.ndarray, num_vertices: int | None, source: str) -> np.ndarray:
    """Bring an on-disk vertex array to (T, V, 3) float32.

    Accepts (T, V*3) and (T, V, 3); when ``num_vertices`` is given the vertex count must match.

    Raises:
        PtalkerError: wrong rank, a last axis that is not a multiple of 3, a vertex count that
            does not match, no frames, or values that are not real, finite and within
            :data:`MAX_COORDINATE`.
    """
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise PtalkerError(f"{source}: expected real vertex coordinates, got dtype {array.dtype}; "
                           "save the positions as a float array")
    if array.ndim == 2 and array.shape[1] % 3 == 0:
        array = array.reshape(array.shape[0], -1, 3)  # (T, V*3) -> (T, V, 3)
    if array.ndim != 3 or array.shape[2] != 3:
        raise PtalkerError(f"{source}: expected vertices of shape (T, V, 3) or (T, V*3), got {array.shape}")
    if num_vertices is not None and array.shape[1] != num_vertices:
        raise PtalkerError(
            f"{source}: has {array.shape[1]} vertices but the template has {num_vertices}; "
            "use the data set's own templates.pkl or the matching head model"
        )
    if array.shape[0] == 0:
        raise PtalkerError(f"{source}: the sequence has no frames")
    if not np.all(np.isfinite(array)):
        raise PtalkerError(f"{source}: holds NaN or infinite vertex positions; re-export it")
    return check_coordinates(array, source).astype(np.float32, copy=False)


def check_coordinates(array: np.ndarray, source: str) -> np.ndarray:
    """Return the finite ``array`` of vertex positions after checking every |coordinate| <= MAX_COORDINATE.

    Raises:
        PtalkerError: a larger coordinate, naming ``source``.
    """
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    if largest > MAX_COORDINATE:
        raise PtalkerError(f"{source}: vertex coordinates reach {largest:.3g} in absolute value; expected at most "
                           f"{MAX_COORDINATE:g} (mesh units: metres, or millimetres for raw scans); check the "
                           "file's units and scale")
    return array

def check_indices(indices: np.ndarray, num_vertices: int, what: str) -> np.ndarray:
    """(N,) int indices, raveled; PtalkerError naming ``what`` when empty, not integer or out of range."""
    indices = np.asarray(indices).ravel()
    if indices.size == 0 or not np.issubdtype(indices.dtype, np.integer):
        raise PtalkerError(f"{what}: expected a non-empty array of integer vertex indices, "
                           f"got {indices.size} values of dtype {indices.dtype}")
    if indices.min() < 0 or indices.max() >= num_vertices:
        raise PtalkerError(f"{what}: indices span {indices.min()}..{indices.max()} but the "
                           f"meshes have {num_vertices} vertices; use the region files of this mesh")
    return indices


def as_frames(vertices: np.ndarray, what: str, min_frames: int = 1) -> np.ndarray:
    """``vertices`` (T, V, 3) as float64, T >= ``min_frames``; a PtalkerError naming ``what`` otherwise."""
    vertices = np.asarray(vertices)
    if vertices.ndim != 3 or vertices.shape[2] != 3 or vertices.shape[0] < min_frames:
        raise PtalkerError(f"{what}: expected vertices of shape (T, V, 3) with T >= {min_frames}, "
                           f"got {vertices.shape}; reshape (T, V*3) arrays to (T, V, 3)")
    return vertices.astype(np.float64, copy=False)


def as_template(template: np.ndarray, num_vertices: int) -> np.ndarray:
    """``template`` (V, 3) as float64 for sequences of ``num_vertices`` vertices; a PtalkerError otherwise."""
    template = np.asarray(template)
    if template.shape != (num_vertices, 3):
        raise PtalkerError(f"template: expected shape ({num_vertices}, 3) like the sequence's "
                           f"meshes, got {template.shape}; use the subject's neutral mesh")
    return template.astype(np.float64, copy=False)
