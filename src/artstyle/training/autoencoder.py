"""Train the ConvAutoencoder (the ``train_autoencoder`` stage) and measure its reconstructions.

Quality is measured, not eyeballed: PSNR and SSIM on the held-out test manifest, validation loss
and PSNR per epoch through dvclive, and the checkpoint kept is the epoch with the lowest
validation loss (the test split is never used to choose anything).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from artstyle import distributed, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.evaluation.image_quality import psnr, ssim, ssim_loss
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.params import AutoencoderParams, Params, to_dict
from artstyle.training.common import adamw_warmup_cosine, open_live, to_device

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reconstruction_loss(kind: str, mix: float) -> LossFn:
    """``(1 - mix) * MSE + mix * second`` with second = L1 or 1 - SSIM; plain MSE for ``"mse"``.

    MSE alone is what PSNR rewards but it averages away fine texture (blur costs little); L1 and
    SSIM penalise blurred edges and lost local contrast more, which is what brush strokes are.
    """
    if kind == "mse":
        return lambda out, x: F.mse_loss(out.float(), x.float())
    if kind == "mse+l1":
        return lambda out, x: (
            (1 - mix) * F.mse_loss(out.float(), x.float()) + mix * F.l1_loss(out.float(), x.float())
        )
    if kind == "mse+ssim":
        return lambda out, x: (1 - mix) * F.mse_loss(out.float(), x.float()) + mix * ssim_loss(out, x)
    raise ValueError(f"unknown loss {kind!r}; allowed: mse, mse+l1, mse+ssim")


@torch.no_grad()
def evaluate(
    model: ConvAutoencoder, loader, loss_fn: LossFn, ctx: distributed.Context, desc: str = "eval"
) -> dict[str, float]:
    """Mean loss, per-pixel MSE, and mean per-image PSNR / SSIM over a loader, on ``ctx.device``.

    Under torchrun ``loader`` holds this rank's shard: the running sums are added up over all
    ranks, so every rank returns the means over the whole split.
    """
    device = ctx.device
    model.eval()
    n, loss_sum, mse_sum, psnr_sum, ssim_sum = 0, 0.0, 0.0, 0.0, 0.0
    for x, _ in tqdm(loader, desc=desc, leave=False, disable=not ctx.is_main):
        x = to_device(x, device)
        with runtime.autocast(device):
            out = model(x)
        out = out.float()
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
        raise ValueError(f"{desc}: no images to evaluate")
    return {"loss": loss_sum / n, "mse": mse_sum / n, "psnr": psnr_sum / n, "ssim": ssim_sum / n}


def one_per_style(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first manifest entry of every style present, in label order."""
    labels = np.asarray(labels)
    present = np.unique(labels)
    first = np.array([int(np.flatnonzero(labels == c)[0]) for c in present], dtype=np.int64)
    return np.asarray(rows)[first], labels[first]


@torch.no_grad()
def reconstruct(model: ConvAutoencoder, images: torch.Tensor, device) -> torch.Tensor:
    """Reconstructions of a float [B, 3, H, W] batch, on the CPU in float32."""
    model.eval()
    x = to_device(images, device)
    with runtime.autocast(device):
        out = model(x)
    return out.float().cpu()


