"""FLAME parameter files: smplx's FLAME arguments of a sequence, written, read and posed.

:func:`save_flame_params` writes a :class:`FlameFit` (what :func:`ptalker.flame.fitting.fit_flame`
returns) as an .npz whose arrays carry smplx's FLAME names::

    betas (300,)  expression (T, 100)  global_orient, neck_pose, jaw_pose, leye_pose, reye_pose,
    transl (T, 3)   float32; axis-angle radians, metres
    fps ()  (only when known)   error_mean_mm, error_max_mm ()   the fit's vertex distance

:func:`flame_params_vertices` poses the head model with such a file (or a :class:`FlameFit`);
:func:`random_flame_motion` makes known parameters to check a fit against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npz, save_npz
from ptalker.flame.flame_model import POSE_DIM, FlameModel

POSES = ("global_orient", "neck_pose", "jaw_pose", "leye_pose", "reye_pose", "transl")
"""smplx FLAME's per-frame (T, 3) arrays: axis-angle radians, and the translation in metres."""
PARAM_NAMES = ("betas", "expression") + POSES
"""The arrays of a FLAME parameter file, named as smplx's FLAME names its arguments."""
POSE_CHUNK_FRAMES = 256
"""Frames posed at once (bounds the memory; results do not depend on it)."""


@dataclass
class FlameFit:
    """FLAME parameters of a sequence of T frames, named as smplx's FLAME names them (float32)."""

    betas: np.ndarray
    """(300,) the person's shape."""
    expression: np.ndarray
    """(T, 100) expression coefficients."""
    global_orient: np.ndarray
    """(T, 3) axis-angle of the root joint."""
    neck_pose: np.ndarray
    """(T, 3)"""
    jaw_pose: np.ndarray
    """(T, 3)"""
    leye_pose: np.ndarray
    """(T, 3)"""
    reye_pose: np.ndarray
    """(T, 3)"""
    transl: np.ndarray
    """(T, 3) metres."""
    fps: float | None = None
    """Frames per second, when known."""
    error_mean_mm: float = float("nan")
    """Mean vertex distance of the posed parameters to the fitted sequence, mm."""
    error_max_mm: float = float("nan")
    """Largest vertex distance over all frames, mm."""

    @property
    def frames(self) -> int:
        return len(self.expression)

    def params(self) -> dict[str, np.ndarray]:
        """{name: array} of :data:`PARAM_NAMES`."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def __str__(self) -> str:
        return (f"{self.frames} frames fitted: vertex error {self.error_mean_mm:.3f} mm mean, "
                f"{self.error_max_mm:.3f} mm max")


def pose_tensors(model: FlameModel, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """(..., V, 3) ``model`` posed by smplx-named tensors ``params`` (:data:`PARAM_NAMES`; leading dims
    broadcast), with gradients."""
    return model(shape=params["betas"], expression=params["expression"], global_pose=params["global_orient"],
                 neck_pose=params["neck_pose"], jaw_pose=params["jaw_pose"],
                 eye_pose=torch.cat([params["leye_pose"], params["reye_pose"]], dim=-1),
                 translation=params["transl"]).vertices


def frame_chunks(count: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` covering ``count`` frames."""
    return [slice(start, start + size) for start in range(0, count, size)]


def pose_params(model: FlameModel, params: dict[str, np.ndarray],
                chunk_frames: int = POSE_CHUNK_FRAMES) -> np.ndarray:
    """(T, V, 3) float32 vertices of smplx-named arrays (betas (K,), the others (T, K)), posed by ``model``
    ``chunk_frames`` frames at a time."""
    tensors = {name: torch.as_tensor(np.asarray(value), dtype=torch.float32) for name, value in params.items()}
    posed = []
    with torch.no_grad():
        for chunk in frame_chunks(len(tensors["expression"]), chunk_frames):
            posed.append(pose_tensors(model, {name: value if name == "betas" else value[chunk]
                                              for name, value in tensors.items()}))  # (t, V, 3)
    return torch.cat(posed).numpy()


def save_flame_params(path: str | os.PathLike, fit: FlameFit) -> Path:
    """Write ``fit`` to the .npz ``path`` atomically (the arrays of the module doc); returns the path."""
    extra = {"error_mean_mm": fit.error_mean_mm, "error_max_mm": fit.error_max_mm}
    if fit.fps is not None:
        extra["fps"] = fit.fps
    save_npz(path, **{name: np.asarray(value, np.float32) for name, value in fit.params().items()},
             **{name: np.float32(value) for name, value in extra.items()})
    return Path(path)


