"""FLAME parameters of a vertex sequence on the head model's mesh, and the file that holds them.

:func:`fit_flame` turns a (T, V, 3) sequence into smplx FLAME parameters: per frame the
expression, jaw, neck, eye rotations, global orientation and translation, and the person's
shape (betas) once for the whole sequence. Method, all frames at once (torch, L-BFGS):

1. the rigid start: the head's pose in every frame by Kabsch on the vertices skinned only to the
   neck joint (:func:`ptalker.mesh.stabilize.remove_head_motion`). The head model is posed by
   local parameters, all starting at zero, and then moved by the rigid start, so the local
   ``global_orient`` and ``transl`` are corrections in the head's own frame; at the end the
   rigid start is folded into them;
2. preconditioning: one frame's Gauss-Newton Hessian at the neutral head is measured by finite
   differences, and L-BFGS works on ``z = U p`` (U its Cholesky factor), where radians, metres and
   correlated blend shapes cost alike; it holds for every frame, as each is posed in its own frame;
3. L-BFGS minimises the mean squared vertex distance (mm^2) + ``smoothness`` x the squared second
   differences over frames (:attr:`FitSettings.smoothness`) + ``prior`` x the squared local
   parameters (all but ``transl``). Frames are posed in chunks, so memory does not grow with T.

The parameter file (:func:`save_flame_params`, :func:`load_flame_params`, :func:`flame_params_vertices`)
and :func:`random_flame_motion` live in :mod:`ptalker.flame.flame_params`; they are imported here too,
so that fitting and its file come from one place.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from smplx.lbs import batch_rodrigues

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.flame.flame_model import POSE_DIM, FlameModel
from ptalker.flame.flame_params import (
    POSE_CHUNK_FRAMES,
    POSES,
    FlameFit,
    flame_params_vertices,
    frame_chunks,
    load_flame_params,
    pose_params,
    pose_tensors,
    random_flame_motion,
    save_flame_params,
)
from ptalker.mesh.checks import as_frames
from ptalker.mesh.stabilize import MIN_RIGID_VERTICES, remove_head_motion

__all__ = ["FitSettings", "FlameFit", "fit_flame", "flame_params_vertices", "load_flame_params", "random_flame_motion",
           "save_flame_params"]

NECK_JOINT = 1
"""FLAME's joints: 0 global (root), 1 neck, 2 jaw, 3 left eye, 4 right eye."""
RIGID_WEIGHT = 0.99
"""Vertices with at least this skinning weight on the neck move rigidly with the head (Kabsch init)."""
MM_PER_M = 1000.0
FD_STEP = 1e-3
"""Finite-difference step of the preconditioner (radians, metres, coefficients)."""
RIDGE = 1e-9
"""Added to the Hessian's diagonal, relative to its largest entry (columns that move nothing)."""
HISTORY = 50
"""L-BFGS memory (pairs of steps and gradient changes)."""
TOLERANCE_GRAD = 1e-7
"""L-BFGS stops when no gradient entry (mm^2 per preconditioned unit) is larger."""
TOLERANCE_CHANGE = 1e-6
"""L-BFGS stops when an iteration changes the loss (mm^2) or every preconditioned parameter by less."""


