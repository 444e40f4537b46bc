"""The numbers a person compares between experiments: each DVC metrics file's headline keys.

``dvc exp show`` and ``dvc metrics show`` make one column of every key of every DVC metrics file,
so a metrics file holds only the few numbers that say how one part of the pipeline did (declared
here, in one place). Everything else a stage reports (baselines, chance levels, shuffled-label
controls, sizes, diagnostics) goes to a sibling details file, ``<name>_details.json`` next to the
metrics file, which dvc.yaml declares as a plain output committed to git (``cache: false``), like
the per-style counts. :func:`write_metrics` is the one writer that splits them; the union of the
two files is what the stage computed, value for value. tests/test_metrics_contract.py checks that
every metrics file of dvc.yaml is declared here and holds no other key; tools/exp_table.py prints
these keys as the compact ``make exp`` / ``make metrics`` tables (docs/experiments.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from artstyle.fileio import read_json, write_json

HEADLINE: dict[str, tuple[str, ...]] = {
    "metrics/index.json": ("images", "rejected"),
    "metrics/resample.json": ("train_total_before", "train_total_after"),
    "metrics/oversample.json": ("train_total", "synthetic_total"),
    # tools/imbalance_study.py reads train_images_per_epoch and train_seconds from here
    "metrics/classifier_cost.json": (
        "train_images_per_epoch",
        "train_seconds",
        "train_images_per_second",
        "synthetic_images",
    ),
    # tools/imbalance_study.py reads all four from here
    "metrics/classifier.json": ("balanced_accuracy", "minority_recall", "macro_f1", "accuracy"),
    "metrics/autoencoder.json": ("test_psnr", "test_ssim", "test_sharpness"),
    "metrics/clusters.json": ("nmi", "ari", "hungarian_accuracy", "vgg_nmi", "vgg_ari", "pixel_nmi"),
    "metrics/embedder.json": ("prototype_gram_distance",),
    "metrics/transfer.json": (
        "deception_rate",
        "deception_rate_top3",
        "styles_above_chance",
        "colour_only_deception_rate",
        "judge_balanced_accuracy",
        "content_ssim",
        # the second judge (a VGG19 linear probe) on the same transferred images
        "vgg_deception_rate",
        "vgg_deception_rate_top3",
        "vgg_styles_above_chance",
        "vgg_colour_only_deception_rate",
        "vgg_judge_balanced_accuracy",
    ),
}


def details_path(metrics_path: str | Path) -> Path:
    """``metrics/x.json`` -> ``metrics/x_details.json``: where the non-headline keys go."""
    p = Path(metrics_path)
    return p.with_name(f"{p.stem}_details{p.suffix}")


def split_headline(values: Mapping[str, Any], declared: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the keys ``HEADLINE[declared]`` names, every other key), each in the stage's order."""
    keys = HEADLINE[declared]
    headline = {k: v for k, v in values.items() if k in keys}
    details = {k: v for k, v in values.items() if k not in keys}
    return headline, details


def write_metrics(path: str | Path, values: Mapping[str, Any], declared: str) -> None:
    """Write the headline keys of ``declared`` (a key of HEADLINE) to ``path`` and the rest, if any,
    to :func:`details_path` of it, both as :func:`artstyle.fileio.write_json` writes JSON."""
    headline, details = split_headline(values, declared)
    write_json(path, headline)
    if details:
        write_json(details_path(path), details)


def read_metrics(path: str | Path) -> dict[str, Any]:
    """A metrics file and its details file (if there is one) as one dict: what the stage computed."""
    values = dict(read_json(path))
    extra = details_path(path)
    if extra.exists():
        values.update(read_json(extra))
    return values
