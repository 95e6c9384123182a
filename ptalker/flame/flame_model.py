"""FLAME head model over smplx's FLAME layer, with any leading batch dimensions.

>>> model = FlameModel.load()            # the configured FLAME, else the built-in stand-in
>>> out = model(jaw_pose=torch.tensor([[0.2, 0, 0]]))
>>> out.vertices.shape                   # (1, V, 3)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.lbs import batch_rodrigues

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_JOINTS, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.flame.flame_dir import resolve_flame_dir
from ptalker.flame.flame_files import INFO_FILE, MASKS_FILE, read_flame_dir
from ptalker.mesh.regions import RegionMasks
from ptalker.mesh.topology import Topology

POSE_DIM = 3
"""Axis-angle rotation per joint."""


@dataclass
class FlameOutput:
    """What :class:`FlameModel` returns; ``...`` are the caller's leading batch dimensions."""

    vertices: torch.Tensor
    """(..., V, 3) mesh vertices."""
    landmarks: torch.Tensor
    """(..., 51, 3) the static landmarks (iBUG 68 without the jaw contour)."""
    joints: torch.Tensor
    """(..., 5, 3) global, neck, jaw, left eye, right eye."""


class FlameModel(torch.nn.Module):
    """FLAME: shape, expression and poses in, vertices and landmarks out.

    Args:
        flame_dir: a FLAME directory (see :mod:`ptalker.flame.flame_dir`).
    """

    def __init__(self, flame_dir: str | os.PathLike) -> None:
        super().__init__()
        self.flame_dir = Path(flame_dir)
        model, _ = read_flame_dir(self.flame_dir)  # checks every pickle before smplx reads it
        shapedirs = np.asarray(model["shapedirs"])  # (V, 3, 300 + 100)
        # Trailing all-zero components change nothing; leaving them out of smplx's blend-shape
        # product makes the stand-in (11 + 19 components in use) about 4x faster, exactly.
        self.used = {"shape": _used_columns(shapedirs[..., :FLAME_NUM_SHAPE]),
                     "expression": _used_columns(shapedirs[..., FLAME_NUM_SHAPE:])}
        self.layer = smplx.FLAMELayer(model_path=str(self.flame_dir), num_betas=self.used["shape"],
                                      num_expression_coeffs=self.used["expression"])
        info_path = self.flame_dir / INFO_FILE
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.name = info.get("name", "FLAME")
        self.shape_names = info.get("shape_names", [f"shape{i:03d}" for i in range(FLAME_NUM_SHAPE)])
        self.expression_names = info.get(
            "expression_names", [f"expression{i:03d}" for i in range(FLAME_NUM_EXPRESSION)])
        self.faces = np.asarray(model["f"], dtype=np.int64)

    @classmethod
    def load(cls, flame_dir: str | os.PathLike | None = None) -> "FlameModel":
        """The model in ``flame_dir``, else the configured one, else the stand-in head."""
        return cls(resolve_flame_dir(flame_dir))

    @property
    def num_vertices(self) -> int:
        return int(self.layer.v_template.shape[0])

    @property
    def template(self) -> torch.Tensor:
        """(V, 3) the mean head, neutral pose."""
        return self.layer.v_template

    @property
    def masks_path(self) -> Path | None:
        path = self.flame_dir / MASKS_FILE
        return path if path.is_file() else None

    def expression_vector(self, **weights: float) -> torch.Tensor:
        """(len(expression_names),) coefficients from named weights, e.g. blink_left=1.0."""
        vector = torch.zeros(len(self.expression_names))
        for name, value in weights.items():
            if name not in self.expression_names:
                raise PtalkerError(f"expression '{name}' unknown; choose from "
                                   f"{', '.join(self.expression_names[:24])}")
            vector[self.expression_names.index(name)] = value
        return vector

    def describe(self) -> str:
        """A few lines on what this model is."""
        named = [n for n in self.expression_names if not n.startswith("expression")]
        return "\n".join([
            f"{self.name} from {self.flame_dir}",
            f"vertices {self.num_vertices}, faces {len(self.faces)}, joints {FLAME_NUM_JOINTS}",
            f"shape components: {', '.join(self.shape_names[:12])}"
            + (" ..." if len(self.shape_names) > 12 else ""),
            f"expression components: {', '.join(named) if named else 'FLAME PCA (100)'}",
            f"region masks: {self.masks_path or 'none (give FLAME_masks.pkl to flame import)'}",
        ])

    def forward(self, shape: torch.Tensor | None = None, expression: torch.Tensor | None = None,
                global_pose: torch.Tensor | None = None, neck_pose: torch.Tensor | None = None,
                jaw_pose: torch.Tensor | None = None, eye_pose: torch.Tensor | None = None,
                translation: torch.Tensor | None = None) -> FlameOutput:
        """Pose the head. Every argument is optional and takes leading dims ``...``:

        shape (..., <=300), expression (..., <=100) (missing columns are zero),
        global_pose, neck_pose, jaw_pose (..., 3) axis-angle, eye_pose (..., 6) left then right
        eye axis-angle, translation (..., 3). Leading dims broadcast against each other.
        """
        dims = {"shape": FLAME_NUM_SHAPE, "expression": FLAME_NUM_EXPRESSION, "global_pose": POSE_DIM,
                "neck_pose": POSE_DIM, "jaw_pose": POSE_DIM, "eye_pose": 2 * POSE_DIM,
                "translation": POSE_DIM}
        given = {"shape": shape, "expression": expression, "global_pose": global_pose,
                 "neck_pose": neck_pose, "jaw_pose": jaw_pose, "eye_pose": eye_pose,
                 "translation": translation}
        dtype, device = self.layer.v_template.dtype, self.layer.v_template.device
        params = {}
        for name, value in given.items():
            if value is not None:
                value = torch.as_tensor(value, dtype=dtype, device=device)
                if value.ndim == 0 or value.shape[-1] > dims[name] or \
                        (name not in ("shape", "expression") and value.shape[-1] != dims[name]):
                    raise PtalkerError(f"{name}: got shape {tuple(value.shape)}, expected "
                                       f"(..., {dims[name]})")
                params[name] = value
        lead = np.broadcast_shapes(*(tuple(v.shape[:-1]) for v in params.values())) if params else ()
        flat = {}
        for name, dim in dims.items():
            value = params.get(name, torch.zeros(dim, dtype=dtype, device=device))
            value = torch.nn.functional.pad(value, (0, dim - value.shape[-1]))
            dim = self.used.get(name, dim)
            flat[name] = value[..., :dim].expand(*lead, dim).reshape(-1, dim)  # (B, dim)
        out = self.layer(betas=flat["shape"], expression=flat["expression"],
                         global_orient=_rotations(flat["global_pose"]),
                         neck_pose=_rotations(flat["neck_pose"]),
                         jaw_pose=_rotations(flat["jaw_pose"]),
                         leye_pose=_rotations(flat["eye_pose"][:, :POSE_DIM]),
                         reye_pose=_rotations(flat["eye_pose"][:, POSE_DIM:]),
                         transl=flat["translation"])
        joints = out.joints[:, :FLAME_NUM_JOINTS]
        landmarks = out.joints[:, FLAME_NUM_JOINTS:]
        return FlameOutput(vertices=out.vertices.reshape(*lead, -1, 3),
                           landmarks=landmarks.reshape(*lead, -1, 3),
                           joints=joints.reshape(*lead, -1, 3))


def _used_columns(dirs: np.ndarray) -> int:
    """1 + the last component (last axis of ``dirs``) with any non-zero entry; at least 1."""
    nonzero = np.flatnonzero(np.abs(dirs).reshape(-1, dirs.shape[-1]).max(axis=0) > 0)
    return int(nonzero[-1]) + 1 if nonzero.size else 1


def _rotations(axis_angle: torch.Tensor) -> torch.Tensor:
    """(B, 3) axis-angle -> (B, 1, 3, 3) rotation matrices, the form FLAMELayer takes."""
    return batch_rodrigues(axis_angle).unsqueeze(1)


def head_topology(flame_dir: str | os.PathLike | None = None) -> Topology:
    """The head model's mesh: template, triangles and FLAME_masks.pkl regions (``flame_dir``, else
    the configured FLAME, else the stand-in; see :mod:`ptalker.flame.flame_dir`)."""
    head = FlameModel.load(flame_dir)
    return Topology(head.template.cpu().numpy().astype(np.float32), np.asarray(head.faces, np.int64),
                    RegionMasks.from_flame_masks(head.masks_path))
