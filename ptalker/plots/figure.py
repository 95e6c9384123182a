"""Shared figure handling for the plots: the look, lazy matplotlib, atomic PNG writing.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot (no global state, no
GUI backend); saving a PNG goes through the Agg canvas. matplotlib is imported only when a plot
is drawn, so the rest of ptalker works without it.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
"""Pixels per inch of the written PNGs."""
PNG_SUFFIX = ".png"
STYLE = {
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "0.8",
}
"""rcParams applied while a plot is drawn and saved (the global settings are left alone)."""
TRUTH_COLOUR = "0.15"
PRED_COLOUR = "#1f77b4"
ACCENT_COLOUR = "#d62728"
"""Highlights: bilabials, the best epoch."""
METHOD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                  "#bcbd22", "#7f7f7f")
SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3"
                                           "\u2074\u2075\u2076\u2077\u2078\u2079")


def check_out_png(out_png: str | os.PathLike) -> Path:
    """``out_png`` as a Path; raise PtalkerError unless it names a .png file (not a folder)."""
    path = Path(out_png)
    if path.suffix.lower() != PNG_SUFFIX:
        raise PtalkerError(f"out_png: {path} does not end in {PNG_SUFFIX}; plots are written as PNG, "
                           f"name the output like {path.with_suffix(PNG_SUFFIX).name}")
    if path.is_dir():
        raise PtalkerError(f"out_png: {path} is a folder; give a file name such as {path / 'plot.png'}")
    return path


@contextlib.contextmanager
def drawing(width_in: float, height_in: float) -> Iterator["Figure"]:
    """A new constrained-layout figure of ``width_in`` x ``height_in`` inches, drawn and saved
    under :data:`STYLE`.

    Raises:
        PtalkerError: matplotlib is not installed.
    """
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise PtalkerError("plots need matplotlib, which is not installed; install it with "
                           "'pip install matplotlib'") from None
    with matplotlib.rc_context(STYLE):
        yield Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def save_figure(figure: "Figure", out_png: Path) -> Path:
    """Write ``figure`` to ``out_png`` as PNG atomically (a failed save leaves any old file)."""
    with atomic_open(out_png, "wb") as handle:
        figure.savefig(handle, format="png", dpi=DPI)
    return out_png


def clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def decimal_exponent(value: float) -> int:
    """The power of ten that brings ``value`` into [1, 10) (0 for 0 or non-finite values)."""
    if not math.isfinite(value) or value == 0:
        return 0
    return math.floor(math.log10(abs(value)))


def times_ten_to(exponent: int) -> str:
    """'×10⁻⁵' for -5; '' for 0."""
    return "" if exponent == 0 else "\u00d710" + str(exponent).translate(SUPERSCRIPT)


def pretty_unit(unit: str) -> str:
    """'m^2' -> 'm²' (and any '^N' to superscript digits)."""
    head, _, power = unit.partition("^")
    return head + power.translate(SUPERSCRIPT) if power.lstrip("-").isdigit() else unit
