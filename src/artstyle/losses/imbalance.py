"""Losses for class imbalance: per-class weights and the logit-adjusted loss.

Class weights (``classifier.class_weights``), from the training manifest's counts ``n_c``:

- ``total_over_count_over_classes``: ``n_total / n_c / n_classes``; this IS scikit-learn's
  "balanced" formula (``n_samples / (n_classes * bincount(y))``), kept under the course's name;
- ``total_over_count``: ``n_total / n_c``;
- ``one_over_count``: ``1 / n_c``;
- ``balanced``: ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)`` itself.

The four differ only by a constant factor. ``F.cross_entropy(weight=w)`` with mean reduction
divides by the summed weights of the batch's targets, so a constant factor cancels and they train
identically; they stay selectable because the course compared them by name, and a test pins it.

A class absent from the training manifest gets weight 0 (it has no samples to weight) and
``n_classes`` counts only the present classes, as scikit-learn does.
"""

from __future__ import annotations

import numpy as np
import torch

from artstyle.styles import NUM_CLASSES

CLASS_WEIGHTS = ("none", "total_over_count_over_classes", "total_over_count", "one_over_count", "balanced")


def class_counts(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Images per class (int64 [num_classes]), zeros for absent classes."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).astype(np.int64)


def class_weights(labels: np.ndarray, scheme: str, num_classes: int = NUM_CLASSES) -> np.ndarray | None:
    """Per-class loss weights (float64 [num_classes]) for ``scheme``, or None for ``"none"``."""
    if scheme not in CLASS_WEIGHTS:
        raise ValueError(f"class_weights: got {scheme!r}; allowed: {', '.join(CLASS_WEIGHTS)}")
    if scheme == "none":
        return None
    labels = np.asarray(labels, dtype=np.int64)
    counts = class_counts(labels, num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes, dtype=np.float64)
    if not present.any():
        return weights
    n_total = counts.sum()
    if scheme == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.flatnonzero(present)
        weights[classes] = compute_class_weight("balanced", classes=classes, y=labels)
    elif scheme == "total_over_count_over_classes":
        weights[present] = n_total / counts[present] / present.sum()
    elif scheme == "total_over_count":
        weights[present] = n_total / counts[present]
    else:  # one_over_count
        weights[present] = 1.0 / counts[present]
    return weights


def class_prior(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Training label distribution (float64 [num_classes]), each class counted at least once.

    The floor keeps ``log(prior)`` finite for a class missing from train: with ``-inf`` its
    adjusted logit would be ignored by the softmax and its raw logit would never be trained.
    """
    counts = np.maximum(class_counts(labels, num_classes), 1).astype(np.float64)
    return counts / counts.sum()


def adjust_logits(logits: torch.Tensor, log_prior: torch.Tensor, tau: float) -> torch.Tensor:
    """Logit-adjusted training logits (Menon et al. 2021): ``logits + tau * log(prior)``.

    Training the softmax loss on these makes the RAW logits estimate ``p(y|x) / prior(y)^tau``:
    a frequent class must beat the others by its log-prior margin during training, so at test
    time (raw logits, no adjustment) rare classes are no longer out-voted by frequent ones. With
    ``tau = 1`` the argmax of the raw logits targets balanced error.
    """
    return logits + tau * log_prior.to(device=logits.device, dtype=logits.dtype)
