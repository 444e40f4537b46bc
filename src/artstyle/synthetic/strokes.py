"""Brush strokes: short dabs, flow-field strokes and long gestural strokes with bristle texture.

Stroke parameters are drawn as whole arrays; only the PIL draw calls loop.
"""

from __future__ import annotations

import numpy as np

from artstyle.synthetic.canvas import Canvas
from artstyle.synthetic.palettes import rgba, rgba_list


def positions(rng: np.random.Generator, n: int, box=(0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]).astype(np.float32)


def swirl_angles(xy: np.ndarray, centers: np.ndarray, spin: np.ndarray) -> np.ndarray:
    """Angles tangent to circles around the nearest centre (the swirling sky of Post-Impressionism).

    float64 throughout: float32 ``arctan2`` may use a CPU-dependent SIMD kernel.
    """
    d = np.asarray(xy, np.float64)[:, None, :] - np.asarray(centers, np.float64)[None, :, :]
    nearest = np.argmin(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1], axis=1)
    v = d[np.arange(len(xy)), nearest]
    return np.arctan2(v[:, 1], v[:, 0]) + np.pi / 2 * spin[nearest]


def dabs(
    cv: Canvas,
    xy: np.ndarray,
    angles: np.ndarray,
    lengths: np.ndarray,
    widths: np.ndarray,
    colors: np.ndarray,
    alpha: np.ndarray | float = 255,
    round_caps: bool = True,
) -> None:
    """Straight strokes centred at ``xy`` (fractions) with the given angle, length and width."""
    n = len(xy)
    fills = rgba_list(colors, alpha)
    c = cv.px(xy)
    a = np.asarray(angles, np.float64)  # float64 trigonometry: float32 SIMD kernels differ by CPU
    h = cv.px(lengths)[:, None] / 2 * np.column_stack([np.cos(a), np.sin(a)])
    p0, p1 = (c - h).tolist(), (c + h).tolist()
    w = np.maximum(1, np.round(cv.px(widths))).astype(int).tolist()
    for i in range(n):
        fill = fills[i]
        cv.draw.line([tuple(p0[i]), tuple(p1[i])], fill=fill, width=w[i])
        if round_caps and w[i] > 2:
            r = w[i] / 2
            for px, py in (p0[i], p1[i]):
                cv.draw.ellipse([px - r, py - r, px + r, py + r], fill=fill)


def walk(
    rng: np.random.Generator,
    start,
    n: int,
    step: float,
    turn: float,
    angle: float | None = None,
    curl: float = 0.0,
) -> np.ndarray:
    """A smooth random-walk path (n x 2 fractions): heading changes by N(curl, turn) per step."""
    a0 = rng.uniform(0, 2 * np.pi) if angle is None else float(angle)
    heading = a0 + np.cumsum(rng.normal(curl, turn, n))  # float64
    steps = step * np.column_stack([np.cos(heading), np.sin(heading)])
    return np.asarray(start, np.float32) + np.vstack([[0, 0], np.cumsum(steps, 0)[:-1]])


def polyline(cv: Canvas, pts: np.ndarray, color, width: float, alpha: float = 255) -> None:
    cv.draw.line(
        [tuple(p) for p in cv.px(pts).tolist()], fill=rgba(color, alpha), width=cv.width(width), joint="curve"
    )


def bristle_stroke(
    cv: Canvas,
    rng: np.random.Generator,
    pts: np.ndarray,
    color,
    width: float,
    bristles: int = 5,
    alpha: float = 230,
    streak: float = 25.0,
) -> None:
    """A wide stroke drawn as parallel bristle tracks of slightly different value (dry-brush streaks)."""
    d = np.gradient(np.asarray(pts, np.float64), axis=0)
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    normal /= np.sqrt(d[:, 0:1] * d[:, 0:1] + d[:, 1:2] * d[:, 1:2]) + 1e-9
    offsets = np.linspace(-0.5, 0.5, bristles) * width
    shades = rng.normal(0, streak, bristles)
    for off, s in zip(offsets, shades):
        polyline(cv, pts + off * normal, np.asarray(color) + s, width / bristles * 1.6, alpha)
