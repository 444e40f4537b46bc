"""Train / val / test manifests from the store index, with per-class resampling.

Val is split off the store's train split *before* resampling, so an oversampled duplicate of a val
image can never end up in train. Val is never resampled: it measures the real distribution.

Sampling specs (already normalised by :func:`artstyle.params.check_sampling`):
``"none"``; ``"mean"`` / ``"max"`` / ``"min"`` (every present class gets the mean (rounded half
up) / largest / smallest count of the present classes); a float in (0, 1) (that fraction of the
largest class, rounded half up, at least 1); an integer >= 1 (that exact count). A class absent
from a split (count 0) stays absent whatever the spec, so a sparse test set never crashes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.data.manifests import write_manifest
from artstyle.data.store import read_index, split_rows
from artstyle.fileio import atomic_dir
from artstyle.params import Params, Sampling
from artstyle.styles import NUM_CLASSES, STYLES


def _round_half_up(x: float) -> int:
    # Python's round() is banker's rounding (round(2.5) == 2); half up is what people expect. The
    # epsilon keeps float products such as 0.7 * 5 = 3.4999999999999996 on the intended side.
    return math.floor(x + 0.5 + 1e-9)


def target_counts(counts: np.ndarray, spec: Sampling, fill_only: bool = False) -> np.ndarray:
    """Per-class target counts for ``counts`` (int array, one entry per class) under ``spec``.

    ``fill_only``: classes above the target keep their count (only the smaller ones are raised).
    """
    counts = np.asarray(counts, dtype=np.int64)
    present = counts > 0
    if spec == "none" or not present.any():
        return counts.copy()
    if spec == "mean":
        target = _round_half_up(float(counts[present].mean()))
    elif spec == "max":
        target = int(counts.max())
    elif spec == "min":
        target = int(counts[present].min())
    elif isinstance(spec, float):
        target = max(1, _round_half_up(spec * float(counts.max())))
    elif isinstance(spec, int) and not isinstance(spec, bool):
        target = spec
    else:
        raise ValueError(f"unknown sampling spec {spec!r}")
    targets = np.where(present, max(1, target), 0).astype(np.int64)
    return np.maximum(targets, counts) if fill_only else targets


def resample(
    labels: np.ndarray,
    spec: Sampling,
    rng: np.random.Generator,
    *,
    fill_only: bool = False,
    repeat: bool = True,
) -> np.ndarray:
    """Indices into ``labels`` (sorted, with repeats when oversampling) meeting :func:`target_counts`.

    ``repeat=False`` stops at each class's real images (no index twice): the SMOTE methods take
    this real part and add synthetic images for the rest (:mod:`artstyle.data.oversample`).

    Each class's images are shuffled once and then cycled: taking the first ``t`` of the cycle is a
    random subset when undersampling, and when oversampling no image appears k+1 times before every
    image of its class has appeared k times.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if spec == "none":
        # Identity without touching rng, so "none" is exactly the store split.
        return np.arange(len(labels), dtype=np.int64)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    targets = target_counts(counts, spec, fill_only)
    if not repeat:
        targets = np.minimum(targets, counts)
    picked = []
    for cls in np.flatnonzero(counts):
        members = rng.permutation(np.flatnonzero(labels == cls))
        picked.append(members[np.arange(targets[cls]) % len(members)])
    if not picked:
        return np.zeros(0, dtype=np.int64)
    # Sorted so manifests list store rows in order (sequential memmap reads, readable diffs).
    return np.sort(np.concatenate(picked))


def val_count(count: int, fraction: float) -> int:
    """Val images taken from a class of ``count`` train images.

    ``fraction * count`` rounded half up, but at least 1 (every class with >= 2 images is measured
    in val) and at most ``count - 1`` (every class keeps >= 1 train image); a class with a single
    image keeps it in train.
    """
    if count < 2:
        return 0
    return min(count - 1, max(1, _round_half_up(fraction * count)))


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): sorted, disjoint indices into ``labels``; per class see :func:`val_count`."""
    labels = np.asarray(labels, dtype=np.int64)
    is_val = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        is_val[members[: val_count(len(members), fraction)]] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def counts_by_style(labels: np.ndarray) -> dict[str, int]:
    """{style name: count} over all 27 styles (absent ones as 0)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=NUM_CLASSES)
    return {name: int(counts[i]) for i, name in enumerate(STYLES)}


def build_manifests(
    store_dir: str | Path, splits_dir: str | Path, out_dir: str | Path, params: Params
) -> dict[str, Any]:
    """Write the splits and the classifier's resampled manifests; return the per-style counts.

    - ``splits_dir/{train,val,test}.csv``: the store's splits with val split off train, never
      resampled. Everything but the classifier trains and measures on these, so a change of
      ``sampling`` leaves them byte-identical and DVC reruns none of those stages.
    - ``out_dir/{train,test}.csv``: the classifier's train manifest after ``sampling`` and its test
      manifest after ``test_sampling``. Under a SMOTE ``sampling_method`` the train manifest holds
      the real part only (subsampled where a style is above its target, never repeated); the
      ``oversample`` stage adds the synthetic images.

    Each directory is swapped in whole, so an interrupted run leaves the previous set (or none),
    never a mix of old and new manifests.
    """
    records = read_index(store_dir)
    train_rows, train_labels = split_rows(records, "train")
    test_rows, test_labels = split_rows(records, "test")
    # Independent streams: changing `sampling` must not change the val split or the test sample.
    split_rng, train_rng, test_rng = np.random.default_rng(params.seed).spawn(3)
    fit_idx, val_idx = stratified_split(train_labels, params.resample.val_fraction, split_rng)
    fit_rows, fit_labels = train_rows[fit_idx], train_labels[fit_idx]
    train_idx = resample(
        fit_labels,
        params.sampling,
        train_rng,
        fill_only=params.resample.fill_only,
        repeat=params.sampling_method == "random",
    )
    test_idx = resample(test_labels, params.test_sampling, test_rng)
    with atomic_dir(splits_dir) as tmp:
        write_manifest(tmp / "train.csv", fit_rows, fit_labels)
        write_manifest(tmp / "val.csv", train_rows[val_idx], train_labels[val_idx])
        write_manifest(tmp / "test.csv", test_rows, test_labels)
    with atomic_dir(out_dir) as tmp:
        write_manifest(tmp / "train.csv", fit_rows[train_idx], fit_labels[train_idx])
        write_manifest(tmp / "test.csv", test_rows[test_idx], test_labels[test_idx])
    return {
        "train_total_before": len(fit_idx),
        "train_total_after": len(train_idx),
        "val_total": len(val_idx),
        "test_total_before": len(test_labels),
        "test_total_after": len(test_idx),
        "train_before": counts_by_style(fit_labels),
        "train_after": counts_by_style(fit_labels[train_idx]),
        "val": counts_by_style(train_labels[val_idx]),
        "test_before": counts_by_style(test_labels),
        "test_after": counts_by_style(test_labels[test_idx]),
    }
