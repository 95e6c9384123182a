"""Per-sequence LVE bars of one or several ``scores.json`` (``ptalker evaluate``), side by side.

The bars are the field-compatible LVE of each sequence alone (``sequences[i].lve``); the dashed
lines are each method's pooled LVE (mean over all frames of all sequences, the number papers
report), so a long sequence weighs more in the line than its bar suggests. Values are drawn in
the scores' own unit (``units.lve``: m^2 for meshes in metres) times a power of ten, as papers
print them; for metres a right-hand axis gives the same values in mm^2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.plots.figure import (
    METHOD_COLOURS,
    check_out_png,
    clamp,
    decimal_exponent,
    drawing,
    pretty_unit,
    save_figure,
    times_ten_to,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ScoresInput = Union[Mapping, str, os.PathLike]
"""A scores.json dict, an object with ``to_dict()`` giving one (a ScoreReport), or the file's path."""
METRE_SQUARED = "m^2"
MM2_PER_M2 = 1e6
SINGLE_METHOD = "scores"
PROTOCOL_KEYS = ("dataset", "split")
WIDTH_PER_BAR_IN, MIN_WIDTH_IN, MAX_WIDTH_IN, HEIGHT_IN = 0.18, 7.0, 30.0, 4.6
MAX_LABELS = 120
"""With more sequences than this, only every n-th bar is labelled."""


def load_scores(scores: ScoresInput, what: str) -> dict:
    """The scores.json dict of ``scores`` (a dict, a ScoreReport or a path), checked.

    Raises:
        PtalkerError: unreadable file, or no per-sequence entries with a name and an lve.
    """
    if hasattr(scores, "to_dict"):  # a ScoreReport
        scores = scores.to_dict()
    elif isinstance(scores, (str, os.PathLike)):
        path, what = Path(scores), str(scores)
        if not path.is_file():
            raise PtalkerError(f"{path}: file not found; give the scores.json that 'ptalker evaluate' writes")
        try:
            scores = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise PtalkerError(f"{path}: not valid JSON ({err}); re-create it with "
                               "'ptalker evaluate'") from None
    rows = scores.get("sequences") if isinstance(scores, Mapping) else None
    if not rows or not isinstance(rows, list):
        raise PtalkerError(f"{what}: no per-sequence entries ('sequences' list); expected the scores.json "
                           "that 'ptalker evaluate' writes")
    for i, row in enumerate(rows):
        if not (isinstance(row, Mapping) and isinstance(row.get("name"), str)
                and isinstance(row.get("lve"), (int, float))):
            raise PtalkerError(f"{what}: sequences[{i}] has no 'name' and numeric 'lve'; expected the "
                               "scores.json that 'ptalker evaluate' writes")
    return dict(scores)


def _label(row: Mapping) -> str:
    """A sequence's bar label: its name, and its conditioning subject when it has one."""
    return row["name"] if row.get("condition") is None else f"{row['name']} ({row['condition']})"


@dataclass
class LveTable:
    """What :func:`plot_lve_bars` draws: M methods over N sequences, sorted by the first
    method's LVE (largest first)."""

    methods: list[str]
    sequences: list[str]
    lve: np.ndarray
    """(M, N) per-sequence LVE in the scores' unit; NaN where a method lacks the sequence."""
    pooled: np.ndarray
    """(M,) pooled LVE (NaN when a scores dict has none)."""
    pooled_sqrt_mm: np.ndarray
    """(M,) sqrt of the pooled LVE in mm (``lve_sqrt_mm``; NaN when not in real units)."""
    unit: str
    """``units.lve`` of the scores ('m^2', ...), '' when they do not say."""
    protocol: dict


def _group(scores: Mapping, group: str) -> dict:
    """``scores[group]`` ('units', 'protocol') as a dict, {} when missing or not a mapping."""
    value = scores.get(group)
    return dict(value) if isinstance(value, Mapping) else {}


def _check_comparable(loaded: dict[str, dict]) -> None:
    """PtalkerError unless every scores dict has the same LVE unit, data set and split."""
    first_name, first = next(iter(loaded.items()))
    keys = [("units", "lve"), *(("protocol", key) for key in PROTOCOL_KEYS)]
    for name, scores in loaded.items():
        for group, key in keys:
            value, expected = _group(scores, group).get(key), _group(first, group).get(key)
            if value != expected:
                raise PtalkerError(f"{name}: {group}.{key} is {value!r} but {first_name}'s is {expected!r}; "
                                   "compare scores of the same data set and split, in the same unit")


def _metric(loaded: dict[str, dict], key: str) -> np.ndarray:
    """(M,) a pooled metric of each scores dict, NaN where it is missing or null."""
    return np.array([float(s[key]) if isinstance(s.get(key), (int, float)) else np.nan
                     for s in loaded.values()])


def _is_methods(scores: object) -> bool:
    """True for a {method name: scores} mapping (no 'sequences' key; every value scores-like)."""
    return isinstance(scores, Mapping) and "sequences" not in scores and all(
        isinstance(value, (Mapping, str, os.PathLike)) or hasattr(value, "to_dict") for value in scores.values())


