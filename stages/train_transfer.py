"""Stage `train_transfer`: train the style-conditioned transfer network; dvclive loss curves."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.checkpoint import save_checkpoint
from artstyle.params import load_params
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.training.transfer import train_transfer

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (train.csv; never resampled)"),
    model: Path = typer.Option(..., help="checkpoint to write (.pt)"),
    live: Path = typer.Option(..., help="dvclive directory for the per-step loss terms"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    run = train_transfer(p, store, splits, live_dir=live)
    # The style targets travel with the model: evaluation measures against exactly what it learned.
    save_checkpoint(model, run.model, run.model.args, STYLES, **run.checkpoint)
    w = run.checkpoint["style_loss_weights"]
    if w is not None:  # the styles whose average target describes their paintings less well
        low = sorted((float(w[c]), STYLES[c]) for c in run.checkpoint["trained_styles"] if w[c] < 1)
        typer.echo("style loss weights below 1: " + (", ".join(f"{n} {v:.2f}" for v, n in low) or "none"))
    s = run.metrics
    typer.echo(
        f"{s['steps']} steps; final content {s['final_content']:.3f}, style {s['final_style']:.3f} -> {model}"
    )


if __name__ == "__main__":
    app()
