"""Which of the three layouts ``data.root`` holds, and its listing by that layout's reader.

``data.format`` forces a layout; ``auto`` detects it from what the root contains. A root that
looks like two layouts is an error (the user says which); one that holds half of a layout is
given to that layout's reader, so that the error names the missing part.
"""

from __future__ import annotations

from pathlib import Path

from artstyle.data.layouts.artgan import ARTGAN_CSV, ARTGAN_IMAGES, list_artgan
from artstyle.data.layouts.hf_parquet import list_hf_parquet, parquet_shards
from artstyle.data.layouts.imagefolder import list_imagefolder
from artstyle.data.layouts.listing import IndexTreeError, Listing

FORMATS = ("imagefolder", "artgan", "hf_parquet")
LOOKED_FOR = (
    "train/ and test/ (imagefolder), wikiart_csv/ and wikiart/ (artgan), "
    "data/*.parquet or *.parquet (hf_parquet)"
)


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


def detect_format(root: str | Path, fmt: str = "auto") -> str:
    """The layout of ``root``: ``fmt`` itself when forced, else detected from what root contains."""
    root = Path(root)
    if not root.is_dir():
        raise IndexTreeError(f"{root}: data root is not a folder (looked for {LOOKED_FOR})")
    if fmt != "auto":
        if fmt not in FORMATS:
            raise IndexTreeError(f"data.format: got {fmt!r}; allowed: auto, {', '.join(FORMATS)}")
        return fmt
    found = _complete_layouts(root)
    if len(found) > 1:
        raise IndexTreeError(
            f"{root}: ambiguous layout, it looks like {' and '.join(found)}; "
            f"set data.format to one of {', '.join(FORMATS)}"
        )
    if found:
        return found[0]
    return _partial_layout(root)


def _complete_layouts(root: Path) -> list[str]:
    """Every layout whose marks root has."""
    found = []
    if (root / "train").is_dir() and (root / "test").is_dir():
        found.append("imagefolder")
    if (root / ARTGAN_CSV).is_dir():
        found.append("artgan")
    if parquet_shards(root):
        found.append("hf_parquet")
    return found


def _partial_layout(root: Path) -> str:
    """Half a layout: take the one it resembles, so that its reader names the missing part
    ("missing 'test/' folder") instead of a vague "unknown layout"."""
    if (root / "train").is_dir() or (root / "test").is_dir():
        return "imagefolder"
    if (root / ARTGAN_IMAGES).is_dir():
        return "artgan"
    raise IndexTreeError(f"{root}: no known dataset layout (looked for {LOOKED_FOR})")
