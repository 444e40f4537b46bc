"""The synthetic WikiArt generator: counts, determinism, worker independence, layout, contact sheet."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from artstyle.params import SynthesizeParams
from artstyle.plots.samples import contact_sheet
from artstyle.styles import ARTGAN_TRAIN_COUNTS, STYLES
from artstyle.synthetic import generate as gen
from artstyle.synthetic.generate import class_counts, generate_dataset, render_image


def tiny(workers: int = 1, size: int = 24) -> SynthesizeParams:
    return SynthesizeParams(
        train_images=60, test_images=30, min_train=2, min_test=1, image_size=size, workers=workers, seed=0
    )


def tree_bytes(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


# --- counts ------------------------------------------------------------------------------------


def test_counts_default_params_are_proportional_floored_and_about_the_total():
    counts = class_counts(4000, 8)
    assert list(counts) == list(STYLES)
    total_weight = sum(ARTGAN_TRAIN_COUNTS.values())
    for style, n in counts.items():
        exact = 4000 * ARTGAN_TRAIN_COUNTS[style] / total_weight
        assert n >= 8
        if exact >= 8:
            assert abs(n - exact) < 1.0, style
        else:
            assert n == 8, style
    assert 4000 <= sum(counts.values()) <= 4000 + 27 * 8
    assert counts["Impressionism"] == max(counts.values())
    assert 60 <= max(counts.values()) / min(counts.values()) <= 100  # "about 80x"


def test_counts_sum_exactly_without_floor_and_keep_the_order():
    counts = class_counts(1000, 0)
    assert sum(counts.values()) == 1000
    by_weight = sorted(STYLES, key=lambda s: ARTGAN_TRAIN_COUNTS[s])
    assert [counts[s] for s in by_weight] == sorted(counts[s] for s in by_weight)


def test_counts_floor_dominates_small_totals():
    assert set(class_counts(27, 5).values()) == {5}


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_every_style_renders_a_valid_rgb_image(style):
    img = render_image(3, "train", style, 0, 24)
    assert img.shape == (24, 24, 3) and img.dtype == np.uint8
    assert img.std() > 2.0  # a painting, not a flat fill


def test_same_inputs_same_pixels_and_every_input_matters():
    a = render_image(42, "train", "Pointillism", 5, 32)
    assert np.array_equal(a, render_image(42, "train", "Pointillism", 5, 32))
    for other in (
        render_image(43, "train", "Pointillism", 5, 32),
        render_image(42, "test", "Pointillism", 5, 32),
        render_image(42, "train", "Pointillism", 6, 32),
    ):
        assert not np.array_equal(a, other)


def test_styles_differ_at_the_same_seed_and_index():
    imgs = [
        render_image(0, "train", s, 0, 24).astype(int)
        for s in ("Cubism", "Analytical_Cubism", "Synthetic_Cubism")
    ]
    assert all(np.abs(imgs[i] - imgs[j]).mean() > 5 for i in range(3) for j in range(i + 1, 3))


# --- the tree on disk --------------------------------------------------------------------------


def test_tree_layout_counts_and_replacement(tmp_path):
    out = tmp_path / "synthetic"
    (out / "train").mkdir(parents=True)
    (out / "stale.txt").write_text("from an older run")
    result = generate_dataset(out, tiny(), seed=1, samples_per_style=3, progress=False)
    assert not (out / "stale.txt").exists()
    assert not (tmp_path / "synthetic.tmp").exists()
    assert sorted(p.name for p in out.iterdir()) == ["test", "train"]
    for split, counts in result.counts.items():
        assert sorted(p.name for p in (out / split).iterdir()) == sorted(STYLES)
        for style, n in counts.items():
            files = sorted((out / split / style).glob("*.png"))
            assert [f.name for f in files] == [f"{i:05d}.png" for i in range(n)]
    assert result.total == sum(sum(c.values()) for c in result.counts.values())
    with Image.open(out / "test" / "Ukiyo_e" / "00000.png") as im:
        assert im.mode == "RGB" and im.size == (24, 24)
    assert [s for s, _ in result.samples] == list(STYLES)
    assert all(len(ims) == min(3, result.counts["train"][s]) for s, ims in result.samples)


def test_file_bytes_are_deterministic_and_independent_of_workers(tmp_path):
    one = generate_dataset(tmp_path / "one", tiny(workers=1), seed=7, progress=False)
    generate_dataset(tmp_path / "two", tiny(workers=2), seed=7, progress=False)
    a, b = tree_bytes(tmp_path / "one"), tree_bytes(tmp_path / "two")
    assert len(a) == one.total and a == b
    generate_dataset(tmp_path / "other", tiny(workers=1), seed=8, progress=False)
    c = tree_bytes(tmp_path / "other")
    assert c.keys() == a.keys() and all(c[k] != a[k] for k in a)


def test_a_crash_leaves_the_previous_tree_untouched(tmp_path, monkeypatch):
    out = tmp_path / "synthetic"
    out.mkdir()
    (out / "marker").write_text("previous complete tree")

    def broken(rng, size):
        raise RuntimeError("recipe failed")

    monkeypatch.setitem(gen.RECIPES, "Rococo", broken)
    with pytest.raises(RuntimeError, match="recipe failed"):
        generate_dataset(out, tiny(workers=1), seed=0, progress=False)
    assert (out / "marker").read_text() == "previous complete tree"
    assert not (out / "train").exists()
    assert not (tmp_path / "synthetic.tmp").exists()


# --- contact sheet -----------------------------------------------------------------------------


def test_contact_sheet_is_a_figure_with_one_readable_row_per_style():
    rows = [(s, [render_image(0, "train", s, i, 24) for i in range(2)]) for s in STYLES[:4]]
    fig = contact_sheet(rows, thumb_px=16)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.replace("_", " ") for s in STYLES[:4]]
    mosaic = ax.get_images()[0].get_array()
    assert mosaic.shape[:2] == (4 * 16 + 3 * 4, 2 * 16 + 4)
    with pytest.raises(ValueError):
        contact_sheet([])
