"""The library-backed metrics against independent references and hand-computed cases.

SSIM (pytorch_msssim) and PSNR are checked against scikit-image; the sklearn-backed classification
and clustering functions against small cases worked out by hand, including the semantics the
project adds on top of sklearn (NaN / None for undefined per-class values, fixed table sizes).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from artstyle.evaluation import classification as ev
from artstyle.evaluation.clustering import clustering_scores, contingency, hungarian_accuracy, purity
from artstyle.evaluation.image_quality import MAX_PSNR, psnr, ssim
from artstyle.styles import NUM_CLASSES, STYLES

pytestmark = pytest.mark.usefixtures("one_thread")

# Observed: at most ~7e-6 (float32 here vs float64 in scikit-image; the largest on constant images,
# where E[x^2] - E[x]^2 cancels), ~2e-6 dB for PSNR.
SSIM_TOL = 1e-4
PSNR_TOL = 1e-4


def _image_pairs():
    """(name, a, b): [B, 3, H, W] float32 pairs in [0, 1], random and structured, >= the 11-px window."""
    gen = torch.Generator().manual_seed(0)
    for h, w in [(11, 11), (16, 16), (20, 31), (64, 64)]:
        a = torch.rand(2, 3, h, w, generator=gen)
        yield f"noise {h}x{w}", a, (a + 0.1 * torch.randn(a.shape, generator=gen)).clamp(0, 1)
        yield f"unrelated {h}x{w}", a, torch.rand(a.shape, generator=gen)
        yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
        ramp = torch.stack([yy, xx, (yy + xx) / 2])[None]
        yield f"ramp vs blurred {h}x{w}", ramp, F.avg_pool2d(ramp, 5, 1, 2, count_include_pad=False)
        checker = ((torch.arange(h)[:, None] // 4 + torch.arange(w)[None] // 4) % 2).float()
        checker = checker.expand(1, 3, h, w)
        yield f"checker vs low contrast {h}x{w}", checker, checker * 0.6 + 0.2
        yield f"constants {h}x{w}", torch.full((1, 3, h, w), 0.3), torch.full((1, 3, h, w), 0.6)


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).double().numpy()


@pytest.mark.parametrize(
    ("name", "a", "b"), list(_image_pairs()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_ssim_and_psnr_match_scikit_image(name, a, b):
    # gaussian_weights with sigma 1.5 is an 11-px window (truncate 3.5); scikit-image crops
    # (win_size - 1) // 2 pixels at each border, i.e. averages over the valid positions, as we do.
    ref_ssim = [
        structural_similarity(
            _hwc(x),
            _hwc(y),
            data_range=1,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for x, y in zip(a, b)
    ]
    ref_psnr = [
        peak_signal_noise_ratio(x.double().numpy(), y.double().numpy(), data_range=1) for x, y in zip(a, b)
    ]
    assert ssim(a, b, reduction="none").tolist() == pytest.approx(ref_ssim, abs=SSIM_TOL)
    assert ssim(a, b).item() == pytest.approx(np.mean(ref_ssim), abs=SSIM_TOL)
    assert psnr(a, b, reduction="none").tolist() == pytest.approx(ref_psnr, abs=PSNR_TOL)
    assert psnr(a, b).item() == pytest.approx(np.mean(ref_psnr), abs=PSNR_TOL)


def _ssim_scipy(x: np.ndarray, y: np.ndarray, size: int, sigma: float = 1.5) -> float:
    """Wang et al.'s SSIM with a ``size``-tap gaussian (scipy.ndimage), valid positions only: the
    reference for windows smaller than scikit-image's fixed 11 px."""
    r = (size - 1) // 2

    def blur(t):
        out = ndimage.gaussian_filter(t, sigma, truncate=r / sigma, axes=(0, 1))
        return out[r : out.shape[0] - r, r : out.shape[1] - r]

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    return float((((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean())


@pytest.mark.parametrize(
    ("h", "w", "size"), [(8, 8, 7), (7, 9, 7), (10, 16, 9), (4, 4, 3), (2, 5, 1), (1, 6, 1)]
)
def test_ssim_window_shrinks_to_small_images(h, w, size):
    gen = torch.Generator().manual_seed(h * 100 + w)
    a, b = torch.rand(2, 3, h, w, generator=gen), torch.rand(2, 3, h, w, generator=gen)
    b.requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytorch_msssim warns when it skips the blur of a short side
        values = ssim(a, b, reduction="none")
    ref = [_ssim_scipy(_hwc(x), _hwc(y.detach()), size) for x, y in zip(a, b)]
    assert values.tolist() == pytest.approx(ref, abs=SSIM_TOL)
    (1 - values.mean()).backward()
    assert torch.isfinite(b.grad).all() and b.grad.abs().sum() > 0


def test_ssim_gradient_matches_finite_differences():
    # The training loss 1 - SSIM must be differentiable; compare autograd with central differences.
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(1, 1, 12, 12, generator=gen, dtype=torch.float64)
    b = torch.rand(1, 1, 12, 12, generator=gen).requires_grad_(True)
    ssim(a.float(), b).backward()
    eps = 1e-3
    for i, j in [(0, 0), (5, 6), (11, 3)]:
        up, down = b.detach().clone(), b.detach().clone()
        up[0, 0, i, j] += eps
        down[0, 0, i, j] -= eps
        numeric = (ssim(a.float(), up) - ssim(a.float(), down)).item() / (2 * eps)
        assert b.grad[0, 0, i, j].item() == pytest.approx(numeric, abs=1e-3)


def test_ssim_is_float32_under_bf16_autocast():
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    plain = ssim(a, b, reduction="none")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = ssim(a, b, reduction="none")
    assert auto.dtype == torch.float32
    assert torch.equal(auto, plain)


def test_psnr_identical_images_clamp_to_max():
    x = torch.rand(3, 3, 8, 8)
    assert psnr(x, x, reduction="none").tolist() == pytest.approx([MAX_PSNR] * 3)
    assert psnr(x * 255, x * 255 + 25.5, data_range=255.0).item() == pytest.approx(20.0, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# Classification metrics (sklearn.metrics) on a hand-computed case
# ---------------------------------------------------------------------------------------------

# class 0: 4 true, predicted 0,0,0,1; class 1: 2 true, predicted 1,0; class 2: 1 true, predicted 3;
# class 3: never true, predicted once; every other class: neither.
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 0, 3])


def test_confusion_matrix_by_hand():
    cm = ev.confusion(Y_TRUE, Y_PRED)
    assert cm.shape == (NUM_CLASSES, NUM_CLASSES) and cm.dtype == np.int64
    expected = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[1, 0], expected[2, 3] = 3, 1, 1, 1, 1
    np.testing.assert_array_equal(cm, expected)
    assert ev.confusion(Y_TRUE, Y_PRED, num_classes=4).shape == (4, 4)


def test_scores_by_hand():
    assert ev.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 7)
    recall = ev.per_class_recall(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(recall[:3], [3 / 4, 1 / 2, 0])
    assert np.isnan(recall[3:]).all()  # no test samples: undefined, not 0
    # over the classes present in y_true (0, 1, 2), not the predicted-only class 3
    assert ev.balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx((3 / 4 + 1 / 2 + 0) / 3)
    # macro F1 over the classes in y_true or y_pred: F1 0 = 3/4, F1 1 = 1/2, F1 2 = F1 3 = 0
    assert ev.macro_f1(Y_TRUE, Y_PRED) == pytest.approx((3 / 4 + 1 / 2) / 4)
    counts = np.full(NUM_CLASSES, 100)
    counts[[1, 2, 3]] = [7, 5, 1]  # smallest: 3 (no test images), 2, 1
    assert ev.minority_recall(Y_TRUE, Y_PRED, counts, 3) == pytest.approx((0 + 1 / 2) / 2)
    assert ev.minority_recall(Y_TRUE, Y_PRED, counts, 1) is None


def test_per_class_report_by_hand():
    counts = (np.arange(NUM_CLASSES) + 1) * 10
    report = ev.per_class_report(Y_TRUE, Y_PRED, counts)
    assert list(report) == list(STYLES)
    r = [report[s] for s in STYLES]
    assert r[0] == {
        "precision": pytest.approx(3 / 4),
        "recall": 3 / 4,
        "f1": pytest.approx(3 / 4),
        "support": 4,
        "train_count": 10,
    }
    assert r[1] == {
        "precision": pytest.approx(1 / 2),
        "recall": 1 / 2,
        "f1": pytest.approx(1 / 2),
        "support": 2,
        "train_count": 20,
    }
    # never predicted: precision undefined; recall 0, so F1 0
    assert r[2] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 1, "train_count": 30}
    # predicted once but never true: precision 0, recall (and F1) undefined
    assert r[3] == {"precision": 0.0, "recall": None, "f1": None, "support": 0, "train_count": 40}
    assert r[4] == {"precision": None, "recall": None, "f1": None, "support": 0, "train_count": 50}
    # A style without training images is not part of the run: it is left out of the report.
    counts[4] = 0
    assert list(ev.per_class_report(Y_TRUE, Y_PRED, counts)) == [s for i, s in enumerate(STYLES) if i != 4]
    assert all(type(v["support"]) is int for v in r)


def test_empty_inputs():
    e = np.zeros(0, dtype=np.int64)
    assert ev.confusion(e, e).sum() == 0 and ev.confusion(e, e).shape == (NUM_CLASSES, NUM_CLASSES)
    assert np.isnan(ev.per_class_recall(e, e)).all()
    assert ev.accuracy(e, e) == ev.balanced_accuracy(e, e) == ev.macro_f1(e, e) == 0.0
    assert ev.minority_recall(e, e, np.ones(NUM_CLASSES), 3) is None
    assert ev.majority_baseline_accuracy(e, np.ones(NUM_CLASSES)) == 0.0
    report = ev.per_class_report(e, e, np.ones(NUM_CLASSES))
    assert report[STYLES[0]] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "support": 0,
        "train_count": 1,
    }


