"""Inputs that cannot crash a command: every user-facing command answers a file that is not a
checkpoint, a checkpoint of another model, a truncated checkpoint and an image it cannot decode with
one ``error:`` line on stderr and exit code 2 (no traceback). Tiny checkpoints are built here."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, tiny_transfer_net
from PIL import Image
from test_stylize import tiny_checkpoint
from typer.testing import CliRunner

from artstyle.checkpoint import CheckpointError, load_model, save_checkpoint
from artstyle.cli import app
from artstyle.models.classifier import StyleNet
from artstyle.models.transfer import StyleTransferNet
from artstyle.styles import STYLES
from artstyle.stylize_io import DEFAULT_MAX_SIDE, resize_for_output

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")


class _NotAModel:
    """A pickled Python object: weights_only loading refuses it."""


def _jpeg(side: int = 24) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(
        buf, "JPEG"
    )
    return buf.getvalue()


# name -> what is wrong with it; every one is given where a transfer and a classifier are expected
BAD_CHECKPOINTS = (
    "text.pt",  # a text file
    "random.pt",  # random bytes
    "empty.pt",  # 0 bytes
    "truncated_1000.pt",  # the first 1000 bytes of a checkpoint
    "truncated_half.pt",  # the first half
    "tensor.pt",  # torch.save of a plain tensor
    "plain_dict.pt",  # torch.save of a dict that is no checkpoint
    "pickled.pt",  # a pickled Python object (not loadable with weights_only)
    "bad_args.pt",  # args the model class rejects
    "wrong_shapes.pt",  # weights of another architecture under the right class name
)
BAD_IMAGES = ("truncated.jpg", "text.png", "empty.png", "random.webp")


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    tiny_checkpoint(root / "transfer.pt")
    torch.manual_seed(0)
    clf = StyleNet(width=4, depth=1, stages=3, dropout=0.0).eval()
    save_checkpoint(root / "classifier.pt", clf, clf.args, STYLES, image_size=16)
    data = (root / "transfer.pt").read_bytes()
    (root / "text.pt").write_text("hello, not a checkpoint\n", encoding="utf-8")
    (root / "random.pt").write_bytes(np.random.default_rng(0).bytes(5000))
    (root / "empty.pt").write_bytes(b"")
    (root / "truncated_1000.pt").write_bytes(data[:1000])
    (root / "truncated_half.pt").write_bytes(data[: len(data) // 2])
    torch.save(torch.zeros(3), root / "tensor.pt")
    torch.save({"a": 1, "weights": torch.ones(2)}, root / "plain_dict.pt")
    torch.save({"model": _NotAModel()}, root / "pickled.pt")
    net = tiny_transfer_net()
    save_checkpoint(root / "bad_args.pt", net, {"channels": "wide", "nonsense": 1}, STYLES, image_size=16)
    other = tiny_transfer_net(channels=[4, 8, 8])
    save_checkpoint(root / "wrong_shapes.pt", other, net.args, STYLES, image_size=16)
    # images
    Image.fromarray(np.full((36, 48, 3), 120, np.uint8)).save(root / "photo.png")
    jpeg = _jpeg()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "text.png").write_text("not an image", encoding="utf-8")
    (root / "empty.png").write_bytes(b"")
    (root / "random.webp").write_bytes(b"RIFF" + np.random.default_rng(1).bytes(300))
    folder = root / "paintings"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(jpeg)
    (folder / "broken.jpg").write_bytes(jpeg[:100])
    Image.fromarray(np.zeros((300, 8, 3), np.uint8)).save(root / "tall.png")
    # style files and ONNX files
    (root / "text.style.pt").write_text("no style", encoding="utf-8")
    (root / "truncated.style.pt").write_bytes(data[:2000])
    (root / "text.onnx").write_text("not a network", encoding="utf-8")
    _onnx_files(root)
    return root


def _onnx_files(root: Path) -> None:
    """A valid ONNX graph without artstyle metadata, and one with damaged metadata."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["out"])],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, None, None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, root / "no_meta.onnx")
    entry = model.metadata_props.add()
    entry.key, entry.value = "artstyle", '{"styles": 3}'
    onnx.save(model, root / "bad_meta.onnx")


