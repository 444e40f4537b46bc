"""Training the style classifier: augmentation, imbalance strategies and the fit loop.

The course's classifier "learned nothing": labels came from folder listing order, then the model
collapsed to the majority class and accuracy was the only number anyone looked at. Here labels come
from :mod:`artstyle.styles` through the manifests, the checkpoint is selected on validation
*balanced* accuracy (mean per-class recall, which a majority-class predictor cannot game), and
every imbalance strategy (loss weights, a weighted sampler, logit adjustment) is one params key,
combinable with the upstream ``sampling`` of the manifests.

The strategies correct the same thing in different places: oversampled manifests and the weighted
sampler change which images the loss sees, class weights change how much each counts, logit
adjustment changes the decision margins. The prior for logit adjustment is the class distribution
of the training manifest (after ``sampling``), so stacking it on the weighted sampler or on class
weights corrects twice and tilts predictions towards the rare styles; compare such combinations on
balanced accuracy *and* accuracy.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import WeightedRandomSampler

from artstyle import distributed, inference, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.train_set import open_train_set
from artstyle.losses.imbalance import adjust_logits, class_counts, class_prior, class_weights
from artstyle.models.backbones import build_classifier
from artstyle.models.layers import ClassifierBase
from artstyle.params import ClassifierParams, Params, to_dict
from artstyle.styles import NUM_CLASSES, trained_styles
from artstyle.training.common import adamw_warmup_cosine
from artstyle.training.loop import Trainer, TrainRun


class StyleAugment:
    """Batch-level random resized crop + horizontal flip, one ``grid_sample`` on the batch's device.

    The crop keeps 60-100% of the area (aspect 3:4 to 4:3): mild, because enlarging a small crop
    also enlarges the brush strokes, dots and hatching whose scale is itself a style cue. A flip
    changes no style. There is deliberately no colour jitter: palette (Fauvism's saturation,
    Baroque's dark ground, Ukiyo-e's muted blues) is one of the strongest style signals, and
    jittering hue or saturation would teach the network to ignore it.
    """

    def __init__(
        self,
        seed: int,
        device: torch.device,
        scale: tuple[float, float] = (0.6, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ) -> None:
        self.scale = scale
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def _uniform(self, n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=self.generator, device=device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b, dev = x.shape[0], x.device
        area = self._uniform(b, *self.scale, dev)
        ratio = self._uniform(b, *self.log_ratio, dev).exp()
        # Crop width/height as fractions of the image (clamped: extreme ratios can exceed it).
        w = (area * ratio).sqrt().clamp(max=1.0)
        h = (area / ratio).sqrt().clamp(max=1.0)
        # grid_sample coordinates span [-1, 1], so a crop of relative size w can be centred anywhere
        # in [-(1 - w), 1 - w].
        cx = (2 * torch.rand(b, generator=self.generator, device=dev) - 1) * (1 - w)
        cy = (2 * torch.rand(b, generator=self.generator, device=dev) - 1) * (1 - h)
        flip = torch.where(torch.rand(b, generator=self.generator, device=dev) < 0.5, -1.0, 1.0)
        theta = torch.zeros(b, 2, 3, device=dev, dtype=x.dtype)
        theta[:, 0, 0] = w * flip
        theta[:, 0, 2] = cx
        theta[:, 1, 1] = h
        theta[:, 1, 2] = cy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def balancing_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sample weights 1 / count(class): every class equally likely in a weighted draw."""
    return 1.0 / class_counts(labels)[np.asarray(labels, dtype=np.int64)]


def weighted_sampler(labels: np.ndarray, seed: int) -> WeightedRandomSampler:
    """Draws ``len(labels)`` indices with replacement, each class equally likely in expectation."""
    return WeightedRandomSampler(
        torch.as_tensor(balancing_weights(labels), dtype=torch.double),
        num_samples=len(labels),
        replacement=True,
        generator=torch.Generator().manual_seed(seed),
    )


def build_model(cfg: ClassifierParams) -> ClassifierBase:
    """The classifier of ``cfg.backbone`` with its initial weights, frozen as ``cfg.freeze`` says.

    Frozen before :func:`artstyle.distributed.wrap`: DDP registers the parameters that require
    grad when it is built, and every one of those is used in each forward, so it needs no
    ``find_unused_parameters``.
    """
    model = build_classifier(cfg, NUM_CLASSES)
    model.freeze(cfg.freeze)
    return model


