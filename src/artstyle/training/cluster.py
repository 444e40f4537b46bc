"""Latent-space clustering (the ``cluster_latents`` stage): encode, standardise, PCA, KMeans, score.

Latent features (``features``, ``normalize``). The autoencoder's latent is a ``C x h x w`` map.
``flat`` is the map flattened; ``pooled`` its per-channel spatial mean and standard deviation (2C
values, a style-like texture/colour descriptor independent of where things are); ``flat+pooled``
concatenates both. Every feature is standardised with the train mean / std (latent channels have
very different scales, and PCA on raw values would follow the loudest ones), PCA keeps
``n_components``, and with ``normalize`` the PCA coordinates are L2-normalised before KMeans, i.e.
clusters are formed by direction (cosine similarity), not by magnitude, which in an autoencoder's
latent mostly tracks contrast and brightness.

These choices were made on cross-validated NMI over the unique train images and the validation
split, never on the test split: standardising helps, adding the pooled descriptor to the flat
map helps, scaling the two blocks to equal variance hurts (pooled alone is weak, so up-weighting
it costs), and L2 normalisation helps most. It does not help raw pixels, so that gain belongs to
the latent.

The raw-pixel baseline is what the issue asks for: images area-downsampled to ``pixel_size``,
flattened, PCA + KMeans, no standardisation and no normalisation. Both are fitted on the unique
train images (rows repeated by oversampling would weigh some images several times) and scored on
the test manifest. ``shuffled_*`` scores the latent clusters against randomly permuted true
labels: the chance level (``shuffled_silhouette``: random groups of the styles' sizes).

State. sklearn fits, but what is kept is plain arrays in ``.npz`` (no pickle): the standardiser's
``center`` / ``scale``, PCA's ``pca_mean`` / ``components``, the ``normalize`` flag and KMeans'
``centers``. :class:`ClusterModel` rebuilt from them transforms and predicts exactly as the fitted
sklearn objects did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn.functional as F

from artstyle import inference, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.evaluation.clustering import clustering_scores, silhouette
from artstyle.fileio import save_npz
from artstyle.models.autoencoder import ConvAutoencoder, load_autoencoder
from artstyle.params import ClusterParams, Params
from artstyle.styles import trained_styles

FEATURE_KINDS = ("flat", "pooled", "flat+pooled")


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def encode_latents(
    model: ConvAutoencoder, images: np.ndarray, rows: np.ndarray, batch_size: int = 256, device=None
) -> np.ndarray:
    """Latent maps float32 [N, C, h, w] of the store ``rows`` (in the given order), a batch at a time."""
    device = device or runtime.pick_device()
    model = model.to(device).eval()
    rows = np.asarray(rows, dtype=np.int64)
    ds = StoreDataset(images, rows, np.zeros(len(rows), dtype=np.int64))
    out = np.empty((len(rows),) + tuple(model.latent_shape), dtype=np.float32)
    i = 0
    for z, _ in inference.iterate(
        lambda b: model.encode(b[0]), make_loader(ds, batch_size), device, desc="encode"
    ):
        out[i : i + len(z)] = z.numpy()
        i += len(z)
    return out


def latent_features(latents: np.ndarray, kind: str) -> np.ndarray:
    """Features [N, D] of latent maps [N, C, h, w]: ``flat``, ``pooled`` or ``flat+pooled`` (module doc)."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown features {kind!r}; allowed: {', '.join(FEATURE_KINDS)}")
    z = np.asarray(latents, dtype=np.float32)
    blocks: list[np.ndarray] = []
    if kind in ("flat", "flat+pooled"):
        blocks.append(z.reshape(len(z), -1))
    if kind in ("pooled", "flat+pooled"):
        spatial = z.reshape(z.shape[0], z.shape[1], -1)
        blocks.append(np.concatenate([spatial.mean(axis=2), spatial.std(axis=2)], axis=1))
    return np.concatenate(blocks, axis=1)


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
    meta: dict[str, str] = field(default_factory=dict)  # e.g. {"features": "flat+pooled"}

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Features [N, D] -> the space KMeans clusters in [N, n_components] (float64, as sklearn)."""
        z = (np.asarray(x, dtype=np.float64) - self.center) / self.scale
        projected = (z - self.pca_mean) @ self.components.T
        return _l2_normalize(projected) if self.normalize else projected

    def predict_projected(self, projected: np.ndarray) -> np.ndarray:
        """Nearest centre of points already in ``transform``'s space."""
        # |a - c|^2 = |a|^2 - 2 a.c + |c|^2; |a|^2 does not change the argmin.
        d = -2.0 * np.asarray(projected, dtype=np.float64) @ self.centers.T + (self.centers**2).sum(axis=1)
        return d.argmin(axis=1).astype(np.int64)

    def predict(self, x: np.ndarray) -> np.ndarray:
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


