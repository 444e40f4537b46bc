"""Train the style-conditioned transfer network (the ``train_transfer`` stage).

Loss per image, for a content image c and a target style s drawn uniformly over the styles that
have training images (all 27 on the default data; a user's subset otherwise):

    content_weight * content(VGG(out)[content_layer], VGG(c)[content_layer])
  + style_weight   * w_s * mean over f in style_pyramid of
                     mean over style_layers of relmse(S(VGG(down_f(out))), S_s,f)
  + tv_weight      * tv(out)
  + adversarial_weight * (-critic(out, s) + critic_classify * CE(classifier(out), s))

where S is each channel's mean and standard deviation (``perceptual.mean_std``), down_f
average-pools by f (1 = the image itself), and S_s,f the style's *target*: the mean of S over
``style_images_per_class`` of that style's training images, downsampled the same way, computed
once before training. The pyramid levels match the same layers at larger scales (see
``perceptual.downsample``). A target built from many paintings describes the style rather than
one painting, if the style's paintings resemble one another. w_s (``style_reliability``,
``style_targets.style_loss_weights``) scales a style's loss down when its target describes its
paintings less well than the typical style's target describes its own, to 0 when the style's
paintings are no nearer to their average than other styles' paintings are (Minimalism: blocks,
stripes and grids on different grounds average to a textured canvas unlike any of them, so
matching it pushes repaintings away from the style); with ``style_reliability: false`` every w_s
is 1. Sampling the style uniformly (instead of following the data's imbalance) gives the rare
styles as many updates as Impressionism. The critic (``training/critic.py``) is a conditional
discriminator trained alongside, on real paintings of each target style: it says what an average
of statistics cannot, what one painting of the style looks like (off with ``adversarial_weight:
0``). Its classifier head, trained on the real paintings too, names their style; the output must
be named s by it (``critic_classify``): looking like *a* painting is not enough, it must look
like this style's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.losses.perceptual import (
    content_loss,
    mean_std,
    pyramid_statistics,
    pyramid_style_distance,
    pyramid_style_loss,
    tv_loss,
)
from artstyle.models.transfer import StyleTransferNet
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import Params, ParamsError, TransferParams, to_dict
from artstyle.training.common import warmup_cosine_scheduler
from artstyle.training.critic import StyleCritic
from artstyle.training.loop import Trainer, TrainRun
from artstyle.training.style_targets import (
    painting_statistics,
    pick_style_rows,
    style_loss_weights,
    style_means,
    style_scales,
    target_reliability,
)


def check_layers(content_layer: str, style_layers: tuple[str, ...] | list[str]) -> str:
    """Validate layer names; return the deepest one needed (where VGG can stop)."""
    for name in (content_layer, *style_layers):
        if name not in LAYERS:
            raise ParamsError(f"transfer: unknown VGG layer {name!r}; allowed: {', '.join(LAYERS)}")
    if not style_layers:
        raise ParamsError("transfer.style_layers: at least one layer is needed")
    return max((content_layer, *style_layers), key=LAYERS.index)


def channel_energy(target: torch.Tensor) -> torch.Tensor:
    """[K, C]: each VGG channel's mean square activation, mean^2 + std^2, of a [K, 2C] mean/std target."""
    mean, std = target.chunk(2, dim=1)
    return mean.pow(2) + std.pow(2)


