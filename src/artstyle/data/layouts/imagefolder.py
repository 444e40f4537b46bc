"""The ImageFolder layout: ``root/train/<Style>/...`` and ``root/test/<Style>/...`` (torchvision's).

The split is the top folder, the style the folder below it (images may sit in sub-folders of a
style folder). A style folder whose name is not a known style (or alias) has its images rejected
and is reported once; an image lying directly in ``train/`` or ``test/`` has no style and is
rejected; files without an image extension are counted and ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from artstyle.data.layouts.files import has_image_extension, is_hidden, relpath, walk_files
from artstyle.data.layouts.listing import (
    Candidate,
    IndexTreeError,
    Listing,
    Rejected,
    examples,
    known_styles_hint,
    sort_candidates,
)
from artstyle.styles import SPLITS, canonical, is_known

EXPECTED = "train/<Style>/ and test/<Style>/"


@dataclass
class Scan:
    """The ImageFolder tree as found on disk (see :func:`scan_tree`)."""

    candidates: list[Candidate] = field(default_factory=list)  # sorted by (split, style, relpath)
    rejected: list[Rejected] = field(default_factory=list)
    unknown_folders: list[str] = field(default_factory=list)  # "train/Foo"
    ignored: int = 0  # files without an image extension


def list_imagefolder(root: Path) -> Listing:
    """The ImageFolder reader: scan the tree, then report what could not be labelled."""
    scan = scan_tree(root)
    listing = Listing("imagefolder", scan.candidates, scan.rejected)
    listing.warnings.extend(_unknown_folder_warning(folder, scan) for folder in scan.unknown_folders)
    if scan.ignored:
        listing.notes.append(f"ignored {scan.ignored} file(s) without an image extension")
    if not scan.candidates:
        raise _no_images_error(root, scan)
    return listing


def scan_tree(root: str | Path) -> Scan:
    """List the images of an ImageFolder ``root`` with their canonical style; report what cannot be labelled."""
    root = Path(root)
    _check_split_folders(root)
    scan = Scan()
    for split in SPLITS:
        for entry in _visible_entries(root / split):
            if entry.is_dir():
                _scan_style_folder(root, split, entry.name, Path(entry.path), scan)
            else:
                _scan_loose_file(root, split, Path(entry.path), scan)
    scan.candidates = sort_candidates(scan.candidates)
    return scan


def _check_split_folders(root: Path) -> None:
    if not root.is_dir():
        raise IndexTreeError(f"{root}: data root is not a folder (expected {EXPECTED})")
    for split in SPLITS:
        if not (root / split).is_dir():
            raise IndexTreeError(
                f"{root}: missing '{split}/' folder (expected an ImageFolder tree with {EXPECTED})"
            )


def _visible_entries(folder: Path) -> list[os.DirEntry]:
    """The non-hidden entries of ``folder``, sorted by name."""
    return [entry for entry in sorted(os.scandir(folder), key=lambda e: e.name) if not is_hidden(entry.name)]


def _scan_loose_file(root: Path, split: str, path: Path, scan: Scan) -> None:
    """A file directly in ``train/`` or ``test/``: an image there has no style folder."""
    if has_image_extension(path):
        scan.rejected.append(Rejected(relpath(root, path), f"not inside a style folder of '{split}/'"))
    else:
        scan.ignored += 1


def _scan_style_folder(root: Path, split: str, name: str, folder: Path, scan: Scan) -> None:
    """Every image under one style folder: a candidate, or rejected when the name is not a style."""
    files = list(walk_files(folder))
    images = [f for f in files if has_image_extension(f)]
    scan.ignored += len(files) - len(images)
    if not is_known(name):
        scan.unknown_folders.append(f"{split}/{name}")
        reason = f"unknown style folder '{name}'"
        scan.rejected.extend(Rejected(relpath(root, f), reason) for f in images)
        return
    style = canonical(name)
    scan.candidates.extend(Candidate(relpath(root, f), split, style) for f in images)


def _unknown_folder_warning(folder: str, scan: Scan) -> str:
    n = sum(1 for r in scan.rejected if r.relpath.startswith(folder + "/"))
    return f"{folder}: unknown style folder, {n} image(s) rejected ({known_styles_hint()})"


def _no_images_error(root: Path, scan: Scan) -> IndexTreeError:
    unknown = f" (unknown style folders: {examples(scan.unknown_folders)})" if scan.unknown_folders else ""
    return IndexTreeError(f"{root}: no image files in any known style folder of train/ or test/{unknown}")
