"""Features of many rows, a chunk of rows at a time.

What lets a stage's memory stay flat as the data grows: instead of one float64 array of every
row's features (the standardiser's and PCA's copies of 1,920 VGG19 statistics cost 15 KB per image
each), a stage holds one chunk of :data:`CHUNK_ROWS` rows at a time. :class:`LazyRows` computes a
chunk's features only when it is read; :func:`standardiser` takes the mean and std over chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

CHUNK_ROWS = 2048  # ~31 MB of float64 at 1,920 features
TINY = 1e-12  # a norm or spread below this counts as zero


class Rows(Protocol):
    """What the chunked readers need: ``len`` and a ``[start:stop]`` slice -> array [rows, features]
    (a numpy array, a memmap, or :class:`LazyRows`)."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: slice) -> np.ndarray: ...


@dataclass(frozen=True)
class LazyRows:
    """The features of store ``rows``, computed a slice at a time: ``self[a:b]`` is ``compute(rows[a:b])``."""

    compute: Callable[[np.ndarray], np.ndarray]  # store rows [n] -> features [n, D]
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: slice) -> np.ndarray:
        return self.compute(self.rows[index])


def chunk_slices(n: int, size: int = CHUNK_ROWS) -> list[slice]:
    """``range(n)`` as consecutive slices of ``size`` to ``2 * size`` rows, or one slice if ``n < 2 * size``.

    No short last chunk: IncrementalPCA refuses a chunk of fewer rows than components.
    """
    bounds = np.linspace(0, n, max(n // size, 1) + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def standardiser(x: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of ``x`` (float64, two passes over its chunks); a std of 0 becomes 1,
    so that a constant feature standardises to 0 instead of dividing by 0."""
    slices = chunk_slices(len(x))
    total = sum(np.asarray(x[s], dtype=np.float64).sum(axis=0) for s in slices)
    mean = total / len(x)
    squares = sum(((np.asarray(x[s], dtype=np.float64) - mean) ** 2).sum(axis=0) for s in slices)
    std = np.sqrt(squares / len(x))
    return mean, np.where(std > TINY, std, 1.0)
