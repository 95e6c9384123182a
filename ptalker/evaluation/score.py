"""Score a folder of predictions against a data set: LVE, FDD, MVE and their protocol.

Predictions are ``.npy`` files named ``<SUBJECT>_<SENTENCE>.npy`` or
``<SUBJECT>_<SENTENCE>_condition_<TRAIN SUBJECT>.npy``. Every prediction whose subject and
sentence belong to the split is scored against ``DATA/vertices_npy/<SUBJECT>_<SENTENCE>.npy``
(every ``frame_step``-th frame: VOCASET files hold 60 fps, predictions 30 fps) and all of them are
pooled, as CodeTalker and FaceFormer pool all conditions. Metric definitions:
:mod:`ptalker.metrics.vertex_errors`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ptalker.constants import METRES_TO_MM
from ptalker.data.layout import (
    TEMPLATES_FILE,
    SequenceName,
    load_templates,
    load_vertex_sequence,
    parse_sequence_name,
    subject_template,
    vertices_path,
)
from ptalker.data.regions import resolve_region_masks
from ptalker.data.splits import REGIONS_FLAME_MASKS, DatasetSpec, get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.fileio import save_json
from ptalker.mesh.regions import RegionMasks
from ptalker.metrics.vertex_errors import align_pair, lip_max_sq_distance, mean_vertex_distance, upper_face_motion_std

AUTO_UNITS = "auto"
"""units_to_mm='auto': metres (x1000) for FLAME-topology data sets, else no real unit."""

DEFINITIONS = {
    "lve": "field-compatible LVE: mean over pooled frames of the max over lip vertices of the "
           "SQUARED distance (CodeTalker)",
    "lve_max_dist": "mean over pooled frames of the max lip-vertex distance (sqrt per frame, "
                    "then mean), data units",
    "lve_max_dist_mm": "lve_max_dist in millimetres",
    "lve_sqrt_mm": "sqrt(lve) in millimetres: root mean square of the per-frame max lip distance",
    "fdd": "field-compatible FDD: mean over sequences of std_gt - std_pred of the squared "
           "upper-face motion norm (signed; > 0 means too little motion)",
    "fdd_abs": "mean over sequences of |std_gt - std_pred|",
    "mve": "mean vertex distance over all vertices and pooled frames, data units",
    "mve_mm": "mve in millimetres",
}
LABELS = {"lve": "LVE (field)", "lve_max_dist": "LVE max dist", "lve_max_dist_mm": "LVE max dist",
          "lve_sqrt_mm": "sqrt(LVE)", "fdd": "FDD (field)", "fdd_abs": "|FDD|", "mve": "MVE",
          "mve_mm": "MVE"}


@dataclass
class SequenceScore:
    """Scores of one prediction file (LVE/MVE of its frames alone)."""

    name: str
    condition: str | None
    frames: int
    gt_frames_dropped: int
    pred_frames_cut: int
    lve: float
    lve_max_dist: float
    fdd: float
    mve: float


@dataclass
class ScoreCounts:
    sequences: int
    frames: int
    predictions_ignored: int
    gt_frames_dropped: int
    """Ground-truth frames past the end of predictions that were too short."""
    pred_frames_cut: int
    """Prediction frames past the end of their ground truth (cut, as the field does)."""


@dataclass
class ScoreReport:
    """Pooled scores, per-sequence rows, counts and the protocol that produced them."""

    lve: float
    lve_max_dist: float
    lve_max_dist_mm: float | None
    lve_sqrt_mm: float | None
    fdd: float
    fdd_abs: float
    mve: float
    mve_mm: float | None
    units: dict[str, str]
    counts: ScoreCounts
    protocol: dict
    sequences: list[SequenceScore]
    ignored: list[str]

    def to_dict(self) -> dict:
        """JSON-ready: metric keys first, then units, definitions, counts, protocol, rows."""
        data = {key: getattr(self, key) for key in DEFINITIONS}
        data.update(units=self.units, definitions=dict(DEFINITIONS), counts=asdict(self.counts),
                    protocol=self.protocol, sequences=[asdict(row) for row in self.sequences],
                    ignored=self.ignored)
        return data

    def save_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` atomically."""
        save_json(path, self.to_dict())

    def table(self) -> str:
        """A readable summary: protocol lines, then one row per metric."""
        p, c = self.protocol, self.counts
        lines = [
            f"data set {p['dataset']}, split {p['split']}: {c.sequences} predictions, "
            f"{c.frames} frames at {p['fps']:g} fps (ground-truth files at {p['fps_on_disk']:g} "
            f"fps, frame step {p['gt_frame_step']})",
            f"lips: {p['lips']['count']} vertices, upper face: {p['upper_face']['count']} vertices "
            f"({p['lips']['source']})",
            f"conditioning: {p['conditioning']}",
            f"{'metric':<14}{'value':>12}  {'unit':<14}json key",
        ]
        for key in DEFINITIONS:
            value = getattr(self, key)
            shown = "n/a" if value is None else \
                f"{value:.4f}" if key.endswith("_mm") else f"{value:.4e}"
            lines.append(f"{LABELS[key]:<14}{shown:>12}  {self.units[key]:<14}{key}")
        lines.append(f"ignored {c.predictions_ignored} .npy file(s) outside the split")
        lines.append(f"frames: {c.gt_frames_dropped} ground-truth frame(s) dropped past shorter "
                     f"predictions, {c.pred_frames_cut} prediction frame(s) cut past the ground truth")
        lines.append(f"units: {p['units_note']}")
        return "\n".join(lines)


