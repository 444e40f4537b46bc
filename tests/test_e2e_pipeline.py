"""End to end with the real tools, at a tiny size: `dvc repro`, a forced rerun that must change no
bytes, then `dvc exp run -S sampling=mean`, which must rerun exactly the stages `sampling` affects."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import yaml
from conftest import run

from artstyle.data.manifests import read_manifest
from artstyle.headline import read_metrics

pytestmark = pytest.mark.e2e

# `sampling` is the classifier's concern: resample writes new classifier manifests, oversample
# passes them on (random), the classifier retrains and is re-evaluated. The transfer evaluation's
# judge is trained apart by a fixed recipe (train_judge), so nothing of the transfer side reruns.
SAMPLING_STAGES = {"resample", "oversample", "train_classifier", "evaluate_classifier"}


def _counts(manifest_path) -> dict[int, int]:
    _, labels = read_manifest(manifest_path)
    values, counts = np.unique(labels, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '(\w+)'", output))


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_repro_rerun_and_experiment(repo_copy):
    repo, env, dvc, git = repo_copy

    first = run(dvc + ["repro"], repo, env).stdout
    assert len(_ran(first)) == 12, first[-2000:]
    for path in [
        "metrics/index.json",
        "metrics/resample.json",
        "data/manifests/train.csv",
        "data/splits/val.csv",
        "data/store/images.npy",
        "plots/synthetic_samples.png",
        "plots/class_counts.png",
    ]:
        assert (repo / path).exists(), path
    index_metrics = read_metrics(repo / "metrics/index.json")  # with index_details.json
    assert index_metrics["classes"] == 27 and index_metrics["rejected"] == 0
    assert all(not isinstance(v, dict) for v in index_metrics.values()), "per-style counts are not metrics"

    status = run(dvc + ["status"], repo, env).stdout
    assert "changed" not in status and "modified" not in status, status
    run(git + ["add", "-A"], repo, env)
    run(git + ["commit", "-qm", "baseline run"], repo, env)

    # Outputs are a function of their inputs, bytes included: forcing the autoencoder (and the
    # stages before it) to run again rewrites the same files, so nothing downstream is stale.
    model = repo / "models/autoencoder.pt"
    before = _md5(model)
    forced = run(dvc + ["repro", "-f", "train_autoencoder"], repo, env).stdout
    assert "train_autoencoder" in _ran(forced)
    assert _md5(model) == before
    again = run(dvc + ["repro"], repo, env).stdout
    assert not _ran(again), again[-2000:]

    # A different autoencoder (new bytes) reruns oversample, which under sampling_method random
    # writes the same train set, so the classifier is not retrained.
    classifier = _md5(repo / "models/classifier.pt")
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["autoencoder"]["loss_mix"] = raw["autoencoder"]["loss_mix"] + 0.1
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    changed_ae = run(dvc + ["repro", "evaluate_classifier"], repo, env).stdout
    assert _ran(changed_ae) == {"train_autoencoder", "oversample"}, changed_ae[-2000:]
    assert _md5(model) != before
    assert _md5(repo / "models/classifier.pt") == classifier
    # Back to the baseline: git restores params, lock and the git-tracked outputs (metrics, plots,
    # dvclive), DVC the cached ones (the autoencoder).
    run(git + ["checkout", "--", "."], repo, env)
    run(dvc + ["checkout"], repo, env)
    status = run(dvc + ["status"], repo, env).stdout
    assert "changed" not in status and "modified" not in status, status

    base_before = (repo / "data/splits/train.csv").read_bytes()
    train_before = _counts(repo / "data/manifests/train.csv")
    assert len(set(train_before.values())) > 1  # imbalanced before resampling

    exp = run(dvc + ["exp", "run", "-S", "sampling=mean"], repo, env).stdout
    assert _ran(exp) == SAMPLING_STAGES, exp[-3000:]
    assert (repo / "data/splits/train.csv").read_bytes() == base_before
    after = _counts(repo / "data/manifests/train.csv")
    assert set(after) == set(train_before)
    assert len(set(after.values())) == 1  # every class now has the same count
    assert next(iter(after.values())) == round(sum(train_before.values()) / len(train_before))

    resample_metrics = json.loads((repo / "metrics/resample.json").read_text())
    assert resample_metrics["train_total_after"] == sum(after.values())
    assert resample_metrics["train_total_before"] == sum(train_before.values())

    diff = json.loads(run(dvc + ["metrics", "diff", "--json"], repo, env).stdout)
    changed = diff.get("metrics/resample.json", {})
    assert "train_total_after" in changed, diff
    assert changed["train_total_after"]["old"] == sum(train_before.values())
    assert changed["train_total_after"]["new"] == sum(after.values())
    assert "metrics/autoencoder.json" not in diff and "metrics/clusters.json" not in diff

    # SMOTE through DVC: the same targets, synthetic images instead of repeats, and neither the
    # autoencoder nor anything but the classifier's stages (and its judge's) rerun.
    smote = run(dvc + ["exp", "run", "-S", "sampling=max", "-S", "sampling_method=smote"], repo, env).stdout
    assert _ran(smote) == SAMPLING_STAGES, smote[-3000:]
    meta = json.loads((repo / "data/oversampled/meta.json").read_text())
    store_rows = len(np.load(repo / "data/store/images.npy", mmap_mode="r"))
    assert meta["method"] == "smote" and meta["store_rows"] == store_rows and meta["synthetic_rows"] > 0
    rows, labels = read_manifest(repo / "data/oversampled/train.csv")
    assert len(set(np.unique(labels, return_counts=True)[1].tolist())) == 1  # every style at the max
    assert (rows >= store_rows).sum() == meta["synthetic_rows"]
    for manifest in ("data/splits/val.csv", "data/manifests/test.csv"):
        assert (read_manifest(repo / manifest)[0] < store_rows).all(), manifest
    cost = json.loads((repo / "metrics/classifier_cost.json").read_text())
    assert cost["synthetic_images"] == meta["synthetic_rows"] and cost["train_images_per_epoch"] == len(rows)