def style_descriptors(
    targets: dict[str, torch.Tensor], dim: int, seed: int = 0, styles: tuple[int, ...] | None = None
) -> torch.Tensor:
    """[NUM_CLASSES, dim]: a starting point for the style embedding, computed from the style targets.

    Each style is described by the log of its channel energies (every VGG channel's, i.e. which
    colours and textures the style uses), standardised across styles and reduced by PCA to
    ``dim`` whitened coordinates. Styles that look alike start close together, so the shared map
    from embedding to instance-norm scale/shift, which every training image updates, generalises
    across styles from the first step; with a random start, each style's row would learn only from
    the ~1/27 of the images drawn for it (the idea of Ghiasi et al. 2017, who predict the
    embedding from the style image, without their extra network).

    ``styles``: the rows with a target (None = all); the others, absent from the data, stay zero.
    """
    if styles is not None and len(styles) < next(iter(targets.values())).shape[0]:
        full = torch.zeros(next(iter(targets.values())).shape[0], dim)
        full[list(styles)] = style_descriptors({k: t[list(styles)] for k, t in targets.items()}, dim, seed)
        return full
    feats = torch.cat([channel_energy(t).clamp_min(1e-12).log() for t in targets.values()], dim=1)
    if feats.shape[0] > 1:  # one style has no spread to standardise by
        feats = (feats - feats.mean(0)) / feats.std(0).clamp_min(1e-6)
    else:
        feats = torch.zeros_like(feats)
    u, sv, _ = torch.linalg.svd(feats, full_matrices=False)
    k = min(dim, int((sv > 1e-6 * sv[0]).sum()))
    out = torch.zeros(feats.shape[0], dim)
    out[:, :k] = u[:, :k] * (feats.shape[0] ** 0.5)  # whitened: unit variance per coordinate
    if k < dim:  # more coordinates than the styles span: small noise lets training use them
        out[:, k:] = 0.1 * torch.randn(feats.shape[0], dim - k, generator=torch.Generator().manual_seed(seed))
    return out


@dataclass
class StyleTargets:
    """What the style term measures against, fixed before training."""

    styles: tuple[int, ...]  # the styles with training images: the ones the network learns
    targets: dict[str, torch.Tensor]  # {pyramid key: [NUM_CLASSES, 2C]}: each style's mean/std, averaged
    scales: dict[str, float]  # per key: the style loss's normaliser
    reliability: torch.Tensor | None  # [NUM_CLASSES]: r_s of style_targets.target_reliability; None when off
    weights: torch.Tensor | None  # [NUM_CLASSES]: w_s, each style's loss weight; None when off


def style_targets_for(
    tp: TransferParams,
    vgg: VGGFeatures,
    images: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    seed: int,
    device: torch.device,
) -> StyleTargets:
    """Each style's targets from ``style_images_per_class`` of its training paintings, their
    normalisers and, with ``style_reliability``, each style's loss weight."""
    side = int(images.shape[1])
    if side // max(tp.style_pyramid) < 4:
        raise InputError(
            f"transfer.style_pyramid: factor {max(tp.style_pyramid)} leaves fewer than 4 pixels of "
            f"the {side} px images; use factors up to {max(1, side // 4)}"
        )
    style_rows = pick_style_rows(rows, labels, tp.style_images_per_class, seed)
    styles = tuple(sorted(style_rows))
    paintings, owner = painting_statistics(
        vgg, images, style_rows, tp.style_layers, device, statistic=mean_std, pyramid=tp.style_pyramid
    )
    targets = style_means(paintings, owner)
    scales = style_scales(targets, styles)
    reliability = weights = None
    if tp.style_reliability:
        reliability = target_reliability(paintings, owner, targets, scales, styles)
        weights = style_loss_weights(reliability, styles)
    return StyleTargets(styles, targets, scales, reliability, weights)


def build_network(tp: TransferParams, style: StyleTargets, seed: int) -> StyleTransferNet:
    """The network, its style embedding started at :func:`style_descriptors` of the full-resolution targets."""
    model = StyleTransferNet(channels=tp.channels, residual_blocks=tp.residual_blocks, style_dim=tp.style_dim)
    with torch.no_grad():
        full_res = {name: style.targets[name] for name in tp.style_layers}
        model.style_embedding.weight.copy_(style_descriptors(full_res, tp.style_dim, seed, style.styles))
    return model


# The content features kept for reuse (ContentTargets): flat memory at any scale. At 64 px one image's
# relu3_1 features take 128 KB in bf16, so the default data's 3,602 training images all fit.
CONTENT_CACHE_BYTES = 1 << 30


