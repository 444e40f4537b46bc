"""Evaluating the style classifier on the test split, against baselines that expose a lazy model.

Accuracy alone hid the course's failure (a majority-class predictor scores well on WikiArt), so
``metrics/classifier.json`` reports, with these exact keys (a contract):

- ``accuracy``, ``balanced_accuracy`` (mean per-class recall over classes present in the test
  split), ``macro_f1`` (scikit-learn's, over classes present in the test labels or predictions);
- ``minority_recall``: mean recall over the ``minority_classes`` smallest styles by the store's
  *un-resampled* train counts (train + val before resampling, ties broken by label index). The
  raw counts define "minority" so that resampling, the thing being evaluated, cannot redefine it.
  Classes without test images are left out of the mean (null if none remain);
- ``majority_baseline_accuracy``: always predicting the largest class of those counts;
- ``chance_accuracy``: ``1 / 27``;
- ``histogram_baseline_accuracy`` / ``histogram_baseline_balanced_accuracy``: a standardized
  logistic regression on per-channel colour histograms of the same train / test manifests. A
  CNN that does not clearly beat it has learned palettes, not style.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from artstyle import inference, runtime
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images, read_index
from artstyle.models import backbones
from artstyle.models.layers import ClassifierBase
from artstyle.params import Params
from artstyle.styles import NUM_CLASSES, STYLES, trained_styles

METRIC_KEYS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "minority_recall",
    "majority_baseline_accuracy",
    "chance_accuracy",
    "histogram_baseline_balanced_accuracy",
    "histogram_baseline_accuracy",
)


# ---------------------------------------------------------------------------------------------
# Metric functions (labels are integer class indices), on top of sklearn.metrics
# ---------------------------------------------------------------------------------------------
# scikit-learn refuses empty inputs; an empty test split gives zero counts, NaN / None per-class
# values and 0.0 for the scalar scores instead.


def _labels(num_classes: int) -> np.ndarray:
    return np.arange(num_classes)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts [num_classes, num_classes]: rows are actual classes, columns predicted ones."""
    if len(y_true) == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    return confusion_matrix(y_true, y_pred, labels=_labels(num_classes)).astype(np.int64)


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Recall per class (float [num_classes]); NaN for a class with no true samples."""
    if len(y_true) == 0:
        return np.full(num_classes, np.nan)
    _, recall, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=_labels(num_classes), average=None, zero_division=np.nan
    )
    return recall.astype(np.float64)


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = NUM_CLASSES) -> float:
    """Mean recall over the classes present in ``y_true`` (``sklearn.metrics.balanced_accuracy_score``).

    ``num_classes`` is kept for callers; scikit-learn takes the classes from ``y_true``.
    """
    if len(y_true) == 0:
        return 0.0
    with warnings.catch_warnings():
        # Predicted classes absent from y_true are left out of the mean, as documented, and one
        # class in all of y_true and y_pred is a valid (if trivial) case: neither is news.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        warnings.filterwarnings("ignore", message="A single label was found")
        return float(balanced_accuracy_score(y_true, y_pred))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """scikit-learn's macro F1 over the classes present in the test labels or predictions."""
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0)) if len(y_true) else 0.0


