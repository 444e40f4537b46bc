"""Index decoding at real size: :func:`artstyle.data.decode.decode_bytes` with JPEG ``draft()`` vs a
full-size decode, on JPEGs of 1-2 megapixels (what users index), down to ``image_size``.

The benchmark set is made here, deterministically from ``seed``: embedded synthetic paintings
(:func:`artstyle.synthetic.render_image`) rendered at :data:`RENDER_SIZE` px, upscaled (bicubic) to
a random size of 1-2 megapixels and aspect 0.6-1.7, given a per-pixel grain (the upscaled render
alone is smoother than any photographed painting, and entropy decoding, which ``draft()`` does not
shorten, costs more on grainy files), and written as quality-90 JPEGs into a temporary directory.
Every :data:`EXIF_EVERY`-th file stores its pixels transformed and carries the EXIF orientation
(2-8 in turn) that turns them upright, so both decodes must apply it.

Timing: the files are read into memory first (the disk is not part of the comparison), then each
timed round decodes every file once with one method, in a single process; the two methods take
turns round by round (:func:`artstyle.bench.common.median_rates`) and the median round is reported.
``speedup = draft images/s / full images/s`` (target >= :data:`SPEEDUP_TARGET`).

Closeness: over all pixels of all images, the mean and max absolute uint8 difference between the
two decodes and the fraction of values that differ by more than :data:`CLOSE_LEVELS` levels. For
every EXIF-rotated file, both outputs must be upright: of the 8 flips and rotations of each
output, the identity must be the one nearest the same crop of the upright original.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
from PIL import ExifTags, Image, features
from tqdm import tqdm

from artstyle.bench.common import describe_runtime, median_rates
from artstyle.data.decode import DEFAULT_MAX_PIXELS, decode_bytes, resize_center_crop
from artstyle.styles import STYLES
from artstyle.synthetic import render_image

SPEEDUP_TARGET = 2.0
CLOSE_LEVELS = 8  # a difference of a few levels is invisible; more than this is counted
MEGAPIXELS = (1.0, 2.0)
ASPECTS = (0.6, 1.7)  # width / height, drawn log-uniformly (portrait to landscape)
RENDER_SIZE = 192
GRAIN = 4.0  # standard deviation of the per-pixel grain, in uint8 levels
JPEG_QUALITY = 90
EXIF_EVERY = 8

# How the stored pixels are made from the upright image, so that the EXIF orientation (the key)
# makes them upright again: the inverse of what ImageOps.exif_transpose applies for that tag.
_STORE_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
ORIENTATIONS = tuple(_STORE_AS)


def exif_orientation(index: int, every: int = EXIF_EVERY) -> int:
    """The EXIF orientation of the ``index``-th file of a set: 2-8 in turn on every ``every``-th (0: none), else 1."""
    if not every or index % every:
        return 1
    return ORIENTATIONS[(index // every) % len(ORIENTATIONS)]


def real_size_painting(
    seed: int, index: int, size: tuple[int, int] | None = None, orientation: int = 1, style: str | None = None
) -> tuple[bytes, Image.Image]:
    """One painting as JPEG bytes of ``size`` (width, height; default random, 1-2 MP) and its upright image.

    ``orientation`` (1-8) is written as the EXIF tag, with the pixels stored so that applying it
    gives the upright image back. A pure function of its arguments.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    if size is None:
        pixels = rng.uniform(*MEGAPIXELS) * 1e6
        aspect = float(np.exp(rng.uniform(np.log(ASPECTS[0]), np.log(ASPECTS[1]))))
        width = int(round((pixels * aspect) ** 0.5))
        size = (width, int(round(pixels / width)))
    style = style or STYLES[index % len(STYLES)]
    small = render_image(seed, "train", style, index, RENDER_SIZE)
    upright = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    grain = rng.standard_normal((size[1], size[0], 3), dtype=np.float32) * GRAIN
    upright = Image.fromarray(
        np.clip(np.asarray(upright, dtype=np.float32) + grain + 0.5, 0, 255).astype(np.uint8)
    )
    stored, exif = upright, Image.Exif()
    if orientation != 1:
        if orientation not in _STORE_AS:
            raise ValueError(f"EXIF orientation must be 1-8, got {orientation}")
        stored = upright.transpose(_STORE_AS[orientation])
        exif[ExifTags.Base.Orientation] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=JPEG_QUALITY, exif=exif)
    return buf.getvalue(), upright


