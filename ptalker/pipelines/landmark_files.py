"""The 68 facial landmarks of a vertex sequence as files: what ``ptalker export --landmarks`` adds.

::

    landmarks_3d.npy   (T, 68, 3) float32, the sequence's units (metres for FLAME meshes)
    landmarks_2d.npy   (T, 68, 2) float32 pixels of the preview camera: x right, y down from the
                       image's top-left corner (a pixel's centre at +0.5)
    landmarks.json     fps, frame count, image size, the camera, the landmark order

The camera is the one ``ptalker render`` frames the sequence with (``render.settings.frame_camera``
on the bounds of all frames); the landmarks come from the head model's 68-landmark embedding
(:mod:`ptalker.flame.landmarks`), so the sequence must be on the head model's mesh.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import save_json, save_npy
from ptalker.flame.landmarks import head_landmarks
from ptalker.mesh.landmarks import NUM_LANDMARKS, ORDER_NOTE, project_landmarks
from ptalker.render.settings import RenderSettings, frame_camera, mesh_bounds

POINTS_3D_FILE, POINTS_2D_FILE, INFO_FILE = "landmarks_3d.npy", "landmarks_2d.npy", "landmarks.json"


def image_size(size: int | Sequence[int]) -> tuple[int, int]:
    """(width, height) of ``size``: one number (a square) or two.

    Raises:
        PtalkerError: not one or two positive whole numbers.
    """
    values = [size] if isinstance(size, (int, np.integer)) else list(size)
    if len(values) not in (1, 2) or not all(isinstance(v, (int, np.integer)) and v >= 2 for v in values):
        raise PtalkerError(f"size: expected N or W H, whole numbers of pixels >= 2, got {size!r}; pass e.g. 512 "
                           "or 640 480")
    return int(values[0]), int(values[-1])


@dataclass(frozen=True)
class SequenceLandmarks:
    """The landmarks of one sequence and the camera they are seen through."""

    points_3d: np.ndarray
    """(T, 68, 3) float32 in the sequence's units."""
    points_2d: np.ndarray
    """(T, 68, 2) float32 pixels."""
    fps: float
    settings: RenderSettings
    """Image size and framing of the preview camera."""
    camera: dict
    """The camera as written to landmarks.json."""

    def save(self, folder: str | os.PathLike) -> LandmarkFiles:
        """Write the three files into ``folder`` (each atomically)."""
        folder = Path(folder)
        save_npy(folder / POINTS_3D_FILE, self.points_3d)
        save_npy(folder / POINTS_2D_FILE, self.points_2d)
        save_json(folder / INFO_FILE, {
            "fps": self.fps, "frames": len(self.points_3d), "landmarks": NUM_LANDMARKS,
            "image_size": [self.settings.width, self.settings.height], "camera": self.camera,
            "order": ORDER_NOTE,
            "units": "landmarks_3d: the sequence's units (metres for FLAME meshes); landmarks_2d: pixels, x right, "
                     "y down from the image's top-left corner, a pixel's centre at +0.5",
        })
        return LandmarkFiles(folder, len(self.points_3d), self.settings.width, self.settings.height)


@dataclass(frozen=True)
class LandmarkFiles:
    """Where :meth:`SequenceLandmarks.save` wrote."""

    folder: Path
    frames: int
    width: int
    height: int

    def __str__(self) -> str:
        return (f"wrote {NUM_LANDMARKS} landmarks of {self.frames} frames to {self.folder}: {POINTS_3D_FILE}, "
                f"{POINTS_2D_FILE} (pixels of the {self.width}x{self.height} preview), {INFO_FILE}")


def sequence_landmarks(vertices: np.ndarray, fps: float, size: int | Sequence[int], source: str = "vertices",
                       flame_dir: str | os.PathLike | None = None) -> SequenceLandmarks:
    """The 68 landmarks of ``vertices`` (T, V, 3) on the head model's mesh, in 3D and in the pixels of
    the preview camera at ``size`` (N or (W, H)); nothing is written.

    Raises:
        PtalkerError: a bad size, a sequence not on the head model's mesh, or a head model without
            a 68-landmark embedding.
    """
    width, height = image_size(size)
    points = head_landmarks(vertices, flame_dir, source).astype(np.float32)  # (T, 68, 3)
    settings = RenderSettings(width=width, height=height)
    camera = frame_camera(mesh_bounds(vertices), settings)
    pixels = project_landmarks(points, camera, width, height).astype(np.float32)  # (T, 68, 2)
    described = {"position": [float(x) for x in camera.position], "yfov_degrees": math.degrees(camera.yfov),
                 "aspect": camera.aspect, "looks_along": "-z, y up", "fill": settings.fill,
                 "framing": "the bounds of all frames, as ptalker render frames them"}
    return SequenceLandmarks(points, pixels, float(fps), settings, described)
