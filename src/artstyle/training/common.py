"""Small helpers every training loop shares: LR schedule, dvclive, epoch timing, batch moves."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from artstyle import runtime


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, final_scale: float = 0.0) -> float:
    """LR multiplier at ``step``: linear warmup from ~0 to 1, then a cosine decay to ``final_scale``.

    Warmup matters because AdamW's first moment estimates are noisy and BatchNorm statistics
    are still moving: a full-size first step from random init can throw the net into a state
    (all ReLUs dead, one class predicted) it never leaves. Evaluated per optimiser step.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return final_scale + (1.0 - final_scale) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, final_scale: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR around :func:`warmup_cosine`; call ``.step()`` after every optimiser step."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, total_steps, warmup_steps, final_scale)
    )


def adamw_warmup_cosine(
    model: torch.nn.Module, lr: float, weight_decay: float, epochs: int, steps_per_epoch: int, warmup_epochs: float
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and its per-step warmup + cosine schedule, with the warmup and length given in epochs."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = warmup_cosine_scheduler(optimizer, epochs * steps_per_epoch, round(warmup_epochs * steps_per_epoch))
    return optimizer, scheduler


def open_live(live_dir: str | Path | None):
    """A dvclive ``Live`` writing into ``live_dir`` (or None to log nothing).

    ``dvcyaml=False``: the stage and its plots are declared in the repo's dvc.yaml, not in a
    generated one; ``save_dvc_exp=False``: ``dvc exp run`` already records the experiment.
    """
    if live_dir is None:
        return None
    from dvclive import Live

    return Live(str(live_dir), dvcyaml=False, save_dvc_exp=False)


class EpochTimer:
    """Wall time and throughput of one epoch: ``with EpochTimer() as t: ...; t.add(n)``."""

    def __init__(self) -> None:
        self.images = 0
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> EpochTimer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start

    def elapsed(self) -> float:
        """Seconds since the epoch started (inside the block, e.g. before validation)."""
        return time.perf_counter() - self._start

    def add(self, n: int) -> None:
        self.images += int(n)

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move an image batch to ``device`` in the layout its convolutions prefer."""
    return x.to(device, non_blocking=True).contiguous(memory_format=runtime.memory_format(device))


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
