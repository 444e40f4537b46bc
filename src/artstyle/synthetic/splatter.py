"""Drips, splatters and poured lines (action painting)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from artstyle.synthetic.canvas import Canvas
from artstyle.synthetic.dots import dots
from artstyle.synthetic.palettes import rgba
from artstyle.synthetic.strokes import polyline, walk


def splatter(cv: Canvas, rng: np.random.Generator, center, color, n: int, spread: float, size: float) -> None:
    """A cluster of droplets: radially scattered, heavy-tailed sizes."""
    xy = np.asarray(center) + rng.normal(0, spread, (n, 2)) * rng.exponential(1.0, (n, 1))
    radii = size * rng.exponential(0.6, n) + 0.002
    dots(cv, xy, radii, np.broadcast_to(np.asarray(color, np.float32), (n, 3)))


def drips(cv: Canvas, rng: np.random.Generator, color, n: int, width: float, length=(0.05, 0.3)) -> None:
    """Paint running down: near-vertical thin lines with a bead at the end."""
    x = rng.uniform(0, 1, n)
    y0 = rng.uniform(0, 0.8, n)
    ln = rng.uniform(*length, n)
    for xi, yi, li in zip(x, y0, ln):
        sway = rng.normal(0, 0.01, 4).cumsum()
        pts = np.column_stack([xi + sway, np.linspace(yi, yi + li, 4)])
        polyline(cv, pts, color, width)
        r = cv.px(width * 1.1)
        ex, ey = cv.px(pts[-1]).tolist()
        cv.draw.ellipse([ex - r, ey - r, ex + r, ey + r], fill=rgba(color))


def pour(
    cv: Canvas,
    rng: np.random.Generator,
    color,
    width: float,
    steps: int = 60,
    step: float = 0.03,
    turn: float = 0.5,
) -> None:
    """A long looping poured line (Pollock's skeins) whose width varies along its length."""
    pts = walk(rng, rng.uniform(0, 1, 2), steps, step, turn)
    pts = np.mod(pts, 1.2) - 0.1  # wrap so skeins cover the canvas instead of leaving it
    d = np.diff(pts, axis=0)
    jumps = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) > 5 * step
    starts = np.r_[0, np.nonzero(jumps)[0] + 1, len(pts)]
    for a, b in pairwise(starts.tolist()):
        if b - a >= 2:
            polyline(cv, pts[a:b], color, width * rng.uniform(0.5, 1.5))