class ContentTargets:
    """The content layer's VGG features of each training image, computed at its first visit and kept.

    Training never augments a content image and draws each about ``steps x batch_size / train
    images`` times (2.7 at the default), so every batch after the first pass over the data needs
    no VGG pass for its targets. VGG's output for one image does not depend on the other images of
    its batch, so the stored features are the ones a fresh pass would give and training is the
    same bit for bit. Up to :data:`CONTENT_CACHE_BYTES`; images beyond it are recomputed.
    """

    def __init__(self, vgg: VGGFeatures, layer: str, limit_bytes: int = CONTENT_CACHE_BYTES) -> None:
        self.vgg, self.layer, self.limit_bytes = vgg, layer, limit_bytes
        self.kept: dict[int, torch.Tensor] = {}
        self.bytes = 0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        keys = rows.tolist()
        if all(k in self.kept for k in keys):
            return torch.stack([self.kept[k] for k in keys]).contiguous(
                memory_format=runtime.memory_format(x.device)
            )
        feats = getattr(self.vgg(x, upto=self.layer), self.layer)
        for k, f in zip(keys, feats):
            if k not in self.kept and self.bytes + f.nbytes <= self.limit_bytes:
                self.kept[k] = f.clone()  # not a view: it would keep the whole batch alive
                self.bytes += f.nbytes
        return feats


class TransferLoss:
    """One step's loss (the module docstring's formula) and its terms, ``loss(net, batch)``: draws
    each content image's target style, then scores the network's repainting of it."""

    def __init__(
        self,
        tp: TransferParams,
        vgg: VGGFeatures,
        style: StyleTargets,
        critic: StyleCritic | None,
        device: torch.device,
        seed: int,
    ) -> None:
        self.tp, self.vgg, self.critic, self.device = tp, vgg, critic, device
        self.deepest = check_layers(tp.content_layer, tp.style_layers)
        self.deepest_style = max(tp.style_layers, key=LAYERS.index)
        self.styles = torch.tensor(style.styles)
        self.targets = {k: v.to(device) for k, v in style.targets.items()}
        self.scales = style.scales
        self.weights = None if style.weights is None else style.weights.to(device)
        self.style_gen = torch.Generator().manual_seed(seed)
        self.content_targets = ContentTargets(vgg, tp.content_layer)

    def draw_styles(self, n: int) -> torch.Tensor:
        """[n] target styles, uniform over the trained ones."""
        return self.styles[torch.randint(0, len(self.styles), (n,), generator=self.style_gen)].to(self.device)

    def style_term(self, out: torch.Tensor, feats: Any, style: torch.Tensor) -> torch.Tensor:
        """The pyramid style loss of ``out`` against its target styles, each image weighted by w_s when on."""
        tp = self.tp
        stats = pyramid_statistics(
            self.vgg, out, tp.style_layers, tp.style_pyramid, mean_std, upto=self.deepest_style, full=feats
        )
        target = {k: t[style] for k, t in self.targets.items()}
        if self.weights is None:
            return pyramid_style_loss(stats, target, self.scales, tp.style_layers, tp.style_pyramid)
        per_image = pyramid_style_distance(stats, target, self.scales, tp.style_layers, tp.style_pyramid)
        return (self.weights[style] * per_image).mean()

    def __call__(self, net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]):
        """``batch``: (content images, their store rows)."""
        tp, (x, rows) = self.tp, batch
        style = self.draw_styles(x.shape[0])
        content_target = self.content_targets(x, rows)
        out = net(x, style)
        feats = self.vgg(out, upto=self.deepest)
        # The style term is built before the content term: the order the graph is built in is the
        # order backward sums the gradients in, and so the trained weights' last bits.
        style_term = self.style_term(out, feats, style)
        terms = {
            "content": content_loss(getattr(feats, tp.content_layer), content_target),
            "style": style_term,
            "tv": tv_loss(out),
        }
        loss = (
            tp.content_weight * terms["content"]
            + tp.style_weight * terms["style"]
            + tp.tv_weight * terms["tv"]
        )
        if self.critic is not None:  # the critic steps first, on this batch's output (training/critic.py)
            terms["critic"] = self.critic.update(out, style)
            terms["adversarial"] = self.critic.generator_loss(out, style)
            loss = loss + tp.adversarial_weight * terms["adversarial"]
        return loss, terms


