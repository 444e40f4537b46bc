"""The label map: 27 sorted styles, aliases, and labels that never depend on folder listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from artstyle.data.layouts.imagefolder import scan_tree
from artstyle.styles import (
    ALIASES,
    LABEL_OF,
    NUM_CLASSES,
    STYLES,
    UnknownStyleError,
    canonical,
    is_known,
    label_of,
)


def test_label_map_sorted_27_dense():
    assert NUM_CLASSES == len(STYLES) == 27
    assert list(STYLES) == sorted(STYLES)
    assert len(set(STYLES)) == 27
    assert LABEL_OF == {name: i for i, name in enumerate(sorted(STYLES))}
    assert LABEL_OF["Abstract_Expressionism"] == 0 and LABEL_OF["Ukiyo_e"] == 26


def test_aliases_map_to_canonical_labels():
    assert canonical("Art_Nouveau_Modern") == "Art_Nouveau"
    assert label_of("Art_Nouveau_Modern") == LABEL_OF["Art_Nouveau"]
    for alias, name in ALIASES.items():
        assert name in LABEL_OF and alias not in LABEL_OF
        assert is_known(alias) and label_of(alias) == LABEL_OF[name]
    assert canonical("Baroque") == "Baroque"


def test_unknown_style_raises_listing_valid_styles():
    assert not is_known("Vaporwave")
    with pytest.raises(UnknownStyleError) as info:
        canonical("Vaporwave")
    msg = str(info.value)
    assert "Vaporwave" in msg
    assert all(style in msg for style in STYLES)
    assert isinstance(info.value, ValueError)


def _tree(root: Path, folders: list[str]) -> Path:
    for split in ("train", "test"):
        for folder in folders:
            (root / split / folder).mkdir(parents=True)
            Image.new("RGB", (4, 4)).save(root / split / folder / "x.png")
    return root


def test_labels_stable_when_unrelated_folders_exist(tmp_path):
    # "AAA_extra" sorts first and "Art_Nouveau_Modern" lands between known styles: a label map
    # built from the folder listing would shift every label after them.
    plain = scan_tree(_tree(tmp_path / "plain", ["Baroque", "Ukiyo_e"]))
    noisy = scan_tree(
        _tree(tmp_path / "noisy", ["AAA_extra", "Art_Nouveau_Modern", "Baroque", "Ukiyo_e", "zz"])
    )
    styles_plain = {c.relpath: c.style for c in plain.candidates}
    styles_noisy = {c.relpath: c.style for c in noisy.candidates}
    assert {p: s for p, s in styles_noisy.items() if p in styles_plain} == styles_plain
    assert styles_noisy["train/Art_Nouveau_Modern/x.png"] == "Art_Nouveau"
    assert sorted(noisy.unknown_folders) == ["test/AAA_extra", "test/zz", "train/AAA_extra", "train/zz"]
    assert {r.relpath for r in noisy.rejected} == {
        f"{s}/{f}/x.png" for s in ("train", "test") for f in ("AAA_extra", "zz")
    }
    assert all(c.style in LABEL_OF for c in noisy.candidates)
