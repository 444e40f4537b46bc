"""The one training loop: every trainer (classifier, autoencoder, transfer, embedder) and the
training benchmark run their optimisation steps through :class:`Trainer`.

A trainer supplies only what differs between models, as small hooks:

- ``loss_fn(net, batch)``: the batch already on the device; returns the loss, or ``(loss, terms)``
  with ``terms`` a dict of scalar tensors to log (the transfer network's content/style/tv);
- ``validate()``: the epoch's validation metrics (a dict), run after the training steps;
- ``select(row)``: the score of an epoch's history row, higher is better (``None``: nothing to
  select on, keep the latest epoch). The best epoch's weights are restored at the end.

The loop owns everything else, once: device moves (channels_last), bf16 autocast (CUDA, and CPUs
with native bf16: runtime.train_autocast), zero_grad/backward/step/LR-schedule order, DDP
(per-epoch sampler seeding, BatchNorm buffer sync, loss sums over ranks, rank-0 logging),
dvclive (per epoch or per step), tqdm progress and the best-on-validation selection. It draws
no random numbers itself, so a trainer's results depend only on its own seeding and setup order.

:meth:`Trainer.fit` reads top to bottom as one loop over epochs: ``_run_epoch`` (the training
steps), the trainer's ``validate``, the history row, ``_log_epoch`` (dvclive), ``_save_best``
(selection) and ``_print_epoch`` (one line per epoch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

# Plain tqdm, not tqdm.auto: its asyncio wrapper calls iter() on the iterable when the bar is made
# and again when it is looped over, so a DataLoader would draw its shuffle twice per epoch.
from tqdm import tqdm

from artstyle import distributed, runtime
from artstyle.training.common import open_live

LossFn = Callable[[torch.nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, Mapping[str, torch.Tensor]]"]


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns; the model itself holds the selected weights."""

    history: list[dict[str, float]]  # one row per epoch: train_loss, the validate() keys, lr
    step_logs: list[dict[str, float]]  # one row per optimiser step: loss and the loss_fn's terms
    best_epoch: int  # 1-based; 0 when no epoch was ever selected (e.g. a NaN validation loss)
    best_score: float | None
    train_seconds: float = 0.0  # wall time of the training passes (validation excluded), all epochs


@dataclass
class TrainRun:
    """What every trainer returns to its stage: the model, its metrics and its checkpoint entries.

    The stage saves ``model`` with ``save_checkpoint(path, model, model.args, STYLES, **checkpoint)``
    and writes ``metrics`` where it has a metrics file; trainers add their figures' data.
    """

    model: torch.nn.Module
    metrics: dict[str, Any]
    checkpoint: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1


def _live_name(key: str) -> str:
    """History keys to dvclive names: ``train_loss`` -> ``train/loss``, ``val_psnr`` -> ``val/psnr``."""
    for prefix in ("train_", "val_"):
        if key.startswith(prefix):
            return prefix[:-1] + "/" + key[len(prefix) :]
    return key


