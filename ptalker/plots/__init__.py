"""Plots as PNG files (matplotlib, imported only when a plot is drawn).

- :func:`plot_lip_opening`: lip opening over time, prediction against ground truth, over the
  phoneme timeline (:func:`lip_opening_data` computes what it draws; :func:`phoneme_spans` and
  :func:`word_spans` turn a corpus alignment into its timeline).
- :func:`plot_lve_bars`: per-sequence LVE of one or several ``scores.json`` side by side
  (:func:`lve_table` computes what it draws).
- :func:`plot_training_curves`: loss terms, validation LVE and learning rate of a training run
  (:func:`read_training_log` parses the CSV logs).

Every plot returns the path it wrote, writes atomically (a failed plot leaves an existing file
as it was) and raises :class:`ptalker.errors.PtalkerError` on wrong input. Names are imported
from their modules on first use, so that plotting a training log does not import torch (the
lip-opening plot reads the synthetic corpus's constants, whose module does).
"""

_LAZY = {
    "LipOpening": "lip_opening", "lip_opening_data": "lip_opening", "plot_lip_opening": "lip_opening",
    "LveTable": "lve_bars", "lve_table": "lve_bars", "plot_lve_bars": "lve_bars",
    "Span": "timeline", "phoneme_spans": "timeline", "word_spans": "timeline",
    "TrainingLog": "training_curves", "ValidationLog": "training_curves",
    "plot_training_curves": "training_curves", "read_training_log": "training_curves",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"ptalker.plots.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ptalker.plots' has no attribute {name!r}")
