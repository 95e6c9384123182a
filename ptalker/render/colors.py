"""Per-vertex error as colours, and the labels and colour bar drawn over a comparison video.

Colours come from a perceptually ordered matplotlib colour map through a 256-entry table;
matplotlib is imported only when a colour map or an overlay is first needed.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ptalker.errors import PtalkerError

ERROR_CMAP = "YlOrRd"
"""Pale yellow (no error, close to the clay colour, so the face's shape stays readable) to dark
red: ColorBrewer's sequential map, ordered in lightness."""
LUT_SIZE = 256
LABEL_FONT_PX = 0.045
"""Label text height as a fraction of the frame height."""
PIXELS_PER_POINT = 72.0
"""The overlay figure is drawn at one pixel per point: font sizes in points are pixels."""


def _matplotlib_figure():
    """matplotlib's Figure class and its Agg canvas (a clear error when matplotlib is missing)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise PtalkerError(f"error colours: matplotlib is not installed ({err}); pip install matplotlib") from None
    return Figure, FigureCanvasAgg


@functools.lru_cache(maxsize=8)
def color_table(cmap: str = ERROR_CMAP) -> np.ndarray:
    """(LUT_SIZE, 3) float32 sRGB colours of the matplotlib colour map ``cmap``, low to high.

    Raises:
        PtalkerError: no colour map of that name.
    """
    _matplotlib_figure()
    import matplotlib

    if cmap not in matplotlib.colormaps:
        raise PtalkerError(f"cmap: no matplotlib colour map named {cmap!r}; use e.g. {ERROR_CMAP!r} or 'viridis'")
    return matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, LUT_SIZE))[:, :3].astype(np.float32)


def error_colors(errors: np.ndarray, vmax: float, cmap: str = ERROR_CMAP) -> np.ndarray:
    """Colours for per-vertex ``errors``: 0 maps to the low end of ``cmap``, ``vmax`` and above to the top.

    Args:
        errors: (V,) or (T, V) non-negative errors (any unit; ``vmax`` in the same one).
        vmax: the error shown with the top colour (> 0).

    Returns:
        (V, 3) or (T, V, 3) float32 sRGB colours in [0, 1].
    """
    if not vmax > 0:
        raise PtalkerError(f"vmax: expected a positive error for the top of the colour scale, got {vmax}")
    scaled = np.clip(np.nan_to_num(np.asarray(errors, dtype=np.float32)) / vmax, 0.0, 1.0)
    return color_table(cmap)[np.rint(scaled * (LUT_SIZE - 1)).astype(np.intp)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value * (1 - 1e-9))


class CompareOverlay:
    """Labels over both halves of a side-by-side frame and a colour bar on the prediction half.

    Drawn once with matplotlib as an RGBA image; :meth:`apply` alpha-blends it onto each frame,
    touching only the pixels the overlay covers.
    """

    def __init__(self, width: int, height: int, vmax_mm: float, cmap: str = ERROR_CMAP,
                 labels: tuple[str, str] = ("prediction", "ground truth"), text_rgb: tuple = (0.1, 0.1, 0.1)) -> None:
        """``width`` x ``height``: one half (one rendered view); the frames are (height, 2 * width, 3)."""
        rgba = self._draw(width, height, vmax_mm, cmap, labels, text_rgb)  # (H, 2W, 4) float32
        alpha = rgba[..., 3]
        self._where = np.nonzero(alpha > 0)  # pixels the overlay touches
        self._alpha = alpha[self._where][:, None]  # (N, 1)
        self._rgb = rgba[..., :3][self._where] * 255.0  # (N, 3)
        self.shape = (height, 2 * width)

    @staticmethod
    def _draw(width: int, height: int, vmax_mm: float, cmap: str, labels: tuple[str, str],
              text_rgb: tuple) -> np.ndarray:
        """(height, 2 * width, 4) float32 RGBA in [0, 1]: the labels and the colour bar."""
        Figure, FigureCanvasAgg = _matplotlib_figure()
        import matplotlib.colorbar
        import matplotlib.colors

        figure = Figure(figsize=(2 * width / PIXELS_PER_POINT, height / PIXELS_PER_POINT), dpi=PIXELS_PER_POINT)
        figure.patch.set_alpha(0.0)
        font = max(LABEL_FONT_PX * height, 7.0)
        for index, label in enumerate(labels):
            figure.text(0.25 + 0.5 * index, 0.97, label, ha="center", va="top", fontsize=font, color=text_rgb)
        bar = figure.add_axes((0.035, 0.25, 0.018, 0.5))
        colorbar = matplotlib.colorbar.Colorbar(bar, cmap=matplotlib.colormaps[cmap],
                                                norm=matplotlib.colors.Normalize(0.0, vmax_mm))
        colorbar.ax.tick_params(labelsize=0.8 * font, colors=text_rgb, right=True)
        colorbar.outline.set_visible(False)
        bar.set_title("mm", fontsize=0.8 * font, color=text_rgb, pad=0.5 * font)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        image = np.asarray(canvas.buffer_rgba(), dtype=np.float32) / 255.0  # (H', W', 4)
        return _fit(image, height, 2 * width)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Blend the overlay onto a (H, 2W, 3) uint8 ``frame`` (in place) and return it."""
        if frame.shape[:2] != self.shape:
            raise ValueError(f"frame of shape {frame.shape}, the overlay is {self.shape}")
        under = frame[self._where].astype(np.float32)  # (N, 3)
        frame[self._where] = np.rint(under + self._alpha * (self._rgb - under)).astype(np.uint8)
        return frame


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or zero-pad (H', W', C) ``image`` to (height, width, C) (matplotlib may round sizes)."""
    out = np.zeros((height, width, image.shape[2]), dtype=image.dtype)
    rows, cols = min(height, image.shape[0]), min(width, image.shape[1])
    out[:rows, :cols] = image[:rows, :cols]
    return out
