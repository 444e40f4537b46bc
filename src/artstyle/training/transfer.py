"""Train the style-conditioned transfer network (the ``train_transfer`` stage).

Loss per image, for a content image c and a target style s drawn uniformly over the 27 styles:

    content_weight * content(VGG(out)[content_layer], VGG(c)[content_layer])
  + style_weight   * mean over style_layers of relmse(Gram(VGG(out)), G_s)
  + tv_weight      * tv(out)

where G_s is the style's *target* Gram statistics: the mean Gram matrix over
``style_images_per_class`` of that style's training images, computed once before training. A
target built from many paintings describes the style rather than one painting, and sampling the
style uniformly (instead of following the data's imbalance) gives the rare styles as many updates
as Impressionism.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from artstyle import runtime
from artstyle.data.dataset import StoreDataset, make_loader, to_float
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.models.transfer import StyleTransferNet
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import Params, TransferParams, to_dict
from artstyle.perceptual import content_loss, gram_matrix, style_loss, tv_loss
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.common import EpochTimer, open_live, to_device, warmup_cosine_scheduler


def check_layers(content_layer: str, style_layers: tuple[str, ...] | list[str]) -> str:
    """Validate layer names; return the deepest one needed (where VGG can stop)."""
    for name in (content_layer, *style_layers):
        if name not in LAYERS:
            raise ValueError(f"unknown VGG layer {name!r}; allowed: {', '.join(LAYERS)}")
    if not style_layers:
        raise ValueError("style_layers: at least one layer is needed")
    return max((content_layer, *style_layers), key=LAYERS.index)


def pick_style_rows(rows: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> dict[int, np.ndarray]:
    """Up to ``per_class`` distinct store rows of every style (seeded); an error if a style has none."""
    rng = np.random.default_rng(seed)
    picked, missing = {}, []
    for c in range(NUM_CLASSES):
        pool = np.unique(rows[labels == c])  # oversampling repeats rows: a repeat adds no information
        if len(pool) == 0:
            missing.append(STYLES[c])
            continue
        picked[c] = np.sort(rng.choice(pool, size=min(per_class, len(pool)), replace=False))
    if missing:
        raise ValueError(f"no training images for style(s) {', '.join(missing)}: their target Grams are undefined")
    return picked


@torch.no_grad()
def style_targets(
    vgg: VGGFeatures,
    images: np.ndarray,
    style_rows: dict[int, np.ndarray],
    layers: tuple[str, ...] | list[str],
    device: torch.device,
    batch_size: int = 64,
) -> dict[str, torch.Tensor]:
    """``{layer: [NUM_CLASSES, C, C]}``: each style's mean Gram matrix over its chosen images."""
    upto = max(layers, key=LAYERS.index)
    rows = np.concatenate([style_rows[c] for c in sorted(style_rows)])
    owner = torch.from_numpy(np.concatenate([np.full(len(style_rows[c]), c) for c in sorted(style_rows)]))
    counts = torch.bincount(owner, minlength=NUM_CLASSES).clamp_min(1).float()
    targets = {name: torch.zeros(NUM_CLASSES, vgg.channels(name), vgg.channels(name)) for name in layers}
    for start in tqdm(range(0, len(rows), batch_size), desc="target Grams", leave=False):
        x = to_device(to_float(images[rows[start : start + batch_size]]), device)
        with runtime.autocast(device):
            feats = vgg(x, upto=upto)
        for name in layers:
            targets[name].index_add_(0, owner[start : start + batch_size], gram_matrix(getattr(feats, name)).cpu())
    return {name: t / counts.view(-1, 1, 1) for name, t in targets.items()}


def gram_scales(targets: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per-layer normaliser of the style loss: the mean square of all styles' targets."""
    return {name: float(t.pow(2).mean()) for name, t in targets.items()}


def style_descriptors(targets: dict[str, torch.Tensor], dim: int, seed: int = 0) -> torch.Tensor:
    """[NUM_CLASSES, dim]: a starting point for the style embedding, computed from the target Grams.

    Each style is described by the log of its Gram diagonals (the energy of every VGG channel,
    i.e. which colours and textures the style uses), standardised across styles and reduced by
    PCA to ``dim`` whitened coordinates. Styles that look alike start close together, so the
    shared map from embedding to instance-norm scale/shift, which every training image updates,
    generalises across styles from the first step; with a random start, each style's row would
    learn only from the ~1/27 of the images drawn for it (the idea of Ghiasi et al. 2017, who
    predict the embedding from the style image, without their extra network).
    """
    feats = torch.cat([torch.diagonal(t, dim1=1, dim2=2).clamp_min(1e-12).log() for t in targets.values()], dim=1)
    feats = (feats - feats.mean(0)) / feats.std(0).clamp_min(1e-6)
    u, sv, _ = torch.linalg.svd(feats, full_matrices=False)
    k = min(dim, int((sv > 1e-6 * sv[0]).sum()))
    out = torch.zeros(feats.shape[0], dim)
    out[:, :k] = u[:, :k] * (feats.shape[0] ** 0.5)  # whitened: unit variance per coordinate
    if k < dim:  # more coordinates than the styles span: small noise lets training use them
        out[:, k:] = 0.1 * torch.randn(feats.shape[0], dim - k, generator=torch.Generator().manual_seed(seed))
    return out


@dataclass
class TransferRun:
    model: StyleTransferNet
    targets: dict[str, torch.Tensor]  # the target Grams the model was trained towards
    scales: dict[str, float]
    vgg_source: str
    image_size: int  # the side the model was trained at (the store's)
    summary: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)


