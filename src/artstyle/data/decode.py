"""One image's bytes -> the store's uint8 ``image_size`` x ``image_size`` RGB square, or why not.

The same policy for every image, whatever the layout:

1. The size is checked from the header before any pixel is decoded: more than ``max_pixels``
   pixels is treated as a decompression bomb and rejected.
2. JPEGs are decoded with ``draft()`` at the smallest DCT scale (1/2, 1/4 or 1/8) that keeps the
   shorter side at least image_size: libjpeg then skips most of the inverse DCT and colour
   conversion work, for a result within a few levels of a full decode (``python -m
   artstyle.bench index`` measures both). Stopping at 2 x image_size instead (the resize's
   reducing gap) gains much less on 1-2 MP files: they then decode at 1/2 scale or full size,
   and entropy decoding, which draft() cannot shorten, dominates.
3. EXIF orientation is applied (``ImageOps.exif_transpose``): stored images are upright, and
   ``width``/``height`` in index.csv are the upright original size.
4. Every mode becomes 8-bit RGB:
   - RGB, L, 1, P, CMYK, YCbCr, ...: PIL's own conversion (CMYK without ICC colour management,
     i.e. the naive formula; a pure CMY primary maps to the matching RGB secondary).
   - 16-bit grey (``I;16*``, and ``I`` holding 16-bit data): scaled 0..65535 -> 0..255 with
     rounding. PIL's ``convert("L")`` would clip everything above 255 to white instead.
     ``I`` values beyond 16 bits are scaled by the image maximum; float ``F`` images in [0, 1]
     are scaled by 255, other float ranges min-max normalised.
   - Transparency (RGBA, LA, PA, or P/L/RGB with a ``transparency`` entry) is composited onto
     white, like a cut-out lying on paper (black would invent dark backgrounds that no painting
     has). It is composited before resizing so edges get no dark fringe from hidden colours.
5. Size: the shorter side is resized to image_size and the centred image_size x image_size square
   is kept, done as one bicubic resample with a crop box and ``reducing_gap=2`` (as ImageOps.fit).

Bad bytes never raise: empty, corrupt, truncated, non-image content, bombs and undecodable modes
come back as a reject reason. Only safe raster formats are opened, so a renamed EPS or PDF never
reaches an external interpreter.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import ExifTags, Image, ImageOps

# Everything else PIL could sniff (EPS, PDF, ...) is refused: some of those plugins run external
# programs on the content. (The JPEG opener also returns camera MPO files.)
PIL_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
# PIL's own decompression-bomb limit: the default of params.yaml's index.max_pixels, and the limit of
# the commands that decode a user's files outside the pipeline (classify, the index benchmark).
DEFAULT_MAX_PIXELS = 89_478_485
REDUCING_GAP = 2.0
DRAFT_GAP = 1.0  # draft() keeps the shorter side >= DRAFT_GAP x image_size (see the module docstring)
WHITE = (255, 255, 255)

Decoded = tuple[np.ndarray | None, int, int, str]  # (image or None, upright width, height, reject reason)


def decode_bytes(data: bytes, image_size: int, max_pixels: int, draft: bool = True) -> Decoded:
    """Decode one file's bytes: (uint8 [S, S, 3] or None, upright width, height, reject reason).

    ``draft=False`` decodes JPEGs at full size first (the benchmark's reference for draft()).
    """
    if not data:
        return _rejected("empty file (0 bytes)")
    with _pil_bomb_limit(max_pixels):
        im, reason = _open(data, max_pixels)
        if im is None:
            return _rejected(reason)
        try:
            reason = _size_problem(im, max_pixels)
            if reason:
                return _rejected(reason)
            width, height = _upright_size(im)
            if draft:
                _draft_jpeg(im, image_size)
            arr = _square_rgb(im, image_size)
        except Exception as exc:  # noqa: BLE001 - corrupt/truncated data or an odd mode: report it
            return _rejected(f"decode failed: {describe(exc)}")
    if arr.shape != (image_size, image_size, 3):
        return _rejected(f"decode produced shape {arr.shape}")
    return arr, width, height, ""


def _rejected(reason: str) -> Decoded:
    return None, 0, 0, reason


def describe(exc: BaseException) -> str:
    """An exception as one short line: its type and message."""
    msg = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {msg}"[:300]


@contextlib.contextmanager
def _pil_bomb_limit(max_pixels: int) -> Iterator[None]:
    """PIL's own bomb check at our limit: it warns above 1x and raises above 2x.

    Our header check rejects everything above 1x, so the warning is redundant and the error is
    caught and reported like any other bad file instead of killing the run.
    """
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def _open(data: bytes, max_pixels: int) -> tuple[Image.Image | None, str]:
    """(the image, header read, no pixels yet; "") or (None, reject reason)."""
    try:
        return Image.open(io.BytesIO(data), formats=PIL_FORMATS), ""
    except Image.UnidentifiedImageError:
        return None, "not an image (unrecognised content)"
    except Image.DecompressionBombError as exc:
        return None, f"decompression bomb: more than 2 x max_pixels {max_pixels} ({describe(exc)})"
    except Exception as exc:  # noqa: BLE001 - any header failure is a bad file, not a crash
        return None, f"unreadable header: {describe(exc)}"


def _size_problem(im: Image.Image, max_pixels: int) -> str:
    """Why the header's size cannot be decoded ("" when it can)."""
    w, h = im.size
    if w <= 0 or h <= 0:
        return f"invalid size {w}x{h}"
    if w * h > max_pixels:
        return f"decompression bomb: header claims {w}x{h} = {w * h} pixels > max_pixels {max_pixels}"
    return ""


def _upright_size(im: Image.Image) -> tuple[int, int]:
    w, h = im.size
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _draft_jpeg(im: Image.Image, image_size: int) -> None:
    """Let libjpeg decode a JPEG at a reduced DCT scale that still covers image_size."""
    if im.format not in ("JPEG", "MPO"):
        return
    w, h = im.size
    scale = image_size * DRAFT_GAP / min(w, h)
    if scale < 1.0:
        im.draft(None, (int(np.ceil(w * scale)), int(np.ceil(h * scale))))


def _square_rgb(im: Image.Image, image_size: int) -> np.ndarray:
    """Upright, RGB, resized and centre-cropped: the stored array."""
    im = ImageOps.exif_transpose(im)  # also loads the pixels: truncation errors surface here
    im.load()
    return np.asarray(resize_center_crop(to_rgb(im), image_size), dtype=np.uint8)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited onto white (see module docstring)."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I") or im.mode == "F":
        return _high_depth_grey_to_l(im).convert("RGB")
    has_alpha = im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _high_depth_grey_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey -> 8-bit L by scaling the value range (never clipping)."""
    a = np.asarray(im)
    if im.mode == "F":
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0.0 and hi <= 1.0:
            scaled = a * 255.0
        else:
            scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        out = np.rint(scaled)
    else:
        a = a.astype(np.int64)
        a = np.clip(a, 0, None)  # negative values only come from signed 32-bit data: treat as black
        full = 65535 if im.mode.startswith("I;16") or a.max(initial=0) <= 65535 else int(a.max())
        out = (a * 255 + full // 2) // full  # integer rounding: 65535 -> 255, 32768 -> 128
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), mode="L")


def resize_center_crop(im: Image.Image, size: int) -> Image.Image:
    """Shorter side -> ``size``, keep the centred square: one bicubic resample with a crop box."""
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) / 2.0, (h - side) / 2.0
    return im.resize(
        (size, size),
        Image.Resampling.BICUBIC,
        box=(left, top, left + side, top + side),
        reducing_gap=REDUCING_GAP,
    )
