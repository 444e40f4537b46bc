"""The transfer evaluation's judge: a StyleNet trained by one fixed, documented recipe.

``evaluate_transfer`` asks a classifier which style each repainted image shows. If that judge were
the pipeline's own classifier, every classifier experiment (`-S classifier.backbone=vgg19`, `-S
sampling=mean`, ...) would also move the transfer numbers, and a VGG19-based judge would share the
very features the transfer network is trained to match (VGG statistics), so it might be easy to fool
(the second judge below measured it: it is the harder one). The judge is therefore trained apart, by
:data:`JUDGE_RECIPE` (from scratch, on the un-resampled train split, seed :data:`JUDGE_SEED`), and
reads no params: only the data. It is the classifier the default pipeline trained before pretrained
backbones existed (the same recipe and seed give the same weights), so transfer numbers stay
comparable across versions.

A second judge, of another family, checks the first: :data:`VGG_JUDGE_RECIPE` is a linear probe on
the shipped ImageNet VGG19 (the pipeline's default classifier recipe, frozen here in code with its
own seed :data:`VGG_JUDGE_SEED`, on the same un-resampled split). The transfer network trains
against a small pixel convnet (its style critic), much like the StyleNet judge, and never against
a classifier of this family, so what only the StyleNet judge sees may be what two small pixel
convnets agree on. The probe is independent of the critic, not of the style loss: it pools the
mean and std of VGG19 layers, among them the ones the loss matches. ``train_judge`` trains the
StyleNet judge first, exactly as before, then the probe, seeded apart, so the StyleNet judge's
weights do not change.
"""

from __future__ import annotations

from pathlib import Path

import torch

from artstyle.data.dataset import StoreDataset
from artstyle.params import ClassifierParams, ParamsError, _build
from artstyle.training.classifier import ClassifierRun, fit

JUDGE_SEED = 42
# StyleNet from scratch, 8 epochs with logit adjustment; its test balanced accuracy is
# `judge_balanced_accuracy` in metrics/transfer.json.
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


VGG_JUDGE_SEED = 19
# The default classifier's recipe when this judge was added (a VGG19 linear probe, one epoch), fixed
# here: `-S classifier.*` experiments do not move it. `vgg_judge_balanced_accuracy` in
# metrics/transfer.json is its test balanced accuracy.
VGG_JUDGE_RECIPE = {
    **JUDGE_RECIPE,
    "backbone": "vgg19",
    "freeze": "backbone",  # a linear probe: the ImageNet features stay as shipped
    "epochs": 1,
    "warmup_epochs": 0.1,
}


def _recipe_params(recipe: dict, name: str) -> ClassifierParams:
    try:
        return _build(ClassifierParams, dict(recipe), "judge.")
    except ParamsError as e:  # a recipe out of step with ClassifierParams is a bug here, not a user error
        raise RuntimeError(f"{name}: {e}") from None


def judge_params() -> ClassifierParams:
    """:data:`JUDGE_RECIPE`, validated like params.yaml's classifier section."""
    return _recipe_params(JUDGE_RECIPE, "JUDGE_RECIPE")


def vgg_judge_params() -> ClassifierParams:
    """:data:`VGG_JUDGE_RECIPE`, validated like params.yaml's classifier section."""
    return _recipe_params(VGG_JUDGE_RECIPE, "VGG_JUDGE_RECIPE")


def train_judge(
    store_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> ClassifierRun:
    """Train the judge on ``splits_dir/train.csv``, select on ``val.csv`` (both never resampled)."""
    return _train(store_dir, splits_dir, "JUDGE_RECIPE", live_dir=live_dir, device=device)


def train_vgg_judge(
    store_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> ClassifierRun:
    """The second judge (:data:`VGG_JUDGE_RECIPE`), on the same splits as :func:`train_judge`."""
    return _train(store_dir, splits_dir, "VGG_JUDGE_RECIPE", live_dir=live_dir, device=device)


_RECIPES = {
    "JUDGE_RECIPE": ("StyleNet", judge_params, JUDGE_SEED),
    "VGG_JUDGE_RECIPE": ("VGG19 linear probe", vgg_judge_params, VGG_JUDGE_SEED),
}


def _train(
    store_dir: str | Path,
    splits_dir: str | Path,
    recipe: str,
    *,
    live_dir: str | Path | None,
    device: torch.device | None,
) -> ClassifierRun:
    name, cfg, seed = _RECIPES[recipe]
    splits_dir = Path(splits_dir)
    train_ds = StoreDataset.from_manifest(store_dir, splits_dir / "train.csv")
    val_ds = StoreDataset.from_manifest(store_dir, splits_dir / "val.csv")
    print(f"judge: {name} (fixed recipe), train {len(train_ds)} images, val {len(val_ds)}")
    run = fit(train_ds, val_ds, cfg(), seed, live_dir=live_dir, device=device)
    run.checkpoint["judge"] = f"artstyle.training.judge.{recipe}"
    return run