def _cycle(loader):
    while True:
        yield from loader


def train_transfer(
    params: Params,
    store_dir: str | Path,
    manifests_dir: str | Path,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> TransferRun:
    """Train for ``transfer.steps`` optimiser steps; log the loss terms with dvclive every step."""
    tp: TransferParams = params.transfer
    deepest = check_layers(tp.content_layer, tp.style_layers)
    runtime.seed_everything(params.seed)
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    fmt = runtime.memory_format(device)

    images = open_images(store_dir)
    rows, labels = read_manifest(Path(manifests_dir) / "train.csv")
    vgg = VGGFeatures(last=deepest).to(device, memory_format=fmt)
    targets = style_targets(
        vgg, images, pick_style_rows(rows, labels, tp.style_images_per_class, params.seed), tp.style_layers, device
    )
    scales = gram_scales(targets)
    targets_dev = {k: v.to(device) for k, v in targets.items()}

    model = StyleTransferNet(
        width=tp.width, residual_blocks=tp.residual_blocks, style_dim=tp.style_dim, conditioning=tp.conditioning
    )
    with torch.no_grad():
        model.style_embedding.weight.copy_(style_descriptors(targets, tp.style_dim, params.seed))
    model.to(device, memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=tp.lr)
    scheduler = warmup_cosine_scheduler(optimizer, tp.steps, tp.warmup_steps, final_scale=0.1)
    loader = make_loader(
        StoreDataset(images, rows, labels), tp.batch_size, shuffle=True, num_workers=tp.num_workers,
        seed=params.seed, drop_last=len(rows) >= tp.batch_size, pin_memory=device.type == "cuda",
    )
    style_gen = torch.Generator().manual_seed(params.seed + 1)

    live = open_live(live_dir)
    # The summary averages the last tenth of the steps: one batch's loss is too noisy to compare runs by.
    tail: deque[dict[str, float]] = deque(maxlen=max(1, tp.steps // 10))
    model.train()
    try:
        with EpochTimer() as timer:
            bar = tqdm(zip(range(tp.steps), _cycle(loader)), total=tp.steps, desc="transfer", leave=False)
            for step, (x, _) in bar:
                x = to_device(x, device)
                style = torch.randint(0, NUM_CLASSES, (x.shape[0],), generator=style_gen).to(device)
                with runtime.autocast(device):
                    with torch.no_grad():
                        content_target = getattr(vgg(x, upto=tp.content_layer), tp.content_layer)
                    out = model(x, style)
                    feats = vgg(out, upto=deepest)
                grams = [gram_matrix(getattr(feats, name)) for name in tp.style_layers]
                terms = {
                    "content": content_loss(getattr(feats, tp.content_layer), content_target),
                    "style": style_loss(grams, [targets_dev[n][style] for n in tp.style_layers],
                                        [scales[n] for n in tp.style_layers]),
                    "tv": tv_loss(out),
                }
                loss = tp.content_weight * terms["content"] + tp.style_weight * terms["style"] + tp.tv_weight * terms["tv"]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                timer.add(x.shape[0])

                last = {"loss": loss.item(), **{k: v.item() for k, v in terms.items()}}
                tail.append(last)
                bar.set_postfix(content=f"{last['content']:.3f}", style=f"{last['style']:.3f}")
                if live is not None:
                    for k, v in last.items():
                        live.log_metric(f"train/{k}", v)
                    live.log_metric("lr", optimizer.param_groups[0]["lr"])
                    live.next_step()
    finally:
        if live is not None:
            live.end()

    model.cpu().eval()
    summary = {
        "steps": tp.steps,
        "images_per_second": timer.images_per_second,
        "seconds": timer.seconds,
        **{f"final_{k}": sum(row[k] for row in tail) / len(tail) for k in tail[0]},
    }
    return TransferRun(model=model, targets=targets, scales=scales, vgg_source=vgg.source,
                       image_size=int(images.shape[1]), summary=summary,
                       params=to_dict(tp))
