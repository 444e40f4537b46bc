"""Surface texture and per-image nuisance: canvas weave, grain, brightness/contrast/tint jitter.

Every style goes through the same ``finish`` with the same distributions, so none of this is a
style cue; it only blurs the colour statistics a histogram baseline could otherwise rely on.
"""

from __future__ import annotations

import math

import numpy as np


def _sin_cos(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of a short 1-D float64 array, elementwise through Python's ``math``."""
    return np.array([math.sin(a) for a in v.tolist()]), np.array([math.cos(a) for a in v.tolist()])


def weave(W: int, pitch: float, amplitude: float, angle: float = 0.0) -> np.ndarray:
    """A canvas-weave relief pattern (W x W float64, zero mean): sin(k u) sin(k v) on axes rotated by ``angle``.

    Separable: with u = x cos + y sin and v = -x sin + y cos, the angle-sum identities need only
    2 W sines and cosines, taken with ``math`` on scalars; the W x W result is IEEE products and sums. A W x W float32 ``np.sin`` would use a SIMD
    kernel that rounds differently on different CPUs.
    """
    t = (np.arange(W, dtype=np.float64) + 0.5) / W
    k = 2.0 * math.pi / pitch
    c, s = math.cos(angle), math.sin(angle)
    s_c, c_c = _sin_cos(k * c * t)  # of k t cos(angle)
    s_s, c_s = _sin_cos(k * s * t)  # of k t sin(angle)
    # Rows are y, columns x: sin(k u) = sin(kxc) cos(kys) + cos(kxc) sin(kys),
    # sin(k v) = sin(kyc) cos(kxs) - cos(kyc) sin(kxs).
    sin_u = s_c[None, :] * c_s[:, None] + c_c[None, :] * s_s[:, None]
    sin_v = s_c[:, None] * c_s[None, :] - c_c[:, None] * s_s[None, :]
    return amplitude * sin_u * sin_v


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply global brightness, contrast and tint jitter, canvas weave and grain; uint8 in, uint8 out."""
    x = img.astype(np.float32)
    # Exact: an integer sum, not a float32 reduction whose rounding depends on the summation order.
    mean = np.float32(int(img.sum(dtype=np.int64)) / img.size)
    contrast = rng.uniform(0.75, 1.25)
    brightness = rng.uniform(-22, 22)
    tint = rng.uniform(0.92, 1.08, 3).astype(np.float32)
    x = ((x - mean) * contrast + mean + brightness) * tint
    W = img.shape[0]
    x += weave(W, rng.uniform(2.5, 4.0) / W, rng.uniform(0, 5), rng.uniform(0, np.pi / 2))[..., None]
    x += rng.normal(0, rng.uniform(1.0, 5.0), x.shape).astype(np.float32)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
