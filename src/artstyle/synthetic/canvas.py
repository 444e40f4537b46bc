"""The drawing surface every recipe paints on.

Drawing happens at ``ss`` times the stored size and is box-downsampled at the end: cheap
anti-aliasing for PIL's primitives, which are otherwise hard-edged at the pixel level. All
coordinates and sizes the primitives take are fractions of the canvas side, so a recipe looks the
same at 24 px (tests) and 96 px (default).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artstyle.synthetic.palettes import rgba


class Canvas:
    def __init__(self, size: int, ground=(255, 255, 255), ss: int = 2) -> None:
        self.size = size
        self.ss = ss
        self.W = size * ss
        self.img = Image.new("RGB", (self.W, self.W), rgba(ground)[:3])
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    # --- units ---------------------------------------------------------------------------------
    def px(self, v):
        """Fractions of the side -> pixels (arrays welcome)."""
        return np.asarray(v, dtype=np.float32) * self.W

    def width(self, v: float) -> int:
        """A line width in pixels, at least one pixel."""
        return max(1, round(float(v) * self.W))

    # --- pixels --------------------------------------------------------------------------------
    def array(self) -> np.ndarray:
        return np.asarray(self.img, dtype=np.float32)

    def set_array(self, arr: np.ndarray) -> None:
        self.img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Colours under points given in fractions (n x 2) -> n x 3 float."""
        ij = np.clip((np.asarray(xy) * self.W).astype(int), 0, self.W - 1)
        return self.array()[ij[:, 1], ij[:, 0]]

    def blur(self, radius: float) -> None:
        """Gaussian blur with ``radius`` a fraction of the side."""
        if radius > 0:
            self.img = self.img.filter(ImageFilter.GaussianBlur(radius * self.W))
            self.draw = ImageDraw.Draw(self.img, "RGBA")

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        m = Image.new("L", (self.W, self.W), 0)
        return m, ImageDraw.Draw(m)

    def fill_mask(self, mask: Image.Image, color, opacity: float = 1.0, blur: float = 0.0) -> None:
        """Composite a flat colour through ``mask`` (softened by a blur in fractions of the side).

        Blurring the mask rather than an RGBA layer avoids dark fringes from transparent black.
        """
        soft = self._soft_mask(mask, blur)
        if soft is None:
            return
        box, m = soft
        if opacity < 1.0:
            m = m.point(lambda v: int(v * opacity))
        solid = Image.new("RGB", m.size, rgba(color)[:3])
        self.img.paste(solid, box[:2], m)

    def _soft_mask(
        self, mask: Image.Image, blur: float
    ) -> tuple[tuple[int, int, int, int], Image.Image] | None:
        """The mask cropped to :meth:`_region` and blurred (``blur`` in fractions of the side); None if empty."""
        box = self._region(mask, blur)
        if box is None:
            return None
        m = mask.crop(box)
        if blur > 0:
            m = m.filter(ImageFilter.GaussianBlur(blur * self.W))
        return box, m

    def _region(self, mask: Image.Image, blur: float) -> tuple[int, int, int, int] | None:
        """The mask's bounding box grown by the blur's reach: soft shapes only cost their own area."""
        bbox = mask.getbbox()
        if bbox is None:
            return None
        pad = int(np.ceil(3 * blur * self.W)) + 1
        return (
            max(0, bbox[0] - pad),
            max(0, bbox[1] - pad),
            min(self.W, bbox[2] + pad),
            min(self.W, bbox[3] + pad),
        )

    def paste_array(self, arr: np.ndarray, mask: Image.Image, blur: float = 0.0) -> None:
        """Composite a full-size float image through ``mask``."""
        soft = self._soft_mask(mask, blur)
        if soft is None:
            return
        box, m = soft
        x0, y0, x1, y1 = box
        top = Image.fromarray(np.clip(arr[y0:y1, x0:x1], 0, 255).astype(np.uint8), "RGB")
        self.img.paste(top, box[:2], m)

    def result(self) -> np.ndarray:
        """The painting at the stored size: uint8 [size, size, 3]."""
        img = self.img.reduce(self.ss) if self.ss > 1 else self.img
        return np.asarray(img, dtype=np.uint8).copy()


def grid(W: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates as fractions: (x, y) each W x W."""
    t = (np.arange(W, dtype=np.float32) + 0.5) / W
    return np.meshgrid(t, t)
