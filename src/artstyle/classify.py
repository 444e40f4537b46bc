"""Name the style of any painting with the classifier the pipeline trained (`artstyle classify`).

A file is decoded exactly as the ``index`` stage decodes the dataset (:func:`artstyle.data.decode.
decode_bytes`: EXIF orientation, every mode to RGB, the centred square at the model's size, the
decompression-bomb limit), and the pixels go through the same batching, device and precision path
as ``evaluate_classifier`` (:mod:`artstyle.inference`), so a file of the test split gets the
prediction the stage recorded for it. Probabilities are a softmax over the styles the checkpoint
was trained on only (``trained_styles``; every other style is masked with
:func:`artstyle.evaluation.classification.restrict_logits`, as the evaluation masks them).

The image size is the checkpoint's ``image_size``; a checkpoint that does not record it (trained
before it did) gets ``data.image_size`` of ``params.yaml`` in the working directory, else 64.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from artstyle.checkpoint import CheckpointError
from artstyle.data.decode import DEFAULT_MAX_PIXELS, decode_bytes, describe, resize_center_crop, to_rgb
from artstyle.data.layouts.files import IMAGE_EXTENSIONS, has_image_extension, walk_files
from artstyle.styles import NUM_CLASSES, STYLES

DEFAULT_MODEL = Path("models/classifier.pt")
DEFAULT_IMAGE_SIZE = 64  # params.yaml data.image_size of the default pipeline
PARAMS_FILE = Path("params.yaml")


class Classified(NamedTuple):
    path: Path
    top: list[tuple[str, float]]  # (style, probability), most probable first


class Failure(NamedTuple):
    path: Path
    reason: str  # one line


def pipeline_image_size(params: Path = PARAMS_FILE) -> int:
    """``data.image_size`` of ``params`` (the size the pipeline's models see), else the default."""
    try:
        import yaml

        size = yaml.safe_load(params.read_text(encoding="utf-8"))["data"]["image_size"]
        return int(size) if int(size) > 0 else DEFAULT_IMAGE_SIZE
    except Exception:  # noqa: BLE001 - no params file (or an odd one): the default pipeline's size
        return DEFAULT_IMAGE_SIZE


class StyleClassifier:
    """A trained style classifier (any backbone) ready to name the styles of images.

    ``image_size``: the side of the square images the model sees; ``styles``: the names of the
    styles the checkpoint was trained on, in label order (the columns of :meth:`probabilities`).
    """

    def __init__(
        self,
        model: Any,
        trained: Iterable[int],
        image_size: int,
        device: Any = None,
        batch_size: int = 64,
        path: Path | None = None,
    ) -> None:
        from artstyle import runtime

        self.model = model
        self.trained: tuple[int, ...] = tuple(int(i) for i in trained)
        self.styles: tuple[str, ...] = tuple(STYLES[i] for i in self.trained)
        self.image_size = int(image_size)
        self.device = device if device is not None else runtime.pick_device()
        self.batch_size = batch_size
        self.path = path

    @classmethod
    def load(
        cls, path: str | Path, device: Any = None, image_size: int | None = None, batch_size: int = 64
    ) -> StyleClassifier:
        """The classifier checkpoint at ``path`` (any backbone the pipeline trains), on ``device``
        (default: CUDA when present). Anything that is not one raises a one-line
        :class:`~artstyle.checkpoint.CheckpointError` naming the file."""
        from artstyle import runtime
        from artstyle.models.backbones import load_classifier

        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint not found")
        device = device if device is not None else runtime.pick_device()
        runtime.configure_torch(device)
        try:
            model, ckpt = load_classifier(path, device)
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, another model's dict...
            raise CheckpointError(f"{path}: {_why_not_a_classifier(path, exc)}") from None
        trained = tuple(int(i) for i in ckpt.get("trained_styles", range(NUM_CLASSES)))
        if not trained or any(not 0 <= i < NUM_CLASSES for i in trained):
            raise CheckpointError(
                f"{path}: its trained_styles {list(trained)} are not label ids of the styles"
            )
        size = image_size or int(ckpt.get("image_size") or 0) or pipeline_image_size()
        return cls(model, trained, size, device=device, batch_size=batch_size, path=path)

    # -- inference ------------------------------------------------------------------------------

    def logits(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, s, s, 3] -> float32 [N, 27] logits, every untrained style at -inf.

        The path of ``evaluate_classifier``: :func:`artstyle.inference.chunks` (the stored uint8
        pixels / 255) through :func:`artstyle.inference.iterate` (device, training precision), then
        :func:`~artstyle.evaluation.classification.restrict_logits`.
        """
        from artstyle import inference, runtime
        from artstyle.evaluation.classification import restrict_logits

        images = np.asarray(images)
        if not images.flags.writeable:  # a read-only memmap or PIL buffer: torch wants to own writable memory
            images = images.copy()
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {list(images.shape)}")
        if len(images) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        out = inference.predict(
            self.model,
            inference.chunks(images, self.batch_size),
            self.device,
            autocast=runtime.train_autocast,
        )
        return restrict_logits(out.numpy(), self.trained)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, s, s, 3] store-format images -> float32 [N, len(styles)]: softmax over the
        trained styles (columns in the order of :attr:`styles`; each row sums to 1)."""
        return self._softmax(self.logits(images))

    def _softmax(self, logits: np.ndarray) -> np.ndarray:
        z = logits[:, list(self.trained)].astype(np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)

    def ranked(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """The ``k`` most probable trained styles of each image, (style, probability) best first.

        Ranked on the logits, so the first style is always ``evaluate_classifier``'s prediction.
        """
        logits = self.logits(images)
        probs = self._softmax(logits)
        z = logits[:, list(self.trained)]
        k = max(1, min(k, len(self.trained)))
        out = []
        for row_z, row_p in zip(z, probs):
            order = np.argsort(-row_z, kind="stable")[:k]
            out.append([(self.styles[j], float(row_p[j])) for j in order])
        return out

    def to_array(self, image: Any) -> np.ndarray:
        """A PIL image -> uint8 [s, s, 3], decoded as the index decodes files (EXIF orientation,
        any mode to RGB with transparency on white, the centred square at :attr:`image_size`)."""
        from PIL import ImageOps

        im = ImageOps.exif_transpose(image)
        return np.array(resize_center_crop(to_rgb(im), self.image_size), dtype=np.uint8)

    def top_k(self, image: Any, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable trained styles of one PIL image: [(style, probability)], best first."""
        return self.ranked(self.to_array(image)[None], k)[0]

    def decode(self, data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray | None, str]:
        """A file's bytes -> (uint8 [s, s, 3], "") or (None, why not): the index's decoder."""
        arr, _, _, reason = decode_bytes(data, self.image_size, max_pixels)
        return arr, reason


def _why_not_a_classifier(path: Path, exc: Exception) -> str:
    """One line on why ``load_classifier`` failed on ``path`` (the file is read again to tell)."""
    from artstyle.checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except Exception:  # noqa: BLE001 - torch's messages are paragraphs: say what it means
        return "not a PyTorch checkpoint (a truncated download, or another kind of file)"
    if not isinstance(ckpt, dict) or not {"model", "model_class", "args"} <= set(ckpt):
        return "not a classifier checkpoint (it holds no model_class, args and model weights)"
    return f"not a usable {ckpt['model_class']} checkpoint ({describe(exc)})"[:300]


def image_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Failure]]:
    """The files to classify: each file as given, each folder's image files (recursively, by the
    index's extensions, hidden files skipped, sorted). A missing path or a folder without image
    files is a failure."""
    files: list[Path] = []
    failures: list[Failure] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in walk_files(p) if has_image_extension(f))
            if not found:
                exts = " ".join(sorted(IMAGE_EXTENSIONS))
                failures.append(Failure(p, f"no image files in this folder ({exts})"))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            failures.append(Failure(p, "not found"))
    return files, failures


def _batches(
    clf: StyleClassifier, files: list[Path], batch_size: int, max_pixels: int, failures: list[Failure]
) -> Iterator[tuple[list[Path], np.ndarray, int]]:
    """(paths, decoded uint8 batch, files consumed) batches; unreadable files go to ``failures``."""
    paths: list[Path] = []
    arrays: list[np.ndarray] = []
    consumed = 0
    for f in files:
        consumed += 1
        try:
            data = f.read_bytes()
        except OSError as exc:
            failures.append(Failure(f, f"cannot read: {describe(exc)}"))
            continue
        arr, reason = clf.decode(data, max_pixels)
        if arr is None:
            failures.append(Failure(f, reason))
            continue
        paths.append(f)
        arrays.append(arr)
        if len(paths) == batch_size:
            yield paths, np.stack(arrays), consumed
            paths, arrays, consumed = [], [], 0
    if paths or consumed:
        yield paths, np.stack(arrays) if arrays else np.zeros((0, 1, 1, 3), np.uint8), consumed


def classify_paths(
    clf: StyleClassifier,
    paths: Iterable[str | Path],
    top: int = 5,
    batch_size: int = 64,
    progress: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_failure: Callable[[Failure], None] | None = None,
) -> tuple[list[Classified], list[Failure]]:
    """Top-``top`` styles of every image file in ``paths`` (files, and folders walked recursively).

    Files are decoded one at a time and classified ``batch_size`` at a time (memory stays bounded
    whatever the folder holds); ``progress`` shows a bar on stderr when it is a terminal. Returns (results in input
    order, failures: (path, one-line reason) for each missing path, folder without images or file
    that could not be decoded). ``on_failure`` is called on each failure as it happens.
    """
    from tqdm import tqdm

    files, failures = image_files(paths)
    if on_failure is not None:
        for f in failures:
            on_failure(f)
    seen = len(failures)
    results: list[Classified] = []
    with tqdm(
        total=len(files),
        desc="classify",
        unit="img",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    ) as bar:
        for batch_paths, batch, consumed in _batches(clf, files, batch_size, max_pixels, failures):
            if on_failure is not None:
                for f in failures[seen:]:
                    on_failure(f)
            seen = len(failures)
            if len(batch):
                results.extend(Classified(p, t) for p, t in zip(batch_paths, clf.ranked(batch, top)))
            bar.update(consumed)
    return results, failures
