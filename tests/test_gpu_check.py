"""The GPU check (tools/gpu_check.sh, `python -m artstyle.bench gpu`) as far as a CPU takes it.

The end-to-end test runs the script on the CPU with --allow-cpu --tiny: every stage of dvc.yaml
without dvc, bench train and bench stylize at tiny sizes, the JSON written. On a GPU machine the
same script runs the real sizes on CUDA; that run has not happened yet (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
import yaml
from conftest import REPO, tiny_params

from artstyle.bench import gpu
from artstyle.errors import UserError

SCRIPTS = [REPO / "tools" / "gpu_check.sh", REPO / "tools" / "make_wheelhouse.sh"]
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())


@pytest.fixture(scope="module")
def cpu_check(tmp_path_factory):
    """tools/gpu_check.sh --allow-cpu --tiny on this machine's Python: (JSON, output, seconds)."""
    tmp = tmp_path_factory.mktemp("gpu_check")
    out = tmp / "bench_gpu.json"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "GPU_CHECK_OUT": str(out),
        "GPU_CHECK_WORKDIR": str(tmp / "work"),
        "OUT": str(tmp / "returned"),
    }
    (tmp / "returned").mkdir()
    args = ["--allow-cpu", "--tiny", "--workers", "1", "--device", "cpu"]
    proc = subprocess.run(
        ["bash", str(SCRIPTS[0]), *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout, tmp


@pytest.mark.e2e
def test_cpu_run_writes_every_figure_and_every_stage_finishes(cpu_check):
    r, output, tmp = cpu_check
    assert r["ok"] is True and r["tiny"] is True and isinstance(r["seconds_total"], float)
    assert r["budget_seconds"] == gpu.BUDGET_SECONDS and isinstance(r["within_budget"], bool)

    d = r["device"]
    assert d["device"] == "cpu" and d["torch"] == torch.__version__ and d["cuda"] == torch.version.cuda
    assert {"name", "cudnn", "python", "cpu_count"} <= set(d)

    stages = r["pipeline"]["stages"]
    assert [s["stage"] for s in stages] == [name for name, _ in gpu.stage_commands(DVC_YAML, tiny_params())]
    assert set(DVC_YAML["stages"]) == {s["stage"] for s in stages}
    for s in stages:
        assert s["finished"] is True and s["returncode"] == 0 and s["seconds"] > 0, s
    assert r["pipeline"]["finished"] is True

    for key in ("inputs", "train", "stylize"):
        assert r[key]["finished"] is True and r[key]["seconds"] > 0
        assert r[key]["peak_memory_gib"] is None  # a GPU figure: none on the CPU
    t, s = r["train"], r["stylize"]
    assert t["device"] == "cpu" and s["device"] == "cpu"
    assert [row["image_size"] for row in r["summary"]["train"]] == [16, 24]
    for row in r["summary"]["train"]:
        assert row["end_to_end_images_per_s"] > 0 and row["compute_only_images_per_s"] > 0
        assert row["efficiency"] == pytest.approx(
            row["end_to_end_images_per_s"] / row["compute_only_images_per_s"]
        )
    assert [row["size"] for row in r["summary"]["stylize"]] == [32, 64]
    for row in r["summary"]["stylize"]:
        assert row["ms_per_image"] > 0 and row["images_per_s"] == pytest.approx(1000 / row["ms_per_image"])
    assert "end_to_end_ms" not in s  # the CLI's CPU-only figure is not part of a GPU check

    # The report's running total and the files the device tool would bring back.
    assert "of 480] stage train_transfer: ok" in output and "exited 0" in output
    assert {p.name for p in (tmp / "returned").iterdir()} == {
        "bench_gpu.json",
        "gpu_check.log",
        "stage_logs.tar.gz",
    }


def test_without_cuda_it_stops_with_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "artstyle.bench", "gpu", "--device", "cpu", "--out", os.devnull],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no CUDA device") and "--allow-cpu" in lines[0]


def test_require_cuda(monkeypatch):
    with pytest.raises(gpu.NoCuda, match="no CUDA device"):
        gpu.require_cuda(torch.device("cpu"), allow_cpu=False)
    gpu.require_cuda(torch.device("cpu"), allow_cpu=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(gpu.NoCuda, match="--device cuda:0"):
        gpu.require_cuda(torch.device("cuda", 0), allow_cpu=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu.require_cuda(torch.device("cuda", 0), allow_cpu=False)


def test_device_info_on_cuda_reads_the_gpu(monkeypatch):
    props = SimpleNamespace(
        name="NVIDIA H200", major=9, minor=0, total_memory=141 * 2**30, multi_processor_count=132
    )
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: props)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(gpu, "driver_version", lambda: "580.159.04")
    d = gpu.device_info(torch.device("cuda"))
    assert d["name"] == "NVIDIA H200" and d["capability"] == "9.0" and d["memory_gib"] == 141
    assert d["multiprocessors"] == 132 and d["driver"] == "580.159.04" and d["cuda"] == torch.version.cuda


def test_stage_commands_follow_dvc_yaml_in_dependency_order():
    params = tiny_params()
    commands = gpu.stage_commands(DVC_YAML, params)
    names = [name for name, _ in commands]
    assert sorted(names) == sorted(DVC_YAML["stages"])
    for name, argv in commands:
        assert argv[0] == sys.executable and "${" not in " ".join(argv)
        # Every stage runs after the stages whose outputs it reads.
        deps = [str(d) for d in DVC_YAML["stages"][name].get("deps", [])]
        for other, stage in DVC_YAML["stages"].items():
            produced = gpu._paths(stage.get("outs")) + gpu._paths(stage.get("metrics"))
            if other != name and any(
                gpu._overlaps(gpu.interpolate(d, params), o) for d in deps for o in produced
            ):
                assert names.index(other) < names.index(name), (other, name)
    synth = dict(commands)["synthesize"]
    assert synth[synth.index("--root") + 1] == params["data"]["root"]


def test_stage_commands_errors():
    with pytest.raises(UserError, match=r"\$\{nope.x\}"):
        gpu.interpolate("python a.py ${nope.x}", {"data": {}})
    cycle = {
        "stages": {
            "a": {"cmd": "x", "deps": ["b.out"], "outs": ["a.out"]},
            "b": {"cmd": "y", "deps": ["a.out"], "outs": ["b.out"]},
        }
    }
    with pytest.raises(UserError, match="cycle"):
        gpu.stage_commands(cycle, {})
    order = {
        "stages": {
            "late": {"cmd": "python l.py", "deps": ["d/early/x"]},
            "early": {"cmd": "python e.py", "outs": [{"d/early": {"cache": False}}]},
        }
    }
    assert [n for n, _ in gpu.stage_commands(order, {})] == ["early", "late"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_and_pass_shellcheck(script):
    assert os.access(script, os.X_OK), f"{script} is not executable"
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_gpu_check_without_wheels_or_packages_says_how_to_get_them(tmp_path):
    """A Python that lacks the project's packages and no wheelhouse: one line naming the fix."""
    fake = tmp_path / "python3"
    # A stand-in interpreter: torch's version line works, every import check fails.
    fake.write_text(f'#!/bin/sh\ncase "$*" in *torch.version*) exec "{sys.executable}" "$@";; esac\nexit 1\n')
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake), "WHEELHOUSE": str(tmp_path / "none")}
    proc = subprocess.run(["bash", str(SCRIPTS[0])], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "tools/make_wheelhouse.sh" in proc.stderr
