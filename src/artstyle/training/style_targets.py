"""Each style's targets: a VGG style statistic averaged over a few of its training images.

The transfer network is trained towards per-channel mean/std targets, and the style embedder's
prototypes are optimised towards Gram-matrix targets; a target built from many paintings describes
the style rather than one painting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from artstyle import inference
from artstyle.data.dataset import to_float
from artstyle.errors import InputError
from artstyle.losses.perceptual import Statistic, pyramid_key, pyramid_statistics, style_distance
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.styles import NUM_CLASSES


def pick_style_rows(rows: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> dict[int, np.ndarray]:
    """Up to ``per_class`` distinct store rows of every style that has training images (seeded).

    The keys are the styles this run covers (:func:`artstyle.styles.trained_styles`); a style
    without images has no target and is left out of training and evaluation (index reports it).
    """
    rng = np.random.default_rng(seed)
    picked = {}
    for c in range(NUM_CLASSES):
        pool = np.unique(rows[labels == c])  # oversampling repeats rows: a repeat adds no information
        if len(pool):
            picked[c] = np.sort(rng.choice(pool, size=min(per_class, len(pool)), replace=False))
    if not picked:
        raise InputError("no training images: the train split is empty, so there is no style to learn")
    return picked


def rows_and_owners(style_rows: dict[int, np.ndarray]) -> tuple[np.ndarray, torch.Tensor]:
    """(store rows [N], their styles [N]) of :func:`pick_style_rows`' picks, style by style in order."""
    styles = sorted(style_rows)
    rows = np.concatenate([style_rows[c] for c in styles])
    return rows, torch.from_numpy(np.concatenate([np.full(len(style_rows[c]), c) for c in styles]))


