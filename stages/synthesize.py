"""Stage synthesize: render the embedded synthetic WikiArt tree and its contact sheet."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.fileio import atomic_dir, save_figure
from artstyle.params import load_params
from artstyle.plots.samples import contact_sheet, skipped_figure
from artstyle.runtime import seed_everything
from artstyle.stage import stage, stage_app
from artstyle.synthetic.generate import generate_dataset

app = stage_app()


@app.command()
@stage
def main(
    out: Path = typer.Option(..., help="ImageFolder tree to write: <out>/{train,test}/<Style>/*.png"),
    root: Path = typer.Option(
        ..., help="data.root: the tree is rendered only when it is --out (the default)"
    ),
    samples: Path = typer.Option(..., help="contact sheet PNG (a few train images per style)"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    p = load_params(params)
    if root.resolve() != out.resolve():
        # The user's own data: 5,000 embedded paintings nobody reads would cost a minute. The
        # stage still writes its (empty) outputs so the DVC graph is unchanged, and DVC's run
        # cache restores the rendered tree when data.root points back at the default.
        with atomic_dir(out) as tmp:
            (tmp / "SKIPPED.txt").write_text(f"not rendered: data.root is {root}, not {out}\n")
        save_figure(samples, skipped_figure(f"synthesize skipped: data.root is {root}"))
        typer.echo(f"synthesize skipped: data.root is {root} (the embedded default is {out})")
        return
    seed_everything(p.synthesize.seed)
    result = generate_dataset(out, p.synthesize, seed=p.synthesize.seed)
    save_figure(samples, contact_sheet(result.samples))
    for split, counts in result.counts.items():
        typer.echo(
            f"{split}: {sum(counts.values())} images, per style min {min(counts.values())} "
            f"max {max(counts.values())}"
        )
    typer.echo(
        f"synthesized {result.total} images of {p.synthesize.image_size} px in {result.seconds:.1f} s "
        f"with {result.workers} workers -> {out}"
    )


if __name__ == "__main__":
    app()
