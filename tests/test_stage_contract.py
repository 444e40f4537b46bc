"""The contracts every stage keeps: complete deps, one-line user errors, byte-stable outputs."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import typer
import yaml
from typer.testing import CliRunner

from artstyle.checkpoint import CheckpointError, checkpoint_bytes, load_model, save_checkpoint
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.models.classifier import StyleNet
from artstyle.params import Params
from artstyle.styles import STYLES

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import stage_deps  # noqa: E402

STAGES = sorted(stage_deps.load_stages())


# ---------------------------------------------------------------------------------------------
# dvc.yaml deps cover each stage's import closure, and nothing else of src/
# ---------------------------------------------------------------------------------------------


def test_every_stage_lists_its_import_closure():
    diff = stage_deps.differences()
    assert not diff, (
        "dvc.yaml deps differ from the import closure (fix with `python tools/stage_deps.py --write`): "
        + "; ".join(f"{name}: missing {missing}, extra {extra}" for name, (missing, extra) in diff.items())
    )


def test_closure_follows_function_local_imports_and_parents(tmp_path, monkeypatch):
    """The closure check itself: a lazy import inside a function counts, and so does a package
    __init__ with code; an __init__ of only a docstring does not."""
    src = tmp_path / "src"
    pkg = src / "artstyle"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""doc"""\n__version__ = "1"\n')
    (pkg / "sub" / "__init__.py").write_text("from artstyle.sub.b import x\n")
    (pkg / "a.py").write_text("def f():\n    from artstyle.sub import c\n    return c\n")
    (pkg / "sub" / "b.py").write_text("x = 1\n")
    (pkg / "sub" / "c.py").write_text("import os\n")
    (pkg / "unused.py").write_text("")
    script = tmp_path / "stage.py"
    script.write_text("from artstyle import a\n")
    monkeypatch.setattr(stage_deps, "SRC", src)
    found = {p.relative_to(src).as_posix() for p in stage_deps.closure([script])}
    assert found == {"artstyle/a.py", "artstyle/sub/__init__.py", "artstyle/sub/b.py", "artstyle/sub/c.py"}


def test_deps_check_fails_on_a_missing_file(tmp_path):
    """A dvc.yaml that drops one closure file from a stage is reported, by stage and path."""
    raw = yaml.safe_load((REPO / "dvc.yaml").read_text())
    deps = raw["stages"]["train_classifier"]["deps"]
    deps.remove("src/artstyle/training/loop.py")
    deps.append("src/artstyle/evaluation/classification.py")  # the histogram baseline must not retrain it
    broken = tmp_path / "dvc.yaml"
    broken.write_text(yaml.safe_dump(raw))
    diff = stage_deps.differences(broken)
    assert diff == {
        "train_classifier": (["src/artstyle/training/loop.py"], ["src/artstyle/evaluation/classification.py"])
    }


def test_only_the_classifier_reads_the_resampled_manifests():
    """`sampling` changes data/manifests only: the stages that must not rerun for it read data/splits."""
    stages = stage_deps.load_stages()
    readers = {name for name, s in stages.items() if "data/manifests" in s.get("deps", [])}
    assert readers == {"oversample", "evaluate_classifier"}
    assert {name for name, s in stages.items() if "data/oversampled" in s.get("deps", [])} == {
        "train_classifier"
    }
    for name in (
        "train_autoencoder",
        "cluster_latents",
        "train_embedder",
        "train_transfer",
        "evaluate_transfer",
    ):
        assert "data/splits" in stages[name]["deps"], name


def test_the_classifier_reaches_the_autoencoder_only_through_oversample():
    """latent SMOTE decodes with the autoencoder, so `oversample` depends on it; the classifier must
    not (neither the checkpoint nor its code), or every autoencoder change would retrain it even
    with SMOTE off. `oversample` under random / smote writes the same bytes whatever the
    autoencoder (tests/test_oversample.py), so DVC stops there."""
    stages = stage_deps.load_stages()
    assert "models/autoencoder.pt" in stages["oversample"]["deps"]
    for name in ("train_classifier", "evaluate_classifier"):
        deps = stages[name]["deps"]
        assert "models/autoencoder.pt" not in deps, name
        assert not any("autoencoder" in d or d.endswith("oversample.py") for d in deps), name


# ---------------------------------------------------------------------------------------------
# User errors: one line on stderr, exit code 2
# ---------------------------------------------------------------------------------------------


