"""Colour fields: gradients, skies, light falloff, low-frequency variation and soft-edged areas.

Everything here is whole-array numpy (no per-pixel Python), computed at the canvas resolution.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from artstyle.synthetic.canvas import Canvas, grid


def lowfreq(rng: np.random.Generator, W: int, cells: int = 4, channels: int = 1) -> np.ndarray:
    """Smooth noise in [-1, 1]: a random ``cells`` x ``cells`` grid upsampled bicubically to W x W."""
    out = []
    for _ in range(channels):
        small = rng.uniform(0, 255, (cells, cells)).astype(np.uint8)
        big = Image.fromarray(small, "L").resize((W, W), Image.BICUBIC)
        out.append(np.asarray(big, dtype=np.float32) / 127.5 - 1.0)
    return np.stack(out, -1) if channels > 1 else out[0]


def linear(W: int, c0, c1, angle: float = np.pi / 2, t0: float = 0.0, t1: float = 1.0) -> np.ndarray:
    """A linear gradient from c0 to c1 along ``angle`` (pi/2 = top to bottom), W x W x 3."""
    u = (np.arange(W, dtype=np.float32) + 0.5) / W - 0.5
    # Separable: a row term plus a column term, broadcast once into the W x W result.
    t = u[None, :] * np.float32(math.cos(angle)) + u[:, None] * np.float32(math.sin(angle)) + 0.5 - t0
    t = np.clip(t / np.float32(max(t1 - t0, 1e-6)), 0, 1)[..., None]
    c0 = np.asarray(c0, np.float32)
    return c0 + t * (np.asarray(c1, np.float32) - c0)


def radial(W: int, center, radius: float, power: float = 2.0) -> np.ndarray:
    """1 at ``center`` falling smoothly to 0 at ``radius`` (fractions), W x W float64.

    float64 whatever the type of ``center``, and the usual powers as products and square roots
    (correctly rounded on every CPU) rather than ``**``, whose SIMD kernel is CPU-dependent.
    """
    x, y = (a.astype(np.float64) for a in grid(W))
    dx, dy = x - float(center[0]), y - float(center[1])
    f = np.clip(1.0 - np.sqrt(dx * dx + dy * dy) / max(float(radius), 1e-6), 0.0, 1.0)
    if power == 2.0:
        return f * f
    if power == 1.5:
        return f * np.sqrt(f)
    if power == 1.0:
        return f
    return f ** float(power)


def landscape(
    cv: Canvas,
    rng: np.random.Generator,
    sky_top,
    sky_low,
    land_top,
    land_low,
    horizon: float,
    wobble: float = 0.03,
    soft: float = 0.01,
) -> None:
    """Sky gradient above an uneven horizon, ground gradient below."""
    W = cv.W
    y = (np.arange(W, dtype=np.float32) + 0.5) / W
    ts = np.clip(y / horizon, 0, 1)[:, None, None]
    tl = np.clip((y - horizon) / (1 - horizon), 0, 1)[:, None, None]
    sky = np.asarray(sky_top, np.float32) + ts * (
        np.asarray(sky_low, np.float32) - np.asarray(sky_top, np.float32)
    )
    land = np.asarray(land_top, np.float32) + tl * (
        np.asarray(land_low, np.float32) - np.asarray(land_top, np.float32)
    )
    h = horizon + wobble * lowfreq(rng, W, 3)[0:1, :]  # one row: a 1-D horizon profile
    t = np.clip((y[:, None] - h) / np.float32(max(soft, 1e-3)) + 0.5, 0, 1)[..., None]
    cv.set_array(sky + t * (land - sky))


def modulate(cv: Canvas, rng: np.random.Generator, amount: float, cells: int = 5) -> None:
    """Multiply the canvas by smooth brightness variation (``amount`` ~ relative swing)."""
    n = lowfreq(rng, cv.W, cells)[..., None]
    cv.set_array(cv.array() * (1.0 + amount * n))


def light(cv: Canvas, center, radius: float, dark: float, warm=(1.0, 1.0, 1.0), power: float = 1.5) -> None:
    """Chiaroscuro: darken away from a light source to ``dark`` (0..1) of the brightness."""
    f = radial(cv.W, center, radius, power)[..., None]
    gain = dark + (1.0 - dark) * f * np.asarray(warm, np.float32)
    cv.set_array(cv.array() * gain)


def glow(cv: Canvas, center, radius: float, color, strength: float = 0.6) -> None:
    """An additive-looking glow: blend towards ``color`` near ``center``."""
    f = radial(cv.W, center, radius, 2.0)[..., None] * strength
    cv.set_array(cv.array() * (1 - f) + f * np.asarray(color, np.float32))


def soft_rect(
    cv: Canvas,
    box,
    color,
    blur: float,
    opacity: float = 1.0,
    texture: float = 0.0,
    rng: np.random.Generator | None = None,
) -> None:
    """A colour-field rectangle with feathered edges and optional inner mottling."""
    m, d = cv.mask()
    d.rectangle([float(v) for v in cv.px(box)], fill=255)
    if texture > 0 and rng is not None:
        arr = np.asarray(color, np.float32) * (1.0 + texture * lowfreq(rng, cv.W, 6)[..., None])
        arr = np.broadcast_to(arr, (cv.W, cv.W, 3))
        if opacity < 1.0:
            m = m.point(lambda v: int(v * opacity))
        cv.paste_array(arr, m, blur=blur)
    else:
        cv.fill_mask(m, color, opacity=opacity, blur=blur)


def soft_ellipse(cv: Canvas, box, color, blur: float, opacity: float = 1.0) -> None:
    m, d = cv.mask()
    d.ellipse([float(v) for v in cv.px(box)], fill=255)
    cv.fill_mask(m, color, opacity=opacity, blur=blur)


def soft_polygon(cv: Canvas, pts: np.ndarray, color, blur: float, opacity: float = 1.0) -> None:
    m, d = cv.mask()
    d.polygon([tuple(p) for p in cv.px(pts).tolist()], fill=255)
    cv.fill_mask(m, color, opacity=opacity, blur=blur)
