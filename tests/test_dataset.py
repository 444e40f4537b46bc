"""StoreDataset and make_loader: values, order, batch shapes, seeded shuffling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import write_manifest

N, H, W = 12, 5, 7  # non-square so an H/W swap would show


@pytest.fixture()
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (N, H, W, 3), dtype=np.uint8)


def _expected(images: np.ndarray, row: int) -> torch.Tensor:
    return torch.from_numpy(images[row].astype(np.float32) / 255.0).permute(2, 0, 1)


def test_item_values_and_label(images):
    rows = np.array([3, 0, 11, 3])  # unsorted, with a repeated row (an oversampled image)
    labels = np.array([7, 1, 26, 7])
    ds = StoreDataset(images, rows, labels)
    assert len(ds) == 4
    for i, (row, label) in enumerate(zip(rows, labels)):
        x, y = ds[i]
        assert x.dtype == torch.float32 and x.shape == (3, H, W)
        assert 0.0 <= x.min() and x.max() <= 1.0
        torch.testing.assert_close(x, _expected(images, row), rtol=0, atol=1e-6)
        assert y == label and isinstance(y, int)
    # the extremes map exactly to 0 and 1
    extremes = np.zeros((2, H, W, 3), dtype=np.uint8)
    extremes[1] = 255
    xb, _ = StoreDataset(extremes, np.array([0, 1]), np.array([0, 0])).__getitems__([0, 1])
    assert xb[0].max() == 0.0 and xb[1].min() == 1.0


def test_getitems_preserves_order(images):
    rows = np.array([9, 2, 5, 0, 11, 7, 2])
    labels = rows % 3
    ds = StoreDataset(images, rows, labels)
    indices = [4, 0, 6, 3, 1]  # unsorted rows 11, 9, 2, 0, 2
    x, y = ds.__getitems__(indices)
    assert x.shape == (5, 3, H, W) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    for k, i in enumerate(indices):
        torch.testing.assert_close(x[k], _expected(images, rows[i]), rtol=0, atol=1e-6)
        assert y[k] == labels[i]


def test_length_mismatch_rejected(images):
    with pytest.raises(ValueError, match="differ in length"):
        StoreDataset(images, np.array([0, 1]), np.array([0]))


def test_transform_applies_to_batches(images):
    ds = StoreDataset(images, np.arange(4), np.zeros(4), transform=lambda x: 1.0 - x)
    x, _ = ds.__getitems__([2])
    torch.testing.assert_close(x[0], 1.0 - _expected(images, 2), rtol=0, atol=1e-6)


def test_from_manifest(tmp_path, images):
    np.save(tmp_path / "images.npy", images)
    write_manifest(tmp_path / "m.csv", np.array([4, 1]), np.array([2, 3]))
    ds = StoreDataset.from_manifest(tmp_path, tmp_path / "m.csv")
    assert isinstance(ds.images, np.memmap)
    x, y = ds[0]
    torch.testing.assert_close(x, _expected(images, 4), rtol=0, atol=1e-6)
    assert y == 2


def test_loader_batch_shapes(images):
    ds = StoreDataset(images, np.arange(N), np.arange(N) % 4)
    shapes = [(tuple(x.shape), tuple(y.shape)) for x, y in make_loader(ds, batch_size=5)]
    assert shapes == [((5, 3, H, W), (5,)), ((5, 3, H, W), (5,)), ((2, 3, H, W), (2,))]
    assert len(list(make_loader(ds, batch_size=5, drop_last=True))) == 2
    # unshuffled: labels in manifest order
    labels = torch.cat([y for _, y in make_loader(ds, batch_size=5)])
    assert labels.tolist() == (np.arange(N) % 4).tolist()


def _order(ds: StoreDataset, seed: int) -> list[int]:
    # labels = row ids, so the label stream is the visiting order
    return torch.cat([y for _, y in make_loader(ds, batch_size=4, shuffle=True, seed=seed)]).tolist()


def test_loader_shuffle_is_seeded(images):
    ds = StoreDataset(images, np.arange(N), np.arange(N))
    first = _order(ds, seed=3)
    assert sorted(first) == list(range(N))
    assert first != list(range(N))
    assert _order(ds, seed=3) == first
    assert _order(ds, seed=4) != first
    # one loader, two epochs: a fresh permutation each epoch, both reproducible
    loader = make_loader(ds, batch_size=4, shuffle=True, seed=3)
    epochs = [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]
    assert epochs[0] == first and epochs[1] != first
