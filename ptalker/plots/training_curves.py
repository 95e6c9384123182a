"""Training curves from the CSV logs ``ptalker train`` writes.

``RUN/train_log.csv`` has a row per step: epoch, step, lr, style (which style path the batch
took) and one column per loss term, 'total' last. A resumed run that logs a new term rewrites
the file under the union of the columns, so older rows have empty cells there (read as NaN),
and steps logged in an epoch that did not finish are logged again: the last row of a step wins.
``RUN/val_log.csv`` has a row per epoch: epoch, step, val_lve.

The plot has one panel per loss term (their scales differ by orders of magnitude; log scale
where the values are positive and span a wide range), every step faint and a centred moving
average on top, then the validation LVE per epoch with the best epoch marked (and a dotted line
at its step in every panel), then the learning rate.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.plots.figure import ACCENT_COLOUR, PRED_COLOUR, check_out_png, drawing, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

RunInput = Union[str, os.PathLike, tuple]
TRAIN_LOG, VAL_LOG = "train_log.csv", "val_log.csv"
STEP, EPOCH, LR, STYLE, TOTAL, VAL_LVE = "step", "epoch", "lr", "style", "total", "val_lve"
NOT_TERMS = frozenset({STEP, EPOCH, LR, STYLE})
SMOOTH_FRACTION = 1 / 40
"""The moving average spans this share of the logged steps (at least one step)."""
LOG_SCALE_RATIO = 10.0
"""A positive curve whose max / min exceeds this is drawn on a log scale."""
LOG_LABEL_DECADES = 2.5
"""Log axes spanning at most this many decades get ticks at 1, 2 and 5 per decade."""
PANEL_COLUMNS, PANEL_WIDTH_IN, PANEL_HEIGHT_IN, TITLE_HEIGHT_IN = 4, 3.5, 2.4, 0.5
LR_COLOUR = "#2ca02c"


@dataclass
class ValidationLog:
    """``val_log.csv``: one row per epoch."""

    epochs: np.ndarray
    """(E,) epoch numbers."""
    steps: np.ndarray
    """(E,) the step at the end of each epoch."""
    lve: np.ndarray
    """(E,) validation LVE (NaN without a val split)."""

    @property
    def best(self) -> int | None:
        """Index of the epoch with the lowest LVE (the first of ties), None when all are NaN."""
        return None if np.all(np.isnan(self.lve)) else int(np.nanargmin(self.lve))


@dataclass
class TrainingLog:
    """A training run's logs, one entry per step, ordered by step."""

    source: str
    """The run folder's name."""
    steps: np.ndarray
    """(N,) step numbers, ascending, unique."""
    epochs: np.ndarray
    """(N,) epoch of each step (NaN where not logged)."""
    lr: np.ndarray | None
    """(N,) learning rate, or None when the log has no 'lr' column."""
    terms: dict[str, np.ndarray]
    """Loss term -> (N,) values in log order ('total' last); NaN where a row lacks the term."""
    validation: ValidationLog | None


def _read_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict]]:
    """(header, rows) of a CSV file; PtalkerError when missing, empty or lacking ``required``."""
    if not path.is_file():
        raise PtalkerError(f"{path}: file not found; give a run folder of 'ptalker train' (with "
                           f"{TRAIN_LOG}) or the CSV files themselves")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    missing = [name for name in required if name not in header]
    if missing:
        found = ", ".join(header) or "nothing"
        raise PtalkerError(f"{path}: no column(s) {', '.join(missing)} (found: {found});"
                           f" expected the {path.name} that 'ptalker train' writes")
    if not rows:
        raise PtalkerError(f"{path}: has a header but no rows; plot after the first logged step")
    return header, rows


def _numbers(rows: list[dict], column: str) -> np.ndarray | None:
    """(N,) float values of a column (empty cells NaN), or None when it holds text."""
    try:
        return np.array([float(row.get(column) or "nan") for row in rows])
    except ValueError:
        return None