def _one_error_line(result, *must: str) -> str:
    """The invocation exited 2 with exactly one ``error:`` line on stderr (containing ``must``)."""
    stderr = result.stderr if hasattr(result, "stderr") else ""
    assert result.exit_code == 2, (result.exit_code, result.output[-3000:], repr(result.exception))
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    assert "Traceback" not in result.output
    for text in must:
        assert text in lines[0], lines[0]
    return lines[0]


def _cli(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------------------------------------
# The checkpoint loader: one CheckpointError per bad file
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_CHECKPOINTS)
def test_load_model_raises_one_line_checkpoint_errors(bad, name):
    with pytest.raises(CheckpointError) as info:
        load_model(bad / name, StyleTransferNet)
    message = str(info.value)
    assert message.startswith(f"{bad / name}: ") and "\n" not in message and len(message) < 400, message


def test_another_models_checkpoint_names_both_classes(bad):
    with pytest.raises(CheckpointError, match="holds a StyleNet, expected a StyleTransferNet"):
        load_model(bad / "classifier.pt", StyleTransferNet)
    with pytest.raises(CheckpointError, match="holds a StyleTransferNet, expected one of"):
        from artstyle.models.backbones import load_classifier

        load_classifier(bad / "transfer.pt")


# ---------------------------------------------------------------------------------------------
# artstyle stylize / export-onnx / classify / demo
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*BAD_CHECKPOINTS, "classifier.pt"])
def test_stylize_bad_model(bad, tmp_path, name):
    out = tmp_path / "out.png"
    result = _cli("stylize", bad / "photo.png", "--style", "Cubism", "--model", bad / name, "-o", out)
    _one_error_line(result, str(bad / name))
    assert not out.exists()


@pytest.mark.parametrize("name", BAD_IMAGES)
def test_stylize_bad_image(bad, tmp_path, name):
    result = _cli(
        "stylize", bad / name, "--style", "Cubism", "--model", bad / "transfer.pt", "-o", tmp_path / "o.png"
    )
    _one_error_line(result, f"{bad / name}: cannot read this image (")


def test_stylize_bad_image_in_style_folder(bad, tmp_path):
    result = _cli(
        "stylize",
        bad / "photo.png",
        "--style-from",
        bad / "paintings",
        "--save-style",
        tmp_path / "s.style.pt",
        "--model",
        bad / "transfer.pt",
        "-o",
        tmp_path / "o.png",
    )
    _one_error_line(result, f"{bad / 'paintings' / 'broken.jpg'}: cannot read this image")


@pytest.mark.parametrize("name", ["text.style.pt", "truncated.style.pt", "transfer.pt"])
def test_stylize_bad_style_file(bad, tmp_path, name):
    # transfer.pt is a checkpoint, not a style file: a .pt part of --style is read as a style file
    result = _cli(
        "stylize",
        bad / "photo.png",
        "--style",
        bad / name,
        "--model",
        bad / "transfer.pt",
        "-o",
        tmp_path / "o.png",
    )
    _one_error_line(result, str(bad / name))


@pytest.mark.parametrize("name", ["text.onnx", "no_meta.onnx", "bad_meta.onnx", "transfer.pt"])
def test_stylize_bad_onnx(bad, tmp_path, name):
    result = _cli(
        "stylize", bad / "photo.png", "--style", "Cubism", "--onnx", bad / name, "-o", tmp_path / "o.png"
    )
    _one_error_line(result, str(bad / name))


@pytest.mark.parametrize("name", [*BAD_CHECKPOINTS, "classifier.pt"])
def test_export_onnx_bad_model(bad, tmp_path, name):
    out = tmp_path / "t.onnx"
    _one_error_line(_cli("export-onnx", "--model", bad / name, "-o", out), str(bad / name))
    assert not out.exists()


@pytest.mark.parametrize("name", [*BAD_CHECKPOINTS, "transfer.pt"])
def test_classify_bad_model(bad, name):
    _one_error_line(_cli("classify", bad / "photo.png", "--model", bad / name), str(bad / name))