def _stage(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "stages" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_param_value_is_one_line_and_exit_2(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["sampling"] = "banana"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    proc = _stage(
        "resample.py",
        "--store",
        "s",
        "--splits",
        "a",
        "--out",
        "b",
        "--metrics",
        "m.json",
        "--counts",
        "c.json",
        "--plot",
        "p.png",
        "--params",
        str(params),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: sampling: got 'banana'; allowed: none, mean, max, min")
    assert "Traceback" not in proc.stderr and not (tmp_path / "a").exists()


def _load_app(script: str):
    spec = importlib.util.spec_from_file_location(f"stage_{script[:-3]}", REPO / "stages" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "stages").glob("*.py")))
def test_every_stage_reports_params_errors_in_one_line(tmp_path, script):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["classifer"] = {"lr": 0.1}  # a typo'd section
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    app = _load_app(script)
    # every required option gets a dummy path: the params are parsed before any of them is opened
    command = typer.main.get_command(app)
    options = [a for opt in command.params if opt.required for a in (opt.opts[0], str(tmp_path / "x"))]
    result = CliRunner().invoke(app, [*options, "--params", str(params)])
    assert result.exit_code == 2, result.output[-2000:]
    assert result.stderr.strip().splitlines() == [
        "error: classifer: unknown key; allowed keys: "
        + ", ".join(f.name for f in dataclasses.fields(Params))
    ]


def test_missing_input_is_one_line(tmp_path):
    proc = _stage(
        "evaluate_classifier.py",
        "--store",
        "nowhere",
        "--manifests",
        "m",
        "--model",
        "missing.pt",
        "--metrics",
        "a.json",
        "--per-class",
        "b.json",
        "--predictions",
        "p.csv",
        "--confusion-png",
        "c.png",
        "--recall-png",
        "r.png",
        "--params",
        str(REPO / "params.yaml"),
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


# ---------------------------------------------------------------------------------------------
# Checkpoints: self-describing, and the same state gives the same bytes
# ---------------------------------------------------------------------------------------------


def test_two_saves_of_one_state_are_byte_identical(tmp_path):
    torch.manual_seed(0)
    model = ConvAutoencoder(width=4, latent_channels=2, image_size=16)
    a, b = tmp_path / "a.pt", tmp_path / "sub" / "b.pt"
    save_checkpoint(a, model, model.args, STYLES, seed=1, metrics={"x": 0.5})
    save_checkpoint(b, model, model.args, STYLES, seed=1, metrics={"x": 0.5})
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    # what makes it so: no temporary file name inside the archive
    assert b".tmp" not in a.read_bytes() and b"archive/data.pkl" in a.read_bytes()
    # and the bytes do follow the contents
    model.decoder[0][0].weight.data[0, 0, 0, 0] += 1.0
    assert checkpoint_bytes(model, model.args, STYLES, seed=1, metrics={"x": 0.5}) != a.read_bytes()


def test_load_model_rebuilds_and_checks_the_class(tmp_path):
    torch.manual_seed(0)
    model = StyleNet(width=4, depth=1, stages=2)
    path = tmp_path / "clf.pt"
    save_checkpoint(path, model, model.args, STYLES, best_epoch=2)
    loaded, ckpt = load_model(path, StyleNet)
    assert ckpt["model_class"] == "StyleNet" and ckpt["best_epoch"] == 2 and not loaded.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    with pytest.raises(CheckpointError, match="holds a StyleNet, expected a ConvAutoencoder"):
        load_model(path, ConvAutoencoder)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "none.pt", StyleNet)


def test_training_iterates_the_loader_once_per_epoch():
    """A second iterator per epoch would advance the loader's generator (another shuffle) and, with
    workers, start them twice: tqdm.auto's asyncio wrapper did exactly that."""
    from artstyle.training.loop import Trainer

    class CountingLoader:
        def __init__(self):
            self.iterations = 0

        def __iter__(self):  # eager, like DataLoader.__iter__ (which draws its shuffle seed here)
            self.iterations += 1
            return iter([(torch.ones(2, 3),)])

    model = torch.nn.Linear(3, 1)
    trainer = Trainer(
        model,
        lambda net, b: net(b[0]).pow(2).mean(),
        torch.optim.SGD(model.parameters(), lr=0.1),
        device=torch.device("cpu"),
    )
    loader = CountingLoader()
    result = trainer.fit(loader, 3, progress=True)
    assert loader.iterations == 3 and len(result.step_logs) == 3


def test_a_param_checked_inside_the_library_is_one_line_too(tmp_path):
    """Not every check can live in params.py (VGG layer names are the model's): those raise
    ParamsError / InputError where they are checked, and the stage reports them the same way."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["embedder"]["style_layers"] = ["relu9_9"]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    app = _load_app("train_embedder.py")
    options = [a for opt in typer.main.get_command(app).params if opt.required for a in (opt.opts[0], "x")]
    result = CliRunner().invoke(app, [*options, "--params", str(params)])
    assert result.exit_code == 2, result.output[-2000:]
    assert result.stderr.strip().splitlines() == [
        "error: embedder.style_layers: unknown VGG layer 'relu9_9'; allowed: "
        "relu1_1, relu2_1, relu3_1, relu4_1, relu5_1"
    ]


def test_make_repro_compares_every_metric_but_the_wall_time():
    """`make repro` ends with `dvc metrics diff --targets $(REPRO_METRICS)`: every metrics file of
    dvc.yaml except the classifier's wall time, the details files next to them and dvclive's
    summaries (committed JSON outputs), so an empty diff still means identical numbers."""

    def name(entry):
        return next(iter(entry)) if isinstance(entry, dict) else entry

    stages = stage_deps.load_stages().values()
    declared = {name(m) for s in stages for m in s.get("metrics", [])}
    reports = {
        name(o)
        for s in stages
        for o in s.get("outs", [])
        if name(o).endswith("_details.json")
        or (name(o).startswith("dvclive/") and name(o).endswith("/metrics.json"))
    }
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    listed = set(re.search(r"^REPRO_METRICS = (.*)$", text, re.M).group(1).split())
    assert listed == (declared - {"metrics/classifier_cost.json"}) | reports
    assert "metrics/classifier_cost.json" in declared
    assert {"metrics/classifier_details.json", "dvclive/transfer/metrics.json"} <= reports
