"""The ``artstyle`` command: user-facing tools on top of the pipeline's trained models.

artstyle stylize photo.jpg --style Cubism -o out.png
artstyle stylize photo.jpg --style Cubism:0.5,Ukiyo_e:0.5 -o blend.png
artstyle classify painting.jpg my_paintings/ --top 3
"""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle.styles import ALIASES, NUM_CLASSES, STYLES, UnknownStyleError, canonical
from artstyle.stylize_io import DEFAULT_MAX_SIDE, DEFAULT_SIZE

# Short side `stylize` resizes to by default; the evaluate_transfer stage repaints the real-picture
# grid at the same size, so the committed picture shows what a user gets.
# The checkpoints `make repro` writes: the commands' default --model.
DEFAULT_TRANSFER = Path("models/transfer.pt")
DEFAULT_CLASSIFIER = Path("models/classifier.pt")

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Art-style tools for the artstyle pipeline."
)


@app.callback()
def _main() -> None:
    """Art-style tools for the artstyle pipeline."""


def split_style_spec(spec: str) -> tuple[list[float], list[tuple[Path, float]]]:
    """'Cubism:2,mine.style.pt:1' -> (NUM_CLASSES weights of the named styles, [(style file, weight)]).

    A part naming a ``.pt`` file is a style file (from ``--style-from``); every other part is a
    style name or alias. Weights are not normalised here; they must be >= 0.
    """
    weights = [0.0] * NUM_CLASSES
    files: list[tuple[Path, float]] = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty --style; give a style name, e.g. --style Cubism")
    for part in parts:
        name, sep, value = part.rpartition(":")
        if not sep:
            name, value = part, ""
        try:
            weight = float(value) if value else 1.0
        except ValueError:
            raise ValueError(f"style weight {value!r} in {part!r} is not a number") from None
        if weight < 0:
            raise ValueError(f"style weight in {part!r} is negative")
        name = name.strip()
        if name.lower().endswith(".pt"):
            files.append((Path(name), weight))
        else:
            weights[STYLES.index(canonical(name))] += weight
    if sum(weights) + sum(w for _, w in files) <= 0:
        raise ValueError(f"style weights in {spec!r} sum to zero")
    return weights, files


def parse_style_spec(spec: str) -> list[float]:
    """'Cubism' or 'Cubism:0.5,Ukiyo_e:0.5' -> NUM_CLASSES weights summing to 1 (aliases accepted)."""
    weights, files = split_style_spec(spec)
    if files:
        raise ValueError(f"{files[0][0]}: a style file where only style names are allowed")
    total = sum(weights)
    return [w / total for w in weights]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def require_model(path: Path, default: Path, what: str = "model") -> Path:
    """``path`` when it is a file; otherwise exit 2 with one line: the default checkpoint missing
    means the pipeline has not run yet (`make repro`), another path is the user's typo."""
    if path.is_file():
        return path
    if path == default:
        _fail(f"{path} not found: run `make repro` first (or pass --model)")
    _fail(f"{what} {path} not found")
    return path


def _unknown_style(spec: str) -> str:
    return (
        f"unknown style in {spec!r}. Valid styles: {', '.join(STYLES)}. "
        f"Aliases: {', '.join(f'{a}={c}' for a, c in sorted(ALIASES.items()))}. "
        "A style file from --style-from ends in .pt"
    )


