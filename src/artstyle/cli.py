"""The ``artstyle`` command: user-facing tools on top of the pipeline's trained models.

    artstyle stylize photo.jpg --style Cubism -o out.png
    artstyle stylize photo.jpg --style Cubism:0.5,Ukiyo_e:0.5 -o blend.png
"""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.styles import ALIASES, NUM_CLASSES, STYLES, UnknownStyleError, canonical

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Art-style tools for the artstyle pipeline.")


@app.callback()
def _main() -> None:
    """Art-style tools for the artstyle pipeline."""


def parse_style_spec(spec: str) -> list[float]:
    """'Cubism' or 'Cubism:0.5,Ukiyo_e:0.5' -> NUM_CLASSES weights summing to 1 (aliases accepted)."""
    weights = [0.0] * NUM_CLASSES
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty --style; give a style name, e.g. --style Cubism")
    for part in parts:
        name, sep, value = part.partition(":")
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise ValueError(f"style weight {value!r} in {part!r} is not a number") from None
        if weight < 0:
            raise ValueError(f"style weight in {part!r} is negative")
        weights[STYLES.index(canonical(name.strip()))] += weight
    total = sum(weights)
    if total <= 0:
        raise ValueError(f"style weights in {spec!r} sum to zero")
    return [w / total for w in weights]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


@app.command()
def stylize(
    image: Path = typer.Argument(..., help="input image (any size, any format Pillow reads)"),
    style: str = typer.Option(
        ..., "--style", "-s",
        help="a style name (e.g. Cubism, Ukiyo_e) or a blend 'Cubism:0.5,Ukiyo_e:0.5' (weights are normalised)",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="output image; the format follows the extension"),
    model: Path = typer.Option(Path("models/transfer.pt"), "--model", "-m", help="transfer checkpoint"),
    size: int = typer.Option(
        512, "--size", min=0,
        help="resize so the short side is SIZE pixels (aspect kept) before stylizing; 0 = the input's own size",
    ),
) -> None:
    """Repaint IMAGE in a style (or a blend of styles) with the trained transfer network."""
    try:
        weights = parse_style_spec(style)
    except UnknownStyleError:
        _fail(f"unknown style in {style!r}. Valid styles: {', '.join(STYLES)}. "
              f"Aliases: {', '.join(f'{a}={c}' for a, c in sorted(ALIASES.items()))}")
    except ValueError as e:
        _fail(str(e))
    if not model.is_file():
        _fail(f"model {model} not found: run the pipeline (`dvc repro train_transfer`) or pass --model")

    # Heavy imports after argument checks, so mistakes are reported instantly.
    import numpy as np
    import torch
    from PIL import Image, ImageOps, UnidentifiedImageError

    from artstyle import inference, runtime
    from artstyle.evaluation.transfer import load_transfer
    from artstyle.fileio import atomic_path

    try:
        with Image.open(image) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
    except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
        _fail(f"cannot read {image}: {e}")
    if size:
        scale = size / min(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)

    device = runtime.pick_device()
    net, _ = load_transfer(model, device)
    x = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float().div(255)
    y = inference.predict(lambda b: net(b, net.blend(torch.tensor(weights))), [x], device)
    out = y[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
    fmt = Image.registered_extensions().get(output.suffix.lower())
    if fmt is None:
        _fail(f"unknown image format for {output} (use e.g. .png or .jpg)")
    with atomic_path(output) as tmp:
        Image.fromarray(out).save(tmp, format=fmt)
    mix = ", ".join(f"{STYLES[i]} {w:.2f}" for i, w in enumerate(weights) if w > 0)
    typer.echo(f"{output}: {out.shape[1]}x{out.shape[0]} in {mix}")


if __name__ == "__main__":
    app()
