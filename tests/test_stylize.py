"""`artstyle stylize`'s options (strength, colour, contact sheet, texture scale, styles learned from a
folder) and their bad inputs, on a tiny random transfer checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_transfer_net
from PIL import Image
from typer.testing import CliRunner

from artstyle import stylize as st
from artstyle.checkpoint import save_checkpoint
from artstyle.cli import app
from artstyle.errors import InputError
from artstyle.models.transfer import StyleTransferNet
from artstyle.plots.transfer import contact_sheet_figure
from artstyle.styles import STYLES
from artstyle.training.style_targets import style_scales

runner = CliRunner()
LAYERS = ["relu1_1", "relu2_1"]


def tiny_checkpoint(path, style_dim: int = 6, seed: int = 0) -> StyleTransferNet:
    net = tiny_transfer_net(seed, style_dim=style_dim)
    targets = {"relu1_1": torch.rand(len(STYLES), 128), "relu2_1": torch.rand(len(STYLES), 256)}
    params = {
        "style_layers": LAYERS,
        "content_layer": "relu2_1",
        "content_weight": 1.0,
        "style_weight": 3.0,
        "tv_weight": 1e-4,
    }
    save_checkpoint(
        path,
        net,
        net.args,
        STYLES,
        params=params,
        image_size=16,
        vgg_source="auto",
        style_targets=targets,
        style_scales=style_scales(targets),
    )
    return net


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("stylize")
    tiny_checkpoint(root / "transfer.pt")
    tiny_checkpoint(root / "other_dim.pt", style_dim=5)
    rng = np.random.default_rng(0)
    # A smooth photo-like input (bilinear-upscaled noise) and three "paintings" with stripes.
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize((48, 36), Image.Resampling.BILINEAR).save(root / "photo.png")
    paintings = root / "mine"
    paintings.mkdir()
    for i in range(3):
        a = np.zeros((40, 40, 3), dtype=np.uint8)
        a[:, ::4] = (200, 40 * i, 30)
        a[::5] = (20, 90, 220)
        Image.fromarray(a).save(paintings / f"p{i}.jpg")
    (paintings / "notes.txt").write_text("not an image: ignored")
    return root


def _run(files, *args: str):
    return runner.invoke(
        app,
        ["stylize", str(files / "photo.png"), "--model", str(files / "transfer.pt"), "--size", "0", *args],
    )


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_strength_zero_is_the_original_and_strength_mixes_linearly(files):
    for s in ("0", "0.5", "1"):
        assert _run(files, "-s", "Cubism", "--strength", s, "-o", str(files / f"s{s}.png")).exit_code == 0
    original = _read(files / "photo.png")
    zero, half, full = (_read(files / f"s{s}.png") for s in ("0", "0.5", "1"))
    assert np.abs(zero - original).max() <= 1
    assert np.abs(full - original).mean() > 5  # the style changes the picture
    assert np.abs(half - (original + full) / 2).max() <= 1.5  # a pixel-wise mix (rounding only)


@pytest.mark.parametrize("bad", ["2", "-0.1"])
def test_strength_out_of_range_is_a_one_line_error(files, bad):
    out = files / "bad_strength.png"
    result = _run(files, "-s", "Cubism", "--strength", bad, "-o", str(out))
    assert result.exit_code == 2 and "--strength must be between 0 and 1" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_preserve_color_keeps_the_chroma_and_changes_the_luminance(files):
    out = files / "pc.png"
    assert _run(files, "-s", "Fauvism", "--preserve-color", "-o", str(out)).exit_code == 0
    m = st.YCBCR.numpy()
    ycc = lambda a: np.einsum("ij,hwj->hwi", m, a / 255.0)  # noqa: E731
    orig, kept, free = ycc(_read(files / "photo.png")), ycc(_read(out)), ycc(_read(files / "s1.png"))
    assert np.abs(kept[..., 1:] - orig[..., 1:]).mean() < 0.02  # colours of the original (up to clamping)
    assert np.abs(kept[..., 0] - orig[..., 0]).mean() > 0.01  # luminance from the style
    assert np.abs(free[..., 1:] - orig[..., 1:]).mean() > np.abs(kept[..., 1:] - orig[..., 1:]).mean()


def test_preserve_colour_of_an_image_with_itself_is_the_identity():
    x = torch.rand(1, 3, 8, 8) * 0.8 + 0.1
    assert torch.allclose(st.preserve_colour(x, x), x, atol=1e-5)


def test_texture_scale_keeps_the_output_size_and_changes_the_result(files):
    net, _ = st_load(files)
    x = torch.rand(1, 3, 37, 52)
    fine = st.stylize(net, x, torch.tensor([3]))
    coarse = st.stylize(net, x, torch.tensor([3]), texture_scale=2)
    assert fine.shape == coarse.shape == x.shape
    assert (fine - coarse).abs().mean() > 1e-3
    assert st.default_texture_scale(512, 64) == 2.0 and st.default_texture_scale(100, 64) == 1.0
    with pytest.raises(InputError):
        st.stylize(net, x, torch.tensor([3]), texture_scale=0.5)


def st_load(files):
    from artstyle.evaluation.transfer import load_transfer

    return load_transfer(files / "transfer.pt")


def test_contact_sheet_has_the_original_and_every_style_labelled(files):
    out = files / "sheet.png"
    result = runner.invoke(
        app,
        [
            "stylize",
            str(files / "photo.png"),
            "--model",
            str(files / "transfer.pt"),
            "--size",
            "32",
            "--contact-sheet",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[0] > 600
    fig = contact_sheet_figure(torch.rand(3, 8, 10), torch.rand(len(STYLES), 3, 8, 10))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0] == "original" and len(titles) == 1 + len(STYLES)
    assert [t.replace("\n", " ") for t in titles[1:]] == [t.replace("_", " ") for t in STYLES]


def test_style_from_a_folder_writes_a_small_reusable_blendable_style_file(files):
    style_file = files / "mine.style.pt"
    out = files / "learned.png"
    result = _run(
        files,
        "--style-from",
        str(files / "mine"),
        "--save-style",
        str(style_file),
        "--style-steps",
        "20",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert style_file.stat().st_size < 4096  # a vector and a few plain values, not a network
    payload = torch.load(style_file, weights_only=True)
    assert payload["kind"] == "artstyle-style" and payload["images"] == 3
    assert payload["vector"].shape == (
        6,
    )  # the fitted style vector: a point in the network's embedding space

    again = files / "again.png"
    assert _run(files, "-s", str(style_file), "-o", str(again)).exit_code == 0
    assert np.array_equal(_read(again), _read(out))  # the file alone reproduces the learned style

    blend = files / "blend.png"
    assert _run(files, "-s", f"{style_file}:0.5,Cubism:0.5", "-o", str(blend)).exit_code == 0
    assert (
        np.abs(_read(blend) - _read(out)).mean() > 0.5
        and np.abs(_read(blend) - _read(files / "s1.png")).mean() > 0.5
    )


def test_fitting_lowers_the_style_loss(files):
    net, ckpt = st_load(files)
    paintings = [st.read_image(p) for p in st.list_images(files / "mine")]
    contents = st.fitting_contents(torch.rand(1, 3, 40, 60), 16)
    fitted = st.fit_style(net, ckpt, paintings, contents, steps=40, lr=0.1)
    assert np.mean(fitted.losses[-5:]) < np.mean(fitted.losses[:5])
    assert contents.shape[1:] == (3, 16, 16) and len(contents) == 16


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "not a folder"),
        ("empty", "no images"),
        ("unreadable", "cannot read"),
    ],
)
def test_bad_style_folders_are_one_line_errors(files, tmp_path, case, message):
    folder = tmp_path / case
    if case != "missing":
        folder.mkdir()
    if case == "unreadable":
        (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "x.png"
    result = _run(files, "--style-from", str(folder), "-o", str(out))
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_bad_style_files_are_one_line_errors(files, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    cases = [(str(tmp_path / "absent.pt"), "not found"), (str(junk), "not a style file")]
    # A style fitted against a network with 5-number styles cannot condition this one (6).
    other, _ = st_load(files)
    small = StyleTransferNet(channels=[4, 8, 16], residual_blocks=1, style_dim=5)
    st.save_style(tmp_path / "dim5.pt", st.FittedStyle(torch.zeros(small.style_dim), [1.0], 1), "dim5", small)
    cases.append((str(tmp_path / "dim5.pt"), "fitted for another network"))
    for spec, message in cases:
        result = _run(files, "-s", spec, "-o", str(tmp_path / "y.png"))
        assert result.exit_code == 2 and message in result.output, (spec, result.output)


def test_exactly_one_of_style_style_from_and_contact_sheet(files):
    for args in (
        [],
        ["-s", "Cubism", "--contact-sheet"],
        ["-s", "Cubism", "--style-from", str(files / "mine")],
    ):
        result = _run(files, *args, "-o", str(files / "z.png"))
        assert result.exit_code == 2 and "exactly one of" in result.output, args


def test_demo_pictures_ship_with_the_dependencies():
    pics = st.demo_pictures()
    assert any("grace_hopper" in name for name, _ in pics)
    assert all(path.is_file() for _, path in pics)