@dataclass
class AutoencoderRun:
    """Everything the stage writes: the best model, its args, test metrics and example images."""

    model: ConvAutoencoder
    metrics: dict[str, Any]
    examples: torch.Tensor  # originals, one test image per style [K, 3, H, W]
    reconstructions: torch.Tensor  # [K, 3, H, W]
    example_labels: np.ndarray  # [K]
    history: list[dict[str, float]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def train_autoencoder(
    params: Params,
    store_dir: str | Path,
    manifests_dir: str | Path,
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
    manifests_dir = Path(manifests_dir)

    images = open_images(store_dir)
    side = int(images.shape[1])
    train_ds = StoreDataset(images, *read_manifest(manifests_dir / "train.csv"))
    val_ds = StoreDataset(images, *read_manifest(manifests_dir / "val.csv"))
    test_ds = StoreDataset(images, *read_manifest(manifests_dir / "test.csv"))
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
    fmt = runtime.memory_format(device)
    model.to(device, memory_format=fmt)
    net = distributed.wrap(model, ctx)  # what the training step calls; `model` stays the plain module
    loss_fn = reconstruction_loss(ap.loss, ap.loss_mix)
    optimizer, scheduler = adamw_warmup_cosine(
        model, ap.lr, ap.weight_decay, ap.epochs, len(train_loader), ap.warmup_epochs
    )

    live = open_live(live_dir) if ctx.is_main else None
    history: list[dict[str, float]] = []
    best_val, best_state, best_epoch = math.inf, None, -1
    try:
        for epoch in range(ap.epochs):
            if ctx.distributed:
                sampler.set_epoch(epoch)
            net.train()
            loss_sum, seen = 0.0, 0
            bar = tqdm(
                train_loader,
                desc=f"autoencoder epoch {epoch + 1}/{ap.epochs}",
                leave=False,
                disable=not ctx.is_main,
            )
            for x, _ in bar:
                x = to_device(x, device)
                with runtime.autocast(device):
                    out = net(x)
                loss = loss_fn(out, x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += float(loss.detach()) * x.shape[0]
                seen += x.shape[0]
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
            distributed.sync_buffers(model, ctx)
            # The plain module: evaluation shards may differ in length, and a DDP forward is a
            # collective every rank would have to join.
            val = evaluate(model, val_loader, loss_fn, ctx, desc="val")
            loss_sum, seen = distributed.all_reduce_sums([loss_sum, seen], ctx)
            row = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(1, seen),
                "val_loss": val["loss"],
                "val_psnr": val["psnr"],
                "val_ssim": val["ssim"],
                "lr": optimizer.param_groups[0]["lr"],
            }
            history.append(row)
            if ctx.is_main:
                tqdm.write(
                    f"epoch {epoch + 1}: train loss {row['train_loss']:.4f}, val loss {val['loss']:.4f}, "
                    f"val PSNR {val['psnr']:.2f} dB, val SSIM {val['ssim']:.3f}"
                )
            if live is not None:
                live.log_metric("train/loss", row["train_loss"])
                live.log_metric("val/loss", row["val_loss"])
                live.log_metric("val/psnr", row["val_psnr"])
                live.log_metric("val/ssim", row["val_ssim"])
                live.log_metric("lr", row["lr"])
                live.next_step()
            # Val metrics are summed over all ranks, so every rank keeps the same epoch.
            if val["loss"] < best_val:
                best_val, best_epoch = val["loss"], epoch + 1
                best_state = copy.deepcopy(model.state_dict())
    finally:
        if live is not None:
            live.end()

    if best_state is None:
        raise RuntimeError(
            f"validation loss was never finite ({history[-1]['val_loss']}): lower autoencoder.lr"
        )
    model.load_state_dict(best_state)
    test = evaluate(model, test_loader, loss_fn, ctx, desc="test")
    metrics = {
        "test_mse": test["mse"],
        "test_psnr": test["psnr"],
        "test_ssim": test["ssim"],
        "compression_ratio": model.compression_ratio,
        "image_size": side,
        "latent_channels": model.latent_channels,
        "latent_side": model.latent_shape[1],
        "best_epoch": best_epoch,
        "best_val_loss": best_val,
    }
    ex_rows, ex_labels = one_per_style(test_ds.rows, test_ds.labels)
    examples, _ = StoreDataset(images, ex_rows, ex_labels).__getitems__(np.arange(len(ex_rows)))
    recon = reconstruct(model, examples, device)
    model.cpu().eval()
    return AutoencoderRun(
        model=model,
        metrics=metrics,
        examples=examples,
        reconstructions=recon,
        example_labels=ex_labels,
        history=history,
        params=to_dict(ap),
    )
