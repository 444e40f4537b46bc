"""The ArtGAN layout, the most cited WikiArt split: images in ``wikiart/``, splits and labels in CSVs.

``root/wikiart/<Style>/<file>.jpg`` holds the images; ``root/wikiart_csv/style_train.csv`` and
``style_val.csv`` list them (``Style/file.jpg,<label id>`` lines, no header) and
``root/wikiart_csv/style_class.txt`` names the ids (``<id> <name>`` lines). ArtGAN's train / val
split is our train / test. Labels come from the CSV ids through ``style_class.txt`` and are mapped
by name; the folder a file sits in is only cross-checked. Bad lines (malformed, listed twice,
an unnamed id, an unknown style name, a missing file) are rejected one by one, never the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from artstyle.data.layouts.files import has_image_extension, relpath, walk_files
from artstyle.data.layouts.listing import (
    Candidate,
    IndexTreeError,
    Listing,
    Rejected,
    examples,
    sort_candidates,
    unknown_names_warning,
)
from artstyle.styles import canonical, is_known

ARTGAN_IMAGES = "wikiart"
ARTGAN_CSV = "wikiart_csv"
ARTGAN_CLASSES = f"{ARTGAN_CSV}/style_class.txt"
# ArtGAN's train / val split is our train / test.
ARTGAN_SPLITS = (("train", f"{ARTGAN_CSV}/style_train.csv"), ("test", f"{ARTGAN_CSV}/style_val.csv"))
TRAIN_CSV, VAL_CSV = (csv for _, csv in ARTGAN_SPLITS)


def list_artgan(root: Path) -> Listing:
    """The ArtGAN reader: check the release, read the class names, then each split's CSV."""
    _check_release(root)
    lists = _SplitLists(root, read_artgan_classes(root), _images_on_disk(root))
    for split, csv_rel in ARTGAN_SPLITS:
        lists.read(split, csv_rel)
    listing = Listing("artgan", sort_candidates(lists.candidates), lists.rejected)
    listing.warnings.extend(_warnings(root, lists))
    listing.notes.extend(_unlisted_note(lists))
    if not listing.candidates:
        raise IndexTreeError(f"{root}: no listed file of {ARTGAN_CSV}/ is an existing image of a known style")
    return listing


def _check_release(root: Path) -> None:
    """The images folder and the three CSV / text files must all be there."""
    needed = [(ARTGAN_IMAGES, "folder"), (ARTGAN_CLASSES, "file")] + [(c, "file") for _, c in ARTGAN_SPLITS]
    for rel, kind in needed:
        present = (root / rel).is_dir() if kind == "folder" else (root / rel).is_file()
        if not present:
            raise IndexTreeError(
                f"{root / rel}: missing {kind} (the ArtGAN layout has {ARTGAN_IMAGES}/<Style>/, "
                f"{TRAIN_CSV}, {VAL_CSV} and {ARTGAN_CLASSES})"
            )


