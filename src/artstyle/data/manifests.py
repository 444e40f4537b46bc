"""Manifests: CSV files of (row, label) pairs pointing into the image store.

``data/manifests/{train,val,test}.csv``; an oversampled image is simply a repeated row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from artstyle.fileio import write_text


def write_manifest(path: str | Path, rows: np.ndarray, labels: np.ndarray) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["row", "label"])
    w.writerows(zip(np.asarray(rows).tolist(), np.asarray(labels).tolist()))
    write_text(path, buf.getvalue())


def read_manifest(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(rows, labels) as int64 arrays."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        pairs = [(int(r["row"]), int(r["label"])) for r in reader]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.array(pairs, dtype=np.int64)
    return arr[:, 0], arr[:, 1]
