"""Decode every image of ``data.root`` once into the uint8 store (the ``index`` stage).

The steps of :func:`build_store`, each in its own module:

1. List the layout (:mod:`artstyle.data.layouts`): an ImageFolder tree, the ArtGAN release or
   the Hugging Face parquet copy (``data.format``; ``auto`` detects it). Every layout yields the
   same listing: the images to decode with their split and canonical style, sorted by (split,
   style, relpath), the store's row order, and the entries it rejects with the reason. A style
   name that is not a known style (or alias) is reported once with its count and its images
   rejected, never given a label.
2. Decode (:mod:`artstyle.data.decode_pool`, :mod:`artstyle.data.decode`): each image's bytes
   (a file, or a parquet cell) are read once, hashed (SHA-1) and decoded to an upright
   ``image_size`` square, in worker processes; a bad file is rejected with its reason, never
   stops the run and never vanishes.
3. Write the store (:mod:`artstyle.data.store_writer`): ``images.npy`` and ``index.csv`` (see
   :mod:`artstyle.data.store`), ``rejected.csv`` (relpath, reason) and ``duplicates.csv``
   (relpath, duplicate_of, sha1). ``relpath`` is the file relative to root
   (``train/Baroque/x.jpg``, ``wikiart/Baroque/x.jpg``) or, for parquet, the shard and row
   (``data/train-00000-of-00072.parquet#17``). Exact duplicates stay in the store (they are real
   samples of the dataset) and are listed; one across train/test is a leak and gets a warning.
   The directory is built as a temporary sibling and swapped into place at the end, so an
   interrupted run never leaves a half store; it is identical for any number of workers.
4. Report (:mod:`artstyle.data.index_report`): the rejected entries, the layout's notes, the
   styles of the 27 with no training image and those trained but never tested; the metrics.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from artstyle.data.decode_pool import decode_all, resolve_workers
from artstyle.data.index_report import (
    find_duplicates,
    index_metrics,
    report_absent_styles,
    report_rejected,
    warn,
)
from artstyle.data.layouts.detect import list_layout
from artstyle.data.layouts.listing import IndexTreeError, Rejected
from artstyle.data.store import IndexRecord
from artstyle.data.store_writer import Duplicate, write_images, write_tables
from artstyle.fileio import atomic_dir


@dataclass
class IndexResult:
    records: list[IndexRecord]
    rejected: list[Rejected]
    duplicates: list[Duplicate]
    cross_split_duplicates: int
    metrics: dict
    seconds: float  # wall time of the decode loop
    workers: int
    layout: str = "imagefolder"  # the layout read (layouts.detect.FORMATS)

    @property
    def images_per_second(self) -> float:
        decoded = len(self.records) + len(self.rejected)
        return decoded / self.seconds if self.seconds > 0 else float("inf")


def build_store(
    root: str | Path,
    out: str | Path,
    image_size: int,
    max_pixels: int,
    workers: int = 0,
    progress: bool = True,
    *,
    format: str = "auto",  # named as the params key data.format (shadows the builtin here only)
    test_fraction: float = 0.2,
    split_seed: int = 42,
) -> IndexResult:
    """Decode every image under ``root`` once into the store directory ``out``.

    ``format``: ``auto`` (detected from root), ``imagefolder``, ``artgan`` or ``hf_parquet``;
    ``test_fraction`` / ``split_seed``: the test split drawn for hf_parquet (one split only).
    ``workers`` = 0 uses every core. The result (and the store) is identical for any number of
    workers: every image is written to its own row of a preallocated memmap.
    """
    root, out = Path(root), Path(out)
    listing = list_layout(root, format, test_fraction, split_seed)
    for msg in listing.warnings:
        warn(msg)
    workers = resolve_workers(workers, len(listing.candidates))

    # The store's files belong together: readers see the old store or the new one, never a mix.
    with atomic_dir(out) as store_dir:
        start = time.perf_counter()
        decoded = decode_all(root, listing, image_size, max_pixels, workers, progress)
        records, rejected = write_images(store_dir, listing, decoded, image_size)
        seconds = time.perf_counter() - start
        rejected.sort(key=lambda r: (r.relpath, r.reason))
        report_rejected(rejected)
        if not records:
            raise IndexTreeError(f"{root}: none of the {len(listing.candidates)} images could be decoded")
        duplicates, cross = find_duplicates(records)
        write_tables(store_dir, records, rejected, duplicates)

    for msg in listing.notes:
        print(msg, file=sys.stderr)
    report_absent_styles(records)
    metrics = index_metrics(records, len(rejected), len(duplicates), cross, image_size)
    return IndexResult(records, rejected, duplicates, cross, metrics, seconds, workers, listing.layout)
