"""Training efficiency: the classifier's training step fed by its loader vs fed from memory.

Both workloads time the training step itself, not a copy of it: :func:`artstyle.training.classifier.setup`
builds the trainer exactly as ``fit`` does (seeding, model, ``torch.compile`` with ``--compile``,
loader, augmentation, loss, AdamW and LR schedule, in that order), and every timed step is its
:meth:`artstyle.training.loop.Trainer.step`, the call ``fit``'s epoch loop makes per batch:

- ``end_to_end``: ``trainer.step(batch)`` on the next batch of ``setup.loader`` over the store
  (pinned on CUDA); the step moves it to the device (non-blocking, channels_last),
  augments, runs the forward under ``runtime.train_autocast`` (bf16 on CUDA and native-bf16 CPUs)
  and the loss, then backward, AdamW step and LR schedule step.
- ``compute_only``: the same ``trainer.step`` on one random batch already on the device in the
  training layout: the step's device move is a no-op, so there is no loader and no host-to-device
  copy, and nothing else differs.

``efficiency = end_to_end / compute_only``: 1.0 means the data path costs the training loop nothing.

``--sizes 64,128,224`` repeats both workloads at each image size. The store's own size is the
headline figure above; for another size a temporary store is built with the ``index`` stage's
``build_store`` from ``--subset`` train images of the embedded synthetic tree (96 px paintings, so
224 px upsamples them: the pixels differ, the training cost per image does not) and deleted after.

The augmentation runs in both: it is part of the step on the training device (one ``grid_sample``
on the batch, inside the trainer's loss hook), not part of the data path. ``Trainer.step`` returns
``loss.item()`` every step, as training does; on CUDA that syncs every step, so the loader's time
is fully exposed rather than hidden behind queued kernels, which is the loop training actually runs.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import runtime
from artstyle.bench.common import describe_runtime, median_rates, rates_and_ratio, runtime_line, synchronize
from artstyle.data.dataset import StoreDataset
from artstyle.data.decode import DEFAULT_MAX_PIXELS
from artstyle.data.index import build_store
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.params import ClassifierParams
from artstyle.styles import NUM_CLASSES
from artstyle.training import classifier

EFFICIENCY_TARGET = 0.9

Batch = tuple[torch.Tensor, torch.Tensor]


class TrainBench:
    """Times ``setup.trainer.step`` of a classifier training run, fed from its loader or from memory.

    ``setup`` is :func:`artstyle.training.classifier.setup`'s result for the same dataset, params
    and seed as a training run, so the weights, shuffle order, augmentations, dropout and schedule
    are those of ``fit``; the bench adds only the timer and the compute-only batch.
    """

    def __init__(
        self,
        dataset: StoreDataset,
        cfg: ClassifierParams,
        seed: int,
        device: torch.device,
        *,
        compile: bool = False,
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("no training images to benchmark")
        self.setup = classifier.setup(dataset, cfg, seed, device, compile=compile)
        self.trainer = self.setup.trainer
        self.device = self.trainer.device
        self.pin_memory = bool(self.setup.loader.pin_memory)
        self.trainer.net.train()  # as Trainer.fit sets it before every epoch
        self._endless = self._epochs()

        # The compute-only batch: the shape of a loader batch (drop_last makes them all full), drawn
        # from its own generator so the global RNG stream (dropout) stays that of a training run.
        g = torch.Generator().manual_seed(seed)
        self.batch_size = min(cfg.batch_size, len(dataset))
        self.image_size = int(dataset.images.shape[1])
        x = torch.rand(self.batch_size, 3, *dataset.images.shape[1:3], generator=g)
        y = torch.randint(0, NUM_CLASSES, (self.batch_size,), generator=g)
        self.random_batch: Batch = runtime.to_device((x, y), self.device)

    def _epochs(self) -> Iterator[Batch]:
        # Epoch after epoch, as the training loop sees them (a new loader iterator per epoch).
        while True:
            yield from self.setup.loader

    def _timed(self, batches: Iterable[Batch]) -> tuple[float, int]:
        """Seconds and images to train on ``batches``, one ``trainer.step`` each."""
        images = 0
        synchronize(self.device)
        start = time.perf_counter()
        for batch in batches:
            self.trainer.step(batch)
            images += len(batch[1])
        synchronize(self.device)
        return time.perf_counter() - start, images

    def train_from_loader(self, steps: int) -> tuple[float, int]:
        """``steps`` end-to-end steps, continuing the loader's epochs where the last call stopped."""
        return self._timed(itertools.islice(self._endless, steps))

    def train_in_memory(self, steps: int) -> tuple[float, int]:
        """``steps`` compute-only steps on the random batch already on the device."""
        return self._timed(itertools.repeat(self.random_batch, steps))

    def train_epoch(self) -> tuple[float, int]:
        """One full pass over the loader (a training epoch without validation)."""
        return self._timed(self.setup.loader)