@dataclass
class FitSettings:
    """How :func:`fit_flame` fits."""

    iterations: int = 100
    """Most L-BFGS iterations (each poses all frames about once; it stops earlier once converged)."""
    smoothness: float = 1e-3
    """Weight of the squared second differences over frames, against the mean squared vertex distance
    (mm^2): of expression, neck, jaw and eye parameters, each in mm of RMS vertex motion per unit, and
    of the vertices moved by the head's rigid motion (global_orient and transl), in mm."""
    prior: float = 1e-4
    """Weight of the squared parameters (coefficients, radians; the local global_orient, not transl)
    against mm^2."""
    chunk_frames: int = POSE_CHUNK_FRAMES
    """Frames posed at once (bounds the memory; the result does not depend on it beyond rounding)."""

    def check(self) -> "FitSettings":
        """Raise PtalkerError on a setting out of range; returns self."""
        for name in ("iterations", "chunk_frames"):
            if int(getattr(self, name)) < 1:
                raise PtalkerError(f"FitSettings.{name}: got {getattr(self, name)}, expected an integer >= 1")
        for name in ("smoothness", "prior"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise PtalkerError(f"FitSettings.{name}: got {value}, expected a finite number >= 0")
        return self


class _Columns:
    """The fitted parameters as one row of P columns: the used expression components, the six (3,)
    poses, then the used betas (last, so that the preconditioner keeps them shared by all frames)."""

    def __init__(self, model: FlameModel) -> None:
        self.widths = {"expression": model.used["expression"], **{name: POSE_DIM for name in POSES},
                       "betas": model.used["shape"]}
        self.size = sum(self.widths.values())
        self.per_frame = self.size - self.widths["betas"]
        self.prior_mask = self.mask("transl")  # (P,)
        self.smooth_mask = self.mask("global_orient", "transl", "betas")[:self.per_frame]  # (P - Kb,)

    def mask(self, *names: str) -> torch.Tensor:
        """(P,) 0 on the columns of ``names``, 1 elsewhere."""
        return torch.cat([torch.full((width,), float(name not in names)) for name, width in self.widths.items()])

    def split(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """(..., P) -> {name: (..., width)}."""
        return dict(zip(self.widths, torch.split(rows, list(self.widths.values()), dim=-1)))


@dataclass
class _Linearisation:
    """The head model linearised at the neutral head (module doc, step 2): one frame's Gauss-Newton
    Hessian H (mean squared mm + prior) = U.T @ U, and the optimised coordinates z = U p."""

    natural: torch.Tensor
    """(P, P) U^-1: natural rows p = z @ natural.T; upper triangular with the betas last, so the betas
    of p depend on the betas of z only."""
    scales: torch.Tensor
    """(P,) RMS vertex displacement (mm) per unit of each column."""
    basis: torch.Tensor
    """(P, V * 3) float64: the least-squares z of a local offset from the neutral head (mm) is ``basis @ offset``."""


def _linearise(model: FlameModel, columns: _Columns, prior: float) -> _Linearisation:
    """Measure the Jacobian at the neutral head by finite differences and factor the Hessian."""
    steps = torch.cat([torch.zeros(1, columns.size), FD_STEP * torch.eye(columns.size)])  # (1 + P, P)
    with torch.no_grad():
        vertices = pose_tensors(model, columns.split(steps)).double()  # (1 + P, V, 3)
    jacobian = (vertices[1:] - vertices[0]).reshape(columns.size, -1) * MM_PER_M / FD_STEP  # (P, V * 3)
    data = jacobian @ jacobian.T / model.num_vertices  # (P, P)
    hessian = data + torch.diag(prior * columns.prior_mask.double() + RIDGE * data.diagonal().max())
    upper = torch.linalg.cholesky(hessian).T  # hessian = upper.T @ upper
    natural = torch.linalg.solve_triangular(upper, torch.eye(columns.size, dtype=upper.dtype), upper=True)
    return _Linearisation(natural.float(), data.diagonal().sqrt().float(),
                          natural.T @ jacobian / model.num_vertices)


def _rigid_start(model: FlameModel, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotation (T, 3, 3), translation (T, 3), aligned (T, V, 3)) float64 with vertices ~ template @ R.T + t
    and aligned = (vertices - t) @ R: Kabsch on the vertices skinned to the neck only (they move
    rigidly with the head; in a model without such, its 3 most neck-weighted vertices)."""
    template = model.template.detach().cpu().numpy().astype(np.float64)  # (V, 3)
    weights = model.layer.lbs_weights[:, NECK_JOINT].cpu().numpy()  # (V,)
    rigid = np.argsort(-weights)[:max(int((weights >= RIGID_WEIGHT).sum()), MIN_RIGID_VERTICES)]
    motion = remove_head_motion(vertices, template, rigid)
    return Rotation.from_rotvec(motion.rotation).as_matrix(), motion.translation, motion.aligned


def fit_flame(vertices: np.ndarray, flame_dir: str | os.PathLike | None = None,
              settings: FitSettings | None = None, fps: float | None = None) -> FlameFit:
    """FLAME parameters of ``vertices`` (T, V, 3), metres, on the mesh of the head model in ``flame_dir``
    (else the configured one, else the stand-in); see the module doc for the method. ``fps`` is
    only stored with the result.

    Raises:
        PtalkerError: ``vertices`` not (T, V, 3) with the head model's V or not finite, or bad ``settings``.
    """
    settings = (settings or FitSettings()).check()
    model = FlameModel.load(flame_dir)
    target = as_frames(vertices, "fit_flame vertices")  # (T, V, 3) float64
    if target.shape[1] != model.num_vertices:
        raise PtalkerError(f"vertices: {target.shape[1]} per frame, expected {model.num_vertices} (the mesh of "
                           f"{model.name} in {model.flame_dir}); fit sequences on that head model's mesh, or use "
                           "the FLAME directory they were made with (--flame-dir or $PTALKER_FLAME_DIR)")
    bad = np.flatnonzero(~np.isfinite(target).all(axis=(1, 2)))  # frames with NaN or inf
    if bad.size:
        raise PtalkerError(f"vertices: NaN or infinite values in {bad.size} frame(s), the first {bad[0]}; "
                           "fix or drop those frames")
    columns = _Columns(model)
    linear = _linearise(model, columns, settings.prior)
    rotation, translation, aligned = _rigid_start(model, target)
    offsets = (aligned - model.template.detach().cpu().numpy()) * MM_PER_M  # (T, V, 3) in the head's frame
    start = (torch.from_numpy(offsets.reshape(len(target), -1)) @ linear.basis.T).float()  # (T, P) linear fit
    frames = start[:, :columns.per_frame].clone().requires_grad_()  # (T, P - Kb) preconditioned
    betas = start[:, columns.per_frame:].mean(0).requires_grad_()  # (Kb,): z's columns are orthonormal
    objective = _Objective(model, columns, linear, target, (rotation, translation), settings)
    optimizer = torch.optim.LBFGS([frames, betas], lr=1.0, max_iter=settings.iterations, history_size=HISTORY,
                                  line_search_fn="strong_wolfe", tolerance_grad=TOLERANCE_GRAD,
                                  tolerance_change=TOLERANCE_CHANGE)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        return objective.loss_and_backward(frames, betas)

    optimizer.step(closure)
    with torch.no_grad():
        local = {name: value.double().numpy() for name, value in
                 columns.split(objective.rows(frames, betas, slice(None))).items()}  # {name: (T, width)}
        root = np.concatenate([model(shape=local["betas"][chunk], expression=local["expression"][chunk])
                               .joints[:, 0].double().numpy() for chunk in objective.chunks])  # (T, 3) root joint
    # the rigid start folded in: R (R_l (v - J0) + J0 + t_l) + t  =  R R_l (v - J0) + J0 + transl
    local["global_orient"] = Rotation.from_matrix(
        rotation @ Rotation.from_rotvec(local["global_orient"]).as_matrix()).as_rotvec()
    local["transl"] = np.einsum("tij,tj->ti", rotation, root + local["transl"]) + translation - root
    widths = {"betas": FLAME_NUM_SHAPE, "expression": FLAME_NUM_EXPRESSION}
    arrays = {name: np.pad(value, [(0, 0), (0, widths.get(name, POSE_DIM) - value.shape[-1])]).astype(np.float32)
              for name, value in local.items()}  # (T, width) each
    arrays["betas"] = arrays["betas"][0]  # the same in every row
    fit = FlameFit(**arrays, fps=fps)
    distance = np.linalg.norm(pose_params(model, fit.params(), settings.chunk_frames) - target, axis=-1)  # (T, V)
    fit.error_mean_mm, fit.error_max_mm = float(distance.mean() * MM_PER_M), float(distance.max() * MM_PER_M)
    return fit


class _Objective:
    """The fit's loss (module doc, step 3) and its gradient, posing ``chunk_frames`` frames at a time:
    the head model posed by the local parameters, then moved by the rigid start ``(R, t)``."""

    def __init__(self, model: FlameModel, columns: _Columns, linear: _Linearisation, target: np.ndarray,
                 rigid: tuple[np.ndarray, np.ndarray], settings: FitSettings) -> None:
        self.model, self.columns, self.settings = model, columns, settings
        self.natural, self.scales = linear.natural, linear.scales  # (P, P), (P,)
        self.target = torch.from_numpy(target).float()  # (T, V, 3)
        self.rotation, self.translation = (torch.from_numpy(array).float() for array in rigid)  # (T, 3, 3), (T, 3)
        self.chunks = frame_chunks(len(target), settings.chunk_frames)
        template = model.template.detach().cpu().float()  # (V, 3)
        self.mean_point, self.second_moment = template.mean(0), template.T @ template / len(template)  # (3,), (3, 3)
        with torch.no_grad():
            self.root = model().joints[0].cpu()  # (3,) the neutral head's root joint

    def rows(self, frames: torch.Tensor, betas: torch.Tensor, chunk: slice) -> torch.Tensor:
        """(t, P) natural local parameters of the frames in ``chunk`` from the preconditioned ``frames``
        (T, P - Kb) and ``betas`` (Kb,)."""
        part = frames[chunk]
        return torch.cat([part, betas.expand(len(part), -1)], dim=-1) @ self.natural.T

    def loss_and_backward(self, frames: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """The loss (a detached scalar); its gradient is accumulated into ``frames`` and ``betas``."""
        count = len(self.target)
        rows = self.rows(frames, betas, slice(None))  # (T, P)
        scaled = rows[:, :self.columns.per_frame] * self.scales[:self.columns.per_frame] * self.columns.smooth_mask
        curvature = (_second_difference(scaled).square().sum()  # (T, P - Kb) mm of RMS vertex motion
                     + self._head_curvature(self.columns.split(rows)).sum())
        loss = (self.settings.smoothness * curvature
                + self.settings.prior * (rows.square() * self.columns.prior_mask).sum()) / count
        loss.backward()
        total = loss.detach()
        for chunk in self.chunks:
            local = pose_tensors(self.model, self.columns.split(self.rows(frames, betas, chunk)))  # (t, V, 3)
            posed = local @ self.rotation[chunk].transpose(1, 2) + self.translation[chunk, None]  # (t, V, 3)
            data = ((posed - self.target[chunk]) * MM_PER_M).square().sum(-1).mean(-1).sum() / count
            data.backward()
            total = total + data.detach()
        return total

    def _head_curvature(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """(T - 2,) mean squared second difference (mm^2) of the template's vertices v moved rigidly with the
        head: the rigid start after the local global_orient and transl of ``parts`` ({name: (T, width)})."""
        local = batch_rodrigues(parts["global_orient"])  # (T, 3, 3)
        turn = self.rotation @ local  # (T, 3, 3)
        shift = (self.rotation @ (self.root - local @ self.root + parts["transl"]).unsqueeze(-1)).squeeze(-1) \
            + self.translation  # (T, 3): v -> turn v + shift
        a, b = _second_difference(turn), _second_difference(shift)  # (T - 2, 3, 3), (T - 2, 3)
        # mean over v of |a v + b|^2 from the template's moments
        return (torch.einsum("tij,jk,tik->t", a, self.second_moment, a)
                + 2 * torch.einsum("ti,tij,j->t", b, a, self.mean_point) + b.square().sum(-1)) * MM_PER_M ** 2


def _second_difference(values: torch.Tensor) -> torch.Tensor:
    """(T - 2, ...) second differences along the first axis of ``values`` (T, ...)."""
    return values[2:] - 2 * values[1:-1] + values[:-2]


