"""Latent-space plots: PCA scatter by style, by KMeans cluster, and the cluster x style table.

The scatters show the first two PCA components only: a picture of the space, not the evidence.
The evidence is ``metrics/clusters.json`` (NMI, ARI, purity, Hungarian accuracy vs baselines).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from artstyle.evaluation.clustering import contingency, hungarian_matching
from artstyle.styles import NUM_CLASSES, STYLES

MARKERS = ("o", "s", "^")


def _pretty(style: str) -> str:
    return style.replace("_", " ")


def style_colors(n: int = NUM_CLASSES) -> list[tuple[float, ...]]:
    """``n`` distinguishable colours: tab20 followed by Dark2 (28 in all), then repeated."""
    base = list(mpl.colormaps["tab20"].colors) + list(mpl.colormaps["Dark2"].colors)
    return [base[i % len(base)] for i in range(n)]


def _marker(i: int) -> str:
    # Colour alone cannot separate 27 classes: the marker changes every 9 classes as well.
    return MARKERS[(i // 9) % len(MARKERS)]


def pca_styles_figure(
    points: np.ndarray, labels, explained: np.ndarray | None = None, normalized: bool = False, title: str = ""
) -> Figure:
    """2-D PCA scatter (first two columns of ``points``) coloured by true style."""
    labels = np.asarray(labels)
    colors = style_colors()
    fig = Figure(figsize=(10, 7), layout="constrained")
    ax = fig.subplots()
    handles = []
    for s in range(NUM_CLASSES):
        sel = labels == s
        if not sel.any():
            continue
        ax.scatter(
            points[sel, 0], points[sel, 1], s=10, color=colors[s], marker=_marker(s), alpha=0.75, linewidths=0
        )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker=_marker(s),
                color=colors[s],
                label=f"{_pretty(STYLES[s])} ({int(sel.sum())})",
            )
        )
    ax.legend(
        handles=handles,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=8,
        frameon=False,
        title="true style (test images)",
    )
    _axis_labels(ax, explained, normalized)
    ax.set_title(title or "Test style codes, first two PCA components, coloured by true style")
    return fig


def pca_clusters_figure(
    points: np.ndarray,
    clusters,
    labels,
    centers: np.ndarray,
    explained: np.ndarray | None = None,
    normalized: bool = False,
    title: str = "",
) -> Figure:
    """The same scatter coloured by KMeans cluster; each centre is annotated with its majority style."""
    clusters = np.asarray(clusters)
    labels = np.asarray(labels)
    k = len(centers)
    colors = style_colors(k)
    table = contingency(clusters, labels, n_clusters=k, n_classes=NUM_CLASSES)
    fig = Figure(figsize=(10, 7), layout="constrained")
    ax = fig.subplots()
    for c in range(k):
        sel = clusters == c
        if sel.any():
            ax.scatter(
                points[sel, 0],
                points[sel, 1],
                s=10,
                color=colors[c],
                marker=_marker(c),
                alpha=0.6,
                linewidths=0,
            )
    labels_drawn = []
    for c in range(k):
        ax.scatter(
            centers[c, 0],
            centers[c, 1],
            s=60,
            color=colors[c],
            marker="X",
            edgecolors="black",
            linewidths=0.8,
            zorder=3,
        )
        size = int(table[c].sum())
        text = (
            f"{c}: {_pretty(STYLES[int(table[c].argmax())])} {table[c].max() / size:.0%} of {size}"
            if size
            else f"{c}: (no test images)"
        )
        labels_drawn.append(
            ax.annotate(
                text,
                (centers[c, 0], centers[c, 1]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=6.5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colors[c], "alpha": 0.8},
                zorder=4,
            )
        )
    _axis_labels(ax, explained, normalized)
    _separate_labels(fig, labels_drawn)
    ax.set_title(
        title or "Test style codes coloured by KMeans cluster; X = centre, labelled with its majority style"
    )
    return fig


# Where a centre's label may go, in points from the centre (and its horizontal alignment), in
# order of preference: right-up first, then the other sides, then further out.
_LABEL_SPOTS = [
    (4, 4, "left"),
    (4, -11, "left"),
    (-4, 4, "right"),
    (-4, -11, "right"),
    (4, 14, "left"),
    (4, -21, "left"),
    (-4, 14, "right"),
    (-4, -21, "right"),
    (4, 24, "left"),
    (4, -31, "left"),
]


def _separate_labels(fig: Figure, annotations: list) -> None:
    """Move each centre's label to the first spot where it overlaps no label placed before it.

    (Greedy, no extra dependency: 27 labels on one scatter are few enough. A label with no free
    spot keeps the first one.)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()  # settles the constrained layout, so the label boxes are final
    placed = []
    for ann in annotations:
        for dx, dy, ha in _LABEL_SPOTS:
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            box = ann.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
        else:
            dx, dy, ha = _LABEL_SPOTS[0]
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            box = ann.get_window_extent(renderer)
        placed.append(box)


def contingency_figure(clusters, labels, k: int, title: str = "") -> Figure:
    """Heatmap cluster x style (fraction of each cluster, counts written in), clusters in matched order.

    Rows are sorted so that the cluster matched to each style by the Hungarian assignment sits on
    the diagonal: a good clustering is a bright diagonal.
    """
    table = contingency(clusters, labels, n_clusters=k, n_classes=NUM_CLASSES)
    rows, cols = hungarian_matching(table)
    matched = dict(zip(rows.tolist(), cols.tolist()))
    order = sorted(range(k), key=lambda c: (matched.get(c, NUM_CLASSES + c), c))
    t = table[order]
    frac = t / np.maximum(1, t.sum(axis=1, keepdims=True))
    fig = Figure(figsize=(12, 0.32 * k + 3), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(frac, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(t.shape[0]):
        for j in range(t.shape[1]):
            if t[i, j]:
                ax.text(
                    j,
                    i,
                    str(t[i, j]),
                    ha="center",
                    va="center",
                    fontsize=5.5,
                    color="black" if frac[i, j] > 0.6 else "white",
                )
    ax.set_xticks(np.arange(NUM_CLASSES), [_pretty(s) for s in STYLES], rotation=60, ha="right", fontsize=7)
    ylabels = [
        f"cluster {c} -> {_pretty(STYLES[matched[c]])}" if c in matched else f"cluster {c} (unmatched)"
        for c in order
    ]
    ax.set_yticks(np.arange(k), ylabels, fontsize=7)
    ax.set_xlabel("true style")
    fig.colorbar(im, ax=ax, label="fraction of the cluster", shrink=0.8)
    ax.set_title(
        title or "Test images per KMeans cluster and style (Hungarian-matched clusters on the diagonal)"
    )
    return fig


def _axis_labels(ax, explained: np.ndarray | None, normalized: bool) -> None:
    # With L2 normalisation the points are unit vectors in PCA space: these are their first two
    # coordinates (a projection of the sphere KMeans works on).
    for i, set_label in enumerate((ax.set_xlabel, ax.set_ylabel)):
        text = f"PC {i + 1}"
        if explained is not None and len(explained) > i:
            text += f" ({explained[i]:.1%} of variance)"
        if normalized:
            text += ", L2-normalised coordinates"
        set_label(text)
