"""The `artstyle stylize` command on a temporary image with a tiny random transfer checkpoint."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import tiny_transfer_net
from PIL import Image
from typer.testing import CliRunner

from artstyle.checkpoint import save_checkpoint
from artstyle.cli import app, parse_style_spec
from artstyle.styles import LABEL_OF, STYLES

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    net = tiny_transfer_net()
    save_checkpoint(root / "transfer.pt", net, net.args, STYLES)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)).save(root / "photo.jpg")
    return root


def _stylize(files, *args: str):
    return runner.invoke(
        app, ["stylize", str(files / "photo.jpg"), "--model", str(files / "transfer.pt"), *args]
    )


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_parse_style_spec_normalises_and_accepts_aliases():
    w = parse_style_spec("Cubism:1,Ukiyo-e:3")
    assert w[LABEL_OF["Cubism"]] == pytest.approx(0.25) and w[LABEL_OF["Ukiyo_e"]] == pytest.approx(0.75)
    assert sum(w) == pytest.approx(1.0)
    assert parse_style_spec("Pop_Art")[LABEL_OF["Pop_Art"]] == 1.0
    for bad in ("Cubism:x", "Cubism:-1", "Cubism:0", ""):
        with pytest.raises(ValueError):
            parse_style_spec(bad)


def test_stylize_keeps_the_input_size_and_aspect(files):
    out = files / "native.png"
    result = _stylize(files, "--style", "Cubism", "-o", str(out), "--size", "0")
    assert result.exit_code == 0, result.output
    assert _read(out).shape == (30, 45, 3)  # 45x30 is not a multiple of the stride: padded, then cropped
    out = files / "small.png"
    assert _stylize(files, "-s", "Cubism", "-o", str(out), "--size", "16").exit_code == 0
    h, w, _ = _read(out).shape
    assert h == 16 and w == 24  # short side 16, aspect 3:2 kept


def test_styles_differ_and_a_degenerate_blend_equals_the_pure_style(files):
    outs = {}
    for name, spec in [
        ("cubism", "Cubism"),
        ("ukiyo", "Ukiyo_e"),
        ("blend10", "Cubism:1.0,Ukiyo_e:0.0"),
        ("blend55", "Cubism:0.5,Ukiyo_e:0.5"),
    ]:
        path = files / f"{name}.png"
        result = _stylize(files, "--style", spec, "-o", str(path), "--size", "0")
        assert result.exit_code == 0, result.output
        outs[name] = _read(path).astype(int)
    assert np.abs(outs["cubism"] - outs["ukiyo"]).mean() > 1
    assert np.array_equal(outs["blend10"], outs["cubism"])
    assert not np.array_equal(outs["blend55"], outs["cubism"]) and not np.array_equal(
        outs["blend55"], outs["ukiyo"]
    )


def test_unknown_style_is_a_clear_error(files):
    result = _stylize(files, "--style", "Cubismo", "-o", str(files / "x.png"))
    assert result.exit_code == 2
    assert (
        "unknown style" in result.output and "Synthetic_Cubism" in result.output
    )  # the valid ones are listed
    assert "Traceback" not in result.output and not (files / "x.png").exists()


def test_missing_model_is_a_clear_error(files):
    result = runner.invoke(
        app,
        [
            "stylize",
            str(files / "photo.jpg"),
            "-s",
            "Cubism",
            "-o",
            str(files / "y.png"),
            "--model",
            str(files / "nope.pt"),
        ],
    )
    assert result.exit_code == 2 and "not found" in result.output


def test_module_entry_point(files):
    proc = subprocess.run(
        [sys.executable, "-m", "artstyle.cli", "stylize", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "--style" in proc.stdout
