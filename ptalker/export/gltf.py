"""glTF 2.0 binary (.glb): a base mesh, K morph targets and one animation of their weights.

The file holds one node with one mesh: POSITION (with min/max), smooth NORMAL of the mean frame
(optional; without normals glTF viewers must shade flat), uint16/uint32 triangle indices, a
grey clay material, K morph targets (POSITION offsets, a PCA basis of the motion, see
:mod:`ptalker.export.morph`) named in ``mesh.extras.targetNames``, and ``mesh.weights`` set to
the first frame. One animation has one LINEAR channel on the node's ``weights`` with a key per
frame at float32 time frame / fps; every weight lies in [0, 1]. ``asset.extras`` records fps,
frame count and the achieved error. Audio is not part of core glTF: the exporter writes the WAV
beside the file. The Khronos validator (npm ``gltf-validator``) reports no errors on these files.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib

from ptalker import __version__
from ptalker.errors import PtalkerError
from ptalker.export.morph import DEFAULT_ERROR_BOUND, DEFAULT_MAX_TARGETS, decode, fit_morph_basis
from ptalker.fileio import atomic_open
from ptalker.mesh.checks import as_faces, as_fps, as_vertices

COMPONENT_TYPES = {np.dtype(np.float32): pygltflib.FLOAT, np.dtype(np.uint16): pygltflib.UNSIGNED_SHORT,
                   np.dtype(np.uint32): pygltflib.UNSIGNED_INT}
ACCESSOR_TYPES = {1: pygltflib.SCALAR, 3: pygltflib.VEC3}
_DTYPES = {code: dtype.newbyteorder("<") for dtype, code in COMPONENT_TYPES.items()}  # glTF is little-endian
_WIDTHS = {name: width for width, name in ACCESSOR_TYPES.items()}
UINT16_INDEX_LIMIT = 65535
"""uint16 indices serve meshes up to this many vertices (65535 itself is the restart value)."""
CLAY_COLOR = [0.8, 0.78, 0.76, 1.0]
CLAY_ROUGHNESS = 0.7
GLB_MAGIC = b"glTF"
TARGET_NAME = "pca_{:03d}"


@dataclass(frozen=True)
class GlbResult:
    """What :func:`write_glb` wrote: the path, the morph-target count K, the largest vertex error
    over all frames (mesh units) and the bound asked for, and the file size."""

    path: Path
    num_targets: int
    max_error: float
    error_bound: float
    num_bytes: int

    @property
    def bound_met(self) -> bool:
        return self.max_error <= self.error_bound

    def __str__(self) -> str:
        text = (f"{self.num_targets} morph targets, max vertex error {self.max_error:.3g} "
                f"(bound {self.error_bound:.3g}, mesh units)")
        if not self.bound_met:
            text += "; the bound was not met: raise max_targets or loosen error_bound"
        return text


@dataclass(frozen=True)
class GlbSequence:
    """A .glb decoded back: ``vertices`` (T, V, 3) float32 at the key times, ``faces`` (F, 3)
    int64, ``times_s`` (T,) float32 key times in seconds."""

    vertices: np.ndarray
    faces: np.ndarray
    times_s: np.ndarray


def write_glb(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray, fps: float,
              error_bound: float = DEFAULT_ERROR_BOUND, max_targets: int = DEFAULT_MAX_TARGETS,
              normals: bool = True) -> GlbResult:
    """Write (T, V, 3) or (T, V*3) ``vertices`` with (F, 3) ``faces`` at ``fps`` as a .glb file.

    ``error_bound`` (mesh units; 1e-4 = 0.1 mm for metres) and ``max_targets`` choose K, see
    :mod:`ptalker.export.morph`. The file is written atomically.

    Raises:
        PtalkerError: bad vertices, faces, fps, error_bound or max_targets.
    """
    vertices = as_vertices(vertices)
    faces = as_faces(faces, vertices.shape[1])
    fps = as_fps(fps)
    _check_fit_options(error_bound, max_targets)
    basis = fit_morph_basis(vertices, float(error_bound), int(max_targets))
    times_s = (np.arange(len(vertices)) / fps).astype(np.float32)  # (T,)
    smooth = vertex_normals(vertices.mean(axis=0), faces) if normals else None
    names = [TARGET_NAME.format(k) for k in range(basis.num_targets)]
    gltf = morph_gltf(basis.base, basis.targets, basis.weights, names, faces, times_s, smooth)
    gltf.asset.extras = {"ptalker": {"fps": fps, "frames": len(vertices), "maxError": basis.max_error,
                                     "errorBound": basis.error_bound}}
    path = save_glb(path, gltf)
    return GlbResult(path, basis.num_targets, basis.max_error, basis.error_bound, path.stat().st_size)


def save_glb(path: str | os.PathLike, gltf: pygltflib.GLTF2) -> Path:
    """Write ``gltf`` (with its binary blob) as a .glb file at ``path``, atomically; returns the path."""
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        for chunk in gltf.save_to_bytes():
            handle.write(chunk)
    return path


def _check_fit_options(error_bound: float, max_targets: int) -> None:
    if not isinstance(error_bound, numbers.Real) or not np.isfinite(error_bound) or error_bound <= 0:
        raise PtalkerError(f"error_bound: expected a positive distance in mesh units, got {error_bound!r}; "
                           "pass e.g. 1e-4 (0.1 mm for meshes in metres)")
    if isinstance(max_targets, bool) or not isinstance(max_targets, (int, np.integer)) or max_targets < 1:
        raise PtalkerError(f"max_targets: expected a whole number >= 1, got {max_targets!r}; "
                           f"pass e.g. {DEFAULT_MAX_TARGETS}")


def vertex_normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) float32 of (V, 3) ``points``; +Z where undefined."""
    corners = points.astype(np.float64)[faces]  # (F, 3, 3)
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])  # (F, 3), |n| = 2 area
    normals = np.zeros((len(points), 3))
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)  # (V, 1)
    normals = np.where(length > 0, normals / np.where(length > 0, length, 1.0), [0.0, 0.0, 1.0])
    return normals.astype(np.float32)