@pytest.mark.parametrize("name", BAD_IMAGES)
def test_classify_bad_image(bad, name):
    _one_error_line(
        _cli("classify", bad / name, "--model", bad / "classifier.pt"), f"{bad / name}: cannot read"
    )


@pytest.fixture
def no_server(monkeypatch):
    """The demo must fail before it serves: starting a server here is a test failure, not a hang."""
    pytest.importorskip("gradio")
    import gradio as gr

    def refuse(*args, **kwargs):
        raise AssertionError("the demo started a server despite a bad checkpoint")

    monkeypatch.setattr(gr.Blocks, "launch", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("name", ["text.pt", "truncated_half.pt", "wrong_shapes.pt", "classifier.pt"])
def test_demo_bad_transfer_model(bad, no_server, name):
    result = _cli("demo", "--model", bad / name, "--classifier", bad / "classifier.pt", "--no-browser")
    _one_error_line(result, str(bad / name))


@pytest.mark.parametrize("name", ["text.pt", "truncated_1000.pt", "transfer.pt"])
def test_demo_bad_classifier(bad, no_server, name):
    result = _cli("demo", "--model", bad / "transfer.pt", "--classifier", bad / name, "--no-browser")
    _one_error_line(result, str(bad / name))


# ---------------------------------------------------------------------------------------------
# --max-side
# ---------------------------------------------------------------------------------------------


def test_resize_for_output_caps_the_long_side():
    strip = Image.new("RGB", (40, 9000))
    im, note = resize_for_output(strip, 512)  # the default cap
    assert max(im.size) == DEFAULT_MAX_SIDE == 4096 and im.size == (18, 4096)
    assert "115200" in note and "downscaled to 18x4096" in note and "\n" not in note
    im, note = resize_for_output(strip, 16, max_side=0)
    assert im.size == (16, 3600) and note == ""
    photo = Image.new("RGB", (640, 480))
    assert resize_for_output(photo, 512) == (photo.resize((683, 512), Image.Resampling.LANCZOS), "")
    same = resize_for_output(photo, 512)[0]
    assert same.size == (683, 512)


def test_stylize_max_side_downscales_with_one_warning(bad, tmp_path):
    out = tmp_path / "tall_out.png"
    args = ("stylize", bad / "tall.png", "--style", "Cubism", "--model", bad / "transfer.pt", "--size", 16)
    result = _cli(*args, "--max-side", 128, "-o", out)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"warning: {bad / 'tall.png'}: the output would be 16x600 px"
    )
    assert Image.open(out).size == (3, 128)
    result = _cli(*args, "--max-side", 0, "-o", out)
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert Image.open(out).size == (16, 600)


