"""``ptalker retarget``: an animation of the head model carried onto the user's own head mesh.

Reads the sequence (on the head model's mesh) and the user's neutral mesh, places the head
model's neutral on it (:func:`ptalker.retarget.align.align_template`), ties each user vertex to
the fitted template (:func:`ptalker.retarget.transfer.correspond`), transfers the motion and the
head's rigid motion (:func:`ptalker.retarget.transfer.transfer_motion`), and writes the folder

- ``vertices.npy`` (T, Vu, 3) float32 in the user mesh's units, frame and vertex order;
- ``obj/frame_0000.obj`` ... with the user's UVs, material and normals (``obj/material.mtl``);
- ``retarget.json``: the report (fit error, landmark residuals, scale, face checks, fps).

Distances in the report are given in the head model's millimetres (user units / scale * 1000;
the head model is in metres) and in the user's units.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, load_npy, save_json, save_npy
from ptalker.mesh.sequence_file import load_sequence, resolve_fps

REPORT_FILE = "retarget.json"
MM_PER_M = 1000.0


@dataclass
class RetargetReport:
    """What ``ptalker retarget`` did (distances: head-model mm; ``*_user``: the user's units)."""

    out: str
    frames: int
    fps: float | None
    user_vertices: int
    user_faces: int
    uv_kept: bool
    scale: float
    """User units per head-model unit (metre)."""
    fit_mean_mm: float
    """Mean distance of the fitted template from the user's surface."""
    fit_p95_mm: float
    fit_max_mm: float
    fit_mean_user: float
    landmarks_given: bool
    landmark_rigid_mean_mm: float
    """Mean distance of the 68 landmarks after the similarity from the user's (given or found)."""
    landmark_fitted_mean_mm: float
    landmark_fitted_max_mm: float
    face_rms_eye_widths: float
    nose_prominence_eye_widths: float | None
    correspondence_mean_mm: float
    """Mean distance of the user's vertices from the fitted template."""
    head_rotation_max_deg: float
    seconds: float

    def summary(self) -> str:
        """Lines for the terminal."""
        return "\n".join([
            f"retargeted {self.frames} frames onto {self.user_vertices} vertices -> {self.out}",
            f"scale {self.scale:.4g} user units per metre; fit to the surface {self.fit_mean_mm:.3f} mm mean, "
            f"{self.fit_p95_mm:.3f} mm p95, {self.fit_max_mm:.3f} mm max (head-model mm)",
            f"landmarks ({'given' if self.landmarks_given else 'found'}): {self.landmark_rigid_mean_mm:.2f} mm after "
            f"the similarity, {self.landmark_fitted_mean_mm:.2f} mm mean / {self.landmark_fitted_max_mm:.2f} mm max "
            f"after the fit; {self.seconds:.1f} s",
        ])


def _head(flame_dir: str | os.PathLike | None):
    """(topology, 68 embedding, rigid ids, face ids, fit weights (V,)) of the head model."""
    from ptalker.flame.flame_model import head_topology
    from ptalker.flame.landmarks import landmark_embedding_68
    from ptalker.flame.masks import head_face_sets

    head = head_topology(flame_dir)
    regions = head.masks.all if head.masks is not None else {}
    weights = np.ones(head.num_vertices)
    for name, ids in regions.items():
        if "eyeball" in name:
            weights[ids] = 0.0
    face_ids = regions.get("face", np.arange(head.num_vertices))
    return head, landmark_embedding_68(flame_dir), head_face_sets(flame_dir).rigid, face_ids, weights


def retarget_file(seq: str | os.PathLike, mesh: str | os.PathLike, out: str | os.PathLike,
                  landmarks: str | os.PathLike | None = None, neutral: str | os.PathLike | None = None,
                  fps: float | None = None, flame_dir: str | os.PathLike | None = None) -> RetargetReport:
    """Retarget the sequence file ``seq`` ((T, V, 3) on the head model's mesh, .npy/.npz) onto the
    head mesh file ``mesh`` and write the folder ``out`` (see the module doc).

    Args:
        landmarks: the user's 68 landmarks, a (68, 3) .npy (NaN rows: not given) or a JSON of named
            points (:data:`ptalker.retarget.mesh_io.LANDMARK_NAMES`); else they are found.
        neutral: the neutral (V, 3) of the sequence's speaker (.npy); default the head model's.
        fps: stored in the report (else the sequence file's, when it says).
        flame_dir: the head model (default: the configured one, else the stand-in).

    Raises:
        PtalkerError: unreadable inputs, a sequence not on the head model's mesh, or a mesh with no
            face on it.
    """
    from ptalker.retarget.align import align_template
    from ptalker.retarget.mesh_io import read_landmarks, read_user_mesh, write_obj_frames
    from ptalker.retarget.transfer import correspond, transfer_motion

    start = time.perf_counter()
    path = Path(seq)
    sequence = load_sequence(path)
    rate = resolve_fps(fps, sequence, path, required=False)
    head, embedding, rigid, face_ids, weights = _head(flame_dir)
    frames = sequence.vertices.astype(np.float64)
    if frames.shape[1] != head.num_vertices:
        raise PtalkerError(f"{path}: {frames.shape[1]} vertices per frame, but the head model has {head.num_vertices}; "
                           "give a sequence on the head model's mesh (ptalker animate writes one)")
    base = head.template.astype(np.float64) if neutral is None else load_npy(neutral).reshape(-1, 3).astype(np.float64)
    if base.shape != (head.num_vertices, 3):
        raise PtalkerError(f"--neutral {neutral}: {base.shape}, expected ({head.num_vertices}, 3), the sequence "
                           "speaker's neutral mesh")
    user = read_user_mesh(mesh)
    given = None if landmarks is None else read_landmarks(landmarks)
    alignment = align_template(base, head.faces, embedding, weights, face_ids, user.vertices, user.faces, given,
                               source=f"--mesh {user.path}")
    corr = correspond(user.vertices, user.faces, alignment.fitted, head.faces)
    motion = transfer_motion(frames, base, head.faces, rigid, corr, alignment.similarity, user.vertices)
    mm = MM_PER_M / alignment.similarity.scale
    known = np.isfinite(alignment.user_landmarks).all(axis=1)
    report = RetargetReport(
        out=str(out), frames=len(frames), fps=rate, user_vertices=len(user.vertices), user_faces=len(user.faces),
        uv_kept=user.has_uv, scale=alignment.similarity.scale,
        fit_mean_mm=float(alignment.fit_distance.mean() * mm),
        fit_p95_mm=float(np.percentile(alignment.fit_distance, 95) * mm),
        fit_max_mm=float(alignment.fit_distance.max() * mm), fit_mean_user=float(alignment.fit_distance.mean()),
        landmarks_given=given is not None, landmark_rigid_mean_mm=float(alignment.landmark_rigid[known].mean() * mm),
        landmark_fitted_mean_mm=float(alignment.landmark_fitted[known].mean() * mm),
        landmark_fitted_max_mm=float(alignment.landmark_fitted[known].max() * mm),
        face_rms_eye_widths=alignment.face_rms, nose_prominence_eye_widths=alignment.nose_prominence,
        correspondence_mean_mm=float(corr.distance.mean() * mm),
        head_rotation_max_deg=float(motion.head_rotation_deg.max()), seconds=0.0)
    with atomic_directory(out, marker=REPORT_FILE) as folder:
        save_npy(folder / "vertices.npy", motion.vertices)
        write_obj_frames(user, motion.vertices, folder / "obj")
        report.seconds = time.perf_counter() - start
        save_json(folder / REPORT_FILE, {**asdict(report), "landmark_rigid_mm": (alignment.landmark_rigid * mm).tolist(),
                                         "landmark_fitted_mm": (alignment.landmark_fitted * mm).tolist(),
                                         "similarity": {"scale": alignment.similarity.scale,
                                                        "rotation": alignment.similarity.rotation.tolist(),
                                                        "translation": alignment.similarity.translation.tolist()}})
    return report