def param_groups(model: ClassifierBase, cfg: ClassifierParams) -> list[dict]:
    """The optimiser's parameter groups: trainable parameters only.

    A pretrained backbone learns at ``lr * backbone_lr`` (its features are already good: a full
    rate would overwrite them with what a few epochs of a small data set teach), the new head at
    ``lr``. A backbone from scratch (StyleNet, ``weights: none``) has nothing to preserve: one
    group at ``lr``, all parameters in model order, as before backbones existed.
    """
    if not model.pretrained:
        return [{"name": "all", "params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.lr}]
    head = [p for p in model.head_parameters() if p.requires_grad]
    backbone = [p for p in model.backbone_parameters() if p.requires_grad]
    groups = [{"name": "head", "params": head, "lr": cfg.lr}]
    if backbone:
        groups.append({"name": "backbone", "params": backbone, "lr": cfg.lr * cfg.backbone_lr})
    return groups


@dataclass
class ClassifierSetup:
    """The model, loader, augmentation, loss and optimiser, set up as training sets them up.

    :func:`fit` trains with it and the training benchmark (:mod:`artstyle.bench.train`) times its
    ``trainer.step`` as it is: both get the same weights, shuffle order and augmentations.
    """

    trainer: Trainer
    loader: torch.utils.data.DataLoader
    sampler: torch.utils.data.Sampler | None
    ctx: distributed.Context
    counts: np.ndarray
    prior: np.ndarray


def setup(
    train_ds: StoreDataset,
    cfg: ClassifierParams,
    seed: int,
    device: torch.device | None = None,
    *,
    compile: bool = False,
    schedule_epochs: float | None = None,
) -> ClassifierSetup:
    """Seed, build and wire everything a classifier training run needs, in a fixed order.

    ``schedule_epochs``: the LR schedule's length (default ``cfg.epochs``), fractional for a run of
    a fixed number of steps (the backbone benchmark's time budget); the warmup keeps its share.
    """
    ctx = distributed.init(device)
    device = ctx.device
    runtime.configure_torch(device)
    runtime.seed_everything(seed)
    model = build_model(cfg).to(device=device, memory_format=runtime.memory_format(device))
    net = distributed.wrap(model, ctx)  # what the training step calls; `model` stays the plain module
    if compile:
        net = torch.compile(net)  # shares the model's parameters
    train_labels = train_ds.labels
    counts = class_counts(train_labels)
    prior = class_prior(train_labels)
    log_prior = torch.as_tensor(np.log(prior), dtype=torch.float32, device=device)
    weights = class_weights(train_labels, cfg.class_weights)
    weight_t = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=device)

    weighted = cfg.sampler == "weighted"
    if ctx.distributed:
        sampler = distributed.train_sampler(
            train_ds, ctx, seed, weights=balancing_weights(train_labels) if weighted else None
        )
    else:
        sampler = weighted_sampler(train_labels, seed) if weighted else None
    # drop_last keeps a size-1 remainder batch away from BatchNorm (an error on 1x1 maps).
    loader = make_loader(
        train_ds,
        cfg.batch_size,
        shuffle=True,
        sampler=sampler,
        num_workers=cfg.num_workers,
        seed=seed,
        drop_last=(len(train_ds) if sampler is None else len(sampler)) > cfg.batch_size,
        pin_memory=device.type == "cuda",
    )
    # Each rank its own augmentation and dropout draws: with one seed for all, the i-th image of
    # every rank's batch would get the same crop and dropout mask. Rank 0 keeps the plain seed.
    augment = StyleAugment(seed + ctx.rank, device) if cfg.augment else None
    if ctx.distributed:
        torch.manual_seed(seed + ctx.rank)

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        if augment is not None:
            x = augment(x)
        logits = net(x).float()
        if cfg.logit_adjustment:
            logits = adjust_logits(logits, log_prior, cfg.tau)
        return F.cross_entropy(logits, y, weight=weight_t, label_smoothing=cfg.label_smoothing)

    epochs, warmup = cfg.epochs, cfg.warmup_epochs
    if schedule_epochs is not None:
        epochs, warmup = schedule_epochs, cfg.warmup_epochs * schedule_epochs / cfg.epochs
    optimizer, scheduler = adamw_warmup_cosine(
        param_groups(model, cfg), cfg.lr, cfg.weight_decay, epochs, len(loader), warmup
    )
    trainer = Trainer(model, loss_fn, optimizer, scheduler, device=device, net=net, ctx=ctx)
    return ClassifierSetup(
        trainer=trainer, loader=loader, sampler=sampler, ctx=ctx, counts=counts, prior=prior
    )


@dataclass
class ClassifierRun(TrainRun):
    best_epoch: int = 0  # 1-based
    best_val_balanced_accuracy: float = 0.0
    # What the run cost: train images per epoch and wall time. Kept out of the metrics and the
    # checkpoint (which must be byte-identical on a rerun); the stage writes it to its own file.
    cost: dict[str, float] = field(default_factory=dict)


def fit(
    train_ds: StoreDataset,
    val_ds: StoreDataset,
    cfg: ClassifierParams,
    seed: int,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> ClassifierRun:
    """Train the classifier of ``cfg.backbone`` on ``train_ds``; keep the epoch with the best validation balanced accuracy.

    Under torchrun every rank calls this with the same arguments (see :mod:`artstyle.distributed`):
    ``cfg.batch_size`` is per process, each rank trains on its shard of every epoch and evaluates
    its shard of ``val_ds``, all ranks return the same model and history, and only rank 0 logs.
    """
    s = setup(train_ds, cfg, seed, device)
    ctx, model = s.ctx, s.trainer.model
    val_loader = make_loader(
        distributed.shard(val_ds, ctx),
        cfg.batch_size,
        num_workers=cfg.num_workers,
        seed=seed,
        pin_memory=ctx.device.type == "cuda",
    )
    # Without a validation split there is nothing to select on: keep the last epoch.
    result = s.trainer.fit(
        s.loader,
        cfg.epochs,
        sampler=s.sampler,
        validate=lambda: validate(model, val_loader, ctx),
        select=(lambda row: row["val_balanced_accuracy"]) if len(val_ds) else (lambda row: None),
        live_dir=live_dir,
        summary=lambda r: {"best/epoch": r.best_epoch, "best/val_balanced_accuracy": r.best_score},
        desc="epoch",
        progress=progress,
    )
    best = result.best_score if result.best_score is not None else result.history[-1]["val_balanced_accuracy"]
    checkpoint = {
        "seed": seed,
        "image_size": int(train_ds.images.shape[1]),  # the side it was trained at: what `classify` feeds it
        "params": {"seed": seed, "classifier": to_dict(cfg)},
        "best_epoch": result.best_epoch,
        "best_val_balanced_accuracy": float(best),
        "train_counts": s.counts.tolist(),
        # The styles with training images: the ones the model can name (evaluation masks the rest).
        "trained_styles": list(trained_styles(np.flatnonzero(s.counts))),
        "prior": s.prior.tolist(),
        "history": result.history,
    }
    images_per_epoch = len(s.sampler) if s.sampler is not None else len(train_ds)
    seconds = result.train_seconds
    return ClassifierRun(
        cost={
            "train_images_per_epoch": images_per_epoch,
            "train_seconds": round(seconds, 1),
            "train_images_per_second": round(runtime.per_second(images_per_epoch * cfg.epochs, seconds), 1),
        },
        model=model.cpu().eval(),
        metrics={"best_epoch": result.best_epoch, "best_val_balanced_accuracy": float(best)},
        checkpoint=checkpoint,
        history=result.history,
        best_epoch=result.best_epoch,
        best_val_balanced_accuracy=float(best),
    )


def validate(model: torch.nn.Module, loader, ctx: distributed.Context) -> dict[str, float]:
    """Plain (unweighted, unsmoothed, unadjusted) loss, accuracy and balanced accuracy.

    The validation loss ignores the training strategy on purpose, so runs with different
    weights / smoothing / logit adjustment stay comparable on one curve. Under torchrun
    ``loader`` holds this rank's shard; the metrics are computed from every rank's logits
    (balanced accuracy needs all predictions, not per-rank means), the same on every rank.
    """
    from sklearn.metrics import balanced_accuracy_score

    logits, labels = inference.predict_labelled(model, loader, ctx.device)
    logits, labels = distributed.gather_shards(logits, ctx), distributed.gather_shards(labels, ctx)
    if len(labels) == 0:
        return {"val_loss": float("nan"), "val_accuracy": 0.0, "val_balanced_accuracy": 0.0}
    loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()
    pred = logits.argmax(1)
    with (
        warnings.catch_warnings()
    ):  # "y_pred contains classes not in y_true": those are left out, as intended
        warnings.simplefilter("ignore")
        balanced = float(balanced_accuracy_score(labels, pred))
    return {
        "val_loss": float(loss),
        "val_accuracy": float((pred == labels).mean()),
        "val_balanced_accuracy": balanced,
    }


def train_classifier(
    params: Params,
    store_dir: str | Path,
    train_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> ClassifierRun:
    """Train on ``train_dir`` (``data/oversampled``: resampled, with any SMOTE images), select on
    ``splits_dir/val.csv`` (real images, never resampled)."""
    cfg = params.classifier
    train_ds = StoreDataset(*open_train_set(store_dir, train_dir))
    val_ds = StoreDataset.from_manifest(store_dir, Path(splits_dir) / "val.csv")
    synthetic = int((train_ds.rows >= len(train_ds.images.store)).sum())
    if distributed.is_main():
        print(
            f"train {len(train_ds)} images ({synthetic} synthetic), val {len(val_ds)}; "
            f"backbone={cfg.backbone} freeze={cfg.freeze} "
            f"class_weights={cfg.class_weights} "
            f"sampler={cfg.sampler} logit_adjustment={cfg.logit_adjustment} (tau={cfg.tau})"
        )
    run = fit(train_ds, val_ds, cfg, params.seed, live_dir=live_dir, device=device)
    run.cost["synthetic_images"] = synthetic
    return run
