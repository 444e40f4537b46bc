"""`python -m artstyle.bench data` on a tiny store + PNG tree (numbers checked for sanity, not speed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artstyle.bench import PilFolderDataset, app, bench_data
from artstyle.data.dataset import StoreDataset
from artstyle.data.store import INDEX_COLUMNS, open_images, read_index
from artstyle.styles import LABEL_OF

SIZE = 8
KEYS = {"store_images_per_s", "pil_images_per_s", "ratio", "batch_size", "images", "image_size"}


def make_tree_and_store(tmp_path: Path, n: int = 24) -> tuple[Path, Path]:
    """PNGs already at SIZE (so both loaders must yield identical pixels) and their store."""
    root, store = tmp_path / "tree", tmp_path / "store"
    store.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    styles = ["Baroque", "Cubism", "Rococo"]
    rows = sorted(("test" if i % 4 == 0 else "train", styles[i % 3], f"{i:03d}.png") for i in range(n))
    with open(store / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(INDEX_COLUMNS)
        for row, (split, style, name) in enumerate(rows):
            relpath = f"{split}/{style}/{name}"
            (root / split / style).mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[row]).save(root / relpath)
            w.writerow([row, relpath, split, style, LABEL_OF[style], SIZE, SIZE, f"{row:040x}"])
    np.save(store / "images.npy", images)
    return root, store


def test_pil_baseline_reads_the_same_images(tmp_path):
    root, store = make_tree_and_store(tmp_path)
    records = read_index(store)
    pil = PilFolderDataset([root / r.relpath for r in records], [r.label for r in records], SIZE)
    ours = StoreDataset(
        open_images(store), np.array([r.row for r in records]), np.array([r.label for r in records])
    )
    for i in (0, 5, len(records) - 1):
        (xp, yp), (xs, ys) = pil[i], ours[i]
        assert xp.shape == xs.shape == (3, SIZE, SIZE)
        torch.testing.assert_close(xp, xs, rtol=0, atol=1e-6)
        assert yp == ys


def test_bench_data_cli_writes_and_merges_json(tmp_path):
    root, store = make_tree_and_store(tmp_path)
    out = tmp_path / "metrics" / "bench.json"
    out.parent.mkdir()
    out.write_text(json.dumps({"model": {"kept": 1}}))
    args = ["data", "--store", str(store), "--root", str(root), "--batch-size", "5", "--images", "10"]
    args += ["--repeats", "1", "--min-seconds", "0", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ratio" in result.output and "StoreDataset" in result.output
    got = json.loads(out.read_text())
    assert got["model"] == {"kept": 1}, "other benchmarks' results are kept"
    data = got["data"]
    assert KEYS <= set(data)
    assert data["batch_size"] == 5 and data["images"] == 10 and data["image_size"] == SIZE
    for key in ("store_images_per_s", "pil_images_per_s", "ratio"):
        assert isinstance(data[key], float) and data[key] > 0
    assert abs(data["ratio"] - data["store_images_per_s"] / data["pil_images_per_s"]) < 1e-6 * data["ratio"]


def test_bench_data_caps_images_at_store_size(tmp_path):
    root, store = make_tree_and_store(tmp_path, n=6)
    r = bench_data(store, root, batch_size=4, images=1000, repeats=1, min_seconds=0)
    assert r["images"] == 6


def test_bench_data_reports_missing_files(tmp_path):
    root, store = make_tree_and_store(tmp_path, n=6)
    next(root.rglob("*.png")).unlink()
    with pytest.raises(FileNotFoundError, match="1 indexed file"):
        bench_data(store, root, images=6, repeats=1, min_seconds=0)
