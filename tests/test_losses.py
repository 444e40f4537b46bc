"""Class weights, class prior and the logit-adjusted loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from artstyle.losses.imbalance import adjust_logits, class_counts, class_prior, class_weights
from artstyle.styles import NUM_CLASSES

# counts [3, 1, 0]: class 2 is absent from "train"; n_total = 4, 2 classes present
LABELS = np.array([0, 0, 0, 1])


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("total_over_count_over_classes", [4 / 3 / 2, 4 / 1 / 2, 0.0]),
        ("total_over_count", [4 / 3, 4.0, 0.0]),
        ("one_over_count", [1 / 3, 1.0, 0.0]),
        ("balanced", [4 / (2 * 3), 4 / (2 * 1), 0.0]),
    ],
)
def test_class_weight_formulas_by_hand(scheme, expected):
    np.testing.assert_allclose(class_weights(LABELS, scheme, num_classes=3), expected)


def test_no_weights_is_none_and_unknown_scheme_fails():
    assert class_weights(LABELS, "none", num_classes=3) is None
    with pytest.raises(ValueError, match="class_weights"):
        class_weights(LABELS, "inverse", num_classes=3)


def test_first_formula_is_sklearn_balanced():
    rng = np.random.default_rng(0)
    labels = rng.choice(NUM_CLASSES, size=2000, p=rng.dirichlet(np.ones(NUM_CLASSES)))
    labels[:NUM_CLASSES] = np.arange(NUM_CLASSES)  # every class present
    ours = class_weights(labels, "total_over_count_over_classes")
    sk = compute_class_weight("balanced", classes=np.arange(NUM_CLASSES), y=labels)
    np.testing.assert_allclose(ours, sk)
    np.testing.assert_allclose(class_weights(labels, "balanced"), sk)


def test_absent_classes_do_not_crash():
    w = class_weights(np.array([5, 5, 7]), "balanced")
    assert w.shape == (NUM_CLASSES,) and np.isfinite(w).all()
    assert w[5] > 0 and w[7] > w[5] and w[0] == 0
    assert not class_weights(np.zeros(0, dtype=np.int64), "one_over_count").any()


def test_weight_scale_cancels_in_mean_cross_entropy():
    """The formulas differ by a constant factor, which F.cross_entropy's weighted mean divides out."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, size=200)
    logits = torch.randn(32, 5, generator=torch.Generator().manual_seed(0))
    y = torch.from_numpy(labels[:32])
    losses = [
        F.cross_entropy(
            logits,
            y,
            weight=torch.tensor(class_weights(labels, s, 5), dtype=torch.float32),
            label_smoothing=0.1,
        )
        for s in ("total_over_count_over_classes", "total_over_count", "one_over_count", "balanced")
    ]
    for loss in losses[1:]:
        torch.testing.assert_close(loss, losses[0])
    assert not torch.allclose(losses[0], F.cross_entropy(logits, y, label_smoothing=0.1))


def test_class_counts_and_prior_floor():
    np.testing.assert_array_equal(class_counts(LABELS, 3), [3, 1, 0])
    prior = class_prior(LABELS, 3)
    np.testing.assert_allclose(prior, [3 / 5, 1 / 5, 1 / 5])  # the absent class counts once
    assert np.isfinite(np.log(prior)).all()


def test_adjust_logits_adds_scaled_log_prior():
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    log_prior = torch.log(torch.tensor([0.5, 0.3, 0.2]))
    torch.testing.assert_close(adjust_logits(logits, log_prior, 0.0), logits)
    torch.testing.assert_close(adjust_logits(logits, log_prior, 2.0), logits + 2.0 * log_prior)


def test_logit_adjusted_loss_removes_the_prior_from_raw_logits():
    """On uninformative inputs, plain CE learns logits = log(prior) (always predict the majority);
    the logit-adjusted loss (tau=1) learns equal raw logits: the prior no longer decides."""
    prior = torch.tensor([0.7, 0.2, 0.1])
    y = torch.tensor([0] * 70 + [1] * 20 + [2] * 10)

    def fit_bias(adjust: bool) -> torch.Tensor:
        b = torch.zeros(3, requires_grad=True)
        opt = torch.optim.SGD([b], lr=1.0)
        for _ in range(300):
            logits = b.expand(len(y), 3)
            if adjust:
                logits = adjust_logits(logits, prior.log(), 1.0)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return b.detach() - b.detach().mean()

    plain, adjusted = fit_bias(False), fit_bias(True)
    torch.testing.assert_close(plain, prior.log() - prior.log().mean(), atol=1e-3, rtol=0)
    torch.testing.assert_close(adjusted, torch.zeros(3), atol=1e-3, rtol=0)
