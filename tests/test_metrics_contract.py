"""DVC metrics files hold their declared headline keys only, so experiments stay comparable.

Every metrics file of dvc.yaml has a headline set in src/artstyle/headline.py and, where the file
is in the repository, holds no other key; the rest of what a stage reports goes to its details
file, a committed plain output of the same stage. The compact tables of `make exp` and
`make metrics` (tools/exp_table.py) fit 120 columns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from artstyle.fileio import read_json, write_json
from artstyle.headline import HEADLINE, details_path, read_metrics, split_headline, write_metrics

sys.path.insert(0, str(REPO / "tools"))
import exp_table  # noqa: E402
import imbalance_study  # noqa: E402

WIDTH = 120


def _name(entry) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else entry


def _stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _declared_metrics() -> dict[str, str]:
    """{metrics file: stage} of dvc.yaml."""
    return {_name(m): name for name, s in _stages().items() for m in s.get("metrics", [])}


def undeclared_keys(path: Path, declared: str) -> list[str]:
    """The keys of the metrics file ``path`` beyond ``HEADLINE[declared]`` (nested keys dotted)."""

    def flat(obj, prefix=""):
        for k, v in obj.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]

    return [k for k in flat(read_json(path)) if k not in HEADLINE[declared]]


def test_every_metrics_file_has_a_headline_set():
    assert set(_declared_metrics()) == set(HEADLINE)


@pytest.mark.parametrize("path", sorted(HEADLINE))
def test_metrics_file_holds_only_its_headline_keys(path):
    if not (REPO / path).exists():
        pytest.skip(f"{path} is not in the repository (DVC-cached)")
    assert undeclared_keys(REPO / path, path) == [], (
        f"{path} has keys beyond its headline set: declare them in src/artstyle/headline.py "
        "or write the stage's metrics with artstyle.headline.write_metrics (the rest goes to the details file)"
    )


def test_the_checker_finds_an_undeclared_key(tmp_path):
    """A stage that adds a key to a metrics file without declaring it fails the check above."""
    path = tmp_path / "classifier.json"
    write_json(path, {"balanced_accuracy": 0.5, "accuracy": 0.6, "new_score": 0.1, "nested": {"a": 1}})
    assert undeclared_keys(path, "metrics/classifier.json") == ["new_score", "nested.a"]
    write_json(path, {"balanced_accuracy": 0.5})
    assert undeclared_keys(path, "metrics/classifier.json") == []


def test_details_files_are_committed_outputs_of_the_metrics_stage():
    stages, metrics = _stages(), _declared_metrics()
    for path, stage in metrics.items():
        details = details_path(path).as_posix()
        outs = {_name(o): o for o in stages[stage].get("outs", [])}
        if details in outs:
            assert outs[details][details] == {"cache": False}, details
            assert (REPO / details).exists() or not (REPO / path).exists(), details
        else:
            assert not (REPO / details).exists(), f"{details} exists but dvc.yaml does not declare it"
    # and no stage declares a details file of a metrics file it does not write
    for name, s in stages.items():
        for out in map(_name, s.get("outs", [])):
            if out.endswith("_details.json"):
                stem = out[: -len("_details.json")] + ".json"
                assert metrics.get(stem) == name, out


def test_dvclive_summaries_are_not_dvc_metrics():
    """dvclive's last-epoch summaries (losses, lr, step) would be a dozen more columns."""
    assert not any(p.startswith("dvclive/") for p in _declared_metrics())


def test_the_imbalance_study_reads_headline_keys():
    """tools/imbalance_study.py builds its table from `dvc exp show --json`: DVC metrics only."""
    assert set(imbalance_study.METRICS) <= set(HEADLINE["metrics/classifier.json"])
    assert set(imbalance_study.COST) <= set(HEADLINE["metrics/classifier_cost.json"])


# ---------------------------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------------------------


