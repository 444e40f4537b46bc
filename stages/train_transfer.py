"""Stage `train_transfer`: train the style-conditioned transfer network; dvclive loss curves."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.io import save_checkpoint
from artstyle.params import load_params
from artstyle.styles import STYLES
from artstyle.training.transfer import train_transfer

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(..., help="manifests directory (train.csv)"),
    model: Path = typer.Option(..., help="checkpoint to write (.pt)"),
    live: Path = typer.Option(..., help="dvclive directory for the per-step loss terms"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    run = train_transfer(p, store, manifests, live)
    # The target Grams travel with the model: evaluation measures against exactly what it learned.
    save_checkpoint(model, run.model, run.model.args, STYLES, params=run.params, seed=p.seed,
                    image_size=run.image_size, vgg_source=run.vgg_source, style_grams=run.targets,
                    gram_scales=run.scales, summary=run.summary)
    s = run.summary
    typer.echo(f"{s['steps']} steps, {s['images_per_second']:.1f} images/s; final content {s['final_content']:.3f}, "
               f"style {s['final_style']:.3f} -> {model}")


if __name__ == "__main__":
    app()