def summarise(step_logs: list[dict[str, float]], steps: int) -> dict[str, float]:
    """The last tenth of the steps' loss terms, averaged: one batch's loss is too noisy to compare runs by."""
    tail = step_logs[-max(1, steps // 10) :]
    return {"steps": steps, **{f"final_{k}": sum(row[k] for row in tail) / len(tail) for k in tail[0]}}


def checkpoint(
    params: Params, vgg: VGGFeatures, style: StyleTargets, image_size: int, summary: dict[str, float]
) -> dict[str, Any]:
    """What the checkpoint holds besides the network: evaluation measures against exactly these targets."""
    return {
        "params": to_dict(params.transfer),
        "seed": params.seed,
        "image_size": image_size,
        "vgg_source": vgg.source,
        "trained_styles": list(style.styles),
        "style_targets": style.targets,
        "style_scales": style.scales,
        "style_reliability": style.reliability,
        "style_loss_weights": style.weights,
        "summary": summary,
    }


@dataclass
class TransferRun(TrainRun):
    targets: dict[str, torch.Tensor] | None = None  # the style targets the model was trained towards
    scales: dict[str, float] | None = None
    image_size: int = 0  # the side the model was trained at (the store's)


def train_transfer(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    *,
    live_dir: str | Path | None = None,
    device: torch.device | None = None,
) -> TransferRun:
    """Train for ``transfer.steps`` optimiser steps; log the loss terms with dvclive every step."""
    tp: TransferParams = params.transfer
    deepest = check_layers(tp.content_layer, tp.style_layers)
    device = runtime.start(params.seed, device)
    fmt = runtime.memory_format(device)
    images = open_images(store_dir)
    image_size = int(images.shape[1])
    rows, labels = read_manifest(Path(splits_dir) / "train.csv")

    # VGG first, then the network: both draw their initial weights from the seeded generator.
    vgg = VGGFeatures(last=deepest).to(device, memory_format=fmt)
    style = style_targets_for(tp, vgg, images, rows, labels, params.seed, device)
    model = build_network(tp, style, params.seed).to(device, memory_format=fmt)
    critic = None
    if tp.adversarial_weight > 0:
        critic = StyleCritic(
            images,
            rows,
            labels,
            style.styles,
            width=tp.critic_width,
            lr=tp.critic_lr,
            seed=params.seed + 2,
            device=device,
            classify=tp.critic_classify,
        )
    loss = TransferLoss(tp, vgg, style, critic, device, seed=params.seed + 1)

    optimizer = torch.optim.Adam(model.parameters(), lr=tp.lr)
    scheduler = warmup_cosine_scheduler(optimizer, tp.steps, tp.warmup_steps, final_scale=0.1)
    loader = make_loader(
        StoreDataset(images, rows, rows),  # (image, its store row): the row keys ContentTargets
        tp.batch_size,
        shuffle=True,
        num_workers=tp.num_workers,
        seed=params.seed,
        drop_last=len(rows) >= tp.batch_size,
        pin_memory=device.type == "cuda",
    )
    # Style transfer trains in steps, not epochs: one pass over an endless stream of batches.
    steps = itertools.islice(itertools.chain.from_iterable(itertools.repeat(loader)), tp.steps)
    fit = Trainer(model, loss, optimizer, scheduler, device=device).fit(
        steps, 1, live_dir=live_dir, log_steps=True, desc="transfer", steps_per_epoch=tp.steps
    )

    model.cpu().eval()
    summary = summarise(fit.step_logs, tp.steps)
    return TransferRun(
        model=model,
        metrics=summary,
        checkpoint=checkpoint(params, vgg, style, image_size, summary),
        targets=style.targets,
        scales=style.scales,
        image_size=image_size,
    )