def lve_table(scores: ScoresInput | Mapping[str, ScoresInput]) -> LveTable:
    """The :class:`LveTable` of one scores dict/path, or of {method name: scores} side by side.

    Raises:
        PtalkerError: unreadable or incomplete scores, or methods scored differently.
    """
    if _is_methods(scores):
        if not scores:
            raise PtalkerError("scores: got an empty {method: scores} mapping; give at least one scores.json")
        loaded = {str(name): load_scores(value, str(name)) for name, value in scores.items()}
    else:
        loaded = {SINGLE_METHOD: load_scores(scores, "scores")}
    _check_comparable(loaded)
    per_method = [{_label(row): float(row["lve"]) for row in s["sequences"]} for s in loaded.values()]
    labels = list(dict.fromkeys(label for rows in per_method for label in rows))
    lve = np.array([[rows.get(label, np.nan) for label in labels] for rows in per_method])  # (M, N)
    order = np.argsort(-np.nan_to_num(lve[0], nan=-np.inf), kind="stable")  # largest first, missing last
    first = next(iter(loaded.values()))
    return LveTable(methods=list(loaded), sequences=[labels[i] for i in order], lve=lve[:, order],
                    pooled=_metric(loaded, "lve"), pooled_sqrt_mm=_metric(loaded, "lve_sqrt_mm"),
                    unit=str(_group(first, "units").get("lve", "")), protocol=_group(first, "protocol"))


def _pooled_label(table: LveTable, m: int, exponent: int) -> str:
    """'reference pooled: 5.31 (√ 7.29 mm)'."""
    name = "pooled over all frames" if table.methods == [SINGLE_METHOD] else f"{table.methods[m]} pooled"
    sqrt_mm = table.pooled_sqrt_mm[m]
    root = f" (\u221a {sqrt_mm:.2f} mm)" if np.isfinite(sqrt_mm) else ""
    return f"{name}: {table.pooled[m] / 10.0 ** exponent:.2f}{root}"


def _draw_bars(ax: "Axes", table: LveTable, exponent: int) -> None:
    """Grouped bars, one colour per method, and each method's pooled value as a dashed line."""
    count = len(table.methods)
    width = 0.8 / count
    positions = np.arange(len(table.sequences))  # (N,)
    for m, method in enumerate(table.methods):
        colour = METHOD_COLOURS[m % len(METHOD_COLOURS)]
        ax.bar(positions + (m - (count - 1) / 2) * width, table.lve[m] / 10.0 ** exponent, width,
               color=colour, alpha=0.85, label="per sequence" if count == 1 else method)
        if np.isfinite(table.pooled[m]):
            ax.axhline(table.pooled[m] / 10.0 ** exponent, color=colour, lw=1.3, ls="--",
                       label=_pooled_label(table, m, exponent))
    step = int(np.ceil(len(positions) / MAX_LABELS))
    ax.set_xticks(positions[::step], table.sequences[::step], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(positions) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper right")


def _exponent(table: LveTable) -> int:
    """The power of ten the axis is drawn in: that of the largest pooled LVE (else bar)."""
    pooled, bars = table.pooled[np.isfinite(table.pooled)], table.lve[np.isfinite(table.lve)]
    values = pooled if pooled.size else bars
    return decimal_exponent(float(values.max())) if values.size else 0


def _unit_label(unit: str, exponent: int) -> str:
    """'LVE (×10⁻⁵ m²)'."""
    scale = times_ten_to(exponent)
    if not unit:
        return f"LVE ({scale + '; ' if scale else ''}unit not recorded in the scores)"
    return f"LVE ({scale + ' ' if scale else ''}{pretty_unit(unit)})"


def _subtitle(table: LveTable) -> str:
    p = table.protocol
    parts = [f"{p['dataset']}, split {p['split']}" if "dataset" in p and "split" in p else "",
             f"lips: {p['lips']['count']} vertices" if isinstance(p.get("lips"), dict) else "",
             f"conditioning: {p['conditioning']}" if "conditioning" in p else ""]
    return "; ".join(part for part in parts if part)


def plot_lve_bars(scores: ScoresInput | Mapping[str, ScoresInput], out_png: str | os.PathLike,
                  title: str | None = None) -> Path:
    """Bar chart of per-sequence LVE, largest first, with the pooled LVE as a dashed line.

    ``scores`` is a scores.json dict, a :class:`ScoreReport` or a path to one, or {method name:
    any of those} to compare methods side by side (same data set, split and unit). Returns
    ``out_png``; nothing is written when an input is wrong (PtalkerError).
    """
    out = check_out_png(out_png)
    table = lve_table(scores)
    exponent = _exponent(table)
    bars = len(table.sequences) * (1 + 0.5 * (len(table.methods) - 1))
    with drawing(clamp(2.0 + WIDTH_PER_BAR_IN * bars, MIN_WIDTH_IN, MAX_WIDTH_IN), HEIGHT_IN) as fig:
        ax = fig.add_subplot()
        _draw_bars(ax, table, exponent)
        ax.set_ylabel(_unit_label(table.unit, exponent))
        if table.unit == METRE_SQUARED:
            scale = 10.0 ** exponent * MM2_PER_M2
            right = ax.secondary_yaxis("right", functions=(lambda v: v * scale, lambda v: v / scale))
            right.set_ylabel("LVE (mm\u00b2)")
        fig.suptitle(title or "Lip vertex error per sequence", x=0.01, ha="left", fontweight="bold",
                     fontsize=10)
        ax.set_title(_subtitle(table), loc="left", fontsize=8.5)
        return save_figure(fig, out)
