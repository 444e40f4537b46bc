"""Stage `train_embedder`: one prototype latent per style through the frozen autoencoder decoder."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.checkpoint import save_checkpoint
from artstyle.fileio import save_figure
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.transfer import style_prototypes_figure
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.training.embedder import train_embedder

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (train.csv; never resampled)"),
    autoencoder: Path = typer.Option(..., help="trained autoencoder checkpoint (frozen here)"),
    model: Path = typer.Option(
        ..., help="checkpoint to write: the prototype latents (one per style, all 27 rows)"
    ),
    metrics: Path = typer.Option(
        ..., help="JSON: Gram distance of the prototypes to their style, before/after"
    ),
    plot: Path = typer.Option(..., help="PNG: the decoded prototypes of the trained styles, labelled"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    run = train_embedder(p, store, splits, autoencoder)
    save_checkpoint(model, run.model, run.model.args, STYLES, **run.checkpoint)
    write_metrics(metrics, run.metrics, "metrics/embedder.json")
    save_figure(
        plot, style_prototypes_figure(run.prototypes, run.initial, styles=[STYLES[i] for i in run.styles])
    )
    m = run.metrics
    typer.echo(
        f"prototype Gram distance {m['initial_gram_distance']:.3f} (mean latents) -> "
        f"{m['prototype_gram_distance']:.3f} ({m['styles_improved']}/{m['styles']} styles closer)"
    )


if __name__ == "__main__":
    app()
