"""Latent-space clustering (the ``cluster_latents`` stage): encode, standardise, PCA, KMeans, score.

What is clustered is the autoencoder's style code (:meth:`ConvAutoencoder.style_code`): the
per-channel mean and standard deviation of every encoder stage's maps, i.e. how the painting's
features fire, independent of where. Each feature is standardised with the train mean / std
(channels have very different scales, and PCA on raw values would follow the loudest ones), PCA
keeps ``n_components``, and with ``normalize`` the PCA coordinates are L2-normalised before KMeans:
clusters are formed by direction (cosine similarity), not by magnitude.

Three other rows are scored by the same protocol, fitted on the same images:

- ``vgg_*``, the reference: the shipped ImageNet VGG19's style statistics of each image
  (:mod:`artstyle.style_statistics`, written by ``train_autoencoder``), standardised, PCA,
  ``normalize`` as the latents. Nothing trained on the paintings: the bar the latents are
  measured against on whatever data the user runs.
- ``pixel_*``, the floor: images area-downsampled to ``pixel_size``, flattened, PCA + KMeans, no
  standardisation and no normalisation.
- ``shuffled_*``, chance: the latent clusters scored against randomly permuted true labels
  (``shuffled_silhouette``: random groups of the styles' sizes).

Everything is fitted on the unique train images (rows repeated by oversampling would weigh some
images several times) and scored on the test manifest. The labels only score: they reach neither
the encoder nor PCA nor KMeans.

Memory. Above ``cluster.stream_above`` unique train images the fit streams: the standardiser and
scikit-learn's IncrementalPCA are fed :data:`~artstyle.streaming.CHUNK_ROWS` rows at a time, and
the reference's and pixels' features are read or computed a chunk at a time
(:class:`~artstyle.streaming.LazyRows`). What grows with the data is then the style codes the stage
writes (``style_dim`` float32 per image) and the PCA coordinates KMeans clusters (``n_components``
float64 per image), not float64 copies of every feature (docs/benchmarks.md). KMeans itself stays
exact: the coordinates it needs are small, and MiniBatchKMeans on them cost 0.02-0.03 NMI.

State. sklearn fits, but what is kept is plain arrays in ``.npz`` (no pickle): the standardiser's
``center`` / ``scale``, PCA's ``pca_mean`` / ``components``, the ``normalize`` flag and KMeans'
``centers``. :class:`ClusterModel` rebuilt from them transforms and predicts exactly as the fitted
sklearn objects did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn.functional as F

from artstyle import inference, runtime
from artstyle.data.dataset import StoreDataset
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.evaluation.clustering import clustering_scores, silhouette
from artstyle.fileio import save_npz
from artstyle.models.autoencoder import ConvAutoencoder, load_autoencoder
from artstyle.params import ClusterParams, Params
from artstyle.streaming import TINY, LazyRows, Rows, chunk_slices, standardiser
from artstyle.styles import trained_styles

# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def encode_style_codes(
    model: ConvAutoencoder, images: np.ndarray, rows: np.ndarray, batch_size: int = 256, device=None
) -> np.ndarray:
    """Style codes float32 [N, style_dim] of the store ``rows`` (in the given order), a batch at a time."""
    device = device or runtime.pick_device()
    model = model.to(device).eval()
    rows = np.asarray(rows, dtype=np.int64)
    batches = inference.row_chunks(images, rows, batch_size)
    total = inference.n_chunks(len(rows), batch_size)
    out = np.empty((len(rows), model.style_dim), dtype=np.float32)
    return inference.predict_into(out, model.style_code, batches, device, desc="encode", total=total)


def reference_features(style_stats: str | Path, n_images: int) -> Callable[[np.ndarray], np.ndarray]:
    """Store rows -> their VGG19 statistics float32, read from ``train_autoencoder``'s file of every
    store row (memory-mapped: only the rows asked for are read)."""
    stats = np.load(style_stats, mmap_mode="r", allow_pickle=False)
    if stats.ndim != 2 or stats.shape[0] != n_images:
        raise InputError(
            f"{style_stats}: expected VGG19 statistics of all {n_images} store images, got shape "
            f"{stats.shape}: rerun train_autoencoder (dvc repro train_autoencoder)"
        )
    return lambda rows: np.asarray(stats[np.asarray(rows, dtype=np.int64)], dtype=np.float32)


def pixel_features(images: np.ndarray, rows: np.ndarray, size: int, batch_size: int = 512) -> np.ndarray:
    """Raw pixels area-downsampled to ``size x size``, flattened, in [0, 1]: [N, 3 * size * size]."""
    rows = np.asarray(rows, dtype=np.int64)
    ds = StoreDataset(images, rows, np.zeros(len(rows), dtype=np.int64))
    out = np.empty((len(rows), 3 * size * size), dtype=np.float32)
    for start in range(0, len(rows), batch_size):
        x, _ = ds.__getitems__(np.arange(start, min(start + batch_size, len(rows))))
        out[start : start + len(x)] = F.interpolate(x, size=(size, size), mode="area").flatten(1).numpy()
    return out


# ---------------------------------------------------------------------------------------------
# Standardiser + PCA + KMeans as plain arrays
# ---------------------------------------------------------------------------------------------


@dataclass
class ClusterModel:
    """``(x - center) / scale`` -> PCA -> (L2-normalise when ``normalize``) -> nearest KMeans centre."""

    center: np.ndarray  # [D]
    scale: np.ndarray  # [D]
    pca_mean: np.ndarray  # [D]
    components: np.ndarray  # [n_components, D]
    explained_variance_ratio: np.ndarray  # [n_components]
    centers: np.ndarray  # [k, n_components], in the space ``transform`` returns
    normalize: bool = False
    meta: dict[str, str] = field(default_factory=dict)  # e.g. {"features": "style code"}

    def transform(self, x: Rows) -> np.ndarray:
        """Features [N, D] -> the space KMeans clusters in [N, n_components] (float64, as sklearn),
        a chunk of rows at a time."""
        return np.concatenate([self._transform(x[s]) for s in chunk_slices(len(x))])

    def _transform(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.center) / self.scale
        projected = (z - self.pca_mean) @ self.components.T
        return _l2_normalize(projected) if self.normalize else projected

    def predict_projected(self, projected: np.ndarray) -> np.ndarray:
        """Nearest centre of points already in ``transform``'s space."""
        # |a - c|^2 = |a|^2 - 2 a.c + |c|^2; |a|^2 does not change the argmin.
        d = -2.0 * np.asarray(projected, dtype=np.float64) @ self.centers.T + (self.centers**2).sum(axis=1)
        return d.argmin(axis=1).astype(np.int64)

    def predict(self, x: Rows) -> np.ndarray:
        """Cluster id [N] of features [N, D]."""
        return self.predict_projected(self.transform(x))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {
            "center": self.center,
            "scale": self.scale,
            "pca_mean": self.pca_mean,
            "components": self.components,
            "explained_variance_ratio": self.explained_variance_ratio,
            "centers": self.centers,
            "normalize": np.array(self.normalize),
        }
        # Unicode arrays load without pickle.
        out.update({f"meta_{k}": np.array(str(v)) for k, v in self.meta.items()})
        return out

    def save(self, path: str | Path) -> None:
        save_npz(path, **self.arrays())

    @classmethod
    def load(cls, path: str | Path) -> ClusterModel:
        with np.load(path, allow_pickle=False) as data:
            meta = {k[len("meta_") :]: str(data[k]) for k in data.files if k.startswith("meta_")}
            return cls(
                center=data["center"],
                scale=data["scale"],
                pca_mean=data["pca_mean"],
                components=data["components"],
                explained_variance_ratio=data["explained_variance_ratio"],
                centers=data["centers"],
                normalize=bool(data["normalize"]),
                meta=meta,
            )


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), TINY)


