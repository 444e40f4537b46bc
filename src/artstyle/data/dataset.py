"""The Dataset every training stage uses: the memmapped store + a manifest.

Batches are read with one fancy-index into the memmap (``__getitems__``, which torch's DataLoader
calls with a whole batch of indices), so the loader costs a memory copy per batch instead of a
file open + decode per image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images


def to_float(batch_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> float32 [B, 3, H, W] in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(batch_uint8))
    return t.permute(0, 3, 1, 2).float().div_(255.0)


class StoreDataset(Dataset):
    """(image, label) pairs: float32 [3, H, W] in [0, 1] and an int64 label.

    ``transform`` (optional) is applied to whole batches [B, 3, H, W]: augmentation that keeps
    style cues lives in the training code and runs on the training device.
    """

    def __init__(
        self,
        images: np.ndarray,
        rows: np.ndarray,
        labels: np.ndarray,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if len(rows) != len(labels):
            raise ValueError(f"rows ({len(rows)}) and labels ({len(labels)}) differ in length")
        self.images = images
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform

    @classmethod
    def from_manifest(cls, store_dir: str | Path, manifest: str | Path, **kw) -> StoreDataset:
        rows, labels = read_manifest(manifest)
        return cls(open_images(store_dir), rows, labels, **kw)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.__getitems__([i])
        return x[0], int(y[0])

    def __getitems__(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        rows = self.rows[idx]
        # memmap fancy indexing is fastest on sorted rows; undo the sort afterwards.
        order = np.argsort(rows, kind="stable")
        batch = np.empty((len(rows),) + self.images.shape[1:], dtype=np.uint8)
        batch[order] = self.images[rows[order]]
        x = to_float(batch)
        if self.transform is not None:
            x = self.transform(x)
        return x, torch.from_numpy(self.labels[idx])


def _passthrough(batch):
    return batch


def make_loader(
    dataset: StoreDataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    sampler: Sampler | None = None,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader that fetches whole batches through ``StoreDataset.__getitems__``."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=_passthrough,
        generator=generator,
        drop_last=drop_last,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
