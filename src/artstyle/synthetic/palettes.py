"""Palettes and their per-image jitter.

Related styles draw from the *same* palette on purpose: what separates them must be structure
(strokes vs dots, hard vs soft edges, grids vs free facets), not a colour a histogram can read.
"""

from __future__ import annotations

import math

import numpy as np

from artstyle.colour import LUMA

PALETTES: dict[str, np.ndarray] = {
    name: np.array(colors, dtype=np.float32)
    for name, colors in {
        # Renaissance, Baroque: earth pigments, flesh, lapis, gold.
        "earth": [
            (62, 42, 28),
            (150, 96, 52),
            (188, 150, 84),
            (112, 104, 62),
            (214, 178, 140),
            (72, 86, 110),
            (128, 44, 32),
            (198, 162, 72),
            (52, 66, 48),
            (228, 212, 178),
        ],
        # Realism family and Romanticism: sky, foliage, soil, stone.
        "natural": [
            (150, 172, 196),
            (132, 136, 128),
            (82, 102, 62),
            (112, 88, 62),
            (170, 152, 104),
            (218, 216, 204),
            (44, 44, 38),
            (118, 132, 88),
            (188, 176, 150),
        ],
        # Impressionism family and Rococo: light outdoor pastels.
        "pastel": [
            (160, 190, 228),
            (190, 172, 218),
            (160, 200, 142),
            (234, 220, 132),
            (234, 182, 178),
            (244, 238, 226),
            (92, 140, 96),
            (228, 162, 94),
            (120, 150, 196),
        ],
        # Cubism family: ochre, greys, browns.
        "cubist": [
            (182, 150, 102),
            (132, 130, 124),
            (110, 82, 56),
            (52, 46, 40),
            (214, 200, 170),
            (122, 124, 96),
            (190, 184, 174),
            (150, 112, 72),
        ],
        # Abstract expressionism family, Minimalism: paint straight from the tube.
        "gestural": [
            (188, 44, 38),
            (28, 26, 26),
            (228, 188, 54),
            (44, 72, 148),
            (234, 230, 218),
            (218, 122, 44),
            (122, 120, 118),
            (122, 72, 42),
            (70, 110, 80),
        ],
        # Pop, Fauvism, Expressionism, Naive art: saturated primaries and complements.
        "bold": [
            (220, 42, 40),
            (244, 208, 44),
            (32, 82, 198),
            (44, 158, 74),
            (240, 140, 34),
            (208, 62, 148),
            (24, 22, 26),
            (242, 238, 228),
            (62, 178, 218),
        ],
        # Ukiyo-e: indigo, Prussian blue, paper beige, rust.
        "ukiyo": [
            (42, 60, 100),
            (52, 92, 132),
            (224, 210, 176),
            (240, 230, 206),
            (178, 82, 52),
            (36, 32, 32),
            (122, 140, 120),
            (150, 170, 186),
        ],
        # Art Nouveau and Symbolism share gold; Symbolism leans to night blues.
        "nouveau": [
            (200, 160, 62),
            (82, 120, 72),
            (142, 140, 82),
            (230, 214, 172),
            (62, 110, 110),
            (188, 120, 110),
            (52, 46, 36),
            (96, 72, 110),
        ],
        "symbol": [
            (26, 36, 82),
            (200, 160, 62),
            (82, 52, 102),
            (42, 82, 102),
            (220, 210, 172),
            (22, 20, 30),
            (110, 120, 160),
            (150, 110, 60),
        ],
    }.items()
}


def hue_rotation(angle: float) -> np.ndarray:
    """3x3 matrix (float64) rotating RGB colours about the grey axis by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    k = 1.0 / 3.0
    sq = math.sqrt(k)
    return np.array(
        [
            [c + (1 - c) * k, k * (1 - c) - sq * s, k * (1 - c) + sq * s],
            [k * (1 - c) + sq * s, c + (1 - c) * k, k * (1 - c) - sq * s],
            [k * (1 - c) - sq * s, k * (1 - c) + sq * s, c + (1 - c) * k],
        ],
        dtype=np.float64,
    )


def apply_3x3(colors: np.ndarray, m) -> np.ndarray:
    """``colors @ m.T`` for ... x 3 colours, as explicit float64 multiply-adds.

    Not ``@``: numpy hands matrix products to BLAS, whose kernel (and so the rounding: FMA or
    not, summation order) is picked by the CPU at run time, so ``@`` gave different palettes on
    AVX2 and AVX-512 machines and, through them, different pixels (issue 11). Elementwise IEEE
    products and sums in a fixed order round the same everywhere.
    """
    c = np.asarray(colors, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    r, g, b = c[..., 0:1], c[..., 1:2], c[..., 2:3]
    return r * m[:, 0] + g * m[:, 1] + b * m[:, 2]


def adjust(colors: np.ndarray, hue: float = 0.0, sat: float = 1.0, val: float = 1.0) -> np.ndarray:
    """Rotate hue (radians), scale saturation about the luma and scale value; clipped to [0, 255]."""
    c = apply_3x3(colors, hue_rotation(hue))
    luma = (c[..., 0:1] * LUMA[0] + c[..., 1:2] * LUMA[1]) + c[..., 2:3] * LUMA[2]
    c = luma + sat * (c - luma)
    return np.clip(c * val, 0, 255)


def jitter_palette(
    rng: np.random.Generator,
    name: str,
    hue: float = 0.12,
    sat: tuple[float, float] = (0.8, 1.2),
    val: tuple[float, float] = (0.88, 1.12),
    per_color: float = 10.0,
) -> np.ndarray:
    """A per-image variant of a named palette (k x 3 float RGB).

    The jitter ranges are wide enough that related styles' colour distributions overlap.
    """
    base = PALETTES[name]
    c = adjust(base, rng.uniform(-hue, hue), rng.uniform(*sat), rng.uniform(*val))
    return np.clip(c + rng.normal(0.0, per_color, c.shape), 0, 255).astype(np.float32)


def pick(rng: np.random.Generator, palette: np.ndarray, n: int, jitter: float = 8.0, idx=None) -> np.ndarray:
    """``n`` colours drawn from ``palette`` (optionally only from rows ``idx``), each jittered."""
    rows = np.asarray(idx if idx is not None else np.arange(len(palette)))
    chosen = palette[rows[rng.integers(0, len(rows), n)]]
    return np.clip(chosen + rng.normal(0.0, jitter, chosen.shape), 0, 255)


def mix(a, b, t: float) -> np.ndarray:
    return (1.0 - t) * np.asarray(a, dtype=np.float32) + t * np.asarray(b, dtype=np.float32)


def _byte(v) -> int:
    return min(255, max(0, int(v)))


def rgba(color, alpha: float = 255) -> tuple[int, int, int, int]:
    """A PIL fill tuple from a float colour (plain Python: it runs once per primitive)."""
    r, g, b = color
    return (_byte(r), _byte(g), _byte(b), _byte(alpha))


def rgba_list(colors: np.ndarray, alpha) -> list[tuple[int, int, int, int]]:
    """PIL fill tuples for many primitives at once."""
    c = np.clip(np.asarray(colors, np.float32), 0, 255).astype(np.int64)
    a = np.clip(np.broadcast_to(np.asarray(alpha, np.float32), (len(c),)), 0, 255).astype(np.int64)
    return [tuple(row) for row in np.column_stack([c, a]).tolist()]
