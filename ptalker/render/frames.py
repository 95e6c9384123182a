"""Frame streams for a video: one view of a sequence, or prediction and ground truth side by side."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ptalker.constants import METRES_TO_MM
from ptalker.render.backends import Renderer
from ptalker.render.colors import ERROR_CMAP, CompareOverlay, error_colors, nice_ceiling

ERROR_SCALE_PERCENTILE = 99.0
"""Without an explicit top, the colour scale ends at this percentile of all errors (rounded up)."""
MIN_ERROR_SCALE_MM = 0.1


def sequence_frames(renderer: Renderer, vertices: np.ndarray) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 images of (T, V, 3) ``vertices``, coloured as the renderer's settings say."""
    for index, frame in enumerate(vertices):
        yield renderer.render(frame, renderer.settings.colors_at(index))


def vertex_errors_mm(prediction: np.ndarray, truth: np.ndarray, units_to_mm: float = METRES_TO_MM) -> np.ndarray:
    """(T, V) euclidean distance per vertex in millimetres between two (T, V, 3) sequences."""
    return np.linalg.norm(prediction - truth, axis=-1) * units_to_mm


def error_scale_mm(errors_mm: np.ndarray) -> float:
    """Top of the colour scale for (T, V) ``errors_mm``: a round number near their high percentile."""
    high = float(np.percentile(errors_mm, ERROR_SCALE_PERCENTILE)) if errors_mm.size else 0.0
    return nice_ceiling(max(high, MIN_ERROR_SCALE_MM))


def compare_frames(renderer: Renderer, prediction: np.ndarray, truth: np.ndarray, vmax_mm: float | None = None,
                   units_to_mm: float = METRES_TO_MM, cmap: str = ERROR_CMAP) -> Iterator[np.ndarray]:
    """(H, 2W, 3) uint8 frames: ``prediction`` coloured by its per-vertex error, ``truth`` in plain clay.

    Args:
        renderer: renders both (one topology, one camera framing both sequences).
        prediction, truth: (T, V, 3) sequences of equal length.
        vmax_mm: error shown with the top colour; None picks it from the errors
            (:func:`error_scale_mm`).
        units_to_mm: millimetres per vertex unit (1000 for metres, as VOCASET).
    """
    errors_mm = vertex_errors_mm(prediction, truth, units_to_mm)  # (T, V)
    vmax_mm = error_scale_mm(errors_mm) if vmax_mm is None else vmax_mm
    settings = renderer.settings
    overlay = CompareOverlay(settings.width, settings.height, vmax_mm, cmap)
    for index in range(len(prediction)):
        left = renderer.render(prediction[index], error_colors(errors_mm[index], vmax_mm, cmap))
        right = renderer.render(truth[index], settings.colors_at(index))
        yield overlay.apply(np.concatenate([left, right], axis=1))  # (H, 2W, 3)
