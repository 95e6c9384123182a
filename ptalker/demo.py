"""The demo: drive the head with a short scripted motion and write it out.

Until the speech model exists this is what ``make demo`` runs: the jaw opens and closes in
syllable-like beats, the eyes blink, the brows lift on "stressed" beats and the lips round and
smile now and then (named components exist on the stand-in head; on a real FLAME only the jaw,
neck and eyes move). Outputs: ``vertices.npy`` (T, V, 3), ``params.npz`` (the FLAME parameters
per frame) and an OBJ sequence in ``obj/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.errors import PtalkerError
from ptalker.export.obj import write_obj_sequence
from ptalker.fileio import atomic_open, save_npy
from ptalker.flame.flame_model import FlameModel

SYLLABLE_RATE_HZ = 4.0
JAW_OPEN_RAD = 0.22
BLINK_TIMES_S = (0.8, 2.6, 3.7)
BLINK_WIDTH_S = 0.07
HEAD_SWAY_RAD = 0.05


@dataclass
class DemoResult:
    out_dir: Path
    frames: int
    fps: int
    vertices: int

    def __str__(self) -> str:
        return (f"wrote {self.frames} frames at {self.fps} fps ({self.vertices} vertices) to "
                f"{self.out_dir}: vertices.npy, params.npz, obj/")


def scripted_motion(model: FlameModel, num_frames: int, fps: int) -> dict[str, torch.Tensor]:
    """FLAME parameters per frame: expression (T, K), jaw_pose, neck_pose (T, 3), eye_pose (T, 6)."""
    t = np.arange(num_frames) / fps
    beat = np.clip(np.sin(2 * np.pi * SYLLABLE_RATE_HZ * t), 0, None) ** 1.5
    loudness = 0.6 + 0.4 * np.sin(2 * np.pi * 0.45 * t) ** 2
    blink = sum(np.exp(-0.5 * ((t - b) / BLINK_WIDTH_S) ** 2) for b in BLINK_TIMES_S)
    stress = np.clip(np.sin(2 * np.pi * 0.5 * t), 0, None) ** 4
    ramp = t / max(t[-1], 1e-9)
    weights = {
        "blink_left": blink, "blink_right": blink, "brow_raise": 0.8 * stress,
        "lip_pucker": 0.7 * np.clip(np.sin(2 * np.pi * 0.33 * t + 2.0), 0, None) ** 3,
        "smile_left": 0.5 * ramp, "smile_right": 0.5 * ramp,
    }
    expression = torch.zeros(num_frames, len(model.expression_names))
    for name, curve in weights.items():
        if name in model.expression_names:
            expression[:, model.expression_names.index(name)] = torch.as_tensor(curve, dtype=torch.float32)
    zeros = np.zeros_like(t)
    jaw = np.stack([JAW_OPEN_RAD * beat * loudness, zeros, zeros], 1)
    neck = np.stack([0.3 * HEAD_SWAY_RAD * np.sin(2 * np.pi * 0.3 * t),
                     HEAD_SWAY_RAD * np.sin(2 * np.pi * 0.2 * t), zeros], 1)
    gaze = 0.15 * np.sin(2 * np.pi * 0.25 * t)
    eyes = np.stack([zeros, gaze, zeros, zeros, gaze, zeros], 1)
    poses = {"jaw_pose": jaw, "neck_pose": neck, "eye_pose": eyes}
    return {"expression": expression,
            **{name: torch.as_tensor(value, dtype=torch.float32) for name, value in poses.items()}}


def run_demo(out_dir: str | os.PathLike, seconds: float = 4.0, fps: int = 30,
             flame_dir: str | os.PathLike | None = None) -> DemoResult:
    """Animate the head for ``seconds`` at ``fps`` and write the outputs into ``out_dir``."""
    if seconds <= 0 or fps <= 0:
        raise PtalkerError(f"--seconds {seconds} / --fps {fps}: both must be positive")
    model = FlameModel.load(flame_dir)
    num_frames = max(1, int(round(seconds * fps)))
    params = scripted_motion(model, num_frames, fps)
    with torch.no_grad():
        vertices = model(**params).vertices.numpy().astype(np.float32)  # (T, V, 3)
    out_dir = Path(out_dir)
    save_npy(out_dir / "vertices.npy", vertices)
    with atomic_open(out_dir / "params.npz", "wb") as handle:
        np.savez(handle, fps=fps, **{k: v.numpy() for k, v in params.items()})
    write_obj_sequence(vertices, model.faces, out_dir / "obj", fps)
    return DemoResult(out_dir, num_frames, fps, vertices.shape[1])