def painting_statistics(
    vgg: VGGFeatures,
    images: np.ndarray,
    style_rows: dict[int, np.ndarray],
    layers: tuple[str, ...] | list[str],
    device: torch.device,
    batch_size: int = 64,
    *,
    statistic: Statistic,
    pyramid: tuple[int, ...] | list[int] = (1,),
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """({key: [N, ...]}, owner [N]): the ``statistic`` of each of :func:`pick_style_rows`' paintings,
    for every layer at every ``pyramid`` downsampling factor (keys
    :func:`~artstyle.losses.perceptual.pyramid_key`), and the style each painting is of. Small for
    mean/std (27 x 16 paintings x 1,792 values at the transfer network's layers and pyramid); a
    Gram matrix holds C^2 values a layer."""
    upto = max(layers, key=LAYERS.index)
    rows, owner = rows_and_owners(style_rows)
    keys = [pyramid_key(name, f) for f in pyramid for name in layers]  # pyramid_statistics' order

    def stats(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(pyramid_statistics(vgg, x, layers, pyramid, statistic, upto=upto).values())

    # row_chunks, not chunks(images[rows]): one batch of the memmap at a time, never every chosen row.
    parts = [
        out
        for out, _ in inference.iterate(
            stats, inference.row_chunks(images, rows, batch_size), device, desc="style targets"
        )
    ]
    return {k: torch.cat([p[i] for p in parts]) for i, k in enumerate(keys)}, owner


def style_means(stats: dict[str, torch.Tensor], owner: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{key: [NUM_CLASSES, ...]}``: each style's mean of the paintings' ``stats`` (from
    :func:`painting_statistics`), zeros for a style without paintings: the style targets."""
    counts = torch.bincount(owner, minlength=NUM_CLASSES).clamp_min(1).float()
    return {
        k: torch.zeros(NUM_CLASSES, *t.shape[1:]).index_add_(0, owner, t)
        / counts.view(-1, *([1] * (t.dim() - 1)))
        for k, t in stats.items()
    }


def style_targets(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
    """``{key: [NUM_CLASSES, ...]}``: each style's statistic averaged over its chosen images, zeros
    for a style without any (:func:`style_means` of :func:`painting_statistics`, same arguments)."""
    return style_means(*painting_statistics(*args, **kwargs))


def target_reliability(
    stats: dict[str, torch.Tensor],
    owner: torch.Tensor,
    targets: dict[str, torch.Tensor],
    scales: dict[str, float],
    styles: tuple[int, ...],
) -> torch.Tensor:
    """[NUM_CLASSES] in [0, 1]: how well each style's averaged target describes its own paintings.

    ``1 - own / other``, clamped to [0, 1]: ``own`` is the mean style loss of the style's paintings
    against its target, ``other`` that of the other styles' paintings (``stats`` and ``owner`` from
    :func:`painting_statistics`). Near 1, the style's paintings cluster around their average; at
    0, they are no nearer to it than other styles' paintings are: too unlike one another for an
    average to describe them (Minimalism's blocks, stripes and grids on different grounds), so a
    repainting pushed towards that average is pushed away from the style. A lone style gets 1
    (nothing to compare with), a style not in ``styles`` 0.
    """
    out = torch.zeros(NUM_CLASSES)
    styles = list(styles)
    if len(styles) < 2:
        out[styles] = 1.0
        return out
    covered = torch.isin(owner, torch.tensor(styles))
    for c in styles:
        d = style_distance(
            list(stats.values()), [targets[k][c] for k in stats], [scales[k] for k in stats]
        ).double()
        out[c] = float((1 - d[owner == c].mean() / d[covered & (owner != c)].mean()).clamp(0, 1))
    return out


def style_loss_weights(reliability: torch.Tensor, styles: tuple[int, ...]) -> torch.Tensor:
    """[NUM_CLASSES]: ``min(1, r_s / mean r)`` over the trained ``styles`` (0 elsewhere).

    A style whose target describes its paintings at least as well as the typical style's keeps
    its full loss; a less reliable one is pushed towards its average less, in proportion, and not
    at all at r_s = 0. Never above 1: a style is not pushed harder than before for being easy to
    describe (that only costs content). All 1 if no style is reliable.
    """
    weights = torch.zeros(NUM_CLASSES)
    mean = reliability[list(styles)].mean()
    weights[list(styles)] = (reliability[list(styles)] / mean).clamp(max=1.0) if mean > 0 else 1.0
    return weights


def style_scales(targets: dict[str, torch.Tensor], styles: tuple[int, ...] | None = None) -> dict[str, float]:
    """Per-layer normaliser of the style loss: the mean square of the trained styles' targets
    (``styles``; None = all rows). The zero rows of absent styles would shrink it."""
    if styles is not None and len(styles) < NUM_CLASSES:
        targets = {name: t[list(styles)] for name, t in targets.items()}
    return {name: float(t.pow(2).mean()) for name, t in targets.items()}


def style_colour_stats(
    images: np.ndarray, rows: np.ndarray, labels: np.ndarray, batch_size: int = 512
) -> torch.Tensor:
    """[NUM_CLASSES, 6]: each style's palette, the per-channel pixel mean (R, G, B) and std (R, G, B)
    of its training images, averaged over them.

    Read from the memmap store in chunks (never the whole store at once); a style without images
    gets the average over all styles, so its control is defined (and no better than chance).
    """
    rows = np.asarray(rows)
    labels = np.asarray(labels)
    # The float64 copy of a batch costs 8 bytes a value: cap it at 64 MiB (512 images at 64 px,
    # where this changes nothing; 55 at 224 px, where 512 would hold 0.6 GB).
    batch_size = max(1, min(batch_size, (64 << 20) // (8 * int(np.prod(images.shape[1:])))))
    sums = torch.zeros(NUM_CLASSES, 6, dtype=torch.float64)
    counts = torch.zeros(NUM_CLASSES, dtype=torch.float64)
    for start in range(0, len(rows), batch_size):
        r, y = rows[start : start + batch_size], torch.from_numpy(labels[start : start + batch_size]).long()
        x = to_float(images[r]).double().flatten(2)  # [B, 3, H*W]
        stats = torch.cat([x.mean(2), x.std(2, unbiased=False)], dim=1)  # [B, 6]
        sums.index_add_(0, y, stats)
        counts += torch.bincount(y, minlength=NUM_CLASSES).double()
    present = counts > 0
    out = sums / counts.clamp_min(1).view(-1, 1)
    if (~present).any():
        out[~present] = sums[present].sum(0) / counts[present].sum()
    return out.float()
