"""Atomic writes of files, directories, JSON, arrays and figures (checkpoints: :mod:`artstyle.checkpoint`).

Every output goes to a temporary file in the same directory first and is renamed into place, so an
interrupted stage never leaves a half-written file that DVC would then cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); outputs are ordinary files, so honour the umask instead.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``path``; swap it in for ``path`` if the block succeeds.

    A directory output (a set of files that belong together) is then either the old set or the
    new one, never a mix; an existing ``path`` is removed only after the new set is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private (0700); the result is an ordinary output directory
    old = tmp.with_suffix(".old")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            os.replace(path, old)
        elif path.exists() or path.is_symlink():
            path.unlink()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def save_figure(path: str | Path, fig: Any, dpi: int = 110) -> None:
    """Save a matplotlib Figure atomically and close it.

    PNGs are deflated with the RLE strategy: matplotlib writes them through Pillow, whose default
    strategy gives different bytes under zlib and zlib-ng (whichever libz the machine loads), so
    a committed plot would read as modified on another machine with identical pixels.
    """
    import zlib

    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    extra = {"pil_kwargs": {"compress_level": 9, "compress_type": zlib.Z_RLE}} if fmt == "png" else {}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt, **extra)
    plt.close(fig)


def split_breakdowns(summary: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(scalar totals for ``dvc metrics``, per-style breakdowns for a plain JSON report file).

    27 per-style columns in front of accuracy would make ``dvc exp show`` and ``dvc metrics show``
    unreadable; the breakdowns stay in a JSON output that is not a metric (and in the plots).
    """
    totals = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    breakdowns = {k: v for k, v in summary.items() if isinstance(v, dict)}
    return totals, breakdowns