def _images_on_disk(root: Path) -> set[str]:
    return {relpath(root, p) for p in walk_files(root / ARTGAN_IMAGES) if has_image_extension(p)}


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of every non-blank line; undecodable bytes become U+FFFD.

    A listed name with a broken encoding then fails as a missing file (reported), not the run.
    """
    text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line:
            yield number, line


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def read_artgan_classes(root: Path) -> dict[int, str]:
    """``style_class.txt``: label id -> the name as written. A malformed line is an error: every label depends on it."""
    path = root / ARTGAN_CLASSES
    classes: dict[int, str] = {}
    for number, line in _read_lines(path):
        parts = line.split(maxsplit=1)
        class_id = _int_or_none(parts[0])
        if class_id is None or len(parts) != 2:
            raise IndexTreeError(f"{path}:{number}: malformed line {line[:80]!r} (expected '<id> <name>')")
        name = parts[1].strip()
        if classes.get(class_id, name) != name:
            raise IndexTreeError(
                f"{path}:{number}: id {class_id} named twice ({classes[class_id]!r} and {name!r})"
            )
        classes[class_id] = name
    if not classes:
        raise IndexTreeError(f"{path}: no '<id> <name>' lines")
    return classes


def _parse_line(line: str, where: str) -> tuple[str, int] | Rejected:
    """(path under wikiart/, label id) of one CSV line, or why the line cannot be used."""
    # rpartition: a file name may contain a comma, the label id never does.
    path, comma, label = line.rpartition(",")
    path = path.strip().strip('"').replace("\\", "/").removeprefix("./")
    class_id = _int_or_none(label.strip())
    if not comma or not path or class_id is None:
        return Rejected(where, f"malformed line {line[:80]!r} (expected 'Style/file.jpg,<label id>')")
    if path.startswith("/") or ".." in path.split("/"):
        return Rejected(where, f"path {path!r} leaves {ARTGAN_IMAGES}/")
    return path, class_id


class _SplitLists:
    """Reads the split CSVs line by line into candidates and rejected entries, noting what to report."""

    def __init__(self, root: Path, classes: dict[int, str], on_disk: set[str]) -> None:
        self.root, self.classes, self.on_disk = root, classes, on_disk
        self.candidates: list[Candidate] = []
        self.rejected: list[Rejected] = []
        self.unknown: Counter = Counter()  # unknown style name -> listed files
        # per split: relpath -> "file:line" where it is listed first
        self.listed_in: dict[str, dict[str, str]] = {split: {} for split, _ in ARTGAN_SPLITS}
        self.folder_mismatch: list[str] = []

    def read(self, split: str, csv_rel: str) -> None:
        for number, line in _read_lines(self.root / csv_rel):
            entry = self._entry(split, csv_rel, number, line)
            if isinstance(entry, Candidate):
                self.candidates.append(entry)
            else:
                self.rejected.append(entry)

    def _entry(self, split: str, csv_rel: str, number: int, line: str) -> Candidate | Rejected:
        where = f"{csv_rel}:{number}"
        parsed = _parse_line(line, where)
        if isinstance(parsed, Rejected):
            return parsed
        path, class_id = parsed
        rel = f"{ARTGAN_IMAGES}/{path}"
        seen = self.listed_in[split]
        if rel in seen:
            return Rejected(where, f"'{rel}' listed again (first at {seen[rel]})")
        seen[rel] = f"{Path(csv_rel).name}:{number}"
        return self._labelled(split, path, rel, class_id, where)

    def _labelled(self, split: str, path: str, rel: str, class_id: int, where: str) -> Candidate | Rejected:
        """The listed file with the style its label id names, or why it cannot be used."""
        if class_id not in self.classes:
            return Rejected(rel, f"label id {class_id} ({where}) not in {ARTGAN_CLASSES}")
        name = self.classes[class_id]
        if not is_known(name):
            self.unknown[name] += 1
            return Rejected(rel, f"unknown style name '{name}' (id {class_id}, {where})")
        if rel not in self.on_disk and not (self.root / rel).is_file():
            return Rejected(rel, f"listed in {where} but missing on disk")
        style = canonical(name)
        folder = path.split("/")[0] if "/" in path else ""
        if is_known(folder) and canonical(folder) != style:
            self.folder_mismatch.append(rel)
        return Candidate(rel, split, style)


def _warnings(root: Path, lists: _SplitLists) -> Iterator[str]:
    """Unknown style names, files listed in both splits, files in another style's folder."""
    if lists.unknown:
        yield unknown_names_warning(str(root / ARTGAN_CLASSES), lists.unknown, "listed file")
    both = sorted(set(lists.listed_in["train"]) & set(lists.listed_in["test"]))
    if both:
        yield (
            f"{len(both)} file(s) listed in both {TRAIN_CSV} and {VAL_CSV}, "
            f"a train/test leak (kept in both splits; see duplicates.csv): {examples(both)}"
        )
    if lists.folder_mismatch:
        yield (
            f"{len(lists.folder_mismatch)} listed file(s) sit in another style's folder than their CSV label "
            f"(labelled by the CSV id, as ArtGAN does): {examples(lists.folder_mismatch)}"
        )


def _unlisted_note(lists: _SplitLists) -> Iterator[str]:
    """Images under wikiart/ that neither CSV lists (not indexed, nothing wrong)."""
    listed = set(lists.listed_in["train"]) | set(lists.listed_in["test"])
    unlisted = len(lists.on_disk - listed)
    if unlisted:
        yield (
            f"{unlisted} image file(s) under {ARTGAN_IMAGES}/ are not listed in "
            f"{TRAIN_CSV} or {VAL_CSV}: not indexed"
        )
