"""Seeding, device choice and mixed precision: the few things every training stage shares."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import sys
from pathlib import Path

import numpy as np


def seed_everything(seed: int) -> None:
    """One seed for random, numpy and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def pick_device(prefer: str | None = None):
    """CUDA when present (or ``prefer``), else CPU."""
    import torch

    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device):
    """Inference precision: bf16 autocast on CUDA; float32 on CPU, so evaluation, `stylize` and
    its ONNX export (float32) give the same pixels."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


CPU_BF16_ENV = "ARTSTYLE_CPU_BF16"


def per_second(count: float, seconds: float) -> float:
    """``count / seconds`` (e.g. images/s), finite for a timing that read zero."""
    return count / max(seconds, 1e-9)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX-BF16), from /proc/cpuinfo.

    Without those instructions oneDNN emulates bf16 and is slower than float32, so only these
    CPUs train in bf16. (PyTorch has no public query for the instruction; other systems: False.)
    """
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def train_autocast(device):
    """Training precision: bf16 autocast on CUDA, and on CPUs with native bf16 unless
    ``ARTSTYLE_CPU_BF16=0``; float32 otherwise. Weights, optimiser state and the losses' Gram
    matrices and variances stay float32 (see losses.perceptual, models.layers).

    On a CPU with bf16 in hardware, bf16 convolutions (forward + backward, channels_last) are
    markedly faster than float32 ones. Runs stay deterministic on one machine; a CPU with and one
    without bf16 train different (equally good) weights.
    """
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and os.environ.get(CPU_BF16_ENV, "1") != "0" and cpu_has_native_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def configure_torch(device) -> None:
    """Deterministic kernels on CPU; fast kernels (TF32, cudnn benchmark) on CUDA."""
    import torch

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        # The same eager flag as torch.use_deterministic_algorithms, which also imports
        # torch._inductor to set its compiler config: 1.8 s per stage on 2 cores, for a compiler no
        # stage uses. Where inductor is already loaded (torch.compile), the public call sets both.
        torch._C._set_deterministic_algorithms(True, warn_only=True)


def start(seed: int, device=None):
    """A stage's first step: seed every generator, pick the device (unless given), configure torch
    for it; returns the device."""
    seed_everything(seed)
    device = device or pick_device()
    configure_torch(device)
    return device


def memory_format(device):
    """channels_last on every device: on CUDA for tensor cores; on CPU because oneDNN's NHWC
    convolutions are faster than NCHW ones too, in training and in inference, for every model here."""
    import torch

    del device  # one policy for all devices, kept as a parameter so a device may differ again
    return torch.channels_last


def to_device(batch, device):
    """Move a tensor, or a tuple/list of tensors, to ``device``; image batches in its preferred layout.

    4-D tensors (image batches) become channels_last; others (labels, style ids) just move.
    """
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(t, device) for t in batch)
    batch = batch.to(device, non_blocking=True)
    if batch.dim() == 4:
        batch = batch.contiguous(memory_format=memory_format(device))
    return batch
