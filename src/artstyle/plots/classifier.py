"""Classifier evaluation figures: a row-normalised confusion matrix and per-class recall."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from artstyle.styles import STYLES


def _names(styles: Sequence[str]) -> list[str]:
    return [s.replace("_", " ") for s in styles]


def confusion_figure(cm: np.ndarray, styles: Sequence[str] = STYLES, title: str = "") -> Figure:
    """Heatmap of ``cm`` (rows actual, columns predicted) normalised per row, i.e. per-class recall.

    Row normalisation gives every style the same visual weight; raw counts would show only
    Impressionism and Realism and hide whether the rare styles are recognised at all. The diagonal
    value is printed in every cell that has test images, off-diagonal values only from 10% up.
    """
    cm = np.asarray(cm, dtype=float)
    support = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    n = len(styles)
    fig = Figure(figsize=(0.36 * n + 3.5, 0.34 * n + 2.5), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = np.arange(n)
    ax.set_xticks(ticks, _names(styles), rotation=90, fontsize=7)
    ax.set_yticks(ticks, [f"{name} ({int(s)})" for name, s in zip(_names(styles), support[:, 0])], fontsize=7)
    ax.set_xlabel("predicted style")
    ax.set_ylabel("actual style (test images)")
    for i in range(n):
        for j in range(n):
            v = norm[i, j]
            if (i == j and support[i, 0] > 0) or v >= 0.1:
                ax.text(
                    j,
                    i,
                    f"{v:.2f}"[1:] if v < 1 else "1",
                    ha="center",
                    va="center",
                    fontsize=5.5,
                    color="white" if v > 0.6 else "black",
                )
    ax.set_title(title or "Confusion matrix (rows normalised: recall)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="fraction of the actual style")
    return fig


def recall_figure(
    recall: Sequence[float | None],
    train_counts: Sequence[int],
    minority: Sequence[int] = (),
    balanced_accuracy: float | None = None,
    chance: float | None = None,
    styles: Sequence[str] = STYLES,
) -> Figure:
    """Horizontal recall bars per style, largest training class on top.

    Sorting by training count shows the imbalance story at a glance: whether recall falls off
    towards the rare styles at the bottom. Minority styles (those ``minority_recall`` averages)
    are drawn in a second colour; a style without test images gets no bar and an "n/a".
    """
    counts = np.asarray(train_counts)
    order = np.argsort(-counts, kind="stable")
    minority_set = {int(c) for c in minority}
    n = len(styles)
    fig = Figure(figsize=(8.0, 0.28 * n + 1.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)
    values = [recall[c] for c in order]
    colours = ["tab:orange" if c in minority_set else "tab:blue" for c in order]
    ax.barh(y, [np.nan if v is None else v for v in values], color=colours)
    for yi, v in zip(y, values):
        label = "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.2f}"
        ax.text(min(1.0, 0.0 if label == "n/a" else v) + 0.01, yi, label, va="center", fontsize=7)
    ax.set_yticks(y, [f"{_names(styles)[c]} ({int(counts[c])})" for c in order], fontsize=8)
    # Minority names are coloured too: a minority style at recall 0 has no bar to colour.
    for tick, colour in zip(ax.get_yticklabels(), colours):
        tick.set_color("tab:orange" if colour == "tab:orange" else "black")
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("recall on the test split")
    ax.set_ylabel("style (training images before resampling)")
    if balanced_accuracy is not None:
        ax.axvline(
            balanced_accuracy,
            color="black",
            ls="--",
            lw=1,
            label=f"balanced accuracy {balanced_accuracy:.2f}",
        )
    if chance is not None:
        ax.axvline(chance, color="grey", ls=":", lw=1, label=f"chance {chance:.3f}")
    if minority_set:
        ax.barh([np.nan], [np.nan], color="tab:orange", label="minority styles")
    if balanced_accuracy is not None or chance is not None or minority_set:
        # Below the axes: inside, it would cover the rarest styles' bars, the ones that matter most.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, fontsize="small", frameon=False)
    ax.set_title("Per-class recall")
    ax.grid(axis="x", alpha=0.3)
    return fig
