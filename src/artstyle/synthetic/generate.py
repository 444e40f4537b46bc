"""Render the synthetic WikiArt ImageFolder tree: ``<out>/{train,test}/<Style>/<index>.png``.

Each image's randomness comes from a SeedSequence of (seed, split, style, index) alone, so the
bytes on disk do not depend on the number of worker processes or on the order they run in.

The bytes do not depend on the machine either (``tests/test_synthetic_determinism.py``): the
recipes keep clear of CPU-dispatched maths (no BLAS ``@``, no float32 transcendental ufuncs), and
the PNGs are deflated Huffman-only (see ``PNG_OPTIONS``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from artstyle.params import SynthesizeParams
from artstyle.styles import ARTGAN_TRAIN_COUNTS, LABEL_OF, SPLITS, STYLES
from artstyle.synthetic.recipes import RECIPES
from artstyle.synthetic.texture import finish

# PNG encoding. Pillow deflates with whichever zlib it loads (the system's libz here; Pillow's wheels
# are built for zlib-ng, which others load), and at the default strategy zlib and zlib-ng write
# different bytes for every file (same pixels). Huffman-only coding makes no match-finding choices,
# so both write the same bytes; the grain of the paintings leaves LZ77 little to find anyway
# (files 0.1 % smaller than level 6 with the default strategy, written twice as fast).
PNG_OPTIONS = {"format": "PNG", "compress_level": 6, "compress_type": zlib.Z_HUFFMAN_ONLY}
# Fixed split ids (not positions in a tuple someone may reorder) keep old seeds reproducing old images.
_SPLIT_ID = {"train": 0, "test": 1}


def class_counts(total: int, floor: int, weights: Mapping[str, int] = ARTGAN_TRAIN_COUNTS) -> dict[str, int]:
    """Images per style: ``total`` split in proportion to ``weights``, then raised to ``floor``.

    Largest-remainder rounding makes the proportional part sum to exactly ``total``; the floor
    then adds a little for the rarest styles.
    """
    names = [s for s in STYLES if s in weights]
    w = np.array([weights[s] for s in names], dtype=np.float64)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return {s: max(int(floor), int(c)) for s, c in zip(names, counts)}


def image_rng(seed: int, split: str, style: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_ID[split], LABEL_OF[style], index]))


def render_image(seed: int, split: str, style: str, index: int, size: int) -> np.ndarray:
    """One painting: uint8 [size, size, 3], a pure function of its arguments."""
    rng = image_rng(seed, split, style, index)
    return finish(RECIPES[style](rng, size), rng)


def image_relpath(split: str, style: str, index: int) -> str:
    return f"{split}/{style}/{index:05d}.png"


def _render_to_file(task: tuple[int, str, str, int, int, str]) -> None:
    seed, split, style, index, size, root = task
    img = render_image(seed, split, style, index, size)
    Image.fromarray(img, "RGB").save(Path(root) / image_relpath(split, style, index), **PNG_OPTIONS)


@dataclass(frozen=True)
class SynthesisResult:
    counts: dict[str, dict[str, int]]  # split -> style -> images
    total: int
    seconds: float
    workers: int
    samples: list[tuple[str, list[np.ndarray]]]  # first train images of every style, for the contact sheet


def _load_samples(root: Path, per_style: int) -> list[tuple[str, list[np.ndarray]]]:
    rows = []
    for style in STYLES:
        files = sorted((root / "train" / style).glob("*.png"))[:per_style]
        rows.append((style, [np.asarray(Image.open(f).convert("RGB")) for f in files]))
    return rows


def generate_dataset(
    out: str | Path, params: SynthesizeParams, seed: int, samples_per_style: int = 8, progress: bool = True
) -> SynthesisResult:
    """Write the whole tree to ``out`` (replacing it) and return counts, timing and sample images.

    The tree is built in ``<out>.tmp`` and renamed into place only when complete, so a crash
    never leaves a partial tree that looks like a finished dataset.
    """
    start = time.perf_counter()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    counts = {
        "train": class_counts(params.train_images, params.min_train),
        "test": class_counts(params.test_images, params.min_test),
    }
    tasks = []
    for split in SPLITS:
        for style in STYLES:
            (tmp / split / style).mkdir(parents=True, exist_ok=True)
            tasks += [
                (seed, split, style, i, params.image_size, str(tmp)) for i in range(counts[split][style])
            ]
    workers = params.workers or os.cpu_count() or 1
    try:
        with tqdm(total=len(tasks), desc="synthesize", unit="img", disable=not progress) as bar:
            if workers == 1:
                for task in tasks:
                    _render_to_file(task)
                    bar.update()
            else:
                # spawn, not fork: workers need only numpy and PIL, and must not inherit the
                # parent's thread pools (torch may be imported there).
                with mp.get_context("spawn").Pool(workers) as pool:
                    for _ in pool.imap_unordered(_render_to_file, tasks, chunksize=16):
                        bar.update()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return SynthesisResult(
        counts=counts,
        total=len(tasks),
        seconds=time.perf_counter() - start,
        workers=workers,
        samples=_load_samples(out, samples_per_style),
    )
