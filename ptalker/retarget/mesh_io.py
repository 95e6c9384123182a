"""The user's head mesh in and its animated frames out, with trimesh.

A mesh file (OBJ, PLY, glTF/GLB, ...) is read with ``process=False`` so that its vertices keep the
order and the splits trimesh reads them in (an OBJ vertex with two UVs is two vertices): the
animation arrays (T, Vu, 3) are in that order. A scene of several meshes is flattened into one
(transforms applied). Frames are written as OBJ files that keep the mesh's UVs and material
(one ``material.mtl`` and texture beside them, shared by every frame) and carry its normals:
each vertex normal of the file is turned by the rotation that takes the vertex's computed
neutral normal to its computed normal in the frame.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.mesh.landmarks import NUM_LANDMARKS
from ptalker.retarget.surface import vertex_normals

LANDMARK_NAMES = {
    "chin": 8, "right_brow_outer": 17, "right_brow_inner": 21, "left_brow_inner": 22, "left_brow_outer": 26,
    "nose_bridge": 27, "nose_tip": 30, "nose_right": 31, "nose_bottom": 33, "nose_left": 35,
    "right_eye_outer": 36, "right_eye_inner": 39, "left_eye_inner": 42, "left_eye_outer": 45,
    "mouth_right": 48, "upper_lip_top": 51, "mouth_left": 54, "lower_lip_bottom": 57,
}
"""Names a landmark JSON may use (the subject's left and right); numbers "0".."67" work too."""
MATERIAL_FILE = "material.mtl"


@dataclass
class UserMesh:
    """The user's neutral head mesh as trimesh read it."""

    mesh: trimesh.Trimesh
    path: Path

    @property
    def vertices(self) -> np.ndarray:
        """(Vu, 3) float64."""
        return np.asarray(self.mesh.vertices, dtype=np.float64)

    @property
    def faces(self) -> np.ndarray:
        """(Fu, 3) int64."""
        return np.asarray(self.mesh.faces, dtype=np.int64)

    @property
    def has_uv(self) -> bool:
        return getattr(self.mesh.visual, "uv", None) is not None


def read_user_mesh(path: str | os.PathLike) -> UserMesh:
    """Read a triangle mesh file (OBJ, PLY, GLB, ...) without merging or reordering vertices.

    Raises:
        PtalkerError: a missing or unreadable file, or one with no triangles.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"--mesh {path}: file not found; give the head mesh to animate (OBJ, PLY or GLB)")
    try:
        loaded = trimesh.load(path, process=False, maintain_order=True)
    except Exception as err:  # trimesh raises many kinds of errors for unreadable files
        raise PtalkerError(f"--mesh {path}: cannot read it as a mesh ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else 'no detail'}); give an OBJ, PLY or GLB file") from None
    if isinstance(loaded, trimesh.Scene):
        parts = [part for part in loaded.dump() if isinstance(part, trimesh.Trimesh) and len(part.faces)]
        loaded = parts[0] if len(parts) == 1 else (trimesh.util.concatenate(parts) if parts else None)
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise PtalkerError(f"--mesh {path}: holds no triangles; give a triangle mesh of the head (OBJ, PLY or GLB)")
    return UserMesh(mesh=loaded, path=path)


def read_landmarks(path: str | os.PathLike) -> np.ndarray:
    """The user's landmarks (68, 3) from a .npy (68, 3) or a JSON object of name -> [x, y, z]
    (:data:`LANDMARK_NAMES` or iBUG numbers); rows not given are NaN.

    Raises:
        PtalkerError: a missing file, another shape, an unknown name or a non-numeric point.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"--landmarks {path}: file not found; give a (68, 3) .npy or a JSON of named points")
    points = np.full((NUM_LANDMARKS, 3), np.nan)
    if path.suffix.lower() == ".json":
        try:
            named = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise PtalkerError(f"--landmarks {path}: not valid JSON ({err}); write an object such as "
                               '{"nose_tip": [x, y, z], ...}') from None
        if not isinstance(named, dict):
            raise PtalkerError(f"--landmarks {path}: expected a JSON object of name -> [x, y, z]")
        for name, value in named.items():
            index = LANDMARK_NAMES.get(name, int(name) if str(name).isdigit() else None)
            point = np.asarray(value, dtype=object)
            if index is None or not 0 <= index < NUM_LANDMARKS:
                raise PtalkerError(f"--landmarks {path}: unknown point {name!r}; use iBUG numbers 0-67 or "
                                   f"{', '.join(LANDMARK_NAMES)}")
            if point.shape != (3,) or not all(isinstance(x, (int, float)) for x in point):
                raise PtalkerError(f"--landmarks {path}: point {name!r} is {value!r}, expected [x, y, z] numbers")
            points[index] = point.astype(np.float64)
        return points
    from ptalker.fileio import load_npy

    array = load_npy(path)
    if array.shape != (NUM_LANDMARKS, 3):
        raise PtalkerError(f"--landmarks {path}: shape {array.shape}, expected ({NUM_LANDMARKS}, 3) in iBUG 300-W order "
                           "(NaN rows for points not given)")
    return array.astype(np.float64)


def _turn(normals: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``normals`` (N, 3) turned by the smallest rotation taking unit ``start`` (N, 3) to ``end``."""
    axis = np.cross(start, end)
    cos = np.einsum("ij,ij->i", start, end)[:, None]
    # Rodrigues with k = axis (|k| = sin): v cos + k x v + k (k.v) / (1 + cos)
    turned = normals * cos + np.cross(axis, normals) + axis * np.einsum("ij,ij->i", axis, normals)[:, None] / \
        np.maximum(1.0 + cos, 1e-9)
    length = np.linalg.norm(turned, axis=1, keepdims=True)
    return np.divide(turned, length, out=normals.copy(), where=length > 0)


def write_obj_frames(user: UserMesh, frames: np.ndarray, folder: Path) -> list[str]:
    """Write ``frames`` (T, Vu, 3) as ``folder/frame_0000.obj`` ... with the user's visual (UVs,
    material, texture in ``material.mtl`` and its image beside them) and normals; returns the
    file names. ``folder`` is written into as is (the caller makes it atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    faces = user.faces
    neutral_normals = vertex_normals(user.vertices, faces)
    file_normals = np.asarray(user.mesh.vertex_normals, dtype=np.float64)
    digits = max(4, len(str(len(frames) - 1)))
    names = []
    for index, frame in enumerate(frames):
        mesh = trimesh.Trimesh(vertices=frame, faces=faces, visual=user.mesh.visual.copy(), process=False)
        normals = _turn(file_normals, neutral_normals, vertex_normals(np.asarray(frame, dtype=np.float64), faces))
        mesh.vertex_normals = normals
        text, texture = trimesh.exchange.obj.export_obj(mesh, include_normals=True, include_texture=True,
                                                        return_texture=True, mtl_name=MATERIAL_FILE)
        if index == 0:
            for name, data in texture.items():
                with atomic_open(folder / name, "wb") as handle:
                    handle.write(data)
        names.append(f"frame_{index:0{digits}d}.obj")
        with atomic_open(folder / names[-1], "w") as handle:
            handle.write(text)
    return names
