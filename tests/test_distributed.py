"""Data-parallel training: 2 CPU processes (gloo) under the launcher, against one process.

The integration tests run this very file as the torchrun worker script (see ``__main__`` below):
each rank runs a training stage's ``main`` with its own output paths, and a spy on the stage's
training function saves what that rank ended with. The test then checks that both ranks hold the
same weights, that the gathered validation metrics equal a single-process evaluation of those
weights, and that only rank 0 wrote outputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_e2e_autoencoder import make_fake_store, tiny_params

from artstyle.checkpoint import load_checkpoint
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.manifests import read_manifest, write_manifest
from artstyle.data.store import open_images
from artstyle.data.train_set import write_train_set
from artstyle.distributed import Context, shard, train_sampler
from artstyle.headline import read_metrics
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.params import load_params
from artstyle.training import autoencoder as ae
from artstyle.training import classifier as clf

REPO = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
ONE = Context(rank=0, world_size=1, device=CPU)
# Gathered predictions are the single-process ones; only the batch grouping of the float sums
# (and of the convolutions' batches) differs, so losses agree to float32 rounding, and argmax
# predictions (accuracies) exactly.
LOSS_TOL = 1e-5


def _env() -> dict[str, str]:
    # CPU only (gloo): on a machine with one GPU, two NCCL ranks would need two devices.
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _launcher(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "artstyle.launch", *argv],
        check=False,
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


# ---------------------------------------------------------------------------------------------
# Samplers and shards (no process group needed: a Context names the rank)
# ---------------------------------------------------------------------------------------------


def _dataset(labels: np.ndarray) -> StoreDataset:
    return StoreDataset(np.zeros((len(labels), 1, 1, 3), dtype=np.uint8), np.arange(len(labels)), labels)


@pytest.mark.parametrize("weighted", [False, True])
def test_train_sampler_gives_every_rank_an_equal_seeded_shard(weighted):
    labels = np.array([0] * 9 + [1] * 2)  # 11: not a multiple of the world size
    weights = clf.balancing_weights(labels) if weighted else None

    def epoch_shards(epoch: int, seed: int = 0) -> list[list[int]]:
        shards = []
        for rank in range(2):
            sampler = train_sampler(_dataset(labels), Context(rank, 2, CPU), seed, weights)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
            assert len(sampler) == len(shards[-1]) == 6  # equal step counts on every rank
        return shards

    first = epoch_shards(0)
    assert first == epoch_shards(0) and first != epoch_shards(1) and first != epoch_shards(0, seed=1)
    assert first[0] != first[1]
    if not weighted:  # one permutation split in two: every index once, plus one pad
        assert set(first[0]) | set(first[1]) == set(range(11))
    else:  # the ranks together draw a class-balanced sample
        draws = np.concatenate([np.concatenate(epoch_shards(e)) for e in range(40)])
        np.testing.assert_allclose(np.bincount(labels[draws]) / len(draws), [0.5, 0.5], atol=0.05)


def test_eval_shards_partition_the_dataset():
    ds = _dataset(np.arange(11) % 3)
    parts = [shard(ds, Context(rank, 3, CPU)) for rank in range(3)]
    assert sorted(np.concatenate([p.rows for p in parts]).tolist()) == list(range(11))
    assert [len(p) for p in parts] == [4, 4, 3]
    assert shard(ds, ONE) is ds


# ---------------------------------------------------------------------------------------------
# The launcher
# ---------------------------------------------------------------------------------------------


def test_launcher_runs_one_process_without_torchrun(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import os, sys\nprint(os.environ.get('WORLD_SIZE'), sys.argv[1:])\nsys.exit(3)\n")
    proc = _launcher("--nproc", "1", "--", str(script), "--flag", "x")
    assert proc.returncode == 3, proc.stderr  # the script's exit status is the launcher's
    assert proc.stdout.strip() == "None ['--flag', 'x']"


def test_launcher_propagates_a_failing_rank(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.exit(3)\n")
    proc = _launcher("--nproc", "2", "--", str(script))
    assert proc.returncode != 0
    assert "fail.py FAILED" in proc.stderr  # torchrun's report: it ran the script as ranks


@pytest.mark.parametrize(
    "argv", [["--nproc", "0", "--", "x.py"], ["--nproc", "2", "x.py"], ["--nproc", "2", "--"]]
)
def test_launcher_rejects_bad_arguments(argv):
    proc = _launcher(*argv)
    assert proc.returncode == 2 and "usage: python -m artstyle.launch" in proc.stderr


# ---------------------------------------------------------------------------------------------
# Two ranks train as one
# ---------------------------------------------------------------------------------------------


def _stage_options(kind: str, out: Path, rank: int) -> dict[str, Path]:
    """The stage's output options, one set per rank: a file from rank 1 shows it wrote."""
    options = {"model": out / f"model{rank}.pt", "live": out / f"live{rank}"}
    if kind == "autoencoder":
        options |= {
            "metrics": out / f"metrics{rank}.json",
            "recon": out / f"recon{rank}.png",
            "style_stats": out / f"style_stats{rank}.npy",
        }
    return options


