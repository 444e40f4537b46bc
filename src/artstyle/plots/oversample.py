"""SMOTE images next to the real images they are closest to."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from artstyle.styles import STYLES


def nearest_real(synthetic: np.ndarray, real: np.ndarray, k: int = 2, batch_size: int = 64) -> np.ndarray:
    """Indices [len(synthetic), k] of the ``k`` real images nearest to each synthetic one (pixel L2).

    ``real`` may be a memmap (or any array indexed by row arrays): it is read ``batch_size`` rows at
    a time, so a style of thousands of 224 px images is never copied out whole.
    """
    s = synthetic.reshape(len(synthetic), -1).astype(np.float32)
    s2 = np.einsum("ij,ij->i", s, s)[:, None]
    d = np.empty((len(s), len(real)), dtype=np.float32)  # one distance per (synthetic, real) pair: small
    for start in range(0, len(real), batch_size):
        r = np.asarray(real[start : start + batch_size]).reshape(-1, s.shape[1]).astype(np.float32)
        d[:, start : start + len(r)] = s2 - 2 * s @ r.T + np.einsum("ij,ij->i", r, r)[None, :]
    return np.argsort(d, axis=1, kind="stable")[:, :k]


class _Rows:
    """``store[rows]`` without the copy: slicing it reads only the rows asked for."""

    def __init__(self, store: np.ndarray, rows: np.ndarray) -> None:
        self.store, self.rows = store, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        return self.store[self.rows[i]]


def oversampled_figure(
    store: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    synthetic: np.ndarray,
    synthetic_labels: np.ndarray,
    method: str,
    styles: int = 6,
    per_style: int = 3,
    batch_size: int = 64,
) -> Figure:
    """For the ``styles`` rarest oversampled styles: ``per_style`` synthetic images, each followed by
    its two nearest real training images of the style.

    Under pixel SMOTE the neighbours are usually the two parents of a cross-fade (a ghosted double
    exposure shows as both); under latent SMOTE the image is decoded, so it should look like a
    painting of its own. Without synthetic images (``sampling_method: random``) the figure says so.
    The real images of a style are read from ``store`` (a memmap) ``batch_size`` at a time.
    """
    synthetic_labels = np.asarray(synthetic_labels)
    rows, labels = np.asarray(rows), np.asarray(labels)
    if len(synthetic) == 0:
        fig = Figure(figsize=(6, 1.2), layout="constrained")
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            f"sampling_method: {method}: no synthetic images\n(oversampling repeats real images)",
            ha="center",
            va="center",
            fontsize=10,
        )
        return fig
    present = np.unique(synthetic_labels)
    real_counts = {int(c): len(np.unique(rows[(labels == c) & (rows < len(store))])) for c in present}
    shown = sorted(present.tolist(), key=lambda c: (real_counts[c], c))[:styles]
    cols = per_style * 3
    fig = Figure(figsize=(1.15 * cols + 1.6, 1.3 * len(shown) + 0.4), layout="constrained")
    axes = fig.subplots(len(shown), cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for r, c in enumerate(shown):
        fake = synthetic[np.flatnonzero(synthetic_labels == c)[:per_style]]
        real = _Rows(store, np.unique(rows[(labels == c) & (rows < len(store))]))
        near = nearest_real(fake, real, k=min(2, len(real)), batch_size=batch_size)
        n_new = int((synthetic_labels == c).sum())
        for i, img in enumerate(fake):
            tiles = [("SMOTE" if method == "smote" else "latent SMOTE", img)]
            tiles += [(f"nearest real {j + 1}", real[near[i, j]]) for j in range(near.shape[1])]
            for j, (title, tile) in enumerate(tiles):
                ax = axes[r, 3 * i + j]
                ax.imshow(tile)
                if r == 0:
                    ax.set_title(title, fontsize=7)
        axes[r, 0].text(
            -0.08,
            0.5,
            f"{STYLES[c].replace('_', ' ')}\n{real_counts[c]} real + {n_new}",
            transform=axes[r, 0].transAxes,
            rotation=0,
            ha="right",
            va="center",
            fontsize=7,
        )
    fig.suptitle(
        f"sampling_method: {method}: synthetic training images and their nearest real ones", fontsize=9
    )
    return fig
