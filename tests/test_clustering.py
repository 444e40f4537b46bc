"""Clustering metrics on constructed cases, latent features, and the PCA/KMeans state without pickle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from artstyle.evaluation.clustering import (
    clustering_scores,
    contingency,
    hungarian_accuracy,
    purity,
    silhouette,
)
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.streaming import CHUNK_ROWS, LazyRows, chunk_slices, standardiser
from artstyle.training.cluster import ClusterModel, fit_cluster_model, pixel_features

pytestmark = pytest.mark.usefixtures("one_thread")


def test_perfect_and_permuted_clusterings_score_one():
    labels = np.repeat(np.arange(5), 20)
    for clusters in (labels, (labels + 3) % 5, np.array([4, 2, 0, 1, 3])[labels]):
        scores = clustering_scores(labels, clusters)
        for key in ("nmi", "ari", "purity", "hungarian_accuracy"):
            assert scores[key] == pytest.approx(1.0), (key, clusters[:3])


def test_random_clustering_scores_chance():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 5000)
    clusters = rng.integers(0, 5, 5000)
    s = clustering_scores(labels, clusters)
    assert s["nmi"] < 0.01
    assert abs(s["ari"]) < 0.01
    assert s["hungarian_accuracy"] < 0.25  # chance is ~0.2 (+ the matching's small optimism)
    assert s["purity"] < 0.25


def test_purity_and_hungarian_by_hand():
    clusters = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([0, 0, 1, 1, 1, 0])
    assert contingency(clusters, labels).tolist() == [[2, 1], [0, 2], [1, 0]]
    assert purity(clusters, labels) == pytest.approx(5 / 6)  # majorities 2 + 2 + 1
    # One-to-one: cluster 0 -> style 0, cluster 1 -> style 1; cluster 2 is left unmatched.
    assert hungarian_accuracy(clusters, labels) == pytest.approx(4 / 6)
    # Purity rewards splitting into singletons; Hungarian accuracy does not.
    singletons = np.arange(6)
    assert purity(singletons, labels) == 1.0
    assert hungarian_accuracy(singletons, labels) == pytest.approx(2 / 6)


def test_contingency_explicit_size():
    t = contingency([0, 1], [2, 2], n_clusters=4, n_classes=27)
    assert t.shape == (4, 27) and t.sum() == 2 and t[0, 2] == 1


def test_silhouette():
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    good = np.repeat([0, 1], 30)
    assert silhouette(pts, good) > 0.9
    assert silhouette(pts, rng.permutation(good)) < 0.1
    assert silhouette(pts, np.zeros(60, dtype=int)) is None


def test_style_code_is_mean_and_std_of_every_encoder_map():
    torch.manual_seed(0)
    model = ConvAutoencoder(width=4, latent_channels=3, image_size=32).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        code = model.style_code(x)
        h1 = model.stages[0](x)
        h2 = model.stages[1](h1)
        h3 = model.stages[2](h2)
        maps = [h1, h2, h3, model.style_branch(h3), model.to_latent(h3)]
    assert code.shape == (2, model.style_dim) == (2, 2 * (4 + 8 + 16 + 32 + 3))
    offset = 0
    for m in maps:
        c = m.shape[1]
        torch.testing.assert_close(code[:, offset : offset + c], m.mean(dim=(2, 3)))
        # std as in AdaIN: sqrt(var + 1e-5), so a channel that never fires is not a 0 / 0 later
        std = (m.var(dim=(2, 3), unbiased=False) + 1e-5).sqrt()
        torch.testing.assert_close(code[:, offset + c : offset + 2 * c], std)
        offset += 2 * c
    # the codes the stage clusters are the same numbers, batch by batch from the store
    store = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    from artstyle.training.cluster import encode_style_codes

    with torch.no_grad():
        expected = model.style_code(torch.from_numpy(store).permute(0, 3, 1, 2).float() / 255)
    got = encode_style_codes(model, store, np.array([1, 0]), batch_size=1, device=torch.device("cpu"))
    np.testing.assert_allclose(got, expected.numpy()[[1, 0]], rtol=1e-5, atol=1e-6)


def test_reference_features_must_cover_the_store(tmp_path):
    from artstyle.errors import InputError
    from artstyle.training.cluster import reference_features

    stats = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "s.npy", stats)
    np.testing.assert_array_equal(reference_features(tmp_path / "s.npy", 4)(np.array([2, 0])), stats[[2, 0]])
    with pytest.raises(InputError, match="all 5 store images"):
        reference_features(tmp_path / "s.npy", 5)


def test_standardize_and_normalize():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 5, (200, 6)), rng.normal(3, 0.1, (200, 4)), np.ones((200, 1))], axis=1)
    m = fit_cluster_model(x, n_components=5, k=3, n_init=1, seed=0, normalize=True)
    z = (x - m.center) / m.scale
    np.testing.assert_allclose(z[:, :10].std(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(z[:, 10], 0.0)  # a constant feature is not divided by 0
    np.testing.assert_allclose(np.linalg.norm(m.transform(x), axis=1), 1.0)
    raw = fit_cluster_model(x, n_components=5, k=3, n_init=1, seed=0, standardize=False)
    np.testing.assert_array_equal(raw.scale, 1.0)
    assert np.linalg.norm(raw.transform(x), axis=1).std() > 0.1


def _blobs(seed=0, n=60, d=12, k=4):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, (k, d))
    labels = np.repeat(np.arange(k), n // k)
    return means[labels] + rng.normal(0, 1, (len(labels), d)), labels


@pytest.mark.parametrize("normalize", [False, True])
def test_state_roundtrip_reproduces_sklearn_without_pickle(tmp_path, normalize):
    x, labels = _blobs()
    x_new, _ = _blobs(seed=1)
    model = fit_cluster_model(
        x, n_components=5, k=4, n_init=3, seed=7, normalize=normalize, meta={"features": "flat"}
    )
    path = tmp_path / "state.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:  # would raise on any object array
        assert all(data[name].dtype != object for name in data.files)
    loaded = ClusterModel.load(path)
    assert loaded.meta == {"features": "flat"} and loaded.normalize is normalize
    np.testing.assert_array_equal(loaded.transform(x_new), model.transform(x_new))
    np.testing.assert_array_equal(loaded.predict(x_new), model.predict(x_new))

    # The same fits done directly with sklearn transform and predict the same way.
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    pca = PCA(n_components=5, random_state=7).fit(z)
    post = (lambda p: p / np.linalg.norm(p, axis=1, keepdims=True)) if normalize else (lambda p: p)
    km = KMeans(n_clusters=4, n_init=3, random_state=7).fit(post(pca.transform(z)))
    z_new = (x_new - x.mean(axis=0)) / x.std(axis=0)
    np.testing.assert_allclose(loaded.transform(x_new), post(pca.transform(z_new)), atol=1e-9)
    np.testing.assert_array_equal(loaded.predict(x_new), km.predict(post(pca.transform(z_new))))
    assert clustering_scores(labels, loaded.predict(x))["nmi"] == pytest.approx(1.0)


def test_fit_is_seeded():
    x, _ = _blobs(d=30, k=6, n=120)
    a = fit_cluster_model(x, n_components=8, k=6, n_init=2, seed=3)
    b = fit_cluster_model(x, n_components=8, k=6, n_init=2, seed=3)
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.components, b.components)


def test_pixel_features_area_downsample():
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    images[1, :4] = 255  # top half white
    f = pixel_features(images, np.array([1, 0, 1]), size=2)
    assert f.shape == (3, 12)
    np.testing.assert_allclose(f[1], 0.0)
    # Channel-major layout [3, 2, 2]: the top row of each channel is white, the bottom black.
    np.testing.assert_allclose(f[0].reshape(3, 2, 2)[:, 0], 1.0)
    np.testing.assert_allclose(f[0].reshape(3, 2, 2)[:, 1], 0.0)


def test_cluster_centre_labels_do_not_overlap():
    """Centres close together still get readable labels: each is moved to a free spot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Annotation

    from artstyle.plots.clusters import pca_clusters_figure

    rng = np.random.default_rng(0)
    centers = np.concatenate([rng.normal(0, 0.02, (6, 2)), rng.normal(1, 0.3, (6, 2))])
    clusters = np.repeat(np.arange(12), 5)
    points = centers[clusters] + rng.normal(0, 0.01, (60, 2))
    labels = clusters % 27
    fig = pca_clusters_figure(points, clusters, labels, centers)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [a.get_window_extent(renderer) for a in fig.axes[0].texts if isinstance(a, Annotation)]
    assert len(boxes) == 12
    overlaps = [(i, j) for i in range(12) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []


# ---------------------------------------------------------------------------------------------
# Streaming: chunks, the chunked standardiser, IncrementalPCA
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 49, 50, 99, 100, 101, 257, 1000])
def test_chunk_slices_cover_the_rows_in_order_without_a_short_last_chunk(n):
    slices = chunk_slices(n, size=50)
    assert np.concatenate([np.arange(n)[s] for s in slices]).tolist() == list(range(n))
    sizes = [s.stop - s.start for s in slices]
    if n < 100:
        assert sizes == [n]
    else:
        assert min(sizes) >= 50 and max(sizes) < 100


