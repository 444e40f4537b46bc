"""index stage: decode every image of --root once into the uint8 store at --out."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.data.index import IndexTreeError, build_store
from artstyle.io import write_json
from artstyle.params import load_params

app = typer.Typer(add_completion=False)


@app.command()
def main(
    root: Path = typer.Option(..., help="ImageFolder tree with train/<Style>/ and test/<Style>/"),
    out: Path = typer.Option(..., help="store directory to (re)build"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    try:
        result = build_store(root, out, p.data.image_size, p.index.max_pixels, p.index.workers)
    except IndexTreeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    write_json(metrics, result.metrics)
    m = result.metrics
    # Throughput is printed, not logged as a metric: metrics must be identical on re-runs.
    typer.echo(
        f"indexed {m['images']} images (train {m['train_images']}, test {m['test_images']}, "
        f"{m['classes']} classes), {m['rejected']} rejected, {m['duplicates']} duplicates "
        f"in {result.seconds:.1f} s: {result.images_per_second:.0f} images/s with {result.workers} workers"
    )


if __name__ == "__main__":
    app()
