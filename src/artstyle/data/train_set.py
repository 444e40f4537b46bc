"""The classifier's train set as the ``oversample`` stage writes it (``data/oversampled/``), and its reader.

- ``train.csv``: (row, label) like every manifest. Rows below the store's length are store rows;
  row ``len(store) + j`` is ``synthetic.npy[j]``. Only this manifest refers to synthetic rows:
  val and test (``data/splits``, ``data/manifests/test.csv``) are real images only.
- ``synthetic.npy``: uint8 [M, H, W, 3] synthetic images (M = 0 under ``sampling_method: random``).
- ``meta.json``: the store length the rows were numbered against and the method, checked on load.

A module of its own, apart from :mod:`artstyle.data.oversample`, so the classifier's code deps do
not include the autoencoder that latent SMOTE decodes with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from artstyle.data.manifests import read_manifest, write_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.fileio import read_json, save_npy, write_json

MANIFEST_FILE = "train.csv"
SYNTHETIC_FILE = "synthetic.npy"
META_FILE = "meta.json"


def write_train_set(
    directory: str | Path,
    rows: np.ndarray,
    labels: np.ndarray,
    synthetic: np.ndarray | None,
    store_rows: int,
    method: str = "random",
    *,
    synthetic_rows: int | None = None,
) -> None:
    """Write the three files into ``directory`` (the caller makes it atomic: see ``atomic_dir``).

    ``synthetic`` None: ``synthetic.npy`` is already there (written in place, ``synthetic_rows`` rows).
    """
    directory = Path(directory)
    write_manifest(directory / MANIFEST_FILE, rows, labels)
    if synthetic is not None:
        save_npy(directory / SYNTHETIC_FILE, synthetic)
        synthetic_rows = len(synthetic)
    elif synthetic_rows is None or not (directory / SYNTHETIC_FILE).is_file():
        raise ValueError(
            f"{directory}: no synthetic array given and no {SYNTHETIC_FILE} written with its row count"
        )
    write_json(
        directory / META_FILE,
        {"store_rows": int(store_rows), "method": method, "synthetic_rows": int(synthetic_rows)},
    )


class StackedImages:
    """The store memmap followed by the synthetic images, indexed like one array.

    :class:`artstyle.data.dataset.StoreDataset` reads a batch as ``images[sorted rows]``; rows past
    the store come from the (small, in-memory) synthetic array.
    """

    def __init__(self, store: np.ndarray, synthetic: np.ndarray) -> None:
        if synthetic.shape[1:] != store.shape[1:]:
            raise InputError(
                f"synthetic images are {synthetic.shape[1:]}, the store's {store.shape[1:]}: rerun oversample"
            )
        self.store, self.synthetic = store, synthetic
        self.shape = (len(store) + len(synthetic), *store.shape[1:])
        self.dtype = store.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        n = len(self.store)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        real = rows < n
        out[real] = self.store[rows[real]]
        out[~real] = self.synthetic[rows[~real] - n]
        return out


def open_train_set(
    store_dir: str | Path, train_dir: str | Path
) -> tuple[StackedImages, np.ndarray, np.ndarray]:
    """(images, rows, labels) of ``data/oversampled``, checked against the store it was built on."""
    train_dir = Path(train_dir)
    store = open_images(store_dir)
    meta = read_json(train_dir / META_FILE)
    if meta["store_rows"] != len(store):
        raise InputError(
            f"{train_dir} was built on a store of {meta['store_rows']} images, {store_dir} has {len(store)}: "
            "rerun oversample (dvc repro oversample)"
        )
    synthetic = np.load(train_dir / SYNTHETIC_FILE, mmap_mode="r")
    rows, labels = read_manifest(train_dir / MANIFEST_FILE)
    images = StackedImages(store, synthetic)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(images)):
        raise InputError(
            f"{train_dir / MANIFEST_FILE}: rows outside the store + {len(synthetic)} synthetic images"
        )
    return images, rows, labels