def minority_classes(train_counts: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` classes with the fewest training images (stable: ties go to the lower label).

    Only classes with training images count: a style absent from the data is not a minority the
    model failed on, it is not part of the run.
    """
    counts = np.asarray(train_counts)
    order = np.argsort(counts, kind="stable")
    return order[counts[order] > 0][:k]


def minority_recall(y_true: np.ndarray, y_pred: np.ndarray, train_counts: np.ndarray, k: int) -> float | None:
    """Mean recall over the ``k`` smallest training classes that have test samples (None if none)."""
    recall = per_class_recall(y_true, y_pred, len(train_counts))[minority_classes(train_counts, k)]
    recall = recall[~np.isnan(recall)]
    return float(recall.mean()) if len(recall) else None


def majority_baseline_accuracy(y_true: np.ndarray, train_counts: np.ndarray) -> float:
    """Accuracy of always predicting the largest training class."""
    return accuracy(y_true, np.full(len(y_true), int(np.argmax(train_counts))))


def per_class_report(
    y_true: np.ndarray, y_pred: np.ndarray, train_counts: np.ndarray
) -> dict[str, dict[str, float | int | None]]:
    """``{style: {precision, recall, f1, support, train_count}}`` for every style with training
    images (all 27 on the default data; the styles absent from a user's data are left out).

    Precision is null for a style never predicted, recall (and so F1) for one without test images:
    undefined, rather than a 0 that reads like a failure. Values are scikit-learn's
    ``precision_recall_fscore_support`` with ``zero_division=nan`` (NaN becomes null).
    """
    if len(y_true) == 0:
        p = r = f1 = np.full(NUM_CLASSES, np.nan)
        support = np.zeros(NUM_CLASSES, dtype=np.int64)
    else:
        p, r, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=_labels(NUM_CLASSES), average=None, zero_division=np.nan
        )

    def defined(v: float) -> float | None:
        return None if np.isnan(v) else float(v)

    return {
        style: {
            "precision": defined(p[c]),
            "recall": defined(r[c]),
            # sklearn's F1 is 0 for a style predicted but absent from the test labels; with no
            # recall it is undefined here, like the recall.
            "f1": None if np.isnan(r[c]) else float(np.nan_to_num(f1[c])),
            "support": int(support[c]),
            "train_count": int(train_counts[c]),
        }
        for c, style in enumerate(STYLES)
        if train_counts[c] > 0
    }


# ---------------------------------------------------------------------------------------------
# Colour-histogram baseline
# ---------------------------------------------------------------------------------------------


def colour_histograms(images: np.ndarray, rows: np.ndarray, bins: int, chunk: int = 512) -> np.ndarray:
    """Per-channel colour histograms, normalised to fractions: float32 [len(rows), 3 * bins]."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.zeros((len(rows), 3 * bins), dtype=np.float32)
    # At most 4 Mi pixels a chunk: the int temporaries below take several bytes per value, so the
    # chunk shrinks for large images and memory stays bounded (small images keep ``chunk``).
    chunk = max(1, min(chunk, (1 << 22) // (images.shape[1] * images.shape[2])))
    for start in range(0, len(rows), chunk):
        idx = rows[start : start + chunk]
        order = np.argsort(idx, kind="stable")
        batch = np.empty((len(idx),) + images.shape[1:], dtype=np.uint8)
        batch[order] = images[idx[order]]
        n, pixels = len(idx), batch.shape[1] * batch.shape[2]
        q = (batch.reshape(n, pixels, 3).astype(np.int32) * bins) >> 8  # bin of each value, 0..bins-1
        # One bincount for the whole chunk: bin id = (image * 3 + channel) * bins + q (int32: the
        # ids stay below chunk * 3 * 256).
        image_channel = (
            np.arange(n, dtype=np.int32)[:, None, None] * 3 + np.arange(3, dtype=np.int32)[None, None, :]
        )
        ids = image_channel * bins + q
        hist = np.bincount(ids.ravel(), minlength=n * 3 * bins).reshape(n, 3 * bins)
        out[start : start + n] = hist / pixels
    return out


def histogram_baseline(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Predictions of a standardized logistic regression on histogram features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = np.unique(train_y)
    if len(classes) < 2:  # nothing to discriminate; logistic regression refuses one class
        return np.full(len(test_x), classes[0] if len(classes) else 0, dtype=np.int64)
    from threadpoolctl import threadpool_limits

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    # One BLAS/OpenMP thread: the problem is tiny, and with torch's OpenMP pool in the same process
    # a multi-threaded L-BFGS spends far longer on thread contention than on the fit.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning on tiny data is not a result
        clf.fit(train_x, train_y)
        return clf.predict(test_x).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Model predictions and the stage's entry point
# ---------------------------------------------------------------------------------------------


def restrict_logits(logits: np.ndarray | torch.Tensor, styles: tuple[int, ...]):
    """Logits with every class outside ``styles`` at -inf: a model never predicts a style it had no
    training image of (its head keeps all 27 outputs, so the label map stays the same)."""
    if len(styles) == NUM_CLASSES:
        return logits
    absent = np.setdiff1d(np.arange(NUM_CLASSES), np.asarray(styles, dtype=np.int64))
    out = logits.clone() if isinstance(logits, torch.Tensor) else np.array(logits, copy=True)
    out[:, absent] = -np.inf
    return out


def store_train_counts(store_dir: str | Path) -> np.ndarray:
    """Images per class in the store's train split, before any resampling."""
    labels = [r.label for r in read_index(store_dir) if r.split == "train"]
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=NUM_CLASSES)


def load_classifier(
    path: str | Path, device: torch.device | None = None
) -> tuple[ClassifierBase, dict[str, Any]]:
    """The classifier (any backbone) and its checkpoint dict, in eval mode (``weights_only`` loading)."""
    return backbones.load_classifier(path, device)


@dataclass
class EvalResult:
    metrics: dict[str, float | None]
    per_class: dict[str, dict[str, float | int | None]]
    y_true: np.ndarray
    y_pred: np.ndarray
    train_counts: np.ndarray  # un-resampled store train counts
    minority: np.ndarray  # the classes minority_recall averages over
    styles: tuple[int, ...] = ()  # the classes with training images: what the run covers

    @property
    def actual_names(self) -> list[str]:
        return [STYLES[i] for i in self.y_true]

    @property
    def predicted_names(self) -> list[str]:
        return [STYLES[i] for i in self.y_pred]


def evaluate_classifier(
    params: Params,
    store_dir: str | Path,
    manifests_dir: str | Path,
    checkpoint: str | Path,
    *,
    device: torch.device | None = None,
) -> EvalResult:
    """Test-split metrics of the checkpoint, its per-class report and the baselines."""
    cfg, seed = params.evaluate_classifier, params.seed
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    manifests_dir = Path(manifests_dir)
    model, _ = load_classifier(checkpoint, device)

    test_ds = StoreDataset.from_manifest(store_dir, manifests_dir / "test.csv")
    loader = make_loader(test_ds, cfg.batch_size, pin_memory=device.type == "cuda")
    logits, y_true = inference.predict_labelled(model, loader, device, desc="predict")
    counts = store_train_counts(store_dir)
    styles = trained_styles(np.flatnonzero(counts))
    logits = restrict_logits(logits, styles)
    covered = np.isin(y_true, styles)
    if not covered.all():
        # A test image of a style with no training image measures nothing the model could learn.
        left_out = sorted({STYLES[c] for c in y_true[~covered]})
        print(
            f"warning: {int((~covered).sum())} test image(s) of style(s) without training images left out: "
            f"{', '.join(left_out)}",
            file=sys.stderr,
        )
        logits, y_true = logits[covered], y_true[covered]
    y_pred = logits.argmax(1).astype(np.int64) if len(logits) else np.zeros(0, dtype=np.int64)

    images = open_images(store_dir)
    train_rows, train_y = read_manifest(manifests_dir / "train.csv")
    hist_train = colour_histograms(images, train_rows, cfg.histogram_bins)
    hist_test = colour_histograms(images, test_ds.rows, cfg.histogram_bins)
    hist_pred = histogram_baseline(hist_train, train_y, hist_test, seed)

    metrics = {
        "accuracy": accuracy(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
        "minority_recall": minority_recall(y_true, y_pred, counts, cfg.minority_classes),
        "majority_baseline_accuracy": majority_baseline_accuracy(y_true, counts),
        "chance_accuracy": 1.0 / max(1, len(styles)),
        "histogram_baseline_balanced_accuracy": balanced_accuracy(y_true, hist_pred),
        "histogram_baseline_accuracy": accuracy(y_true, hist_pred),
    }
    assert tuple(metrics) == METRIC_KEYS
    return EvalResult(
        metrics=metrics,
        per_class=per_class_report(y_true, y_pred, counts),
        y_true=y_true,
        y_pred=y_pred,
        train_counts=counts,
        minority=minority_classes(counts, cfg.minority_classes),
        styles=styles,
    )
