"""Perceptual losses on VGG features: style statistics (per-channel mean/std for the transfer
network, Gram matrices for the style embedder), content, style and total variation.

Content and style losses are *relative* squared errors (divided by the mean square of the target),
so every layer contributes on the same scale and ``content_weight`` / ``style_weight`` keep their
meaning whichever VGG weights (torchvision or Caffe, whose activations differ ~100x) are loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, C]: channel co-activations averaged over positions and channels.

    Dividing by C*H*W (as in Johnson et al. / fast_neural_style) makes the Gram of one image
    comparable to the Gram of another at a different resolution.
    """
    b, c, h, w = features.shape
    # float32 even under bf16 autocast (which would run bmm in bf16): the sum over H*W positions
    # loses precision in bf16.
    with torch.autocast(features.device.type, enabled=False):
        f = features.float().reshape(b, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def mean_std(features: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, 2C]: each channel's mean and standard deviation over positions.

    The statistics adaptive instance norm transfers (Huang & Belongie 2017): how strongly and how
    variably each feature fires, without the C x C co-activations a Gram matrix adds. Like
    :func:`gram_matrix`, independent of the resolution and computed in float32.
    """
    with torch.autocast(features.device.type, enabled=False):
        f = features.float().flatten(2)
        return torch.cat([f.mean(2), (f.var(2, unbiased=False) + 1e-5).sqrt()], dim=1)


Statistic = Callable[[torch.Tensor], torch.Tensor]  # features [B, C, H, W] -> one style statistic per image


def downsample(images: torch.Tensor, factor: int) -> torch.Tensor:
    """``images`` average-pooled by ``factor`` (1 = unchanged): a level of the style pyramid.

    The same VGG layers on a 4x smaller image respond to structures 4x larger: at 64 px,
    ``relu3_1`` sees ~1/3 of the picture instead of ~1/12, the scale of Colour Field bands and
    Minimalist blocks rather than of brush strokes, at 1/16 of the cost of going deeper in VGG.
    """
    return images if factor == 1 else F.avg_pool2d(images, factor)


def pyramid_key(layer: str, factor: int) -> str:
    """The style-target key of ``layer`` at downsampling ``factor``: ``relu2_1``, ``relu2_1@4``."""
    return layer if factor == 1 else f"{layer}@{factor}"


def pyramid_statistics(
    vgg: Any,
    images: torch.Tensor,
    layers: Sequence[str],
    pyramid: Sequence[int],
    statistic: Statistic,
    *,
    upto: str,
    full: Any = None,
) -> dict[str, torch.Tensor]:
    """``{pyramid_key(layer, f): statistic(features)}`` of ``images`` for every layer at every pyramid level f.

    ``vgg(x, upto=...)`` gives the features; ``full``, when given, is VGG of ``images`` already
    computed (the loss has it for the content term) and is reused for level 1.
    """
    out = {}
    for f in pyramid:
        feats = full if (f == 1 and full is not None) else vgg(downsample(images, f), upto=upto)
        for name in layers:
            out[pyramid_key(name, f)] = statistic(getattr(feats, name))
    return out


def pyramid_style_loss(
    stats: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    scales: Mapping[str, torch.Tensor | float],
    layers: Sequence[str],
    pyramid: Sequence[int],
) -> torch.Tensor:
    """The mean over the pyramid's levels of :func:`style_loss` over ``layers``: every level weighs the same."""
    levels = [[pyramid_key(name, f) for name in layers] for f in pyramid]
    return torch.stack(
        [
            style_loss([stats[k] for k in keys], [targets[k] for k in keys], [scales[k] for k in keys])
            for keys in levels
        ]
    ).mean()


def pyramid_style_distance(
    stats: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    scales: Mapping[str, torch.Tensor | float],
    layers: Sequence[str],
    pyramid: Sequence[int],
) -> torch.Tensor:
    """[B]: :func:`pyramid_style_loss` of each image on its own (every level has the same layers,
    so the mean over all keys is the mean over levels of the mean over layers)."""
    keys = [pyramid_key(name, f) for f in pyramid for name in layers]
    return style_distance([stats[k] for k in keys], [targets[k] for k in keys], [scales[k] for k in keys])


def relative_mse(
    x: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | float | None = None
) -> torch.Tensor:
    """mean((x - target)^2) / scale, with scale = mean(target^2) unless given."""
    if scale is None:
        scale = target.detach().float().pow(2).mean()
    return F.mse_loss(x.float(), target.float()) / (scale + 1e-12)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relative feature MSE at one VGG layer: what the image depicts, not how it is painted."""
    return relative_mse(features, target.detach())


def style_loss(
    stats: Mapping[str, torch.Tensor] | Sequence[torch.Tensor],
    targets: Mapping[str, torch.Tensor] | Sequence[torch.Tensor],
    scales: Mapping[str, torch.Tensor | float] | Sequence[torch.Tensor | float] | None = None,
) -> torch.Tensor:
    """Mean over layers of the relative MSE between style statistics and their targets.

    ``scales`` (optional, per layer) fixes the normaliser, e.g. the mean square of all styles'
    targets, so that a batch mixing styles weights every style by the same constant.
    """
    if isinstance(stats, Mapping):
        keys = list(stats)
        stats = [stats[k] for k in keys]
        targets = [targets[k] for k in keys]
        scales = [scales[k] for k in keys] if isinstance(scales, Mapping) else scales
    if len(stats) != len(targets):
        raise ValueError(f"{len(stats)} style statistics but {len(targets)} targets")
    scales = scales if scales is not None else [None] * len(stats)
    losses = [relative_mse(x, t.detach(), s) for x, t, s in zip(stats, targets, scales)]
    return torch.stack(losses).mean()


def style_distance(
    stats: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], scales: Sequence[torch.Tensor | float]
) -> torch.Tensor:
    """Per-image style distance [B]: :func:`style_loss` of each image on its own (no batch mean)."""
    per_layer = [
        (x.float() - t.float()).pow(2).flatten(1).mean(1) / (s + 1e-12)
        for x, t, s in zip(stats, targets, scales)
    ]
    return torch.stack(per_layer).mean(0)


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels (suppresses high-frequency noise)."""
    dh = images[:, :, 1:, :] - images[:, :, :-1, :]
    dw = images[:, :, :, 1:] - images[:, :, :, :-1]
    return dh.float().pow(2).mean() + dw.float().pow(2).mean()