class Trainer:
    """One model's optimisation: ``step`` is a single optimiser step, ``fit`` the epoch loop around it.

    ``model`` is the plain module (validated, selected, saved); ``net`` is what the training
    forward calls (the DDP wrapper or a compiled module; ``model`` itself by default).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        *,
        device: torch.device,
        net: torch.nn.Module | None = None,
        ctx: distributed.Context | None = None,
    ) -> None:
        self.model = model
        self.net = net if net is not None else model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.device = device
        self.ctx = ctx

    @property
    def is_main(self) -> bool:
        return self.ctx is None or self.ctx.is_main

    def step(self, batch: Any) -> dict[str, float]:
        """Move ``batch`` to the device, compute the loss under autocast, take one optimiser step.

        Returns the step's scalars (``loss`` and the loss_fn's terms) as Python floats.
        """
        batch = runtime.to_device(batch, self.device)
        with runtime.train_autocast(self.device):
            out = self.loss_fn(self.net, batch)
        loss, terms = out if isinstance(out, tuple) else (out, {})
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return {"loss": loss.item(), **{k: float(v.detach()) for k, v in terms.items()}}

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def fit(
        self,
        batches: Iterable[Any],
        epochs: int,
        *,
        sampler: Any = None,
        validate: Callable[[], dict[str, float]] | None = None,
        select: Callable[[dict[str, float]], float | None] | None = None,
        live_dir: str | Path | None = None,
        log_steps: bool = False,
        summary: Callable[[FitResult], dict[str, Any]] | None = None,
        log_images: Callable[[], dict[str, Any]] | None = None,
        desc: str = "train",
        steps_per_epoch: int | None = None,
        progress: bool = True,
    ) -> FitResult:
        """Run ``epochs`` passes over ``batches`` (a DataLoader); keep the best epoch by ``select``.

        ``sampler``: the loader's DistributedSampler under torchrun, re-seeded every epoch.
        ``log_steps``: dvclive gets one step per optimiser step (``train/<term>`` and ``lr``)
        instead of one per epoch (the history row). ``summary(result)``: extra dvclive summary
        entries written at the end (e.g. the best epoch). ``log_images()``: ``{name: image}`` logged
        with dvclive's ``log_image`` after every epoch as ``<name>/<step>.png``, one image per step
        (``dvc plots show`` renders the folder).
        """
        live = open_live(live_dir) if self.is_main else None
        history: list[dict[str, float]] = []
        step_logs: list[dict[str, float]] = []
        best = _Best()
        total_seconds = 0.0
        try:
            for epoch in range(epochs):
                if self.ctx is not None and self.ctx.distributed and hasattr(sampler, "set_epoch"):
                    sampler.set_epoch(epoch)
                label = f"{desc} {epoch + 1}/{epochs}" if epochs > 1 else desc
                bar = tqdm(
                    batches,
                    desc=label,
                    total=steps_per_epoch,
                    leave=False,
                    disable=not (progress and self.is_main),
                )
                loss_sum, seen, seconds = self._run_epoch(bar, step_logs, live if log_steps else None)
                total_seconds += seconds
                # The plain module validates: evaluation shards may differ in length, and a DDP
                # forward is a collective every rank would have to join.
                val = validate() if validate is not None else {}
                if self.ctx is not None:
                    loss_sum, seen = distributed.all_reduce_sums([loss_sum, seen], self.ctx)
                row = {"epoch": epoch + 1, "train_loss": loss_sum / max(1, seen), **val, "lr": self.lr()}
                history.append(row)
                if live is not None:
                    _log_epoch(live, row, log_images, metrics=not log_steps)
                improved = self._save_best(best, row, select)
                if self.is_main and epochs > 1:
                    _print_epoch(row, epochs, improved, seconds, seen)
            if best.state is not None:
                self.model.load_state_dict(best.state)
            result = FitResult(
                history=history,
                step_logs=step_logs,
                best_epoch=best.epoch,
                best_score=None if best.score == -math.inf else float(best.score),
                train_seconds=total_seconds,
            )
            if live is not None and summary is not None:
                live.summary.update(summary(result))
                live.make_summary()
        finally:
            if live is not None:
                live.end()
        return result

    def _run_epoch(self, bar: tqdm, step_logs: list[dict[str, float]], live: Any) -> tuple[float, int, float]:
        """One training pass: a step per batch, each step's scalars appended to ``step_logs`` (and
        logged to ``live`` as a dvclive step when given). Returns this rank's summed loss, its
        image count and the pass's wall time; BatchNorm buffers are then synced over ranks."""
        self.net.train()
        start = time.perf_counter()
        loss_sum, seen = 0.0, 0
        for batch in bar:
            n = _batch_size(batch)
            logs = self.step(batch)
            step_logs.append(logs)
            loss_sum += logs["loss"] * n
            seen += n
            bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()})
            if live is not None:
                for k, v in logs.items():
                    live.log_metric(f"train/{k}", v)
                live.log_metric("lr", self.lr())
                live.next_step()
        seconds = time.perf_counter() - start
        if self.ctx is not None:
            distributed.sync_buffers(self.model, self.ctx)
        return loss_sum, seen, seconds

    def _save_best(self, best: _Best, row: dict[str, float], select: Callable | None) -> bool:
        """Make this epoch the best if ``select(row)`` beats the best score so far; True if it did.

        A ``None`` score (or no ``select``) always wins: the latest epoch is kept. A NaN never
        does. With ``select``, the winner's weights are copied so ``fit`` can restore them. The
        validation metrics are gathered over ranks, so every rank selects the same epoch.
        """
        score = select(row) if select is not None else None
        if score is not None and not score > best.score:
            return False
        best.epoch = int(row["epoch"])
        if score is not None:
            best.score = score
        if select is not None:
            best.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return True


@dataclass
class _Best:
    """The selected epoch so far: its score (higher is better), 1-based number and weights."""

    score: float = -math.inf
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None


def _log_epoch(
    live: Any, row: dict[str, float], log_images: Callable[[], dict[str, Any]] | None, metrics: bool
) -> None:
    """The epoch's images and, when ``metrics``, its history row as one dvclive step."""
    if log_images is not None:
        for name, image in log_images().items():
            live.log_image(f"{name}/{live.step}.png", image)
    if metrics:
        for k, v in row.items():
            if k != "epoch":
                live.log_metric(_live_name(k), v)
        live.next_step()


def _print_epoch(row: dict[str, float], epochs: int, improved: bool, seconds: float, seen: float) -> None:
    """One line per epoch: the row's losses and metrics, ``*`` on a new best, the training speed."""
    shown = "  ".join(f"{_live_name(k)} {v:.4g}" for k, v in row.items() if k not in ("epoch", "lr"))
    tqdm.write(
        f"epoch {row['epoch']}/{epochs}  {shown}{' *' if improved else '  '}  "
        f"{seconds:.1f} s  {runtime.per_second(seen, seconds):.0f} img/s (train)"
    )