def _rates(
    dataset: StoreDataset,
    cfg: ClassifierParams,
    seed: int,
    *,
    steps: int,
    warmup: int,
    repeats: int,
    min_seconds: float,
    device: torch.device,
    compile: bool,
    desc: str,
) -> tuple[TrainBench, dict[str, float], dict[str, int]]:
    """The two workloads' median images/s on ``dataset`` (see :func:`bench_train`) and their rounds."""
    bench = TrainBench(dataset, cfg, seed, device, compile=compile)
    bench.train_from_loader(warmup)
    bench.train_in_memory(warmup)
    rates, rounds = median_rates(
        {
            "end_to_end": lambda: bench.train_from_loader(steps),
            "compute_only": lambda: bench.train_in_memory(steps),
        },
        repeats,
        min_seconds,
        desc=desc,
    )
    return bench, rates, rounds


def _efficiency(rates: dict[str, float]) -> dict[str, float]:
    return rates_and_ratio(rates, "end_to_end", "compute_only", "efficiency")


def _size_row(
    bench: TrainBench, rates: dict[str, float], rounds: dict[str, int], train_images: int, source: str
) -> dict[str, Any]:
    return {
        "image_size": bench.image_size,
        **_efficiency(rates),
        "end_to_end_rounds": rounds["end_to_end"],
        "compute_only_rounds": rounds["compute_only"],
        "train_images": train_images,
        "source": source,
    }


