"""Stage `train_autoencoder`: train the ConvAutoencoder, write its checkpoint, test metrics and reconstructions."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle import distributed
from artstyle.checkpoint import save_checkpoint
from artstyle.fileio import save_figure, save_npy
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.autoencoder import reconstructions_figure
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.training.autoencoder import train_autoencoder

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (train.csv, val.csv, test.csv; never resampled)"),
    model: Path = typer.Option(..., help="checkpoint to write (best epoch on val)"),
    metrics: Path = typer.Option(..., help="JSON: test_mse, test_psnr, test_ssim, compression_ratio, ..."),
    recon: Path = typer.Option(..., help="PNG: one test image per style above its reconstruction"),
    live: Path = typer.Option(..., help="dvclive directory for per-epoch train/val curves"),
    style_stats: Path = typer.Option(
        ..., help=".npy float32 [store rows, 1920]: the VGG19 statistics taught (cluster_latents' reference)"
    ),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    # Under torchrun (autoencoder.nproc > 1) every rank trains; rank 0 alone writes the outputs.
    try:
        run = train_autoencoder(p, store, splits, live_dir=live)
        if distributed.is_main():
            save_checkpoint(model, run.model, run.model.args, STYLES, **run.checkpoint)
            save_npy(style_stats, run.style_statistics)
            write_metrics(metrics, run.metrics, "metrics/autoencoder.json")
            save_figure(recon, reconstructions_figure(run.examples, run.reconstructions, run.example_labels))
            m = run.metrics
            typer.echo(
                f"test PSNR {m['test_psnr']:.2f} dB, SSIM {m['test_ssim']:.3f}, sharpness {m['test_sharpness']:.3f}, "
                f"MSE {m['test_mse']:.5f}, "
                f"distillation {m['test_distill']:.3f} "
                f"(compression {m['compression_ratio']:.1f}x, best epoch {m['best_epoch']})"
            )
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    app()
