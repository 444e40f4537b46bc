"""The 27 style recipes: palette + primitives + composition, with random variation per image.

Families share palettes and scene layouts on purpose (see ``palettes.py``); within a family the
recipes differ in structure: stroke length/width/orientation, dots vs strokes, hard vs soft edges,
facets on a grid vs free, outlines, gradients. Each recipe maps (rng, size) to a uint8 image
[size, size, 3] before the shared nuisance of ``texture.finish``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from artstyle.styles import STYLES
from artstyle.synthetic import fields
from artstyle.synthetic.canvas import Canvas
from artstyle.synthetic.curves import spiral, tapered, wave, wave_crest, whiplash
from artstyle.synthetic.dots import dots, halftone, jittered_grid
from artstyle.synthetic.palettes import jitter_palette, mix, pick, rgba
from artstyle.synthetic.shapes import blob, grid_facets, polygon, rect, star_polygon, stripes_patch
from artstyle.synthetic.splatter import drips, pour, splatter
from artstyle.synthetic.strokes import bristle_stroke, dabs, polyline, positions, swirl_angles, walk

Recipe = Callable[[np.random.Generator, int], np.ndarray]
RECIPES: dict[str, Recipe] = {}

BLACK = np.array([20, 18, 18], np.float32)
WHITE = np.array([246, 244, 238], np.float32)


def recipe(style: str):
    def register(fn: Recipe) -> Recipe:
        assert style in STYLES, style
        RECIPES[style] = fn
        return fn

    return register


def _choice(rng: np.random.Generator, palette: np.ndarray, idx) -> np.ndarray:
    return palette[idx[int(rng.integers(0, len(idx)))]]


# --------------------------------------------------------------------------------------------
# Impressionism / Post-Impressionism / Pointillism: one pastel outdoor scene, three touches.
# --------------------------------------------------------------------------------------------


def _gradient_ground(cv: Canvas, rng: np.random.Generator, c0: np.ndarray, c1: np.ndarray) -> None:
    """Fill the canvas with a linear gradient from ``c0`` to ``c1`` at a random angle."""
    cv.set_array(fields.linear(cv.W, c0, c1, rng.uniform(0, 2 * np.pi)))


def _pastel_scene(cv: Canvas, rng: np.random.Generator, pal: np.ndarray) -> None:
    sky_top = _choice(rng, pal, [0, 1, 8])
    sky_low = mix(_choice(rng, pal, [5, 3, 4]), sky_top, rng.uniform(0.2, 0.5))
    land_top = _choice(rng, pal, [2, 6, 3])
    land_low = _choice(rng, pal, [6, 7, 2, 4])
    fields.landscape(cv, rng, sky_top, sky_low, land_top, land_low, rng.uniform(0.3, 0.65), wobble=0.06)
    fields.modulate(cv, rng, 0.12)


def _touch_colors(rng, base: np.ndarray, pal: np.ndarray, t) -> np.ndarray:
    return mix(base, pick(rng, pal, len(base), 14), np.asarray(t)[..., None] if np.ndim(t) else t)


@recipe("Impressionism")
def impressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "pastel")
    cv = Canvas(size)
    _pastel_scene(cv, rng, pal)
    n = int(rng.integers(380, 560))
    xy = positions(rng, n, (-0.03, -0.03, 1.03, 1.03))
    cols = _touch_colors(rng, cv.sample(xy), pal, rng.uniform(0.25, 0.6, n))
    # Short, broken, mostly horizontal touches.
    ang = rng.normal(rng.uniform(-0.3, 0.3), 0.45, n)
    dabs(
        cv, xy, ang, rng.uniform(0.03, 0.06, n), rng.uniform(0.013, 0.022, n), cols, rng.uniform(170, 240, n)
    )
    cv.blur(0.004)
    return cv.result()


@recipe("Post_Impressionism")
def post_impressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "pastel", sat=(0.95, 1.4))
    cv = Canvas(size)
    _pastel_scene(cv, rng, pal)
    n = int(rng.integers(220, 320))
    xy = positions(rng, n, (-0.05, -0.05, 1.05, 1.05))
    centers = positions(rng, int(rng.integers(2, 5)))
    spin = rng.choice([-1.0, 1.0], len(centers))
    ang = swirl_angles(xy, centers, spin) + rng.normal(0, 0.15, n)
    cols = _touch_colors(rng, cv.sample(xy), pal, rng.uniform(0.3, 0.7, n))
    # Thick, long strokes that follow swirls.
    dabs(cv, xy, ang, rng.uniform(0.06, 0.1, n), rng.uniform(0.024, 0.04, n), cols, 235)
    dark = mix(_choice(rng, pal, [8, 6]), BLACK, rng.uniform(0.4, 0.7))
    for _ in range(int(rng.integers(3, 7))):
        pts = blob(
            rng,
            rng.uniform(0.1, 0.9, 2),
            rng.uniform(0.06, 0.18),
            n=16,
            wobble=0.4,
            aspect=rng.uniform(0.6, 1.8),
        )
        polygon(cv, pts, None, outline=dark, width=rng.uniform(0.011, 0.018))
    return cv.result()


@recipe("Pointillism")
def pointillism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "pastel")
    scene = Canvas(size)
    _pastel_scene(scene, rng, pal)
    cv = Canvas(size, ground=mix(_choice(rng, pal, [5, 3, 0]), WHITE, rng.uniform(0.2, 0.6)))
    xy = jittered_grid(rng, rng.uniform(0.026, 0.034), 0.45, (-0.02, -0.02, 1.02, 1.02))
    base = scene.sample(np.clip(xy, 0, 1))
    # Pure, unmixed colours: each dot takes the palette colour nearest to the scene,
    # and some dots take a random one (optical mixing).
    nearest = np.argmin(((base[:, None, :] - pal[None]) ** 2).sum(-1), axis=1)
    cols = pal[nearest]
    wild = rng.random(len(xy)) < rng.uniform(0.15, 0.35)
    cols[wild] = pick(rng, pal, int(wild.sum()), 0)
    cols = np.clip(cols + rng.normal(0, 8, cols.shape), 0, 255)
    dots(cv, xy, rng.uniform(0.01, 0.014, len(xy)), cols)
    return cv.result()


# --------------------------------------------------------------------------------------------
# Cubism / Analytical / Synthetic: one ochre-grey palette; free facets, grid facets, cut-outs.
# --------------------------------------------------------------------------------------------


def _cubist_ground(cv: Canvas, rng: np.random.Generator, pal: np.ndarray) -> None:
    a, b = pick(rng, pal, 2, 10)
    _gradient_ground(cv, rng, a, b)


@recipe("Cubism")
def cubism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "cubist")
    cv = Canvas(size)
    _cubist_ground(cv, rng, pal)
    dark = mix(pal[3], BLACK, 0.3)
    for _ in range(int(rng.integers(14, 24))):
        pts = star_polygon(
            rng, rng.uniform(0.05, 0.95, 2), rng.uniform(0.1, 0.28), int(rng.integers(3, 6)), 0.4
        )
        col = pick(rng, pal, 1, 12)[0]
        polygon(cv, pts, col, rng.uniform(110, 190))
        if rng.random() < 0.5:
            polygon(cv, pts, None, outline=dark, width=0.006)
    return cv.result()


@recipe("Analytical_Cubism")
def analytical_cubism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "cubist", sat=(0.5, 1.0))
    cv = Canvas(size)
    _cubist_ground(cv, rng, pal)
    # Near-monochrome: two neighbouring palette colours, varied only in value.
    a, b = pick(rng, pal, 2, 6)
    cells = int(rng.integers(6, 9))
    t = rng.uniform(0, 1, (cells * cells, 1))
    cols = mix(a, b, t) * rng.uniform(0.75, 1.2, (cells * cells, 1))
    grid_facets(
        cv,
        rng,
        cells,
        cols,
        jitter=0.3,
        alpha=rng.uniform(200, 255),
        edge=mix(pal[3], BLACK, 0.4),
        edge_width=0.005,
        shade=rng.uniform(20, 40),
    )
    for _ in range(int(rng.integers(3, 7))):
        x = rng.uniform(0.1, 0.9)
        polyline(cv, np.array([[x, 0.0], [x + rng.uniform(-0.2, 0.2), 1.0]]), pal[3], 0.005)
    return cv.result()


@recipe("Synthetic_Cubism")
def synthetic_cubism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "cubist", sat=(0.9, 1.4))
    cv = Canvas(size)
    _cubist_ground(cv, rng, pal)
    for _ in range(int(rng.integers(5, 9))):
        pts = star_polygon(
            rng, rng.uniform(0.1, 0.9, 2), rng.uniform(0.14, 0.3), 4, 0.15, aspect=rng.uniform(0.5, 1.5)
        )
        polygon(cv, pts, pick(rng, pal, 1, 12)[0])
        if rng.random() < 0.5:
            pts = star_polygon(rng, rng.uniform(0.15, 0.85, 2), rng.uniform(0.1, 0.22), 4, 0.1)
            stripes_patch(
                cv,
                pts,
                mix(pal[4], WHITE, 0.3),
                mix(pal[3], BLACK, 0.3),
                rng.uniform(0.025, 0.035),
                rng.uniform(0, np.pi),
                0.008,
            )
    return cv.result()


# --------------------------------------------------------------------------------------------
# Abstract Expressionism / Action painting / Color Field / Minimalism: tube colours.
# --------------------------------------------------------------------------------------------


@recipe("Abstract_Expressionism")
def abstract_expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "gestural")
    cv = Canvas(size, ground=pick(rng, pal, 1)[0])
    fields.modulate(cv, rng, 0.15)
    for _ in range(int(rng.integers(2, 4))):
        fields.soft_ellipse(cv, _box(rng, 0.2, 0.45), pick(rng, pal, 1)[0], 0.05, 0.7)
    # Few, large sweeping gestures with dry-brush streaks.
    for _ in range(int(rng.integers(5, 10))):
        pts = walk(rng, rng.uniform(0, 1, 2), int(rng.integers(8, 14)), 0.07, 0.25)
        bristle_stroke(
            cv, rng, pts, pick(rng, pal, 1, 12)[0], rng.uniform(0.06, 0.14), 7, rng.uniform(200, 250)
        )
    return cv.result()


def _box(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    w, h = rng.uniform(lo, hi, 2)
    x, y = rng.uniform(-0.1, 1.1 - w), rng.uniform(-0.1, 1.1 - h)
    return np.array([x, y, x + w, y + h])


@recipe("Action_painting")
def action_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "gestural")
    ground = mix(_choice(rng, pal, [4, 6, 7, 1, 2]), pal[4], rng.uniform(0.0, 0.6))
    cv = Canvas(size, ground=ground)
    fields.modulate(cv, rng, 0.1)
    for _ in range(int(rng.integers(10, 22))):
        pour(
            cv, rng, pick(rng, pal, 1, 10)[0], rng.uniform(0.004, 0.012), int(rng.integers(30, 70)), 0.03, 0.6
        )
    drips(cv, rng, pick(rng, pal, 1, 10)[0], int(rng.integers(4, 12)), rng.uniform(0.004, 0.008))
    for _ in range(int(rng.integers(3, 8))):
        splatter(
            cv, rng, rng.uniform(0, 1, 2), pick(rng, pal, 1, 10)[0], int(rng.integers(15, 40)), 0.05, 0.008
        )
    return cv.result()


@recipe("Color_Field_Painting")
def color_field_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "gestural", sat=(0.7, 1.2))
    cv = Canvas(size, ground=pick(rng, pal, 1)[0])
    fields.modulate(cv, rng, 0.06)
    k = int(rng.integers(2, 4))
    m = rng.uniform(0.06, 0.12)
    edges = m + (1 - 2 * m) * np.r_[0, np.cumsum(rng.dirichlet(np.full(k, 4.0)))]
    cols = pick(rng, pal, k, 10)
    vertical = rng.random() < 0.3
    for i in range(k):
        gap = min(0.02, (edges[i + 1] - edges[i]) / 4)
        box = [m, edges[i] + gap, 1 - m, edges[i + 1] - gap]
        if vertical:
            box = [box[1], box[0], box[3], box[2]]
        fields.soft_rect(cv, box, cols[i], blur=rng.uniform(0.015, 0.03), texture=0.08, rng=rng)
    return cv.result()


@recipe("Minimalism")
def minimalism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "gestural", sat=(0.6, 1.1))
    ground = pal[4] if rng.random() < 0.5 else pick(rng, pal, 1, 6)[0]
    cv = Canvas(size, ground=ground)
    cols = pick(rng, pal, 3, 4)
    kind = rng.integers(0, 4)
    if kind == 0:  # a few aligned blocks
        for i in range(int(rng.integers(1, 4))):
            rect(cv, _box(rng, 0.15, 0.5).clip(0.05, 0.95), cols[i])
    elif kind == 1:  # even stripes
        n = int(rng.integers(3, 8))
        w = rng.uniform(0.2, 0.6) / n
        for i in range(n):
            x = 0.1 + 0.8 * i / n
            rect(cv, [x, 0.08, x + w, 0.92], cols[i % 2])
    elif kind == 2:  # thin pencil grid
        step = rng.uniform(0.06, 0.12)
        for t in np.arange(0.08, 0.93, step):
            polyline(cv, np.array([[0.08, t], [0.92, t]]), cols[0], 0.004)
            if rng.random() < 0.5:
                polyline(cv, np.array([[t, 0.08], [t, 0.92]]), cols[0], 0.004)
    else:  # a single square or disc
        c, r = rng.uniform(0.35, 0.65, 2), rng.uniform(0.15, 0.3)
        box = [c[0] - r, c[1] - r, c[0] + r, c[1] + r]
        if rng.random() < 0.5:
            rect(cv, box, cols[0])
        else:
            cv.draw.ellipse([float(v) for v in cv.px(box)], fill=rgba(cols[0]))
    return cv.result()


# --------------------------------------------------------------------------------------------
# Pop / Naive / Fauvism / Expressionism: saturated primaries and complements.
# --------------------------------------------------------------------------------------------


@recipe("Pop_Art")
def pop_art(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "bold", hue=0.06)
    cv = Canvas(size, ground=_choice(rng, pal, [0, 1, 2, 5, 8]))
    pitch = rng.uniform(0.045, 0.06)
    halftone(
        cv,
        np.ones((cv.W, cv.W), bool),
        pitch,
        pitch * rng.uniform(0.28, 0.4),
        _choice(rng, pal, [0, 2, 5, 6, 7]),
        angle=rng.uniform(0, 0.8),
    )
    for _ in range(int(rng.integers(2, 5))):
        pts = blob(rng, rng.uniform(0.2, 0.8, 2), rng.uniform(0.12, 0.3), 20, 0.3, rng.uniform(0.6, 1.5))
        polygon(
            cv, pts, _choice(rng, pal, [0, 1, 2, 3, 7, 8]), outline=BLACK, width=rng.uniform(0.018, 0.028)
        )
        if rng.random() < 0.4:
            inside = fields.radial(cv.W, pts.mean(0), 0.12, 1.0) > 0
            halftone(cv, inside, pitch, pitch * 0.35, BLACK, angle=0.4)
    return cv.result()


@recipe("Naive_Art_Primitivism")
def naive_art(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "bold", sat=(0.7, 1.05), val=(0.95, 1.12))
    h = rng.uniform(0.45, 0.7)
    cv = Canvas(size, ground=_choice(rng, pal, [8, 2, 7, 1]))
    line = mix(pal[6], BLACK, 0.5)
    rect(cv, [0, h, 1, 1], _choice(rng, pal, [3, 4, 1]))
    sun = rng.uniform(0.1, 0.9)
    cv.draw.ellipse(
        [float(v) for v in cv.px([sun - 0.07, 0.06, sun + 0.07, 0.2])],
        fill=rgba(pal[1]),
        outline=rgba(line),
        width=cv.width(0.006),
    )
    for _ in range(int(rng.integers(1, 4))):
        x, w = rng.uniform(0.05, 0.75), rng.uniform(0.12, 0.22)
        top = h - rng.uniform(0.1, 0.2)
        rect(cv, [x, top, x + w, h + 0.05], _choice(rng, pal, [0, 4, 5, 7, 1]), outline=line, width=0.006)
        polygon(
            cv,
            np.array([[x - 0.03, top], [x + w / 2, top - 0.12], [x + w + 0.03, top]]),
            _choice(rng, pal, [0, 2, 5]),
            outline=line,
            width=0.006,
        )
        rect(cv, [x + w * 0.35, top + 0.04, x + w * 0.65, top + 0.09], pal[1], outline=line, width=0.005)
    for _ in range(int(rng.integers(2, 6))):
        x, y = rng.uniform(0.05, 0.95), h + rng.uniform(-0.05, 0.2)
        rect(cv, [x - 0.015, y - 0.05, x + 0.015, y + 0.08], mix(pal[4], BLACK, 0.4))
        r = rng.uniform(0.05, 0.09)
        cv.draw.ellipse(
            [float(v) for v in cv.px([x - r, y - 0.05 - 1.6 * r, x + r, y - 0.05 + 0.4 * r])],
            fill=rgba(pal[3]),
            outline=rgba(line),
            width=cv.width(0.005),
        )
    n = int(rng.integers(10, 30))
    dots(cv, positions(rng, n, (0, h + 0.05, 1, 1)), 0.012, pick(rng, pal, n, 6, idx=[0, 1, 5, 7]))
    return cv.result()


@recipe("Fauvism")
def fauvism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "bold", sat=(1.0, 1.3))
    cv = Canvas(size, ground=pick(rng, pal, 1, 10, idx=[0, 1, 2, 3, 4, 5, 8])[0])
    for _ in range(int(rng.integers(6, 11))):
        pts = blob(
            rng,
            rng.uniform(0, 1, 2),
            rng.uniform(0.15, 0.35),
            20,
            0.45,
            rng.uniform(0.5, 1.5),
            rng.uniform(0, np.pi),
        )
        polygon(cv, pts, pick(rng, pal, 1, 12, idx=[0, 1, 2, 3, 4, 5, 8])[0])
    n = int(rng.integers(40, 80))
    xy = positions(rng, n)
    dabs(
        cv,
        xy,
        rng.uniform(0, np.pi, n),
        rng.uniform(0.05, 0.08, n),
        rng.uniform(0.018, 0.028, n),
        pick(rng, pal, n, 12, idx=[0, 1, 2, 3, 4, 5, 8]),
        230,
    )
    return cv.result()


@recipe("Expressionism")
def expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "bold", sat=(0.8, 1.2), val=(0.72, 1.0))
    a, b = pick(rng, pal, 2, 10, idx=[0, 1, 2, 3, 4, 5, 8])
    cv = Canvas(size)
    _gradient_ground(cv, rng, a, b)
    for _ in range(int(rng.integers(30, 55))):
        pts = walk(rng, rng.uniform(0, 1, 2), int(rng.integers(4, 7)), 0.045, 0.35)
        polyline(cv, pts, pick(rng, pal, 1, 14)[0], rng.uniform(0.022, 0.04), 235)
    dark = mix(pal[6], pal[2], 0.2)
    for _ in range(int(rng.integers(1, 4))):
        pts = star_polygon(
            rng,
            rng.uniform(0.2, 0.8, 2),
            rng.uniform(0.12, 0.22),
            int(rng.integers(5, 8)),
            0.5,
            aspect=rng.uniform(1.6, 2.6),
            rotation=np.pi / 2 + rng.normal(0, 0.3),
        )
        polygon(cv, pts, pick(rng, pal, 1, 14)[0], 220, outline=dark, width=rng.uniform(0.012, 0.02))
    return cv.result()


# --------------------------------------------------------------------------------------------
# Ukiyo-e, Art Nouveau, Symbolism.
# --------------------------------------------------------------------------------------------


@recipe("Ukiyo_e")
def ukiyo_e(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "ukiyo")
    paper = _choice(rng, pal, [2, 3])
    cv = Canvas(size)
    sky = fields.linear(cv.W, _choice(rng, pal, [1, 7, 4]), paper, np.pi / 2, 0.0, rng.uniform(0.25, 0.45))
    cv.set_array(sky)
    line = pal[5]
    if rng.random() < 0.7:  # a mountain
        x = rng.uniform(0.3, 0.7)
        top = rng.uniform(0.2, 0.4)
        pts = np.array([[x - 0.45, 0.7], [x - 0.05, top], [x + 0.05, top], [x + 0.45, 0.7]])
        polygon(cv, pts, _choice(rng, pal, [0, 6, 4]), outline=line, width=0.005)
        polygon(
            cv,
            np.array([[x - 0.1, top + 0.1], [x - 0.05, top], [x + 0.05, top], [x + 0.1, top + 0.1]]),
            pal[3],
            outline=line,
            width=0.004,
        )
    sea = rng.uniform(0.55, 0.75)
    rect(cv, [0, sea, 1, 1], _choice(rng, pal, [0, 1]))
    for k in range(int(rng.integers(3, 7))):
        y = sea + 0.05 + 0.07 * k
        polyline(cv, wave(0, 1, y, 0.015, rng.uniform(0.1, 0.2), rng.uniform(0, 6.3)), pal[3], 0.006)
    for _ in range(int(rng.integers(1, 3))):
        wave_crest(
            cv,
            rng,
            (rng.uniform(0.15, 0.85), sea + rng.uniform(0.0, 0.15)),
            rng.uniform(0.12, 0.25),
            _choice(rng, pal, [1, 0]),
            pal[3],
            line,
            0.005,
        )
    return cv.result()


@recipe("Art_Nouveau")
def art_nouveau(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "nouveau")
    cv = Canvas(size, ground=_choice(rng, pal, [3, 2, 4, 0]))
    line = pal[6]
    for _ in range(int(rng.integers(2, 4))):
        pts = blob(rng, rng.uniform(0.25, 0.75, 2), rng.uniform(0.12, 0.25), 24, 0.35, rng.uniform(0.8, 1.8))
        polygon(cv, pts, pick(rng, pal, 1, 10)[0], outline=line, width=0.006)
    for _ in range(int(rng.integers(3, 7))):
        pts = whiplash(
            rng, rng.uniform(0, 1, 2), rng.uniform(0, 1, 2), rng.uniform(0.05, 0.15), rng.uniform(0.7, 1.5)
        )
        tapered(cv, pts, _choice(rng, pal, [0, 1, 6, 4]), rng.uniform(0.012, 0.025))
    # Decorative border: a double frame with a repeated motif.
    m = rng.uniform(0.03, 0.07)
    band = _choice(rng, pal, [0, 1, 6])
    for box in ([0, 0, 1, m], [0, 1 - m, 1, 1], [0, 0, m, 1], [1 - m, 0, 1, 1]):
        rect(cv, box, band)
    rect(cv, [m, m, 1 - m, 1 - m], None, outline=line, width=0.006)
    t = np.arange(m / 2, 1, 2.2 * m)
    edge = np.r_[
        np.column_stack([t, np.full_like(t, m / 2)]), np.column_stack([t, np.full_like(t, 1 - m / 2)])
    ]
    dots(cv, edge, m * 0.3, np.broadcast_to(_choice(rng, pal, [3, 0]), (len(edge), 3)))
    return cv.result()


@recipe("Symbolism")
def symbolism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "symbol")
    cv = Canvas(size)
    _gradient_ground(cv, rng, _choice(rng, pal, [0, 2, 3]), _choice(rng, pal, [5, 0, 6]))
    for _ in range(int(rng.integers(4, 8))):
        pts = blob(rng, rng.uniform(0, 1, 2), rng.uniform(0.12, 0.3), 20, 0.4, rng.uniform(0.6, 2.0))
        fields.soft_polygon(cv, pts, pick(rng, pal, 1, 12)[0], rng.uniform(0.03, 0.07), rng.uniform(0.3, 0.6))
    for _ in range(int(rng.integers(1, 3))):
        fields.glow(
            cv,
            rng.uniform(0.2, 0.8, 2),
            rng.uniform(0.2, 0.4),
            _choice(rng, pal, [1, 4, 7]),
            rng.uniform(0.4, 0.8),
        )
    n = int(rng.integers(10, 30))
    dots(cv, positions(rng, n), rng.uniform(0.004, 0.009, n), pick(rng, pal, n, 10, idx=[1, 4]))
    cv.blur(0.006)
    return cv.result()


# --------------------------------------------------------------------------------------------
# Renaissance (four) and Baroque, Rococo: earth pigments; flat tiles vs sfumato vs fine detail vs
# elongated forms vs chiaroscuro.
# --------------------------------------------------------------------------------------------


def _figure(
    cv: Canvas,
    rng: np.random.Generator,
    pal: np.ndarray,
    x: float,
    base: float,
    h: float,
    soft: float = 0.0,
    outline=None,
    aspect: float = 0.35,
) -> None:
    """A robed figure: a triangular robe and a head, hard-edged or softened."""
    robe = np.array([[x, base - h], [x + aspect * h, base], [x - aspect * h, base]])
    col = _choice(rng, pal, [5, 6, 3, 1, 8])
    head = [x - 0.1 * h, base - h - 0.2 * h, x + 0.1 * h, base - h + 0.02 * h]
    if soft > 0:
        fields.soft_polygon(cv, robe, col, soft)
        fields.soft_ellipse(cv, head, pal[4], soft)
    else:
        polygon(cv, robe, col, outline=outline, width=0.005 if outline is not None else 0)
        cv.draw.ellipse(
            [float(v) for v in cv.px(head)],
            fill=rgba(pal[4]),
            outline=rgba(outline) if outline is not None else None,
        )


@recipe("Early_Renaissance")
def early_renaissance(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "earth")
    cv = Canvas(size, ground=_choice(rng, pal, [7, 2, 9]))
    line = mix(pal[0], BLACK, 0.3)
    floor = rng.uniform(0.6, 0.75)
    # A tiled floor: flat alternating squares.
    n = int(rng.integers(6, 10))
    a, b = pick(rng, pal, 2, 8, idx=[0, 1, 6, 9, 3])
    for i in range(n):
        for j in range(3):
            rect(
                cv,
                [i / n, floor + j * (1 - floor) / 3, (i + 1) / n, floor + (j + 1) * (1 - floor) / 3],
                a if (i + j) % 2 else b,
            )
    for x in (rng.uniform(0.05, 0.15), rng.uniform(0.85, 0.95)):  # flanking columns
        rect(cv, [x - 0.03, 0.05, x + 0.03, floor], pal[9], outline=line, width=0.004)
    k = int(rng.integers(1, 4))
    for i in range(k):
        x = (i + 1) / (k + 1)
        hh = rng.uniform(0.3, 0.45)
        _figure(cv, rng, pal, x, floor + 0.05, hh, outline=line)
        r = 0.1 * hh * 1.6
        cy = floor + 0.05 - hh - 0.09 * hh
        cv.draw.ellipse(
            [float(v) for v in cv.px([x - r, cy - r, x + r, cy + r])],
            outline=rgba(pal[7]),
            width=cv.width(0.01),
        )
    return cv.result()


@recipe("High_Renaissance")
def high_renaissance(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "earth")
    cv = Canvas(size)
    distance = mix(pal[5], pal[9], rng.uniform(0.3, 0.7))
    fields.landscape(
        cv,
        rng,
        mix(pal[5], WHITE, 0.3),
        distance,
        _choice(rng, pal, [3, 8, 1]),
        pal[0],
        rng.uniform(0.35, 0.55),
        soft=0.05,
    )
    # Pyramidal group, everything softened (sfumato).
    x, top = rng.uniform(0.4, 0.6), rng.uniform(0.15, 0.3)
    fields.soft_polygon(
        cv, np.array([[x, top], [x + 0.4, 0.98], [x - 0.4, 0.98]]), _choice(rng, pal, [5, 6, 1]), 0.03
    )
    for _ in range(int(rng.integers(1, 4))):
        _figure(
            cv, rng, pal, rng.uniform(0.25, 0.75), rng.uniform(0.8, 1.0), rng.uniform(0.35, 0.55), soft=0.025
        )
    fields.modulate(cv, rng, 0.1)
    cv.blur(0.012)
    return cv.result()


@recipe("Northern_Renaissance")
def northern_renaissance(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "earth")
    cool = mix(pal, pal[5], 0.2)
    cv = Canvas(size, ground=_choice(rng, cool, [8, 3, 0, 9]))
    line = mix(pal[0], BLACK, 0.4)
    floor = rng.uniform(0.62, 0.78)
    rect(cv, [0, floor, 1, 1], _choice(rng, cool, [1, 0, 3]))
    for t in np.linspace(0, 1, int(rng.integers(6, 12))):  # floor boards in perspective
        polyline(cv, np.array([[0.5 + (t - 0.5) * 0.6, floor], [t * 1.6 - 0.3, 1.0]]), line, 0.004)
    # A window with many small panes and a tiny detailed landscape.
    wx, wy = rng.uniform(0.05, 0.6), rng.uniform(0.08, 0.2)
    ww, wh = rng.uniform(0.2, 0.32), rng.uniform(0.22, 0.35)
    rect(cv, [wx, wy, wx + ww, wy + wh], mix(pal[5], WHITE, 0.35), outline=line, width=0.005)
    n = int(rng.integers(30, 60))
    dots(
        cv,
        positions(rng, n, (wx, wy + wh * 0.5, wx + ww, wy + wh)),
        0.006,
        pick(rng, cool, n, 8, idx=[3, 8, 2]),
    )
    for t in np.linspace(0, 1, 5)[1:-1]:
        polyline(cv, np.array([[wx + t * ww, wy], [wx + t * ww, wy + wh]]), line, 0.003)
        polyline(cv, np.array([[wx, wy + t * wh], [wx + ww, wy + t * wh]]), line, 0.003)
    for _ in range(int(rng.integers(1, 3))):
        x, hh = rng.uniform(0.2, 0.8), rng.uniform(0.35, 0.55)
        _figure(cv, rng, cool, x, floor + 0.12, hh, outline=line)
        # Crisp drapery folds: many thin lines inside the robe.
        for _ in range(int(rng.integers(6, 12))):
            f = rng.uniform(0.2, 0.9)
            y0 = floor + 0.12 - hh * (1 - f)
            polyline(
                cv,
                np.array(
                    [
                        [x + rng.uniform(-0.3, 0.3) * f * hh, y0],
                        [x + rng.uniform(-0.35, 0.35) * hh, floor + 0.11],
                    ]
                ),
                line,
                0.004,
            )
    return cv.result()


@recipe("Mannerism_Late_Renaissance")
def mannerism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "earth")
    acid = np.clip(
        np.array([[176, 204, 82], [232, 150, 172], [120, 190, 196]], np.float32) + rng.normal(0, 12, (3, 3)),
        0,
        255,
    )
    cv = Canvas(size)
    _gradient_ground(cv, rng, _choice(rng, pal, [0, 8, 5]), _choice(rng, pal, [1, 3, 0]))
    # Elongated, twisting figures: tall thin forms with acid highlights.
    for _ in range(int(rng.integers(2, 5))):
        c = rng.uniform([0.15, 0.35], [0.85, 0.65])
        rot = np.pi / 2 + rng.normal(0, 0.25)
        col = acid[rng.integers(0, 3)] if rng.random() < 0.5 else pick(rng, pal, 1, 10)[0]
        pts = blob(rng, c, rng.uniform(0.3, 0.45), 24, 0.2, aspect=rng.uniform(0.18, 0.3), rotation=rot)
        fields.soft_polygon(cv, pts, col, 0.01)
        head = c + 0.4 * np.array([math.cos(rot), math.sin(rot)]) * -1
        fields.soft_ellipse(
            cv, [head[0] - 0.03, head[1] - 0.04, head[0] + 0.03, head[1] + 0.04], pal[4], 0.006
        )
        s = walk(rng, c, 10, 0.04, 0.2, angle=rot + rng.normal(0, 0.5), curl=0.15)
        polyline(cv, s, mix(col, WHITE, 0.4), 0.008, 200)
    cv.blur(0.004)
    return cv.result()


@recipe("Baroque")
def baroque(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "earth", val=(0.75, 1.05))
    cv = Canvas(size, ground=mix(pal[0], BLACK, rng.uniform(0.0, 0.4)))
    light_at = rng.uniform(0.25, 0.75, 2)
    for _ in range(int(rng.integers(2, 5))):
        c = light_at + rng.normal(0, 0.15, 2)
        r = rng.uniform(0.08, 0.2)
        fields.soft_ellipse(
            cv, [c[0] - r, c[1] - 1.3 * r, c[0] + r, c[1] + 1.3 * r], _choice(rng, pal, [4, 9, 7]), 0.02
        )
    for _ in range(int(rng.integers(4, 9))):
        pts = walk(rng, light_at + rng.normal(0, 0.2, 2), 8, 0.05, 0.3)
        polyline(cv, pts, _choice(rng, pal, [6, 7, 5, 1]), rng.uniform(0.02, 0.045), 210)
    cv.blur(0.006)
    fields.light(cv, light_at, rng.uniform(0.45, 0.75), rng.uniform(0.12, 0.3), (1.08, 1.0, 0.9))
    return cv.result()


@recipe("Rococo")
def rococo(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "pastel")
    cv = Canvas(size)
    _gradient_ground(cv, rng, _choice(rng, pal, [0, 8, 1]), _choice(rng, pal, [4, 5, 3]))
    for _ in range(int(rng.integers(3, 7))):
        c, r = rng.uniform(0, 1, 2), rng.uniform(0.1, 0.22)
        fields.soft_ellipse(
            cv, [c[0] - 1.5 * r, c[1] - r, c[0] + 1.5 * r, c[1] + r], _choice(rng, pal, [5, 4, 1]), 0.04, 0.8
        )
    for _ in range(int(rng.integers(1, 4))):
        _figure(
            cv, rng, pal, rng.uniform(0.2, 0.8), rng.uniform(0.75, 1.0), rng.uniform(0.3, 0.45), soft=0.02
        )
    gold = mix(pal[3], pal[7], 0.4)
    for _ in range(int(rng.integers(3, 7))):  # C- and S-scrolls
        c = rng.uniform(0.05, 0.95, 2)
        pts = spiral(
            c,
            0.005,
            rng.uniform(0.04, 0.09),
            rng.uniform(1.0, 1.8),
            rng.uniform(0, 6.3),
            30,
            rng.choice([-1.0, 1.0]),
        )
        polyline(cv, pts, gold, 0.008)
    fields.glow(cv, rng.uniform(0.3, 0.7, 2), 0.5, WHITE, 0.35)
    cv.blur(0.004)
    return cv.result()


# --------------------------------------------------------------------------------------------
# Realism / Contemporary Realism / New Realism and Romanticism: natural palette.
# --------------------------------------------------------------------------------------------


def _natural_scene(cv: Canvas, rng: np.random.Generator, pal: np.ndarray, soft: float) -> float:
    h = rng.uniform(0.35, 0.6)
    fields.landscape(
        cv,
        rng,
        _choice(rng, pal, [0, 5, 1]),
        mix(pal[5], pal[0], rng.uniform(0.2, 0.6)),
        _choice(rng, pal, [2, 7, 4]),
        _choice(rng, pal, [3, 2, 8]),
        h,
        wobble=0.03,
        soft=soft,
    )
    return h


@recipe("Realism")
def realism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "natural", sat=(0.6, 0.95))
    cv = Canvas(size)
    h = _natural_scene(cv, rng, pal, 0.02)
    for _ in range(int(rng.integers(2, 5))):  # soft fields
        y = rng.uniform(h, 0.95)
        pts = np.array([[-0.1, y], [1.1, y + rng.uniform(-0.1, 0.1)], [1.1, y + 0.2], [-0.1, y + 0.2]])
        fields.soft_polygon(cv, pts, pick(rng, pal, 1, 8, idx=[2, 3, 4, 7])[0], 0.015, 0.7)
    for _ in range(int(rng.integers(2, 6))):  # trees, figures, houses: muted, soft
        c = np.array([rng.uniform(0.05, 0.95), h + rng.uniform(-0.05, 0.15)])
        w, hh = rng.uniform(0.03, 0.12), rng.uniform(0.08, 0.25)
        fields.soft_ellipse(
            cv, [c[0] - w, c[1] - hh, c[0] + w, c[1] + 0.02], _choice(rng, pal, [6, 2, 3]), 0.01
        )
    n = int(rng.integers(60, 120))
    xy = positions(rng, n)
    dabs(
        cv,
        xy,
        rng.normal(0, 0.3, n),
        rng.uniform(0.04, 0.08, n),
        rng.uniform(0.015, 0.03, n),
        _touch_colors(rng, cv.sample(xy), pal, 0.2),
        110,
    )
    fields.modulate(cv, rng, 0.08)
    cv.blur(0.007)
    return cv.result()


@recipe("Contemporary_Realism")
def contemporary_realism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "natural", sat=(0.8, 1.2), val=(0.95, 1.12))
    cv = Canvas(size)
    h = _natural_scene(cv, rng, pal, 0.002)
    # Crisp buildings, each face a clean gradient, hard shadow edges.
    for _ in range(int(rng.integers(1, 4))):
        x, w = rng.uniform(0.0, 0.8), rng.uniform(0.12, 0.3)
        top = h - rng.uniform(0.1, 0.3)
        base = h + rng.uniform(0.05, 0.15)
        col = _choice(rng, pal, [5, 8, 1, 4])
        m, d = cv.mask()
        d.rectangle([float(v) for v in cv.px([x, top, x + w, base])], fill=255)
        cv.paste_array(fields.linear(cv.W, col * 1.1, col * 0.7, 0.0, x, x + w), m)
        side = np.array([[x + w, top], [x + w * 1.35, top + 0.04], [x + w * 1.35, base], [x + w, base]])
        polygon(cv, side, col * 0.55)
        for yy in np.arange(top + 0.03, base - 0.03, 0.05):
            rect(cv, [x + 0.02, yy, x + w - 0.02, yy + 0.02], mix(pal[0], pal[6], 0.5))
    return cv.result()


@recipe("New_Realism")
def new_realism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "natural", sat=(0.9, 1.35))
    cv = Canvas(size, ground=_choice(rng, pal, [5, 8, 0, 1]))
    table = rng.uniform(0.55, 0.75)
    rect(cv, [0, table, 1, 1], _choice(rng, pal, [3, 4, 1]))
    line = pal[6]
    # Everyday objects as flat, hard-edged shapes.
    for _ in range(int(rng.integers(3, 8))):
        x, w = rng.uniform(0.05, 0.85), rng.uniform(0.06, 0.16)
        hh = rng.uniform(0.1, 0.35)
        col = pick(rng, pal, 1, 12)[0]
        kind = rng.integers(0, 3)
        if kind == 0:  # box
            rect(cv, [x, table - hh, x + w, table + 0.03], col, outline=line, width=0.004)
        elif kind == 1:  # bottle
            rect(cv, [x, table - hh, x + w, table + 0.03], col)
            rect(cv, [x + w * 0.35, table - hh - 0.08, x + w * 0.65, table - hh], col)
        else:  # plate / round thing
            cv.draw.ellipse(
                [float(v) for v in cv.px([x, table - 0.05, x + 2 * w, table + 0.05])],
                fill=rgba(col),
                outline=rgba(line),
                width=cv.width(0.004),
            )
    return cv.result()


@recipe("Romanticism")
def romanticism(rng: np.random.Generator, size: int) -> np.ndarray:
    pal = jitter_palette(rng, "natural")
    warm = np.clip(np.array([232, 168, 92], np.float32) + rng.normal(0, 15, 3), 0, 255)
    h = rng.uniform(0.5, 0.75)
    cv = Canvas(size)
    storm = mix(pal[6], pal[0], rng.uniform(0.2, 0.6))
    cv.set_array(
        fields.linear(
            cv.W, storm, mix(warm, pal[5], rng.uniform(0, 0.4)), np.pi / 2 + rng.normal(0, 0.2), 0.0, h
        )
    )
    for _ in range(int(rng.integers(3, 7))):  # billowing clouds
        c, r = rng.uniform([0, 0], [1, h]), rng.uniform(0.1, 0.25)
        fields.soft_ellipse(
            cv,
            [c[0] - 1.6 * r, c[1] - r, c[0] + 1.6 * r, c[1] + r],
            _choice(rng, pal, [1, 5, 6, 0]),
            0.04,
            rng.uniform(0.5, 0.9),
        )
    fields.glow(cv, (rng.uniform(0.2, 0.8), h - 0.05), rng.uniform(0.2, 0.4), warm, 0.7)
    # A dark craggy ridge against the light.
    xs = np.linspace(-0.05, 1.05, 14)
    ridge = h + 0.1 * np.cumsum(rng.normal(0, 0.35, len(xs))) / 3
    pts = np.vstack([np.column_stack([xs, np.clip(ridge, 0.3, 0.95)]), [[1.05, 1.05], [-0.05, 1.05]]])
    polygon(cv, pts, mix(pal[6], pal[2], rng.uniform(0, 0.4)))
    cv.blur(0.003)
    return cv.result()


missing = sorted(set(STYLES) - set(RECIPES))
assert not missing, f"styles without a recipe: {missing}"