def _worker(kind: str, out: Path, store: Path, manifests: Path, params: Path) -> None:
    """One rank: run the stage's ``main``, saving this rank's trained state through a spy."""
    rank = int(os.environ["RANK"])
    spec = importlib.util.spec_from_file_location(f"train_{kind}", REPO / "stages" / f"train_{kind}.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    train = getattr(stage, f"train_{kind}")

    def spy(*args, **kwargs):
        run = returned = train(*args, **kwargs)
        world = torch.distributed.get_world_size()
        torch.save(
            {"world": world, "state": run.model.state_dict(), "history": run.history}, out / f"rank{rank}.pt"
        )
        if kind == "autoencoder":
            (out / f"run_metrics{rank}.json").write_text(json.dumps(run.metrics))
        return returned

    setattr(stage, f"train_{kind}", spy)
    # The fake store's one manifests folder serves as both the classifier's manifests and the splits.
    inputs = (
        {"train": manifests, "splits": manifests, "cost": out / f"cost{rank}.json"}
        if kind == "classifier"
        else {"splits": manifests}
    )
    stage.main(store=store, params=params, **inputs, **_stage_options(kind, out, rank))


@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_two_ranks_train_one_model(tmp_path, kind):
    store, manifests = make_fake_store(tmp_path / "data", per_style=(12, 5, 5))
    # The fake store draws each split's style colours afresh; validating on every 4th training
    # image instead makes the accuracies non-trivial. 11 images: shards of 6 and 5, so the gather
    # must re-interleave unequal parts.
    rows, labels = read_manifest(manifests / "train.csv")
    write_manifest(manifests / "val.csv", rows[::4], labels[::4])
    # ... and as the classifier's train set (data/oversampled), without synthetic images.
    images = open_images(store)
    write_train_set(manifests, rows, labels, np.zeros((0, *images.shape[1:]), dtype=np.uint8), len(images))
    # The classifier draws with the weighted sampler, the autoencoder with DistributedSampler.
    overrides = {
        # A high LR, no warmup and no logit adjustment: the classifier learns within its few steps.
        "classifier": {
            "width": 8,
            "stages": 3,
            "epochs": 3,
            "batch_size": 8,
            "sampler": "weighted",
            "lr": 0.02,
            "warmup_epochs": 0,
            "logit_adjustment": False,
        },
        "autoencoder": {"width": 4, "epochs": 2, "batch_size": 8},
    }
    params = tiny_params(tmp_path / "params.yaml", **{kind: overrides[kind]})
    out = tmp_path / "out"
    out.mkdir()
    proc = _launcher("--nproc", "2", "--", __file__, kind, str(out), str(store), str(manifests), str(params))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    # Parameters and buffers (BatchNorm statistics) are bitwise equal; so is every logged metric.
    state0, state1 = ranks[0]["state"], ranks[1]["state"]
    assert state0.keys() == state1.keys()
    for key in state0:
        assert torch.equal(state0[key], state1[key]), key
    assert ranks[0]["history"] == ranks[1]["history"]

    # Only rank 0 wrote: its checkpoint holds the shared weights; rank 1's paths stay empty.
    for rank, exists in ((0, True), (1, False)):
        for path in _stage_options(kind, out, rank).values():
            assert path.exists() == exists, path
    for key, value in load_checkpoint(out / "model0.pt")["model"].items():
        assert torch.equal(value, state0[key]), key

    # The gathered validation metrics are those of one process evaluating the same weights.
    p = load_params(params)
    images = open_images(store)
    val = StoreDataset(images, *read_manifest(manifests / "val.csv"))
    if kind == "classifier":
        model = clf.build_model(p.classifier)
        model.load_state_dict(state0)
        history = ranks[0]["history"]
        ckpt = load_checkpoint(out / "model0.pt")
        gathered = history[ckpt["best_epoch"] - 1]  # best_epoch is 1-based
        single = clf.validate(model, make_loader(val, 4), ONE)
        assert single["val_loss"] == pytest.approx(gathered["val_loss"], abs=LOSS_TOL)
        assert single["val_accuracy"] == gathered["val_accuracy"]
        assert single["val_balanced_accuracy"] == gathered["val_balanced_accuracy"]
        curve = out / "live0" / "plots/metrics/val/balanced_accuracy.tsv"
        assert len(curve.read_text().splitlines()) == 1 + p.classifier.epochs  # rank 0 logged every epoch
    else:
        model = ConvAutoencoder(
            p.autoencoder.width, p.autoencoder.latent_channels, image_size=images.shape[1]
        )
        model.load_state_dict(state0)
        metrics = json.loads((out / "run_metrics0.json").read_text())
        assert (
            metrics
            == json.loads((out / "run_metrics1.json").read_text())
            == read_metrics(out / "metrics0.json")  # headline + details files
        )
        # The training-only head is not kept, so the distillation term cannot be recomputed from
        # the checkpoint: the reconstruction measures of one process must match the two ranks'.
        loss_fn = ae.reconstruction_loss(p.autoencoder.loss, p.autoencoder.loss_mix)
        stats = np.load(out / "style_stats0.npy")
        teacher = ae.Teacher.from_statistics(stats, read_manifest(manifests / "train.csv")[0], 0.0)
        test = StoreDataset(images, *(2 * [read_manifest(manifests / "test.csv")[0]]))
        single_test = ae.evaluate(ae.Student(model), make_loader(test, 4), loss_fn, teacher, ONE)
        for key in ("mse", "psnr", "ssim"):
            assert single_test[key] == pytest.approx(metrics[f"test_{key}"], rel=LOSS_TOL), key


if __name__ == "__main__":  # a torchrun rank of test_two_ranks_train_one_model
    _worker(sys.argv[1], *map(Path, sys.argv[2:]))
