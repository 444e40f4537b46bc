"""Stage `train_classifier`: store + manifests -> best-on-val checkpoint and dvclive curves."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle import distributed
from artstyle.io import save_checkpoint
from artstyle.params import load_params
from artstyle.styles import STYLES
from artstyle.training.classifier import train_classifier

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(..., help="manifests directory (train.csv, val.csv)"),
    model: Path = typer.Option(..., help="checkpoint to write (.pt)"),
    live: Path = typer.Option(..., help="dvclive directory for the per-epoch metrics"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    # Under torchrun (classifier.nproc > 1) every rank trains; rank 0 alone writes the outputs.
    try:
        result, extra = train_classifier(store, manifests, p.classifier, p.seed, live_dir=live)
        if distributed.is_main():
            save_checkpoint(model, result.model, result.model.args, STYLES, **extra)
            typer.echo(
                f"best epoch {result.best_epoch + 1}/{p.classifier.epochs}: "
                f"val balanced accuracy {result.best_val_balanced_accuracy:.3f} -> {model}"
            )
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    app()
