"""Contact sheet of sample images: one labelled row per style."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image


def _thumb(img: np.ndarray, px: int) -> np.ndarray:
    img = np.asarray(img, dtype=np.uint8)
    if img.shape[0] != px or img.shape[1] != px:
        img = np.asarray(Image.fromarray(img).resize((px, px), Image.BILINEAR))
    # 6 bits per channel look identical at thumbnail size but make the film-grain-like noise of the
    # paintings compressible: the sheet's PNG shrinks by a third.
    return (img & 0xFC) | 0x02


def contact_sheet(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    thumb_px: int = 64,
    gap: int = 4,
    title: str | None = "Synthetic WikiArt: samples per style",
) -> Figure:
    """One row per (style, images); images HxWx3 uint8, shown at ``thumb_px`` with the style name at the left.

    The images go into a single mosaic (``torchvision.utils.make_grid``, white gaps) shown with one
    imshow at about one screen pixel per image pixel, which keeps the saved PNG small and the names
    crisp.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    import torch  # here, not at the top: the synthesize stage needs torch for nothing else
    from torchvision.utils import make_grid

    cols = max(1, max(len(images) for _, images in rows))
    step = thumb_px + gap
    blank = torch.full((3, thumb_px, thumb_px), 255, dtype=torch.uint8)  # fills short rows
    cells = [
        torch.from_numpy(_thumb(images[c], thumb_px)).permute(2, 0, 1) if c < len(images) else blank
        for _, images in rows
        for c in range(cols)
    ]
    grid = make_grid(torch.stack(cells), nrow=cols, padding=gap, pad_value=255)
    # make_grid also frames the outside with ``gap``; the sheet's edges are the images' own.
    mosaic = grid[:, gap : grid.shape[1] - gap, gap : grid.shape[2] - gap].permute(1, 2, 0).numpy()
    dpi = 110  # artstyle.fileio.save_figure default: one figure pixel per mosaic pixel
    label_in = 2.2
    h_in = mosaic.shape[0] / dpi + (0.5 if title else 0.1)
    w_in = mosaic.shape[1] / dpi + label_in
    fig = Figure(figsize=(w_in, h_in), dpi=dpi)
    ax = fig.add_axes(
        (label_in / w_in, 0.05 / h_in, mosaic.shape[1] / dpi / w_in, mosaic.shape[0] / dpi / h_in)
    )
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_yticks([r * step + thumb_px / 2 for r in range(len(rows))])
    ax.set_yticklabels([name.replace("_", " ") for name, _ in rows], fontsize=10)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=12, y=1 - 0.1 / h_in, va="top")
    return fig


def skipped_figure(message: str) -> Figure:
    """A small placeholder for the contact sheet when synthesize renders nothing (user data)."""
    fig = Figure(figsize=(6, 0.8))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    return fig
