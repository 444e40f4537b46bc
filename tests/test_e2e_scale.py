"""End to end at a tiny size, on one reproduced copy of the pipeline: a queued experiment grid run by
two DVC queue workers, the plots page rendered in headless Chromium, and a DVC remote round trip.

The module shares one `dvc repro` (about a minute) between the three tests. They run in file order;
the remote round trip goes last because it deletes and restores the cache and outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, chrome, chromium_or_skip, make_repo_copy, run

pytestmark = pytest.mark.e2e

GRID = {"sampling": ["none", "mean"], "classifier.class_weights": ["none", "balanced"]}


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """A tiny copy of the project after `dvc repro`, with the run committed (dvc.lock, metrics)."""
    repo, env, dvc, git = make_repo_copy(tmp_path_factory.mktemp("scale") / "repo")
    run(dvc + ["repro"], repo, env)
    run(git + ["add", "-A"], repo, env)
    run(git + ["commit", "-qm", "tiny run"], repo, env)
    return repo, env, dvc, git


def _queue_settled(status: str) -> bool:
    return not any(word in status for word in ("Queued", "Running"))


def test_queue_grid_runs_four_experiments(reproduced):
    repo, env, dvc, _ = reproduced
    sets = [arg for key, values in GRID.items() for arg in ("-S", f"{key}={','.join(values)}")]
    # Targeting evaluate_classifier: the grid only touches resample and the classifier stages.
    run(dvc + ["exp", "run", "--queue", "evaluate_classifier", *sets], repo, env)
    queued = run(dvc + ["queue", "status"], repo, env).stdout
    assert queued.count("Queued") == 4, queued

    run(dvc + ["queue", "start", "-j", "2"], repo, env)
    try:
        deadline = time.monotonic() + 600
        while not _queue_settled(status := run(dvc + ["queue", "status"], repo, env).stdout):
            assert time.monotonic() < deadline, f"queue still busy after 600 s:\n{status}"
            time.sleep(3)
        assert status.count("Success") == 4, status
    finally:
        run(dvc + ["queue", "stop"], repo, env)

    show = json.loads(run(dvc + ["exp", "show", "--json"], repo, env).stdout)
    combos = set()
    for commit in show:
        for exp in commit.get("experiments") or []:
            for revision in exp["revs"]:
                data = revision["data"]
                params = data["params"]["params.yaml"]["data"]
                metrics = data["metrics"]["metrics/classifier.json"]["data"]
                assert 0.0 <= metrics["balanced_accuracy"] <= 1.0
                combos.add((params["sampling"], params["classifier"]["class_weights"]))
    assert combos == {(s, w) for s in GRID["sampling"] for w in GRID["classifier.class_weights"]}

    table = run(dvc + ["exp", "show", "--md", "--only-changed"], repo, env).stdout
    assert "balanced_accuracy" in table and "class_weights" in table, table
    assert sum(line.startswith("| ├──") or line.startswith("| └──") for line in table.splitlines()) == 4, (
        table
    )


def test_plots_page_renders_every_plot(reproduced, tmp_path):
    repo, env, dvc, _ = reproduced
    browser = chromium_or_skip("plots-page test")
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.support.ui import WebDriverWait

    declared = json.loads(run(dvc + ["plots", "show", "--json"], repo, env).stdout)["data"]
    kinds = {plot_id: {r["type"] for r in renderers} for plot_id, renderers in declared.items()}
    images = [p for p, t in kinds.items() if "image" in t]
    vegas = [p for p, t in kinds.items() if "vega" in t]
    # The plots the issue names must be among them, or an empty page would pass.
    for wanted in (
        "plots/class_counts.png",
        "plots/classifier/confusion.png",
        "plots/reconstructions.png",
        "plots/style_prototypes.png",
        "plots/transfer_grid.png",
        "plots/classifier/predictions.csv",
    ):
        assert wanted in kinds, sorted(kinds)
    assert any(p.startswith("plots/clusters/") for p in images), images
    for live in ("classifier", "autoencoder", "transfer"):
        assert any(p.startswith(f"dvclive/{live}/plots/metrics/") for p in vegas), vegas
    # the autoencoder's per-epoch reconstructions (dvclive log_image): one image per step
    steps = [p for p in images if p.startswith("dvclive/autoencoder/plots/images/reconstructions/")]
    assert len(steps) == yaml.safe_load((repo / "params.yaml").read_text())["autoencoder"]["epochs"], images

    page_dir = repo / "dvc_plots"
    run(dvc + ["plots", "show", "-o", str(page_dir)], repo, env)
    page = (page_dir / "index.html").read_text()
    assert "cdn.jsdelivr.net" not in page, "the page must not need the network (see .dvc/plots_page.html)"

    driver = chrome(*browser, profile=str(tmp_path / "chrome-profile"), size=(1400, 1000))
    try:
        driver.get((page_dir / "index.html").as_uri())
        loaded_images = "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length"
        rendered_vega = "return document.querySelectorAll('.vega-embed canvas, .vega-embed svg.marks').length"
        WebDriverWait(driver, 60).until(
            lambda d: (
                d.execute_script(loaded_images) >= len(images)
                and d.execute_script(rendered_vega) >= len(vegas)
            )
        )
        assert driver.execute_script("return document.images.length") == len(images)
        broken = driver.execute_script(
            "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        assert broken == []
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        body = driver.find_element("tag name", "body").text.lower()
        assert "error" not in body, body[:2000]

        artifacts = Path(os.environ.get("TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))
        artifacts.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 16000))
        shot = artifacts / "plots_page.png"
        assert driver.save_screenshot(str(shot)), shot
        assert shot.stat().st_size > 10_000
    finally:
        driver.quit()


def _digests(repo: Path, roots: list[str]) -> dict[str, str]:
    out = {}
    for root in roots:
        for path in sorted((repo / root).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_remote_round_trip_is_byte_identical(reproduced, tmp_path):
    repo, env, dvc, _ = reproduced
    run(dvc + ["remote", "add", "-d", "shared", str(tmp_path / "remote")], repo, env)
    run(dvc + ["push"], repo, env)
    cached_outputs = ["data", "models"]  # the DVC-cached outputs (metrics and plots live in git)
    before = _digests(repo, cached_outputs)
    assert any(p.startswith("models/") for p in before) and any(p.startswith("data/store/") for p in before)

    for path in [*cached_outputs, ".dvc/cache"]:
        shutil.rmtree(repo / path)
    assert not (repo / "models").exists()
    run(dvc + ["pull"], repo, env)

    assert _digests(repo, cached_outputs) == before
    status = run(dvc + ["status"], repo, env).stdout
    assert "changed" not in status and "deleted" not in status, status
