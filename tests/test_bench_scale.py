"""`python -m artstyle.bench scale`: the plan of stages, the growth figures, a tiny run and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, tiny_params
from typer.testing import CliRunner

from artstyle.bench import scale
from artstyle.bench.cli import app

DVC_STAGES = list(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])


def _row(stage, s, images, seconds, rss, private=None, fixed=False):
    private = rss / 2 if private is None else private
    return {
        "stage": stage,
        "scale": s,
        "finished": True,
        "images": images,
        "seconds": seconds,
        "seconds_per_image": seconds / images,
        "peak_rss_mb": rss,
        "peak_private_mb": private,
        "fixed_cost": fixed,
    }


def test_growth_compares_the_largest_scale_with_the_smallest():
    rows = [
        _row("index", 2, 2000, 4.0, 300.0),
        _row("index", 1, 1000, 1.0, 200.0),  # out of order: sorted by scale
        _row("index", 8, 8000, 12.0, 900.0, private=400.0),
        {"stage": "index", "scale": 4, "finished": False},  # a failed scale is left out
        _row("cluster_latents", 1, 500, 2.0, 100.0),
        _row("train_transfer", 1, 240, 30.0, 700.0, fixed=True),
    ]
    g = scale.growth(rows)
    index = g["index"]
    assert (index["from_scale"], index["to_scale"]) == (1, 8)
    assert index["seconds_per_image_ratio"] == pytest.approx((12.0 / 8000) / (1.0 / 1000))
    assert index["peak_rss_ratio"] == pytest.approx(900.0 / 200.0)
    assert index["peak_private_ratio"] == pytest.approx(400.0 / 100.0)
    assert index["rss_bytes_per_image"] == pytest.approx((900.0 - 200.0) * 2**20 / 7000)
    assert index["private_bytes_per_image"] == pytest.approx((400.0 - 100.0) * 2**20 / 7000)
    assert g["cluster_latents"] == {"from_scale": None, "to_scale": None, "fixed_cost": False}
    assert g["train_transfer"]["fixed_cost"] is True and g["train_transfer"]["from_scale"] is None


def test_the_plan_runs_what_a_measured_stage_needs_unmeasured():
    params = scale.scale_params(tiny_params(), 1)
    steps = scale.plan(REPO, params, ["oversample_smote"])
    names = [s.name for s in steps]
    assert names[-1] == "oversample_smote" and {
        "synthesize",
        "index",
        "resample",
        "train_autoencoder",
    } <= set(names)
    assert [s.name for s in steps if s.measured] == ["oversample_smote"]
    smote = steps[-1].argv
    assert smote[smote.index("--out") + 1] == "data/oversampled_smote"
    assert all(not a.startswith("stages/") for s in steps for a in s.argv)  # the repository's scripts

    default = [s.name for s in scale.plan(REPO, params)]
    assert "train_judge" not in default, "the judges' fixed recipe runs only when asked for"
    assert set(default) == (set(DVC_STAGES) - {"train_judge"}) | {"oversample_smote"}
    assert set(scale.STAGES) == set(DVC_STAGES) | {"oversample_smote"}, "every stage says what it counts"


def test_scale_params_multiply_the_images_and_cut_the_budgets():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    p = scale.scale_params(raw, 4)
    assert p["synthesize"]["train_images"] == 4 * raw["synthesize"]["train_images"]
    assert p["synthesize"]["test_images"] == 4 * raw["synthesize"]["test_images"]
    assert p["autoencoder"]["epochs"] == 1 and p["transfer"]["steps"] <= 30
    assert p["classifier"]["backbone"] == "stylenet" and len(p["evaluate_transfer"]["real_styles"]) == 1
    assert raw == yaml.safe_load((REPO / "params.yaml").read_text()), "the params read are not changed"
    assert scale.scale_params(raw, 1, tiny=True)["transfer"]["steps"] <= tiny_params()["transfer"]["steps"]


def test_a_tiny_run_writes_the_json_the_plot_and_the_tables(tmp_path):
    out, plot = tmp_path / "bench_scale.json", tmp_path / "bench_scale.png"
    args = [
        "--tiny",
        "--scales",
        "1,2",
        "--stages",
        "synthesize,index,resample",
        "--workdir",
        str(tmp_path / "w"),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "artstyle.bench", "scale", *args, "--out", str(out), "--plot", str(plot)],
        cwd=REPO,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"ok", "scales", "machine", "rows", "growth", "budget", "base_train_images", "image_size"} <= set(
        r
    )
    assert r["ok"] is True and r["scales"] == [1, 2] and r["tiny"] is True
    assert {"cpu_count", "cpu_model", "ram_gb", "torch", "measured_at"} <= set(r["machine"])
    assert [(row["stage"], row["scale"]) for row in r["rows"]] == [
        (stage, s) for s in (1, 2) for stage in ("synthesize", "index", "resample")
    ]
    for row in r["rows"]:
        assert row["finished"] is True and row["returncode"] == 0
        assert row["seconds"] > 0 and row["images"] > 0 and row["per"]
        assert row["seconds_per_image"] == pytest.approx(row["seconds"] / row["images"])
        assert row["peak_rss_mb"] > 0 and row["peak_private_mb"] > 0 and row["hwm_mb"] > 0
    rows = {(row["stage"], row["scale"]): row for row in r["rows"]}
    assert rows["index", 2]["images"] > rows["index", 1]["images"]
    assert r["growth"] == json.loads(json.dumps(scale.growth(r["rows"])))
    assert set(r["growth"]) == {"synthesize", "index", "resample"}
    assert "| `index` | 2x / 1x |" in proc.stdout and "peak RSS MB" in proc.stdout
    assert not (tmp_path / "w" / "1x").exists(), "each scale's data is removed after it"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scales", "0,2"], "error: --scales: expected comma-separated integers >= 1"),
        (["--scales", "one"], "error: --scales: expected comma-separated integers >= 1"),
        (["--stages", "index,nope"], "error: --stages: unknown stage nope; allowed: synthesize, index"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(REPO)
    out = tmp_path / "bench_scale.json"
    result = CliRunner().invoke(app, ["scale", *args, "--workdir", str(tmp_path / "w"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output
    assert not out.exists()
