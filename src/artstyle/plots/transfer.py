"""Style prototypes, the stylization grid and the per-style deception chart."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from artstyle.styles import STYLES


def readable(style: str, width: int = 12) -> str:
    """'Mannerism_Late_Renaissance' -> 'Mannerism Late\\nRenaissance': short lines fit above a thumbnail."""
    return "\n".join(textwrap.wrap(style.replace("_", " "), width, break_long_words=False)) or style


def _show(ax, image: torch.Tensor) -> None:
    ax.imshow(image.detach().float().permute(1, 2, 0).clamp(0, 1).cpu().numpy(), interpolation="nearest")
    ax.set_axis_off()


def style_prototypes_figure(
    prototypes: torch.Tensor,
    initial: torch.Tensor | None = None,
    columns: int = 9,
    styles: Sequence[str] = STYLES,
) -> Figure:
    """One decoded prototype per style, titled with its name (``styles``, one per prototype);
    ``initial`` (the decoded mean latents, the starting point) is drawn under each prototype when
    given, so the learned change is visible."""
    n = len(prototypes)
    if len(styles) != n:
        raise ValueError(f"{n} prototypes for {len(styles)} style names")
    columns = min(columns, n)
    blocks = -(-n // columns)
    per_block = 2 if initial is not None else 1
    fig = Figure(
        figsize=(1.35 * columns + 0.6, (1.55 if per_block == 1 else 2.85) * blocks + 0.5),
        layout="constrained",
    )
    axes = fig.subplots(per_block * blocks, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i in range(n):
        b, c = divmod(i, columns)
        top = axes[per_block * b, c]
        _show(top, prototypes[i])
        top.set_title(readable(styles[i]), fontsize=7)
        if initial is not None:
            _show(axes[per_block * b + 1, c], initial[i])
    if initial is not None:
        for b in range(blocks):
            for row, text in ((0, "prototype"), (1, "mean latent")):
                ax = axes[2 * b + row, 0]
                ax.text(
                    -0.08, 0.5, text, transform=ax.transAxes, rotation=90, ha="right", va="center", fontsize=8
                )
    fig.suptitle(
        "Learned style prototypes, decoded by the frozen autoencoder"
        + (" (below: the mean latent they started from)" if initial is not None else "")
    )
    return fig


def transfer_grid_figure(
    contents: torch.Tensor, stylized: torch.Tensor, styles: Sequence[str] = STYLES, cell: float = 0.95
) -> Figure:
    """Rows: content images; first column the original, then one column per target style.

    ``stylized`` is [rows, len(styles), 3, H, W].
    """
    rows, n_styles = stylized.shape[:2]
    if n_styles != len(styles) or len(contents) != rows:
        raise ValueError(
            f"{rows} rows x {n_styles} styles do not match {len(contents)} contents / {len(styles)} names"
        )
    fig = Figure(figsize=(cell * (n_styles + 1) + 0.3, cell * rows + 1.2), layout="constrained")
    axes = fig.subplots(rows, n_styles + 1, squeeze=False)
    for r in range(rows):
        _show(axes[r, 0], contents[r])
        for s in range(n_styles):
            _show(axes[r, s + 1], stylized[r, s])
    axes[0, 0].set_title("original", fontsize=8, fontweight="bold")
    for s, name in enumerate(styles):
        axes[0, s + 1].set_title(readable(name), fontsize=7)
    fig.suptitle("Each row: one test image repainted in every style")
    return fig


def contact_sheet_figure(
    content: torch.Tensor,
    stylized: torch.Tensor,
    styles: Sequence[str] = STYLES,
    columns: int = 7,
    title: str = "",
    cell: float = 2.0,
) -> Figure:
    """The original, then one labelled panel per style: ``content`` [3, H, W], ``stylized`` [K, 3, H, W]."""
    n = len(stylized) + 1
    if len(stylized) != len(styles):
        raise ValueError(f"{len(stylized)} images for {len(styles)} style names")
    columns = min(columns, n)
    rows = -(-n // columns)
    h, w = content.shape[-2:]
    fig = Figure(figsize=(cell * columns, cell * rows * h / w + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, (image, name) in enumerate([(content, "original"), *zip(stylized, styles)]):
        ax = axes.flat[i]
        ax.imshow(image.detach().float().permute(1, 2, 0).clamp(0, 1).cpu().numpy())
        ax.set_axis_off()
        ax.set_title(
            name if i == 0 else readable(name, 20), fontsize=8, fontweight="bold" if i == 0 else None
        )
    if title:
        fig.suptitle(title)
    return fig


def real_pictures_figure(
    contents: Sequence[torch.Tensor],
    stylized: Sequence[torch.Tensor],
    styles: Sequence[str],
    names: Sequence[str],
    title: str,
    cell: float = 2.2,
) -> Figure:
    """Rows: real pictures; first column the original, then one column per style.
    ``stylized[r]`` is [len(styles), 3, H, W] for picture ``r`` (pictures may differ in size)."""
    rows, cols = len(contents), len(styles) + 1
    fig = Figure(figsize=(cell * cols, cell * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        for c, image in enumerate([contents[r], *stylized[r]]):
            ax = axes[r, c]
            ax.imshow(image.detach().float().permute(1, 2, 0).clamp(0, 1).cpu().numpy())
            ax.set_axis_off()
        axes[r, 0].set_title(names[r], fontsize=8, fontweight="bold")
    for c, name in enumerate(styles):
        axes[0, c + 1].set_title(readable(name, 20), fontsize=9)
    fig.suptitle(title)
    return fig


def deception_figure(
    per_style: Mapping[str, float],
    chance: float,
    identity: Mapping[str, float] | None = None,
    overall: float | None = None,
    *,
    second: Mapping[str, float] | None = None,
    second_overall: float | None = None,
    labels: tuple[str, str] = ("StyleNet judge", "VGG19 probe judge"),
) -> Figure:
    """Horizontal bars: per target style, the fraction of stylized images the classifier assigns to it.

    The chance line (1/27) and, per style, the rate for the unstylized images (the floor the
    stylization has to beat) put the bars in context. ``second`` (the second judge's per-style
    rates) draws a second bar beside each style's first, named by ``labels``.
    """
    names = list(per_style)
    y = np.arange(len(names), dtype=float)
    pair = second is not None
    height, shift = (0.4, 0.2) if pair else (0.8, 0.0)
    fig = Figure(figsize=(7.0, (0.4 if pair else 0.28) * len(names) + 1.6), layout="constrained")
    ax = fig.subplots()
    ax.barh(
        y - shift,
        [per_style[n] for n in names],
        height=height,
        color="tab:blue",
        label=f"stylized, {labels[0]}" if pair else "stylized",
    )
    if pair:
        ax.barh(
            y + shift,
            [second.get(n, 0.0) for n in names],
            height=height,
            color="tab:orange",
            label=f"stylized, {labels[1]}",
        )
    if identity is not None:
        ax.scatter(
            [identity.get(n, 0.0) for n in names],
            y - shift,
            marker="|",
            s=120 if not pair else 60,
            color="black",
            zorder=3,
            label=f"unstylized (identity), {labels[0]}" if pair else "unstylized (identity)",
        )
    ax.axvline(chance, color="tab:red", linestyle="--", label=f"chance ({chance:.3f})")
    if overall is not None:
        ax.axvline(overall, color="tab:blue", linestyle=":", label=f"mean ({overall:.2f})")
    if pair and second_overall is not None:
        ax.axvline(second_overall, color="tab:orange", linestyle=":", label=f"mean ({second_overall:.2f})")
    ax.set_yticks(y, [n.replace("_", " ") for n in names], fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first style on top
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction classified as the target style")
    ax.set_title(
        "Deception rate per target style (two independent judges)"
        if pair
        else "Deception rate per target style (independent classifier as judge)"
    )
    ax.grid(axis="x", alpha=0.3)
    # Below the axes: inside, it covered the bars of the last styles.
    fig.legend(loc="outside lower center", ncols=3 if pair else 4, fontsize="small")
    return fig