def fit_cluster_model(
    x: Rows,
    n_components: int,
    k: int,
    n_init: int,
    seed: int,
    standardize: bool = True,
    normalize: bool = False,
    stream: bool = False,
    meta: dict[str, str] | None = None,
) -> ClusterModel:
    """Fit the standardiser (optional), PCA and KMeans (on L2-normalised coordinates if ``normalize``).

    ``stream``: IncrementalPCA over chunks of rows, holding one chunk in float64 and the PCA
    coordinates of all rows; otherwise PCA of all rows at once. KMeans clusters the coordinates.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA, IncrementalPCA

    n, d = len(x), np.asarray(x[0:1]).shape[1]
    center, scale = standardiser(x) if standardize else (np.zeros(d), np.ones(d))

    def standardized(rows: slice) -> np.ndarray:
        return (np.asarray(x[rows], dtype=np.float64) - center) / scale

    n_components, k = min(n_components, n, d), min(k, n)
    if stream:
        pca = IncrementalPCA(n_components=n_components)
        for rows in chunk_slices(n):
            pca.partial_fit(standardized(rows))
        projected = np.concatenate([pca.transform(standardized(rows)) for rows in chunk_slices(n)])
    else:
        z = standardized(slice(None))
        pca = PCA(n_components=n_components, random_state=seed).fit(z)
        projected = pca.transform(z)
    if normalize:
        projected = _l2_normalize(projected)
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(projected)
    return ClusterModel(
        center=center,
        scale=scale,
        pca_mean=pca.mean_.astype(np.float64),
        components=pca.components_.astype(np.float64),
        explained_variance_ratio=pca.explained_variance_ratio_.astype(np.float64),
        centers=km.cluster_centers_.astype(np.float64),
        normalize=normalize,
        meta=dict(meta or {}),
    )


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------


@dataclass
class ClusterRun:
    """Everything the stage writes or plots."""

    codes: dict[str, np.ndarray]  # style codes {"train": [N, style_dim], "test": ...}
    labels: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    latent_model: ClusterModel
    pixel_model: ClusterModel
    test_projected: np.ndarray  # test latents in the space KMeans clusters in [N, n_components]
    test_clusters: np.ndarray  # KMeans cluster of each test image
    metrics: dict[str, Any]


def cluster_latents(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    model_path: str | Path,
    style_stats: str | Path,
    *,
    device=None,
) -> ClusterRun:
    """Encode unique train rows and the test manifest, fit on train, score on test (see module doc)."""
    cp: ClusterParams = params.cluster
    runtime.seed_everything(params.seed)
    device = device or runtime.pick_device()
    splits_dir = Path(splits_dir)
    images = open_images(store_dir)
    model = load_autoencoder(model_path)

    train_rows_all, train_labels_all = read_manifest(splits_dir / "train.csv")
    train_rows, first = np.unique(train_rows_all, return_index=True)
    train_labels = train_labels_all[first]
    test_rows, test_labels = read_manifest(splits_dir / "test.csv")
    # k = 0: one cluster per style in the data (27 on the default data, fewer on a user's subset).
    k = cp.k or len(trained_styles(train_labels))

    # The reference's features first: a teacher file of another store fails before any encoding.
    reference = reference_features(style_stats, len(images))

    def pixels(rows: np.ndarray) -> np.ndarray:
        return pixel_features(images, rows, cp.pixel_size)

    codes = {
        "train": encode_style_codes(model, images, train_rows, cp.batch_size, device),
        "test": encode_style_codes(model, images, test_rows, cp.batch_size, device),
    }

    stream = len(train_rows) > cp.stream_above

    def fit(train_features: Rows, meta: dict[str, str], **kw) -> ClusterModel:
        meta = {**meta, "fit": "IncrementalPCA + KMeans" if stream else "PCA + KMeans"}
        return fit_cluster_model(
            train_features, cp.n_components, k, cp.n_init, params.seed, stream=stream, meta=meta, **kw
        )

    def score(model: ClusterModel, test_features: Rows) -> tuple[np.ndarray, np.ndarray, dict]:
        projected = model.transform(test_features)
        clusters = model.predict_projected(projected)
        return projected, clusters, clustering_scores(test_labels, clusters, projected, seed=params.seed)

    latent_model = fit(
        codes["train"],
        normalize=cp.normalize,
        meta={"features": "style code", "input": "autoencoder encoder"},
    )
    test_projected, test_clusters, latent_scores = score(latent_model, codes["test"])

    vgg_model = fit(
        LazyRows(reference, train_rows),
        normalize=cp.normalize,
        meta={"features": "VGG19 relu1_1..relu4_1 mean+std", "input": "reference"},
    )
    _, _, vgg_scores = score(vgg_model, LazyRows(reference, test_rows))

    pixel_model = fit(
        LazyRows(pixels, train_rows),
        standardize=False,
        meta={"features": f"pixels {cp.pixel_size}x{cp.pixel_size}", "input": "raw pixels"},
    )
    _, _, pixel_scores = score(pixel_model, LazyRows(pixels, test_rows))

    # Chance: the same clusters against the true labels in random order.
    shuffled = np.random.default_rng(params.seed).permutation(test_labels)
    shuffled_scores = clustering_scores(shuffled, test_clusters, test_projected, seed=params.seed)
    # Silhouette of random groups with the styles' sizes (the permuted labels as clusters).
    shuffled_scores["silhouette"] = silhouette(test_projected, shuffled, seed=params.seed)

    metrics: dict[str, Any] = dict(latent_scores)
    metrics.update({f"vgg_{name}": v for name, v in vgg_scores.items()})
    metrics.update({f"pixel_{name}": v for name, v in pixel_scores.items()})
    metrics.update({f"shuffled_{name}": v for name, v in shuffled_scores.items()})
    metrics.update(
        {
            "k": int(latent_model.centers.shape[0]),
            "n_components": int(latent_model.components.shape[0]),
            "explained_variance": float(latent_model.explained_variance_ratio.sum()),
            "pixel_explained_variance": float(pixel_model.explained_variance_ratio.sum()),
            "vgg_explained_variance": float(vgg_model.explained_variance_ratio.sum()),
            "feature_dim": int(codes["train"].shape[1]),
            "train_images": len(train_rows),
            "test_images": len(test_rows),
        }
    )
    return ClusterRun(
        codes=codes,
        labels={"train": train_labels, "test": test_labels},
        rows={"train": train_rows, "test": test_rows},
        latent_model=latent_model,
        pixel_model=pixel_model,
        test_projected=test_projected,
        test_clusters=test_clusters,
        metrics=metrics,
    )
