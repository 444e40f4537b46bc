"""The data path: images/s of the store loader against per-item PIL decoding of the same files."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from artstyle.bench.common import describe_runtime, median_rates
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.store import open_images, read_index
from artstyle.errors import InputError

DATA_RATIO_TARGET = 20.0


class PilFolderDataset(Dataset):
    """The per-item baseline: what ``torchvision.datasets.ImageFolder`` + the usual transform do."""

    def __init__(self, paths: list[Path], labels: list[int], image_size: int) -> None:
        self.paths = paths
        self.labels = labels
        self.transform = transforms.Compose(
            [transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor()]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        with open(self.paths[i], "rb") as f:
            image = Image.open(f).convert("RGB")
        return self.transform(image), self.labels[i]


def _pass_seconds(loader: Iterable) -> tuple[float, int]:
    """Seconds for one full pass over ``loader``, and the images it yielded."""
    n = 0
    start = time.perf_counter()
    for x, _ in loader:
        n += len(x)
    return time.perf_counter() - start, n


def _warm_up(loader: Iterable, batches: int) -> None:
    # Untimed: first-batch costs (lazy imports, page cache, allocator) are not throughput.
    for i, _ in enumerate(loader):
        if i + 1 >= batches:
            break


def bench_data(
    store_dir: str | Path,
    root: str | Path,
    batch_size: int = 64,
    images: int = 2000,
    repeats: int = 3,
    min_seconds: float = 1.0,
    warmup_batches: int = 2,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, Any]:
    """Images/s of the store loader vs the per-item PIL loader.

    Each loader makes at least ``repeats`` timed passes and keeps going until ``min_seconds`` have
    passed (a store pass takes milliseconds: one pass alone would be mostly timer noise); the
    median pass is reported.

    ``threads``: torch intra-op threads while timing. 1 by default, as in a DataLoader worker (torch
    sets 1 there): loading must not compete with the training step for cores, and on a busy
    machine extra threads only add contention noise to the numbers.
    """
    store = open_images(store_dir)
    if store.shape[1] != store.shape[2]:
        raise ValueError(f"{store_dir}: expected square images, got {store.shape[1]}x{store.shape[2]}")
    image_size = int(store.shape[1])
    records = read_index(store_dir)
    if not records:
        raise ValueError(f"{store_dir}: the store index is empty")
    # Evenly spaced rows: every split and style, and no seed needed to pick them.
    take = np.unique(np.linspace(0, len(records) - 1, min(images, len(records))).round().astype(np.int64))
    chosen = [records[i] for i in take]
    # hf_parquet stores name rows "<shard>.parquet#<row>": no file per image for PIL to open.
    parquet = [r.relpath for r in chosen if r.relpath.partition("#")[0].endswith(".parquet")]
    if parquet:
        raise InputError(
            f"{store_dir} was indexed from Parquet shards (e.g. {parquet[0]}), which hold no image "
            "file per painting; the data bench times per-file PIL decoding, so run it on an "
            "image-folder or ArtGAN copy of the data"
        )
    missing = [r.relpath for r in chosen if not (Path(root) / r.relpath).is_file()]
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} indexed file(s) missing, e.g. {missing[0]}")

    rows = np.array([r.row for r in chosen], dtype=np.int64)
    labels = np.array([r.label for r in chosen], dtype=np.int64)
    # Both shuffled with the same seed: the random access pattern of a training epoch.
    loaders = {
        "store": make_loader(StoreDataset(store, rows, labels), batch_size, shuffle=True, seed=seed),
        "pil": DataLoader(
            PilFolderDataset([Path(root) / r.relpath for r in chosen], labels.tolist(), image_size),
            batch_size=batch_size,
            shuffle=True,
            num_workers=0,
            generator=torch.Generator().manual_seed(seed),
        ),
    }

    def full_pass(name: str, loader: DataLoader):
        def run() -> tuple[float, int]:
            seconds, n = _pass_seconds(loader)
            if n != len(chosen):
                raise RuntimeError(f"{name} loader yielded {n} images, expected {len(chosen)}")
            return seconds, n

        return run

    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for loader in loaders.values():
            _warm_up(loader, warmup_batches)
        rates, _ = median_rates(
            {name: full_pass(name, loader) for name, loader in loaders.items()},
            repeats,
            min_seconds,
            desc="bench data",
        )
        # Inside the block, so the recorded thread count is the one the loaders ran with.
        env = describe_runtime(torch.device("cpu"))
    finally:
        torch.set_num_threads(old_threads)
    return {
        "store_images_per_s": rates["store"],
        "pil_images_per_s": rates["pil"],
        "ratio": rates["store"] / rates["pil"],
        "ratio_target": DATA_RATIO_TARGET,
        "batch_size": batch_size,
        "images": len(chosen),
        "image_size": image_size,
        **env,
    }


def data_lines(r: dict[str, Any]) -> list[str]:
    return [
        (
            f"{r['images']} images of {r['image_size']}x{r['image_size']}, batch {r['batch_size']}, "
            f"num_workers 0, {r['threads']} torch thread(s)"
        ),
        f"{'loader':<32}{'images/s':>12}",
        f"{'StoreDataset + make_loader':<32}{r['store_images_per_s']:>12,.0f}",
        f"{'PIL decode per item':<32}{r['pil_images_per_s']:>12,.0f}",
        f"{'ratio':<32}{r['ratio']:>11.1f}x   (target >= {r['ratio_target']:g}x)",
    ]