@app.command()
def stylize(
    image: Path = typer.Argument(..., help="input image (any size, any format Pillow reads)"),
    output: Path = typer.Option(..., "--output", "-o", help="output image; the format follows the extension"),
    style: str = typer.Option(
        None,
        "--style",
        "-s",
        help="a style name (e.g. Cubism, Ukiyo_e), a style file from --style-from (mine.style.pt), or a blend "
        "'Cubism:0.5,mine.style.pt:0.5' (weights are normalised)",
    ),
    model: Path = typer.Option(DEFAULT_TRANSFER, "--model", "-m", help="transfer checkpoint"),
    size: int = typer.Option(
        DEFAULT_SIZE,
        "--size",
        min=0,
        help="resize so the short side is SIZE pixels (aspect kept) before stylizing; 0 = the input's own size",
    ),
    max_side: int = typer.Option(
        DEFAULT_MAX_SIDE,
        "--max-side",
        min=0,
        help="the output's longer side at most this many pixels: a larger one is downscaled to fit (aspect "
        "kept) and a warning line says so; 0 = no cap",
    ),
    texture_scale: float = typer.Option(
        None,
        "--texture-scale",
        min=1.0,
        help="brush strokes this many times larger: the network runs at SIZE / SCALE and is upsampled. "
        "Default: SIZE / (4 x the training size), at least 1, so strokes keep the size relative to the picture "
        "they had on 4x-training-size paintings",
    ),
    strength: float = typer.Option(1.0, "--strength", help="0 = the original, 1 = fully stylized (default)"),
    preserve_color: bool = typer.Option(
        False, "--preserve-color", help="keep the input's colours (luminance-only)"
    ),
    contact_sheet: bool = typer.Option(
        False,
        "--contact-sheet",
        help="write one sheet of IMAGE in every style the network learned (all 27 by default), labelled",
    ),
    style_from: Path = typer.Option(
        None,
        "--style-from",
        help="learn a new style from the paintings in this folder (only its conditioning is fitted) and use it",
    ),
    save_style: Path = typer.Option(
        None,
        "--save-style",
        help="where --style-from writes the style file (default: <folder name>.style.pt)",
    ),
    style_steps: int = typer.Option(150, "--style-steps", min=1, help="optimiser steps for --style-from"),
    onnx: Path = typer.Option(
        None,
        "--onnx",
        help="run this exported network (`artstyle export-onnx`) with ONNX Runtime, without PyTorch",
    ),
) -> None:
    """Repaint IMAGE in a style (or a blend of styles) with the trained transfer network."""
    from artstyle.errors import UserError

    chosen = sum(x is not None and x is not False for x in (style, style_from)) + contact_sheet
    if chosen != 1:
        _fail("give exactly one of --style, --style-from DIR or --contact-sheet")
    from artstyle.stylize_io import check_strength

    try:
        check_strength(strength)
    except UserError as e:
        _fail(str(e))
    weights, files = [0.0] * NUM_CLASSES, []
    if style is not None:
        try:
            weights, files = split_style_spec(style)
        except UnknownStyleError:
            _fail(_unknown_style(style))
        except ValueError as e:
            _fail(str(e))
    if onnx is None:
        require_model(model, DEFAULT_TRANSFER, "transfer model")
    if style_from is not None and not style_from.is_dir():
        _fail(f"--style-from {style_from}: not a folder")
    if onnx is not None:
        if contact_sheet or style_from is not None or files:
            _fail(
                "--onnx runs named styles and their blends; --contact-sheet, --style-from and style files "
                "need the PyTorch model (drop --onnx)"
            )
        try:
            _stylize_onnx(
                image, output, weights, onnx, size, max_side, texture_scale, strength, preserve_color
            )
        except UserError as e:
            _fail(str(e))
        return
    # Heavy imports after argument checks, so mistakes are reported instantly.
    try:
        _stylize(
            image,
            output,
            weights,
            files,
            model,
            size,
            max_side,
            texture_scale,
            strength,
            preserve_color,
            contact_sheet,
            style_from,
            save_style,
            style_steps,
        )
    except UserError as e:
        _fail(str(e))


def _warn(message: str) -> None:
    typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)


def _read_for_output(io, image: Path, size: int, max_side: int):
    """The input at the output size (``stylize_io.resize_for_output``), a warning line if capped."""
    im, note = io.resize_for_output(io.read_image(image), size, max_side)
    if note:
        _warn(f"{image}: {note}")
    return im


def _stylize_onnx(
    image, output, weights, onnx, size, max_side, texture_scale, strength, preserve_color
) -> None:
    # No torch import on this path: numpy, Pillow and onnxruntime only (see artstyle.onnx_runtime).
    from artstyle import stylize_io as io
    from artstyle.onnx_runtime import OnnxStylizer

    runner = OnnxStylizer(onnx)
    im = _read_for_output(io, image, size, max_side)
    scale = texture_scale or io.default_texture_scale(min(im.size), runner.image_size)
    out = runner.stylize(
        im, runner.blend(weights), strength=strength, preserve_color=preserve_color, texture_scale=scale
    )
    io.save_image(out, output)
    mix = ", ".join(f"{STYLES[i]} {w / sum(weights):.2f}" for i, w in enumerate(weights) if w > 0)
    typer.echo(f"{output}: {out.width}x{out.height} in {mix} (ONNX Runtime)")


