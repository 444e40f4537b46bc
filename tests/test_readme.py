"""The README documents what the project has: every parameter, every stage, every metrics file."""

from __future__ import annotations

import importlib.util

import yaml
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _params_table_rows():
    spec = importlib.util.spec_from_file_location("params_table", REPO / "tools" / "params_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rows((REPO / "params.yaml").read_text(encoding="utf-8"))


def test_every_param_is_in_the_readme_table():
    rows = _params_table_rows()
    assert len(rows) > 50  # the parser found the keys (a broken regex would make this test vacuous)
    missing = [key for key, _, _ in rows if f"| `{key}` |" not in README]
    assert missing == [], f"README parameter table lacks {missing}: regenerate it with tools/params_table.py"


def test_every_param_row_has_a_meaning():
    undocumented = [key for key, _, comment in _params_table_rows() if not comment]
    assert undocumented == [], f"params.yaml keys without a comment: {undocumented}"


def test_every_stage_and_metrics_file_is_in_the_readme():
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    for stage, spec in dvc["stages"].items():
        assert f"`{stage}`" in README, stage
        for entry in spec.get("metrics", []):
            path = next(iter(entry)) if isinstance(entry, dict) else entry
            if path.startswith("metrics/"):
                assert path in README, path


def test_the_readme_table_lists_no_removed_param():
    import re

    keys = {key for key, _, _ in _params_table_rows()}
    section = README.split("## Parameters", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z_.]+)` \| `", section, flags=re.M)
    assert len(listed) > 50
    assert sorted(set(listed) - keys) == [], "README rows for keys params.yaml no longer has"
