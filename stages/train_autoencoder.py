"""Stage `train_autoencoder`: train the ConvAutoencoder, write its checkpoint, test metrics and reconstructions."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle import distributed
from artstyle.io import save_checkpoint, save_figure, write_json
from artstyle.params import load_params
from artstyle.plots.autoencoder import reconstructions_figure
from artstyle.styles import STYLES
from artstyle.training.autoencoder import train_autoencoder

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(..., help="manifests directory (train.csv, val.csv, test.csv)"),
    model: Path = typer.Option(..., help="checkpoint to write (best epoch on val)"),
    metrics: Path = typer.Option(..., help="JSON: test_mse, test_psnr, test_ssim, compression_ratio, ..."),
    recon: Path = typer.Option(..., help="PNG: one test image per style above its reconstruction"),
    live: Path = typer.Option(..., help="dvclive directory for per-epoch train/val curves"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    # Under torchrun (autoencoder.nproc > 1) every rank trains; rank 0 alone writes the outputs.
    try:
        run = train_autoencoder(p, store, manifests, live)
        if distributed.is_main():
            save_checkpoint(
                model, run.model, run.model.args, STYLES, params=run.params, seed=p.seed, metrics=run.metrics
            )
            write_json(metrics, run.metrics)
            save_figure(recon, reconstructions_figure(run.examples, run.reconstructions, run.example_labels))
            m = run.metrics
            typer.echo(
                f"test PSNR {m['test_psnr']:.2f} dB, SSIM {m['test_ssim']:.3f}, MSE {m['test_mse']:.5f} "
                f"(compression {m['compression_ratio']:.1f}x, best epoch {m['best_epoch']})"
            )
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    app()