def load_flame_params(path: str | os.PathLike) -> FlameFit:
    """Read a FLAME parameter file (module doc; betas and expression may hold fewer components).

    Raises:
        PtalkerError: a missing or unreadable file, a missing array, or shapes that do not agree.
    """
    path = Path(path)
    arrays = load_npz(path, "write it with ptalker fit")
    missing = [name for name in PARAM_NAMES if name not in arrays]
    if missing:
        raise PtalkerError(f"{path}: no {', '.join(missing)} (it holds: {', '.join(arrays) or 'nothing'}); "
                           f"expected the FLAME parameters {', '.join(PARAM_NAMES)} as ptalker fit writes them")
    betas, expression = arrays["betas"].shape, arrays["expression"].shape
    frames = expression[0] if len(expression) == 2 else 0
    checks = {"betas": (len(betas) == 1 and betas[0] <= FLAME_NUM_SHAPE, f"(<= {FLAME_NUM_SHAPE},)"),
              "expression": (frames >= 1 and expression[1] <= FLAME_NUM_EXPRESSION, f"(T, <= {FLAME_NUM_EXPRESSION})"),
              **{name: (arrays[name].shape == (frames, POSE_DIM), f"(T, {POSE_DIM}) with T = {frames} as in expression")
                 for name in POSES}}
    for name, (good, expected) in checks.items():
        if not good:
            raise PtalkerError(f"{path}: {name} has shape {arrays[name].shape}, expected {expected}; "
                               "write the file with ptalker fit or save_flame_params")
    scalars = {name: float(arrays[name].item()) for name in ("fps", "error_mean_mm", "error_max_mm")
               if name in arrays and arrays[name].size == 1}
    return FlameFit(**{name: arrays[name].astype(np.float32) for name in PARAM_NAMES}, **scalars)


def flame_params_vertices(source: str | os.PathLike | FlameFit,
                          flame_dir: str | os.PathLike | None = None) -> np.ndarray:
    """(T, V, 3) float32 vertices of the FLAME parameters ``source`` (a file or a :class:`FlameFit`),
    posed by the head model in ``flame_dir`` (else the configured one, else the stand-in) through smplx.

    Raises:
        PtalkerError: an unreadable or malformed parameter file.
    """
    fit = source if isinstance(source, FlameFit) else load_flame_params(source)
    return pose_params(FlameModel.load(flame_dir), fit.params())


MOTION_RANGES = {"global_orient": ((0.0, 0.0, 0.0), (0.05, 0.05, 0.03)),
                 "neck_pose": ((0.0, 0.0, 0.0), (0.15, 0.2, 0.08)),
                 "jaw_pose": ((0.12, 0.0, 0.0), (0.12, 0.02, 0.02)),
                 "eyes": ((0.0, 0.0, 0.0), (0.25, 0.3, 0.0)),
                 "transl": ((0.0, 0.0, 0.0), (0.01, 0.01, 0.01))}
"""(centre, half range) per axis (x, y, z) of :func:`random_flame_motion`'s poses, radians and metres:
the jaw opens 0 to 14 degrees, the neck turns up to 9 / 11 / 5 degrees and the whole head 3 / 3 / 2
more, both eyes look up to 14 / 17 degrees the same way, the head moves up to 1 cm."""
MOTION_EXPRESSION = 0.8
"""Half range of :func:`random_flame_motion`'s expression coefficients."""
MOTION_BETAS = 0.5
"""Standard deviation of :func:`random_flame_motion`'s betas."""


def random_flame_motion(frames: int, fps: float = 30.0, seed: int = 0,
                        flame_dir: str | os.PathLike | None = None) -> FlameFit:
    """Known FLAME parameters to check a fit against: a random person (betas ~ N(0, MOTION_BETAS^2) on
    the components the head model in ``flame_dir`` uses) moving smoothly within talking-head ranges
    (:data:`MOTION_RANGES`, expression within +-MOTION_EXPRESSION on the used components) for
    ``frames`` frames at ``fps``. Every curve is the mean of three sinusoids of 0.2 to 2 Hz with
    random phases; the same seed gives the same motion. The error fields are NaN."""
    used = FlameModel.load(flame_dir).used
    rng = np.random.default_rng(seed)

    def curves(width: int) -> np.ndarray:  # (frames, width) in [-1, 1]
        time = np.arange(frames)[:, None, None] / fps  # (T, 1, 1) seconds
        hertz = rng.uniform(0.2, 2.0, (1, width, 3))
        phase = rng.uniform(0.0, 2 * np.pi, (1, width, 3))
        return np.sin(2 * np.pi * hertz * time + phase).mean(axis=-1)

    poses = {name: np.asarray(centre) + np.asarray(half) * curves(POSE_DIM)
             for name, (centre, half) in MOTION_RANGES.items()}  # {name: (T, 3)}
    expression = np.zeros((frames, FLAME_NUM_EXPRESSION))
    expression[:, :used["expression"]] = MOTION_EXPRESSION * curves(used["expression"])
    betas = np.zeros(FLAME_NUM_SHAPE)
    betas[:used["shape"]] = rng.normal(0.0, MOTION_BETAS, used["shape"])
    gaze = poses.pop("eyes")  # both eyes look the same way
    arrays = {"betas": betas, "expression": expression, "leye_pose": gaze, "reye_pose": gaze, **poses}
    return FlameFit(**{name: np.asarray(value, np.float32) for name, value in arrays.items()}, fps=fps)
