"""The classifier's train set: the resampled manifest plus, under SMOTE, synthetic images.

The ``oversample`` stage writes ``data/oversampled/`` (layout and reader: :mod:`artstyle.data.train_set`).

Methods (``sampling_method``):

- ``random``: the resampled manifest as it is (real images repeated). The outputs then do not
  depend on the autoencoder at all, byte for byte, so a new autoencoder reruns this stage but not
  the classifier.
- ``smote``: SMOTE on the flattened pixels, as in the course: each new image is
  ``x + u * (n - x)`` for a real image ``x``, one of its ``k_neighbors`` nearest same-style images
  ``n`` and ``u ~ U(0, 1)``: a cross-fade of two paintings.
- ``smote_latent``: the same interpolation between the autoencoder's latents of two real images,
  decoded to an image: the decoder maps the in-between latent back to something painting-like
  instead of a double exposure.

Every style below its target gets ``target - real`` synthetic images; the targets are
:func:`artstyle.data.resample.target_counts` of the un-resampled train split (``data/splits``).

Memory: SMOTE runs one style at a time. Only that style's features are held (float32: 4 bytes per
pixel channel, or the latent), the neighbour search runs over its rows alone, and the new images
are made a chunk at a time (:data:`CHUNK_BYTES`) straight into the output file, so the peak is one
style's features plus a chunk, whatever the number of styles or synthetic images. The arithmetic
is imbalanced-learn's ``SMOTE`` (the version requirements.lock pins), step for step: the same neighbours
(scikit-learn's ``NearestNeighbors`` on the style's float32 rows), the same random draws from the
same seed, the same float operations, so the images are the ones ``SMOTE.fit_resample`` made
(``tests/test_oversample.py`` compares them) without its copies of the style and of every new
sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.data.manifests import read_manifest
from artstyle.data.resample import counts_by_style, target_counts
from artstyle.data.store import open_images
from artstyle.data.train_set import SYNTHETIC_FILE, write_train_set
from artstyle.errors import InputError
from artstyle.fileio import atomic_dir, save_npy
from artstyle.params import Params
from artstyle.styles import NUM_CLASSES, STYLES


def class_random_state(seed: int, label: int) -> int:
    """A per-style seed: each style's synthetic images depend on the seed and that style alone."""
    return int(np.random.SeedSequence([seed, label]).generate_state(1)[0])


# New samples are made this many bytes of float64 temporaries at a time (85 images at 64 px).
CHUNK_BYTES = 8 * 2**20


@dataclass(frozen=True)
class SmotePlan:
    """What SMOTE draws for one style: each new sample is ``x[base] + step * (x[neighbour] - x[base])``."""

    base: np.ndarray  # [n_new] row of the style's real sample
    neighbour: np.ndarray  # [n_new] row of one of its k nearest neighbours
    step: np.ndarray  # [n_new, 1] float64 in [0, 1)
    k: int


def smote_plan(x: np.ndarray, n_new: int, k_neighbors: int, random_state: int) -> SmotePlan:
    """The neighbours and draws of imbalanced-learn's ``SMOTE(k_neighbors=k, random_state=...)`` for
    one class ``x`` [n, D] of which ``n_new`` samples are asked.

    ``k`` is ``min(k_neighbors, n - 1)``: a style with n images has only n - 1 neighbours per image.
    A style with one image cannot be interpolated: the caller repeats it (see :func:`synthesize`).
    """
    from sklearn.neighbors import NearestNeighbors
    from sklearn.utils import check_random_state

    n = len(x)
    if n < 2:
        raise ValueError(f"SMOTE needs at least 2 images of a style, got {n}")
    k = min(k_neighbors, n - 1)
    # SMOTE._fit_resample: the k + 1 nearest of each row among the class's rows, itself dropped.
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    # SMOTE._make_samples: one draw of flat (row, neighbour) indices, then one of steps.
    random_state = check_random_state(random_state)
    flat = random_state.randint(low=0, high=neighbours.size, size=n_new)
    step = 1.0 * random_state.uniform(size=n_new)[:, np.newaxis]
    base = np.floor_divide(flat, neighbours.shape[1])
    return SmotePlan(base, neighbours[base, np.mod(flat, neighbours.shape[1])], step, k)


def smote_samples(x: np.ndarray, plan: SmotePlan, start: int, stop: int) -> np.ndarray:
    """New samples ``start:stop`` of ``plan``, as ``SMOTE._generate_samples`` computes them (float64
    arithmetic, then the features' dtype)."""
    base = x[plan.base[start:stop]]
    diffs = x[plan.neighbour[start:stop]] - base
    return (base + plan.step[start:stop] * diffs).astype(x.dtype)


def smote_class(x: np.ndarray, n_new: int, k_neighbors: int, random_state: int) -> tuple[np.ndarray, int]:
    """``n_new`` SMOTE samples [n_new, D] from one style's real samples ``x`` [n, D], all at once, and
    the ``k`` used (see :func:`smote_plan`). :func:`synthesize` makes them a chunk at a time instead."""
    x = np.asarray(x, dtype=np.float32)
    plan = smote_plan(x, n_new, k_neighbors, random_state)
    return smote_samples(x, plan, 0, n_new), plan.k


