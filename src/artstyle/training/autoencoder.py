"""Train the ConvAutoencoder (the ``train_autoencoder`` stage) and measure its reconstructions.

The loss has two terms. Reconstruction (``autoencoder.loss``) makes the latent keep the picture.
Distillation (``autoencoder.style_weight``) makes the encoder's style code
(:meth:`ConvAutoencoder.style_code`) predict, through a linear head used only in training, the
VGG19 style statistics of the same painting (:mod:`artstyle.style_statistics`, standardised with
the train images' mean and std). Pixels alone teach the encoder what is where; the teacher's
statistics teach it how the painting is painted, which is what styles differ in. No style label
is read: the datasets carry each image's store row (to look up its teacher statistics) where a
classifier's would carry its label.

Quality is measured, not eyeballed: PSNR, SSIM and sharpness (how much of the paintings' gradient
energy the reconstructions keep: blur lowers it) on the held-out test manifest, validation loss
and PSNR per epoch through dvclive, and the checkpoint kept is the epoch with the lowest
validation loss, both terms (the test split is never used to choose anything).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artstyle import distributed, inference, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.evaluation.image_quality import psnr, sharpness, ssim
from artstyle.losses.reconstruction import LossFn, reconstruction_loss
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.params import AutoencoderParams, Params, to_dict
from artstyle.streaming import LazyRows, chunk_slices, standardiser
from artstyle.style_statistics import DIM as TEACHER_DIM
from artstyle.style_statistics import vgg_style_statistics
from artstyle.training.common import adamw_warmup_cosine
from artstyle.training.loop import Trainer, TrainRun


class Student(nn.Module):
    """The autoencoder plus the linear head that maps its style code to the teacher's statistics.

    ``forward`` returns (reconstruction, predicted statistics): one module for DDP to wrap, so the
    head's gradients are averaged over processes like the autoencoder's. Only the autoencoder is
    kept after training.
    """

    def __init__(self, autoencoder: ConvAutoencoder, teacher_dim: int = TEACHER_DIM) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.head = nn.Linear(autoencoder.style_dim, teacher_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, code = self.autoencoder.encode_with_style(x)
        return self.autoencoder.decode(z), self.head(code)


@dataclass
class Teacher:
    """The standardised VGG19 statistics of every store row, and the loss towards them."""

    targets: torch.Tensor  # [store rows, TEACHER_DIM], standardised with the train rows' mean / std
    weight: float

    @classmethod
    def from_statistics(cls, stats: np.ndarray, train_rows: np.ndarray, weight: float) -> Teacher:
        mean, std = standardiser(LazyRows(lambda rows: stats[rows], np.unique(train_rows)))
        targets = np.empty(stats.shape, dtype=np.float32)  # a chunk at a time: no float64 copy of all rows
        for rows in chunk_slices(len(stats)):
            targets[rows] = (stats[rows].astype(np.float64) - mean) / std
        return cls(torch.from_numpy(targets), weight)

    def loss(self, predicted: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predicted.float(), self.targets[rows.cpu()].to(predicted.device))


def evaluate(
    student: Student,
    loader,
    loss_fn: LossFn,
    teacher: Teacher,
    ctx: distributed.Context,
    desc: str = "eval",
) -> dict[str, float]:
    """Mean loss (both terms), distillation loss, per-pixel MSE, mean per-image PSNR / SSIM and sharpness
    over a loader of (images, store rows), on ``ctx.device``.

    Under torchrun ``loader`` holds this rank's shard: the running sums are added up over all
    ranks, so every rank returns the means over the whole split.
    """
    student.eval()
    n, recon_sum, teach_sum, mse_sum, psnr_sum, ssim_sum, log_sharp_sum = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for (out, pred), (x, rows) in inference.iterate(
        lambda b: student(b[0]), loader, ctx.device, desc=desc if ctx.is_main else None
    ):
        b = x.shape[0]
        recon_sum += float(loss_fn(out, x)) * b
        teach_sum += float(teacher.loss(pred, rows)) * b
        mse_sum += float(F.mse_loss(out, x, reduction="none").flatten(1).mean(1).sum())
        psnr_sum += float(psnr(out, x, reduction="none").sum())
        ssim_sum += float(ssim(out, x, reduction="none").sum())
        log_sharp_sum += float(sharpness(out, x, reduction="none").log().sum())
        n += b
    n, recon_sum, teach_sum, mse_sum, psnr_sum, ssim_sum, log_sharp_sum = distributed.all_reduce_sums(
        [n, recon_sum, teach_sum, mse_sum, psnr_sum, ssim_sum, log_sharp_sum], ctx
    )
    if n == 0:
        raise InputError(f"{desc}: no images to evaluate (its split is empty)")
    return {
        "loss": (recon_sum + teacher.weight * teach_sum) / n,
        "distill": teach_sum / n,
        "mse": mse_sum / n,
        "psnr": psnr_sum / n,
        "ssim": ssim_sum / n,
        "sharpness": math.exp(log_sharp_sum / n),  # geometric mean, as image_quality.sharpness
    }


def one_per_style(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first manifest entry of every style present, in label order."""
    labels = np.asarray(labels)
    present = np.unique(labels)
    first = np.array([int(np.flatnonzero(labels == c)[0]) for c in present], dtype=np.int64)
    return np.asarray(rows)[first], labels[first]