@app.command("export-onnx")
def export_onnx_cmd(
    output: Path = typer.Option(Path("models/transfer.onnx"), "--output", "-o", help="ONNX file to write"),
    model: Path = typer.Option(DEFAULT_TRANSFER, "--model", "-m", help="transfer checkpoint"),
) -> None:
    """Export the transfer network to ONNX (for `artstyle stylize --onnx`)."""
    require_model(model, DEFAULT_TRANSFER, "transfer model")
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ModuleNotFoundError as e:
        _fail(f'export-onnx needs {e.name}: pip install "artstyle[onnx]"')
    from artstyle.errors import UserError
    from artstyle.onnx_runtime import export_onnx

    try:
        meta = export_onnx(model, output)
    except UserError as e:
        _fail(str(e))
    typer.echo(f"{output}: {len(meta['styles'])} styles, style vectors of {meta['style_dim']} numbers")


def _stylize(
    image,
    output,
    weights,
    files,
    model,
    size,
    max_side,
    texture_scale,
    strength,
    preserve_color,
    contact_sheet,
    style_from,
    save_style,
    style_steps,
) -> None:
    import torch
    from tqdm import tqdm

    from artstyle import stylize as st
    from artstyle.evaluation.transfer import load_transfer, trained_styles_of
    from artstyle.stylize_io import check_trained

    im = _read_for_output(st, image, size, max_side)
    net, ckpt = load_transfer(model)
    trained = trained_styles_of(ckpt)
    check_trained(weights, trained)
    x = st.to_tensor(im)
    scale = texture_scale or st.default_texture_scale(min(im.size), int(ckpt.get("image_size", 64)))
    kw = dict(strength=strength, preserve_color=preserve_color, texture_scale=scale)

    if contact_sheet:
        from artstyle.fileio import save_figure
        from artstyle.plots.transfer import contact_sheet_figure

        # Every style the network learned: all 27 for the default pipeline.
        outs = [st.stylize(net, x, torch.tensor([i]), **kw)[0] for i in tqdm(trained, desc="styles")]
        names = [STYLES[i] for i in trained]
        save_figure(
            output, contact_sheet_figure(x[0], torch.stack(outs), names, title=f"{image.name} in every style")
        )
        typer.echo(f"{output}: {image.name} in {len(names)} styles")
        return

    if style_from is not None:
        paintings = [st.read_image(p) for p in st.list_images(style_from)]
        contents = st.fitting_contents(x, int(ckpt["image_size"]), scale)
        with tqdm(total=style_steps, desc=f"learning {style_from.name}") as bar:
            fitted = st.fit_style(
                net,
                ckpt,
                paintings,
                contents,
                steps=style_steps,
                progress=lambda i, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.3f}")),
            )
        path = save_style or Path(f"{style_from.resolve().name}.style.pt")
        st.save_style(path, fitted, style_from.resolve().name, net)
        typer.echo(
            f"{path}: style from {fitted.images} paintings in {style_from} (reuse it with --style {path})"
        )
        files = [(path, 1.0)]

    vectors, total = torch.zeros(net.style_dim), 0.0
    if sum(weights) > 0:
        vectors += sum(weights) * net.blend(torch.tensor(weights))
        total += sum(weights)
    for path, w in files:
        v, warnings = st.load_style(path, net)
        for warning in warnings:
            _warn(warning)
        vectors += w * v
        total += w
    y = st.stylize(net, x, vectors / total, **kw)
    st.save_image(st.to_image(y), output)
    names = [f"{STYLES[i]} {w / total:.2f}" for i, w in enumerate(weights) if w > 0]
    names += [f"{p.name} {w / total:.2f}" for p, w in files if w > 0]
    typer.echo(f"{output}: {y.shape[-1]}x{y.shape[-2]} in {', '.join(names)}")


