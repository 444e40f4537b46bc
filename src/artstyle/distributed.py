"""Data-parallel training under ``torchrun``: process group, samplers, sharded evaluation.

``torchrun --nproc_per_node N`` starts N copies of a stage script with RANK, WORLD_SIZE and
LOCAL_RANK (and a rendezvous address) in the environment. Without them, or with WORLD_SIZE=1,
every helper here is a no-op on a world of one, so a plain ``python stages/...`` run takes exactly
the code path (and draws exactly the random numbers) it always did.

Each rank trains on its own shard of every epoch; DistributedDataParallel averages the gradients,
so all ranks take identical optimiser steps. Evaluation is sharded too, and the per-rank results
are gathered (predictions) or summed (running totals) so that every rank ends up with the same
validation metrics and therefore selects the same best epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler

from artstyle import runtime
from artstyle.data.dataset import StoreDataset


@dataclass(frozen=True)
class Context:
    """Where this process sits in the job: its rank, the number of ranks and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init(device: torch.device | None = None) -> Context:
    """Join the process group torchrun describes (idempotent); a world of one without torchrun.

    Backend and device follow the hardware: NCCL on ``cuda:LOCAL_RANK`` (one GPU per process),
    gloo on the CPU. A ``device`` passed in wins over the default (e.g. tests force the CPU); a
    bare ``cuda`` is pinned to this process's GPU.
    """
    if _world_size() == 1:
        return Context(rank=0, world_size=1, device=device or runtime.pick_device())
    local_rank = int(os.environ["LOCAL_RANK"])
    if device is None:
        device = runtime.pick_device()
    if device.type == "cuda":
        if device.index is None and local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"rank with LOCAL_RANK={local_rank} has no GPU of its own ({torch.cuda.device_count()} "
                "visible): run at most one process per GPU"
            )
        device = torch.device("cuda", local_rank if device.index is None else device.index)
        # NCCL collectives (all_gather_object included) run on the current device.
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def cleanup() -> None:
    """Leave the process group (no-op outside torchrun); every rank calls it before exiting."""
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    """Whether this process writes outputs: rank 0, or the only process of a plain run."""
    if dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """``model`` itself on one process, else a DistributedDataParallel wrapper around it.

    DDP broadcasts rank 0's parameters and buffers once here, so every rank starts from the same
    weights whatever its own initialisation drew. The default ``broadcast_buffers=True`` also
    copies rank 0's BatchNorm running statistics to all ranks before every training forward
    (:func:`sync_buffers` covers the last one).
    """
    if not ctx.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def sync_buffers(model: torch.nn.Module, ctx: Context) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts buffers *before* each forward, and that forward then updates each rank's copy
    with its own batch: after the last step of an epoch they differ. Evaluating, selecting or
    saving the model needs one model, so the epoch ends with this broadcast.
    """
    if ctx.distributed:
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


class WeightedShardSampler(Sampler[int]):
    """A weighted draw with replacement, split across ranks.

    Every rank draws the *same* sample of the whole epoch from a generator seeded with
    ``seed + epoch`` and keeps every ``world_size``-th index from its rank on: together the ranks
    cover one weighted epoch, no index drawn twice by two ranks. The draw is rounded up to a
    multiple of the world size so all ranks run the same number of steps (a rank with one step
    more would wait forever for the others' gradients).
    """

    def __init__(self, weights: np.ndarray, ctx: Context, seed: int) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.double)
        self.rank, self.world_size, self.seed = ctx.rank, ctx.world_size, seed
        self.per_rank = math.ceil(len(self.weights) / self.world_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        draw = torch.multinomial(
            self.weights, self.per_rank * self.world_size, replacement=True, generator=generator
        )
        return iter(draw[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return self.per_rank


def train_sampler(
    dataset: StoreDataset, ctx: Context, seed: int, weights: np.ndarray | None = None
) -> Sampler:
    """This rank's training sampler (world > 1): a shuffled shard, or a weighted one.

    Call ``set_epoch(epoch)`` before each epoch: both reseed with ``seed + epoch``, so epochs
    differ while all ranks agree on the permutation they split. DistributedSampler pads the last
    shard with a few repeated indices (at most world_size - 1) for equal step counts.
    """
    if weights is not None:
        return WeightedShardSampler(weights, ctx, seed)
    return DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed)


def shard(dataset: StoreDataset, ctx: Context) -> StoreDataset:
    """This rank's evaluation shard: entries ``rank::world_size``, each entry on exactly one rank.

    Unlike DistributedSampler, nothing is padded, so gathered results hold every image once.
    """
    if not ctx.distributed:
        return dataset
    return StoreDataset(
        dataset.images, dataset.rows[ctx.rank :: ctx.world_size], dataset.labels[ctx.rank :: ctx.world_size]
    )


def gather_shards(local: np.ndarray, ctx: Context) -> np.ndarray:
    """Every rank's :func:`shard` results, re-interleaved into the dataset's order, on every rank.

    ``all_gather_object`` (pickled arrays) works on gloo and NCCL alike and allows shards of
    different lengths; evaluation outputs (logits, labels) are small enough for it.
    """
    if not ctx.distributed:
        return local
    parts: list[np.ndarray | None] = [None] * ctx.world_size
    dist.all_gather_object(parts, local)
    out = np.empty((sum(len(p) for p in parts),) + local.shape[1:], dtype=local.dtype)
    for rank, part in enumerate(parts):
        out[rank :: ctx.world_size] = part
    return out


def all_reduce_sums(values: Sequence[float], ctx: Context) -> list[float]:
    """Element-wise sums of ``values`` over all ranks (float64); ``values`` unchanged on one process."""
    if not ctx.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()
