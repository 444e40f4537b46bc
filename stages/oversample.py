"""Stage `oversample`: the classifier's train set: the resampled manifest plus any SMOTE images."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.data.oversample import build_train_set
from artstyle.data.store import open_images
from artstyle.fileio import save_figure, split_breakdowns, write_json
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.oversample import oversampled_figure
from artstyle.stage import stage, stage_app

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(..., help="directory of the resampled train.csv"),
    splits: Path = typer.Option(
        ..., help="directory of the un-resampled train.csv (the SMOTE targets' base)"
    ),
    autoencoder: Path = typer.Option(..., help="autoencoder checkpoint (read only under smote_latent)"),
    out: Path = typer.Option(..., help="directory to write: train.csv, synthetic.npy, meta.json"),
    metrics: Path = typer.Option(..., help="JSON: train / real / synthetic totals"),
    counts: Path = typer.Option(
        ..., help="JSON: synthetic and final train images per style (not a DVC metric)"
    ),
    plot: Path = typer.Option(..., help="PNG: synthetic images next to their nearest real ones"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    result = build_train_set(p, store, manifests, splits, autoencoder, out)
    s = result.summary
    totals, per_style = split_breakdowns(
        {k: v for k, v in s.items() if k not in ("method", "repeated_styles", "k_neighbors_used")}
    )
    write_metrics(metrics, totals, "metrics/oversample.json")
    write_json(
        counts,
        {**per_style, "repeated_styles": s["repeated_styles"], "k_neighbors_used": s["k_neighbors_used"]},
    )
    save_figure(
        plot,
        oversampled_figure(
            open_images(store),
            result.rows,
            result.labels,
            result.synthetic,
            result.synthetic_labels,
            p.sampling_method,
            styles=p.oversample.plot_styles,
        ),
    )
    repeated = (
        f"; repeated (one real image): {', '.join(s['repeated_styles'])}" if s["repeated_styles"] else ""
    )
    typer.echo(
        f"{p.sampling_method}: {s['train_total']} train images ({s['synthetic_total']} synthetic){repeated}"
    )


if __name__ == "__main__":
    app()