def _collect_predictions(pred_dir: Path, spec: DatasetSpec, split: str
                         ) -> tuple[list[tuple[Path, SequenceName]], list[str]]:
    """Prediction files of the split, sorted by (stem, condition), and the ignored file names."""
    split_spec = spec.split(split)
    kept, ignored = [], []
    for path in sorted(pred_dir.glob("*.npy")):
        try:
            name = parse_sequence_name(path.stem)
        except PtalkerError:
            ignored.append(path.name)
            continue
        if split_spec.contains(name):
            kept.append((path, name))
        else:
            ignored.append(path.name)
    if not kept:
        example = f"{split_spec.subjects[0]}_{(split_spec.sentences or ['<SENTENCE>'])[0]}"
        raise PtalkerError(
            f"{pred_dir}: no prediction of split '{split}' of data set '{spec.name}' "
            f"({len(ignored)} .npy file(s) ignored); expected <SUBJECT>_<SENTENCE>.npy or "
            f"<SUBJECT>_<SENTENCE>_condition_<TRAIN SUBJECT>.npy with SUBJECT in "
            f"{', '.join(split_spec.subjects)}, e.g. {example}.npy"
        )
    kept.sort(key=lambda item: (item[1].stem, item[1].condition or ""))
    return kept, ignored


def _resolve_units(spec: DatasetSpec, units_to_mm: float | str | None) -> tuple[float | None, str]:
    """(millimetres per data unit or None, name of the data unit)."""
    if units_to_mm == AUTO_UNITS:
        units_to_mm = METRES_TO_MM if spec.regions == REGIONS_FLAME_MASKS else None
    if units_to_mm is None:
        return None, "BIWI unit" if spec.name == "biwi" else "data unit"
    units_to_mm = float(units_to_mm)
    return units_to_mm, "m" if units_to_mm == METRES_TO_MM else f"{units_to_mm:g} mm"


def _units(data_unit: str, has_mm: bool) -> dict[str, str]:
    squared = f"{data_unit}^2" if " " not in data_unit else f"({data_unit})^2"
    mm = "mm" if has_mm else "n/a"
    return {"lve": squared, "lve_max_dist": data_unit, "lve_max_dist_mm": mm, "lve_sqrt_mm": mm,
            "fdd": squared, "fdd_abs": squared, "mve": data_unit, "mve_mm": mm}


