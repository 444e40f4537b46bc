"""What ``data.root`` holds: the three WikiArt layouts the ``index`` stage reads, listed, not decoded.

Each lister returns a :class:`Listing`: the images to decode with their split and canonical style
(rows sorted by split, style, relpath, as the store keeps them), the entries that cannot be used
(``rejected.csv``, with the reason) and one-line reports for the user. Decoding and writing the
store stay in :mod:`artstyle.data.index`.

Layouts (``data.format``; ``auto`` detects them with :func:`detect_format`):

- ``imagefolder``: ``root/train/<Style>/...`` and ``root/test/<Style>/...`` (torchvision's
  ImageFolder; files may sit in sub-folders of a style folder).
- ``artgan``: the ArtGAN release, the most cited split: ``root/wikiart/<Style>/<file>.jpg`` and
  ``root/wikiart_csv/style_train.csv`` / ``style_val.csv`` (``Style/file.jpg,<label id>`` lines,
  no header) with ``root/wikiart_csv/style_class.txt`` (``<id> <name>`` lines). Its train / val
  split is our train / test; labels come from the CSV ids through ``style_class.txt`` and are
  mapped by name (the folder a file sits in is only cross-checked).
- ``hf_parquet``: the Hugging Face copy (``huggan/wikiart``): parquet shards in ``root/data/`` (or
  directly in ``root``) with an ``image`` struct (``bytes``, ``path``) and integer ``style`` ids,
  whose names are in the schema metadata the ``datasets`` library writes. It has one split only:
  the test split is drawn here, stratified and seeded (:func:`stratified_test_split`). Shards are
  read in batches, never whole.

Style names always go through :func:`artstyle.styles.canonical`; a name that is not a known style
(or alias) is reported once with its count and its rows rejected, never given a label.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from artstyle.errors import InputError
from artstyle.styles import LABEL_OF, SPLITS, STYLES, canonical, is_known

FORMATS = ("imagefolder", "artgan", "hf_parquet")
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
MAX_EXAMPLES = 5  # names quoted in a one-line report; the CSV files hold the full lists

ARTGAN_IMAGES = "wikiart"
ARTGAN_CSV = "wikiart_csv"
ARTGAN_CLASSES = f"{ARTGAN_CSV}/style_class.txt"
# ArtGAN's train / val split is our train / test.
ARTGAN_SPLITS = (("train", f"{ARTGAN_CSV}/style_train.csv"), ("test", f"{ARTGAN_CSV}/style_val.csv"))

HF_DIR = "data"
HF_IMAGE, HF_STYLE = "image", "style"
STYLE_PASS_BATCH = 65_536  # the first pass reads one small integer column
IMAGE_BATCH = 64  # rows of image bytes in memory at once in the decode pass
# Stream each column chunk in pieces of this size: without it pyarrow reads a whole column chunk
# (a row group's image bytes, the whole shard when it was written as one row group) at once.
READ_BUFFER = 8 << 20

LOOKED_FOR = (
    "train/ and test/ (imagefolder), wikiart_csv/ and wikiart/ (artgan), "
    "data/*.parquet or *.parquet (hf_parquet)"
)


class IndexTreeError(InputError):
    """The input tree is unusable as a whole (missing split folder or file, no decodable image)."""


@dataclass(frozen=True)
class Candidate:
    relpath: str  # relative to root, forward slashes (hf_parquet: "<shard>#<row>")
    split: str
    style: str  # canonical style name


@dataclass(frozen=True)
class Rejected:
    relpath: str
    reason: str


@dataclass
class Scan:
    """The ImageFolder tree as found on disk (see :func:`scan_tree`)."""

    candidates: list[Candidate] = field(default_factory=list)  # sorted by (split, style, relpath)
    rejected: list[Rejected] = field(default_factory=list)
    unknown_folders: list[str] = field(default_factory=list)  # "train/Foo"
    ignored: int = 0  # files without an image extension


@dataclass(frozen=True)
class ParquetRows:
    """Where the hf_parquet candidates live: per shard, parquet row -> index in the candidate list."""

    shards: tuple[Path, ...]
    slots: tuple[dict[int, int], ...]


@dataclass
class Listing:
    layout: str  # one of FORMATS
    candidates: list[Candidate]  # sorted by (split, style, relpath): the store's row order
    rejected: list[Rejected]
    warnings: list[str] = field(default_factory=list)  # printed once as "warning: ..."
    notes: list[str] = field(default_factory=list)  # printed once, plain (nothing is wrong)
    parquet: ParquetRows | None = None  # hf_parquet: the bytes are in the shards, not in files


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


def parquet_shards(root: Path) -> list[Path]:
    """``root/data/*.parquet`` and ``root/*.parquet``, sorted by their path relative to root."""
    shards = [p for folder in (root / HF_DIR, root) if folder.is_dir() for p in folder.glob("*.parquet")]
    return sorted((p for p in shards if p.is_file() and not _is_hidden(p.name)), key=lambda p: _rel(root, p))


def detect_format(root: str | Path, fmt: str = "auto") -> str:
    """The layout of ``root``: ``fmt`` itself when forced, else detected from what root contains."""
    root = Path(root)
    if not root.is_dir():
        raise IndexTreeError(f"{root}: data root is not a folder (looked for {LOOKED_FOR})")
    if fmt != "auto":
        if fmt not in FORMATS:
            raise IndexTreeError(f"data.format: got {fmt!r}; allowed: auto, {', '.join(FORMATS)}")
        return fmt
    found = []
    if (root / "train").is_dir() and (root / "test").is_dir():
        found.append("imagefolder")
    if (root / ARTGAN_CSV).is_dir():
        found.append("artgan")
    if parquet_shards(root):
        found.append("hf_parquet")
    if len(found) > 1:
        raise IndexTreeError(
            f"{root}: ambiguous layout, it looks like {' and '.join(found)}; "
            f"set data.format to one of {', '.join(FORMATS)}"
        )
    if found:
        return found[0]
    # Half a layout: take the one it resembles, so that its lister names the missing part
    # ("missing 'test/' folder") instead of a vague "unknown layout".
    if (root / "train").is_dir() or (root / "test").is_dir():
        return "imagefolder"
    if (root / ARTGAN_IMAGES).is_dir():
        return "artgan"
    raise IndexTreeError(f"{root}: no known dataset layout (looked for {LOOKED_FOR})")


def list_layout(
    root: str | Path, fmt: str = "auto", test_fraction: float = 0.2, split_seed: int = 42
) -> Listing:
    """Detect (or take) the layout of ``root`` and list it; raise when nothing usable is found."""
    root = Path(root)
    layout = detect_format(root, fmt)
    if layout == "imagefolder":
        return list_imagefolder(root)
    if layout == "artgan":
        return list_artgan(root)
    return list_hf_parquet(root, test_fraction, split_seed)


# ---------------------------------------------------------------------------------------------
# Files on disk
# ---------------------------------------------------------------------------------------------


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def walk_files(folder: Path) -> Iterator[Path]:
    """Every non-hidden file under ``folder``, recursively."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        for name in filenames:
            if not _is_hidden(name):
                yield Path(dirpath) / name


def has_image_extension(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _sorted(candidates: list[Candidate]) -> list[Candidate]:
    # Labels never depend on listing order: rows are sorted and labels come from LABEL_OF.
    return sorted(candidates, key=lambda c: (c.split, c.style, c.relpath))


def _examples(names: list[str]) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > MAX_EXAMPLES else ""
    return ", ".join(names[:MAX_EXAMPLES]) + more


def _unknown_names_warning(where: str, counts: Counter, unit: str) -> str:
    listed = ", ".join(f"{name!r} ({n} {unit}{'s' if n != 1 else ''})" for name, n in sorted(counts.items()))
    return (
        f"{where}: unknown style name(s) {listed}, rejected "
        f"(known styles: {', '.join(STYLES)}; add an alias in artstyle/styles.py if it is one)"
    )


# ---------------------------------------------------------------------------------------------
# imagefolder
# ---------------------------------------------------------------------------------------------


def scan_tree(root: str | Path) -> Scan:
    """List the images of an ImageFolder ``root`` with their canonical style; report what cannot be labelled."""
    root = Path(root)
    if not root.is_dir():
        raise IndexTreeError(f"{root}: data root is not a folder (expected train/<Style>/ and test/<Style>/)")
    for split in SPLITS:
        if not (root / split).is_dir():
            raise IndexTreeError(
                f"{root}: missing '{split}/' folder (expected an ImageFolder tree with train/<Style>/ and test/<Style>/)"
            )
    scan = Scan()
    for split in SPLITS:
        for entry in sorted(os.scandir(root / split), key=lambda e: e.name):
            if _is_hidden(entry.name):
                continue
            path = Path(entry.path)
            if not entry.is_dir():
                if has_image_extension(path):
                    scan.rejected.append(
                        Rejected(_rel(root, path), f"not inside a style folder of '{split}/'")
                    )
                else:
                    scan.ignored += 1
                continue
            files = list(walk_files(path))
            images = [f for f in files if has_image_extension(f)]
            scan.ignored += len(files) - len(images)
            if not is_known(entry.name):
                scan.unknown_folders.append(f"{split}/{entry.name}")
                reason = f"unknown style folder '{entry.name}'"
                scan.rejected.extend(Rejected(_rel(root, f), reason) for f in images)
                continue
            style = canonical(entry.name)
            scan.candidates.extend(Candidate(_rel(root, f), split, style) for f in images)
    scan.candidates = _sorted(scan.candidates)
    return scan


def list_imagefolder(root: Path) -> Listing:
    scan = scan_tree(root)
    listing = Listing("imagefolder", scan.candidates, scan.rejected)
    for folder in scan.unknown_folders:
        n = sum(1 for r in scan.rejected if r.relpath.startswith(folder + "/"))
        listing.warnings.append(
            f"{folder}: unknown style folder, {n} image(s) rejected "
            f"(known styles: {', '.join(STYLES)}; add an alias in artstyle/styles.py if it is one)"
        )
    if scan.ignored:
        listing.notes.append(f"ignored {scan.ignored} file(s) without an image extension")
    if not scan.candidates:
        unknown = (
            f" (unknown style folders: {_examples(scan.unknown_folders)})" if scan.unknown_folders else ""
        )
        raise IndexTreeError(f"{root}: no image files in any known style folder of train/ or test/{unknown}")
    return listing


# ---------------------------------------------------------------------------------------------
# artgan
# ---------------------------------------------------------------------------------------------


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of every non-blank line; undecodable bytes become U+FFFD.

    A listed name with a broken encoding then fails as a missing file (reported), not the run.
    """
    text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line:
            yield number, line


def read_artgan_classes(root: Path) -> dict[int, str]:
    """``style_class.txt``: label id -> the name as written. A malformed line is an error: every label depends on it."""
    path = root / ARTGAN_CLASSES
    classes: dict[int, str] = {}
    for number, line in _read_lines(path):
        parts = line.split(maxsplit=1)
        try:
            class_id = int(parts[0])
        except ValueError:
            class_id = None
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


def list_artgan(root: Path) -> Listing:
    for rel, kind in [(ARTGAN_IMAGES, "folder"), (ARTGAN_CLASSES, "file")] + [
        (c, "file") for _, c in ARTGAN_SPLITS
    ]:
        present = (root / rel).is_dir() if kind == "folder" else (root / rel).is_file()
        if not present:
            raise IndexTreeError(
                f"{root / rel}: missing {kind} (the ArtGAN layout has wikiart/<Style>/, "
                f"{ARTGAN_SPLITS[0][1]}, {ARTGAN_SPLITS[1][1]} and {ARTGAN_CLASSES})"
            )
    classes = read_artgan_classes(root)
    on_disk = {_rel(root, p) for p in walk_files(root / ARTGAN_IMAGES) if has_image_extension(p)}
    listing = Listing("artgan", [], [])
    unknown: Counter = Counter()
    listed_in: dict[str, dict[str, str]] = {split: {} for split, _ in ARTGAN_SPLITS}  # relpath -> "file:line"
    folder_mismatch: list[str] = []

    for split, csv_rel in ARTGAN_SPLITS:
        seen = listed_in[split]
        csv_name = Path(csv_rel).name
        for number, line in _read_lines(root / csv_rel):
            where = f"{csv_rel}:{number}"
            # rpartition: a file name may contain a comma, the label id never does.
            path, comma, label = line.rpartition(",")
            path = path.strip().strip('"').replace("\\", "/").removeprefix("./")
            try:
                class_id = int(label.strip())
            except ValueError:
                class_id = None
            if not comma or not path or class_id is None:
                listing.rejected.append(
                    Rejected(where, f"malformed line {line[:80]!r} (expected 'Style/file.jpg,<label id>')")
                )
                continue
            if path.startswith("/") or ".." in path.split("/"):
                listing.rejected.append(Rejected(where, f"path {path!r} leaves {ARTGAN_IMAGES}/"))
                continue
            relpath = f"{ARTGAN_IMAGES}/{path}"
            if relpath in seen:
                listing.rejected.append(
                    Rejected(where, f"'{relpath}' listed again (first at {seen[relpath]})")
                )
                continue
            seen[relpath] = f"{csv_name}:{number}"
            if class_id not in classes:
                listing.rejected.append(
                    Rejected(relpath, f"label id {class_id} ({where}) not in {ARTGAN_CLASSES}")
                )
                continue
            name = classes[class_id]
            if not is_known(name):
                unknown[name] += 1
                listing.rejected.append(
                    Rejected(relpath, f"unknown style name '{name}' (id {class_id}, {where})")
                )
                continue
            if relpath not in on_disk and not (root / relpath).is_file():
                listing.rejected.append(Rejected(relpath, f"listed in {where} but missing on disk"))
                continue
            style = canonical(name)
            folder = path.split("/")[0] if "/" in path else ""
            if is_known(folder) and canonical(folder) != style:
                folder_mismatch.append(relpath)
            listing.candidates.append(Candidate(relpath, split, style))

    listing.candidates = _sorted(listing.candidates)
    if unknown:
        listing.warnings.append(_unknown_names_warning(str(root / ARTGAN_CLASSES), unknown, "listed file"))
    both = sorted(set(listed_in["train"]) & set(listed_in["test"]))
    if both:
        listing.warnings.append(
            f"{len(both)} file(s) listed in both {ARTGAN_SPLITS[0][1]} and {ARTGAN_SPLITS[1][1]}, "
            f"a train/test leak (kept in both splits; see duplicates.csv): {_examples(both)}"
        )
    if folder_mismatch:
        listing.warnings.append(
            f"{len(folder_mismatch)} listed file(s) sit in another style's folder than their CSV label "
            f"(labelled by the CSV id, as ArtGAN does): {_examples(folder_mismatch)}"
        )
    listed = set(listed_in["train"]) | set(listed_in["test"])
    unlisted = len(on_disk - listed)
    if unlisted:
        listing.notes.append(
            f"{unlisted} image file(s) under {ARTGAN_IMAGES}/ are not listed in "
            f"{ARTGAN_SPLITS[0][1]} or {ARTGAN_SPLITS[1][1]}: not indexed"
        )
    if not listing.candidates:
        raise IndexTreeError(f"{root}: no listed file of {ARTGAN_CSV}/ is an existing image of a known style")
    return listing


# ---------------------------------------------------------------------------------------------
# hf_parquet
# ---------------------------------------------------------------------------------------------


def hf_style_names(schema: pa.Schema, where: str) -> list[str]:
    """The ``style`` ClassLabel names from the ``huggingface`` schema metadata of a shard.

    The ``datasets`` library writes (ArrowWriter) and reads (``Features.from_arrow_schema``)
    ``{"info": {"features": {...}}}``; a top-level ``features`` is accepted as well for copies
    rewritten by other tools. Without names the integer ids cannot be trusted to be in our order.
    """
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        raise IndexTreeError(f"{where}: no 'huggingface' schema metadata, so no names for the style ids")
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise IndexTreeError(f"{where}: 'huggingface' schema metadata is not JSON ({exc})") from None
    info = meta.get("info") if isinstance(meta, dict) else None
    features = info.get("features") if isinstance(info, dict) else None
    if features is None and isinstance(meta, dict):
        features = meta.get("features")
    style = features.get(HF_STYLE) if isinstance(features, dict) else None
    names = style.get("names") if isinstance(style, dict) else None
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise IndexTreeError(
            f"{where}: no ClassLabel names for '{HF_STYLE}' in the 'huggingface' schema metadata "
            "(expected info.features.style.names)"
        )
    return names


def _check_hf_schema(schema: pa.Schema, where: str) -> None:
    for column in (HF_IMAGE, HF_STYLE):
        if column not in schema.names:
            raise IndexTreeError(f"{where}: no '{column}' column (columns: {', '.join(schema.names)})")
    style_type = schema.field(HF_STYLE).type
    if not pa.types.is_integer(style_type):
        raise IndexTreeError(f"{where}: column '{HF_STYLE}' is {style_type}, expected integer class ids")
    image_type = schema.field(HF_IMAGE).type
    is_binary = pa.types.is_binary(image_type) or pa.types.is_large_binary(image_type)
    if not is_binary and not (pa.types.is_struct(image_type) and image_type.get_field_index("bytes") >= 0):
        raise IndexTreeError(f"{where}: column '{HF_IMAGE}' is {image_type}, expected a struct with 'bytes'")


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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _read_styles(shard: Path) -> tuple[list[str], list[int | None]]:
    """A shard's style names (schema metadata) and its ``style`` column, one small column only."""
    try:
        with pq.ParquetFile(shard) as pf:
            _check_hf_schema(pf.schema_arrow, str(shard))
            names = hf_style_names(pf.schema_arrow, str(shard))
            ids = [
                style_id
                for batch in pf.iter_batches(batch_size=STYLE_PASS_BATCH, columns=[HF_STYLE])
                for style_id in batch.column(0).to_pylist()
            ]
    except (OSError, pa.ArrowException) as exc:
        raise IndexTreeError(f"{shard}: not a readable parquet file ({_one_line(exc)})") from None
    return names, ids


def list_hf_parquet(root: Path, test_fraction: float, split_seed: int) -> Listing:
    shards = parquet_shards(root)
    if not shards:
        raise IndexTreeError(f"{root}: no parquet shards (looked for {HF_DIR}/*.parquet and *.parquet)")
    names: list[str] | None = None
    first_shard = ""
    listing = Listing("hf_parquet", [], [])
    unknown: Counter = Counter()
    rows: list[tuple[int, int, str]] = []  # (shard index, row, canonical style), in file order

    # First pass: the style column only (a few bytes per row), to fix labels and the split before
    # any image byte is read.
    for shard_index, shard in enumerate(shards):
        rel = _rel(root, shard)
        shard_names, style_ids = _read_styles(shard)
        if names is None:
            names, first_shard = shard_names, rel
        elif shard_names != names:
            raise IndexTreeError(f"{shard}: its style names differ from those of {first_shard}")
        for row, style_id in enumerate(style_ids):
            relpath = f"{rel}#{row}"
            if style_id is None:
                listing.rejected.append(Rejected(relpath, "no style id (null)"))
            elif not 0 <= style_id < len(names):
                reason = f"style id {style_id} out of range (the metadata names {len(names)} styles)"
                listing.rejected.append(Rejected(relpath, reason))
            elif not is_known(names[style_id]):
                unknown[names[style_id]] += 1
                listing.rejected.append(
                    Rejected(relpath, f"unknown style name '{names[style_id]}' (id {style_id})")
                )
            else:
                rows.append((shard_index, row, canonical(names[style_id])))
    if unknown:
        listing.warnings.append(_unknown_names_warning(f"{root} (parquet metadata)", unknown, "row"))
    if not rows:
        raise IndexTreeError(f"{root}: no row of the parquet shards has a known style")

    # The split is drawn on the labelled rows before decoding, so it never depends on which
    # images happen to decode (a rejected test image leaves the others where they were).
    is_test = stratified_test_split([style for _, _, style in rows], test_fraction, split_seed)
    located = [
        (Candidate(f"{_rel(root, shards[s])}#{r}", "test" if t else "train", style), s, r)
        for (s, r, style), t in zip(rows, is_test, strict=True)
    ]
    located.sort(key=lambda x: (x[0].split, x[0].style, x[0].relpath))
    slots: tuple[dict[int, int], ...] = tuple({} for _ in shards)
    for slot, (_, s, r) in enumerate(located):
        slots[s][r] = slot
    listing.candidates = [c for c, _, _ in located]
    listing.parquet = ParquetRows(tuple(shards), slots)
    return listing


def _image_bytes(cell) -> tuple[bytes | None, str]:
    """(bytes, "") or (None, reject reason) of one ``image`` cell (a struct, or plain binary)."""
    if cell is None:
        return None, "null image"
    if isinstance(cell, bytes):
        data = cell
    else:
        data = cell.get("bytes")
        if data is None:
            path = cell.get("path")
            return (
                None,
                f"no image bytes (only a path: {path!r})" if path else "null image (no bytes, no path)",
            )
    if not data:
        return None, "empty image bytes (0 bytes)"
    return data, ""


def iter_parquet_images(
    rows: ParquetRows, batch_size: int = IMAGE_BATCH
) -> Iterator[tuple[int, bytes | None, str]]:
    """(candidate index, image bytes or None, reject reason) for every candidate, in file order.

    Shards are read sequentially in batches of ``batch_size`` rows of the image column only, so
    memory holds one batch, never a shard; the caller places each image at its candidate index.
    """
    for shard, wanted in zip(rows.shards, rows.slots, strict=True):
        if not wanted:
            continue
        row = 0
        try:
            with pq.ParquetFile(shard, buffer_size=READ_BUFFER) as pf:
                for batch in pf.iter_batches(batch_size=batch_size, columns=[HF_IMAGE]):
                    for cell in batch.column(0).to_pylist():
                        slot = wanted.get(row)
                        row += 1
                        if slot is not None:
                            yield (slot, *_image_bytes(cell))
        except (OSError, pa.ArrowException) as exc:
            # A damaged shard is an input to replace, not rows to skip silently.
            raise IndexTreeError(
                f"{shard}: unreadable after row {row} ({_one_line(exc)}); download it again"
            ) from None
