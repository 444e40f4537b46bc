"""Decode every image of ``data.root`` once into the uint8 store (the ``index`` stage).

Input: one of three WikiArt layouts, listed by :mod:`artstyle.data.layouts` (``data.format``:
``auto`` detects it): an ImageFolder tree (``root/train/<Style>/...``, ``root/test/<Style>/...``),
the ArtGAN release (``wikiart/`` with the ``wikiart_csv/`` split and label files; its train / val
split is our train / test) or the Hugging Face parquet copy (``huggan/wikiart``: one split, so a
seeded stratified test split of ``test_fraction`` is drawn). Style names go through
:func:`artstyle.styles.canonical`, so aliases such as ``Art_Nouveau_Modern`` land on their
canonical style; a name that is not a known style is reported once (with its count) and each of
its images listed in ``rejected.csv``, never given a label. This module is the one place that
decodes images and writes the store, whatever the layout.

Output (see :mod:`artstyle.data.store`): ``images.npy``, ``index.csv``, plus ``rejected.csv``
(relpath, reason) and ``duplicates.csv`` (relpath, duplicate_of, sha1). ``relpath`` is the file
relative to root (``train/Baroque/x.jpg``, ``wikiart/Baroque/x.jpg``) or, for parquet, the shard
and row (``data/train-00000-of-00072.parquet#17``). Rows are sorted by (split, style, relpath) and
identical for any number of workers. The directory is built as a temporary sibling and swapped
into place at the end, so an interrupted run never leaves a half store. After indexing, the styles
of the 27 with no training image, and those trained but never tested, are reported once.

Decoding policy, the same for every image:

1. Each image's bytes (a file, or a parquet cell) are read once; their SHA-1 identifies exact duplicates. Duplicates stay in
   the store (they are real samples of the dataset) and are listed; one across train/test is a
   leak and gets a warning.
2. The size is checked from the header before any pixel is decoded: more than ``max_pixels``
   pixels is treated as a decompression bomb and rejected.
3. JPEGs are decoded with ``draft()`` at the smallest DCT scale (1/2, 1/4 or 1/8) that keeps the
   shorter side at least image_size: libjpeg then skips most of the inverse DCT and colour
   conversion work. Measured on 1-2 MP JPEGs at image_size 224 (``python -m artstyle.bench
   index``): about 2x faster than a full decode, mean difference about 1.4 levels. Stopping at
   2 x image_size instead (the resize's reducing gap) gained only 1.3x on such files: they then
   decode at 1/2 scale or full size, and entropy decoding, which draft() cannot shorten, dominates.
4. EXIF orientation is applied (``ImageOps.exif_transpose``): stored images are upright, and
   ``width``/``height`` in index.csv are the upright original size.
5. Every mode becomes 8-bit RGB:
   - RGB, L, 1, P, CMYK, YCbCr, ...: PIL's own conversion (CMYK without ICC colour management,
     i.e. the naive formula; a pure CMY primary maps to the matching RGB secondary).
   - 16-bit grey (``I;16*``, and ``I`` holding 16-bit data): scaled 0..65535 -> 0..255 with
     rounding. PIL's ``convert("L")`` would clip everything above 255 to white instead.
     ``I`` values beyond 16 bits are scaled by the image maximum; float ``F`` images in [0, 1]
     are scaled by 255, other float ranges min-max normalised.
   - Transparency (RGBA, LA, PA, or P/L/RGB with a ``transparency`` entry) is composited onto
     white, like a cut-out lying on paper (black would invent dark backgrounds that no painting
     has). It is composited before resizing so edges get no dark fringe from hidden colours.
6. Size: the shorter side is resized to image_size and the centred image_size x image_size square
   is kept, done as one bicubic resample with a crop box and ``reducing_gap=2`` (as ImageOps.fit).

Bad files never stop the run and never vanish: empty, corrupt, truncated, non-image content with
an image extension, bombs and undecodable modes are listed in ``rejected.csv`` with the reason, as
are the layouts' own bad entries (a malformed or duplicate CSV line, a listed file that is missing,
a label id without a name, a null image cell, a style id out of range; see data/layouts/).
Files without an image extension and hidden files (``.DS_Store``...) are ignored. Only safe raster
formats are opened, so a renamed EPS or PDF never reaches an external interpreter.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import multiprocessing
import os
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps
from tqdm import tqdm

from artstyle.data.layouts.detect import list_layout
from artstyle.data.layouts.hf_images import iter_parquet_images
from artstyle.data.layouts.listing import IndexTreeError, Listing, Rejected
from artstyle.data.store import IMAGES_FILE, INDEX_COLUMNS, INDEX_FILE, IndexRecord
from artstyle.fileio import atomic_dir
from artstyle.styles import LABEL_OF, SPLITS, STYLES

# Everything else PIL could sniff (EPS, PDF, ...) is refused: some of those plugins run external
# programs on the content. (The JPEG opener also returns camera MPO files.)
PIL_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
REJECTED_FILE = "rejected.csv"
DUPLICATES_FILE = "duplicates.csv"
REJECTED_COLUMNS = ("relpath", "reason")
DUPLICATES_COLUMNS = ("relpath", "duplicate_of", "sha1")
REDUCING_GAP = 2.0
DRAFT_GAP = 1.0  # draft() keeps the shorter side >= DRAFT_GAP x image_size (see the module docstring)
WHITE = (255, 255, 255)
MAX_WARNINGS = 20  # per kind; the CSV files hold the full lists
# Image bytes in flight to the workers are bounded: at most IN_FLIGHT_PER_WORKER chunks per
# worker, so 40 GB of parquet never queue up in memory. File paths are small: bigger chunks.
IN_FLIGHT_PER_WORKER = 4
MAX_CHUNK_FILES, MAX_CHUNK_BLOBS = 64, 8


@dataclass(frozen=True)
class Duplicate:
    relpath: str
    duplicate_of: str  # the first copy in store row order
    sha1: str


@dataclass
class IndexResult:
    records: list[IndexRecord]
    rejected: list[Rejected]
    duplicates: list[Duplicate]
    cross_split_duplicates: int
    metrics: dict
    seconds: float  # wall time of the decode loop
    workers: int
    layout: str = "imagefolder"  # the layout read (layouts.detect.FORMATS)

    @property
    def images_per_second(self) -> float:
        decoded = len(self.records) + len(self.rejected)
        return decoded / self.seconds if self.seconds > 0 else float("inf")


def _warn(msg: str) -> None:
    # tqdm.write keeps the progress bar intact when a warning interrupts it.
    tqdm.write(f"warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Decoding one image
# ---------------------------------------------------------------------------------------------


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


def _upright_size(im: Image.Image) -> tuple[int, int]:
    w, h = im.size
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {msg}"[:300]


def decode_bytes(
    data: bytes, image_size: int, max_pixels: int, draft: bool = True
) -> tuple[np.ndarray | None, int, int, str]:
    """Decode one file's bytes: (uint8 [S, S, 3] or None, upright width, height, reject reason).

    ``draft=False`` decodes JPEGs at full size first (the benchmark's reference for draft()).
    """
    if not data:
        return None, 0, 0, "empty file (0 bytes)"
    with _pil_bomb_limit(max_pixels):
        try:
            im = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
        except Image.UnidentifiedImageError:
            return None, 0, 0, "not an image (unrecognised content)"
        except Image.DecompressionBombError as exc:
            return None, 0, 0, f"decompression bomb: more than 2 x max_pixels {max_pixels} ({_one_line(exc)})"
        except Exception as exc:  # noqa: BLE001 - any header failure is a bad file, not a crash
            return None, 0, 0, f"unreadable header: {_one_line(exc)}"
        try:
            w, h = im.size
            if w <= 0 or h <= 0:
                return None, 0, 0, f"invalid size {w}x{h}"
            if w * h > max_pixels:
                claim = f"header claims {w}x{h} = {w * h} pixels"
                return None, 0, 0, f"decompression bomb: {claim} > max_pixels {max_pixels}"
            width, height = _upright_size(im)
            if draft and im.format in ("JPEG", "MPO"):
                scale = image_size * DRAFT_GAP / min(w, h)
                if scale < 1.0:
                    im.draft(None, (int(np.ceil(w * scale)), int(np.ceil(h * scale))))
            im = ImageOps.exif_transpose(im)  # also loads the pixels: truncation errors surface here
            im.load()
            rgb = resize_center_crop(to_rgb(im), image_size)
            arr = np.asarray(rgb, dtype=np.uint8)
        except Exception as exc:  # noqa: BLE001 - corrupt/truncated data or an odd mode: report it
            return None, 0, 0, f"decode failed: {_one_line(exc)}"
    if arr.shape != (image_size, image_size, 3):
        return None, 0, 0, f"decode produced shape {arr.shape}"
    return arr, width, height, ""


def decode_file(
    path: str | Path, image_size: int, max_pixels: int
) -> tuple[np.ndarray | None, int, int, str, str]:
    """Read and decode one file: (array or None, width, height, sha1, reject reason)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, 0, 0, "", f"cannot read file: {_one_line(exc)}"
    sha1 = hashlib.sha1(data).hexdigest()
    arr, w, h, reason = decode_bytes(data, image_size, max_pixels)
    return arr, w, h, sha1, reason


def decode_blob(
    data: bytes | None, reason: str, image_size: int, max_pixels: int
) -> tuple[np.ndarray | None, int, int, str, str]:
    """:func:`decode_file` for bytes read elsewhere (a parquet cell); ``data`` None: rejected for ``reason``."""
    if data is None:
        return None, 0, 0, "", reason
    arr, w, h, reason = decode_bytes(data, image_size, max_pixels)
    return arr, w, h, hashlib.sha1(data).hexdigest(), reason


class _Decoder:
    """Picklable callables for the worker pool (a lambda or closure cannot be sent to the workers).

    A task is a chunk: a list of file relpaths, or of (bytes, reason) pairs from a parquet shard.
    """

    def __init__(self, root: Path, image_size: int, max_pixels: int) -> None:
        self.root, self.image_size, self.max_pixels = root, image_size, max_pixels

    def __call__(self, relpath: str):
        return decode_file(self.root / relpath, self.image_size, self.max_pixels)

    def files(self, relpaths: list[str]) -> list[tuple]:
        return [self(rp) for rp in relpaths]

    def blobs(self, blobs: list[tuple[bytes | None, str]]) -> list[tuple]:
        return [decode_blob(data, reason, self.image_size, self.max_pixels) for data, reason in blobs]


# ---------------------------------------------------------------------------------------------
# Writing the store
# ---------------------------------------------------------------------------------------------


def _write_csv(path: Path, columns: tuple[str, ...], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)


def _shrink_npy(path: Path, n: int) -> None:
    """Cut a preallocated .npy (no longer memory-mapped) down to its first ``n`` rows.

    numpy pads .npy headers so that the first dimension can change in place; rewriting the header
    and truncating avoids copying the whole store when a few files were rejected.
    """
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(f)
        offset = f.tell()
    row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,) + shape[1:]},
    )
    if header.tell() == offset:
        with open(path, "r+b") as f:
            f.write(header.getvalue())
            f.truncate(offset + n * row_bytes)
        return
    # Header size changed (never with numpy's padding, but stay correct if it does): copy.
    src = np.load(path, mmap_mode="r")
    tmp = path.with_name(path.name + ".shrink")
    dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(n,) + shape[1:])
    for i in range(0, n, 4096):
        dst[i : i + 4096] = src[i : i + 4096]
    dst.flush()
    del dst, src
    os.replace(tmp, path)


