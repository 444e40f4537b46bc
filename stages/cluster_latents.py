"""Stage `cluster_latents`: PCA + KMeans on the encoder's style codes vs VGG19 statistics vs raw pixels vs chance."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.fileio import save_figure, save_npy
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.clusters import contingency_figure, pca_clusters_figure, pca_styles_figure
from artstyle.stage import stage, stage_app
from artstyle.training.cluster import cluster_latents

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    splits: Path = typer.Option(..., help="splits directory (train.csv, test.csv; never resampled)"),
    model: Path = typer.Option(..., help="autoencoder checkpoint"),
    style_stats: Path = typer.Option(
        ..., help="VGG19 statistics of every store row (train_autoencoder's): the reference features"
    ),
    latents: Path = typer.Option(
        ..., help="directory: {train,test}_{codes,labels,rows}.npy + clustering state .npz"
    ),
    metrics: Path = typer.Option(
        ..., help="JSON: nmi, ari, purity, hungarian_accuracy, silhouette (+ pixel_, shuffled_)"
    ),
    plots_dir: Path = typer.Option(..., help="directory for the PCA scatters and the contingency heatmap"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    run = cluster_latents(p, store, splits, model, style_stats)
    for split in ("train", "test"):
        save_npy(latents / f"{split}_codes.npy", run.codes[split])
        save_npy(latents / f"{split}_labels.npy", run.labels[split])
        save_npy(latents / f"{split}_rows.npy", run.rows[split])
    run.latent_model.save(latents / "latent_clustering.npz")
    run.pixel_model.save(latents / "pixel_clustering.npz")
    write_metrics(metrics, run.metrics, "metrics/clusters.json")

    explained = run.latent_model.explained_variance_ratio
    normalized = run.latent_model.normalize
    labels, points, clusters = run.labels["test"], run.test_projected, run.test_clusters
    k = len(run.latent_model.centers)
    save_figure(plots_dir / "pca_styles.png", pca_styles_figure(points, labels, explained, normalized))
    save_figure(
        plots_dir / "pca_clusters.png",
        pca_clusters_figure(points, clusters, labels, run.latent_model.centers, explained, normalized),
    )
    save_figure(plots_dir / "contingency.png", contingency_figure(clusters, labels, k))
    m = run.metrics
    typer.echo(
        f"test NMI / ARI / Hungarian accuracy: style code {m['nmi']:.3f} / {m['ari']:.3f} / "
        f"{m['hungarian_accuracy']:.3f}; VGG19 reference {m['vgg_nmi']:.3f} / {m['vgg_ari']:.3f} / "
        f"{m['vgg_hungarian_accuracy']:.3f}; pixels {m['pixel_nmi']:.3f}; chance {m['shuffled_nmi']:.3f}"
    )


if __name__ == "__main__":
    app()