def _units_note(spec: DatasetSpec, data_unit: str) -> str:
    if spec.name == "biwi":
        return ("BIWI values are unitless (its preprocessing rescales the meshes): lve/fdd are "
                "squared BIWI units; no real-unit companion")
    if data_unit == "m":
        return ("meshes in metres: lve and fdd are m^2 (papers print them as 'mm'); "
                "the *_mm keys are real millimetres")
    return "meshes in unknown units: lve/fdd are squared data units; no real-unit companion"


def _conditioning(names: list[SequenceName], spec: DatasetSpec) -> str:
    """How the predictions were conditioned, read from their file names."""
    if all(name.condition is None for name in names):
        return "none named (<SUBJECT>_<SENTENCE>.npy files)"
    if all(name.condition == name.subject for name in names):
        return "own identity (condition = subject)"
    per_stem = defaultdict(set)
    for name in names:
        per_stem[name.stem].add(name.condition)
    train = set(spec.condition_subjects)
    if train and all(conds == train for conds in per_stem.values()):
        return f"all train subjects ({len(train)} per sequence, pooled)"
    counts = Counter(name.condition or "none" for name in names)
    return "mixed, pooled: " + ", ".join(f"{cond} x{n}" for cond, n in sorted(counts.items()))


class _GroundTruth:
    """Loads ground truth and templates; keeps the last sequence for the next condition."""

    def __init__(self, data_root: Path, spec: DatasetSpec) -> None:
        self.root, self.spec = data_root, spec
        self.templates = load_templates(data_root)
        self._last: tuple[str, np.ndarray] | None = None

    def template(self, name: SequenceName) -> np.ndarray:
        """(V, 3) neutral mesh of the sequence's subject."""
        return subject_template(self.templates, name.subject, self.spec.num_vertices,
                                str(self.root / TEMPLATES_FILE), self.spec.name)

    def vertices(self, name: SequenceName) -> np.ndarray:
        """(T, V, 3) ground truth at the prediction frame rate."""
        if self._last is None or self._last[0] != name.stem:
            path = vertices_path(self.root, name)
            if not path.is_file():
                raise PtalkerError(f"{path}: ground truth of {name.stem} not found; check --data, "
                                   "or remove predictions of sequences the data set lacks")
            gt = load_vertex_sequence(path, len(self.template(name)))
            self._last = (name.stem, gt[::self.spec.frame_step])
        return self._last[1]


def _score_one(pred_path: Path, name: SequenceName, truth: _GroundTruth, masks: RegionMasks
               ) -> tuple[SequenceScore, np.ndarray, np.ndarray]:
    """One prediction's row, its (T,) max squared lip distances and (T,) mean distances."""
    gt_full = truth.vertices(name)
    template = truth.template(name)
    pred_full = load_vertex_sequence(pred_path, len(template))
    pred, gt = align_pair(pred_full, gt_full, what=str(pred_path))
    lip_sq = lip_max_sq_distance(pred, gt, masks.lips)  # (T,)
    dist = mean_vertex_distance(pred, gt)  # (T,)
    fdd = upper_face_motion_std(gt, template, masks.upper_face) \
        - upper_face_motion_std(pred, template, masks.upper_face)
    row = SequenceScore(name=pred_path.stem, condition=name.condition, frames=len(gt),
                        gt_frames_dropped=len(gt_full) - len(gt),
                        pred_frames_cut=len(pred_full) - len(pred), lve=float(lip_sq.mean()),
                        lve_max_dist=float(np.sqrt(lip_sq).mean()), fdd=float(fdd),
                        mve=float(dist.mean()))
    return row, lip_sq, dist


