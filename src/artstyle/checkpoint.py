"""Self-describing checkpoints: one way to save a model and one way to load it.

A checkpoint is ``{"model": state_dict, "model_class": name, "args": {...}, "classes": [...], **extra}``
holding only tensors and plain Python values, so it loads with ``torch.load(weights_only=True)``
(no arbitrary unpickling of a file a user got from elsewhere), and the model class rebuilds itself
from ``args`` (nanoGPT's convention).

The bytes are a function of the contents: ``torch.save`` names the zip archive's root folder
after the file it writes to, so saving straight into the temporary file of an atomic write would
embed its random name and give the same weights a new md5 (and DVC a reason to rerun everything
downstream). Serialising into memory first gives the fixed archive name ``archive``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from artstyle.errors import InputError
from artstyle.fileio import write_bytes

M = TypeVar("M")


class CheckpointError(InputError):
    """A checkpoint that does not hold what the caller needs; one line naming the file."""


def checkpoint_bytes(
    model: Any, args: dict[str, Any], classes: list[str] | tuple[str, ...], **extra: Any
) -> bytes:
    """The serialised checkpoint: the same state always gives the same bytes."""
    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "model": state,
        "model_class": type(model).__name__,
        "args": dict(args),
        "classes": list(classes),
        **extra,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(
    path: str | Path, model: Any, args: dict[str, Any], classes: list[str] | tuple[str, ...], **extra: Any
) -> None:
    """Write :func:`checkpoint_bytes` atomically (temporary file + rename)."""
    write_bytes(path, checkpoint_bytes(model, args, classes, **extra))


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one short line (torch's messages are paragraphs)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _why_unloadable(path: Path, exc: Exception) -> str:
    """One line on why ``torch.load(weights_only=True)`` failed, from the file's first bytes."""
    import pickle

    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":  # a zip archive: torch.save's format
        if isinstance(exc, pickle.UnpicklingError) and "weights only load failed" in str(exc).lower():
            return (
                "holds Python objects besides tensors and plain values, so it is not an artstyle "
                "checkpoint (and is not unpickled)"
            )
        return f"a truncated or damaged PyTorch checkpoint ({type(exc).__name__}); copy or download it again"
    if not head:
        return "an empty file, not a PyTorch checkpoint"
    return "not a PyTorch checkpoint (another kind of file, or an old format this version cannot read safely)"


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, without unpickling arbitrary objects.

    A missing file is a ``FileNotFoundError``; a file that is not a checkpoint (another kind of
    file, a truncated download, a pickle of Python objects, a bare tensor) is a one-line
    :class:`CheckpointError` naming it.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types, with paragraphs, for a file not its own
        raise CheckpointError(f"{path}: {_why_unloadable(path, exc)}") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: holds a {type(ckpt).__name__}, not an artstyle checkpoint (a dict)")
    return ckpt


def load_model(
    path: str | Path, cls: type[M] | Mapping[str, type[M]], device: Any = None
) -> tuple[M, dict[str, Any]]:
    """Rebuild ``cls`` from the checkpoint at ``path``; return it in eval mode on ``device`` and the dict.

    The checkpoint's recorded class (when it has one) must be ``cls``, or, with ``cls`` a mapping
    of class names to classes (several architectures serve one purpose: the style classifiers),
    one of its keys, which picks the class. Its class list must be today's
    :data:`artstyle.styles.STYLES`: a model trained on another label order would otherwise
    predict the wrong names silently (the course's label-order bug). Anything that does not
    rebuild (missing keys, arguments the class rejects, weights of other shapes) is a one-line
    :class:`CheckpointError` naming the file.
    """
    from artstyle import runtime
    from artstyle.styles import STYLES

    ckpt = load_checkpoint(path)
    missing = [key for key in ("model", "args") if key not in ckpt]
    if missing or not isinstance(ckpt["model"], Mapping) or not isinstance(ckpt["args"], Mapping):
        raise CheckpointError(
            f"{path}: not an artstyle model checkpoint (no {' and '.join(missing) or 'usable model and args'}; "
            "expected model weights, model_class and args)"
        )
    recorded = ckpt.get("model_class")
    if recorded is not None and not isinstance(recorded, str):
        raise CheckpointError(f"{path}: its model_class is a {type(recorded).__name__}, not a class name")
    if isinstance(cls, Mapping):
        if recorded not in cls:
            raise CheckpointError(
                f"{path}: holds a {recorded or 'model of no recorded class'}, expected one of {', '.join(cls)}"
            )
        cls = cls[recorded]
    elif recorded is not None and recorded != cls.__name__:
        raise CheckpointError(f"{path}: holds a {recorded}, expected a {cls.__name__}")
    classes = ckpt.get("classes")
    if classes is not None and (not isinstance(classes, (list, tuple)) or list(classes) != list(STYLES)):
        raise CheckpointError(f"{path}: its style list differs from artstyle.styles.STYLES")
    try:
        model = cls.from_args(ckpt["args"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: its args do not build a {cls.__name__} ({type(exc).__name__}: {_one_line(exc)})"
        ) from None
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: its weights do not fit a {cls.__name__} ({_one_line(exc)})") from None
    if device is not None:
        model = model.to(device, memory_format=runtime.memory_format(device))
    return model.eval(), ckpt
