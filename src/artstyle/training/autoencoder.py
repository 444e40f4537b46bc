"""Train the ConvAutoencoder (the ``train_autoencoder`` stage) and measure its reconstructions.

Quality is measured, not eyeballed: PSNR and SSIM on the held-out test manifest, validation loss
and PSNR per epoch through dvclive, and the checkpoint kept is the epoch with the lowest
validation loss (the test split is never used to choose anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artstyle import distributed, inference, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.evaluation.image_quality import psnr, ssim
from artstyle.losses.reconstruction import LossFn, reconstruction_loss
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.params import AutoencoderParams, Params, to_dict
from artstyle.training.common import adamw_warmup_cosine
from artstyle.training.loop import Trainer, TrainRun


def evaluate(
    model: ConvAutoencoder, loader, loss_fn: LossFn, ctx: distributed.Context, desc: str = "eval"
) -> dict[str, float]:
    """Mean loss, per-pixel MSE, and mean per-image PSNR / SSIM over a loader, on ``ctx.device``.

    Under torchrun ``loader`` holds this rank's shard: the running sums are added up over all
    ranks, so every rank returns the means over the whole split.
    """
    model.eval()
    n, loss_sum, mse_sum, psnr_sum, ssim_sum = 0, 0.0, 0.0, 0.0, 0.0
    for out, (x, _) in inference.iterate(
        lambda b: model(b[0]), loader, ctx.device, desc=desc if ctx.is_main else None
    ):
        b = x.shape[0]
        loss_sum += float(loss_fn(out, x)) * b
        mse_sum += float(F.mse_loss(out, x, reduction="none").flatten(1).mean(1).sum())
        psnr_sum += float(psnr(out, x, reduction="none").sum())
        ssim_sum += float(ssim(out, x, reduction="none").sum())
        n += b
    n, loss_sum, mse_sum, psnr_sum, ssim_sum = distributed.all_reduce_sums(
        [n, loss_sum, mse_sum, psnr_sum, ssim_sum], ctx
    )
    if n == 0:
        raise InputError(f"{desc}: no images to evaluate (its split is empty)")
    return {"loss": loss_sum / n, "mse": mse_sum / n, "psnr": psnr_sum / n, "ssim": ssim_sum / n}


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
) -> AutoencoderRun:
    """Train on ``train.csv``, keep the best epoch on ``val.csv``, measure on ``test.csv``.

    Per-epoch train loss, val loss / PSNR / SSIM and learning rate are logged with dvclive to
    ``live_dir`` (skipped when ``None``). Under torchrun every rank calls this with the same
    arguments (see :mod:`artstyle.distributed`): ``batch_size`` is per process, training and
    evaluation are sharded, every rank returns the same run, and only rank 0 logs.
    """
    ap: AutoencoderParams = params.autoencoder
    runtime.seed_everything(params.seed)
    ctx = distributed.init(device)
    device = ctx.device
    runtime.configure_torch(device)
    splits_dir = Path(splits_dir)

    images = open_images(store_dir)
    side = int(images.shape[1])
    train_ds = StoreDataset(images, *read_manifest(splits_dir / "train.csv"))
    val_ds = StoreDataset(images, *read_manifest(splits_dir / "val.csv"))
    test_ds = StoreDataset(images, *read_manifest(splits_dir / "test.csv"))
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
    model.to(device, memory_format=runtime.memory_format(device))
    net = distributed.wrap(model, ctx)  # what the training step calls; `model` stays the plain module
    loss_fn = reconstruction_loss(ap.loss, ap.loss_mix)
    optimizer, scheduler = adamw_warmup_cosine(
        model, ap.lr, ap.weight_decay, ap.epochs, len(train_loader), ap.warmup_epochs
    )
    trainer = Trainer(
        model,
        lambda net, batch: loss_fn(net(batch[0]), batch[0]),
        optimizer,
        scheduler,
        device=device,
        net=net,
        ctx=ctx,
    )

    def validate() -> dict[str, float]:
        val = evaluate(model, val_loader, loss_fn, ctx, desc="val")
        return {"val_loss": val["loss"], "val_psnr": val["psnr"], "val_ssim": val["ssim"]}

    # A fixed set of test images (one per style), reconstructed after every epoch for dvclive.
    ex_rows, ex_labels = one_per_style(test_ds.rows, test_ds.labels)
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
    test = evaluate(model, test_loader, loss_fn, ctx, desc="test")
    metrics = {
        "test_mse": test["mse"],
        "test_psnr": test["psnr"],
        "test_ssim": test["ssim"],
        "compression_ratio": model.compression_ratio,
        "image_size": side,
        "latent_channels": model.latent_channels,
        "latent_side": model.latent_shape[1],
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
        examples=examples,
        reconstructions=recon,
        example_labels=ex_labels,
    )