def _last_per_step(rows: list[dict], path: Path) -> tuple[np.ndarray, list[dict]]:
    """(steps (N,) ascending, their rows): the last logged row of each step (a resumed run logs
    again the steps of the epoch it did not finish)."""
    by_step = {}
    for i, row in enumerate(rows):
        try:
            by_step[int(float(row[STEP]))] = row
        except (TypeError, ValueError):
            raise PtalkerError(f"{path}: row {i + 2} has step {row[STEP]!r}, expected an integer; "
                               "the file is damaged, re-run or repair it") from None
    steps = sorted(by_step)
    return np.array(steps, dtype=np.int64), [by_step[step] for step in steps]


def _read_validation(path: Path) -> ValidationLog:
    _, rows = _read_csv(path, (EPOCH, STEP, VAL_LVE))
    steps, rows = _last_per_step(rows, path)
    epochs, lve = _numbers(rows, EPOCH), _numbers(rows, VAL_LVE)
    if epochs is None or lve is None:
        raise PtalkerError(f"{path}: column {EPOCH if epochs is None else VAL_LVE} holds text; expected "
                           "numbers (or nan)")
    return ValidationLog(epochs=epochs, steps=steps, lve=lve)


def _log_paths(run: RunInput) -> tuple[Path, Path | None]:
    """(train CSV, val CSV or None) of a run folder or a (train, val) pair."""
    if isinstance(run, tuple):
        if len(run) != 2:
            raise PtalkerError(f"run: expected a run folder or a ({TRAIN_LOG}, {VAL_LOG} or None) pair, "
                               f"got a tuple of {len(run)}")
        return Path(run[0]), None if run[1] is None else Path(run[1])
    folder = Path(run)
    if not folder.is_dir():
        raise PtalkerError(f"run: {folder} is not a folder; give the OUT folder of 'ptalker train' "
                           f"(holding {TRAIN_LOG}) or a ({TRAIN_LOG}, {VAL_LOG}) pair")
    val = folder / VAL_LOG
    return folder / TRAIN_LOG, val if val.is_file() else None


