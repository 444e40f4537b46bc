"""What the ``index`` stage tells the user, and the counts it logs as metrics.

Warnings go to stderr once per kind, at most :data:`MAX_WARNINGS` lines each (the CSV files of the
store hold the full lists): rejected entries, exact duplicates across train and test (a leak), and
styles of the 27 with no training image or trained but never tested. The metrics hold counts
only, no timing, so that a re-run gives the same file and ``dvc metrics diff`` stays clean.
"""

from __future__ import annotations

import sys
from collections import Counter

from tqdm import tqdm

from artstyle.data.layouts.listing import Rejected
from artstyle.data.store import IndexRecord
from artstyle.data.store_writer import DUPLICATES_FILE, REJECTED_FILE, Duplicate
from artstyle.styles import SPLITS, STYLES

MAX_WARNINGS = 20  # per kind; the CSV files hold the full lists


def warn(msg: str) -> None:
    # tqdm.write keeps the progress bar intact when a warning interrupts it.
    tqdm.write(f"warning: {msg}", file=sys.stderr)


def report_rejected(rejected: list[Rejected]) -> None:
    """The rejected entries, row by row up to MAX_WARNINGS (unknown style names were reported once, with their counts)."""
    decode_failures = [r for r in rejected if not r.reason.startswith("unknown style")]
    for r in decode_failures[:MAX_WARNINGS]:
        warn(f"rejected '{r.relpath}': {r.reason}")
    if len(decode_failures) > MAX_WARNINGS:
        warn(f"... {len(decode_failures)} rejected entries in all (see {REJECTED_FILE})")


def find_duplicates(records: list[IndexRecord]) -> tuple[list[Duplicate], int]:
    """Every exact copy (same SHA-1) of an earlier row, and how many cross train/test; warns about those."""
    first: dict[str, IndexRecord] = {}
    dups: list[Duplicate] = []
    cross = 0
    for r in records:  # row order, so duplicate_of is always the lowest row
        seen = first.setdefault(r.sha1, r)
        if seen is r:
            continue
        dups.append(Duplicate(r.relpath, seen.relpath, r.sha1))
        if seen.split != r.split:
            cross += 1
            # The same listed file in both splits (ArtGAN's CSVs) was already reported by its lister.
            if cross <= MAX_WARNINGS and seen.relpath != r.relpath:
                warn(
                    f"'{r.relpath}' is an exact copy of '{seen.relpath}': the same image in train and test leaks"
                )
    if cross > MAX_WARNINGS:
        warn(f"... {cross} train/test duplicates in all (see {DUPLICATES_FILE})")
    return dups, cross


def _counts_per_split(records: list[IndexRecord]) -> dict[str, Counter]:
    return {split: Counter(r.style for r in records if r.split == split) for split in SPLITS}


def report_absent_styles(records: list[IndexRecord]) -> None:
    """One line for the styles without training images, one for those trained but never tested."""
    counts = _counts_per_split(records)
    untrained = [s for s in STYLES if not counts["train"][s]]
    untested = [s for s in STYLES if counts["train"][s] and not counts["test"][s]]
    if untrained:
        warn(
            f"{len(untrained)} of {len(STYLES)} styles have no training images: {', '.join(untrained)} "
            f"(this run learns {len(STYLES) - len(untrained)} styles)"
        )
    if untested:
        warn(
            f"{len(untested)} style(s) have training images but no test images, so no test metric: "
            f"{', '.join(untested)}"
        )


def index_metrics(
    records: list[IndexRecord], rejected: int, duplicates: int, cross: int, image_size: int
) -> dict:
    """Totals and per-style counts of the store (no timing: a re-run gives the same metrics)."""
    counts = _counts_per_split(records)
    present = {r.style for r in records}
    return {
        "images": len(records),
        "train_images": sum(counts["train"].values()),
        "test_images": sum(counts["test"].values()),
        "rejected": rejected,
        "duplicates": duplicates,
        "cross_split_duplicates": cross,
        "classes": len(present),
        "image_size": image_size,
        "train_counts": {s: counts["train"].get(s, 0) for s in STYLES},
        "test_counts": {s: counts["test"].get(s, 0) for s in STYLES},
    }
