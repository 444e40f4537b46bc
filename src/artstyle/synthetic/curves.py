"""Curves: whiplash lines, waves, spirals and ornamental scrolls."""

from __future__ import annotations

import math

import numpy as np

from artstyle.synthetic.canvas import Canvas
from artstyle.synthetic.strokes import polyline


def whiplash(rng: np.random.Generator, start, end, amplitude: float, waves: float, n: int = 40) -> np.ndarray:
    """An S-shaped flowing line from ``start`` to ``end`` (the Art Nouveau whiplash)."""
    t = np.linspace(0, 1, n)[:, None]
    a, b = np.asarray(start, np.float64), np.asarray(end, np.float64)
    d = b - a
    # Not np.linalg.norm: on a vector it is a BLAS dot product, whose kernel is picked per CPU.
    normal = np.array([-d[1], d[0]]) / (math.sqrt(d[0] * d[0] + d[1] * d[1]) + 1e-9)
    # Amplitude grows along the line, as in a cracking whip.
    bend = amplitude * np.sin(2 * np.pi * waves * t + rng.uniform(0, np.pi)) * (0.3 + t)
    return a + t * d + bend * normal


def tapered(cv: Canvas, pts: np.ndarray, color, width: float, segments: int = 6) -> None:
    """A line that thickens towards its middle and thins at both ends."""
    idx = np.linspace(0, len(pts) - 1, segments + 1).astype(int)
    for k in range(segments):
        w = width * (0.35 + math.sin(math.pi * (k + 0.5) / segments))
        polyline(cv, pts[idx[k] : idx[k + 1] + 1], color, w)


def spiral(
    center, r0: float, r1: float, turns: float, phase: float = 0.0, n: int = 40, aspect: float = 1.0
) -> np.ndarray:
    t = np.linspace(0, 1, n)
    a = phase + 2 * np.pi * turns * t
    r = r0 + (r1 - r0) * t
    return np.column_stack([center[0] + r * np.cos(a), center[1] + r * np.sin(a) * aspect])


def wave(
    x0: float, x1: float, y: float, amplitude: float, wavelength: float, phase: float = 0.0, n: int = 48
) -> np.ndarray:
    x = np.linspace(x0, x1, n)
    return np.column_stack([x, y + amplitude * np.sin(2 * np.pi * (x - x0) / wavelength + phase)])


def wave_crest(
    cv: Canvas, rng: np.random.Generator, center, radius: float, body, foam, line, width: float
) -> None:
    """Ukiyo-e breaker: a filled arc with concentric inner lines and a claw of foam spirals."""
    a = np.linspace(np.pi, 2 * np.pi, 30)
    outer = np.column_stack([center[0] + radius * np.cos(a), center[1] + radius * np.sin(a)])
    base = np.array(
        [[center[0] + radius, center[1] + 0.3 * radius], [center[0] - radius, center[1] + 0.3 * radius]]
    )
    pts = np.vstack([outer, base])
    cv.draw.polygon([tuple(p) for p in cv.px(pts).tolist()], fill=tuple(int(v) for v in body))
    for k in range(1, 4):
        r = radius * (1 - 0.2 * k)
        arc = np.column_stack([center[0] + r * np.cos(a), center[1] + r * np.sin(a)])
        polyline(cv, arc, line, width)
    polyline(cv, pts, line, width)
    for k in range(5):
        ang = math.pi + (k + 0.5) / 5 * math.pi
        c = (center[0] + radius * math.cos(ang), center[1] + radius * math.sin(ang))
        polyline(cv, spiral(c, 0.0, radius * 0.12, 1.0, rng.uniform(0, 6.3), n=12), foam, width * 1.5)