def test_standardiser_over_chunks_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(3, 7, (5000, 5)), np.full((5000, 1), 2.5)], axis=1).astype(np.float32)
    assert len(chunk_slices(len(x))) > 1  # several chunks are summed
    mean, scale = standardiser(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scale[:5], x.astype(np.float64).std(axis=0)[:5], rtol=1e-10)
    assert scale[5] == 1.0  # constant feature: not divided by 0
    lazy = LazyRows(lambda rows: x[rows], np.arange(len(x)))
    np.testing.assert_array_equal(standardiser(lazy)[0], mean)


def test_transform_in_chunks_equals_one_pass():
    x, _ = _blobs(n=2 * CHUNK_ROWS + 8, d=20, k=4)
    model = fit_cluster_model(x[:500], n_components=6, k=4, n_init=1, seed=0, normalize=True)
    assert len(chunk_slices(len(x))) == 2
    np.testing.assert_allclose(model.transform(x), model._transform(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("normalize", [False, True])
def test_streamed_fit_finds_the_exact_fits_clusters(normalize):
    # Rows over several chunks, read lazily: IncrementalPCA spans PCA's subspace (the 5 directions
    # that separate 6 blobs; beyond those PCA would pick among noise), so KMeans finds the same
    # well-separated clusters.
    x, labels = _blobs(n=3 * CHUNK_ROWS, d=40, k=6)
    lazy = LazyRows(lambda rows: x[rows], np.arange(len(x)))
    exact = fit_cluster_model(x, n_components=5, k=6, n_init=2, seed=0, normalize=normalize)
    streamed = fit_cluster_model(
        lazy, n_components=5, k=6, n_init=2, seed=0, normalize=normalize, stream=True
    )
    np.testing.assert_allclose(streamed.center, exact.center, rtol=1e-9)
    np.testing.assert_allclose(streamed.scale, exact.scale, rtol=1e-9)
    # Same subspace: the projection of one basis onto the other keeps (nearly) all its length.
    overlap = np.linalg.svd(streamed.components @ exact.components.T, compute_uv=False)
    assert overlap.min() > 0.99
    assert clustering_scores(labels, streamed.predict(x))["ari"] > 0.99
    assert clustering_scores(exact.predict(x), streamed.predict(lazy))["ari"] > 0.99
    again = fit_cluster_model(lazy, n_components=5, k=6, n_init=2, seed=0, normalize=normalize, stream=True)
    np.testing.assert_array_equal(again.centers, streamed.centers)  # seeded
