"""`artstyle export-onnx` and `artstyle stylize --onnx`: the ONNX Runtime output matches PyTorch's, and
the ONNX path never imports torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import tiny_transfer_net
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from artstyle.checkpoint import save_checkpoint  # noqa: E402
from artstyle.cli import app  # noqa: E402
from artstyle.onnx_runtime import OnnxStylizer  # noqa: E402
from artstyle.styles import STYLES  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    net = tiny_transfer_net()
    save_checkpoint(root / "transfer.pt", net, net.args, STYLES, image_size=16)
    result = runner.invoke(
        app, ["export-onnx", "--model", str(root / "transfer.pt"), "-o", str(root / "t.onnx")]
    )
    assert result.exit_code == 0, result.output
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(small).resize((45, 30), Image.Resampling.BILINEAR).save(root / "photo.png")
    return root, net.eval()


@pytest.mark.parametrize("hw", [(32, 32), (30, 45), (9, 13)])
def test_onnx_runtime_matches_pytorch(exported, hw):
    root, net = exported
    runner_ = OnnxStylizer(root / "t.onnx")
    x = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(1))
    w = [0.0] * len(STYLES)
    w[3], w[11] = 0.25, 0.75
    with torch.no_grad():
        ref = net(x, net.blend(torch.tensor(w))).numpy()
    out = runner_.run(x.numpy(), runner_.blend(w))
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-4


def test_stylize_onnx_agrees_with_the_pytorch_cli_and_imports_no_torch(exported):
    root, _ = exported
    args = [str(root / "photo.png"), "-s", "Cubism", "--size", "0", "--texture-scale", "1"]
    assert (
        runner.invoke(
            app, ["stylize", *args, "--model", str(root / "transfer.pt"), "-o", str(root / "pt.png")]
        ).exit_code
        == 0
    )
    code = (
        "import sys; from typer.testing import CliRunner; from artstyle.cli import app; "
        f"r = CliRunner().invoke(app, ['stylize', *{args!r}, '--onnx', {str(root / 't.onnx')!r}, "
        f"'-o', {str(root / 'ort.png')!r}]); "
        "assert r.exit_code == 0, r.output; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = np.asarray(Image.open(root / "pt.png")).astype(int)
    b = np.asarray(Image.open(root / "ort.png")).astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1  # rounding only


def test_onnx_options_and_bad_inputs(exported, tmp_path):
    root, _ = exported
    base = ["stylize", str(root / "photo.png"), "--onnx", str(root / "t.onnx"), "--size", "0"]
    zero = tmp_path / "zero.png"
    assert runner.invoke(app, [*base, "-s", "Cubism", "--strength", "0", "-o", str(zero)]).exit_code == 0
    assert (
        np.abs(
            np.asarray(Image.open(zero)).astype(int) - np.asarray(Image.open(root / "photo.png")).astype(int)
        ).max()
        <= 1
    )
    assert (
        runner.invoke(
            app, [*base, "-s", "Cubism", "--preserve-color", "-o", str(tmp_path / "pc.png")]
        ).exit_code
        == 0
    )
    for extra, message in [
        (["--contact-sheet"], "need the PyTorch model"),
        (["-s", "Cubism", "--strength", "2"], "between 0 and 1"),
    ]:
        result = runner.invoke(app, [*base, *extra, "-o", str(tmp_path / "x.png")])
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(
        app,
        [
            "stylize",
            str(root / "photo.png"),
            "-s",
            "Cubism",
            "--onnx",
            str(tmp_path / "none.onnx"),
            "-o",
            str(tmp_path / "y.png"),
        ],
    )
    assert result.exit_code == 2 and "export-onnx" in result.output
