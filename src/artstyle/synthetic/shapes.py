"""Hard-edged shapes: polygons, blobs, cubist facets, outlined flat areas, striped collage patches."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from artstyle.synthetic.canvas import Canvas
from artstyle.synthetic.palettes import rgba


def _rotate(pts: np.ndarray, angle: float) -> np.ndarray:
    """``pts @ [[c, s], [-s, c]]`` (n x 2, float64) as explicit products: ``@`` goes to BLAS, whose
    CPU-selected kernel rounds differently on different machines."""
    c, s = math.cos(angle), math.sin(angle)
    x, y = pts[:, 0], pts[:, 1]
    return np.column_stack([x * c - y * s, x * s + y * c])


def star_polygon(
    rng: np.random.Generator,
    center,
    radius: float,
    n: int = 5,
    irregular: float = 0.3,
    aspect: float = 1.0,
    rotation: float | None = None,
) -> np.ndarray:
    """A random polygon around ``center``: sorted angles, jittered radii (n x 2 fractions)."""
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * (1 + irregular * rng.uniform(-1, 1, n))
    pts = np.column_stack([r * np.cos(a), r * np.sin(a) * aspect])
    rot = rng.uniform(0, np.pi) if rotation is None else rotation
    return (_rotate(pts, rot) + np.asarray(center)).astype(np.float32)


def blob(
    rng: np.random.Generator,
    center,
    radius: float,
    n: int = 24,
    wobble: float = 0.25,
    aspect: float = 1.0,
    rotation: float = 0.0,
) -> np.ndarray:
    """A smooth organic outline: a circle whose radius varies by a few low harmonics."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 5):
        r += wobble / k * rng.uniform(0.3, 1.0) * np.cos(k * a + rng.uniform(0, 2 * np.pi))
    pts = np.column_stack([r * np.cos(a), r * np.sin(a) * aspect]) * radius
    return (_rotate(pts, rotation) + np.asarray(center)).astype(np.float32)


def polygon(
    cv: Canvas, pts: np.ndarray, fill=None, alpha: float = 255, outline=None, width: float = 0.0
) -> None:
    xy = [tuple(p) for p in cv.px(pts).tolist()]
    if fill is not None:
        cv.draw.polygon(xy, fill=rgba(fill, alpha))
    if outline is not None and width > 0:
        cv.draw.line(xy + [xy[0]], fill=rgba(outline), width=cv.width(width), joint="curve")


def rect(cv: Canvas, box, fill=None, alpha: float = 255, outline=None, width: float = 0.0) -> None:
    x0, y0, x1, y1 = box
    polygon(cv, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), fill, alpha, outline, width)


def grid_facets(
    cv: Canvas,
    rng: np.random.Generator,
    cells: int,
    colors: np.ndarray,
    jitter: float = 0.3,
    alpha: float = 255,
    edge=None,
    edge_width: float = 0.0,
    shade: float = 30.0,
    box=(0.0, 0.0, 1.0, 1.0),
) -> None:
    """Facets on a jittered lattice: each cell a quad with one lit and one shaded half."""
    x0, y0, x1, y1 = box
    gx = np.linspace(x0, x1, cells + 1)
    gy = np.linspace(y0, y1, cells + 1)
    X, Y = np.meshgrid(gx, gy)
    step = (x1 - x0) / cells
    X = X + rng.uniform(-jitter, jitter, X.shape) * step
    Y = Y + rng.uniform(-jitter, jitter, Y.shape) * step
    k = 0
    for i in range(cells):
        for j in range(cells):
            quad = np.array(
                [
                    [X[i, j], Y[i, j]],
                    [X[i, j + 1], Y[i, j + 1]],
                    [X[i + 1, j + 1], Y[i + 1, j + 1]],
                    [X[i + 1, j], Y[i + 1, j]],
                ]
            )
            col = colors[k % len(colors)]
            k += 1
            polygon(cv, quad, col + shade * 0.5, alpha)
            # The diagonal split reads as a folded plane: the cubist "facet".
            tri = quad[[0, 1, 2]] if rng.random() < 0.5 else quad[[1, 2, 3]]
            polygon(cv, tri, col - shade, alpha)
            if edge is not None:
                polygon(cv, quad, None, outline=edge, width=edge_width)


def stripes_patch(cv: Canvas, pts: np.ndarray, ground, ink, pitch: float, angle: float, width: float) -> None:
    """A polygon filled with parallel lines: the printed-paper collage of Synthetic Cubism."""
    W = cv.W
    patch = Image.new("RGB", (W, W), rgba(ground)[:3])
    d = ImageDraw.Draw(patch)
    c, s = math.cos(angle), math.sin(angle)
    w = cv.width(width)
    for t in np.arange(-1.5, 1.5, pitch):
        p = np.array([[-1.5 * c - t * s, -1.5 * s + t * c], [1.5 * c - t * s, 1.5 * s + t * c]]) + 0.5
        d.line([tuple(q) for q in (p * W).tolist()], fill=rgba(ink)[:3], width=w)
    m, md = cv.mask()
    md.polygon([tuple(p) for p in cv.px(pts).tolist()], fill=255)
    cv.img = Image.composite(patch, cv.img, m)
    cv.draw = ImageDraw.Draw(cv.img, "RGBA")
