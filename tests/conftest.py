"""Shared test fixtures: tiny params and a temporary copy of the repository for end-to-end DVC runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
import yaml

from artstyle.bench.tiny import TINY_OVERRIDES  # noqa: F401  (tests import it from here)
from artstyle.bench.tiny import tiny_params as apply_tiny

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def one_thread():
    """torch on one thread for the test: tiny models on a shared CPU spend more on spinning and
    hand-offs than on work with several threads (a 150-step overfit took 13x longer with 2 than 1)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_params(overrides: dict | None = None) -> dict:
    """The repository's params.yaml with tiny sizes (only keys that exist in it are overridden)."""
    return apply_tiny(yaml.safe_load((REPO / "params.yaml").read_text()), overrides)


def _project_files() -> list[str]:
    """Tracked files plus untracked, not ignored ones: what a fresh clone would hold after a commit."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [f for f in out if (REPO / f).is_file()]


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def make_repo_copy(dst: Path) -> tuple[Path, dict, list[str], list[str]]:
    """A git-initialised copy of the project at ``dst`` with tiny params; returns (path, env, dvc, git)."""
    for rel in _project_files():
        if rel.startswith(("metrics/", "plots/", "dvclive/")) or rel == "dvc.lock":
            continue  # start from an un-run pipeline
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    (dst / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(dst / "src")
    env["MPLBACKEND"] = "Agg"
    env["DVC_NO_ANALYTICS"] = "1"
    # dvc exp run commits experiment refs itself: give it an identity even where git has none configured.
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "test"
        env[f"GIT_{role}_EMAIL"] = "test@example.com"
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    run(["git", "init", "-q"], dst, env)
    run(git + ["add", "-A"], dst, env)
    run(git + ["commit", "-qm", "init"], dst, env)
    return dst, env, [sys.executable, "-m", "dvc"], git


@pytest.fixture
def repo_copy(tmp_path: Path):
    """A fresh tiny copy of the repository for one test (see :func:`make_repo_copy`)."""
    return make_repo_copy(tmp_path / "repo")


def tiny_transfer_net(seed: int = 0, **args):
    """A tiny random transfer network whose styles lie far apart, as after training (3x3 widths 4/8/16)."""
    import torch

    from artstyle.models.transfer import StyleTransferNet

    torch.manual_seed(seed)
    net = StyleTransferNet(**{"channels": [4, 8, 16], "residual_blocks": 1, "style_dim": 6, **args})
    with torch.no_grad():
        net.style_embedding.weight.normal_(0, 3)
    return net


def chromium_or_skip(test: str) -> tuple[str, str]:
    """(chromium, chromedriver) paths; skips ``test`` where they are missing, except under CI,
    which must run every browser test (.ci/run installs them)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "Chromium + chromedriver not installed (Debian: apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the {test}")
    pytest.skip(reason)


def chrome(chromium: str, chromedriver: str, profile: str, size: tuple[int, int] = (1280, 900)):
    """Headless Chromium as the machine allows it (no sandbox as root, no background networking on a
    closed network), with its browser and network logs on (Network.requestWillBeSent) and a
    viewport of ``size``; ``profile`` is a fresh --user-data-dir."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    # The viewport itself at ``size`` (--window-size counts the window's frame in some versions).
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
    )
    return driver
