"""LVE, FDD and MVE exactly as the field computes them (docs/architecture.md, "Metric protocol"), vectorised.

The de-facto definitions are those of CodeTalker's metric script (``main/cal_metric.py``),
copied with small additions by FaceDiffuser and later work:

- LVE (lip vertex error): pool every frame of every sequence; per frame the max over lip
  vertices of the SQUARED euclidean distance (no square root); mean over pooled frames.
  VOCASET values are therefore m^2 although papers print "mm".
- FDD (upper-face dynamics deviation): per sequence, motion = vertices - subject template; per
  upper-face vertex the squared norm of the motion in each frame, its std over time
  (``np.std``, ddof=0), mean over vertices; FDD_seq = std_gt - std_pred (signed); the mean over
  sequences is reported, and the mean of |FDD_seq| beside it (FaceDiffuser's "ABS FDD").
- MVE (mean vertex error): mean per-vertex euclidean distance over all vertices and all pooled
  frames (FaceDiffuser).

Companions in real units (not in the field's scripts, see :class:`LipErrorInUnits`):

- ``mean_max_distance``: mean over pooled frames of the max lip euclidean distance
  (square root per frame, then mean): "on average the worst lip vertex is this far off".
- ``sqrt_lve``: square root of LVE, the root-mean-square of the per-frame max distance; always
  >= ``mean_max_distance``.

Frame alignment: a prediction longer than its ground truth is cut to the ground-truth length
(the field does this); a prediction shorter than its ground truth cuts the ground truth to the
prediction (FaceDiffuser does this; CodeTalker's script fails) and the dropped ground-truth
frames are counted by :func:`align_pairs`.

Every function takes a list of sequences, each (T, V, 3), and works one sequence at a time, so
pooling thousands of frames never builds one (sum T, V, 3) array. Sums run in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.mesh.checks import check_indices


@dataclass(frozen=True)
class AlignedPairs:
    """Predictions and ground truths cut to a common length per pair."""

    pred: list[np.ndarray]
    """Each (T_i, V, 3)."""
    gt: list[np.ndarray]
    """Each (T_i, V, 3), the same T_i as ``pred[i]``."""
    gt_frames_dropped: int
    """Ground-truth frames past the end of predictions that were too short."""
    pred_frames_cut: int
    """Prediction frames past the end of their ground truth (cut, as the field does)."""


@dataclass(frozen=True)
class LipErrorInUnits:
    """Lip error companions in real units (``unit``), next to the field's squared LVE."""

    mean_max_distance: float
    """Mean over pooled frames of the max lip euclidean distance (sqrt per frame, then mean)."""
    sqrt_lve: float
    """sqrt(LVE): root of the mean over pooled frames of the max squared lip distance."""
    unit: str
    """'mm' when a units_to_mm factor was given, else 'data units'."""


@dataclass(frozen=True)
class FaceDynamicsDeviation:
    """FDD over a set of sequences (squared data units, e.g. m^2 for VOCASET)."""

    fdd: float
    """Mean over sequences of std_gt - std_pred (signed; > 0: prediction moves too little)."""
    fdd_abs: float
    """Mean over sequences of |std_gt - std_pred|."""
    per_sequence: np.ndarray
    """(N,) signed FDD of each sequence."""