class BinaryBuffer:
    """Collects arrays into the one binary buffer of a .glb, each with a bufferView and an accessor."""

    def __init__(self, gltf: pygltflib.GLTF2) -> None:
        self.gltf = gltf
        self.data = bytearray()

    def add(self, array: np.ndarray, target: int | None = None, bounds: bool = False) -> int:
        """Store (N,) or (N, 3) ``array``; returns its accessor index (min/max set when ``bounds``)."""
        array = np.ascontiguousarray(array)
        self.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(self.data),
                                                          byteLength=array.nbytes, target=target))
        self.data += array.tobytes()
        self.data += b"\0" * (-len(self.data) % 4)  # keep every view 4-byte aligned
        rows = array.reshape(len(array), -1)  # (N, C)
        accessor = pygltflib.Accessor(bufferView=len(self.gltf.bufferViews) - 1, count=len(array),
                                      componentType=COMPONENT_TYPES[array.dtype],
                                      type=ACCESSOR_TYPES[rows.shape[1]])
        if bounds:
            accessor.min, accessor.max = rows.min(axis=0).tolist(), rows.max(axis=0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def finish(self) -> None:
        self.gltf.buffers = [pygltflib.Buffer(byteLength=len(self.data))]
        self.gltf.set_binary_blob(bytes(self.data))


def morph_gltf(base: np.ndarray, targets: np.ndarray, weights: np.ndarray, target_names: list[str],
               faces: np.ndarray, times_s: np.ndarray, normals: np.ndarray | None) -> pygltflib.GLTF2:
    """The glTF document and its binary buffer: float32 ``base`` (V, 3), ``targets`` (K, V, 3) named
    ``target_names`` (K,) in ``mesh.extras.targetNames``, (F, 3) ``faces``, optional ``normals`` (V, 3),
    and one LINEAR animation of the float32 ``weights`` (T, K) keyed at (T,) ``times_s``."""
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator=f"ptalker {__version__}"),
                           scene=0, scenes=[pygltflib.Scene(nodes=[0])], nodes=[pygltflib.Node(mesh=0, name="head")])
    gltf.materials = [pygltflib.Material(name="clay", pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
        baseColorFactor=CLAY_COLOR, metallicFactor=0.0, roughnessFactor=CLAY_ROUGHNESS))]
    buffer = BinaryBuffer(gltf)
    gltf.meshes = [_mesh(buffer, base, targets, weights[0], target_names, faces, normals)]
    sampler = pygltflib.AnimationSampler(input=buffer.add(times_s, bounds=True),
                                         output=buffer.add(weights.reshape(-1)),  # (T*K,)
                                         interpolation=pygltflib.ANIM_LINEAR)
    channel = pygltflib.AnimationChannel(sampler=0, target=pygltflib.AnimationChannelTarget(node=0, path="weights"))
    gltf.animations = [pygltflib.Animation(name="speech", samplers=[sampler], channels=[channel])]
    buffer.finish()
    return gltf


