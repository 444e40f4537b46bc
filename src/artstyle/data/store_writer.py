"""Writing the store's files (see :mod:`artstyle.data.store`) from the decoded images.

``images.npy`` is preallocated with one row per candidate, so every image goes straight to its
own row, whichever worker decoded it and in whatever order; the rows of rejected images are then
closed up in place and the file cut to length, without copying the store. ``index.csv``,
``rejected.csv`` (relpath, reason) and ``duplicates.csv`` (relpath, duplicate_of, sha1) are
plain CSV; the two report files are read back here as well.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artstyle.data.decode_pool import Result
from artstyle.data.layouts.listing import Candidate, Listing, Rejected
from artstyle.data.store import IMAGES_FILE, INDEX_COLUMNS, INDEX_FILE, IndexRecord
from artstyle.styles import LABEL_OF

REJECTED_FILE = "rejected.csv"
DUPLICATES_FILE = "duplicates.csv"
REJECTED_COLUMNS = ("relpath", "reason")
DUPLICATES_COLUMNS = ("relpath", "duplicate_of", "sha1")


@dataclass(frozen=True)
class Duplicate:
    relpath: str
    duplicate_of: str  # the first copy in store row order
    sha1: str


def write_images(
    store_dir: Path, listing: Listing, results: Iterable[tuple[int, Result]], image_size: int
) -> tuple[list[IndexRecord], list[Rejected]]:
    """Write every decoded image to its row of ``images.npy``; (records, rejected) in store order.

    ``rejected`` is the listing's own rejections, then the decoding failures in the order they came.
    """
    path = store_dir / (IMAGES_FILE + ".tmp")
    sizes, rejected = _fill_rows(path, listing, results, image_size)
    keep = sorted(sizes)
    records = [
        IndexRecord(row, c.relpath, c.split, c.style, LABEL_OF[c.style], *sizes[slot])
        for row, (slot, c) in enumerate((slot, listing.candidates[slot]) for slot in keep)
    ]
    if len(records) < len(listing.candidates):
        _shrink_npy(path, len(records))
    os.replace(path, store_dir / IMAGES_FILE)
    return records, rejected


def _fill_rows(
    path: Path, listing: Listing, results: Iterable[tuple[int, Result]], image_size: int
) -> tuple[dict[int, tuple[int, int, str]], list[Rejected]]:
    """Preallocate ``path``, write each image to its candidate's row and close up the rows of the rejected ones.

    The memmap lives only here: it is unmapped on return, before the file is cut to length.
    """
    candidates: list[Candidate] = listing.candidates
    shape = (len(candidates), image_size, image_size, 3)
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    sizes: dict[int, tuple[int, int, str]] = {}  # slot -> (width, height, sha1)
    rejected = list(listing.rejected)
    for slot, (arr, w, h, sha1, reason) in results:
        if arr is None:
            rejected.append(Rejected(candidates[slot].relpath, reason))
            continue
        images[slot] = arr
        sizes[slot] = (w, h, sha1)
    if len(sizes) < len(candidates):
        _compact(images, sorted(sizes))
    images.flush()
    return sizes, rejected


def _compact(images: np.ndarray, keep: list[int]) -> None:
    """Move rows ``keep`` (ascending) to the front, in place: decoded rows in slots of rejected ones.

    Safe in place: keep[j] >= j, and each block is read (a copy) before it is written, after the
    earlier blocks, whose destinations all lie below this block's sources.
    """
    keep_arr = np.asarray(keep, dtype=np.int64)
    moved = np.flatnonzero(keep_arr != np.arange(len(keep_arr)))
    if not len(moved):
        return
    for i in range(int(moved[0]), len(keep_arr), 1024):
        block = keep_arr[i : i + 1024]
        images[i : i + len(block)] = images[block]


def _shrink_npy(path: Path, n: int) -> None:
    """Cut a preallocated .npy (no longer memory-mapped) down to its first ``n`` rows.

    numpy pads .npy headers so that the first dimension can change in place; rewriting the header
    and truncating avoids copying the whole store when a few files were rejected.
    """
    shape, dtype, offset = _npy_header(path)
    row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,) + shape[1:]},
    )
    if header.tell() == offset:
        with open(path, "r+b") as f:
            f.write(header.getvalue())
            f.truncate(offset + n * row_bytes)
        return
    _copy_first_rows(path, n)  # the header size changed (never with numpy's padding): copy


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a .npy file."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(f)
        return shape, dtype, f.tell()


def _copy_first_rows(path: Path, n: int) -> None:
    src = np.load(path, mmap_mode="r")
    tmp = path.with_name(path.name + ".shrink")
    dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=src.dtype, shape=(n,) + src.shape[1:])
    for i in range(0, n, 4096):
        dst[i : i + 4096] = src[i : i + 4096]
    dst.flush()
    del dst, src
    os.replace(tmp, path)


def write_tables(
    store_dir: Path, records: list[IndexRecord], rejected: list[Rejected], duplicates: list[Duplicate]
) -> None:
    """``index.csv``, ``rejected.csv`` and ``duplicates.csv``."""
    index_rows = ([getattr(r, c) for c in INDEX_COLUMNS] for r in records)
    _write_csv(store_dir / INDEX_FILE, INDEX_COLUMNS, index_rows)
    _write_csv(store_dir / REJECTED_FILE, REJECTED_COLUMNS, ((r.relpath, r.reason) for r in rejected))
    _write_csv(
        store_dir / DUPLICATES_FILE,
        DUPLICATES_COLUMNS,
        ((d.relpath, d.duplicate_of, d.sha1) for d in duplicates),
    )


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterator) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)


def read_rejected(store_dir: str | Path) -> list[Rejected]:
    with open(Path(store_dir) / REJECTED_FILE, newline="", encoding="utf-8") as f:
        return [Rejected(r["relpath"], r["reason"]) for r in csv.DictReader(f)]


def read_duplicates(store_dir: str | Path) -> list[Duplicate]:
    with open(Path(store_dir) / DUPLICATES_FILE, newline="", encoding="utf-8") as f:
        return [Duplicate(r["relpath"], r["duplicate_of"], r["sha1"]) for r in csv.DictReader(f)]