def _check_sequence(array: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0:
        raise PtalkerError(f"{what}: expected a vertex sequence of shape (T, V, 3) with T > 0, "
                           f"got {array.shape}; reshape (T, V*3) arrays to (T, V, 3)")
    return array


def align_pair(pred: np.ndarray, gt: np.ndarray,
               what: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """Cut ``pred`` (T_p, V, 3) and ``gt`` (T_g, V, 3) to min(T_p, T_g) frames.

    Raises:
        PtalkerError: not (T, V, 3) arrays, or different vertex counts.
    """
    pred = _check_sequence(pred, f"{what} (prediction)")
    gt = _check_sequence(gt, f"{what} (ground truth)")
    if pred.shape[1] != gt.shape[1]:
        raise PtalkerError(f"{what}: prediction has {pred.shape[1]} vertices, ground truth "
                           f"{gt.shape[1]}; score predictions on the ground truth's mesh topology")
    frames = min(pred.shape[0], gt.shape[0])
    return pred[:frames], gt[:frames]


def align_pairs(pred_seqs: Sequence[np.ndarray], gt_seqs: Sequence[np.ndarray]) -> AlignedPairs:
    """Align every (prediction, ground truth) pair; see :class:`AlignedPairs`.

    Args:
        pred_seqs: N predictions, each (T_p, V, 3).
        gt_seqs: N ground truths, each (T_g, V, 3).

    Raises:
        PtalkerError: empty or unequal lists, or a pair that :func:`align_pair` refuses.
    """
    if len(pred_seqs) != len(gt_seqs) or not pred_seqs:
        raise PtalkerError(f"got {len(pred_seqs)} predictions and {len(gt_seqs)} ground truths; "
                           "pass one ground truth per prediction, at least one pair")
    preds, gts, dropped, cut = [], [], 0, 0
    for i, (pred, gt) in enumerate(zip(pred_seqs, gt_seqs)):
        pred_cut, gt_cut = align_pair(pred, gt, what=f"sequence {i}")
        dropped += len(gt) - len(gt_cut)
        cut += len(pred) - len(pred_cut)
        preds.append(pred_cut)
        gts.append(gt_cut)
    return AlignedPairs(preds, gts, dropped, cut)


def lip_max_sq_distance(pred: np.ndarray, gt: np.ndarray, lip_idx: np.ndarray) -> np.ndarray:
    """Per frame, the max over lip vertices of the squared euclidean distance.

    Args:
        pred: (T_p, V, 3) prediction; cut to the common length with ``gt``.
        gt: (T_g, V, 3) ground truth.
        lip_idx: (L,) lip vertex indices.

    Returns:
        (T,) float64, T = min(T_p, T_g).
    """
    pred, gt = align_pair(pred, gt)
    lip_idx = check_indices(lip_idx, gt.shape[1], "lip vertex indices")
    diff = pred[:, lip_idx].astype(np.float64) - gt[:, lip_idx]  # (T, L, 3)
    return np.square(diff).sum(axis=2).max(axis=1)  # (T,)


def mean_vertex_distance(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per frame, the mean over all vertices of the euclidean distance.

    Args:
        pred: (T_p, V, 3); gt: (T_g, V, 3); cut to the common length.

    Returns:
        (T,) float64.
    """
    pred, gt = align_pair(pred, gt)
    diff = pred.astype(np.float64) - gt  # (T, V, 3)
    return np.sqrt(np.square(diff).sum(axis=2)).mean(axis=1)  # (T,)


def upper_face_motion_std(vertices: np.ndarray, template: np.ndarray, upper_idx: np.ndarray) -> float:
    """Mean over upper-face vertices of the std over time of the squared motion norm.

    Args:
        vertices: (T, V, 3) sequence.
        template: (V, 3) neutral mesh of the sequence's subject.
        upper_idx: (U,) upper-face vertex indices (duplicates count twice, as in the field).
    """
    vertices = _check_sequence(vertices, "upper-face motion")
    template = np.asarray(template)
    if template.shape != vertices.shape[1:]:
        raise PtalkerError(f"template has shape {template.shape}, the sequence's meshes "
                           f"{vertices.shape[1:]}; use the template of the same subject and mesh")
    upper_idx = check_indices(upper_idx, vertices.shape[1], "upper-face vertex indices")
    motion = vertices[:, upper_idx].astype(np.float64) - template[upper_idx]  # (T, U, 3)
    sq_norm = np.square(motion).sum(axis=2)  # (T, U)
    return float(np.std(sq_norm, axis=0).mean())


def lip_vertex_error(pred_seqs: Sequence[np.ndarray], gt_seqs: Sequence[np.ndarray],
                     lip_idx: np.ndarray) -> float:
    """The field's LVE: mean over pooled frames of the max squared lip-vertex distance.

    Args:
        pred_seqs: N predictions, each (T_p, V, 3).
        gt_seqs: N ground truths, each (T_g, V, 3).
        lip_idx: (L,) lip vertex indices.

    Returns:
        LVE in squared data units (m^2 for VOCASET).
    """
    pairs = align_pairs(pred_seqs, gt_seqs)
    per_frame = [lip_max_sq_distance(p, g, lip_idx) for p, g in zip(pairs.pred, pairs.gt)]
    return float(np.concatenate(per_frame).mean())


def lip_vertex_error_mm(pred_seqs: Sequence[np.ndarray], gt_seqs: Sequence[np.ndarray],
                        lip_idx: np.ndarray, units_to_mm: float | None = None) -> LipErrorInUnits:
    """LVE companions in real units (see :class:`LipErrorInUnits`).

    Args:
        pred_seqs, gt_seqs, lip_idx: as for :func:`lip_vertex_error`.
        units_to_mm: millimetres per data unit (1000 for meshes in metres), or None to stay
            in data units (BIWI, whose preprocessing leaves no physical unit).
    """
    pairs = align_pairs(pred_seqs, gt_seqs)
    sq = np.concatenate([lip_max_sq_distance(p, g, lip_idx) for p, g in zip(pairs.pred, pairs.gt)])
    scale = 1.0 if units_to_mm is None else float(units_to_mm)
    return LipErrorInUnits(mean_max_distance=float(np.sqrt(sq).mean() * scale),
                           sqrt_lve=float(np.sqrt(sq.mean()) * scale),
                           unit="data units" if units_to_mm is None else "mm")


def face_dynamics_deviation(pred_seqs: Sequence[np.ndarray], gt_seqs: Sequence[np.ndarray],
                            templates: Sequence[np.ndarray],
                            upper_idx: np.ndarray) -> FaceDynamicsDeviation:
    """The field's FDD, signed, with its absolute companion.

    Args:
        pred_seqs: N predictions, each (T_p, V, 3).
        gt_seqs: N ground truths, each (T_g, V, 3).
        templates: N neutral meshes, each (V, 3): the ground-truth subject's template.
        upper_idx: (U,) upper-face vertex indices.
    """
    pairs = align_pairs(pred_seqs, gt_seqs)
    if len(templates) != len(pairs.gt):
        raise PtalkerError(f"got {len(templates)} templates for {len(pairs.gt)} sequences; "
                           "pass the subject template of every sequence")
    per_seq = np.array([upper_face_motion_std(g, t, upper_idx) - upper_face_motion_std(p, t, upper_idx)
                        for p, g, t in zip(pairs.pred, pairs.gt, templates)])  # (N,)
    return FaceDynamicsDeviation(float(per_seq.mean()), float(np.abs(per_seq).mean()), per_seq)


def mean_vertex_error(pred_seqs: Sequence[np.ndarray], gt_seqs: Sequence[np.ndarray]) -> float:
    """The field's MVE: mean euclidean distance over all vertices and pooled frames.

    Args:
        pred_seqs: N predictions, each (T_p, V, 3).
        gt_seqs: N ground truths, each (T_g, V, 3).

    Returns:
        MVE in data units (m for VOCASET).
    """
    pairs = align_pairs(pred_seqs, gt_seqs)
    per_frame = [mean_vertex_distance(p, g) for p, g in zip(pairs.pred, pairs.gt)]
    return float(np.concatenate(per_frame).mean())
