"""tools/imbalance_study.py: the queued grid it asks DVC for, and the report it derives from
`dvc exp show --json` (the shape DVC 3 prints: workspace, then the baseline with its experiments)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import imbalance_study as study  # noqa: E402


def _exp(name: str, bal: float, seconds: float, images: int = 3602, state: str = "success") -> dict:
    metrics = {"balanced_accuracy": bal, "macro_f1": bal - 0.1, "minority_recall": bal - 0.2, "accuracy": 0.9}
    return {
        "executor": {"state": state},
        "revs": [
            {
                "rev": "abc",
                "name": name,
                "data": {
                    "params": {"params.yaml": {"data": {"seed": 1}}},
                    "metrics": {
                        "metrics/classifier.json": {"data": metrics},
                        "metrics/classifier_cost.json": {
                            "data": {"train_images_per_epoch": images, "train_seconds": seconds}
                        },
                    },
                },
            }
        ],
    }


def _show(*exps: dict) -> list[dict]:
    return [
        {"rev": "workspace", "name": None, "data": {"metrics": {}}, "experiments": None},
        {"rev": "HEAD", "name": "main", "data": {"metrics": {}}, "experiments": list(exps)},
    ]


def test_queue_is_seed_major_with_one_name_per_run():
    cmds = study.queue_commands(["plain", "smote-200"], [1, 2])
    names = [c[c.index("-n") + 1] for c in cmds]
    assert names == ["plain-s1", "smote-200-s1", "plain-s2", "smote-200-s2"]
    smote = cmds[1]
    assert smote[:5] == ["dvc", "exp", "run", "--queue", "evaluate_classifier"]
    sets = [smote[i + 1] for i, a in enumerate(smote) if a == "-S"]
    assert sets == [
        "classifier.backbone=stylenet",
        "classifier.freeze=none",
        "classifier.epochs=8",
        "classifier.warmup_epochs=1",  # the study's classifier, pinned in every run
        "classifier.logit_adjustment=false",
        "sampling=200",
        "resample.fill_only=true",
        "sampling_method=smote",
        "seed=1",
    ]


def test_only_the_run_equal_to_params_yaml_is_forced():
    params = {
        "seed": 42,
        "sampling": "none",
        "classifier": {
            "logit_adjustment": True,
            "backbone": "stylenet",
            "freeze": "none",
            "epochs": 8,
            "warmup_epochs": 1,
        },
    }
    cmds = study.queue_commands(["logit-adjustment", "plain"], [42, 43], params)
    forced = [c[c.index("-n") + 1] for c in cmds if "-f" in c]
    assert forced == ["logit-adjustment-s42"]


def test_every_strategy_parses_as_params(tmp_path):
    """Every -S override of the grid names a real key with an allowed value."""
    import yaml

    from artstyle.params import parse_params

    base = yaml.safe_load((REPO / "params.yaml").read_text())
    for name, (overrides, _) in study.STRATEGIES.items():
        raw = json.loads(json.dumps(base))
        for key, value in overrides.items():
            *parents, leaf = key.split(".")
            node = raw
            for part in parents:
                node = node[part]
            assert leaf in node, (name, key)
            node[leaf] = yaml.safe_load(value)
        parse_params(raw)


def test_report_aggregates_seeds_and_says_what_is_beyond_the_spread(tmp_path):
    show = _show(
        _exp("plain-s1", 0.60, 100),
        _exp("plain-s2", 0.62, 110),
        _exp("plain-s3", 0.64, 120),
        _exp("logit-adjustment-s1", 0.80, 100),
        _exp("logit-adjustment-s2", 0.82, 100),
        _exp("logit-adjustment-s3", 0.84, 100),
        _exp("sampler-s1", 0.78, 100),
        _exp("sampler-s2", 0.82, 100),
        _exp("sampler-s3", 0.83, 100),
        _exp("not-a-study-run", 0.99, 1),
        _exp("plain-s4", 0.99, 1, state="running"),  # shows its baseline's metrics until it ends
        _exp("sampler-s5", 0.99, 1, state="queued"),
    )
    rows = study.collect(study.experiments(show))
    assert list(rows) == ["logit-adjustment", "sampler", "plain"]  # best balanced accuracy first
    plain = rows["plain"]
    assert plain["n"] == 3 and plain["balanced_accuracy"]["mean"] == pytest.approx(0.62)
    assert plain["balanced_accuracy"]["std"] == pytest.approx(0.02)  # sample standard deviation
    assert plain["train_seconds"]["mean"] == pytest.approx(110)
    table = study.markdown(rows)
    assert "| `plain` | 3 | 0.620 ± 0.020 |" in table
    assert "-0.200, beyond the spread" in table
    assert "-0.010, within the spread" in table  # sampler: overlapping +-1 sd bars

    (tmp_path / "imbalance.md").write_text(
        "a\n<!-- imbalance-study:begin -->\nold\n<!-- imbalance-study:end -->\nb\n"
    )
    (tmp_path / "show.json").write_text(json.dumps(show))
    rc = study.main(
        [
            "report",
            "--show-json",
            str(tmp_path / "show.json"),
            "--out",
            str(tmp_path / "s.json"),
            "--plot",
            str(tmp_path / "s.png"),
            "--page",
            str(tmp_path / "imbalance.md"),
        ]
    )
    assert rc == 0
    page = (tmp_path / "imbalance.md").read_text()
    assert "old" not in page and "| `sampler` | 3 |" in page and page.endswith("end -->\nb\n")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "s.json").read_text())["plain"]["seeds"]["1"]["balanced_accuracy"] == 0.60


def test_report_without_study_runs_is_an_error(tmp_path, capsys):
    (tmp_path / "show.json").write_text(json.dumps(_show(_exp("other", 0.5, 1))))
    assert study.main(["report", "--show-json", str(tmp_path / "show.json")]) == 2
    assert "no finished experiments" in capsys.readouterr().err


def test_the_report_rewrites_the_study_block_of_docs_imbalance():
    root = Path(__file__).resolve().parents[1]
    assert study.PAGE == root / "docs" / "imbalance.md"
    text = study.PAGE.read_text(encoding="utf-8")
    assert text.count(study.BEGIN) == 1 and text.count(study.END) == 1, "the page keeps one study block"
    assert text.index(study.BEGIN) < text.index(study.END)
