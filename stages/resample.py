"""Stage `resample`: store index -> splits (train / val / test) and the classifier's resampled manifests."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.data.resample import build_manifests
from artstyle.fileio import save_figure, split_breakdowns, write_json
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.counts import class_counts_figure
from artstyle.runtime import seed_everything
from artstyle.stage import stage, stage_app

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(
        ..., help="directory to write: train.csv, val.csv, test.csv, never resampled"
    ),
    out: Path = typer.Option(
        ..., help="directory to write: the classifier's resampled train.csv and test.csv"
    ),
    metrics: Path = typer.Option(..., help="JSON: image totals before / after resampling"),
    counts: Path = typer.Option(..., help="JSON: images per style before / after (not a DVC metric)"),
    plot: Path = typer.Option(..., help="PNG: per-class counts before vs after"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    seed_everything(p.seed)
    summary = build_manifests(store, splits, out, p)
    totals, per_style = split_breakdowns(summary)
    write_metrics(metrics, totals, "metrics/resample.json")
    write_json(counts, per_style)
    real_only = "; real images, SMOTE adds the rest in oversample" if p.sampling_method != "random" else ""
    panels = {f"train (sampling: {p.sampling}{real_only})": (summary["train_before"], summary["train_after"])}
    if p.test_sampling != "none":
        panels[f"test (test_sampling: {p.test_sampling})"] = (summary["test_before"], summary["test_after"])
    save_figure(plot, class_counts_figure(panels))
    typer.echo(
        f"train {summary['train_total_before']} -> {summary['train_total_after']}, "
        f"val {summary['val_total']}, test {summary['test_total_before']} -> {summary['test_total_after']}"
    )


if __name__ == "__main__":
    app()
