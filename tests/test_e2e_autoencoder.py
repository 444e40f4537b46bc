"""Both autoencoder stage scripts, run as subprocesses on a tiny fake store with tiny params."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from artstyle.checkpoint import load_checkpoint
from artstyle.data.manifests import write_manifest
from artstyle.fileio import read_json
from artstyle.headline import read_metrics
from artstyle.styles import STYLES

REPO = Path(__file__).resolve().parents[1]


def make_fake_store(root: Path, styles=(0, 5, 12), per_style=(16, 4, 6), size: int = 16, seed: int = 0):
    """A store + manifests where each style has its own colour: (store_dir, manifests_dir).

    ``per_style`` = (train, val, test) images per style; train rows 0 and 1 of every style are
    repeated in train.csv, as oversampling would.
    """
    rng = np.random.default_rng(seed)
    store, manifests = root / "store", root / "manifests"
    store.mkdir(parents=True)
    images, records, splits = [], [], {"train": [], "val": [], "test": []}
    for split_i, split in enumerate(("train", "val", "test")):
        for s in styles:
            base = rng.uniform(0.1, 0.9, size=3)
            for i in range(per_style[split_i]):
                img = base + rng.normal(0, 0.08, size=(size, size, 3))
                img[: size // 2] += 0.15 * (s % 2)  # a little structure beyond the colour
                row = len(images)
                images.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
                store_split = "test" if split == "test" else "train"
                records.append(
                    [
                        row,
                        f"{store_split}/{STYLES[s]}/{split}{i}.png",
                        store_split,
                        STYLES[s],
                        s,
                        size,
                        size,
                        f"{row:040x}",
                    ]
                )
                splits[split].append((row, s))
    np.save(store / "images.npy", np.stack(images))
    with open(store / "index.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "relpath", "split", "style", "label", "width", "height", "sha1"])
        w.writerows(records)
    train = splits["train"]
    train = train + [p for p in train if train.index(p) % per_style[0] < 2]  # oversampled duplicates
    for split, pairs in (("train", train), ("val", splits["val"]), ("test", splits["test"])):
        arr = np.array(pairs)
        write_manifest(manifests / f"{split}.csv", arr[:, 0], arr[:, 1])
    return store, manifests


def tiny_params(path: Path, **overrides) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["image_size"] = 16
    raw["autoencoder"].update(width=8, latent_channels=4, epochs=2, batch_size=16, num_workers=0)
    raw["cluster"].update(n_components=4, k=0, n_init=2, pixel_size=4, batch_size=32)
    for section, values in overrides.items():
        raw[section].update(values)
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(args: list[str]) -> subprocess.CompletedProcess:
    # One thread: for tiny models thread hand-offs cost more than the work (see test_autoencoder.py).
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, *args], check=False, cwd=REPO, capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_train_and_cluster_stages(tmp_path):
    store, manifests = make_fake_store(tmp_path / "data")
    params = tiny_params(tmp_path / "params.yaml")
    out = tmp_path / "out"
    _run(
        [
            "stages/train_autoencoder.py",
            "--store",
            str(store),
            "--splits",
            str(manifests),
            "--model",
            str(out / "autoencoder.pt"),
            "--metrics",
            str(out / "autoencoder.json"),
            "--recon",
            str(out / "reconstructions.png"),
            "--live",
            str(out / "live"),
            "--params",
            str(params),
        ]
    )
    m = read_metrics(out / "autoencoder.json")  # with autoencoder_details.json
    for key in ("test_mse", "test_psnr", "test_ssim", "compression_ratio", "image_size"):
        assert key in m, key
    assert m["image_size"] == 16
    assert m["compression_ratio"] == pytest.approx(3 * 16 * 16 / (4 * 2 * 2))
    assert m["test_psnr"] == pytest.approx(
        10 * np.log10(1 / m["test_mse"]), abs=3.0
    )  # mean of per-image PSNR
    assert (out / "reconstructions.png").stat().st_size > 1000

    ckpt = load_checkpoint(out / "autoencoder.pt")  # weights_only=True
    assert ckpt["classes"] == list(STYLES)
    assert ckpt["args"] == {"width": 8, "latent_channels": 4, "image_size": 16, "in_chans": 3}
    live_metrics = read_json(out / "live" / "metrics.json")
    assert live_metrics["step"] == 1  # two epochs logged: steps 0 and 1
    assert "loss" in live_metrics["val"]
    assert (out / "live" / "plots" / "metrics" / "val" / "loss.tsv").read_text().count("\n") == 3
    assert not (out / "live" / "dvc.yaml").exists()

    _run(
        [
            "stages/cluster_latents.py",
            "--store",
            str(store),
            "--splits",
            str(manifests),
            "--model",
            str(out / "autoencoder.pt"),
            "--latents",
            str(out / "latents"),
            "--metrics",
            str(out / "clusters.json"),
            "--plots-dir",
            str(out / "clusters"),
            "--params",
            str(params),
        ]
    )
    c = read_metrics(out / "clusters.json")  # with clusters_details.json
    for prefix in ("", "pixel_", "shuffled_"):
        for key in ("nmi", "ari", "purity", "hungarian_accuracy", "silhouette"):
            assert prefix + key in c, prefix + key
    assert (
        c["k"] == 3 and c["n_components"] == 4
    )  # k = 0: one cluster per style present (the fake store has 3)
    # Oversampled duplicates are dropped: 3 styles x 16 unique train images.
    assert c["train_images"] == 48 and c["test_images"] == 18
    train_latents = np.load(out / "latents" / "train_latents.npy")
    assert train_latents.shape == (48, 4, 2, 2)
    assert np.load(out / "latents" / "test_labels.npy").tolist() == [0] * 6 + [5] * 6 + [12] * 6
    # The saved latents are the checkpoint's encoder output.
    from artstyle.data.dataset import to_float
    from artstyle.models.autoencoder import load_autoencoder

    model = load_autoencoder(out / "autoencoder.pt")
    rows = np.load(out / "latents" / "train_rows.npy")
    with torch.no_grad():
        z = model.encode(to_float(np.load(store / "images.npy")[rows[:5]])).numpy()
    np.testing.assert_allclose(train_latents[:5], z, atol=1e-4)
    for name in ("latent_clustering.npz", "pixel_clustering.npz"):
        with np.load(out / "latents" / name, allow_pickle=False) as state:
            assert {"center", "scale", "components", "centers"} <= set(state.files)
    for name in ("pca_styles.png", "pca_clusters.png", "contingency.png"):
        assert (out / "clusters" / name).stat().st_size > 1000
