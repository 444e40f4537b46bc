"""What every benchmark section shares: the runtime description recorded with it, timed rounds,
the JSON file the sections are merged into, and the report line that says how a figure was measured."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from artstyle import runtime
from artstyle.fileio import read_json, write_json

# A round: run the workload once, return (seconds, images).
Round = Callable[[], tuple[float, int]]


def _dtype_name(ctx: Any) -> str:
    return str(ctx.fast_dtype).removeprefix("torch.") if isinstance(ctx, torch.autocast) else "off"


def describe_runtime(
    device: torch.device, *, compiled: bool = False, pin_memory: bool = False
) -> dict[str, Any]:
    """How a figure was measured: device, torch build, threads, and the CUDA speed-ups in effect.

    The autocast and memory-format entries are read from :mod:`artstyle.runtime` itself rather than
    restated here, so they stay true if its policy ever changes (today: bf16 autocast on CUDA,
    bf16 training also on CPUs with native bf16, channels_last everywhere). Copies are always
    issued with ``non_blocking=True`` (see :func:`artstyle.runtime.to_device`); they are only
    asynchronous from pinned memory to a CUDA device, which is what ``non_blocking`` records.
    """
    cuda = device.type == "cuda"
    autocast = runtime.autocast(device)  # inference precision; training's is train_autocast
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if cuda
        else (platform.processor() or platform.machine()),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "autocast": _dtype_name(autocast),
        "train_autocast": _dtype_name(runtime.train_autocast(device)),
        "channels_last": runtime.memory_format(device) == torch.channels_last,
        "compile": compiled,
        "pin_memory": pin_memory,
        "non_blocking": cuda and pin_memory,
    }


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so a timer read afterwards includes it (a no-op elsewhere)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_rates(
    rounds: Mapping[str, Round], repeats: int, min_seconds: float, desc: str = "bench"
) -> tuple[dict[str, float], dict[str, int]]:
    """Images/s of each workload (its median round) and how many rounds each ran.

    Each workload runs until it has at least ``repeats`` rounds and ``min_seconds`` in all (a
    millisecond round alone is mostly timer noise), then drops out. While several still run they
    take turns round by round, so a slow drift of a shared machine's load hits them alike instead
    of biasing their ratio.
    """
    rates: dict[str, list[float]] = {name: [] for name in rounds}
    spent = dict.fromkeys(rounds, 0.0)

    def pending() -> list[str]:
        return [name for name in rounds if len(rates[name]) < repeats or spent[name] < min_seconds]

    with tqdm(desc=desc, unit="round", leave=False) as bar:
        while names := pending():
            for name in names:
                seconds, images = rounds[name]()
                rates[name].append(runtime.per_second(images, seconds))
                spent[name] += seconds
                bar.update()
    return (
        {name: float(statistics.median(r)) for name, r in rates.items()},
        {name: len(r) for name, r in rates.items()},
    )


def rates_and_ratio(rates: Mapping[str, float], first: str, second: str, ratio: str) -> dict[str, float]:
    """Two workloads' images/s (``<name>_images_per_s``) and ``first``'s rate over ``second``'s as ``ratio``."""
    return {
        f"{first}_images_per_s": rates[first],
        f"{second}_images_per_s": rates[second],
        ratio: rates[first] / rates[second],
    }


def merge_sections(path: str | Path, sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Set each key of ``sections`` in the JSON object at ``path`` (created if missing), keeping the others."""
    path = Path(path)
    merged = read_json(path) if path.exists() else {}
    merged.update(sections)
    write_json(path, merged)
    return merged


def merge_json(path: str | Path, key: str, results: dict[str, Any]) -> dict[str, Any]:
    """Set ``key`` in the JSON object at ``path`` (created if missing), keeping the other keys."""
    return merge_sections(path, {key: results})


def stamp(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` with ``measured_at`` (UTC): bench.json mixes sections from separate runs unless `all` wrote it."""
    return {**results, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def on_off(flag: bool) -> str:
    return "on" if flag else "off"


def runtime_line(r: dict[str, Any]) -> str:
    """One report line from :func:`describe_runtime`'s entries."""
    return (
        f"{r['device']} ({r['device_name']}), torch {r['torch']}, {r['threads']} thread(s); autocast "
        f"{r['autocast']}, channels_last {on_off(r['channels_last'])}, compile {on_off(r['compile'])}, "
        f"pinned non-blocking copies {on_off(r['non_blocking'])}"
    )
