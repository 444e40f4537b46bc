"""Stylize latency: the trained transfer network on one image, batch 1, as ``artstyle stylize`` runs it,
side by side with this project's first transfer network (:mod:`artstyle.bench.reference`).

The two are timed in alternation (one run of each per round), so a busy moment of the machine
slows both alike and the *ratio* is what the figure is about; absolute milliseconds differ between
machines. The reference has random weights: its latency is its architecture's. The end-to-end
figure times what a user waits for after the imports: read a 1024 px JPEG, stylize it as the CLI
does by default, write the PNG.

A timing, so it lives here and not in the ``evaluate_transfer`` stage's metrics (which must be the
same on every rerun).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import runtime
from artstyle.bench.common import describe_runtime, runtime_line, synchronize
from artstyle.bench.reference import REFERENCE_ARGS, reference_net
from artstyle.evaluation.transfer import load_transfer

TRANSFER_HINT = "train it with `dvc repro train_transfer` (or pass --model)"
SPEEDUP_TARGET = 2.0  # issue: at least 2x faster than the reference at 256 and 512 px
END_TO_END_TARGET_MS = 1000.0  # issue: a 1024 px image end to end in under 1 s on 2 cores


def _timed(fn: Callable[[], Any], device: torch.device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return (time.perf_counter() - t0) * 1000.0


@torch.no_grad()
def latency_ms(
    model: torch.nn.Module, size: int, repeats: int, device: torch.device, warmup: int = 3
) -> float:
    """Median milliseconds to stylize one ``size`` x ``size`` image (batch 1) after ``warmup`` untimed runs."""
    return alternated_ms({"model": model}, size, repeats, device, warmup)["model"]


@torch.no_grad()
def alternated_ms(
    models: dict[str, torch.nn.Module], size: int, repeats: int, device: torch.device, warmup: int = 3
) -> dict[str, float]:
    """Median milliseconds of each model on one ``size`` x ``size`` image (batch 1), timed in turn
    within every round. The input is already on the device; CUDA work is waited for around each run."""
    x = runtime.to_device(torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)), device)
    style = torch.zeros(1, dtype=torch.long, device=device)
    times: dict[str, list[float]] = {name: [] for name in models}

    def run(m: torch.nn.Module) -> None:
        with runtime.autocast(device):
            m(x, style)

    for i in range(warmup + repeats):
        for name, m in models.items():
            ms = _timed(lambda m=m: run(m), device)
            if i >= warmup:
                times[name].append(ms)
    return {name: float(statistics.median(t)) for name, t in times.items()}


def end_to_end_ms(model_path: str | Path, size: int = 1024, repeats: int = 5) -> float:
    """Median milliseconds of ``artstyle stylize --size SIZE``'s work on a ``size`` px JPEG, imports
    and model loading excluded: read, stylize at the default texture scale, write the PNG (on the
    CPU, where the CLI runs by default)."""
    from PIL import Image

    from artstyle import stylize as st

    net, ckpt = load_transfer(model_path)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.jpg", Path(tmp) / "out.png"
        # A smooth random picture (noise would make the PNG encoder, not the network, dominate).
        small = rng.integers(0, 256, (size // 32, size // 32, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC).save(src, quality=90)

        def once() -> None:
            with torch.no_grad():
                x = st.to_tensor(st.resize_short(st.read_image(src), size))
                scale = st.default_texture_scale(size, int(ckpt.get("image_size", 64)))
                st.save_image(st.to_image(st.stylize(net, x, torch.tensor([0]), texture_scale=scale)), dst)

        once()  # warm-up
        return float(statistics.median(_timed(once, torch.device("cpu")) for _ in range(repeats)))


def bench_stylize(
    model_path: str | Path,
    sizes: Sequence[int] | int = (256, 512),
    repeats: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
    compile: bool = False,
    end_to_end_size: int | None = 1024,
) -> dict[str, Any]:
    """Median latency of the trained network and of the reference architecture at each of ``sizes``
    (batch 1, alternated), their ratio, and the end-to-end time of a ``end_to_end_size`` image."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found: {TRANSFER_HINT}")
    sizes = [sizes] if isinstance(sizes, int) else list(sizes)
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    net, _ = load_transfer(model_path, device)
    fmt = runtime.memory_format(device)
    net = net.to(memory_format=fmt)
    # The reference is timed in both layouts and the faster one counts: channels_last, which speeds
    # this network up, can slow the reference's 9x9 convs down, and the ratio must not gain from that.
    refs = (
        {"reference": fmt, "reference_contiguous": torch.contiguous_format}
        if fmt != torch.contiguous_format
        else {"reference": fmt}
    )
    models = {"model": net}
    for name, layout in refs.items():
        models[name] = reference_net().to(device, memory_format=layout)
    if compile:
        models = {name: torch.compile(m) for name, m in models.items()}
    rows = []
    for size in sizes:
        ms = alternated_ms(models, size, repeats, device, warmup)
        by_layout = {str(refs[name]).removeprefix("torch."): ms[name] for name in refs}
        reference = min(by_layout.values())
        rows.append(
            {
                "size": size,
                "ms_per_image": ms["model"],
                "images_per_s": 1000.0 / ms["model"],
                "reference_ms_per_image": reference,
                "reference_ms_by_layout": by_layout,
                "speedup": reference / ms["model"],
            }
        )
    result: dict[str, Any] = {
        "rows": rows,
        # The first size's figures also at the top level: the summary line and older readers use them.
        "size": rows[0]["size"],
        "ms_per_image": rows[0]["ms_per_image"],
        "images_per_s": rows[0]["images_per_s"],
        "min_speedup": min(r["speedup"] for r in rows),
        "speedup_target": SPEEDUP_TARGET,
        "batch_size": 1,
        "repeats": repeats,
        "warmup": warmup,
        "model": str(model_path),
        "model_args": dict(net.args),
        "reference_args": dict(REFERENCE_ARGS),
        **describe_runtime(device, compiled=compile),
    }
    if end_to_end_size:
        result["end_to_end_size"] = end_to_end_size
        result["end_to_end_ms"] = end_to_end_ms(model_path, end_to_end_size)
        result["end_to_end_target_ms"] = END_TO_END_TARGET_MS
    return result


def stylize_lines(r: dict[str, Any]) -> list[str]:
    rows = r.get("rows") or [r]
    lines = []
    for row in rows:
        line = (
            f"stylize {row['size']}x{row['size']}, batch 1: median {row['ms_per_image']:.2f} ms over "
            f"{r['repeats']} runs = {row['images_per_s']:.1f} images/s"
        )
        if "reference_ms_per_image" in row:
            line += f"; reference network {row['reference_ms_per_image']:.2f} ms ({row['speedup']:.2f}x)"
        lines.append(line)
    if "end_to_end_ms" in r:
        lines.append(
            f"stylize a {r['end_to_end_size']} px JPEG end to end (read, stylize, write PNG; imports "
            f"excluded): {r['end_to_end_ms']:.0f} ms"
        )
    return lines + [runtime_line(r)]
