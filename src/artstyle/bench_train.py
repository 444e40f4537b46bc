"""Training efficiency: the classifier's training step fed by its loader vs fed from memory.

- ``end_to_end``: what ``train_classifier`` does per step: the next batch from
  :func:`~artstyle.data.dataset.make_loader` over the store (pinned on CUDA) -> ``to_device``
  (non-blocking, channels_last on CUDA) -> :class:`StyleAugment` -> forward under
  ``runtime.autocast`` (bf16 on CUDA) -> logit-adjusted, label-smoothed cross-entropy -> backward
  -> AdamW step -> LR schedule step.
- ``compute_only``: the same step, same model and optimiser, on one random batch already on the
  device: no loader, no host-to-device copy.

``efficiency = end_to_end / compute_only``: 1.0 means the data path costs the training loop nothing.

The augmentation runs in both. It is part of the step on the training device (one ``grid_sample``
on the batch), not part of the data path: leaving it out of compute-only alone would charge device
compute to the loader. Both also call ``loss.item()`` every step, as training does; on CUDA that
syncs every step, so the loader's time is fully exposed rather than hidden behind queued kernels,
which is the loop training actually runs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artstyle import runtime
from artstyle.bench_common import describe_runtime, median_rates, synchronize
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.losses import adjust_logits, class_prior, class_weights
from artstyle.params import ClassifierParams
from artstyle.styles import NUM_CLASSES
from artstyle.training.classifier import StyleAugment, build_model, weighted_sampler
from artstyle.training.common import adamw_warmup_cosine, to_device

EFFICIENCY_TARGET = 0.9

Batch = tuple[torch.Tensor, torch.Tensor]


class ClassifierTrainBench:
    """The classifier's model, loader, augmentation, loss and optimiser, set up as training sets them up.

    Everything is built in the order of :func:`artstyle.training.classifier.fit` after the same
    seeding, so the weights, shuffle order and augmentations are those of a real run (a test checks
    that one step here updates the weights exactly as ``fit`` does). ``fit`` does not expose its
    step, hence :meth:`step` restates its inner loop; nothing else is re-implemented.
    """

    def __init__(
        self, dataset: StoreDataset, cfg: ClassifierParams, seed: int, device: torch.device, *, compile: bool = False
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("no training images to benchmark")
        self.cfg = cfg
        self.device = device
        runtime.configure_torch(device)
        runtime.seed_everything(seed)
        self.model = build_model(cfg).to(device=device, memory_format=runtime.memory_format(device))
        # The compiled wrapper shares the model's parameters; self.model stays the plain module.
        self.forward = torch.compile(self.model) if compile else self.model
        labels = dataset.labels
        self.log_prior = torch.as_tensor(np.log(class_prior(labels)), dtype=torch.float32, device=device)
        weights = class_weights(labels, cfg.class_weights)
        self.class_weight = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=device)
        sampler = weighted_sampler(labels, seed) if cfg.sampler == "weighted" else None
        self.pin_memory = device.type == "cuda"
        self.loader = make_loader(
            dataset,
            cfg.batch_size,
            shuffle=True,
            sampler=sampler,
            num_workers=cfg.num_workers,
            seed=seed,
            drop_last=len(dataset) > cfg.batch_size,
            pin_memory=self.pin_memory,
        )
        self.augment = StyleAugment(seed, device) if cfg.augment else None
        self.optimizer, self.scheduler = adamw_warmup_cosine(
            self.model, cfg.lr, cfg.weight_decay, cfg.epochs, len(self.loader), cfg.warmup_epochs
        )
        self.model.train()
        self._endless = self._epochs()

        # The compute-only batch: the shape of a loader batch (drop_last makes them all full), drawn
        # from its own generator so the global RNG stream (dropout) stays that of a training run.
        g = torch.Generator().manual_seed(seed)
        n = min(cfg.batch_size, len(dataset))
        self.batch_size = n
        self.image_size = int(dataset.images.shape[1])
        x = torch.rand(n, 3, *dataset.images.shape[1:3], generator=g)
        self.random_batch = (to_device(x, device), torch.randint(0, NUM_CLASSES, (n,), generator=g).to(device))

    def _epochs(self) -> Iterator[Batch]:
        # Epoch after epoch, as the training loop sees them (a new loader iterator per epoch).
        while True:
            yield from self.loader

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One optimisation step on a batch already on the device; mirrors ``fit``'s inner loop."""
        cfg = self.cfg
        if self.augment is not None:
            x = self.augment(x)
        with runtime.autocast(self.device):
            logits = self.forward(x)
        logits = logits.float()
        if cfg.logit_adjustment:
            logits = adjust_logits(logits, self.log_prior, cfg.tau)
        loss = F.cross_entropy(logits, y, weight=self.class_weight, label_smoothing=cfg.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()

    def _timed(self, batches: Iterable[Batch]) -> tuple[float, int]:
        """Seconds and images to train on ``batches``, each moved to the device as training does.

        For batches already on the device in the right layout the move is a no-op, so both
        workloads run exactly this code.
        """
        images = 0
        synchronize(self.device)
        start = time.perf_counter()
        for x, y in batches:
            self.step(to_device(x, self.device), y.to(self.device, non_blocking=True))
            images += len(y)
        synchronize(self.device)
        return time.perf_counter() - start, images

    def train_from_loader(self, steps: int) -> tuple[float, int]:
        """``steps`` end-to-end steps, continuing the loader's epochs where the last call stopped."""
        return self._timed(itertools.islice(self._endless, steps))

    def train_in_memory(self, steps: int) -> tuple[float, int]:
        """``steps`` compute-only steps on the random batch already on the device."""
        return self._timed(itertools.repeat(self.random_batch, steps))

    def train_epoch(self) -> tuple[float, int]:
        """One full pass over the loader (a training epoch without validation)."""
        return self._timed(self.loader)


def bench_train(
    store_dir: str | Path,
    manifest: str | Path,
    cfg: ClassifierParams,
    seed: int,
    *,
    steps: int = 20,
    warmup: int = 5,
    repeats: int = 3,
    min_seconds: float = 2.0,
    device: torch.device | None = None,
    compile: bool = False,
) -> dict[str, Any]:
    """End-to-end vs compute-only training images/s of the classifier over ``manifest``.

    Rounds of ``steps`` steps alternate between the two workloads (median round reported; see
    :func:`~artstyle.bench_common.median_rates`) after ``warmup`` untimed steps of each, which
    absorb torch.compile, cuDNN autotuning, allocator growth and first page faults.
    """
    device = device or runtime.pick_device()
    dataset = StoreDataset.from_manifest(store_dir, manifest)
    bench = ClassifierTrainBench(dataset, cfg, seed, device, compile=compile)
    bench.train_from_loader(warmup)
    bench.train_in_memory(warmup)
    rates, rounds = median_rates(
        {
            "end_to_end": lambda: bench.train_from_loader(steps),
            "compute_only": lambda: bench.train_in_memory(steps),
        },
        repeats,
        min_seconds,
        desc="bench train",
    )
    return {
        "end_to_end_images_per_s": rates["end_to_end"],
        "compute_only_images_per_s": rates["compute_only"],
        "efficiency": rates["end_to_end"] / rates["compute_only"],
        "efficiency_target": EFFICIENCY_TARGET,
        "steps_per_round": steps,
        "warmup_steps": warmup,
        "end_to_end_rounds": rounds["end_to_end"],
        "compute_only_rounds": rounds["compute_only"],
        "batch_size": bench.batch_size,
        "image_size": bench.image_size,
        "train_images": len(dataset),
        "augment_in_both": cfg.augment,
        "num_workers": cfg.num_workers,
        **describe_runtime(device, compiled=compile, pin_memory=bench.pin_memory),
    }
