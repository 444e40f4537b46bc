"""The train_classifier and evaluate_classifier stage scripts, run as subprocesses on a tiny fake store."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from artstyle.checkpoint import load_checkpoint
from artstyle.data.manifests import read_manifest, write_manifest
from artstyle.data.store import INDEX_COLUMNS, open_images
from artstyle.data.train_set import write_train_set
from artstyle.evaluation.classification import METRIC_KEYS
from artstyle.fileio import read_json
from artstyle.headline import read_metrics
from artstyle.models.classifier import from_args
from artstyle.styles import NUM_CLASSES, STYLES

REPO = Path(__file__).resolve().parents[1]


def make_store(root: Path, size: int = 16) -> None:
    """A store with every style (3 or 6 train images, 2 test), colour-coded, plus manifests."""
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(NUM_CLASSES, 3))
    images, index = [], []
    for split in ("test", "train"):  # the store's row order: sorted by split, style, relpath
        for label, style in enumerate(STYLES):
            n = 2 if split == "test" else (3 if label % 3 == 0 else 6)
            for i in range(n):
                img = colours[label] + rng.normal(0, 20, (size, size, 3))
                index.append(
                    [len(images), f"{split}/{style}/{i}.png", split, style, label, size, size, "0" * 40]
                )
                images.append(np.clip(img, 0, 255).astype(np.uint8))
    store = root / "store"
    store.mkdir(parents=True)
    np.save(store / "images.npy", np.stack(images))
    with open(store / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(INDEX_COLUMNS)
        w.writerows(index)
    rows = np.array([r[0] for r in index])
    labels = np.array([r[4] for r in index])
    split = np.array([r[2] for r in index])
    train = np.flatnonzero(split == "train")
    val = train[::5]  # every style's first image, and a few more
    train = np.setdiff1d(train, val)
    write_manifest(root / "manifests/train.csv", rows[train], labels[train])
    write_manifest(root / "manifests/val.csv", rows[val], labels[val])
    write_manifest(root / "manifests/test.csv", rows[split == "test"], labels[split == "test"])


def tiny_params(path: Path) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    # StyleNet (its width / depth / stages keys are checked below); backbones: tests/test_backbones.py
    params["classifier"].update(
        backbone="stylenet",
        freeze="none",
        width=4,
        depth=1,
        stages=3,
        epochs=2,
        batch_size=16,
        class_weights="balanced",
    )
    params["evaluate_classifier"].update(batch_size=32, histogram_bins=4)
    path.write_text(yaml.safe_dump(params), encoding="utf-8")


def run(script: str, *args: str) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "stages" / script), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_train_and_evaluate_stage_scripts(tmp_path):
    make_store(tmp_path)
    tiny_params(tmp_path / "params.yaml")
    common = [
        "--store",
        str(tmp_path / "store"),
        "--manifests",
        str(tmp_path / "manifests"),
        "--params",
        str(tmp_path / "params.yaml"),
    ]
    model = tmp_path / "models/classifier.pt"
    live = tmp_path / "dvclive/classifier"
    cost = tmp_path / "metrics/classifier_cost.json"
    # The fake store's manifests folder doubles as the splits (val.csv) and the train set.
    images = open_images(tmp_path / "store")
    rows, labels = read_manifest(tmp_path / "manifests" / "train.csv")
    write_train_set(
        tmp_path / "manifests", rows, labels, np.zeros((0, *images.shape[1:]), np.uint8), len(images)
    )
    train = [
        "--store",
        str(tmp_path / "store"),
        "--train",
        str(tmp_path / "manifests"),
        "--splits",
        str(tmp_path / "manifests"),
        "--params",
        str(tmp_path / "params.yaml"),
    ]
    out = run("train_classifier.py", *train, "--model", str(model), "--live", str(live), "--cost", str(cost))
    assert "epoch 2/2" in out and "img/s" in out
    spent = read_json(cost)
    assert spent["train_images_per_epoch"] == len(rows) and spent["synthetic_images"] == 0
    assert spent["train_seconds"] > 0

    ckpt = load_checkpoint(model)
    assert ckpt["classes"] == list(STYLES)
    assert ckpt["args"]["width"] == 4 and ckpt["params"]["classifier"]["class_weights"] == "balanced"
    assert len(ckpt["train_counts"]) == NUM_CLASSES and abs(sum(ckpt["prior"]) - 1) < 1e-9
    assert ckpt["best_epoch"] in (1, 2) and ckpt["model_class"] == "StyleNet"
    from_args(ckpt["args"]).load_state_dict(ckpt["model"])
    logged = read_json(live / "metrics.json")
    assert set(logged) >= {"train", "val"} and "balanced_accuracy" in logged["val"]
    assert logged["best/epoch"] == ckpt["best_epoch"]  # both count epochs from 1, as the log does

    paths = {
        "metrics": tmp_path / "metrics/classifier.json",
        "per-class": tmp_path / "metrics/classifier_per_class.json",
        "predictions": tmp_path / "plots/classifier/predictions.csv",
        "confusion-png": tmp_path / "plots/classifier/confusion.png",
        "recall-png": tmp_path / "plots/classifier/per_class_recall.png",
    }
    options = [x for k, v in paths.items() for x in (f"--{k}", str(v))]
    run("evaluate_classifier.py", *common, "--model", str(model), *options)

    metrics = read_metrics(paths["metrics"])  # with classifier_details.json
    assert sorted(metrics) == sorted(METRIC_KEYS)
    assert metrics["chance_accuracy"] == 1 / NUM_CLASSES
    # every style has 2 test images: the majority baseline (one style) is right on 2 of 54
    assert abs(metrics["majority_baseline_accuracy"] - 2 / 54) < 1e-12
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRIC_KEYS)
    per_class = read_json(paths["per-class"])
    assert list(per_class) == list(STYLES)
    assert all(v["support"] == 2 for v in per_class.values())
    assert per_class[STYLES[0]]["train_count"] == 3 and per_class[STYLES[1]]["train_count"] == 6
    with open(paths["predictions"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 54 and set(rows[0]) == {"actual", "predicted"}
    assert {r["actual"] for r in rows} == set(STYLES) and {r["predicted"] for r in rows} <= set(STYLES)
    for key in ("confusion-png", "recall-png"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
