"""Stage `train_judge`: the transfer evaluation's two fixed judges, a StyleNet and a VGG19 linear
probe (see artstyle.training.judge)."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.checkpoint import save_checkpoint
from artstyle.params import load_params
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.training.judge import train_judge, train_vgg_judge

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (train.csv, val.csv; never resampled)"),
    model: Path = typer.Option(..., help="the StyleNet judge's checkpoint to write (.pt)"),
    vgg_judge: Path = typer.Option(..., help="the VGG19 probe judge's checkpoint to write (.pt)"),
    params: Path = typer.Option(
        Path("params.yaml"), help="params file (validated; the judge reads none of it)"
    ),
) -> None:
    # Validated like every stage's (a typo is an error everywhere), but not read: the judge's
    # recipe is fixed in code, so no experiment moves it (dvc.yaml lists no params for it).
    load_params(params)
    # The StyleNet judge first, exactly as when it was the only one; the probe is seeded on its own.
    for train, path in ((train_judge, model), (train_vgg_judge, vgg_judge)):
        run = train(store, splits)
        save_checkpoint(path, run.model, run.model.args, STYLES, **run.checkpoint)
        typer.echo(
            f"judge: best epoch {run.best_epoch}: val balanced accuracy {run.best_val_balanced_accuracy:.3f} -> {path}"
        )


if __name__ == "__main__":
    app()
