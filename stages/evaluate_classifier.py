"""Stage `evaluate_classifier`: checkpoint + test manifest -> metrics, per-class report, plots."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import typer

from artstyle.evaluation.classification import confusion, evaluate_classifier
from artstyle.fileio import save_figure, write_json, write_text
from artstyle.headline import write_metrics
from artstyle.params import load_params
from artstyle.plots.classifier import confusion_figure, recall_figure
from artstyle.stage import stage, stage_app
from artstyle.styles import STYLES

app = stage_app()


@app.command()
@stage
def main(
    store: Path = typer.Option(..., help="image store directory (index.csv + images.npy)"),
    manifests: Path = typer.Option(
        ..., help="the classifier's manifests (train.csv for the baseline, test.csv)"
    ),
    model: Path = typer.Option(..., help="classifier checkpoint (.pt)"),
    metrics: Path = typer.Option(..., help="JSON: test metrics and baselines"),
    per_class: Path = typer.Option(..., help="JSON: precision / recall / F1 / support per style"),
    predictions: Path = typer.Option(..., help="CSV: actual,predicted style names (DVC confusion plot)"),
    confusion_png: Path = typer.Option(..., help="PNG: row-normalised confusion matrix"),
    recall_png: Path = typer.Option(..., help="PNG: per-class recall bars"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    result = evaluate_classifier(p, store, manifests, model)
    write_metrics(metrics, result.metrics, "metrics/classifier.json")
    write_json(per_class, result.per_class)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["actual", "predicted"])
    w.writerows(zip(result.actual_names, result.predicted_names))
    write_text(predictions, buf.getvalue())
    # The figures show the styles the run covers (all 27 on the default data).
    styles = list(result.styles)
    names = [STYLES[c] for c in styles]
    cm = confusion(result.y_true, result.y_pred)[np.ix_(styles, styles)]
    save_figure(confusion_png, confusion_figure(cm, names))
    recall = [result.per_class[name]["recall"] for name in names]
    fig = recall_figure(
        recall,
        result.train_counts[styles],
        [styles.index(c) for c in result.minority],
        balanced_accuracy=result.metrics["balanced_accuracy"],
        chance=result.metrics["chance_accuracy"],
        styles=names,
    )
    save_figure(recall_png, fig)
    typer.echo("  ".join(f"{k} {v:.3f}" if v is not None else f"{k} n/a" for k, v in result.metrics.items()))


if __name__ == "__main__":
    app()
