"""Small helpers the training loop and the trainers share: LR schedules and dvclive."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch


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
    params: torch.nn.Module | Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float,
    epochs: float,
    steps_per_epoch: int,
    warmup_epochs: float,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and its per-step warmup + cosine schedule, with the warmup and length given in epochs.

    ``params``: a model (all its parameters), parameters, or param groups (dicts, each with its
    own ``lr`` where it differs from ``lr``). The schedule is a multiplier, so LambdaLR scales
    every group's own peak rate alike. ``epochs`` may be fractional (a run of a fixed number of
    steps); the schedule spans ``round(epochs * steps_per_epoch)`` steps.
    """
    if isinstance(params, torch.nn.Module):
        params = params.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scheduler = warmup_cosine_scheduler(
        optimizer, round(epochs * steps_per_epoch), round(warmup_epochs * steps_per_epoch)
    )
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
