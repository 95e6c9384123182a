"""Lip opening over time, prediction against ground truth, over the phoneme timeline.

The lip opening is :func:`ptalker.metrics.face_measures.lip_gap` (head-aligned, in millimetres
for meshes in metres): 0 with the lips closed, negative when pressed together. Bilabials
(/p b m/) are where the lips must close: their spans are highlighted, and a bilabial counts as
sealed when the opening drops under CLOSED_GAP_M (1 mm) somewhere from MAX_LEAD_S before it to
its end, as in the corpus checks (:mod:`ptalker.evaluation.corpus_checks`).

Timelines are lists of :class:`ptalker.plots.timeline.Span` (label, start_s, end_s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ptalker.constants import METRES_TO_MM
from ptalker.data.synth.visemes import BILABIALS
from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_fps, to_vertex_sequence
from ptalker.mesh.face_sets import FaceSets
from ptalker.metrics.face_measures import lip_gap
from ptalker.metrics.lip_sync import CLOSED_GAP_M, MAX_LEAD_S, frame_range
from ptalker.plots.figure import ACCENT_COLOUR, PRED_COLOUR, TRUTH_COLOUR, check_out_png, clamp, drawing, save_figure
from ptalker.plots.timeline import Span, check_spans, draw_spans

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BILABIAL_SYMBOLS = BILABIALS | {"P", "B", "M"}
"""espeak-ng's /p b m/ (and syllabic m-), and ARPAbet's P B M."""
CLOSED_GAP_MM = CLOSED_GAP_M * METRES_TO_MM
WIDTH_PER_S_IN = 2.4
"""Figure width per second of sequence (inches), between MIN_WIDTH_IN and MAX_WIDTH_IN."""
MIN_WIDTH_IN, MAX_WIDTH_IN = 8.0, 32.0
MARGIN_WIDTH_IN = 1.2
LEGEND_ENTRIES = 5
ONE_ROW_LEGEND_WIDTH_IN = 10.0
"""Narrower figures put the legend on two rows."""
TICK_STEPS_S = ((12.0, 0.5), (40.0, 1.0), (float("inf"), 5.0))
"""(up to this duration, tick every this many seconds)."""
CURVE_HEIGHT_IN, WORDS_HEIGHT_IN, PHONEMES_HEIGHT_IN, TITLE_HEIGHT_IN = 3.0, 0.35, 0.45, 0.55


@dataclass
class LipOpening:
    """The curves and timeline :func:`plot_lip_opening` draws."""

    fps: float
    pred_mm: np.ndarray
    """(T_pred,) lip opening of the prediction, millimetres, frame i at i / fps seconds."""
    truth_mm: np.ndarray | None
    """(T_truth,) lip opening of the ground truth, or None."""
    phonemes: list[Span]
    bilabials: list[Span]
    """The /p b m/ of ``phonemes`` (where the lips must close)."""

    @property
    def duration_s(self) -> float:
        """Seconds the curves and the timeline cover."""
        frames = max(self.pred_mm.size, 0 if self.truth_mm is None else self.truth_mm.size)
        return max((frames - 1) / self.fps, max((s.end_s for s in self.phonemes), default=0.0))

    def times_s(self, curve_mm: np.ndarray) -> np.ndarray:
        """(T,) the instants of a curve's frames, seconds."""
        return np.arange(curve_mm.size) / self.fps

    def seal_frames(self, curve_mm: np.ndarray) -> np.ndarray:
        """(N,) int, for each bilabial that starts within the curve, the frame of the smallest
        opening from MAX_LEAD_S before it to its end."""
        frames, last_s = [], (curve_mm.size - 1) / self.fps
        for span in self.bilabials:
            if span.start_s <= last_s:
                window = frame_range(span.start_s - MAX_LEAD_S, span.end_s, self.fps, curve_mm.size)
                frames.append(window.start + int(np.argmin(curve_mm[window])))
        return np.array(frames, dtype=np.int64)

    def seal_gaps_mm(self, curve_mm: np.ndarray) -> np.ndarray:
        """(N,) the smallest opening around each bilabial (see :meth:`seal_frames`), mm."""
        return curve_mm[self.seal_frames(curve_mm)]


def _vertices(array: np.ndarray, name: str) -> np.ndarray:
    """(T, V, 3) from (T, V, 3) or (T, V*3)."""
    return to_vertex_sequence(np.asarray(array), None, name)


def lip_opening_data(pred: np.ndarray, sets: FaceSets, fps: float, truth: np.ndarray | None = None,
                     template: np.ndarray | None = None, phonemes: Sequence | None = None) -> LipOpening:
    """The lip-opening curves (mm) of ``pred`` and ``truth`` ((T, V, 3) or (T, V*3) in metres, any
    lengths, the same V) and the bilabials of ``phonemes`` ((label, start_s, end_s) tuples).

    With ``template`` (V, 3), the subject's neutral mesh, head motion is removed first.

    Raises:
        PtalkerError: wrong shapes, different vertex counts, a bad rate or timeline.
    """
    fps = as_fps(fps)
    pred = _vertices(pred, "pred")
    if truth is not None:
        truth = _vertices(truth, "truth")
        if truth.shape[1] != pred.shape[1]:
            raise PtalkerError(f"truth: has {truth.shape[1]} vertices, pred {pred.shape[1]}; "
                               "compare a prediction with the ground truth of the same head topology")
    spans = check_spans(phonemes or [], "phonemes")
    return LipOpening(
        fps=float(fps), pred_mm=lip_gap(pred, sets, template) * METRES_TO_MM,
        truth_mm=None if truth is None else lip_gap(truth, sets, template) * METRES_TO_MM,
        phonemes=spans, bilabials=[s for s in spans if s.label in BILABIAL_SYMBOLS])


