"""Per-class image counts before vs after resampling."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from artstyle.styles import STYLES


def class_counts_figure(panels: Mapping[str, tuple[Mapping[str, int], Mapping[str, int]]]) -> Figure:
    """Grouped horizontal bars, one panel per split: ``{title: (before, after)}`` keyed by style name.

    The x axis is logarithmic because WikiArt's classes differ ~80x in size: on a linear axis the
    rare styles (the ones resampling is for) would be invisible slivers.
    """
    n = len(STYLES)
    fig = Figure(figsize=(5.5 * len(panels) + 1.5, 0.3 * n + 1.5), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    y = np.arange(n)
    height = 0.4
    for ax, (title, (before, after)) in zip(axes, panels.items()):
        b = np.array([before.get(s, 0) for s in STYLES], dtype=float)
        a = np.array([after.get(s, 0) for s in STYLES], dtype=float)
        # A log axis cannot show 0: absent classes get no bar (their label still shows).
        ax.barh(y - height / 2, np.where(b > 0, b, np.nan), height, label=f"before ({int(b.sum())})")
        ax.barh(y + height / 2, np.where(a > 0, a, np.nan), height, label=f"after ({int(a.sum())})")
        ax.set_xscale("log")
        ax.set_xlim(left=0.5)  # a class of 1 image still gets a visible bar
        ax.set_title(title)
        ax.set_xlabel("images (log scale)")
        ax.grid(axis="x", which="both", alpha=0.3)
        # Below the axes: inside, it would hide the bottom classes' bars.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=2, frameon=False)
    axes[0].set_yticks(y, [s.replace("_", " ") for s in STYLES])
    axes[0].invert_yaxis()  # alphabetical from the top
    return fig
