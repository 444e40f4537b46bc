"""PSNR and SSIM in torch, differentiable, so SSIM doubles as a training loss.

SSIM follows Wang et al. (2004): local means, variances and covariance under an 11x11 gaussian
window (sigma 1.5), constants K1 = 0.01, K2 = 0.03 times the data range, and only "valid" window
positions (no padding, so borders are not averaged with made-up values). For images smaller than
the window the window shrinks to the image (odd size), so tiny test images still work.
All arithmetic is in float32: under bf16 autocast, E[x^2] - E[x]^2 cancels catastrophically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_PSNR = 100.0  # reported for identical images instead of infinity


def gaussian_1d(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    """Normalised 1-D gaussian kernel [size]."""
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_window(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    """Normalised 2-D gaussian kernel [size, size] (the outer product of two 1-D ones)."""
    g = gaussian_1d(size, sigma, device)
    return g[:, None] * g[None, :]


def _per_image_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x.float() - y.float()).pow(2).flatten(1).mean(dim=1)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (``reduction="none"``) or its mean over the batch.

    The mean of per-image PSNRs is the usual convention; identical images give ``MAX_PSNR``.
    """
    mse = _per_image_mse(x, y)
    value = 10 * torch.log10(data_range**2 / mse.clamp_min(data_range**2 * 10 ** (-MAX_PSNR / 10)))
    return value.mean() if reduction == "mean" else value


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    reduction: str = "mean",
) -> torch.Tensor:
    """Structural similarity of two [B, C, H, W] batches, per image or averaged over the batch.

    Channels are treated independently (a depthwise gaussian filter) and averaged.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"ssim expects two [B, C, H, W] tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    x, y = x.float(), y.float()
    channels = x.shape[1]
    size = min(window_size, x.shape[2], x.shape[3])
    size -= 1 - size % 2  # odd, so the window has a centre
    # The gaussian is separable: two 1-D passes cost 2*size taps instead of size^2, and the five
    # maps are blurred in one grouped call (SSIM as a loss must not dominate a training step).
    g = gaussian_1d(size, sigma, device=x.device)
    maps = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    n = maps.shape[1]
    blurred = F.conv2d(maps, g.view(1, 1, size, 1).repeat(n, 1, 1, 1), groups=n)
    blurred = F.conv2d(blurred, g.view(1, 1, 1, size).repeat(n, 1, 1, 1), groups=n)
    mu_x, mu_y, xx, yy, xy = blurred.split(channels, dim=1)

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    var_x = xx - mu_x**2
    var_y = yy - mu_y**2
    cov = xy - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    value = ssim_map.flatten(1).mean(dim=1)
    return value.mean() if reduction == "mean" else value


def ssim_loss(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """1 - SSIM: 0 for identical images, a differentiable training loss."""
    return 1.0 - ssim(x, y, data_range=data_range)
