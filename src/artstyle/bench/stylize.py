"""Stylize latency: the trained transfer network on one image, batch 1, as ``artstyle stylize`` runs it.

A timing, so it lives here and not in the ``evaluate_transfer`` stage's metrics (which must be the
same on every rerun).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from artstyle import runtime
from artstyle.bench.common import describe_runtime, runtime_line, synchronize
from artstyle.evaluation.transfer import load_transfer

TRANSFER_HINT = "train it with `dvc repro train_transfer` (or pass --model)"


@torch.no_grad()
def latency_ms(model: torch.nn.Module, size: int, repeats: int, device: torch.device, warmup: int = 3) -> float:
    """Median milliseconds to stylize one ``size`` x ``size`` image (batch 1) after ``warmup`` untimed runs.

    The input is already on the device; CUDA work is waited for before and after each run, so a
    run's time is its kernels' and not the queue's.
    """
    x = runtime.to_device(torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)), device)
    style = torch.zeros(1, dtype=torch.long, device=device)
    times = []
    for i in range(warmup + repeats):
        synchronize(device)
        t0 = time.perf_counter()
        with runtime.autocast(device):
            model(x, style)
        synchronize(device)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    return float(statistics.median(times))


def bench_stylize(
    model_path: str | Path,
    size: int = 256,
    repeats: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
    compile: bool = False,
) -> dict[str, Any]:
    """Median latency of the transfer network on one ``size`` x ``size`` image (batch 1).

    Loaded as ``artstyle stylize`` and the ``evaluate_transfer`` stage load it
    (:func:`~artstyle.evaluation.transfer.load_transfer`), timed by :func:`latency_ms`.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found: {TRANSFER_HINT}")
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    net, _ = load_transfer(model_path, device)
    ms = latency_ms(torch.compile(net) if compile else net, size, repeats, device, warmup=warmup)
    return {
        "ms_per_image": ms,
        "images_per_s": 1000.0 / ms,
        "size": size,
        "batch_size": 1,
        "repeats": repeats,
        "warmup": warmup,
        "model": str(model_path),
        **describe_runtime(device, compiled=compile),
    }


def stylize_lines(r: dict[str, Any]) -> list[str]:
    return [
        (
            f"stylize {r['size']}x{r['size']}, batch 1: median {r['ms_per_image']:.2f} ms over {r['repeats']} runs "
            f"= {r['images_per_s']:.1f} images/s"
        ),
        runtime_line(r),
    ]
