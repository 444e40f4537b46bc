"""Reconstruction losses of the autoencoder."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from artstyle.evaluation.image_quality import ssim

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
RECONSTRUCTION_LOSSES = ("mse", "mse+l1", "mse+ssim")


def ssim_loss(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """1 - SSIM: 0 for identical images, a differentiable training loss."""
    return 1.0 - ssim(x, y, data_range=data_range)


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
    raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(RECONSTRUCTION_LOSSES)}")
