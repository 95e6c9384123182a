"""What the benchmark scripts share (``from common import ...``: they run as
``python benchmarks/X.py``, which puts this folder on sys.path).

- :data:`ROOT`: the repository root; :data:`RESULTS_DIR`: benchmarks/results, where results go;
- :data:`THREADS` and :func:`set_threads`: torch runs with 2 threads, as on the reference 2-core
  machine (torch is imported only when asked for, so scripts without it stay light);
- :func:`argument_parser`: the command line parser, its help the script's docstring as written,
  with the ``--results`` folder option if asked for;
- :func:`markdown_table`: a Markdown table from formatted cells;
- :func:`save_results`: RESULTS/NAME.json and NAME.md, each written atomically (ptalker.fileio).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ptalker.fileio import save_json, save_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
THREADS = 2


def set_threads(threads: int = THREADS) -> None:
    """Make torch compute with ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)


def argument_parser(doc: str, results: bool = False) -> argparse.ArgumentParser:
    """A parser whose help starts with ``doc`` (the script's docstring, line breaks kept); with
    ``results``, it has ``--results FOLDER`` (default: :data:`RESULTS_DIR`)."""
    out = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if results:
        out.add_argument("--results", type=Path, default=RESULTS_DIR)
    return out


def markdown_table(headers: list[str], rows: list[list], left: int = 1) -> str:
    """A Markdown table (no final newline): ``headers``, then ``rows``, each cell written with
    str() (format floats first; an empty one gives ``| |``); the first ``left`` columns are aligned
    left, the others right."""

    def line(cells: list) -> str:
        return "|" + "|".join(f" {cell} " if str(cell) else " " for cell in cells) + "|"

    rule = "|" + "".join("---|" if column < left else "---:|" for column in range(len(headers)))
    return "\n".join([line(headers), rule, *map(line, rows)])


def save_results(folder: Path, name: str, data: object, markdown: str) -> None:
    """Write ``data`` to FOLDER/NAME.json and ``markdown`` to FOLDER/NAME.md, each atomically."""
    save_json(folder / f"{name}.json", data)
    save_text(folder / f"{name}.md", markdown)


def pooled_sync(scores: list) -> dict:
    """Sync scores of many recordings (ptalker.evaluation.sync.SyncScore) pooled: the /p b m/ count,
    the share of them closed, and the mean lip-envelope correlation."""
    import numpy as np

    bilabials = sum(s.bilabials for s in scores)
    closed = sum(s.bilabial_closure * s.bilabials for s in scores if s.bilabials)
    return {"bilabials": bilabials, "bilabial_closure": closed / max(bilabials, 1),
            "envelope_correlation": float(np.nanmean([s.envelope_correlation for s in scores]))}

