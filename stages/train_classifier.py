"""Stage `train_classifier`: store + manifests -> best-on-val checkpoint and dvclive curves."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle import distributed
from artstyle.checkpoint import save_checkpoint
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.training.classifier import train_classifier

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    train: Path = typer.Option(
        ..., help="the classifier's train set (data/oversampled: train.csv + synthetic.npy)"
    ),
    splits: Path = typer.Option(..., help="directory of the un-resampled val.csv (selection)"),
    model: Path = typer.Option(..., help="checkpoint to write (.pt)"),
    live: Path = typer.Option(..., help="dvclive directory for the per-epoch metrics"),
    cost: Path = typer.Option(..., help="JSON: train images per epoch and wall time (differs run to run)"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    # Under torchrun (classifier.nproc > 1) every rank trains; rank 0 alone writes the outputs.
    try:
        run = train_classifier(p, store, train, splits, live_dir=live)
        if distributed.is_main():
            save_checkpoint(model, run.model, run.model.args, STYLES, **run.checkpoint)
            write_metrics(cost, run.cost, "metrics/classifier_cost.json")
            typer.echo(
                f"best epoch {run.best_epoch}/{p.classifier.epochs}: "
                f"val balanced accuracy {run.best_val_balanced_accuracy:.3f} -> {model}"
            )
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    app()
