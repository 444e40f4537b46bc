"""SMOTE oversampling (pixels and autoencoder latents): counts, where synthetic rows may appear,
determinism, the tiny-style cases, bad params, and the train set the classifier reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_resample import TRAIN, load_stage, make_params, make_store
from typer.testing import CliRunner

from artstyle.checkpoint import save_checkpoint
from artstyle.data import oversample
from artstyle.data.dataset import StoreDataset
from artstyle.data.manifests import read_manifest
from artstyle.data.oversample import build_train_set, smote_class
from artstyle.data.resample import build_manifests
from artstyle.data.store import open_images
from artstyle.data.train_set import StackedImages, open_train_set
from artstyle.errors import InputError
from artstyle.fileio import read_json
from artstyle.headline import read_metrics
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.params import ParamsError, load_params
from artstyle.styles import LABEL_OF, STYLES

REPO = Path(__file__).resolve().parents[1]
# After the 10% val split the train part holds Impressionism 27, Realism 11, Action_painting 2,
# Pointillism 1 (see test_resample.py).
TRAIN_PART = {"Impressionism": 27, "Realism": 11, "Action_painting": 2, "Pointillism": 1}


def _build(tmp_path: Path, name: str = "run", autoencoder: Path | None = None, size: int = 4, **overrides):
    store = tmp_path / "store" if (tmp_path / "store").exists() else make_store(tmp_path, size=size)
    params = load_params(make_params(tmp_path, **overrides))
    out = tmp_path / name
    build_manifests(store, out / "splits", out / "manifests", params)
    result = build_train_set(
        params,
        store,
        out / "manifests",
        out / "splits",
        autoencoder or tmp_path / "missing.pt",
        out / "train",
        device=torch.device("cpu"),
    )
    return store, out, result


def _per_style(labels: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(labels, return_counts=True)
    return {STYLES[v]: int(c) for v, c in zip(values, counts)}


def test_fill_only_raises_the_small_styles_to_the_target_and_keeps_the_large(tmp_path):
    store, out, result = _build(
        tmp_path, sampling=20, sampling_method="smote", resample={"val_fraction": 0.1, "fill_only": True}
    )
    images, rows, labels = open_train_set(store, out / "train")
    assert _per_style(labels) == {
        "Impressionism": 27,
        "Realism": 20,
        "Action_painting": 20,
        "Pointillism": 20,
    }
    n = len(open_images(store))
    synthetic = rows >= n
    # Pointillism has one image: nothing to interpolate, so it is repeated (and reported), not SMOTEd.
    assert _per_style(labels[synthetic]) == {"Realism": 9, "Action_painting": 18}
    assert result.summary["repeated_styles"] == ["Pointillism"]
    assert result.summary["k_neighbors_used"] == {"Realism": 5, "Action_painting": 1}
    assert result.summary["synthetic_total"] == 27 == len(images.synthetic)
    point = rows[labels == LABEL_OF["Pointillism"]]
    assert len(set(point.tolist())) == 1 and point[0] < n
    # every real train image is used once (fill_only reduces no style)
    split_rows, _ = read_manifest(out / "splits" / "train.csv")
    assert sorted(rows[~synthetic & (labels != LABEL_OF["Pointillism"])].tolist()) == sorted(
        r for r, lab in zip(*read_manifest(out / "splits" / "train.csv")) if lab != LABEL_OF["Pointillism"]
    )
    assert set(rows[~synthetic].tolist()) <= set(split_rows.tolist())


def test_exact_target_subsamples_the_large_styles_and_never_repeats_real_images(tmp_path):
    store, out, result = _build(tmp_path, sampling=20, sampling_method="smote")
    _, rows, labels = open_train_set(store, out / "train")
    assert _per_style(labels) == {s: 20 for s in TRAIN}
    n = len(open_images(store))
    imp = rows[labels == LABEL_OF["Impressionism"]]
    assert (imp < n).all() and len(set(imp.tolist())) == 20  # 20 of 27 real, no SMOTE
    real_realism = rows[(labels == LABEL_OF["Realism"]) & (rows < n)]
    assert len(set(real_realism.tolist())) == len(real_realism) == 11
    # the same targets as random oversampling, so the methods compare at equal counts
    _, out_r, _ = _build(tmp_path, "random", sampling=20, sampling_method="random")
    assert _per_style(read_manifest(out_r / "train" / "train.csv")[1]) == _per_style(labels)


def test_synthetic_rows_appear_only_in_the_classifiers_train_manifest(tmp_path):
    store, out, _ = _build(tmp_path, sampling="max", sampling_method="smote")
    n = len(open_images(store))
    rows, _ = read_manifest(out / "train" / "train.csv")
    assert (rows >= n).sum() > 0
    for manifest in [
        out / "splits" / "train.csv",
        out / "splits" / "val.csv",
        out / "splits" / "test.csv",
        out / "manifests" / "train.csv",
        out / "manifests" / "test.csv",
    ]:
        assert (read_manifest(manifest)[0] < n).all(), manifest


def test_pixel_smote_interpolates_between_two_images_of_the_same_style(tmp_path):
    store, out, _ = _build(tmp_path, sampling="max", sampling_method="smote")
    images, rows, labels = open_train_set(store, out / "train")
    n = len(images.store)
    real = {
        c: np.asarray(images.store[np.unique(rows[(labels == c) & (rows < n)])], dtype=np.float64)
        for c in np.unique(labels)
    }
    checked = 0
    for row, c in zip(rows[rows >= n][:20], labels[rows >= n][:20]):
        x = images.synthetic[row - n].astype(np.float64).ravel()
        pts = real[c].reshape(len(real[c]), -1)
        # x = a + u (b - a) for some same-style pair (a, b) and u in [0, 1], up to uint8 rounding
        # (u is fitted by least squares, so allow one grey level; another pair misses by ~100)
        best = np.inf
        for i in range(len(pts)):
            for j in range(len(pts)):
                d = pts[j] - pts[i]
                u = np.clip((x - pts[i]) @ d / max(d @ d, 1e-9), 0, 1)
                best = min(best, np.abs(pts[i] + u * d - x).max())
        assert best <= 1.0, (STYLES[c], best)
        checked += 1
    assert checked == 20


def test_deterministic_for_a_seed_and_different_for_another(tmp_path):
    store, out_a, _ = _build(tmp_path, "a", sampling="max", sampling_method="smote")
    _, out_b, _ = _build(tmp_path, "b", sampling="max", sampling_method="smote")
    _, out_c, _ = _build(tmp_path, "c", sampling="max", sampling_method="smote", seed=7)
    files = ("train.csv", "synthetic.npy", "meta.json")
    assert all((out_a / "train" / f).read_bytes() == (out_b / "train" / f).read_bytes() for f in files)
    assert (out_a / "train" / "synthetic.npy").read_bytes() != (
        out_c / "train" / "synthetic.npy"
    ).read_bytes()


def test_random_method_ignores_the_autoencoder_byte_for_byte(tmp_path):
    """Under random the train set is the manifest as it is: no autoencoder is opened (a missing
    checkpoint is fine), so a new autoencoder reruns `oversample` without changing its outputs."""
    ae = tmp_path / "ae.pt"
    model = ConvAutoencoder(width=4, latent_channels=2, image_size=8)
    save_checkpoint(ae, model, model.args, STYLES)
    _, out_a, _ = _build(tmp_path, "a", size=8, sampling="mean", sampling_method="random", autoencoder=ae)
    _, out_b, _ = _build(tmp_path, "b", size=8, sampling="mean", sampling_method="random")
    for f in ("train.csv", "synthetic.npy", "meta.json"):
        assert (out_a / "train" / f).read_bytes() == (out_b / "train" / f).read_bytes()
    assert (out_a / "train" / "train.csv").read_bytes() == (out_a / "manifests" / "train.csv").read_bytes()
    assert np.load(out_a / "train" / "synthetic.npy").shape == (0, 8, 8, 3)


def test_latent_smote_decodes_synthetic_images(tmp_path):
    torch.manual_seed(0)
    ae = tmp_path / "ae.pt"
    model = ConvAutoencoder(width=4, latent_channels=2, image_size=8)
    save_checkpoint(ae, model, model.args, STYLES)
    store, out, result = _build(tmp_path, size=8, sampling=20, sampling_method="smote_latent", autoencoder=ae)
    images, rows, labels = open_train_set(store, out / "train")
    assert _per_style(labels) == {s: 20 for s in TRAIN}
    assert images.synthetic.dtype == np.uint8 and images.synthetic.shape == (27, 8, 8, 3)
    # decoded, not copied: no synthetic image equals a real one
    real = np.asarray(images.store).reshape(len(images.store), -1)
    assert not any((real == s.ravel()).all(1).any() for s in images.synthetic)
    # a missing checkpoint is an error only where it is needed
    with pytest.raises(Exception, match="missing.pt"):
        _build(tmp_path, "again", sampling=20, sampling_method="smote_latent")


def test_latent_smote_rejects_an_autoencoder_of_another_image_size(tmp_path):
    ae = tmp_path / "ae.pt"
    model = ConvAutoencoder(width=4, latent_channels=2, image_size=16)
    save_checkpoint(ae, model, model.args, STYLES)
    with pytest.raises(InputError, match="16 px"):
        _build(tmp_path, size=8, sampling=20, sampling_method="smote_latent", autoencoder=ae)


def test_smote_class_reduces_k_for_tiny_styles_and_refuses_one_image():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    new, k = smote_class(x, 5, k_neighbors=5, random_state=0)
    assert k == 2 and new.shape == (5, 4)
    with pytest.raises(ValueError, match="at least 2"):
        smote_class(x[:1], 3, k_neighbors=5, random_state=0)


def _imblearn_smote(x: np.ndarray, n_new: int, k: int, random_state: int) -> np.ndarray:
    """imbalanced-learn's SMOTE on one class (with a one-row placeholder class: it never resamples a
    class alone), as oversample.py called it before it made the samples itself."""
    from imblearn.over_sampling import SMOTE

    features = np.concatenate([x, np.zeros((1, x.shape[1]), dtype=np.float32)])
    labels = np.concatenate([np.ones(len(x), dtype=np.int64), np.zeros(1, dtype=np.int64)])
    smote = SMOTE(sampling_strategy={1: len(x) + n_new}, k_neighbors=k, random_state=random_state)
    return smote.fit_resample(features, labels)[0][len(features) :]


@pytest.mark.parametrize("n, n_new, k_neighbors", [(40, 100, 5), (3, 7, 5), (12, 1, 1)])
def test_smote_class_makes_the_samples_imbalanced_learn_makes_bit_for_bit(n, n_new, k_neighbors):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 256, (n, 48)).astype(np.float32)
    new, k = smote_class(x, n_new, k_neighbors, random_state=1234)
    expected = _imblearn_smote(x, n_new, min(k_neighbors, n - 1), 1234)
    assert k == min(k_neighbors, n - 1) and new.dtype == np.float32
    assert new.tobytes() == expected.tobytes()


def test_pixel_smote_in_small_chunks_writes_the_same_images(tmp_path, monkeypatch):
    """The new images are made a chunk at a time; the chunk size changes nothing (here: one image
    per chunk against the default, and both against imbalanced-learn's samples)."""
    _, out_a, _ = _build(tmp_path, "a", sampling="max", sampling_method="smote")
    monkeypatch.setattr(oversample, "CHUNK_BYTES", 1)
    store, out_b, result = _build(tmp_path, "b", sampling="max", sampling_method="smote")
    a, b = (np.load(out / "train" / "synthetic.npy") for out in (out_a, out_b))
    assert len(a) > 20 and a.tobytes() == b.tobytes()
    # the first SMOTEd style's images are imbalanced-learn's samples, rounded
    c = int(result.synthetic_labels[0])
    manifest_rows, manifest_labels = read_manifest(out_b / "manifests" / "train.csv")
    members = np.unique(manifest_rows[manifest_labels == c])
    x = np.asarray(open_images(store)[members], dtype=np.float32).reshape(len(members), -1)
    seed = load_params(tmp_path / "params.yaml").seed
    expected = _imblearn_smote(
        x,
        int((result.synthetic_labels == c).sum()),
        result.summary["k_neighbors_used"][STYLES[c]],
        oversample.class_random_state(seed, c),
    )
    got = b[: len(expected)].reshape(len(expected), -1)
    assert got.tobytes() == np.clip(np.rint(expected), 0, 255).astype(np.uint8).tobytes()


def test_pixel_smote_holds_one_styles_features_at_a_time(tmp_path, monkeypatch):
    """Two styles of 300 images, each doubled: the peak (numpy's allocations, the synthetic images
    going to a file) is one style's float32 features and a chunk, not the styles or the new
    samples (imbalanced-learn's SMOTE held about 10 copies of the style here)."""
    import tracemalloc

    import sklearn.neighbors  # noqa: F401  (imported before tracing: a module's import is not SMOTE's memory)
    import tqdm  # noqa: F401

    from artstyle.styles import NUM_CLASSES

    n, size = 300, 16
    images = np.random.default_rng(0).integers(0, 256, (2 * n, size, size, 3), dtype=np.uint8)
    labels = np.repeat([0, 1], n)
    targets = np.zeros(NUM_CLASSES, dtype=np.int64)
    targets[:2] = 2 * n
    monkeypatch.setattr(oversample, "CHUNK_BYTES", 2**16)

    def allocate(shape):
        return np.lib.format.open_memmap(tmp_path / "s.npy", mode="w+", dtype=np.uint8, shape=shape)

    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        result = oversample.synthesize(
            images,
            np.arange(2 * n),
            labels,
            targets,
            oversample.pixel_codec((size, size, 3)),
            k_neighbors=5,
            seed=0,
            allocate=allocate,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.summary["synthetic_total"] == 2 * n
    one_style = n * size * size * 3 * 4
    assert peak - base < 2 * one_style, (peak - base) / one_style


def test_chunk_rows_keep_the_decoders_batches():
    assert oversample.chunk_rows(12288) == 85  # 8 MiB of float64 per chunk at 64 px
    assert oversample.chunk_rows(1024, multiple=256) % 256 == 0
    assert oversample.chunk_rows(10**9, multiple=256) == 256  # never less than one batch
    assert oversample.chunk_rows(10**9) == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"oversample": {"k_neighbors": 0, "batch_size": 256, "plot_styles": 6}},
            "oversample.k_neighbors: got 0",
        ),
        (
            {"sampling_method": "adasyn"},
            "sampling_method: got 'adasyn'; allowed: random, smote, smote_latent",
        ),
        ({"sampling_method": "smote", "sampling": "none"}, "sampling_method: smote needs a sampling target"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path, overrides, message):
    with pytest.raises(ParamsError) as err:
        load_params(make_params(tmp_path, **overrides))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_stacked_images_index_store_and_synthetic_rows():
    store = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
    synthetic = np.full((2, 2, 2, 3), 200, dtype=np.uint8)
    stacked = StackedImages(store, synthetic)
    assert stacked.shape == (7, 2, 2, 3)
    got = stacked[np.array([1, 5, 4, 6])]
    assert (got[0] == store[1]).all() and (got[2] == store[4]).all()
    assert (got[1] == 200).all() and (got[3] == 200).all()
    ds = StoreDataset(stacked, np.array([6, 0]), np.array([3, 4]))
    x, y = ds.__getitems__([0, 1])
    assert x.shape == (2, 3, 2, 2) and torch.allclose(x[0], torch.full((3, 2, 2), 200 / 255))
    assert y.tolist() == [3, 4]


