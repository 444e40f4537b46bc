"""End to end on a user's own folder that holds only some of the 27 styles (issue 13, part 4).

The whole `dvc repro` must run on as few as 2 styles with 1 test image each: the styles present in
the data define the run (classifier predictions and metrics, clusters, prototypes, the transfer
network's styles and its evaluation), the absent ones are reported once by `index`, and every
checkpoint keeps the full 27-style label map.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import run
from PIL import Image

from artstyle.headline import read_metrics
from artstyle.styles import LABEL_OF, STYLES
from artstyle.synthetic.generate import render_image

pytestmark = pytest.mark.e2e

PRESENT = ("Pop_Art", "Ukiyo_e")  # far apart in the label order, so an index/label mix-up shows
TRAIN_PER_STYLE = 6


def _write_folder(root, styles=PRESENT, train=TRAIN_PER_STYLE, test=1, size=24):
    for style in styles:
        for split, n in (("train", train), ("test", test)):
            folder = root / split / style
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(render_image(7, split, style, i, size)).save(folder / f"{i:03d}.png")


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '(\w+)'", output))


def test_pipeline_on_two_styles(repo_copy):
    repo, env, dvc, _ = repo_copy
    _write_folder(repo / "mine")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["root"] = "mine"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    proc = run(dvc + ["repro"], repo, env)
    out = proc.stdout + proc.stderr
    assert len(_ran(proc.stdout)) == 12, proc.stdout[-3000:]
    # Reported once, by index, with counts: 25 absent styles.
    absent_lines = [line for line in out.splitlines() if "no training images" in line]
    assert len(absent_lines) == 1 and "25 of 27" in absent_lines[0], absent_lines
    # synthesize does not render the unused embedded default when data.root is the user's own.
    assert not any((repo / "data/synthetic").rglob("*.png"))

    labels = sorted(LABEL_OF[s] for s in PRESENT)
    index = read_metrics(repo / "metrics/index.json")
    assert (
        index["classes"] == 2 and index["train_images"] == 2 * TRAIN_PER_STYLE and index["test_images"] == 2
    )

    # Classifier: predictions only among the trained styles, metrics over them.
    clf = read_metrics(repo / "metrics/classifier.json")
    assert clf["chance_accuracy"] == pytest.approx(0.5)
    assert all(np.isfinite(v) for v in clf.values())
    predictions = (repo / "plots/classifier/predictions.csv").read_text().splitlines()[1:]
    assert len(predictions) == 2
    assert all(any(s in line for s in PRESENT) for line in predictions), predictions
    per_class = json.loads((repo / "metrics/classifier_per_class.json").read_text())
    assert set(per_class) <= set(PRESENT), sorted(per_class)

    # Clusters: k = 0 means one cluster per style present.
    clusters = read_metrics(repo / "metrics/clusters.json")
    assert clusters["k"] == 2, clusters

    # Embedder and transfer network: trained on the present styles, full 27-style label map kept.
    for name in ("classifier", "judge", "embedder", "transfer"):
        ckpt = torch.load(repo / f"models/{name}.pt", map_location="cpu", weights_only=True)
        assert list(ckpt["classes"]) == list(STYLES)
        assert list(ckpt["trained_styles"]) == labels, name
    embedder = read_metrics(repo / "metrics/embedder.json")
    assert embedder["styles"] == 2 and 0 <= embedder["styles_improved"] <= 2

    transfer = read_metrics(repo / "metrics/transfer.json")
    assert transfer["styles"] == 2
    assert transfer["chance_rate"] == pytest.approx(0.5)
    assert 0 <= transfer["styles_above_chance"] <= 2
    assert 0.0 <= transfer["deception_rate"] <= 1.0
    assert all(np.isfinite(v) for v in transfer.values() if isinstance(v, float))
    for png in (
        "transfer_grid.png",
        "transfer_deception.png",
        "transfer_real.png",
        "style_prototypes.png",
        "classifier/confusion.png",
    ):
        assert (repo / "plots" / png).stat().st_size > 0, png

    # stylize refuses a style the network never learned, in one line, and accepts a present one.
    artstyle = [
        str(Path(env["PATH"].split(os.pathsep)[0]) / "artstyle"),
        "stylize",
        "mine/test/Pop_Art/000.png",
        "--model",
        "models/transfer.pt",
        "--size",
        "0",
    ]
    bad = subprocess.run(
        artstyle + ["--style", "Cubism", "-o", "bad.png"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert bad.returncode != 0 and not (repo / "bad.png").exists()
    message = bad.stdout + bad.stderr
    assert "Cubism" in message and "not trained" in message and "Traceback" not in message, message
    run(artstyle + ["--style", "Ukiyo_e", "-o", "ok.png"], repo, env)
    assert Image.open(repo / "ok.png").size == (24, 24)
