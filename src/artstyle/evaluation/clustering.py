"""Clustering quality against the true styles: numbers instead of judging scatter plots by eye.

- ``nmi``: normalised mutual information (arithmetic normalisation, sklearn's default);
- ``ari``: adjusted Rand index (0 for chance, 1 for identical partitions);
- ``purity``: fraction of images whose cluster's majority style is their style (rises with k);
- ``hungarian_accuracy``: accuracy of the best one-to-one cluster -> style matching
  (``scipy.optimize.linear_sum_assignment`` on sklearn's contingency table); with k > classes the
  unmatched clusters count as wrong, so unlike purity it cannot be inflated by more clusters;
- ``silhouette``: mean silhouette of the points under the cluster labels (Euclidean), a property
  of the clustering alone, not of its agreement with the styles.
"""

from __future__ import annotations

import numpy as np
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix

SILHOUETTE_BLOCK_MB = 64  # memory of one block of pairwise distances (flat whatever the test size)


def contingency(clusters, labels, n_clusters: int | None = None, n_classes: int | None = None) -> np.ndarray:
    """Counts [n_clusters, n_classes]: entry (c, s) = images of style s in cluster c.

    ``sklearn.metrics.cluster.contingency_matrix`` counts only the clusters and styles that occur;
    its rows and columns are placed at their index here, so empty clusters and styles are zero rows
    and columns (default sizes: the largest index + 1).
    """
    clusters = np.asarray(clusters, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if clusters.shape != labels.shape:
        raise ValueError(f"clusters {clusters.shape} and labels {labels.shape} differ in shape")
    n_clusters = n_clusters or (int(clusters.max()) + 1 if clusters.size else 0)
    n_classes = n_classes or (int(labels.max()) + 1 if labels.size else 0)
    table = np.zeros((n_clusters, n_classes), dtype=np.int64)
    if clusters.size:
        table[np.ix_(np.unique(clusters), np.unique(labels))] = contingency_matrix(clusters, labels)
    return table


def purity(clusters, labels) -> float:
    table = contingency(clusters, labels)
    return float(table.max(axis=1).sum() / max(1, table.sum()))


def hungarian_matching(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cluster indices, matched class indices) of the one-to-one matching with most images."""
    return linear_sum_assignment(table, maximize=True)


def hungarian_accuracy(clusters, labels) -> float:
    table = contingency(clusters, labels)
    rows, cols = hungarian_matching(table)
    return float(table[rows, cols].sum() / max(1, table.sum()))


def silhouette(features: np.ndarray, clusters, seed: int = 0) -> float | None:
    """Mean silhouette; ``None`` when undefined (fewer than 2 clusters, or as many as points)."""
    clusters = np.asarray(clusters)
    n_labels = len(np.unique(clusters))
    if n_labels < 2 or n_labels >= len(clusters):
        return None
    # scikit-learn computes the pairwise distances in blocks of up to `working_memory` MB (1 GB by
    # default: all of 8,000 test images' distances at once). Smaller blocks give the same value.
    with sklearn.config_context(working_memory=SILHOUETTE_BLOCK_MB):
        return float(silhouette_score(features, clusters, random_state=seed))


def clustering_scores(
    labels, clusters, features: np.ndarray | None = None, seed: int = 0
) -> dict[str, float | None]:
    """nmi, ari, purity, hungarian_accuracy (and silhouette of ``features`` when given)."""
    labels = np.asarray(labels)
    clusters = np.asarray(clusters)
    scores: dict[str, float | None] = {
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "purity": purity(clusters, labels),
        "hungarian_accuracy": hungarian_accuracy(clusters, labels),
    }
    if features is not None:
        scores["silhouette"] = silhouette(features, clusters, seed=seed)
    return scores
