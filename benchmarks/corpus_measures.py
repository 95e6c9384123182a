"""Measures of predictions on the synthetic corpus that need its phoneme timelines and speakers,
shared by the benchmark scripts (``from corpus_measures import ...``: they run from this folder).

- :func:`seal_rate`: the share of /p b m/ on which the predicted lips seal (gap < 1 mm);
- :func:`style_errors`: how far the predicted speaking style of each test speaker is from the
  truth's, over the corpus's style statistics (ptalker.metrics.face_measures.style_statistics).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ptalker.data.layout import list_sequences, load_templates, load_vertex_sequence, vertices_path
from ptalker.data.synth.corpus import load_alignment
from ptalker.evaluation.corpus_checks import bilabial_gaps
from ptalker.mesh.face_sets import FaceSets
from ptalker.metrics.face_measures import lip_gap, style_statistics
from ptalker.metrics.lip_sync import CLOSED_GAP_M


def seal_rate(pred_dir: Path, data: Path, sets: FaceSets) -> float:
    """Share of the bilabials (/p b m/) of every prediction in ``pred_dir`` whose lip gap falls
    below CLOSED_GAP_M (1 mm)."""
    templates, sealed = load_templates(data), []
    for path in sorted(pred_dir.glob("*.npy")):
        align = load_alignment(data, path.stem)
        gap = lip_gap(np.load(path), sets, templates[path.stem.rsplit("_", 1)[0]])
        sealed.append(bilabial_gaps(gap, align.speech, align.fps) < CLOSED_GAP_M)
    return float(np.concatenate(sealed).mean())


def style_errors(pred_dirs: dict[str, Path], data: Path, sets: FaceSets) -> dict[str, float]:
    """{way: mean over test speakers and statistics of |statistic(pred) - statistic(truth)|}, each
    statistic scaled by its spread over the truth's speakers, for the predictions in
    ``pred_dirs`` {way: folder} (the sequences of the first folder; blink rate left out: blinks
    are random, not style)."""
    templates = load_templates(data)
    first = next(iter(pred_dirs.values()))
    names = [n for n in list_sequences(data) if (first / f"{n.stem}.npy").is_file()]

    def stats(load) -> dict[str, dict[str, float]]:
        by_speaker: dict[str, list[dict]] = {}
        for n in names:
            by_speaker.setdefault(n.subject, []).append(
                style_statistics(load(n), templates[n.subject], sets, 30.0).to_dict())
        return {s: {k: float(np.mean([d[k] for d in rows])) for k in rows[0]} for s, rows in by_speaker.items()}

    truth = stats(lambda n: load_vertex_sequence(vertices_path(data, n)))
    keys = [k for k in next(iter(truth.values())) if k != "blink_rate_hz"]  # blinks are random, not style
    spread = {k: np.std([t[k] for t in truth.values()]) + 1e-9 for k in keys}
    out = {}
    for way, folder in pred_dirs.items():
        pred = stats(lambda n, folder=folder: np.load(folder / f"{n.stem}.npy"))
        out[way] = float(np.mean([abs(pred[s][k] - truth[s][k]) / spread[k] for s in truth for k in keys]))
    return out
