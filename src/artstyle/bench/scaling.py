"""Scaling: how the index stage and a training epoch grow with the dataset (1x to 4x the default).

For each scale the synthetic dataset is rendered at ``scale`` x the ``synthesize`` section's
``train_images`` / ``test_images`` into a temporary directory (rendering is reported, not part of
the comparison), indexed with the ``index`` stage's own call and settings, and the classifier
trains one epoch over the indexed train split with the training-efficiency benchmark's loop
(:class:`~artstyle.bench.train.TrainBench`: the training step of
:func:`artstyle.training.classifier.setup`, after a few untimed warm-up steps).

Linearity is ``(seconds at the largest scale / seconds at the smallest) / (images there / images
here)``: 1.0 is linear, above 1 grows faster than the data. It divides by the ratio of the images
actually processed, not by the nominal scale: the per-style floor (``min_train``) and ``drop_last``
make those differ slightly from 4x. Fixed costs (process pools, model set-up) push it below 1 at
small sizes.

Notes: the epoch covers the whole train split (no validation carve-out or resampling, which
belong to the ``resample`` stage), so 1x is ~10% more images than the pipeline's train manifest.
The index stage reads files just written, i.e. from the page cache, as it does in ``dvc repro``
right after ``synthesize``.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

# Plain tqdm, not tqdm.auto: its asyncio wrapper calls iter() on the iterable when the bar is made
# and again when it is looped over, so a DataLoader would draw its shuffle twice per epoch.
from tqdm import tqdm

from artstyle import runtime
from artstyle.bench.common import describe_runtime, runtime_line
from artstyle.bench.train import TrainBench
from artstyle.data.dataset import StoreDataset
from artstyle.data.index import build_store
from artstyle.data.store import open_images, split_rows
from artstyle.params import Params
from artstyle.synthetic.generate import generate_dataset


def linearity(rows: Sequence[dict[str, Any]], seconds_key: str, images_key: str) -> float | None:
    """Time growth over data growth from the first row to the last (None with fewer than 2 rows)."""
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    return (last[seconds_key] / first[seconds_key]) / (last[images_key] / first[images_key])


def _measure_scale(
    params: Params,
    scale: int,
    base_train: int,
    base_test: int,
    workdir: Path,
    device: torch.device,
    compile: bool,
    warmup: int,
    progress: bool,
) -> dict[str, Any]:
    synth = dataclasses.replace(
        params.synthesize, train_images=base_train * scale, test_images=base_test * scale
    )
    root, store = workdir / "synthetic", workdir / "store"
    start = time.perf_counter()
    generate_dataset(root, synth, seed=params.seed, samples_per_style=0, progress=progress)
    synthesize_seconds = time.perf_counter() - start

    # Timed as the whole call (scan + decode + write), what the index stage costs in the pipeline.
    start = time.perf_counter()
    index = build_store(
        root, store, params.data.image_size, params.index.max_pixels, params.index.workers, progress=progress
    )
    index_seconds = time.perf_counter() - start

    rows, labels = split_rows(index.records, "train")
    bench = TrainBench(
        StoreDataset(open_images(store), rows, labels),
        params.classifier,
        params.seed,
        device,
        compile=compile,
    )
    bench.train_from_loader(warmup)
    epoch_seconds, trained = bench.train_epoch()
    images = len(index.records)
    return {
        "scale": scale,
        "images": images,
        "train_images": trained,
        "synthesize_seconds": synthesize_seconds,
        "index_seconds": index_seconds,
        "index_images_per_s": images / index_seconds,
        "index_workers": index.workers,
        "epoch_seconds": epoch_seconds,
        "train_images_per_s": trained / epoch_seconds,
    }


def bench_scaling(
    params: Params,
    scales: Sequence[int] = (1, 2, 4),
    *,
    base_train_images: int | None = None,
    base_test_images: int | None = None,
    warmup: int = 2,
    device: torch.device | None = None,
    compile: bool = False,
    workdir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Index and epoch times at each scale, and their linearity (see the module docstring).

    ``base_*_images`` (default: the ``synthesize`` section's) are the 1x sizes; ``workdir`` holds
    the temporary trees (default: the system's temp dir). Each scale's tree and store are deleted
    before the next is rendered, so at most one (~0.6 GB at 4x the default) is on disk at a time.
    """
    scales = sorted(set(scales))
    if not scales or scales[0] < 1:
        raise ValueError(f"scales must be integers >= 1, got {scales}")
    base_train = base_train_images or params.synthesize.train_images
    base_test = base_test_images or params.synthesize.test_images
    device = device or runtime.pick_device()
    rows = []
    for scale in tqdm(scales, desc="bench scaling", unit="scale", disable=not progress):
        with tempfile.TemporaryDirectory(prefix=f"artstyle-bench-{scale}x-", dir=workdir) as tmp:
            rows.append(
                _measure_scale(
                    params, scale, base_train, base_test, Path(tmp), device, compile, warmup, progress
                )
            )
    return {
        "rows": rows,
        "index_linearity": linearity(rows, "index_seconds", "images"),
        "train_linearity": linearity(rows, "epoch_seconds", "train_images"),
        "base_train_images": base_train,
        "base_test_images": base_test,
        "image_size": params.data.image_size,
        "batch_size": params.classifier.batch_size,
        "warmup_steps": warmup,
        **describe_runtime(device, compiled=compile, pin_memory=device.type == "cuda"),
    }


def format_linearity(value: float | None) -> str:
    return "n/a (one scale)" if value is None else f"{value:.2f}"


def scaling_lines(r: dict[str, Any]) -> list[str]:
    header = (
        "scale",
        "images",
        "index s",
        "index img/s",
        "train imgs",
        "epoch s",
        "train img/s",
        "(synth s)",
    )
    lines = [runtime_line(r), "".join(f"{h:>12}" for h in header)]
    for row in r["rows"]:
        lines.append(
            f"{row['scale']:>11}x{row['images']:>12,}{row['index_seconds']:>12.2f}{row['index_images_per_s']:>12,.0f}"
            f"{row['train_images']:>12,}{row['epoch_seconds']:>12.2f}{row['train_images_per_s']:>12,.1f}"
            f"{row['synthesize_seconds']:>12.1f}"
        )
    lines.append(
        f"linearity (time growth / data growth, largest vs smallest scale; 1.0 = linear): "
        f"index {format_linearity(r['index_linearity'])}, train {format_linearity(r['train_linearity'])}"
    )
    return lines