def comparison_image(originals: torch.Tensor, reconstructions: torch.Tensor, columns: int = 9) -> Image.Image:
    """Rows of ``columns`` originals, each above its reconstructions, as one RGB image."""
    from torchvision.utils import make_grid

    blocks = [
        t[i : i + columns] for i in range(0, len(originals), columns) for t in (originals, reconstructions)
    ]
    padded = [
        torch.cat([b, torch.ones(columns - len(b), *b.shape[1:])]) if len(b) < columns else b for b in blocks
    ]
    grid = make_grid(torch.cat(padded).clamp(0, 1), nrow=columns, padding=2, pad_value=1.0)
    return Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


@dataclass
class AutoencoderRun(TrainRun):
    """The best model, test metrics and example images (one test image per style)."""

    style_statistics: np.ndarray | None = None  # the teacher: VGG19 statistics of every store row
    examples: torch.Tensor | None = None  # originals [K, 3, H, W]
    reconstructions: torch.Tensor | None = None  # [K, 3, H, W]
    example_labels: np.ndarray | None = None  # [K]


def train_autoencoder(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
    style_statistics: np.ndarray | None = None,
) -> AutoencoderRun:
    """Train on ``train.csv``, keep the best epoch on ``val.csv``, measure on ``test.csv``.

    Per-epoch train loss, val loss / PSNR / SSIM / sharpness and learning rate are logged with dvclive to
    ``live_dir`` (skipped when ``None``). Under torchrun every rank calls this with the same
    arguments (see :mod:`artstyle.distributed`): ``batch_size`` is per process, training and
    evaluation are sharded, every rank returns the same run, and only rank 0 logs.
    ``style_statistics``: the teacher's statistics of every store row when already computed (they
    depend on the store only, not on any parameter); computed here when ``None``.
    """
    ap: AutoencoderParams = params.autoencoder
    runtime.seed_everything(params.seed)
    ctx = distributed.init(device)
    device = ctx.device
    runtime.configure_torch(device)
    splits_dir = Path(splits_dir)

    images = open_images(store_dir)
    side = int(images.shape[1])
    # Each dataset yields (image, its store row): the row finds the teacher's statistics; the
    # style labels of the manifests are never read here (only to pick the plotted examples).
    manifests = {split: read_manifest(splits_dir / f"{split}.csv") for split in ("train", "val", "test")}
    train_ds, val_ds, test_ds = (StoreDataset(images, rows, rows) for rows, _ in manifests.values())
    if style_statistics is None:
        stats = vgg_style_statistics(images, np.arange(len(images)), device)
    else:
        stats = np.asarray(style_statistics, dtype=np.float32)
    teacher = Teacher.from_statistics(stats, train_ds.rows, ap.style_weight)
    pin = device.type == "cuda"
    sampler = distributed.train_sampler(train_ds, ctx, params.seed) if ctx.distributed else None
    train_loader = make_loader(
        train_ds,
        ap.batch_size,
        shuffle=True,
        sampler=sampler,
        num_workers=ap.num_workers,
        seed=params.seed,
        pin_memory=pin,
    )
    val_loader = make_loader(
        distributed.shard(val_ds, ctx), ap.batch_size, num_workers=ap.num_workers, pin_memory=pin
    )
    test_loader = make_loader(
        distributed.shard(test_ds, ctx), ap.batch_size, num_workers=ap.num_workers, pin_memory=pin
    )

    model = ConvAutoencoder(width=ap.width, latent_channels=ap.latent_channels, image_size=side)
    student = Student(model).to(device, memory_format=runtime.memory_format(device))
    net = distributed.wrap(student, ctx)  # what the training step calls
    loss_fn = reconstruction_loss(ap.loss, ap.loss_mix)
    optimizer, scheduler = adamw_warmup_cosine(
        student, ap.lr, ap.weight_decay, ap.epochs, len(train_loader), ap.warmup_epochs
    )

    def step_loss(net: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, rows = batch
        out, predicted = net(x)
        return loss_fn(out, x) + teacher.weight * teacher.loss(predicted, rows)

    trainer = Trainer(
        model,  # the best epoch's state kept is the autoencoder's; the head is only for training
        step_loss,
        optimizer,
        scheduler,
        device=device,
        net=net,
        ctx=ctx,
    )

    def validate() -> dict[str, float]:
        val = evaluate(student, val_loader, loss_fn, teacher, ctx, desc="val")
        return {
            "val_loss": val["loss"],
            "val_distill": val["distill"],
            "val_psnr": val["psnr"],
            "val_ssim": val["ssim"],
            "val_sharpness": val["sharpness"],
        }

    # A fixed set of test images (one per style), reconstructed after every epoch for dvclive.
    ex_rows, ex_labels = one_per_style(*manifests["test"])
    examples, _ = StoreDataset(images, ex_rows, ex_labels).__getitems__(np.arange(len(ex_rows)))

    def epoch_images() -> dict[str, Image.Image]:
        return {"reconstructions": comparison_image(examples, inference.predict(model, [examples], device))}

    fit = trainer.fit(
        train_loader,
        ap.epochs,
        sampler=sampler,
        validate=validate,
        select=lambda row: -row["val_loss"],
        live_dir=live_dir,
        log_images=epoch_images,
        desc="autoencoder epoch",
    )
    if fit.best_epoch == 0:
        raise RuntimeError(
            f"validation loss was never finite ({fit.history[-1]['val_loss']}): lower autoencoder.lr"
        )
    test = evaluate(student, test_loader, loss_fn, teacher, ctx, desc="test")
    metrics = {
        "test_mse": test["mse"],
        "test_distill": test["distill"],
        "test_psnr": test["psnr"],
        "test_ssim": test["ssim"],
        "test_sharpness": test["sharpness"],
        "compression_ratio": model.compression_ratio,
        "image_size": side,
        "latent_channels": model.latent_channels,
        "latent_side": model.latent_shape[1],
        "style_dim": model.style_dim,
        "best_epoch": fit.best_epoch,
        "best_val_loss": -fit.best_score,
    }
    model.eval()
    recon = inference.predict(model, [examples], device)
    model.cpu().eval()
    return AutoencoderRun(
        model=model,
        metrics=metrics,
        checkpoint={"params": to_dict(ap), "seed": params.seed, "metrics": metrics},
        history=fit.history,
        style_statistics=stats,
        examples=examples,
        reconstructions=recon,
        example_labels=ex_labels,
    )
