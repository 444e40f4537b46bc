"""PSNR, SSIM and sharpness in torch, differentiable, so SSIM doubles as a training loss.

SSIM is ``pytorch_msssim.ssim`` (Wang et al. 2004): local means, variances and covariance under a
separable 11x11 gaussian window (sigma 1.5), constants K1 = 0.01, K2 = 0.03 times the data range,
and only "valid" window positions (no padding, so borders are not averaged with made-up values).
It matches scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``, which crops the same borders (``tests/test_metrics_reference.py``).
For images smaller than the window the window shrinks to the image (odd size), so tiny test images
still work. All arithmetic is in float32: under bf16 autocast, E[x^2] - E[x]^2 cancels
catastrophically.
"""

from __future__ import annotations

import pytorch_msssim
import torch

MAX_PSNR = 100.0  # reported for identical images instead of infinity
# Gradient energy added to both sides of the sharpness ratio: one grey level (of 255) squared, the
# finest step an 8-bit image can hold, so a flat reference gives a finite ratio near 1.
SHARPNESS_FLOOR = (1.0 / 255.0) ** 2


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (``reduction="none"``) or its mean over the batch.

    The mean of per-image PSNRs is the usual convention; identical images give ``MAX_PSNR``.
    """
    # Kept as the textbook formula: pytorch_msssim has no PSNR, and torchmetrics' (a much larger
    # dependency for one line) returns inf for identical images instead of clamping to MAX_PSNR.
    # Checked against scikit-image's peak_signal_noise_ratio in tests/test_metrics_reference.py.
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(dim=1)
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
    size = min(window_size, x.shape[2], x.shape[3])
    size -= 1 - size % 2  # odd, so the window has a centre (pytorch_msssim would skip the blur instead)
    if size == 1 and min(x.shape[2:]) == 1:
        # pytorch_msssim squeezes spatial dims of size 1 away; with a 1-pixel window SSIM is a
        # per-pixel map, so repeating the single row / column leaves its mean (and gradient) unchanged.
        shape = (*x.shape[:2], max(2, x.shape[2]), max(2, x.shape[3]))
        x, y = x.expand(shape), y.expand(shape)
    with torch.autocast(x.device.type, enabled=False):  # autocast would run the blur convs in bf16
        value = pytorch_msssim.ssim(
            x.float(), y.float(), data_range=data_range, size_average=False, win_size=size, win_sigma=sigma
        )
    return value.mean() if reduction == "mean" else value


def gradient_energy(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B]: mean squared difference between horizontal and between vertical neighbours."""
    x = x.float()
    dx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(1)
    return dx + dy


def sharpness(x: torch.Tensor, reference: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """How much of ``reference``'s fine detail ``x`` keeps: the ratio of their gradient energies.

    1 means as much edge and texture energy as the reference; blur (the autoencoders of the course
    reports) lowers it, noise and ringing raise it, so it is read beside PSNR. PSNR and SSIM hardly
    tell a sharp reconstruction that misplaces an edge from a blurred one; this does. Per image
    (``reduction="none"``) or the geometric mean over the batch: ratios multiply, and one nearly
    flat painting would dominate an arithmetic mean.
    """
    if x.shape != reference.shape or x.dim() != 4:
        raise ValueError(
            f"sharpness expects two [B, C, H, W] tensors of one shape, got {tuple(x.shape)} and {tuple(reference.shape)}"
        )
    ratio = (gradient_energy(x) + SHARPNESS_FLOOR) / (gradient_energy(reference) + SHARPNESS_FLOOR)
    return ratio.log().mean().exp() if reduction == "mean" else ratio
