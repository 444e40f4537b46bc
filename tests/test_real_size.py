"""Real-size smoke test: JPEGs of about 1 megapixel (1200 x 900, every EXIF orientation) indexed at
``image_size: 224``, then one classifier training epoch on that store."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from conftest import REPO

from artstyle.bench.index import exif_orientation, real_size_painting, write_jpeg_tree
from artstyle.data.dataset import StoreDataset
from artstyle.data.decode import resize_center_crop
from artstyle.data.index import build_store
from artstyle.data.store import open_images, split_rows
from artstyle.params import load_params
from artstyle.styles import LABEL_OF, NUM_CLASSES
from artstyle.training.classifier import fit

CPU = torch.device("cpu")
STYLES_USED = ("Baroque", "Cubism")
SIZE, SIDE = (1200, 900), 224


def test_index_and_train_at_224_on_megapixel_jpegs(tmp_path, one_thread):
    root, store = tmp_path / "tree", tmp_path / "store"
    # Every file carries an EXIF orientation: 2-8 and 2 again over the 8 files.
    paths = write_jpeg_tree(root, STYLES_USED, {"train": 3, "test": 1}, seed=0, size=SIZE, exif_every=1)
    assert len(paths) == 8 and all(p.suffix == ".jpg" and p.stat().st_size > 50_000 for p in paths)

    p = load_params(REPO / "params.yaml")
    result = build_store(root, store, SIDE, p.index.max_pixels, workers=1, progress=False)
    assert result.rejected == [] and len(result.records) == 8
    images = open_images(store)
    assert images.shape == (8, SIDE, SIDE, 3) and images.dtype == np.uint8
    # Upright: each row is the painting as it is meant to be seen, whatever the tag, and the
    # recorded size is the upright original's.
    order = {path.relative_to(root).as_posix(): i for i, path in enumerate(paths)}
    for r in result.records:
        i = order[r.relpath]
        _, upright = real_size_painting(0, i, SIZE, exif_orientation(i, 1), r.style)
        expected = np.asarray(resize_center_crop(upright, SIDE), dtype=np.int16)
        assert np.abs(images[r.row].astype(np.int16) - expected).mean() < 4, (
            r.relpath,
            exif_orientation(i, 1),
        )
        assert (r.width, r.height) == SIZE and r.label == LABEL_OF[r.style]

    train_rows, train_labels = split_rows(result.records, "train")
    test_rows, test_labels = split_rows(result.records, "test")
    train, val = StoreDataset(images, train_rows, train_labels), StoreDataset(images, test_rows, test_labels)
    x, y = train[0]
    assert (
        x.shape == (3, SIDE, SIDE) and x.dtype == torch.float32 and 0 <= float(x.min()) <= float(x.max()) <= 1
    )
    cfg = dataclasses.replace(p.classifier, width=4, depth=1, epochs=1, batch_size=3, num_workers=0, nproc=1)
    run = fit(train, val, cfg, seed=0, device=CPU, progress=False)
    assert len(run.history) == 1
    assert np.isfinite(run.history[0]["train_loss"]) and np.isfinite(run.history[0]["val_loss"])
    with torch.no_grad():
        logits = run.model.eval()(torch.stack([train[i][0] for i in range(len(train))]))
    assert logits.shape == (len(train), NUM_CLASSES) and torch.isfinite(logits).all()