def score_folder(pred_dir: str | os.PathLike, data_root: str | os.PathLike, dataset: str = "custom",
                 split: str = "test", regions: str | os.PathLike | None = None,
                 masks: str | os.PathLike | None = None, config: str | os.PathLike | None = None,
                 units_to_mm: float | str | None = AUTO_UNITS) -> ScoreReport:
    """Score every prediction of ``split`` in ``pred_dir`` against ``data_root``.

    Args:
        pred_dir: folder of predicted (T, V, 3) or (T, V*3) ``.npy`` files.
        data_root: data set root in the standard layout (vertices_npy/, templates.pkl).
        dataset: 'vocaset', 'biwi' or 'custom' (with ``config``).
        split: split name of the data set spec.
        regions: folder with lve.txt and fdd.txt; masks: a FLAME_masks.pkl (at most one).
        config: data set YAML (required for 'custom', optional otherwise).
        units_to_mm: millimetres per data unit, None for none, or 'auto' (metres for data sets
            with the FLAME-masks convention, none otherwise).

    Raises:
        PtalkerError: missing folders or files, no prediction of the split, mismatched meshes.
    """
    pred_dir, data_root = Path(pred_dir), Path(data_root)
    for path, flag in ((pred_dir, "--pred"), (data_root, "--data")):
        if not path.is_dir():
            raise PtalkerError(f"{path}: folder not found; pass an existing folder as {flag}")
    spec = get_dataset_spec(dataset, config).for_root(data_root)
    kept, ignored = _collect_predictions(pred_dir, spec, split)
    truth = _GroundTruth(data_root, spec)
    num_vertices = len(truth.template(kept[0][1]))
    region_masks = resolve_region_masks(data_root, spec, num_vertices, regions, masks)
    rows, lip_sq, dist = [], [], []
    for path, name in kept:
        row, seq_lip_sq, seq_dist = _score_one(path, name, truth, region_masks)
        rows.append(row)
        lip_sq.append(seq_lip_sq)
        dist.append(seq_dist)
    return _build_report(rows, np.concatenate(lip_sq), np.concatenate(dist), ignored, spec, split,
                         region_masks, [name for _, name in kept], units_to_mm)


def _build_report(rows: list[SequenceScore], lip_sq: np.ndarray, dist: np.ndarray,
                  ignored: list[str], spec: DatasetSpec, split: str, region_masks: RegionMasks,
                  names: list[SequenceName], units_to_mm: float | str | None) -> ScoreReport:
    """Pool per-frame values (lip_sq, dist: (sum T,)) and rows into a :class:`ScoreReport`."""
    scale, data_unit = _resolve_units(spec, units_to_mm)
    fdd = np.array([row.fdd for row in rows])  # (N,)
    lve = float(lip_sq.mean())
    mve = float(dist.mean())
    lve_max_dist = float(np.sqrt(lip_sq).mean())
    protocol = {
        "dataset": spec.name, "split": split, "fps": spec.fps, "fps_on_disk": spec.fps_on_disk,
        "gt_frame_step": spec.frame_step, "pooling": "all frames of all predictions",
        "lips": {"count": int(region_masks.lips.size), "source": region_masks.source},
        "upper_face": {"count": int(region_masks.upper_face.size), "source": region_masks.source},
        "conditioning": _conditioning(names, spec),
        "units_note": _units_note(spec, data_unit),
    }
    counts = ScoreCounts(sequences=len(rows), frames=int(lip_sq.size), predictions_ignored=len(ignored),
                         gt_frames_dropped=sum(r.gt_frames_dropped for r in rows),
                         pred_frames_cut=sum(r.pred_frames_cut for r in rows))
    return ScoreReport(
        lve=lve, lve_max_dist=lve_max_dist,
        lve_max_dist_mm=None if scale is None else lve_max_dist * scale,
        lve_sqrt_mm=None if scale is None else float(np.sqrt(lve)) * scale,
        fdd=float(fdd.mean()), fdd_abs=float(np.abs(fdd).mean()), mve=mve,
        mve_mm=None if scale is None else mve * scale, units=_units(data_unit, scale is not None),
        counts=counts, protocol=protocol, sequences=rows, ignored=ignored)