def subset_tree(root: str | Path, out: str | Path, images: int) -> int:
    """Link ``images`` of the train images of the ImageFolder tree ``root`` into a tree at ``out``.

    Evenly spaced over the sorted file list, so every style keeps about its share and no seed is
    needed; ``test/`` is left empty (the store needs the folder, the bench only trains). Files are
    symlinked, not copied. Returns the number linked.
    """
    root, out = Path(root), Path(out)
    files = sorted(p for p in (root / "train").rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError(f"{root}/train: no images to build the benchmark's stores from")
    take = np.unique(np.linspace(0, len(files) - 1, min(images, len(files))).round().astype(np.int64))
    for i in take:
        link = out / files[i].relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(files[i].resolve())
    (out / "test").mkdir(parents=True, exist_ok=True)
    return len(take)


def bench_train(
    store_dir: str | Path,
    manifest: str | Path,
    cfg: ClassifierParams,
    seed: int,
    *,
    steps: int = 20,
    warmup: int = 5,
    repeats: int = 3,
    min_seconds: float = 2.0,
    device: torch.device | None = None,
    compile: bool = False,
    sizes: Sequence[int] = (),
    root: str | Path | None = None,
    subset: int = 512,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    index_workers: int = 0,
    workdir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """End-to-end vs compute-only training images/s of the classifier over ``manifest``, and at ``sizes``.

    Rounds of ``steps`` steps alternate between the two workloads (median round reported; see
    :func:`~artstyle.bench.common.median_rates`) after ``warmup`` untimed steps of each, which
    absorb torch.compile, cuDNN autotuning, allocator growth and first page faults.

    The top-level figures are always the store's (``store_dir`` + ``manifest``, at the store's
    image size). ``sizes`` adds one row each to ``sizes``: the store's own size reuses those
    figures; any other size trains on a temporary store built with the ``index`` stage's
    :func:`~artstyle.data.index.build_store` from ``subset`` train images of the tree ``root``
    (the embedded synthetic paintings by default) at that size, deleted afterwards (in ``workdir``,
    default the system temp dir). Only the image size differs between rows: model, batch, loader
    and step are the same.
    """
    device = device or runtime.pick_device()
    dataset = StoreDataset.from_manifest(store_dir, manifest)
    bench, rates, rounds = _rates(
        dataset,
        cfg,
        seed,
        steps=steps,
        warmup=warmup,
        repeats=repeats,
        min_seconds=min_seconds,
        device=device,
        compile=compile,
        desc="bench train",
    )
    rows = []
    for size in sorted(set(sizes)):
        if size == bench.image_size:
            rows.append(_size_row(bench, rates, rounds, len(dataset), "store"))
            continue
        if root is None:
            raise InputError(f"--sizes {size}: a temporary store needs --root (the image tree to index)")
        with tempfile.TemporaryDirectory(prefix=f"artstyle-bench-train-{size}-", dir=workdir) as tmp:
            tree, store = Path(tmp) / "tree", Path(tmp) / "store"
            subset_tree(root, tree, subset)
            start = time.perf_counter()
            index = build_store(tree, store, size, max_pixels, index_workers, progress=progress)
            index_seconds = time.perf_counter() - start
            store_rows = np.array([r.row for r in index.records], dtype=np.int64)
            labels = np.array([r.label for r in index.records], dtype=np.int64)
            sized, sized_rates, sized_rounds = _rates(
                StoreDataset(open_images(store), store_rows, labels),
                cfg,
                seed,
                steps=steps,
                warmup=warmup,
                repeats=repeats,
                min_seconds=min_seconds,
                device=device,
                compile=compile,
                desc=f"bench train {size} px",
            )
            row = _size_row(
                sized,
                sized_rates,
                sized_rounds,
                len(store_rows),
                f"temporary store of {len(store_rows)} images of {root}",
            )
            rows.append({**row, "index_seconds": index_seconds})
            # Its loader maps the store's file: unmap before the directory is removed (Windows
            # refuses to delete a mapped file).
            del sized
    return {
        **_efficiency(rates),
        "efficiency_target": EFFICIENCY_TARGET,
        "steps_per_round": steps,
        "warmup_steps": warmup,
        "end_to_end_rounds": rounds["end_to_end"],
        "compute_only_rounds": rounds["compute_only"],
        "batch_size": bench.batch_size,
        "image_size": bench.image_size,
        "train_images": len(dataset),
        "augment_in_both": cfg.augment,
        "num_workers": cfg.num_workers,
        "sizes": rows,
        "subset_images": subset if any(r["source"] != "store" for r in rows) else 0,
        **describe_runtime(bench.device, compiled=compile, pin_memory=bench.pin_memory),
    }


def train_lines(r: dict[str, Any]) -> list[str]:
    augment = "augmentation in both" if r["augment_in_both"] else "no augmentation"
    return [
        (
            f"classifier training: batch {r['batch_size']} of {r['image_size']}x{r['image_size']}, "
            f"{r['train_images']:,} train images, median of {r['end_to_end_rounds']} / {r['compute_only_rounds']} "
            f"rounds of {r['steps_per_round']} steps, {augment}"
        ),
        runtime_line(r),
        f"{'workload':<32}{'images/s':>12}",
        f"{'end to end (loader -> step)':<32}{r['end_to_end_images_per_s']:>12,.1f}",
        f"{'compute only (batch in memory)':<32}{r['compute_only_images_per_s']:>12,.1f}",
        f"{'efficiency':<32}{r['efficiency']:>12.3f}   (target >= {r['efficiency_target']:g})",
        *size_lines(r),
    ]


def size_lines(r: dict[str, Any]) -> list[str]:
    """The per-size table (nothing when no ``--sizes`` were asked for)."""
    rows = r.get("sizes") or []
    if not rows:
        return []
    lines = [
        f"by image size (batch {r['batch_size']}; other sizes than the store's on a temporary store of "
        f"{r['subset_images']} images):",
        f"{'size':>8}{'end to end img/s':>20}{'compute only img/s':>22}{'efficiency':>12}{'train images':>14}",
    ]
    for row in rows:
        lines.append(
            f"{row['image_size']:>8}{row['end_to_end_images_per_s']:>20,.1f}{row['compute_only_images_per_s']:>22,.1f}"
            f"{row['efficiency']:>12.3f}{row['train_images']:>14,}"
        )
    return lines
