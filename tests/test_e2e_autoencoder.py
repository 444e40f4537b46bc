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
from artstyle.data.manifests import read_manifest, write_manifest
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
            "--style-stats",
            str(out / "style_stats.npy"),
            "--params",
            str(params),
        ]
    )
    m = read_metrics(out / "autoencoder.json")  # with autoencoder_details.json
    for key in (
        "test_mse",
        "test_psnr",
        "test_ssim",
        "test_sharpness",
        "test_distill",
        "compression_ratio",
        "image_size",
    ):
        assert key in m, key
    assert 0 < m["test_sharpness"] < 2
    assert m["image_size"] == 16
    assert m["compression_ratio"] == pytest.approx(3 * 16 * 16 / (4 * 2 * 2))
    assert m["test_psnr"] == pytest.approx(
        10 * np.log10(1 / m["test_mse"]), abs=3.0
    )  # mean of per-image PSNR
    assert (out / "reconstructions.png").stat().st_size > 1000
    # The teacher: VGG19 relu1_1..relu4_1 mean + std of every store image, in store order.
    stats = np.load(out / "style_stats.npy")
    n_store = len(np.load(store / "images.npy", mmap_mode="r"))
    assert stats.shape == (n_store, 1920) and stats.dtype == np.float32 and np.isfinite(stats).all()

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
            "--style-stats",
            str(out / "style_stats.npy"),
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
    for prefix in ("", "vgg_", "pixel_", "shuffled_"):
        for key in ("nmi", "ari", "purity", "hungarian_accuracy", "silhouette"):
            assert prefix + key in c, prefix + key
    assert (
        c["k"] == 3 and c["n_components"] == 4
    )  # k = 0: one cluster per style present (the fake store has 3)
    # Oversampled duplicates are dropped: 3 styles x 16 unique train images.
    assert c["train_images"] == 48 and c["test_images"] == 18
    train_codes = np.load(out / "latents" / "train_codes.npy")
    assert train_codes.shape == (48, 2 * (15 * 8 + 4))
    assert np.load(out / "latents" / "test_labels.npy").tolist() == [0] * 6 + [5] * 6 + [12] * 6
    # The saved codes are the checkpoint's encoder output.
    from artstyle.data.dataset import to_float
    from artstyle.models.autoencoder import load_autoencoder

    model = load_autoencoder(out / "autoencoder.pt")
    rows = np.load(out / "latents" / "train_rows.npy")
    with torch.no_grad():
        z = model.style_code(to_float(np.load(store / "images.npy")[rows[:5]])).numpy()
    np.testing.assert_allclose(train_codes[:5], z, atol=1e-4)
    for name in ("latent_clustering.npz", "pixel_clustering.npz"):
        with np.load(out / "latents" / name, allow_pickle=False) as state:
            assert {"center", "scale", "components", "centers"} <= set(state.files)
    for name in ("pca_styles.png", "pca_clusters.png", "contingency.png"):
        assert (out / "clusters" / name).stat().st_size > 1000


def test_no_style_label_reaches_training_or_clustering(tmp_path):
    """Relabelling every image (the manifests' labels permuted) changes no weight of the trained
    autoencoder and no fitted number of the clustering: the labels only score. Training the same
    thing twice is also bit-identical (determinism)."""
    from artstyle.params import load_params
    from artstyle.training.autoencoder import train_autoencoder
    from artstyle.training.cluster import cluster_latents

    store, manifests = make_fake_store(tmp_path / "data")
    relabelled = tmp_path / "relabelled"
    relabelled.mkdir()
    swap = {0: 12, 5: 0, 12: 5}  # every image gets another style's label
    for split in ("train", "val", "test"):
        rows, labels = read_manifest(manifests / f"{split}.csv")
        write_manifest(relabelled / f"{split}.csv", rows, np.array([swap[int(v)] for v in labels]))
    p = load_params(tiny_params(tmp_path / "params.yaml"))
    torch.set_num_threads(1)
    runs = [train_autoencoder(p, store, m) for m in (manifests, relabelled, manifests)]
    for other in runs[1:]:
        a, b = runs[0].model.state_dict(), other.model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
        np.testing.assert_array_equal(runs[0].style_statistics, other.style_statistics)
    ckpt = tmp_path / "ae.pt"
    from artstyle.checkpoint import save_checkpoint

    save_checkpoint(ckpt, runs[0].model, runs[0].model.args, STYLES)
    np.save(tmp_path / "stats.npy", runs[0].style_statistics)
    fits = [cluster_latents(p, store, m, ckpt, tmp_path / "stats.npy") for m in (manifests, relabelled)]
    for name in ("center", "scale", "components", "centers"):
        np.testing.assert_array_equal(
            fits[0].latent_model.arrays()[name], fits[1].latent_model.arrays()[name]
        )
    np.testing.assert_array_equal(fits[0].test_clusters, fits[1].test_clusters)
    assert fits[0].latent_model.meta["fit"] == "PCA + KMeans"

    # Beyond cluster.stream_above the fit streams (IncrementalPCA, features read
    # a chunk at a time): the labels still only score, and it spans exact PCA's subspace.
    streaming = load_params(tiny_params(tmp_path / "stream.yaml", cluster={"stream_above": 0}))
    streamed = [
        cluster_latents(streaming, store, m, ckpt, tmp_path / "stats.npy") for m in (manifests, relabelled)
    ]
    for name in ("center", "scale", "components", "centers"):
        np.testing.assert_array_equal(
            streamed[0].latent_model.arrays()[name], streamed[1].latent_model.arrays()[name]
        )
    assert streamed[0].latent_model.meta["fit"] == "IncrementalPCA + KMeans"
    assert streamed[0].metrics.keys() == fits[0].metrics.keys()
    overlap = np.linalg.svd(
        streamed[0].latent_model.components @ fits[0].latent_model.components.T, compute_uv=False
    )
    assert overlap.min() > 0.99


def test_bad_params_and_bad_teacher_file_are_one_line(tmp_path):
    store, manifests = make_fake_store(tmp_path / "data")
    bad = tiny_params(tmp_path / "bad.yaml", autoencoder={"style_weight": -1.0})
    common = ["--store", str(store), "--splits", str(manifests)]
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "stages/train_autoencoder.py", *common, "--model", str(tmp_path / "a.pt"),
         "--metrics", str(tmp_path / "a.json"), "--recon", str(tmp_path / "r.png"), "--live", str(tmp_path / "live"),
         "--style-stats", str(tmp_path / "s.npy"), "--params", str(bad)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "autoencoder.style_weight" in proc.stderr

    # A teacher file that does not cover the store (e.g. from another store) is one line too.
    from artstyle.checkpoint import save_checkpoint
    from artstyle.models.autoencoder import ConvAutoencoder

    save_checkpoint(tmp_path / "ae.pt", ConvAutoencoder(8, 4, 16), ConvAutoencoder(8, 4, 16).args, STYLES)
    np.save(tmp_path / "short.npy", np.zeros((3, 1920), dtype=np.float32))
    proc = subprocess.run(
        [sys.executable, "stages/cluster_latents.py", *common, "--model", str(tmp_path / "ae.pt"),
         "--style-stats", str(tmp_path / "short.npy"), "--latents", str(tmp_path / "lat"),
         "--metrics", str(tmp_path / "c.json"), "--plots-dir", str(tmp_path / "plots"),
         "--params", str(tiny_params(tmp_path / "p.yaml"))],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith("error:") and "store images" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
