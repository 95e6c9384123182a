"""Put each whole-face factor on a vertex sequence of the head model's mesh.

A :class:`FaceRig` holds what the factors need from the head model, taken once:

- the blink and emotion vertex offsets (V, 3) of :func:`ptalker.flame.expressions.control_expressions`
  (the head's expression blend shapes are linear, so an offset at weight w is ``w * offset``);
- the eyeballs: the vertices skinned fully to each eye joint (an eyeball turns about the centroid
  of its vertices, FLAME's eye joint, so any person's head shape works);
- the head weights (V,): 1 - each vertex's skinning weight on FLAME's global joint, i.e. how much a
  vertex follows the neck (1 on the scalp and face, 0 at the base of the neck).

Frames are (T, V, 3) float arrays in the head's frame. The factors are applied in this order by
:func:`ptalker.controls.compose.apply_controls`: emotion and blinks add offsets, gaze rotates the
eyeballs about their centres, head pose moves everything that follows the neck. Blinks touch only
the eyelid vertices of the blink offsets; gaze only the eyeballs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ptalker.errors import PtalkerError
from ptalker.flame.expressions import BLINKS, EMOTIONS, control_expressions
from ptalker.flame.flame_model import FlameModel
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.regions import RegionMasks

JAW_JOINT, LEFT_EYE_JOINT, RIGHT_EYE_JOINT = 2, 3, 4
"""FLAME's joints: global, neck, jaw, left eye, right eye."""
NEGLIGIBLE_M = 1e-6
"""Offsets shorter than 1 micrometre are set to 0, so a blink moves the eyelids and nothing else."""
EYEBALL_WEIGHT = 0.999
"""A vertex whose skinning weight on an eye joint exceeds this belongs to that eyeball."""


