"""The transfer evaluation's judge: a StyleNet trained by one fixed, documented recipe.

``evaluate_transfer`` asks a classifier which style each repainted image shows. If that judge were
the pipeline's own classifier, every classifier experiment (`-S classifier.backbone=vgg19`,
`-S sampling=mean`, ...) would also move the transfer numbers, and a VGG19-based judge would
share the very features the transfer network is trained to match (VGG statistics), so it would
be easy to fool. The judge is therefore trained apart, by :data:`JUDGE_RECIPE` (from scratch, on
the un-resampled train split, seed :data:`JUDGE_SEED`), and reads no params: only the data.
It is the classifier the default pipeline trained before pretrained backbones existed (the same
recipe and seed give the same weights), so transfer numbers stay comparable across versions.
"""

from __future__ import annotations

from pathlib import Path

import torch

from artstyle.data.dataset import StoreDataset
from artstyle.params import ClassifierParams, ParamsError, _build
from artstyle.training.classifier import ClassifierRun, fit

JUDGE_SEED = 42
# StyleNet from scratch, 8 epochs with logit adjustment: 0.85 test balanced accuracy on the
# default data (`judge_balanced_accuracy` in metrics/transfer.json).
JUDGE_RECIPE = {
    "backbone": "stylenet",
    "weights": "none",
    "freeze": "none",
    "backbone_lr": 0.1,
    "width": 32,
    "depth": 1,
    "stages": 4,
    "style_pool": True,
    "dropout": 0.2,
    "epochs": 8,
    "batch_size": 64,
    "lr": 0.003,
    "weight_decay": 0.05,
    "warmup_epochs": 1,
    "label_smoothing": 0.1,
    "class_weights": "none",
    "sampler": "none",
    "logit_adjustment": True,
    "tau": 1.0,
    "augment": True,
    "num_workers": 0,
    "nproc": 1,
}


def judge_params() -> ClassifierParams:
    """:data:`JUDGE_RECIPE`, validated like params.yaml's classifier section."""
    try:
        return _build(ClassifierParams, dict(JUDGE_RECIPE), "judge.")
    except ParamsError as e:  # a recipe out of step with ClassifierParams is a bug here, not a user error
        raise RuntimeError(f"JUDGE_RECIPE: {e}") from None


def train_judge(
    store_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> ClassifierRun:
    """Train the judge on ``splits_dir/train.csv``, select on ``val.csv`` (both never resampled)."""
    splits_dir = Path(splits_dir)
    train_ds = StoreDataset.from_manifest(store_dir, splits_dir / "train.csv")
    val_ds = StoreDataset.from_manifest(store_dir, splits_dir / "val.csv")
    print(f"judge: StyleNet (fixed recipe), train {len(train_ds)} images, val {len(val_ds)}")
    run = fit(train_ds, val_ds, judge_params(), JUDGE_SEED, live_dir=live_dir, device=device)
    run.checkpoint["judge"] = "artstyle.training.judge.JUDGE_RECIPE"
    return run
