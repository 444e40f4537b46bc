"""Stage `resample`: store index -> train / val / test manifests, class-count metrics and plot."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.data.resample import build_manifests
from artstyle.io import save_figure, write_json
from artstyle.params import load_params
from artstyle.plots.counts import class_counts_figure
from artstyle.runtime import seed_everything

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    out: Path = typer.Option(..., help="manifests directory to write (train.csv, val.csv, test.csv)"),
    metrics: Path = typer.Option(..., help="JSON: class counts before / after resampling"),
    plot: Path = typer.Option(..., help="PNG: per-class counts before vs after"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    seed_everything(p.seed)
    summary = build_manifests(store, out, p)
    write_json(metrics, summary)
    panels = {f"train (sampling: {p.sampling})": (summary["train_before"], summary["train_after"])}
    if p.test_sampling != "none":
        panels[f"test (test_sampling: {p.test_sampling})"] = (summary["test_before"], summary["test_after"])
    save_figure(plot, class_counts_figure(panels))
    typer.echo(
        f"train {summary['train_total_before']} -> {summary['train_total_after']}, "
        f"val {summary['val_total']}, test {summary['test_total_before']} -> {summary['test_total_after']}"
    )


if __name__ == "__main__":
    app()
