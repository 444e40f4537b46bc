"""Surface texture and per-image nuisance: canvas weave, grain, brightness/contrast/tint jitter.

Every style goes through the same ``finish`` with the same distributions, so none of this is a
style cue; it only blurs the colour statistics a histogram baseline could otherwise rely on.
"""

from __future__ import annotations

import numpy as np

from artstyle.synthetic.canvas import grid


def weave(W: int, pitch: float, amplitude: float, angle: float = 0.0) -> np.ndarray:
    """A canvas-weave relief pattern (W x W, zero mean)."""
    x, y = grid(W)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    return amplitude * np.sin(2 * np.pi * u / pitch) * np.sin(2 * np.pi * v / pitch)


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply global brightness, contrast and tint jitter, canvas weave and grain; uint8 in, uint8 out."""
    x = img.astype(np.float32)
    mean = x.mean()
    contrast = rng.uniform(0.75, 1.25)
    brightness = rng.uniform(-22, 22)
    tint = rng.uniform(0.92, 1.08, 3).astype(np.float32)
    x = ((x - mean) * contrast + mean + brightness) * tint
    W = img.shape[0]
    x += weave(W, rng.uniform(2.5, 4.0) / W, rng.uniform(0, 5), rng.uniform(0, np.pi / 2))[..., None]
    x += rng.normal(0, rng.uniform(1.0, 5.0), x.shape).astype(np.float32)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
