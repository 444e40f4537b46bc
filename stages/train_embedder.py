"""Stage `train_embedder`: one prototype latent per style through the frozen autoencoder decoder."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.io import save_checkpoint, save_figure, write_json
from artstyle.params import load_params
from artstyle.plots.transfer import style_prototypes_figure
from artstyle.styles import STYLES
from artstyle.training.embedder import train_embedder

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(..., help="manifests directory (train.csv)"),
    autoencoder: Path = typer.Option(..., help="trained autoencoder checkpoint (frozen here)"),
    model: Path = typer.Option(..., help="checkpoint to write: the 27 prototype latents"),
    metrics: Path = typer.Option(..., help="JSON: Gram distance of the prototypes to their style, before/after"),
    plot: Path = typer.Option(..., help="PNG: the 27 decoded prototypes, labelled"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    run = train_embedder(p, store, manifests, autoencoder)
    save_checkpoint(model, run.model, run.model.args, STYLES, params=run.params, seed=p.seed,
                    autoencoder=str(autoencoder), metrics=run.metrics)
    write_json(metrics, run.metrics)
    save_figure(plot, style_prototypes_figure(run.prototypes, run.initial))
    m = run.metrics
    typer.echo(f"prototype Gram distance {m['initial_gram_distance']:.3f} (mean latents) -> "
               f"{m['prototype_gram_distance']:.3f} ({m['styles_improved']}/{len(STYLES)} styles closer)")


if __name__ == "__main__":
    app()