def chunk_rows(features: int, multiple: int = 1) -> int:
    """Rows per chunk of new samples: :data:`CHUNK_BYTES` of float64 temporaries, rounded down to a
    ``multiple`` (the decoder's batch, so its batches stay the same), at least one ``multiple``."""
    rows = CHUNK_BYTES // (8 * max(features, 1))
    return max(multiple, rows // multiple * multiple)


@dataclass(frozen=True)
class Codec:
    """Maps store rows (uint8 images [n, H, W, 3] of a memmap) to SMOTE feature vectors [n, D] and back.

    ``encode(images, rows)`` reads the memmap a batch at a time: the style's uint8 images are never
    copied out together, only the features SMOTE needs are held.
    """

    encode: Callable[[np.ndarray, np.ndarray], np.ndarray]
    decode: Callable[[np.ndarray], np.ndarray]
    decode_batch: int = 1  # the decoder's batch: chunks of new samples are multiples of it


def pixel_codec(shape: tuple[int, ...], batch_size: int = 1024) -> Codec:
    def encode(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # The float32 features are what SMOTE's neighbour search needs in memory; the uint8
        # images they come from are read batch by batch.
        out = np.empty((len(rows), int(np.prod(shape))), dtype=np.float32)
        for start in range(0, len(rows), batch_size):
            part = np.asarray(rows[start : start + batch_size])
            out[start : start + len(part)] = images[part].reshape(len(part), -1)
        return out

    return Codec(
        encode=encode,
        decode=lambda feats: np.clip(np.rint(feats), 0, 255).astype(np.uint8).reshape((-1, *shape)),
    )


def latent_codec(autoencoder: torch.nn.Module, batch_size: int, device: torch.device) -> Codec:
    """The autoencoder's encoder and decoder, batched, float32 on the CPU in and out."""
    from artstyle import inference

    latent_shape = tuple(autoencoder.latent_shape)

    def encode(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
        z = inference.predict(autoencoder.encode, inference.row_chunks(images, rows, batch_size), device)
        return z.reshape(len(rows), -1).numpy()

    def decode(feats: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)).reshape(-1, *latent_shape)
        x = inference.predict(autoencoder.decode, inference.chunks(z, batch_size), device)
        return np.clip(np.rint(x.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255.0), 0, 255).astype(np.uint8)

    return Codec(encode=encode, decode=decode, decode_batch=batch_size)


@dataclass
class Oversampled:
    rows: np.ndarray  # manifest rows (store rows, then store length + synthetic index)
    labels: np.ndarray
    synthetic: np.ndarray  # uint8 [M, H, W, 3]
    synthetic_labels: np.ndarray  # [M]
    summary: dict[str, Any]


def synthesize(
    images: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    targets: np.ndarray,
    codec: Codec | None,
    *,
    k_neighbors: int,
    seed: int,
    progress: bool = False,
    allocate: Callable[[tuple[int, ...]], np.ndarray] | None = None,
) -> Oversampled:
    """Add ``targets[c] - count(c)`` SMOTE images to every style ``c`` of the (rows, labels) manifest.

    A style with one real image cannot be interpolated; it reaches its target by repeating that
    image (listed in the summary's ``repeated_styles``), never silently.

    ``allocate(shape)`` makes the uint8 array the synthetic images are written into, style by
    style (default: in memory). ``build_train_set`` passes a memmap of the output file, so the
    synthetic images, which can outnumber the store's (``sampling: max`` on WikiArt makes ~290,000),
    never have to fit in memory.
    """
    from tqdm import tqdm

    rows, labels = np.asarray(rows, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    needed = np.maximum(np.asarray(targets, dtype=np.int64) - counts, 0)
    needed[counts == 0] = 0  # an absent style stays absent
    store_len = len(images)
    shape = tuple(images.shape[1:])
    members_of = {int(c): np.sort(np.unique(rows[labels == c])) for c in np.flatnonzero(needed)}
    # Known before any SMOTE runs: every interpolable style gets exactly needed[c] new images.
    total = int(sum(needed[c] for c, m in members_of.items() if len(m) > 1))
    synthetic = (allocate or (lambda sh: np.empty(sh, dtype=np.uint8)))((total, *shape))
    synthetic_labels = np.empty(total, dtype=np.int64)
    extra_rows, extra_labels = [], []
    repeated, k_used = [], {}
    filled = 0
    for c, members in tqdm(members_of.items(), desc="oversample", leave=False, disable=not progress):
        if len(members) == 1:
            repeated.append(STYLES[c])
            extra_rows.append(np.full(needed[c], members[0], dtype=np.int64))
            extra_labels.append(np.full(needed[c], c, dtype=np.int64))
            continue
        # One style at a time: its features, then its new images a chunk at a time into `synthetic`.
        feats = np.asarray(codec.encode(images, members), dtype=np.float32)
        plan = smote_plan(feats, int(needed[c]), k_neighbors, class_random_state(seed, c))
        k_used[STYLES[c]] = plan.k
        step = chunk_rows(feats.shape[1], codec.decode_batch)
        for start in range(0, int(needed[c]), step):
            stop = min(start + step, int(needed[c]))
            synthetic[filled + start : filled + stop] = codec.decode(smote_samples(feats, plan, start, stop))
        del feats
        synthetic_labels[filled : filled + needed[c]] = c
        filled += int(needed[c])
    if filled != total:
        raise RuntimeError(f"SMOTE made {filled} images, {total} were needed")
    synthetic_rows = store_len + np.arange(total, dtype=np.int64)
    out_rows = np.concatenate([rows, *extra_rows, synthetic_rows])
    out_labels = np.concatenate([labels, *extra_labels, synthetic_labels])
    summary = {
        "train_total": len(out_rows),
        "real_total": len(rows) + sum(len(r) for r in extra_rows),
        "synthetic_total": len(synthetic),
        "repeated_styles": repeated,
        "k_neighbors_used": k_used,
        "synthetic": counts_by_style(synthetic_labels),
        "train": counts_by_style(out_labels),
    }
    return Oversampled(out_rows, out_labels, synthetic, synthetic_labels, summary)


def build_train_set(
    params: Params,
    store_dir: str | Path,
    manifests_dir: str | Path,
    splits_dir: str | Path,
    autoencoder_path: str | Path,
    out_dir: str | Path,
    *,
    device: torch.device | None = None,
) -> Oversampled:
    """Write ``out_dir`` (see the module docstring) for ``params.sampling_method``; return what was made.

    The autoencoder checkpoint is opened only under ``smote_latent``. The synthetic images are
    written straight into ``synthetic.npy`` (a memmap, the bytes ``np.save`` writes) and the
    result's ``synthetic`` is that file, opened read-only.
    """
    method = params.sampling_method
    images = open_images(store_dir)
    rows, labels = read_manifest(Path(manifests_dir) / "train.csv")
    with atomic_dir(out_dir) as tmp:
        result = _oversample(
            params, images, rows, labels, splits_dir, autoencoder_path, tmp / SYNTHETIC_FILE, device
        )
        result.summary["method"] = method
        written = len(result.synthetic)
        write_train_set(tmp, result.rows, result.labels, None, len(images), method, synthetic_rows=written)
        result.synthetic = None  # unmap the file before its directory is swapped into place
    result.synthetic = np.load(Path(out_dir) / SYNTHETIC_FILE, mmap_mode="r")
    return result


def _oversample(
    params: Params,
    images: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    splits_dir: str | Path,
    autoencoder_path: str | Path,
    synthetic_path: Path,
    device: torch.device | None,
) -> Oversampled:
    """:func:`synthesize` for ``params.sampling_method``, its images written to ``synthetic_path`` (a .npy)."""
    from artstyle import runtime

    method = params.sampling_method

    def allocate(shape: tuple[int, ...]) -> np.ndarray:
        if shape[0] == 0:  # an empty file cannot be memory-mapped
            empty = np.zeros(shape, dtype=np.uint8)
            save_npy(synthetic_path, empty)
            return empty
        # The header and bytes np.save would write, filled in place style by style.
        return np.lib.format.open_memmap(synthetic_path, mode="w+", dtype=np.uint8, shape=shape)

    if method == "random":
        # Nothing to synthesize: the resampled manifest as it is (and no autoencoder opened).
        return synthesize(
            images,
            rows,
            labels,
            np.zeros(NUM_CLASSES, dtype=np.int64),
            None,
            k_neighbors=params.oversample.k_neighbors,
            seed=params.seed,
            allocate=allocate,
        )
    _, split_labels = read_manifest(Path(splits_dir) / "train.csv")
    targets = target_counts(
        np.bincount(split_labels, minlength=NUM_CLASSES), params.sampling, params.resample.fill_only
    )
    if method == "smote":
        codec = pixel_codec(tuple(images.shape[1:]))
    else:
        from artstyle.models.autoencoder import load_autoencoder

        device = device or runtime.pick_device()
        runtime.configure_torch(device)
        autoencoder = load_autoencoder(autoencoder_path, device)
        if autoencoder.image_size != images.shape[1]:
            raise InputError(
                f"{autoencoder_path}: trained on {autoencoder.image_size} px images, the store "
                f"holds {images.shape[1]} px: retrain the autoencoder (dvc repro train_autoencoder)"
            )
        codec = latent_codec(autoencoder, params.oversample.batch_size, device)
    # No global seeding: each style's SMOTE draws come from class_random_state(seed, style).
    result = synthesize(
        images,
        rows,
        labels,
        targets,
        codec,
        k_neighbors=params.oversample.k_neighbors,
        seed=params.seed,
        progress=True,
        allocate=allocate,
    )
    if isinstance(result.synthetic, np.memmap):
        result.synthetic.flush()
    return result