def test_write_metrics_splits_headline_from_details(tmp_path):
    values = {
        "accuracy": 0.96,
        "balanced_accuracy": 0.95,
        "chance_accuracy": 1 / 27,
        "macro_f1": 0.9,
        "histogram_baseline_accuracy": 0.58,
        "minority_recall": 0.94,
    }
    path = tmp_path / "m" / "classifier.json"
    write_metrics(path, values, "metrics/classifier.json")
    details = tmp_path / "m" / "classifier_details.json"
    assert details_path(path) == details
    headline, rest = split_headline(values, "metrics/classifier.json")
    # each file keeps the stage's order, and the bytes write_json gives each part
    assert list(read_json(path)) == ["accuracy", "balanced_accuracy", "macro_f1", "minority_recall"]
    assert list(read_json(details)) == ["chance_accuracy", "histogram_baseline_accuracy"]
    assert path.read_text() == json.dumps(headline, indent=2) + "\n"
    assert details.read_text() == json.dumps(rest, indent=2) + "\n"
    assert read_metrics(path) == values


def test_write_metrics_writes_no_details_file_when_all_is_headline(tmp_path):
    path = tmp_path / "classifier_cost.json"
    values = {"train_images_per_epoch": 10, "train_seconds": 1.5}
    write_metrics(path, values, "metrics/classifier_cost.json")
    assert read_json(path) == values and not details_path(path).exists()


def test_details_path_of_a_name_without_suffix():
    assert details_path("out/x") == Path("out/x_details")


# ---------------------------------------------------------------------------------------------
# make exp / make metrics
# ---------------------------------------------------------------------------------------------


def _show(n_experiments: int) -> list[dict]:
    def rev(name, batch):
        metrics = {
            path: {"data": {k: (1234 if "images" in k else 0.123456789) for k in keys}}
            for path, keys in HEADLINE.items()
        }
        params = {"params.yaml": {"data": {"seed": 42, "evaluate_classifier": {"batch_size": batch}}}}
        return {"rev": f"{name:0<40}", "name": name, "data": {"params": params, "metrics": metrics}}

    exps = [{"revs": [rev(f"exp-{i:05d}", 100 + i)], "executor": None} for i in range(n_experiments)]
    workspace = rev("workspace", 256)
    workspace["rev"], workspace["name"] = "workspace", None
    return [workspace, {**rev("main", 256), "experiments": exps}]


def test_exp_table_fits_the_width_and_shows_every_headline_key():
    text = exp_table.render(exp_table.experiments(_show(12)), WIDTH)
    lines = text.splitlines()
    assert max(map(len, lines)) <= WIDTH
    blocks = text.split("\n\n")
    assert len(blocks) > 1  # 14 columns do not fit one block
    shown = {name for block in blocks for name in block.splitlines()[0].split()[1:]}
    assert shown == {"workspace", "main", *(f"exp-{i:05d}" for i in range(12))}
    for block in blocks:
        labels = [
            line.split()[-1 - len(block.splitlines()[0].split()[1:])] for line in block.splitlines()[1:]
        ]
        assert labels[0] == "evaluate_classifier.batch_size"  # params that differ come first
        assert labels[1:] == [k for keys in HEADLINE.values() for k in keys]
    assert "seed" not in text  # the same in every experiment


def test_exp_table_formats_numbers_compactly():
    assert [exp_table.fmt(v) for v in (3602, 0.9532063808751734, 23.781926690170756, 96462.2, None)] == [
        "3602",
        "0.9532",
        "23.78",
        "96462",
        "-",
    ]


def _run_tool(*args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["COLUMNS"] = str(WIDTH)
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "exp_table.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(not (REPO / ".dvc").is_dir(), reason="needs the DVC repository")
def test_make_exp_and_make_metrics_fit_120_columns_on_the_repo():
    for args in (("exp",), ("metrics",)):
        out = _run_tool(*args)
        assert out.strip() and max(map(len, out.splitlines())) <= WIDTH, args
    exp = _run_tool("exp")
    for key in ("balanced_accuracy", "test_psnr", "nmi", "deception_rate", "content_ssim"):
        assert f" {key} " in exp, key