def test_train_set_built_on_another_store_is_refused(tmp_path):
    store, out, _ = _build(tmp_path, sampling="max", sampling_method="smote")
    meta = out / "train" / "meta.json"
    meta.write_text(meta.read_text().replace('"store_rows": ', '"store_rows": 1'))
    with pytest.raises(InputError, match="rerun oversample"):
        open_train_set(store, out / "train")


def test_stage_writes_train_set_metrics_and_plot(tmp_path):
    store = make_store(tmp_path)
    params_path = make_params(tmp_path, sampling=20, sampling_method="smote")
    build_manifests(store, tmp_path / "splits", tmp_path / "manifests", load_params(params_path))
    args = [
        "--store",
        str(store),
        "--manifests",
        str(tmp_path / "manifests"),
        "--splits",
        str(tmp_path / "splits"),
        "--autoencoder",
        str(tmp_path / "none.pt"),
        "--out",
        str(tmp_path / "train"),
        "--metrics",
        str(tmp_path / "m.json"),
        "--counts",
        str(tmp_path / "c.json"),
        "--plot",
        str(tmp_path / "p.png"),
        "--params",
        str(params_path),
    ]
    result = CliRunner().invoke(load_stage("oversample").app, args)
    assert result.exit_code == 0, result.output
    assert "80 train images (27 synthetic); repeated (one real image): Pointillism" in result.output
    totals, counts = read_metrics(tmp_path / "m.json"), read_json(tmp_path / "c.json")
    assert totals == {"train_total": 80, "real_total": 53, "synthetic_total": 27}
    assert counts["synthetic"]["Action_painting"] == 18 and list(counts["train"]) == list(STYLES)
    assert counts["repeated_styles"] == ["Pointillism"]
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
