"""Timelines of labelled spans (phonemes, words) and the strip that draws them under a plot.

A timeline is a list of :class:`Span` (label, start_s, end_s); plain 3-tuples work as well.
:func:`phoneme_spans` and :func:`word_spans` build them from a synthetic corpus alignment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Collection, NamedTuple, Sequence

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.plots.figure import ACCENT_COLOUR

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ptalker.audio.timeline import Speech

PAUSE_LABELS = frozenset({"", "sil", "sp", "spn"})
"""Labels of silence (besides espeak's '_...' pauses): drawn as gaps."""
PAUSE_PREFIX = "_"
POINTS_PER_INCH = 72.0
CHAR_WIDTH_EM = 0.66
"""Rough width of a character in em (DejaVu Sans), to keep labels from overlapping."""
LABEL_PAD_PT = 1.5
PHONEME_FONT_PT, SMALL_FONT_PT, WORD_FONT_PT = 8.0, 6.5, 8.5
DENSE_POINTS_PER_S = 120.0
"""Below this many points per second of timeline the strips use SMALL_FONT_PT."""
SHADES = ("#ececec", "#dcdcdc")
"""Alternating fills of neighbouring spans."""
HIGHLIGHT_FILL = "#f5b5b5"


class Span(NamedTuple):
    """A labelled stretch of time: a phoneme or a word."""

    label: str
    start_s: float
    end_s: float


def phoneme_spans(timeline: "Speech") -> list[Span]:
    """The phonemes (pauses included) of a :class:`Speech`, or of anything holding one as ``.speech``
    (a corpus alignment), as spans."""
    speech = getattr(timeline, "speech", timeline)
    return [Span(p.symbol, p.start_s, p.end_s) for p in speech.phonemes]


def word_spans(timeline: "Speech") -> list[Span]:
    """The words of a :class:`Speech` (or of what holds one as ``.speech``) as spans."""
    speech = getattr(timeline, "speech", timeline)
    return [Span(w.text, w.start_s, w.end_s) for w in speech.words]


def check_spans(spans: Sequence, name: str) -> list[Span]:
    """``spans`` as a list of :class:`Span`; PtalkerError unless each is (label, start_s, end_s)
    with finite times, 0 <= start_s <= end_s."""
    if isinstance(spans, (str, bytes)) or not isinstance(spans, Sequence):
        raise PtalkerError(f"{name}: expected a list of (label, start_s, end_s) tuples, got "
                           f"{type(spans).__name__}; build it with "
                           f"ptalker.plots.{name[:-1]}_spans(alignment)")
    checked = []
    for i, span in enumerate(spans):
        try:
            label, start, end = span
            span = Span(str(label), float(start), float(end))
        except (TypeError, ValueError):
            raise PtalkerError(f"{name}[{i}]: expected a (label, start_s, end_s) tuple, got {span!r}; "
                               f"build the list with ptalker.plots.{name[:-1]}_spans(alignment)") from None
        if not (np.isfinite([span.start_s, span.end_s]).all() and 0 <= span.start_s <= span.end_s):
            raise PtalkerError(f"{name}[{i}]: times {span.start_s}..{span.end_s} s; expected "
                               "0 <= start_s <= end_s in seconds")
        checked.append(span)
    return checked


def is_pause(label: str) -> bool:
    return label.startswith(PAUSE_PREFIX) or label.lower() in PAUSE_LABELS


def _place_labels(spans: Sequence[Span], marked: Sequence[bool], size_pt: float,
                  points_per_s: float) -> list[bool]:
    """Which spans get their label: marked ones first, then the rest in order, each only where
    its text (centred on the span) overlaps no label placed before it."""
    placed: list[tuple[float, float]] = []
    shown = [False] * len(spans)
    for i in sorted(range(len(spans)), key=lambda i: not marked[i]):
        half_s = (len(spans[i].label) * CHAR_WIDTH_EM * size_pt + LABEL_PAD_PT) / points_per_s / 2
        centre = 0.5 * (spans[i].start_s + spans[i].end_s)
        low, high = centre - half_s, centre + half_s
        if all(high <= a or low >= b for a, b in placed):
            placed.append((low, high))
            shown[i] = True
    return shown


def draw_spans(ax: "Axes", spans: Sequence[Span], kind: str, highlight: Collection[str],
               axis_width_in: float) -> None:
    """Draw ``spans`` as boxes with centred labels on ``ax`` (x in seconds, already limited).

    ``kind`` ('phonemes' or 'words') names the strip; spans labelled in ``highlight`` are filled
    red with bold labels. Labels that would overlap one placed before are left out (highlighted
    ones are placed first); ``axis_width_in`` is the strip's width in inches.
    """
    start, end = ax.get_xlim()
    points_per_s = axis_width_in * POINTS_PER_INCH / max(end - start, 1e-9)
    size = (PHONEME_FONT_PT if kind == "phonemes" else WORD_FONT_PT) \
        if points_per_s >= DENSE_POINTS_PER_S else SMALL_FONT_PT
    spans = [s for s in spans if s.end_s > s.start_s and not is_pause(s.label)]
    marked = [s.label in highlight for s in spans]
    labelled = _place_labels(spans, marked, size, points_per_s)
    for i, (span, mark, shown) in enumerate(zip(spans, marked, labelled)):
        ax.axvspan(span.start_s, span.end_s, ymin=0.08, ymax=0.92, lw=0.5, ec="white",
                   fc=HIGHLIGHT_FILL if mark else SHADES[i % 2] if kind == "phonemes" else "none")
        if shown:
            ax.text(0.5 * (span.start_s + span.end_s), 0.5, span.label, ha="center", va="center",
                    fontsize=size, clip_on=True, color=ACCENT_COLOUR if mark else "0.1",
                    fontweight="bold" if mark else "normal",
                    fontstyle="italic" if kind == "words" else "normal")
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    ax.set_ylabel(kind, rotation=0, ha="right", va="center", fontsize=8)
    ax.grid(False)
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