def write_jpeg_tree(
    root: str | Path,
    styles: list[str] | tuple[str, ...],
    per_style: dict[str, int],
    seed: int = 0,
    size: tuple[int, int] | None = None,
    exif_every: int = EXIF_EVERY,
) -> list[Path]:
    """An ImageFolder tree ``root/<split>/<Style>/<index>.jpg`` of real-size paintings (``per_style``: split -> n).

    Every ``exif_every``-th file (0 = none) carries an EXIF orientation, as :func:`real_size_painting`.
    """
    root, paths, index = Path(root), [], 0
    for split, n in per_style.items():
        for style in styles:
            folder = root / split / style
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                data, _ = real_size_painting(seed, index, size, exif_orientation(index, exif_every), style)
                paths.append(folder / f"{i:05d}.jpg")
                paths[-1].write_bytes(data)
                index += 1
    return paths


def _dihedral(a: np.ndarray) -> list[np.ndarray]:
    """The 8 flips and rotations of a square image [S, S, 3]; the identity first."""
    rotations = [np.rot90(a, k) for k in range(4)]
    return rotations + [r[:, ::-1] for r in rotations]


def _nearest_transform(out: np.ndarray, reference: np.ndarray) -> int:
    """Which of :func:`_dihedral`'s variants of ``out`` is nearest ``reference`` (0 = as it is)."""
    ref = reference.astype(np.int16)
    return int(np.argmin([np.abs(v.astype(np.int16) - ref).mean() for v in _dihedral(out)]))


class _Closeness:
    """Streaming mean / max / beyond-``CLOSE_LEVELS`` statistics of |draft - full| over all values."""

    def __init__(self) -> None:
        self.total = self.beyond = self.values = 0
        self.max = 0

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        d = np.abs(a.astype(np.int16) - b.astype(np.int16))
        self.total += int(d.sum())
        self.beyond += int((d > CLOSE_LEVELS).sum())
        self.values += d.size
        self.max = max(self.max, int(d.max()))