def _resolve_workers(workers: int, tasks: int) -> int:
    n = workers if workers > 0 else (os.cpu_count() or 1)
    return max(1, min(n, tasks))


def _chunks(items: Iterator[tuple[int, object]], size: int) -> Iterator[tuple[list[int], list]]:
    """(slots, payloads) in chunks of ``size`` (itertools.batched needs Python 3.12)."""
    slots: list[int] = []
    payloads: list = []
    for slot, payload in items:
        slots.append(slot)
        payloads.append(payload)
        if len(slots) == size:
            yield slots, payloads
            slots, payloads = [], []
    if slots:
        yield slots, payloads


def _decode_all(
    root: Path,
    listing: Listing,
    image_size: int,
    max_pixels: int,
    workers: int,
    progress: bool,
) -> Iterator[tuple[int, tuple]]:
    """(candidate index, decoded result) for every candidate, whatever the number of workers.

    Files are read in row order; parquet cells in file order (the rows are then scattered over the
    store). Results come back in submission order, so the order, and the store, never depend on
    which worker finishes first.
    """
    decoder = _Decoder(root, image_size, max_pixels)
    n = len(listing.candidates)
    if listing.parquet is None:
        items = ((slot, c.relpath) for slot, c in enumerate(listing.candidates))
        work, cap = decoder.files, MAX_CHUNK_FILES
    else:
        items = ((slot, (data, reason)) for slot, data, reason in iter_parquet_images(listing.parquet))
        work, cap = decoder.blobs, MAX_CHUNK_BLOBS
    chunk = max(1, min(cap, n // (workers * 8)))
    bar = tqdm(total=n, desc="index", unit="img", disable=not progress, dynamic_ncols=True)
    with bar:
        if workers == 1:
            for slots, payloads in _chunks(items, chunk):
                for slot, result in zip(slots, work(payloads), strict=True):
                    yield slot, result
                    bar.update()
            return
        # apply_async with a bounded queue, not Pool.imap: imap's feeder thread would pull the
        # whole input (every image's bytes) into memory as fast as the shards can be read.
        pending: deque = deque()
        with multiprocessing.Pool(workers) as pool:

            def drain_one() -> Iterator[tuple[int, tuple]]:
                slots, result = pending.popleft()
                for slot, r in zip(slots, result.get(), strict=True):
                    yield slot, r
                    bar.update()

            for slots, payloads in _chunks(items, chunk):
                pending.append((slots, pool.apply_async(work, (payloads,))))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield from drain_one()
            while pending:
                yield from drain_one()


def _compact(images: np.ndarray, keep: list[int]) -> None:
    """Move rows ``keep`` (ascending) to the front, in place: decoded rows in slots of rejected ones.

    Safe in place: keep[j] >= j, and each block is read (a copy) before it is written, after the
    earlier blocks, whose destinations all lie below this block's sources.
    """
    keep_arr = np.asarray(keep, dtype=np.int64)
    moved = np.flatnonzero(keep_arr != np.arange(len(keep_arr)))
    if not len(moved):
        return
    for i in range(int(moved[0]), len(keep_arr), 1024):
        block = keep_arr[i : i + 1024]
        images[i : i + len(block)] = images[block]


def _report_absent_styles(records: list[IndexRecord]) -> None:
    """One line for the styles without training images, one for those trained but never tested."""
    counts = {split: Counter(r.style for r in records if r.split == split) for split in SPLITS}
    untrained = [s for s in STYLES if not counts["train"][s]]
    untested = [s for s in STYLES if counts["train"][s] and not counts["test"][s]]
    if untrained:
        _warn(
            f"{len(untrained)} of {len(STYLES)} styles have no training images: {', '.join(untrained)} "
            f"(this run learns {len(STYLES) - len(untrained)} styles)"
        )
    if untested:
        _warn(
            f"{len(untested)} style(s) have training images but no test images, so no test metric: "
            f"{', '.join(untested)}"
        )


def _metrics(records: list[IndexRecord], rejected: int, duplicates: int, cross: int, image_size: int) -> dict:
    counts = {split: Counter(r.style for r in records if r.split == split) for split in SPLITS}
    present = {r.style for r in records}
    # No timing here: metrics must be identical on a re-run so `dvc metrics diff` stays clean.
    return {
        "images": len(records),
        "train_images": sum(counts["train"].values()),
        "test_images": sum(counts["test"].values()),
        "rejected": rejected,
        "duplicates": duplicates,
        "cross_split_duplicates": cross,
        "classes": len(present),
        "image_size": image_size,
        "train_counts": {s: counts["train"].get(s, 0) for s in STYLES},
        "test_counts": {s: counts["test"].get(s, 0) for s in STYLES},
    }


def _find_duplicates(records: list[IndexRecord]) -> tuple[list[Duplicate], int]:
    first: dict[str, IndexRecord] = {}
    dups: list[Duplicate] = []
    cross = 0
    for r in records:  # row order, so duplicate_of is always the lowest row
        seen = first.setdefault(r.sha1, r)
        if seen is r:
            continue
        dups.append(Duplicate(r.relpath, seen.relpath, r.sha1))
        if seen.split != r.split:
            cross += 1
            # The same listed file in both splits (ArtGAN's CSVs) was already reported by its lister.
            if cross <= MAX_WARNINGS and seen.relpath != r.relpath:
                _warn(
                    f"'{r.relpath}' is an exact copy of '{seen.relpath}': the same image in train and test leaks"
                )
    if cross > MAX_WARNINGS:
        _warn(f"... {cross} train/test duplicates in all (see {DUPLICATES_FILE})")
    return dups, cross


def build_store(
    root: str | Path,
    out: str | Path,
    image_size: int,
    max_pixels: int,
    workers: int = 0,
    progress: bool = True,
    *,
    format: str = "auto",  # named as the params key data.format (shadows the builtin here only)
    test_fraction: float = 0.2,
    split_seed: int = 42,
) -> IndexResult:
    """Decode every image under ``root`` once into the store directory ``out``.

    ``format``: ``auto`` (detected from root), ``imagefolder``, ``artgan`` or ``hf_parquet``;
    ``test_fraction`` / ``split_seed``: the test split drawn for hf_parquet (one split only).
    ``workers`` = 0 uses every core. The result (and the store) is identical for any number of
    workers: every image is written to its own row of a preallocated memmap.
    """
    root, out = Path(root), Path(out)
    listing = list_layout(root, format, test_fraction, split_seed)
    for msg in listing.warnings:
        _warn(msg)
    candidates = listing.candidates
    workers = _resolve_workers(workers, len(candidates))

    # The store's files belong together: readers see the old store or the new one, never a mix.
    with atomic_dir(out) as tmp_dir:
        images_tmp = tmp_dir / (IMAGES_FILE + ".tmp")
        shape = (len(candidates), image_size, image_size, 3)
        images = np.lib.format.open_memmap(images_tmp, mode="w+", dtype=np.uint8, shape=shape)
        decoded: dict[int, tuple[int, int, str]] = {}  # slot -> (width, height, sha1)
        rejected = list(listing.rejected)
        start = time.perf_counter()
        for slot, (arr, w, h, sha1, reason) in _decode_all(
            root, listing, image_size, max_pixels, workers, progress
        ):
            if arr is None:
                rejected.append(Rejected(candidates[slot].relpath, reason))
                continue
            images[slot] = arr
            decoded[slot] = (w, h, sha1)
        keep = sorted(decoded)
        records = [
            IndexRecord(row, c.relpath, c.split, c.style, LABEL_OF[c.style], *decoded[slot])
            for row, (slot, c) in enumerate((slot, candidates[slot]) for slot in keep)
        ]
        if len(keep) < len(candidates):
            _compact(images, keep)
        seconds = time.perf_counter() - start
        rejected.sort(key=lambda r: (r.relpath, r.reason))
        # Unknown style names were reported once with their counts; the rest row by row.
        decode_failures = [r for r in rejected if not r.reason.startswith("unknown style")]
        for r in decode_failures[:MAX_WARNINGS]:
            _warn(f"rejected '{r.relpath}': {r.reason}")
        if len(decode_failures) > MAX_WARNINGS:
            _warn(f"... {len(decode_failures)} rejected entries in all (see {REJECTED_FILE})")
        if not records:
            raise IndexTreeError(f"{root}: none of the {len(candidates)} images could be decoded")

        images.flush()
        del images  # unmap before the file is truncated
        if len(records) < len(candidates):
            _shrink_npy(images_tmp, len(records))
        os.replace(images_tmp, tmp_dir / IMAGES_FILE)

        duplicates, cross = _find_duplicates(records)
        _write_csv(
            tmp_dir / INDEX_FILE, INDEX_COLUMNS, ([getattr(r, c) for c in INDEX_COLUMNS] for r in records)
        )
        _write_csv(tmp_dir / REJECTED_FILE, REJECTED_COLUMNS, ((r.relpath, r.reason) for r in rejected))
        _write_csv(
            tmp_dir / DUPLICATES_FILE,
            DUPLICATES_COLUMNS,
            ((d.relpath, d.duplicate_of, d.sha1) for d in duplicates),
        )
    for msg in listing.notes:
        print(msg, file=sys.stderr)
    _report_absent_styles(records)
    metrics = _metrics(records, len(rejected), len(duplicates), cross, image_size)
    return IndexResult(records, rejected, duplicates, cross, metrics, seconds, workers, listing.layout)


def read_rejected(store_dir: str | Path) -> list[Rejected]:
    with open(Path(store_dir) / REJECTED_FILE, newline="", encoding="utf-8") as f:
        return [Rejected(r["relpath"], r["reason"]) for r in csv.DictReader(f)]


def read_duplicates(store_dir: str | Path) -> list[Duplicate]:
    with open(Path(store_dir) / DUPLICATES_FILE, newline="", encoding="utf-8") as f:
        return [Duplicate(r["relpath"], r["duplicate_of"], r["sha1"]) for r in csv.DictReader(f)]
