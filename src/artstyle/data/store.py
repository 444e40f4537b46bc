"""The decode-once image store written by the ``index`` stage.

Layout (a directory, default ``data/store``):
- ``images.npy``: uint8 array [N, H, W, 3], opened as a read-only memmap;
- ``index.csv``: one row per image: row, relpath, split, style, label, width, height, sha1
  (width/height are the original size; row order is sorted by split, style, relpath).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGES_FILE = "images.npy"
INDEX_FILE = "index.csv"
INDEX_COLUMNS = ("row", "relpath", "split", "style", "label", "width", "height", "sha1")


@dataclass(frozen=True)
class IndexRecord:
    row: int
    relpath: str
    split: str
    style: str
    label: int
    width: int
    height: int
    sha1: str


def open_images(store_dir: str | Path) -> np.ndarray:
    """The store's image array as a read-only memmap [N, H, W, 3] uint8."""
    return np.load(Path(store_dir) / IMAGES_FILE, mmap_mode="r")


def read_index(store_dir: str | Path) -> list[IndexRecord]:
    with open(Path(store_dir) / INDEX_FILE, newline="", encoding="utf-8") as f:
        return [
            IndexRecord(
                row=int(r["row"]),
                relpath=r["relpath"],
                split=r["split"],
                style=r["style"],
                label=int(r["label"]),
                width=int(r["width"]),
                height=int(r["height"]),
                sha1=r["sha1"],
            )
            for r in csv.DictReader(f)
        ]


def split_rows(records: list[IndexRecord], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Store rows and labels of one split ("train" or "test")."""
    sel = [r for r in records if r.split == split]
    return (np.array([r.row for r in sel], dtype=np.int64), np.array([r.label for r in sel], dtype=np.int64))