def bench_index(
    images: int = 500,
    image_size: int = 224,
    *,
    repeats: int = 3,
    min_seconds: float = 0.0,
    seed: int = 0,
    workdir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Images/s of ``decode_bytes(draft=True)`` vs ``draft=False`` and how close their outputs are."""
    if images < 1:
        raise ValueError(f"images must be >= 1, got {images}")
    uprights: dict[int, tuple[int, np.ndarray]] = {}
    sizes: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(prefix="artstyle-bench-index-", dir=workdir) as tmp:
        for i in tqdm(range(images), desc="bench index: make JPEGs", unit="img", disable=not progress):
            orientation = exif_orientation(i)
            data, upright = real_size_painting(seed, i, orientation=orientation)
            path = Path(tmp) / f"{i:05d}.jpg"
            path.write_bytes(data)
            sizes.append(upright.size)
            if orientation != 1:
                uprights[i] = (orientation, np.asarray(resize_center_crop(upright, image_size)))
        # Read back before timing: both methods then decode the same bytes from memory.
        datas = [(Path(tmp) / f"{i:05d}.jpg").read_bytes() for i in range(images)]

    # Untimed pass: checks every decode, measures closeness and warms up both code paths.
    close, orientation_ok, orientation_failures = _Closeness(), 0, []
    for i, data in enumerate(
        tqdm(datas, desc="bench index: compare", unit="img", leave=False, disable=not progress)
    ):
        outs = {}
        for draft in (True, False):
            arr, w, h, reason = decode_bytes(data, image_size, DEFAULT_MAX_PIXELS, draft=draft)
            if arr is None:
                raise RuntimeError(f"benchmark image {i} was rejected (draft={draft}): {reason}")
            if (w, h) != sizes[i]:
                raise RuntimeError(
                    f"benchmark image {i}: decode_bytes reports {w}x{h}, the upright size is "
                    f"{sizes[i][0]}x{sizes[i][1]} (draft={draft})"
                )
            outs[draft] = arr
        close.add(outs[True], outs[False])
        if i in uprights:
            orientation, reference = uprights[i]
            found = [_nearest_transform(outs[d], reference) for d in (True, False)]
            if found == [0, 0] and _nearest_transform(outs[True], outs[False]) == 0:
                orientation_ok += 1
            else:
                orientation_failures.append(
                    {"image": i, "orientation": orientation, "draft": found[0], "full": found[1]}
                )

    def decode_all(draft: bool):
        def run() -> tuple[float, int]:
            start = time.perf_counter()
            for data in datas:
                decode_bytes(data, image_size, DEFAULT_MAX_PIXELS, draft=draft)
            return time.perf_counter() - start, len(datas)

        return run

    rates, rounds = median_rates(
        {"draft": decode_all(True), "full": decode_all(False)}, repeats, min_seconds, desc="bench index"
    )
    megapixels = [w * h / 1e6 for w, h in sizes]
    return {
        "draft_images_per_s": rates["draft"],
        "full_images_per_s": rates["full"],
        "speedup": rates["draft"] / rates["full"],
        "speedup_target": SPEEDUP_TARGET,
        "draft_rounds": rounds["draft"],
        "full_rounds": rounds["full"],
        "images": images,
        "image_size": image_size,
        "megapixels_mean": statistics.fmean(megapixels),
        "megapixels_min": min(megapixels),
        "megapixels_max": max(megapixels),
        "kb_per_image_mean": statistics.fmean(len(d) for d in datas) / 1e3,
        "jpeg_quality": JPEG_QUALITY,
        "mean_abs_diff": close.total / close.values,
        "max_abs_diff": close.max,
        "close_levels": CLOSE_LEVELS,
        "fraction_beyond_close": close.beyond / close.values,
        "exif_rotated_images": len(uprights),
        "orientation_matches": orientation_ok,
        "orientation_identical": orientation_ok == len(uprights),
        "orientation_failures": orientation_failures[:10],
        "seed": seed,
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version_feature("libjpeg_turbo") or "no",
        "processes": 1,
        **describe_runtime(torch.device("cpu")),
    }


def index_lines(r: dict[str, Any]) -> list[str]:
    verdict = "met" if r["speedup"] >= r["speedup_target"] else "NOT met"
    orient = "identical" if r["orientation_identical"] else "DIFFERENT"
    return [
        (
            f"{r['images']} JPEGs of {r['megapixels_min']:.1f}-{r['megapixels_max']:.1f} MP "
            f"(mean {r['megapixels_mean']:.2f} MP, {r['kb_per_image_mean']:.0f} KB, quality {r['jpeg_quality']}) "
            f"-> {r['image_size']}x{r['image_size']}, from memory, 1 process, Pillow {r['pillow']} "
            f"(libjpeg-turbo {r['libjpeg_turbo']}), median of {r['draft_rounds']} / {r['full_rounds']} rounds"
        ),
        f"{'decode_bytes':<32}{'images/s':>12}",
        f"{'draft=True (JPEG draft())':<32}{r['draft_images_per_s']:>12,.1f}",
        f"{'draft=False (full size)':<32}{r['full_images_per_s']:>12,.1f}",
        f"{'speedup':<32}{r['speedup']:>11.2f}x   (target >= {r['speedup_target']:g}x: {verdict})",
        (
            f"|draft - full|: mean {r['mean_abs_diff']:.2f}, max {r['max_abs_diff']} levels; "
            f"{100 * r['fraction_beyond_close']:.2f}% of values differ by more than {r['close_levels']}"
        ),
        f"EXIF-rotated images upright in both: {r['orientation_matches']}/{r['exif_rotated_images']} ({orient})",
    ]
