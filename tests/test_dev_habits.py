"""The contributor checks agree: pre-commit's hooks call the same commands as `make lint`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO


def _make_recipe(target: str) -> str:
    out = subprocess.run(
        ["make", "-n", target, "VENV=.venv"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout


def test_pre_commit_config_is_valid_and_local_only():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # hook repositories cannot be fetched here
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "pre-commit").exists():
        subprocess.run(
            [str(bin_dir / "pre-commit"), "validate-config", ".pre-commit-config.yaml"], cwd=REPO, check=True
        )


def test_make_lint_checks_formatting_and_runs_what_the_hooks_run():
    recipe = _make_recipe("lint")
    assert re.search(r"ruff check \S*src", recipe) and re.search(r"ruff format --check \S*src", recipe), (
        recipe
    )
    hooks = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    for hook in hooks:
        command = hook["entry"].replace(".venv/bin/", "").replace(" --force-exclude", "")
        if command.startswith("ruff") or "stage_deps" in command:
            assert command in recipe, f"hook {hook['id']} runs `{command}`, which `make lint` does not"


def test_requires_python_matches_the_readme():
    pyproject = (REPO / "pyproject.toml").read_text()
    minimum = re.search(r'requires-python = ">=(3\.\d+)"', pyproject).group(1)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"Python {re.escape(minimum)}\b", readme), (
        f"README does not say Python {minimum} (pyproject)"
    )
    assert sys.version_info >= tuple(int(p) for p in minimum.split("."))