TINY = 1e-12  # a norm or spread below this counts as zero


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), TINY)


def fit_cluster_model(
    x: np.ndarray,
    n_components: int,
    k: int,
    n_init: int,
    seed: int,
    standardize: bool = True,
    normalize: bool = False,
    meta: dict[str, str] | None = None,
) -> ClusterModel:
    """Fit the standardiser (optional), PCA and KMeans (on L2-normalised coordinates if ``normalize``)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    if standardize:
        center = x.mean(axis=0)
        std = x.std(axis=0)
        scale = np.where(std > TINY, std, 1.0)  # a constant feature stays 0 instead of dividing by 0
    else:
        center, scale = np.zeros(d), np.ones(d)
    z = (x - center) / scale
    n_components = min(n_components, x.shape[0], d)
    pca = PCA(n_components=n_components, random_state=seed).fit(z)
    projected = pca.transform(z)
    if normalize:
        projected = _l2_normalize(projected)
    k = min(k, len(x))
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

    latents: dict[str, np.ndarray]  # {"train": [N, C, h, w], "test": ...}
    labels: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    latent_model: ClusterModel
    pixel_model: ClusterModel
    test_projected: np.ndarray  # test latents in the space KMeans clusters in [N, n_components]
    test_clusters: np.ndarray  # KMeans cluster of each test image
    metrics: dict[str, Any]


def cluster_latents(
    params: Params, store_dir: str | Path, splits_dir: str | Path, model_path: str | Path, *, device=None
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

    latents = {
        "train": encode_latents(model, images, train_rows, cp.batch_size, device),
        "test": encode_latents(model, images, test_rows, cp.batch_size, device),
    }
    f_train = latent_features(latents["train"], cp.features)
    f_test = latent_features(latents["test"], cp.features)
    latent_model = fit_cluster_model(
        f_train,
        cp.n_components,
        k,
        cp.n_init,
        params.seed,
        standardize=True,
        normalize=cp.normalize,
        meta={"features": cp.features, "input": "autoencoder latent"},
    )
    test_projected = latent_model.transform(f_test)
    test_clusters = latent_model.predict_projected(test_projected)
    latent_scores = clustering_scores(test_labels, test_clusters, test_projected, seed=params.seed)

    p_train = pixel_features(images, train_rows, cp.pixel_size)
    p_test = pixel_features(images, test_rows, cp.pixel_size)
    pixel_model = fit_cluster_model(
        p_train,
        cp.n_components,
        k,
        cp.n_init,
        params.seed,
        standardize=False,
        meta={"features": f"pixels {cp.pixel_size}x{cp.pixel_size}", "input": "raw pixels"},
    )
    p_projected = pixel_model.transform(p_test)
    pixel_scores = clustering_scores(
        test_labels, pixel_model.predict_projected(p_projected), p_projected, seed=params.seed
    )

    # Chance: the same clusters against the true labels in random order.
    shuffled = np.random.default_rng(params.seed).permutation(test_labels)
    shuffled_scores = clustering_scores(shuffled, test_clusters, test_projected, seed=params.seed)
    # Silhouette of random groups with the styles' sizes (the permuted labels as clusters).
    shuffled_scores["silhouette"] = silhouette(test_projected, shuffled, seed=params.seed)

    metrics: dict[str, Any] = dict(latent_scores)
    metrics.update({f"pixel_{name}": v for name, v in pixel_scores.items()})
    metrics.update({f"shuffled_{name}": v for name, v in shuffled_scores.items()})
    metrics.update(
        {
            "k": int(latent_model.centers.shape[0]),
            "n_components": int(latent_model.components.shape[0]),
            "explained_variance": float(latent_model.explained_variance_ratio.sum()),
            "pixel_explained_variance": float(pixel_model.explained_variance_ratio.sum()),
            "feature_dim": int(f_train.shape[1]),
            "train_images": len(train_rows),
            "test_images": len(test_rows),
        }
    )
    return ClusterRun(
        latents=latents,
        labels={"train": train_labels, "test": test_labels},
        rows={"train": train_rows, "test": test_rows},
        latent_model=latent_model,
        pixel_model=pixel_model,
        test_projected=test_projected,
        test_clusters=test_clusters,
        metrics=metrics,
    )
