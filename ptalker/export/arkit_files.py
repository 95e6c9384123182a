"""Files of ARKit blend-shape animation: a Live Link Face CSV, a JSON of curves, a .glb with named targets.

- CSV, as Epic's Live Link Face app writes it: the header ``Timecode,BlendShapeCount``, the 52
  shapes capitalised and in the app's order (:data:`LIVELINK_SHAPES`: JawRight before JawLeft,
  MouthRight before MouthLeft), then ``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,
  LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll`` (radians); one row per frame: the timecode
  ``HH:MM:SS:FF.mmm`` (FF the frame within the second at the rounded fps, .mmm the sub-frame,
  starting at 00:00:00:00.000), the count 61, then the 61 values;
- JSON: ``{"fps", "names" (52, ARKit spelling), "weights" (T, 52), "head_yaw_pitch_roll_rad"
  (T, 3), "eye_yaw_pitch_roll_rad" (T, 2, 3) left then right, "error_mean_mm", "error_max_mm",
  "zero_shapes"}``;
- glb: the neutral head as the base mesh, the 52 shapes as morph targets named in
  ``mesh.extras.targetNames`` (what Blender, Unity, Godot and three.js read), one LINEAR animation
  of their weights (:func:`ptalker.export.gltf.morph_gltf`). The head pose is not in the glb.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.export.gltf import morph_gltf, save_glb, vertex_normals
from ptalker.fileio import atomic_open, save_json
from ptalker.mesh.checks import as_faces, as_fps

LIVELINK_SHAPES = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose", "MouthFunnel",
    "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft",
    "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
    "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft",
    "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)
"""The 52 shape columns of a Live Link Face CSV, in the app's order."""
LIVELINK_ROTATIONS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                      "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LIVELINK_HEADER = ("Timecode", "BlendShapeCount", *LIVELINK_SHAPES, *LIVELINK_ROTATIONS)
LIVELINK_COUNT = len(LIVELINK_SHAPES) + len(LIVELINK_ROTATIONS)
"""61: the BlendShapeCount column."""
SUBFRAME_DIGITS = 3
SECONDS_PER_MINUTE, MINUTES_PER_HOUR = 60, 60


def livelink_timecode(frame: int, fps: float) -> str:
    """``HH:MM:SS:FF.mmm`` of frame ``frame`` at ``fps``: FF counts frames at round(fps) per second,
    .mmm is the sub-frame (zero when fps is whole)."""
    rate = max(1, round(fps))
    position = frame * rate / fps  # frames at the timecode rate
    whole = math.floor(position + 1e-9)
    subframe = min(round((position - whole) * 10 ** SUBFRAME_DIGITS), 10 ** SUBFRAME_DIGITS - 1)
    seconds, frames = divmod(whole, rate)
    minutes, seconds = divmod(seconds, SECONDS_PER_MINUTE)
    hours, minutes = divmod(minutes, MINUTES_PER_HOUR)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}.{subframe:0{SUBFRAME_DIGITS}d}"


def _livelink_order(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(52,) index into ``names`` (ARKit spelling) of each column of :data:`LIVELINK_SHAPES`."""
    spelled = {name[0].upper() + name[1:]: index for index, name in enumerate(names)}
    missing = [column for column in LIVELINK_SHAPES if column not in spelled]
    if missing or len(names) != len(LIVELINK_SHAPES):
        raise PtalkerError(f"names: expected the 52 ARKit shape names, got {len(names)} names"
                           + (f" without {', '.join(missing[:3])}" if missing else ""))
    return np.array([spelled[column] for column in LIVELINK_SHAPES])


def write_livelink_csv(path: str | os.PathLike, weights: np.ndarray, names: tuple[str, ...] | list[str], fps: float,
                       head_angles: np.ndarray, eye_angles: np.ndarray) -> Path:
    """Write ``weights`` (T, 52) named ``names`` (ARKit spelling), ``head_angles`` (T, 3) and
    ``eye_angles`` (T, 2, 3) (yaw, pitch, roll in radians) as a Live Link Face CSV, atomically."""
    fps = as_fps(fps)
    order = _livelink_order(names)
    values = np.concatenate([np.asarray(weights)[:, order], np.asarray(head_angles).reshape(len(weights), 3),
                             np.asarray(eye_angles).reshape(len(weights), 6)], axis=1)  # (T, 61)
    text = io.StringIO()
    text.write(",".join(LIVELINK_HEADER) + "\n")
    for frame, row in enumerate(values):
        text.write(f"{livelink_timecode(frame, fps)},{LIVELINK_COUNT}," + ",".join(f"{v:.6f}" for v in row) + "\n")
    path = Path(path)
    with atomic_open(path, "w") as handle:
        handle.write(text.getvalue())
    return path


def write_arkit_json(path: str | os.PathLike, weights: np.ndarray, names: tuple[str, ...] | list[str], fps: float,
                     head_angles: np.ndarray, eye_angles: np.ndarray, error_mean_mm: float, error_max_mm: float,
                     zero_shapes: tuple[str, ...] | list[str]) -> Path:
    """Write the curves as JSON (module doc), atomically."""
    save_json(path, {"fps": as_fps(fps), "names": list(names), "weights": np.round(weights, 6).tolist(),
                     "head_yaw_pitch_roll_rad": np.round(head_angles, 6).tolist(),
                     "eye_yaw_pitch_roll_rad": np.round(eye_angles, 6).tolist(),
                     "error_mean_mm": error_mean_mm, "error_max_mm": error_max_mm, "zero_shapes": list(zero_shapes)})
    return Path(path)


def write_arkit_glb(path: str | os.PathLike, template: np.ndarray, offsets: np.ndarray, weights: np.ndarray,
                    names: tuple[str, ...] | list[str], faces: np.ndarray, fps: float) -> Path:
    """Write the base ``template`` (V, 3), the morph targets ``offsets`` (K, V, 3) named ``names`` and
    the animation of ``weights`` (T, K) at ``fps`` as a .glb, atomically."""
    fps = as_fps(fps)
    faces = as_faces(faces, len(template))
    base = np.asarray(template, np.float32)
    times_s = (np.arange(len(weights)) / fps).astype(np.float32)  # (T,)
    gltf = morph_gltf(base, np.asarray(offsets, np.float32), np.asarray(weights, np.float32), list(names), faces,
                      times_s, vertex_normals(base, faces))
    gltf.asset.extras = {"ptalker": {"fps": fps, "frames": len(weights), "blendShapes": "ARKit"}}
    return save_glb(path, gltf)
