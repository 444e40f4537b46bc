"""The parts of ``artstyle stylize`` that need no PyTorch: reading, resizing and writing images,
listing a style folder, the default texture scale, the demo photos. ``stylize --onnx`` runs on these
alone, so it never pays torch's import time."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from artstyle.data.layouts.files import IMAGE_EXTENSIONS, has_image_extension
from artstyle.errors import InputError
from artstyle.fileio import atomic_path

DEFAULT_SIZE = 512  # short side of a repainted picture (stylize --size, the demo, evaluate_transfer's photos)
# Longer side of a repainted picture at most (stylize --max-side, the demo): a 40 x 9,000 px strip
# at short side 512 would be 115,200 px long; above this it is downscaled to fit, and said so.
DEFAULT_MAX_SIDE = 4096


def read_image(path: str | Path) -> Image.Image:
    """An RGB image, upright (EXIF orientation applied); a one-line :class:`InputError` if unreadable:
    ``<path>: cannot read this image (<reason>)``."""
    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"{path}: cannot read this image (no such file)") from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: cannot read this image (not an image format Pillow knows)") from None
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: cannot read this image (too many pixels to decode safely: {e})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # truncated or corrupt data
        reason = " ".join(str(e).split()) or type(e).__name__
        raise InputError(f"{path}: cannot read this image ({reason})") from None


def resize_short(im: Image.Image, size: int) -> Image.Image:
    """Resize so the short side is ``size`` (aspect kept); 0 keeps the image as it is."""
    if not size or min(im.size) == size:
        return im
    scale = size / min(im.size)
    return im.resize(
        (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS
    )


def resize_for_output(
    im: Image.Image, size: int, max_side: int = DEFAULT_MAX_SIDE
) -> tuple[Image.Image, str]:
    """(image, note): :func:`resize_short` to ``size``, unless the longer side would then exceed
    ``max_side`` (0 = no cap): then the picture is downscaled so its longer side is ``max_side``
    (aspect kept, one resize from the original) and ``note`` says so in one line; else note is "".

    The one place the output size of ``artstyle stylize`` (PyTorch and ONNX) and of the demo's
    repaint is decided: a 40 x 9,000 px strip at short side 512 would otherwise be 512 x 115,200.
    """
    short = min(im.size)
    scale = size / short if size else 1.0
    wanted = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    if not max_side or max(wanted) <= max_side:
        return resize_short(im, size), ""
    fit = max_side / max(im.size)
    capped = (max(1, min(max_side, round(im.width * fit))), max(1, min(max_side, round(im.height * fit))))
    note = (
        f"the output would be {wanted[0]}x{wanted[1]} px, over --max-side {max_side}: "
        f"downscaled to {capped[0]}x{capped[1]} (aspect kept; --max-side 0 = no cap)"
    )
    if capped == im.size:
        return im, note
    return im.resize(capped, Image.Resampling.LANCZOS), note


def save_image(im: Image.Image, path: str | Path) -> None:
    """Save atomically; the format follows the extension (an :class:`InputError` for an unknown one)."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unknown image format for {path} (use e.g. .png or .jpg)")
    with atomic_path(path) as tmp:
        im.save(tmp, format=fmt)


def default_texture_scale(short_side: int, train_size: int) -> float:
    """``short_side / (4 * train_size)``, at least 1: the network sees the picture at four times the
    size of the paintings it learned from, so its strokes are as large, relative to the picture,
    as on a painting four times the training size (a 512 px photo and a 64 px network: 2)."""
    return max(1.0, short_side / (4.0 * train_size))


def list_images(folder: str | Path) -> list[Path]:
    """The image files directly in ``folder`` (sorted); a one-line error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--style-from {folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and has_image_extension(p))
    if not files:
        raise InputError(
            f"--style-from {folder}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder"
        )
    return files


def demo_pictures() -> list[tuple[str, Path]]:
    """Real photographs that ship inside our dependencies (no download): matplotlib's portrait of
    Grace Hopper, scikit-learn's two sample photos. Missing ones (an unusual install) are skipped."""
    import importlib.resources

    found = []
    for package, rel, name in (
        ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "grace_hopper.jpg (matplotlib)"),
        ("sklearn", "datasets/images/china.jpg", "china.jpg (scikit-learn)"),
        ("sklearn", "datasets/images/flower.jpg", "flower.jpg (scikit-learn)"),
    ):
        try:
            path = Path(str(importlib.resources.files(package).joinpath(rel)))
        except ModuleNotFoundError:
            continue
        if path.is_file():
            found.append((name, path))
    return found


def check_trained(weights: list[float], trained: list[int] | tuple[int, ...]) -> None:
    """A one-line error when a requested style (weight > 0) is one the network never learned:
    trained on a subset of the styles, its other style vectors are untrained noise."""
    from artstyle.styles import STYLES

    missing = [STYLES[i] for i, w in enumerate(weights) if w > 0 and i not in trained]
    if missing:
        known = ", ".join(STYLES[i] for i in trained)
        raise InputError(
            f"style {', '.join(missing)} not trained: this network's data had no training images "
            f"of it (trained styles: {known})"
        )


def check_strength(strength: float) -> float:
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--strength must be between 0 and 1, got {strength}")
    return float(strength)
