"""Stage `evaluate_transfer`: deception rate (two judges), content SSIM, style distance; grid + bar plots."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.evaluation.transfer import evaluate_transfer, load_transfer, repaint_real
from artstyle.fileio import save_figure
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.transfer import deception_figure, real_pictures_figure, transfer_grid_figure
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES
from artstyle.stylize_io import DEFAULT_SIZE

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (test.csv; never resampled)"),
    model: Path = typer.Option(..., help="transfer checkpoint (.pt)"),
    judge: Path = typer.Option(..., help="the judge's checkpoint (train_judge: a fixed StyleNet recipe)"),
    vgg_judge: Path = typer.Option(
        ..., help="the second judge's checkpoint (train_judge: a fixed VGG19 linear-probe recipe)"
    ),
    metrics: Path = typer.Option(..., help="JSON: deception_rate, content_ssim, style_distance, ..."),
    grid: Path = typer.Option(..., help="PNG: test images (rows) in every style (columns)"),
    deception: Path = typer.Option(..., help="PNG: deception rate per target style"),
    real: Path = typer.Option(..., help="PNG: real photos repainted as `artstyle stylize` does by default"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    result = evaluate_transfer(p, store, splits, model, judge, vgg_judge_path=vgg_judge)
    write_metrics(metrics, result.metrics, "metrics/transfer.json")
    rows = p.evaluate_transfer.grid_images
    save_figure(
        grid,
        transfer_grid_figure(
            result.contents[:rows], result.stylized[:rows], [STYLES[i] for i in result.styles]
        ),
    )
    m = result.metrics
    save_figure(
        deception,
        deception_figure(
            result.per_style_deception,
            m["chance_rate"],
            result.per_style_identity,
            m["deception_rate"],
            second=result.per_style_vgg_deception,
            second_overall=m["vgg_deception_rate"],
        ),
    )
    net, ckpt = load_transfer(model)
    pics = repaint_real(net, ckpt, p.evaluate_transfer.real_styles, DEFAULT_SIZE)
    save_figure(
        real,
        real_pictures_figure(
            pics.contents,
            pics.stylized,
            pics.styles,
            pics.names,
            f"Real photos at `artstyle stylize`'s default size ({pics.size} px short side, texture scale "
            f"{pics.texture_scale:g}): not in the training data",
        ),
    )
    typer.echo("  ".join(f"{k} {v:.4g}" for k, v in m.items()))


if __name__ == "__main__":
    app()