def _seal_summary(data: LipOpening) -> str:
    """'/p b m/ closed (< 1 mm): ground truth 9/9, prediction 7/9', or '' without bilabials."""
    parts = []
    for name, curve in (("ground truth", data.truth_mm), ("prediction", data.pred_mm)):
        if curve is not None and data.bilabials:
            gaps = data.seal_gaps_mm(curve)
            parts.append(f"{name} {int(np.sum(gaps < CLOSED_GAP_MM))}/{gaps.size}")
    return f"/p b m/ closed (< {CLOSED_GAP_MM:g} mm): " + ", ".join(parts) if parts else ""


def _draw_curves(ax: "Axes", data: LipOpening, legend_columns: int) -> None:
    """The opening curves, the closed threshold and the bilabial bands."""
    for i, span in enumerate(data.bilabials):
        ax.axvspan(span.start_s, span.end_s, color=ACCENT_COLOUR, alpha=0.15, lw=0,
                   label="/p b m/: lips must close" if i == 0 else None)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.axhline(CLOSED_GAP_MM, color="0.35", lw=0.9, ls="--", label=f"closed: < {CLOSED_GAP_MM:g} mm")
    curves = [("ground truth", data.truth_mm, TRUTH_COLOUR), ("prediction", data.pred_mm, PRED_COLOUR)]
    for name, curve, colour in curves:
        if curve is None:
            continue
        ax.plot(data.times_s(curve), curve, color=colour, lw=1.5, label=name)
        for at in data.seal_frames(curve):
            ax.plot(at / data.fps, curve[at], marker="o", ms=4.5, color=colour, mew=1.2, zorder=4,
                    mfc=colour if curve[at] < CLOSED_GAP_MM else "white")
    if data.bilabials:
        ax.plot([], [], ls="none", marker="o", ms=4.5, color="0.45", mfc="white", mew=1.2,
                label="lowest near /p b m/ (hollow: not closed)")
    ax.set_ylabel("lip opening (mm)")
    ax.legend(loc="upper right", ncols=legend_columns)
    ax.set_ylim(top=ax.get_ylim()[1] * (1.18 if legend_columns >= LEGEND_ENTRIES else 1.3))  # room for it


def _tick_step_s(duration_s: float) -> float:
    """Seconds between time ticks (:data:`TICK_STEPS_S`)."""
    return next(step for limit, step in TICK_STEPS_S if duration_s <= limit)


def plot_lip_opening(pred: np.ndarray, out_png: str | os.PathLike, sets: FaceSets, fps: float,
                     truth: np.ndarray | None = None, template: np.ndarray | None = None,
                     phonemes: Sequence | None = None, title: str | None = None,
                     words: Sequence | None = None) -> Path:
    """Plot the lip opening (mm) of ``pred`` and ``truth`` over time (see
    :func:`lip_opening_data` for the inputs) with the phoneme timeline ``phonemes`` under it and
    the ``words`` ((text, start_s, end_s) tuples) under that, when given. Markers sit at the
    smallest opening around each /p b m/: filled when the lips closed there, hollow when not.

    Returns ``out_png``; nothing is written when an input is wrong (PtalkerError).
    """
    out = check_out_png(out_png)
    data = lip_opening_data(pred, sets, fps, truth, template, phonemes)
    words = check_spans(words or [], "words")
    rows = [("curve", CURVE_HEIGHT_IN)] + [("phonemes", PHONEMES_HEIGHT_IN)] * bool(data.phonemes) \
        + [("words", WORDS_HEIGHT_IN)] * bool(words)
    width = clamp(MARGIN_WIDTH_IN + WIDTH_PER_S_IN * data.duration_s, MIN_WIDTH_IN, MAX_WIDTH_IN)
    with drawing(width, sum(h for _, h in rows) + TITLE_HEIGHT_IN) as fig:
        grid = fig.add_gridspec(len(rows), 1, height_ratios=[h for _, h in rows], hspace=0.02)
        ax = fig.add_subplot(grid[0])
        _draw_curves(ax, data, LEGEND_ENTRIES if width >= ONE_ROW_LEGEND_WIDTH_IN else 3)
        ax.set_xlim(0.0, data.duration_s)
        ax.set_xticks(np.arange(0.0, data.duration_s + 1e-9, _tick_step_s(data.duration_s)))
        lower = ax
        for row, (kind, _) in enumerate(rows[1:], start=1):
            lower = fig.add_subplot(grid[row], sharex=ax)
            spans = data.phonemes if kind == "phonemes" else words
            draw_spans(lower, spans, kind, BILABIAL_SYMBOLS, width - MARGIN_WIDTH_IN)
        for upper in fig.axes[:-1]:
            upper.tick_params(labelbottom=False)
        lower.set_xlabel("time (s)")
        fig.suptitle(title or "Lip opening", x=0.01, ha="left", fontweight="bold", fontsize=10)
        ax.set_title(_seal_summary(data), loc="left", fontsize=8.5)
        return save_figure(fig, out)
