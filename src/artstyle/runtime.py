"""Seeding, device choice and mixed precision: the few things every training stage shares."""

from __future__ import annotations

import contextlib
import os
import random

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
    """bf16 autocast on CUDA; a no-op on CPU so CPU runs stay exactly deterministic."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def configure_torch(device, deterministic: bool = True) -> None:
    """Deterministic kernels on CPU; fast kernels (TF32, cudnn benchmark) on CUDA."""
    import torch

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def memory_format(device):
    """channels_last on CUDA (faster convolutions with tensor cores), contiguous on CPU."""
    import torch

    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def to_device(batch, device):
    """Move a tensor, or a tuple/list of tensors, to ``device``; image batches in its preferred layout.

    4-D tensors (image batches) become channels_last on CUDA; others (labels, style ids) just move.
    """
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(t, device) for t in batch)
    batch = batch.to(device, non_blocking=True)
    if batch.dim() == 4:
        batch = batch.contiguous(memory_format=memory_format(device))
    return batch
