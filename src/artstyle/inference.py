"""Batched inference: the one place that moves batches to the device, runs them under no_grad and
autocast, and brings float32 results back to the CPU.

Two precisions (``autocast``): :func:`artstyle.runtime.autocast` (the default: float32 on the CPU)
for everything that makes pixels or features, so evaluation, `stylize` and its ONNX export give the
same pixels; and :func:`artstyle.runtime.train_autocast` for classifiers (the style classifier, the
judges, `artstyle classify`), whose output is an argmax over logits, evaluated in the precision they
were trained in: on a CPU with bf16 in hardware the frozen VGG19 of a linear probe then runs about
twice as fast, and its head sees the bf16 features it was fitted to.

``fn`` receives each batch already on the device (a tensor, or the tuple the batches are); its
output (a tensor, or a tuple of tensors) comes back as float32 on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch

# Plain tqdm, not tqdm.auto: its asyncio wrapper calls iter() on the iterable when the bar is made
# and again when it is looped over, so a DataLoader would draw its shuffle twice per epoch.
from tqdm import tqdm

from artstyle import runtime


def chunks(data: Any, batch_size: int) -> Iterator[Any]:
    """Consecutive batches of ``data``, or of every array of a tuple ``data`` alike (yielding tuples).

    uint8 store images [N, H, W, 3] become float [B, 3, H, W] in [0, 1].
    """
    from artstyle.data.dataset import to_float

    def part(array, start):
        piece = array[start : start + batch_size]
        if isinstance(piece, np.ndarray) and piece.dtype == np.uint8:
            return to_float(piece)
        return torch.as_tensor(piece)

    arrays = data if isinstance(data, tuple) else (data,)
    for start in range(0, len(arrays[0]), batch_size):
        parts = tuple(part(a, start) for a in arrays)
        yield parts if isinstance(data, tuple) else parts[0]


def row_chunks(images: np.ndarray, rows: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
    """Float batches [B, 3, H, W] in [0, 1] of the store ``rows`` (in the given order), read a batch at a time.

    ``chunks(images[rows], ...)`` would first copy every selected row out of the memmap: the whole
    train split at once, 12 GB at 224 px for WikiArt. Here only one batch is ever in memory. Each
    batch is read with sorted rows (the fast memmap access) and put back in the given order.
    """
    from artstyle.data.dataset import to_float

    rows = np.asarray(rows, dtype=np.int64)
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        order = np.argsort(part, kind="stable")
        batch = np.empty((len(part),) + tuple(images.shape[1:]), dtype=np.uint8)
        batch[order] = images[part[order]]
        yield to_float(batch)


def n_chunks(n: int, batch_size: int) -> int:
    """How many batches :func:`chunks` yields for ``n`` items (for progress bars)."""
    return -(-n // batch_size)


def _to_cpu(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return type(out)(_to_cpu(o) for o in out)
    return out.float().cpu()


@torch.no_grad()
def iterate(
    fn: Callable[[Any], Any],
    batches: Iterable[Any],
    device: torch.device,
    *,
    desc: str | None = None,
    total: int | None = None,
    autocast: Callable[[torch.device], Any] = runtime.autocast,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(fn(batch on device) as float32 CPU, batch)`` for every batch (a progress bar with
    ``desc``), under ``autocast(device)``."""
    for batch in tqdm(batches, desc=desc, total=total, leave=False, disable=desc is None):
        with autocast(device):
            out = fn(runtime.to_device(batch, device))
        yield _to_cpu(out), batch


def predict(
    fn: Callable[[Any], torch.Tensor],
    batches: Iterable[Any],
    device: torch.device,
    *,
    desc: str | None = None,
    total: int | None = None,
    autocast: Callable[[torch.device], Any] = runtime.autocast,
) -> torch.Tensor:
    """All of ``fn``'s outputs concatenated along the batch axis (float32, CPU); empty if no batches."""
    outs = [out for out, _ in iterate(fn, batches, device, desc=desc, total=total, autocast=autocast)]
    return torch.cat(outs) if outs else torch.zeros(0)


def predict_into(
    out: np.ndarray,
    fn: Callable[[Any], torch.Tensor],
    batches: Iterable[Any],
    device: torch.device,
    *,
    desc: str | None = None,
    total: int | None = None,
) -> np.ndarray:
    """:func:`predict` written batch by batch into ``out`` [N, ...] (float32): no list of batches and
    no concatenated copy, so the peak memory is ``out`` itself (features of a whole split)."""
    start = 0
    for batch_out, _ in iterate(fn, batches, device, desc=desc, total=total):
        n = batch_out.shape[0]
        out[start : start + n] = batch_out.numpy().reshape((n, *out.shape[1:]))
        start += n
    if start != len(out):
        raise ValueError(f"predict_into: the batches held {start} items, out has {len(out)} rows")
    return out


def predict_labelled(
    model: torch.nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    *,
    desc: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(logits float32 [N, ...], labels int64 [N]) of the classifier ``model`` (in eval mode, in its
    training precision) over an (x, y) loader.

    The model's train/eval mode is restored afterwards (validation runs inside training).
    """
    was_training = model.training
    model.eval()
    outs, labels = [], []
    for out, (_, y) in iterate(
        lambda b: model(b[0]), loader, device, desc=desc, autocast=runtime.train_autocast
    ):
        outs.append(out.numpy())
        labels.append(y.numpy())
    model.train(was_training)
    if not outs:
        return np.zeros((0, getattr(model, "num_classes", 0)), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate(outs), np.concatenate(labels).astype(np.int64)