@dataclass
class FaceRig:
    """What the whole-face factors need from one head model (see module doc)."""

    blink_offsets: np.ndarray
    """(2, V, 3) left and right lids shut, minus open."""
    emotion_offsets: dict[str, np.ndarray]
    """{label: (V, 3)} at intensity 1; 'neutral' is zero."""
    eyeballs: tuple[np.ndarray, np.ndarray]
    """Vertex ids of the left and right eyeball."""
    head_weights: np.ndarray
    """(V,) how much each vertex follows the head's rotation (1 - weight on the global joint)."""
    rigid: np.ndarray
    """Ids of the vertices that move only with the head (scalp, ears): head pose is measured on them."""
    speech: np.ndarray
    """Ids of the vertices speech moves (the lips and every vertex skinned to the jaw)."""

    @classmethod
    def from_model(cls, model: FlameModel) -> "FaceRig":
        """The rig of ``model`` (raises PtalkerError when it has no blink/emotion expressions)."""
        vectors = control_expressions(model)
        names = list(BLINKS) + list(EMOTIONS)
        dirs = model.layer.expr_dirs.detach().cpu().numpy().astype(np.float64)  # (V, 3, used)
        coefficients = np.stack([vectors[n][:dirs.shape[-1]] for n in names]).astype(np.float64)  # (N, used)
        offsets = np.einsum("vck,nk->nvc", dirs, coefficients)  # (N, V, 3): the blend shapes, exactly
        offsets[np.linalg.norm(offsets, axis=-1) < NEGLIGIBLE_M] = 0.0  # rounding noise of a built head
        masks = RegionMasks.from_flame_masks(model.masks_path).all if model.masks_path else {}
        weights = model.layer.lbs_weights.detach().cpu().numpy()  # (V, 5)
        eyeballs = tuple(np.flatnonzero(weights[:, joint] > EYEBALL_WEIGHT)
                         for joint in (LEFT_EYE_JOINT, RIGHT_EYE_JOINT))
        if any(len(ids) < 3 for ids in eyeballs):
            raise PtalkerError(f"head model {model.flame_dir}: no eyeball vertices skinned to the eye joints; "
                               "gaze needs FLAME's eyeballs")
        return cls(blink_offsets=offsets[:2], emotion_offsets=dict(zip(EMOTIONS, offsets[2:])),
                   eyeballs=eyeballs,
                   head_weights=1.0 - weights[:, 0].astype(np.float64),
                   rigid=rigid_region_ids(masks, f"head model {model.flame_dir} (region masks)"),
                   speech=np.union1d(np.flatnonzero(weights[:, JAW_JOINT] > 0), masks.get("lips", [])).astype(int))

    @property
    def eyelids(self) -> np.ndarray:
        """Ids of the vertices a blink moves."""
        return np.flatnonzero(np.abs(self.blink_offsets).max(axis=(0, 2)) > 0)

    def add_emotion(self, frames: np.ndarray, label: str, intensity: np.ndarray | float) -> np.ndarray:
        """``frames`` with the emotion ``label`` at ``intensity`` (scalar or (T,)) added."""
        if label not in self.emotion_offsets:
            raise PtalkerError(f"emotion '{label}': choose one of {', '.join(EMOTIONS)}")
        weight = np.broadcast_to(np.asarray(intensity, np.float64), (len(frames),))
        return frames + weight[:, None, None] * self.emotion_offsets[label]

    def add_blinks(self, frames: np.ndarray, closure: np.ndarray) -> np.ndarray:
        """``frames`` with both lids closed by ``closure`` (T,) or (T, 2) (left, right), 0..1."""
        closure = np.asarray(closure, np.float64)
        closure = np.stack([closure, closure], 1) if closure.ndim == 1 else closure
        out = frames.copy()
        lids = self.eyelids
        out[:, lids] += np.einsum("te,evc->tvc", closure, self.blink_offsets[:, lids])
        return out

    def rotate_eyes(self, frames: np.ndarray, gaze_deg: np.ndarray) -> np.ndarray:
        """``frames`` with both eyeballs turned to ``gaze_deg`` (T, 2) yaw, pitch degrees, about
        their centroids (frames in the head's frame, before head pose, eyes looking ahead)."""
        rotation = gaze_rotations(gaze_deg)  # (T, 3, 3)
        out = frames.copy()
        for ids in self.eyeballs:
            centre = frames[:, ids].mean(axis=1, keepdims=True)  # (T, 1, 3)
            out[:, ids] = np.einsum("tij,tvj->tvi", rotation, frames[:, ids] - centre) + centre
        return out

    def pose_head(self, frames: np.ndarray, rotation: np.ndarray, translation: np.ndarray | None = None) -> np.ndarray:
        """``frames`` moved by the head pose ``rotation`` (T, 3) rotation vectors about the head's
        origin (as :mod:`ptalker.mesh.stabilize` measures it) and ``translation`` (T, 3) metres,
        each vertex by its head weight: ``v + w * (R v + t - v)``."""
        matrices = Rotation.from_rotvec(np.asarray(rotation, np.float64)).as_matrix()  # (T, 3, 3)
        moved = np.einsum("tij,tvj->tvi", matrices, frames)
        if translation is not None:
            moved = moved + np.asarray(translation, np.float64)[:, None]
        return frames + self.head_weights[None, :, None] * (moved - frames)


def gaze_rotations(gaze_deg: np.ndarray) -> np.ndarray:
    """(T, 3, 3) eye rotations for ``gaze_deg`` (T, 2) yaw (about y), pitch (up +: about -x)."""
    gaze = np.radians(np.asarray(gaze_deg, np.float64))
    return Rotation.from_euler("YX", np.stack([gaze[:, 0], -gaze[:, 1]], 1)).as_matrix()


def measure_gaze(frames: np.ndarray, rest: np.ndarray, rig: FaceRig) -> np.ndarray:
    """(T, 2) yaw, pitch in degrees of the left eyeball of head-stabilized ``frames`` relative to
    the ``rest`` mesh (V, 3) (Kabsch of its vertices about their centroid)."""
    ids = rig.eyeballs[0]
    source = rest[ids] - rest[ids].mean(axis=0)
    angles = []
    for frame in frames:
        rotation, _ = Rotation.align_vectors(frame[ids] - frame[ids].mean(axis=0), source)
        yaw, pitch, _ = rotation.as_euler("YXZ")
        angles.append((np.degrees(yaw), -np.degrees(pitch)))
    return np.asarray(angles).reshape(-1, 2)
