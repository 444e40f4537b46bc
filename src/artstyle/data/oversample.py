"""The classifier's train set: the resampled manifest plus, under SMOTE, synthetic images.

The ``oversample`` stage writes ``data/oversampled/`` (layout and reader: :mod:`artstyle.data.train_set`).

Methods (``sampling_method``):

- ``random``: the resampled manifest as it is (real images repeated). The outputs then do not
  depend on the autoencoder at all, byte for byte, so a new autoencoder reruns this stage but not
  the classifier.
- ``smote``: imbalanced-learn's SMOTE on the flattened pixels, as in the course: each new image is
  ``x + u * (n - x)`` for a real image ``x``, one of its ``k_neighbors`` nearest same-style images
  ``n`` and ``u ~ U(0, 1)``: a cross-fade of two paintings.
- ``smote_latent``: the same interpolation between the autoencoder's latents of two real images,
  decoded to an image: the decoder maps the in-between latent back to something painting-like
  instead of a double exposure.

Every style below its target gets ``target - real`` synthetic images; the targets are
:func:`artstyle.data.resample.target_counts` of the un-resampled train split (``data/splits``).
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
from artstyle.data.train_set import write_train_set
from artstyle.errors import InputError
from artstyle.fileio import atomic_dir
from artstyle.params import Params
from artstyle.styles import NUM_CLASSES, STYLES


def class_random_state(seed: int, label: int) -> int:
    """A per-style seed: each style's synthetic images depend on the seed and that style alone."""
    return int(np.random.SeedSequence([seed, label]).generate_state(1)[0])


def smote_class(x: np.ndarray, n_new: int, k_neighbors: int, random_state: int) -> tuple[np.ndarray, int]:
    """``n_new`` SMOTE samples [n_new, D] (float) from one style's real samples ``x`` [n, D].

    Returns the samples and the ``k`` used: ``min(k_neighbors, n - 1)``, since a style with n
    images has only n - 1 neighbours per image. A style with one image cannot be interpolated:
    the caller repeats it (see :func:`synthesize`).

    imbalanced-learn resamples a labelled set, never one class alone, so the style is given a
    one-row placeholder class that is neither resampled nor a neighbour: SMOTE draws each new
    sample from a point and its neighbours *within its own class*, so the placeholder changes
    nothing. (One call per style also lets a tiny style use a smaller k than the others.)
    """
    from imblearn.over_sampling import SMOTE

    n = len(x)
    if n < 2:
        raise ValueError(f"SMOTE needs at least 2 images of a style, got {n}")
    k = min(k_neighbors, n - 1)
    x = np.asarray(x, dtype=np.float32)
    features = np.concatenate([x, np.zeros((1, x.shape[1]), dtype=np.float32)])
    labels = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(1, dtype=np.int64)])
    smote = SMOTE(sampling_strategy={1: n + n_new}, k_neighbors=k, random_state=random_state)
    resampled, _ = smote.fit_resample(features, labels)
    # imbalanced-learn returns the input rows first, then the new samples.
    return resampled[len(features):], k


@dataclass(frozen=True)
class Codec:
    """Maps uint8 images [n, H, W, 3] to SMOTE feature vectors [n, D] and back."""

    encode: Callable[[np.ndarray], np.ndarray]
    decode: Callable[[np.ndarray], np.ndarray]


def pixel_codec(shape: tuple[int, ...]) -> Codec:
    return Codec(
        encode=lambda images: images.reshape(len(images), -1).astype(np.float32),
        decode=lambda feats: np.clip(np.rint(feats), 0, 255).astype(np.uint8).reshape((-1, *shape)),
    )


