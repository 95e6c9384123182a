"""The CSV logs of a training run (``OUT/train_log.csv``: one row per step; ``OUT/val_log.csv``:
one row per epoch), appended as the run goes."""

from __future__ import annotations

import csv
from pathlib import Path

from ptalker.fileio import atomic_open


def write_log(path: Path, row: dict) -> None:
    """Append ``row`` to the CSV at ``path``. When the row has columns the file lacks (a resumed
    run that logs a new term), the file is rewritten under the union of the columns."""
    header = []
    if path.is_file():
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
    if header and set(row) - set(header):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        fields = header + [key for key in row if key not in header]
        with atomic_open(path, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows([*rows, row])
        return
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(row))
        if not header:
            writer.writeheader()
        writer.writerow(row)