@app.command()
def classify(
    paths: list[Path] = typer.Argument(
        ..., help="image files, and folders (walked recursively for .jpg .png .tif .webp ... files)"
    ),
    top: int = typer.Option(5, "--top", "-k", min=1, help="how many styles to list per image"),
    model: Path = typer.Option(DEFAULT_CLASSIFIER, "--model", "-m", help="classifier checkpoint"),
    as_json: bool = typer.Option(
        False, "--json", help="one JSON document: [{path, top: [{style, probability}]}]"
    ),
    as_csv: bool = typer.Option(False, "--csv", help="CSV rows path,rank,style,probability"),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="images per forward pass"),
    image_size: int = typer.Option(
        None,
        "--image-size",
        min=8,
        help="side of the centred square the model sees (default: the checkpoint's, else params.yaml data.image_size)",
    ),
) -> None:
    """Name the most probable styles of each painting with the trained classifier.

    Each file is decoded as the pipeline's index decodes its data (EXIF orientation, any mode, the
    centred square at the model's size); probabilities are over the styles the model was trained on.
    Unreadable files are reported on stderr, one line each; exit code 2 when nothing was classified.
    """
    if as_json and as_csv:
        _fail("give at most one of --json and --csv")
    require_model(model, DEFAULT_CLASSIFIER, "classifier model")
    import csv
    import io
    import json
    import sys

    from tqdm import tqdm

    from artstyle.classify import StyleClassifier, classify_paths, image_files
    from artstyle.errors import UserError

    files, missing = image_files(paths)
    if not files:
        _fail("; ".join(f"{f.path}: {f.reason}" for f in missing) or "nothing to classify")
    # One image given: its failure is the one error line, not a report line plus a summary.
    alone = len(files) == 1 and not missing

    def warn(failure) -> None:
        if not alone:
            tqdm.write(f"{failure.path}: {failure.reason}", file=sys.stderr)

    for failure in missing:
        warn(failure)
    try:
        clf = StyleClassifier.load(model, image_size=image_size, batch_size=batch_size)
    except UserError as e:
        _fail(str(e))
    progress = any(p.is_dir() for p in paths)
    results, failures = classify_paths(clf, files, top, batch_size, progress=progress, on_failure=warn)
    if not results:
        if alone and failures:
            _fail(f"{failures[0].path}: cannot read this image ({failures[0].reason})")
        _fail(f"none of the {len(files)} image file(s) could be read (see above)")
    if as_json:
        doc = [
            {"path": str(r.path), "top": [{"style": s, "probability": float(f"{p:.6f}")} for s, p in r.top]}
            for r in results
        ]
        typer.echo(json.dumps(doc, indent=1))
    elif as_csv:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "rank", "style", "probability"])
        for r in results:
            w.writerows([str(r.path), rank, s, f"{p:.6f}"] for rank, (s, p) in enumerate(r.top, 1))
        typer.echo(buf.getvalue(), nl=False)
    else:
        for r in results:
            typer.echo(f"{r.path}: " + ", ".join(f"{s} {p:.2f}" for s, p in r.top))


@app.command()
def demo(
    classifier: Path = typer.Option(DEFAULT_CLASSIFIER, "--classifier", "-c", help="classifier checkpoint"),
    model: Path = typer.Option(DEFAULT_TRANSFER, "--model", "-m", help="transfer checkpoint"),
    port: int = typer.Option(7860, "--port", "-p", min=1, max=65535, help="port on 127.0.0.1"),
    no_browser: bool = typer.Option(False, "--no-browser", help="only print the address; open no browser"),
) -> None:
    """A local web page: open a picture, see its top five styles, repaint it (Ctrl+C stops it).

    Served on 127.0.0.1 only; nothing leaves the machine (no analytics, no CDN, no share link).
    Needs the demo extra: pip install "artstyle\\[demo]".
    """
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        _fail('artstyle demo needs the demo extra: pip install "artstyle[demo]"')
    if not classifier.is_file() and classifier == DEFAULT_CLASSIFIER:
        _fail(f"{classifier} not found: run `make repro` first (or pass --classifier)")
    require_model(classifier, DEFAULT_CLASSIFIER, "classifier model")
    require_model(model, DEFAULT_TRANSFER, "transfer model")
    import os

    # Before Gradio imports huggingface_hub: the page needs no hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from artstyle.demo import launch
    from artstyle.errors import UserError

    try:
        launch(classifier, model, port=port, open_browser=not no_browser)
    except UserError as e:
        _fail(str(e))


if __name__ == "__main__":
    app()