def latent_codec(autoencoder: torch.nn.Module, batch_size: int, device: torch.device) -> Codec:
    """The autoencoder's encoder and decoder, batched, float32 on the CPU in and out."""
    from artstyle import inference

    latent_shape = tuple(autoencoder.latent_shape)

    def encode(images: np.ndarray) -> np.ndarray:
        z = inference.predict(autoencoder.encode, inference.chunks(images, batch_size), device)
        return z.reshape(len(images), -1).numpy()

    def decode(feats: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)).reshape(-1, *latent_shape)
        x = inference.predict(autoencoder.decode, inference.chunks(z, batch_size), device)
        return np.clip(np.rint(x.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255.0), 0, 255).astype(np.uint8)

    return Codec(encode=encode, decode=decode)


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
) -> Oversampled:
    """Add ``targets[c] - count(c)`` SMOTE images to every style ``c`` of the (rows, labels) manifest.

    A style with one real image cannot be interpolated; it reaches its target by repeating that
    image (listed in the summary's ``repeated_styles``), never silently.
    """
    from tqdm import tqdm

    rows, labels = np.asarray(rows, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    needed = np.maximum(np.asarray(targets, dtype=np.int64) - counts, 0)
    needed[counts == 0] = 0  # an absent style stays absent
    store_len = len(images)
    new_images, new_labels, extra_rows, extra_labels = [], [], [], []
    repeated, k_used = [], {}
    todo = [int(c) for c in np.flatnonzero(needed)]
    for c in tqdm(todo, desc="oversample", leave=False, disable=not progress):
        members = np.sort(np.unique(rows[labels == c]))
        if len(members) == 1:
            repeated.append(STYLES[c])
            extra_rows.append(np.full(needed[c], members[0], dtype=np.int64))
            extra_labels.append(np.full(needed[c], c, dtype=np.int64))
            continue
        feats = codec.encode(np.asarray(images[members]))
        new, k_used[STYLES[c]] = smote_class(feats, int(needed[c]), k_neighbors, class_random_state(seed, c))
        new_images.append(codec.decode(new))
        new_labels.append(np.full(len(new), c, dtype=np.int64))
    shape = tuple(images.shape[1:])
    synthetic = np.concatenate(new_images) if new_images else np.zeros((0, *shape), dtype=np.uint8)
    synthetic_labels = np.concatenate(new_labels) if new_labels else np.zeros(0, dtype=np.int64)
    synthetic_rows = store_len + np.arange(len(synthetic), dtype=np.int64)
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

    The autoencoder checkpoint is opened only under ``smote_latent``.
    """
    from artstyle import runtime

    method = params.sampling_method
    images = open_images(store_dir)
    rows, labels = read_manifest(Path(manifests_dir) / "train.csv")
    if method == "random":
        # Nothing to synthesize: the resampled manifest as it is (and no autoencoder opened).
        result = synthesize(images, rows, labels, np.zeros(NUM_CLASSES, dtype=np.int64), None,
                            k_neighbors=params.oversample.k_neighbors, seed=params.seed)
    else:
        _, split_labels = read_manifest(Path(splits_dir) / "train.csv")
        targets = target_counts(
            np.bincount(split_labels, minlength=NUM_CLASSES), params.sampling, params.resample.fill_only
        )
        if method == "smote":
            codec = pixel_codec(tuple(images.shape[1:]))
        else:
            from artstyle.checkpoint import load_model
            from artstyle.models.autoencoder import ConvAutoencoder

            device = device or runtime.pick_device()
            runtime.configure_torch(device)
            autoencoder, _ = load_model(autoencoder_path, ConvAutoencoder, device)
            if autoencoder.image_size != images.shape[1]:
                raise InputError(
                    f"{autoencoder_path}: trained on {autoencoder.image_size} px images, the store "
                    f"holds {images.shape[1]} px: retrain the autoencoder (dvc repro train_autoencoder)"
                )
            codec = latent_codec(autoencoder, params.oversample.batch_size, device)
        # No global seeding: each style's SMOTE draws come from class_random_state(seed, style).
        result = synthesize(
            images, rows, labels, targets, codec, k_neighbors=params.oversample.k_neighbors,
            seed=params.seed, progress=True,
        )
    result.summary["method"] = method
    with atomic_dir(out_dir) as tmp:
        write_train_set(tmp, result.rows, result.labels, result.synthetic, len(images), method)
    return result
