"""index stage: decode every image of --root (ImageFolder, ArtGAN or HF parquet) once into the store at --out."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.data.index import build_store
from artstyle.fileio import split_breakdowns, write_json
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.stage import stage, stage_app

app = stage_app()


@app.command()
@stage
def main(
    root: Path = typer.Option(
        ...,
        help="WikiArt: ImageFolder tree (train/, test/), ArtGAN release or HF parquet shards (data.format)",
    ),
    out: Path = typer.Option(..., help="store directory to (re)build"),
    metrics: Path = typer.Option(..., help="metrics JSON: totals (images, rejected, duplicates, classes)"),
    counts: Path = typer.Option(..., help="JSON: images per style in train and test (not a DVC metric)"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    result = build_store(
        root,
        out,
        p.data.image_size,
        p.index.max_pixels,
        p.index.workers,
        format=p.data.format,
        test_fraction=p.data.test_fraction,
        split_seed=p.data.split_seed,
    )
    totals, per_style = split_breakdowns(result.metrics)
    write_metrics(metrics, totals, "metrics/index.json")
    write_json(counts, per_style)
    m = result.metrics
    how = "detected" if p.data.format == "auto" else "data.format"
    split = (
        f", test split {p.data.test_fraction:g} seed {p.data.split_seed}"
        if result.layout == "hf_parquet"
        else ""
    )
    typer.echo(f"layout: {result.layout} ({how}){split}")
    # Throughput is printed, not logged as a metric: metrics must be identical on re-runs.
    typer.echo(
        f"indexed {m['images']} images (train {m['train_images']}, test {m['test_images']}, "
        f"{m['classes']} classes), {m['rejected']} rejected, {m['duplicates']} duplicates "
        f"in {result.seconds:.1f} s: {result.images_per_second:.0f} images/s with {result.workers} workers"
    )


if __name__ == "__main__":
    app()
