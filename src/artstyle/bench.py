"""Benchmarks: ``python -m artstyle.bench <what>``; each subcommand merges its results into one JSON.

``data``: images/s of the store loader (:class:`artstyle.data.dataset.StoreDataset` +
:func:`~artstyle.data.dataset.make_loader`, one memmap copy per batch) against the usual
torchvision ImageFolder loader (open + decode + resize + crop + to-tensor per item, default collate),
over the same files, image size, batch size and number of images, both in the main process.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from tqdm import tqdm

from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.store import open_images, read_index
from artstyle.io import read_json, write_json

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.callback()
def _group() -> None:
    # A callback makes Typer keep subcommand names even while `data` is the only one.
    """Loader and model benchmarks (results merged into one JSON file)."""


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


def merge_json(path: str | Path, key: str, results: dict[str, Any]) -> dict[str, Any]:
    """Set ``key`` in the JSON object at ``path`` (created if missing), keeping the other keys."""
    path = Path(path)
    merged = read_json(path) if path.exists() else {}
    merged[key] = results
    write_json(path, merged)
    return merged


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
    missing = [r.relpath for r in chosen if not (Path(root) / r.relpath).is_file()]
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} indexed file(s) missing, e.g. {missing[0]}")

    rows = np.array([r.row for r in chosen], dtype=np.int64)
    labels = np.array([r.label for r in chosen], dtype=np.int64)
    # Both shuffled with the same seed: the random access pattern of a training epoch.
    store_loader = make_loader(StoreDataset(store, rows, labels), batch_size, shuffle=True, seed=seed)
    pil_loader = DataLoader(
        PilFolderDataset([Path(root) / r.relpath for r in chosen], labels.tolist(), image_size),
        batch_size=batch_size,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(seed),
    )

    rates = {}
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name, loader in (("store", store_loader), ("pil", pil_loader)):
            _warm_up(loader, warmup_batches)
            seconds: list[float] = []
            with tqdm(desc=f"bench data: {name} loader", unit="pass", leave=False) as bar:
                while len(seconds) < repeats or sum(seconds) < min_seconds:
                    s, n = _pass_seconds(loader)
                    if n != len(chosen):
                        raise RuntimeError(f"{name} loader yielded {n} images, expected {len(chosen)}")
                    seconds.append(s)
                    bar.update()
            rates[name] = len(chosen) / statistics.median(seconds)
    finally:
        torch.set_num_threads(old_threads)
    return {
        "store_images_per_s": rates["store"],
        "pil_images_per_s": rates["pil"],
        "ratio": rates["store"] / rates["pil"],
        "batch_size": batch_size,
        "images": len(chosen),
        "image_size": image_size,
        "threads": threads,
    }


@app.command("data")
def data(
    store: Path = typer.Option(Path("data/store"), help="image store (index.csv + images.npy)"),
    root: Path = typer.Option(Path("data/synthetic"), help="the image tree the store was built from"),
    batch_size: int = typer.Option(64, min=1),
    images: int = typer.Option(2000, min=1, help="images per pass (fewer if the store is smaller)"),
    repeats: int = typer.Option(
        3, min=1, help="at least this many timed passes per loader (median reported)"
    ),
    min_seconds: float = typer.Option(1.0, min=0.0, help="...and at least this long per loader"),
    threads: int = typer.Option(
        1, min=1, help="torch intra-op threads while timing (1, as in a loader worker)"
    ),
    out: Path = typer.Option(Path("metrics/bench.json"), help="JSON to merge the results into (key 'data')"),
) -> None:
    """Store loader vs per-item PIL decoding: images/s and their ratio."""
    r = bench_data(
        store,
        root,
        batch_size=batch_size,
        images=images,
        repeats=repeats,
        min_seconds=min_seconds,
        threads=threads,
    )
    merge_json(out, "data", r)
    typer.echo(
        f"{r['images']} images of {r['image_size']}x{r['image_size']}, batch {r['batch_size']}, "
        f"num_workers 0, {r['threads']} torch thread(s)"
    )
    typer.echo(f"{'loader':<28}{'images/s':>12}")
    typer.echo(f"{'StoreDataset + make_loader':<28}{r['store_images_per_s']:>12,.0f}")
    typer.echo(f"{'PIL decode per item':<28}{r['pil_images_per_s']:>12,.0f}")
    typer.echo(f"{'ratio':<28}{r['ratio']:>11.1f}x")


if __name__ == "__main__":
    app()
