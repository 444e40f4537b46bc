"""Dots: pointillist touches and printed halftone screens."""

from __future__ import annotations

import math

import numpy as np

from artstyle.synthetic.canvas import Canvas, grid
from artstyle.synthetic.palettes import rgba_list


def jittered_grid(
    rng: np.random.Generator, spacing: float, jitter: float, box=(0.0, 0.0, 1.0, 1.0)
) -> np.ndarray:
    """Points on a square lattice (fractions), each displaced by up to ``jitter`` x spacing."""
    x0, y0, x1, y1 = box
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    return (pts + rng.uniform(-jitter, jitter, pts.shape) * spacing).astype(np.float32)


def dots(cv: Canvas, xy: np.ndarray, radii: np.ndarray, colors: np.ndarray, alpha: float = 255) -> None:
    c = cv.px(xy).tolist()
    r = cv.px(np.broadcast_to(radii, (len(xy),))).tolist()
    for (x, y), ri, fill in zip(c, r, rgba_list(colors, alpha)):
        cv.draw.ellipse([x - ri, y - ri, x + ri, y + ri], fill=fill)


def halftone(
    cv: Canvas,
    mask: np.ndarray,
    pitch: float,
    radius: float,
    color,
    angle: float = 0.25,
    shade: np.ndarray | None = None,
) -> None:
    """Ben-Day dots of ``color`` inside ``mask`` (W x W bool), on a lattice rotated by ``angle``.

    ``shade`` (W x W in [0, 1]) scales the dot radius, as a printed tone would.
    """
    x, y = (a.astype(np.float64) for a in grid(cv.W))
    c, s = math.cos(angle), math.sin(angle)
    u = (x * c + y * s) / pitch
    v = (-x * s + y * c) / pitch
    du, dv = u - np.round(u), v - np.round(v)
    d = np.sqrt(du * du + dv * dv) * pitch  # not np.hypot: that is libm's, which varies by C library
    r = radius if shade is None else radius * shade
    on = mask & (d < r)
    arr = cv.array()
    arr[on] = np.asarray(color, np.float32)
    cv.set_array(arr)