def read_training_log(run: RunInput) -> TrainingLog:
    """Parse a run's logs: ``run`` is the run folder (its val_log.csv is optional) or a pair
    (train_log.csv, val_log.csv or None).

    Raises:
        PtalkerError: a missing file, no 'step' column, no rows, or a damaged step number.
    """
    train_path, val_path = _log_paths(run)
    header, rows = _read_csv(train_path, (STEP,))
    steps, rows = _last_per_step(rows, train_path)
    columns = {name: _numbers(rows, name) for name in header if name not in NOT_TERMS}
    terms = {name: values for name, values in columns.items() if values is not None and name != TOTAL}
    if columns.get(TOTAL) is not None:
        terms[TOTAL] = columns[TOTAL]
    if not terms:
        raise PtalkerError(f"{train_path}: no numeric loss column besides {', '.join(sorted(NOT_TERMS))}; "
                           f"expected the {TRAIN_LOG} that 'ptalker train' writes")
    epochs = _numbers(rows, EPOCH) if EPOCH in header else None
    return TrainingLog(source=train_path.resolve().parent.name, steps=steps,
                       epochs=np.full(steps.size, np.nan) if epochs is None else epochs,
                       lr=_numbers(rows, LR) if LR in header else None, terms=terms,
                       validation=None if val_path is None else _read_validation(val_path))


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """(N,) centred moving average of ``values`` (N,) over ``window`` samples, ignoring NaN
    (fewer samples at the ends; NaN where a window holds none)."""
    valid = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(valid, values, 0.0))])  # (N + 1,)
    counts = np.concatenate([[0], np.cumsum(valid)])  # (N + 1,)
    index = np.arange(values.size)
    low = np.clip(index - (window - 1) // 2, 0, values.size)
    high = np.clip(index + window // 2 + 1, 0, values.size)
    count = counts[high] - counts[low]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (sums[high] - sums[low]) / np.maximum(count, 1), np.nan)


def _wants_log_scale(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() > LOG_SCALE_RATIO


def _log_axis(ax: "Axes", values: np.ndarray) -> None:
    """Log y axis labelled 1, 2, 5 per decade over narrow ranges, decades only over wide ones."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    finite = values[np.isfinite(values)]
    if np.log10(finite.max() / finite.min()) <= LOG_LABEL_DECADES:
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())  # minor labels crowd a small panel


def _draw_term(ax: "Axes", log: TrainingLog, name: str, window: int) -> None:
    values = log.terms[name]
    ax.plot(log.steps, values, color=PRED_COLOUR, lw=0.6, alpha=0.25)
    ax.plot(log.steps, moving_average(values, window), color=PRED_COLOUR, lw=1.5)
    if _wants_log_scale(values):
        _log_axis(ax, values)
    ax.set_title(name, loc="left", fontweight="bold" if name == TOTAL else "normal")


def _draw_validation(ax: "Axes", validation: ValidationLog) -> None:
    ax.plot(validation.steps, validation.lve, color="0.2", lw=1.2, marker="o", ms=3)
    best = validation.best
    if best is not None:
        ax.plot(validation.steps[best], validation.lve[best], marker="*", ms=13, color=ACCENT_COLOUR,
                ls="none", label=f"best: epoch {validation.epochs[best]:g}, {validation.lve[best]:.3g}")
        ax.legend(loc="upper right")
    ax.set_title("val LVE (mesh units\u00b2: m\u00b2 for metres)", loc="left")


def _draw_lr(ax: "Axes", log: TrainingLog) -> None:
    ax.plot(log.steps, log.lr, color=LR_COLOUR, lw=1.3)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    ax.set_title("learning rate", loc="left")


def _suptitle(log: TrainingLog, window: int) -> str:
    epochs = log.epochs[np.isfinite(log.epochs)]
    span = f", {int(epochs.max())} epochs" if epochs.size else ""
    best = "" if log.validation is None or log.validation.best is None else "; dotted: best val epoch"
    return (f"Training run {log.source}: {int(log.steps[-1])} steps{span}  (faint: every step; line: "
            f"moving average over {window} steps{best})")


def plot_training_curves(run: RunInput, out_png: str | os.PathLike, title: str | None = None) -> Path:
    """Small multiples of a training run's logs (see the module docstring); ``run`` as in
    :func:`read_training_log`. Returns ``out_png``; nothing is written on wrong input."""
    out = check_out_png(out_png)
    log = read_training_log(run)
    window = max(1, round(log.steps.size * SMOOTH_FRACTION))
    has_val = log.validation is not None and log.validation.best is not None
    terms = sorted(log.terms, key=lambda name: name != TOTAL)  # total first
    panels = [*(["val"] * has_val), *terms, *(["lr"] * (log.lr is not None))]
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    with drawing(columns * PANEL_WIDTH_IN, rows * PANEL_HEIGHT_IN + TITLE_HEIGHT_IN) as fig:
        axes = fig.subplots(rows, columns, sharex=True, squeeze=False).ravel()
        for ax, panel in zip(axes, panels):
            if panel == "val":
                _draw_validation(ax, log.validation)
            elif panel == "lr":
                _draw_lr(ax, log)
            else:
                _draw_term(ax, log, panel, window)
            if has_val:
                ax.axvline(log.validation.steps[log.validation.best], color=ACCENT_COLOUR, lw=0.8,
                           ls=":", alpha=0.8)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax in axes[max(0, len(panels) - columns):len(panels)]:
            ax.set_xlabel("step")
            ax.tick_params(labelbottom=True)
        fig.suptitle(title or _suptitle(log, window), x=0.01, ha="left", fontsize=10)
        return save_figure(fig, out)