@pytest.mark.parametrize("side", [1, 3, 4])
def test_stylize_pictures_narrower_than_the_networks_stride(bad, tmp_path, side):
    """A side of at most the network's stride (4 here) made its reflection padding raise (found by
    the 3 px wide output of the --max-side test): the network now runs at stride + 1 and is resized back."""
    Image.fromarray(np.full((side, 20, 3), 90, np.uint8)).save(tmp_path / "thin.png")
    out = tmp_path / "thin_out.png"
    args = (
        "stylize",
        tmp_path / "thin.png",
        "-s",
        "Cubism",
        "--model",
        bad / "transfer.pt",
        "--size",
        0,
        "-o",
        out,
    )
    result = _cli(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert Image.open(out).size == (20, side)


# ---------------------------------------------------------------------------------------------
# The stages and the benchmark
# ---------------------------------------------------------------------------------------------


def _load_stage(script: str):
    spec = importlib.util.spec_from_file_location(f"stage_{script[:-3]}", REPO / "stages" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def _evaluate_transfer_args(tmp: Path, model: Path, judge: Path) -> list[str]:
    return [
        *("--store", str(tmp / "store"), "--splits", str(tmp / "splits")),
        *("--model", str(model), "--judge", str(judge), "--vgg-judge", str(judge)),
        *("--metrics", str(tmp / "m.json"), "--grid", str(tmp / "g.png")),
        *("--deception", str(tmp / "d.png"), "--real", str(tmp / "r.png")),
        *("--params", str(REPO / "params.yaml")),
    ]


# (stage script, its checkpoint option, the right kind of checkpoint for the others' test): each
# stage that loads a checkpoint, given a bad one (the other required options are dummy paths: the
# checkpoint is read before any of them)
STAGE_CHECKPOINTS = [
    ("evaluate_transfer.py", "--model"),
    ("evaluate_transfer.py", "--judge"),
    ("evaluate_classifier.py", "--model"),
    ("cluster_latents.py", "--model"),
    ("train_embedder.py", "--autoencoder"),
]


def _stage_args(app, tmp: Path, option: str, bad_file: Path, good: dict[str, Path]) -> list[str]:
    import typer

    command = typer.main.get_command(app)
    args = []
    for opt in command.params:
        if opt.required:
            name = opt.opts[0]
            value = bad_file if name == option else good.get(name, tmp / name.strip("-"))
            args += [name, str(value)]
    return [*args, "--params", str(REPO / "params.yaml")]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A tiny store and its manifests (used as the splits too): some stages open it before the model."""
    from test_e2e_classifier import make_store

    root = tmp_path_factory.mktemp("store")
    make_store(root, 16)
    return root


CLASSIFIER_OPTIONS = {("evaluate_transfer.py", "--judge"), ("evaluate_classifier.py", "--model")}


@pytest.mark.parametrize("script, option", STAGE_CHECKPOINTS)
@pytest.mark.parametrize(
    "name", ["text.pt", "truncated_half.pt", "tensor.pt", "wrong_shapes.pt", "other model"]
)
def test_stages_bad_checkpoint(bad, store, tmp_path, script, option, name):
    if name == "other model":
        name = "transfer.pt" if (script, option) in CLASSIFIER_OPTIONS else "classifier.pt"
    good = {
        "--model": bad / "transfer.pt",
        "--judge": bad / "classifier.pt",
        "--store": store / "store",
        "--splits": store / "manifests",
        "--manifests": store / "manifests",
    }
    app = _load_stage(script)
    result = runner.invoke(app, _stage_args(app, tmp_path, option, bad / name, good))
    _one_error_line(result, str(bad / name))


@pytest.mark.parametrize("name", ["text.pt", "truncated_half.pt", "plain_dict.pt", "classifier.pt"])
def test_bench_stylize_bad_model(bad, tmp_path, name):
    from artstyle.bench.cli import app as bench_app

    args = ["stylize", "--model", str(bad / name), "--out", str(tmp_path / "b.json"), "--repeats", "1"]
    _one_error_line(
        runner.invoke(bench_app, [*args, "--warmup", "0", "--sizes", "16", "--end-to-end-size", "0"])
    )
    assert not (tmp_path / "b.json").exists()


class _Proc:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.exit_code, self.stderr, self.output = proc.returncode, proc.stderr, proc.stdout + proc.stderr


def _run(*args, cwd: Path) -> _Proc:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )
    return _Proc(proc)


def test_real_entry_points(bad, tmp_path):
    """The console script and a stage script as a user runs them (the benchmark module is a
    ``@stage`` Typer app too, tested in-process above)."""
    result = _run(
        "-m",
        "artstyle.cli",
        "stylize",
        bad / "photo.png",
        "-s",
        "Cubism",
        "-m",
        bad / "text.pt",
        "-o",
        "o.png",
        cwd=tmp_path,
    )
    _one_error_line(result, f"{bad / 'text.pt'}: not a PyTorch checkpoint")
    stage = REPO / "stages" / "evaluate_transfer.py"
    result = _run(
        stage,
        *_evaluate_transfer_args(tmp_path, bad / "truncated_half.pt", bad / "classifier.pt"),
        cwd=tmp_path,
    )
    _one_error_line(result, f"{bad / 'truncated_half.pt'}: a truncated or damaged PyTorch checkpoint")
