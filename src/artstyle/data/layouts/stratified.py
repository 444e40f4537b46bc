"""The seeded, stratified test split drawn for a layout that comes with one split only (hf_parquet)."""

from __future__ import annotations

import numpy as np

from artstyle.styles import LABEL_OF


def stratified_test_split(styles: list[str], test_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask, True = test: ``round(test_fraction * n)`` of each style's n images, drawn with a seed.

    Per style, so the test share is exact for every style (not only overall) and a style's draw
    depends only on the seed and its own images (it does not move when another style changes).
    Tiny styles: one image stays in train (it could not be both learned and measured); from two
    images on, a style has at least one test and one train image. scikit-learn's
    StratifiedShuffleSplit is not used because it refuses a style with one image and a test set
    smaller than the number of styles, and may give a two-image style no test image.
    """
    styles_arr = np.asarray(styles, dtype=object)
    is_test = np.zeros(len(styles), dtype=bool)
    for style in sorted(set(styles)):
        members = np.flatnonzero(styles_arr == style)  # in listing order (shard, row)
        n = len(members)
        if n < 2:
            continue
        k = min(n - 1, max(1, int(np.floor(test_fraction * n + 0.5))))
        rng = np.random.default_rng([seed, LABEL_OF[style]])
        is_test[members[rng.choice(n, size=k, replace=False)]] = True
    return is_test
