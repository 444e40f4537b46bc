"""End to end with the real tools: `dvc repro` at a tiny size, then `dvc exp run -S sampling=mean`."""

from __future__ import annotations

import json

import pytest
from conftest import run

from artstyle.data.manifests import read_manifest

pytestmark = pytest.mark.e2e


def _counts(manifest_path) -> dict[int, int]:
    _, labels = read_manifest(manifest_path)
    values, counts = __import__("numpy").unique(labels, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def test_repro_then_experiment(repo_copy):
    repo, env, dvc, git = repo_copy

    run(dvc + ["repro"], repo, env)
    for path in ["metrics/index.json", "metrics/resample.json", "data/manifests/train.csv", "data/store/images.npy",
                 "plots/synthetic_samples.png", "plots/class_counts.png"]:
        assert (repo / path).exists(), path
    index_metrics = json.loads((repo / "metrics/index.json").read_text())
    assert index_metrics["classes"] == 27
    assert index_metrics["rejected"] == 0

    status = run(dvc + ["status"], repo, env).stdout
    assert "changed" not in status and "modified" not in status, status
    before = _counts(repo / "data/manifests/train.csv")
    assert len(set(before.values())) > 1  # imbalanced before resampling

    run(git + ["add", "-A"], repo, env)
    run(git + ["commit", "-qm", "baseline run"], repo, env)

    # Targeting `resample` keeps the test fast; the downstream stages re-run the same way from there.
    run(dvc + ["exp", "run", "resample", "-S", "sampling=mean"], repo, env)
    after = _counts(repo / "data/manifests/train.csv")
    assert set(after) == set(before)
    assert len(set(after.values())) == 1  # every class now has the same count
    assert next(iter(after.values())) == round(sum(before.values()) / len(before))

    resample_metrics = json.loads((repo / "metrics/resample.json").read_text())
    assert resample_metrics["train_total_after"] == sum(after.values())
    assert resample_metrics["train_total_before"] == sum(before.values())

    diff = json.loads(run(dvc + ["metrics", "diff", "--json"], repo, env).stdout)
    changed = diff.get("metrics/resample.json", {})
    assert "train_total_after" in changed, diff
    assert changed["train_total_after"]["old"] == sum(before.values())
    assert changed["train_total_after"]["new"] == sum(after.values())