def test_one_class_everywhere_is_quiet():
    y = np.zeros(5, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ev.balanced_accuracy(y, y) == 1.0
        assert ev.balanced_accuracy(y, np.array([0, 0, 0, 1, 2])) == pytest.approx(3 / 5)


# ---------------------------------------------------------------------------------------------
# Clustering (sklearn's contingency matrix, scipy's assignment) on a hand-computed case
# ---------------------------------------------------------------------------------------------


def test_contingency_by_hand_with_gaps_and_padding():
    # clusters 0, 2, 5 used (1, 3, 4 empty); styles 1 and 4 used
    clusters = np.array([0, 0, 2, 5, 5, 5])
    labels = np.array([1, 4, 4, 1, 1, 4])
    t = contingency(clusters, labels)
    assert t.shape == (6, 5) and t.dtype == np.int64
    expected = np.zeros((6, 5), dtype=np.int64)
    expected[0, [1, 4]] = 1
    expected[2, 4] = 1
    expected[5, [1, 4]] = [2, 1]
    np.testing.assert_array_equal(t, expected)
    padded = contingency(clusters, labels, n_clusters=8, n_classes=NUM_CLASSES)
    assert padded.shape == (8, NUM_CLASSES)
    np.testing.assert_array_equal(padded[:6, :5], expected)
    assert padded.sum() == 6
    assert contingency([], [], n_clusters=3, n_classes=4).tolist() == [[0] * 4] * 3
    with pytest.raises(ValueError):
        contingency([0, 1], [0])


def test_clustering_scores_by_hand():
    clusters = np.array([0, 0, 2, 5, 5, 5])
    labels = np.array([1, 4, 4, 1, 1, 4])
    assert purity(clusters, labels) == pytest.approx((1 + 1 + 2) / 6)
    # best one-to-one: cluster 5 -> style 1 (2), cluster 0 or 2 -> style 4 (1)
    assert hungarian_accuracy(clusters, labels) == pytest.approx(3 / 6)
    s = clustering_scores(labels, clusters)
    # ARI by hand: sum C(n_ij, 2) = 1; rows (clusters) C(2,2) + C(1,2) + C(3,2) = 4;
    # columns (styles) C(3,2) + C(3,2) = 6; expected = 4 * 6 / C(6,2) = 1.6
    assert s["ari"] == pytest.approx((1 - 1.6) / ((4 + 6) / 2 - 1.6))
    # NMI by hand (arithmetic normalisation): MI / mean(H(clusters), H(styles))
    p = contingency(clusters, labels)[[0, 2, 5]][:, [1, 4]] / 6
    pc, ps = p.sum(1), p.sum(0)
    nz = p > 0
    mi = (p[nz] * np.log(p[nz] / np.outer(pc, ps)[nz])).sum()
    h = -(pc * np.log(pc)).sum(), -(ps * np.log(ps)).sum()
    assert s["nmi"] == pytest.approx(mi / np.mean(h))