def _mesh(buffer: BinaryBuffer, base: np.ndarray, targets: np.ndarray, first_weights: np.ndarray,
          target_names: list[str], faces: np.ndarray, normals: np.ndarray | None) -> pygltflib.Mesh:
    index_type = np.uint16 if len(base) <= UINT16_INDEX_LIMIT else np.uint32
    attributes = pygltflib.Attributes(POSITION=buffer.add(base, pygltflib.ARRAY_BUFFER, bounds=True))
    if normals is not None:
        attributes.NORMAL = buffer.add(normals, pygltflib.ARRAY_BUFFER)
    indices = buffer.add(faces.reshape(-1).astype(index_type), pygltflib.ELEMENT_ARRAY_BUFFER)  # (F*3,)
    morphs = [pygltflib.Attributes(POSITION=buffer.add(target, pygltflib.ARRAY_BUFFER, bounds=True))
              for target in targets]
    primitive = pygltflib.Primitive(attributes=attributes, indices=indices, material=0,
                                    mode=pygltflib.TRIANGLES, targets=morphs)
    return pygltflib.Mesh(name="head", primitives=[primitive], weights=first_weights.tolist(),
                          extras={"targetNames": list(target_names)})


def read_glb(path: str | os.PathLike) -> GlbSequence:
    """Decode a .glb written by :func:`write_glb`: base + sum of weights * targets at each key time.

    Raises:
        PtalkerError: the file is missing, not a .glb, or lacks the mesh or weights animation.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: .glb file not found; check the path")
    data = path.read_bytes()
    if data[:4] != GLB_MAGIC:
        raise PtalkerError(f"{path}: not a binary glTF file (no glTF header); pass a .glb file")
    gltf = pygltflib.GLTF2.load_from_bytes(data)
    blob = gltf.binary_blob()
    if not gltf.meshes or not gltf.animations or not gltf.meshes[0].primitives[0].targets:
        raise PtalkerError(f"{path}: expected a mesh with morph targets and a weights animation "
                           "(as ptalker writes); re-export it with ptalker export --format glb")
    primitive = gltf.meshes[0].primitives[0]
    base = _accessor(gltf, blob, primitive.attributes.POSITION)  # (V, 3)
    targets = np.stack([_accessor(gltf, blob, _position(target)) for target in primitive.targets])  # (K, V, 3)
    sampler = gltf.animations[0].samplers[gltf.animations[0].channels[0].sampler]
    times_s = _accessor(gltf, blob, sampler.input)  # (T,)
    weights = _accessor(gltf, blob, sampler.output).reshape(len(times_s), len(targets))  # (T, K)
    faces = _accessor(gltf, blob, primitive.indices).reshape(-1, 3).astype(np.int64)  # (F, 3)
    return GlbSequence(decode(base, targets, weights).astype(np.float32), faces, times_s)


def _position(target: pygltflib.Attributes | dict) -> int:
    """The POSITION accessor of a morph target (pygltflib loads targets as plain dicts)."""
    return target["POSITION"] if isinstance(target, dict) else target.POSITION


def _accessor(gltf: pygltflib.GLTF2, blob: bytes, index: int) -> np.ndarray:
    """The (N,) or (N, 3) array behind accessor ``index`` (tightly packed, not sparse)."""
    accessor = gltf.accessors[index]
    dtype, width = _DTYPES.get(accessor.componentType), _WIDTHS.get(accessor.type)
    view = gltf.bufferViews[accessor.bufferView] if accessor.bufferView is not None else None
    if dtype is None or width is None or view is None or accessor.sparse is not None \
            or view.byteStride not in (None, dtype.itemsize * width):
        raise PtalkerError("read_glb reads the .glb files ptalker writes (float32/uint16/uint32 scalars and "
                           "vec3, no sparse or interleaved accessors); open other files with pygltflib")
    start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
    array = np.frombuffer(blob, dtype, count=accessor.count * width, offset=start)
    return array.reshape(accessor.count, width) if width > 1 else array
