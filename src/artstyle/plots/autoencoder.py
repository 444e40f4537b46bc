"""Autoencoder reconstructions: originals directly above their reconstructions."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from artstyle.evaluation.image_quality import psnr
from artstyle.styles import STYLES


def reconstructions_figure(
    originals: torch.Tensor, reconstructions: torch.Tensor, labels, columns: int = 9
) -> Figure:
    """Pairs of rows (original, reconstruction), ``columns`` styles per pair.

    Each original is titled with its style name and each reconstruction with its PSNR, so the
    figure shows where the autoencoder fails as well as how (one image per style, in label order).
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n == 0:
        raise ValueError("no images to plot")
    columns = min(columns, n)
    blocks = -(-n // columns)
    scores = psnr(reconstructions, originals, reduction="none").tolist()
    fig = Figure(figsize=(1.45 * columns, 3.1 * blocks), layout="constrained")
    axes = fig.subplots(2 * blocks, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i in range(n):
        b, c = divmod(i, columns)
        top, bottom = axes[2 * b, c], axes[2 * b + 1, c]
        top.imshow(originals[i].permute(1, 2, 0).clamp(0, 1).numpy())
        bottom.imshow(reconstructions[i].permute(1, 2, 0).clamp(0, 1).numpy())
        top.set_title(STYLES[int(labels[i])].replace("_", " "), fontsize=7)
        bottom.set_title(f"{scores[i]:.1f} dB", fontsize=7)
    for b in range(blocks):
        # Axis labels are hidden with the axis, so the row names are drawn as text.
        axes[2 * b, 0].text(
            -0.08,
            0.5,
            "original",
            transform=axes[2 * b, 0].transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
        )
        axes[2 * b + 1, 0].text(
            -0.08,
            0.5,
            "reconstruction",
            transform=axes[2 * b + 1, 0].transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
        )
    fig.suptitle(
        f"Test images (top) and autoencoder reconstructions (bottom): mean PSNR "
        f"{float(np.mean(scores)):.2f} dB over these {n}"
    )
    return fig
