"""Image files on disk, as the folder layouts (ImageFolder, ArtGAN) see them.

Hidden files and folders (``.DS_Store``, ``.git``...) are skipped everywhere; an image is a file
whose extension is one of :data:`IMAGE_EXTENSIONS` (any other file is ignored, not rejected);
paths are reported relative to the data root with forward slashes, as ``relpath`` in the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def relpath(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def walk_files(folder: Path) -> Iterator[Path]:
    """Every non-hidden file under ``folder``, recursively."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        for name in filenames:
            if not is_hidden(name):
                yield Path(dirpath) / name


def has_image_extension(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
