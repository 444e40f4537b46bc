"""Benchmarks: ``python -m artstyle.bench <what>``; each subcommand merges its results into one JSON.

- ``data``: images/s of the store loader (:class:`artstyle.data.dataset.StoreDataset` +
  :func:`~artstyle.data.dataset.make_loader`, one memmap copy per batch) against the usual
  torchvision ImageFolder loader (open + decode + resize + crop + to-tensor per item, default
  collate), over the same files, image size, batch size and number of images, both in the main
  process. Target: ratio >= 20x.
- ``train``: the classifier's end-to-end training images/s against the same step on an in-memory
  random batch (:mod:`artstyle.bench_train`). Target: efficiency >= 0.9.
- ``stylize``: latency of the trained transfer network at 256x256, batch 1.
- ``scaling``: index and epoch time from 1x to 4x the default dataset (:mod:`artstyle.bench_scaling`).
- ``all``: the four in one run, written together.

Every section records how it was measured (device, torch, threads, autocast, channels_last,
compile, pinned memory: :func:`artstyle.bench_common.describe_runtime`). On CUDA the models run
as the pipeline runs them: bf16 autocast, channels_last, pinned memory with non-blocking copies,
and ``--compile`` for torch.compile.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from artstyle import runtime
from artstyle.bench_common import describe_runtime, median_rates
from artstyle.bench_scaling import bench_scaling
from artstyle.bench_train import bench_train
from artstyle.data.dataset import StoreDataset, make_loader
from artstyle.data.store import IMAGES_FILE, INDEX_FILE, open_images, read_index
from artstyle.evaluation.transfer import latency_ms, load_transfer
from artstyle.io import read_json, write_json
from artstyle.params import ParamsError, load_params

DATA_RATIO_TARGET = 20.0
TRANSFER_HINT = "train it with `dvc repro train_transfer` (or pass --model)"

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.callback()
def _group() -> None:
    """Loader and model benchmarks (results merged into one JSON file)."""


# ---------------------------------------------------------------------------------------------
# data: store loader vs per-item PIL decoding
# ---------------------------------------------------------------------------------------------


class PilFolderDataset(Dataset):
    """The per-item baseline: what ``torchvision.datasets.ImageFolder`` + the usual transform do."""

    def __init__(self, paths: list[Path], labels: list[int], image_size: int) -> None:
        self.paths = paths
        self.labels = labels
        self.transform = transforms.Compose(
            [transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor()]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        with open(self.paths[i], "rb") as f:
            image = Image.open(f).convert("RGB")
        return self.transform(image), self.labels[i]


def _pass_seconds(loader: Iterable) -> tuple[float, int]:
    """Seconds for one full pass over ``loader``, and the images it yielded."""
    n = 0
    start = time.perf_counter()
    for x, _ in loader:
        n += len(x)
    return time.perf_counter() - start, n


def _warm_up(loader: Iterable, batches: int) -> None:
    # Untimed: first-batch costs (lazy imports, page cache, allocator) are not throughput.
    for i, _ in enumerate(loader):
        if i + 1 >= batches:
            break


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


def _stamp(results: dict[str, Any]) -> dict[str, Any]:
    # When a section was measured: bench.json mixes sections from separate runs unless `all` wrote it.
    return {**results, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def bench_data(
    store_dir: str | Path,
    root: str | Path,
    batch_size: int = 64,
    images: int = 2000,
    repeats: int = 3,
    min_seconds: float = 1.0,
    warmup_batches: int = 2,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, Any]:
    """Images/s of the store loader vs the per-item PIL loader.

    Each loader makes at least ``repeats`` timed passes and keeps going until ``min_seconds`` have
    passed (a store pass takes milliseconds: one pass alone would be mostly timer noise); the
    median pass is reported.

    ``threads``: torch intra-op threads while timing. 1 by default, as in a DataLoader worker (torch
    sets 1 there): loading must not compete with the training step for cores, and on a busy
    machine extra threads only add contention noise to the numbers.
    """
    store = open_images(store_dir)
    if store.shape[1] != store.shape[2]:
        raise ValueError(f"{store_dir}: expected square images, got {store.shape[1]}x{store.shape[2]}")
    image_size = int(store.shape[1])
    records = read_index(store_dir)
    if not records:
        raise ValueError(f"{store_dir}: the store index is empty")
    # Evenly spaced rows: every split and style, and no seed needed to pick them.
    take = np.unique(np.linspace(0, len(records) - 1, min(images, len(records))).round().astype(np.int64))
    chosen = [records[i] for i in take]
    missing = [r.relpath for r in chosen if not (Path(root) / r.relpath).is_file()]
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} indexed file(s) missing, e.g. {missing[0]}")

    rows = np.array([r.row for r in chosen], dtype=np.int64)
    labels = np.array([r.label for r in chosen], dtype=np.int64)
    # Both shuffled with the same seed: the random access pattern of a training epoch.
    loaders = {
        "store": make_loader(StoreDataset(store, rows, labels), batch_size, shuffle=True, seed=seed),
        "pil": DataLoader(
            PilFolderDataset([Path(root) / r.relpath for r in chosen], labels.tolist(), image_size),
            batch_size=batch_size,
            shuffle=True,
            num_workers=0,
            generator=torch.Generator().manual_seed(seed),
        ),
    }

    def full_pass(name: str, loader: DataLoader):
        def run() -> tuple[float, int]:
            seconds, n = _pass_seconds(loader)
            if n != len(chosen):
                raise RuntimeError(f"{name} loader yielded {n} images, expected {len(chosen)}")
            return seconds, n

        return run

    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for loader in loaders.values():
            _warm_up(loader, warmup_batches)
        rates, _ = median_rates(
            {name: full_pass(name, loader) for name, loader in loaders.items()},
            repeats,
            min_seconds,
            desc="bench data",
        )
        # Inside the block, so the recorded thread count is the one the loaders ran with.
        env = describe_runtime(torch.device("cpu"))
    finally:
        torch.set_num_threads(old_threads)
    return {
        "store_images_per_s": rates["store"],
        "pil_images_per_s": rates["pil"],
        "ratio": rates["store"] / rates["pil"],
        "ratio_target": DATA_RATIO_TARGET,
        "batch_size": batch_size,
        "images": len(chosen),
        "image_size": image_size,
        **env,
    }


# ---------------------------------------------------------------------------------------------
# stylize: transfer latency
# ---------------------------------------------------------------------------------------------


def bench_stylize(
    model_path: str | Path,
    size: int = 256,
    repeats: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
    compile: bool = False,
) -> dict[str, Any]:
    """Median latency of the transfer network on one ``size`` x ``size`` image (batch 1).

    Loaded and run as ``artstyle stylize`` and the ``evaluate_transfer`` stage do
    (:func:`~artstyle.evaluation.transfer.load_transfer`, :func:`~artstyle.evaluation.transfer.latency_ms`).
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found: {TRANSFER_HINT}")
    device = device or runtime.pick_device()
    runtime.configure_torch(device)
    net, _ = load_transfer(model_path, device)
    ms = latency_ms(torch.compile(net) if compile else net, size, repeats, device, warmup=warmup)
    return {
        "ms_per_image": ms,
        "images_per_s": 1000.0 / ms,
        "size": size,
        "batch_size": 1,
        "repeats": repeats,
        "warmup": warmup,
        "model": str(model_path),
        **describe_runtime(device, compiled=compile),
    }


# ---------------------------------------------------------------------------------------------
# Report lines (shared by the single commands and `all`)
# ---------------------------------------------------------------------------------------------


def _yes(flag: bool) -> str:
    return "on" if flag else "off"


def runtime_line(r: dict[str, Any]) -> str:
    return (
        f"{r['device']} ({r['device_name']}), torch {r['torch']}, {r['threads']} thread(s); autocast "
        f"{r['autocast']}, channels_last {_yes(r['channels_last'])}, compile {_yes(r['compile'])}, "
        f"pinned non-blocking copies {_yes(r['non_blocking'])}"
    )


def data_lines(r: dict[str, Any]) -> list[str]:
    return [
        (
            f"{r['images']} images of {r['image_size']}x{r['image_size']}, batch {r['batch_size']}, "
            f"num_workers 0, {r['threads']} torch thread(s)"
        ),
        f"{'loader':<32}{'images/s':>12}",
        f"{'StoreDataset + make_loader':<32}{r['store_images_per_s']:>12,.0f}",
        f"{'PIL decode per item':<32}{r['pil_images_per_s']:>12,.0f}",
        f"{'ratio':<32}{r['ratio']:>11.1f}x   (target >= {r['ratio_target']:g}x)",
    ]


def train_lines(r: dict[str, Any]) -> list[str]:
    augment = "augmentation in both" if r["augment_in_both"] else "no augmentation"
    return [
        (
            f"classifier training: batch {r['batch_size']} of {r['image_size']}x{r['image_size']}, "
            f"{r['train_images']:,} train images, median of {r['end_to_end_rounds']} / {r['compute_only_rounds']} "
            f"rounds of {r['steps_per_round']} steps, {augment}"
        ),
        runtime_line(r),
        f"{'workload':<32}{'images/s':>12}",
        f"{'end to end (loader -> step)':<32}{r['end_to_end_images_per_s']:>12,.1f}",
        f"{'compute only (batch in memory)':<32}{r['compute_only_images_per_s']:>12,.1f}",
        f"{'efficiency':<32}{r['efficiency']:>12.3f}   (target >= {r['efficiency_target']:g})",
    ]


def stylize_lines(r: dict[str, Any]) -> list[str]:
    return [
        (
            f"stylize {r['size']}x{r['size']}, batch 1: median {r['ms_per_image']:.2f} ms over {r['repeats']} runs "
            f"= {r['images_per_s']:.1f} images/s"
        ),
        runtime_line(r),
    ]


def _ratio(value: float | None) -> str:
    return "n/a (one scale)" if value is None else f"{value:.2f}"


def scaling_lines(r: dict[str, Any]) -> list[str]:
    header = ("scale", "images", "index s", "index img/s", "train imgs", "epoch s", "train img/s", "(synth s)")
    lines = [runtime_line(r), "".join(f"{h:>12}" for h in header)]
    for row in r["rows"]:
        lines.append(
            f"{row['scale']:>11}x{row['images']:>12,}{row['index_seconds']:>12.2f}{row['index_images_per_s']:>12,.0f}"
            f"{row['train_images']:>12,}{row['epoch_seconds']:>12.2f}{row['train_images_per_s']:>12,.1f}"
            f"{row['synthesize_seconds']:>12.1f}"
        )
    lines.append(
        f"linearity (time growth / data growth, largest vs smallest scale; 1.0 = linear): "
        f"index {_ratio(r['index_linearity'])}, train {_ratio(r['train_linearity'])}"
    )
    return lines


def summary_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """One line per headline figure, with its target where one is set."""

    def verdict(value: float, target: float) -> str:
        return "met" if value >= target else "NOT met"

    d, t, s, sc = results["data"], results["train"], results["stylize"], results["scaling"]
    span = f"{sc['rows'][-1]['scale']}x vs {sc['rows'][0]['scale']}x"
    rows = [
        ("data: store / PIL loader images/s", f"{d['ratio']:.1f}x",
         f">= {d['ratio_target']:g}x  {verdict(d['ratio'], d['ratio_target'])}"),
        ("train: end to end / compute only", f"{t['efficiency']:.3f}",
         f">= {t['efficiency_target']:g}  {verdict(t['efficiency'], t['efficiency_target'])}"),
        (f"stylize {s['size']}x{s['size']}, batch 1", f"{s['ms_per_image']:.2f} ms", "(reported)"),
        (f"index linearity ({span})", _ratio(sc["index_linearity"]), "1.0 = linear"),
        (f"train linearity ({span})", _ratio(sc["train_linearity"]), "1.0 = linear"),
    ]
    return [f"{'figure':<40}{'measured':>16}   target"] + [f"{a:<40}{b:>16}   {c}" for a, b, c in rows]


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

# Shared option declarations (Typer only reads them), so every subcommand spells them alike.
OUT = typer.Option(Path("metrics/bench.json"), help="JSON to merge the results into")
STORE = typer.Option(Path("data/store"), help="image store (index.csv + images.npy)")
ROOT = typer.Option(Path("data/synthetic"), help="the image tree the store was built from")
MANIFEST = typer.Option(Path("data/manifests/train.csv"), help="the classifier's training manifest")
MODEL = typer.Option(Path("models/transfer.pt"), help="transfer checkpoint")
PARAMS = typer.Option(Path("params.yaml"), help="params file (classifier, synthesize, index, data sections)")
DEVICE = typer.Option(None, help="torch device, e.g. cuda, cuda:1, cpu (default: cuda if available)")
COMPILE = typer.Option(False, "--compile/--no-compile", help="torch.compile the model (meant for CUDA)")
SCALES = typer.Option("1,2,4", help="comma-separated dataset multiples of the base size")
BASE_TRAIN = typer.Option(None, min=27, help="1x train images (default: params synthesize.train_images)")
BASE_TEST = typer.Option(None, min=27, help="1x test images (default: params synthesize.test_images)")
WORKDIR = typer.Option(None, help="where the scaled trees are rendered (default: the system temp dir)")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _require(path: Path, hint: str) -> None:
    """Stop with one line naming the missing input and how to make it (before any minute is spent)."""
    if not path.exists():
        _fail(f"{path} not found: {hint}")


def _require_store(store: Path) -> None:
    for name in (INDEX_FILE, IMAGES_FILE):
        _require(store / name, "build the store with `dvc repro index` (or pass --store)")


def _load_params(path: Path):
    try:
        return load_params(path)
    except ParamsError as e:
        _fail(str(e))


def _parse_scales(text: str) -> list[int]:
    try:
        scales = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        scales = []
    if not scales or scales[0] < 1:
        _fail(f"--scales: expected comma-separated integers >= 1, e.g. 1,2,4; got {text!r}")
    return scales


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


@app.command("data")
def data(
    store: Path = STORE,
    root: Path = ROOT,
    batch_size: int = typer.Option(64, min=1),
    images: int = typer.Option(2000, min=1, help="images per pass (fewer if the store is smaller)"),
    repeats: int = typer.Option(
        3, min=1, help="at least this many timed passes per loader (median reported)"
    ),
    min_seconds: float = typer.Option(1.0, min=0.0, help="...and at least this long per loader"),
    threads: int = typer.Option(
        1, min=1, help="torch intra-op threads while timing (1, as in a loader worker)"
    ),
    out: Path = OUT,
) -> None:
    """Store loader vs per-item PIL decoding: images/s and their ratio (key 'data')."""
    _require_store(store)
    _require(root, "render the tree with `dvc repro synthesize` (or pass --root)")
    r = _stamp(bench_data(
        store,
        root,
        batch_size=batch_size,
        images=images,
        repeats=repeats,
        min_seconds=min_seconds,
        threads=threads,
    ))
    merge_json(out, "data", r)
    _echo(data_lines(r))


@app.command("train")
def train(
    store: Path = STORE,
    manifest: Path = MANIFEST,
    params: Path = PARAMS,
    steps: int = typer.Option(20, min=1, help="steps per timed round"),
    warmup: int = typer.Option(5, min=0, help="untimed steps of each workload first"),
    repeats: int = typer.Option(3, min=1, help="at least this many rounds (median reported)"),
    min_seconds: float = typer.Option(2.0, min=0.0, help="...and at least this long per workload"),
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """Classifier training images/s, end to end vs compute only, and their ratio (key 'train')."""
    p = _load_params(params)
    _require_store(store)
    _require(manifest, "write the manifests with `dvc repro resample` (or pass --manifest)")
    r = _stamp(bench_train(
        store, manifest, p.classifier, p.seed, steps=steps, warmup=warmup, repeats=repeats,
        min_seconds=min_seconds, device=runtime.pick_device(device), compile=compile,
    ))
    merge_json(out, "train", r)
    _echo(train_lines(r))


@app.command("stylize")
def stylize(
    model: Path = MODEL,
    size: int = typer.Option(256, min=16, help="side of the square input"),
    repeats: int = typer.Option(20, min=1, help="timed runs (median reported)"),
    warmup: int = typer.Option(3, min=0, help="untimed runs first"),
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """Transfer network latency at SIZE x SIZE, batch 1 (key 'stylize')."""
    _require(model, TRANSFER_HINT)
    r = _stamp(bench_stylize(model, size, repeats, warmup, runtime.pick_device(device), compile))
    merge_json(out, "stylize", r)
    _echo(stylize_lines(r))


@app.command("scaling")
def scaling(
    params: Path = PARAMS,
    scales: str = SCALES,
    base_train_images: int | None = BASE_TRAIN,
    base_test_images: int | None = BASE_TEST,
    warmup: int = typer.Option(2, min=0, help="untimed training steps before each timed epoch"),
    workdir: Path | None = WORKDIR,
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """Index and training-epoch time at 1x..4x the dataset, and their linearity (key 'scaling')."""
    p = _load_params(params)
    r = _stamp(bench_scaling(
        p, _parse_scales(scales), base_train_images=base_train_images, base_test_images=base_test_images,
        warmup=warmup, device=runtime.pick_device(device), compile=compile, workdir=workdir,
    ))
    merge_json(out, "scaling", r)
    _echo(scaling_lines(r))


@app.command("all")
def all_(
    store: Path = STORE,
    root: Path = ROOT,
    manifest: Path = MANIFEST,
    model: Path = MODEL,
    params: Path = PARAMS,
    train_steps: int = typer.Option(20, min=1, help="training steps per timed round"),
    min_seconds: float = typer.Option(
        2.0, min=0.0, help="timed seconds per workload, at least, for the data and train figures"
    ),
    stylize_size: int = typer.Option(256, min=16, help="side of the stylize latency input"),
    scales: str = SCALES,
    base_train_images: int | None = BASE_TRAIN,
    base_test_images: int | None = BASE_TEST,
    workdir: Path | None = WORKDIR,
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """data + train + stylize + scaling in one run, written together; prints every figure and target."""
    # Every input is checked first: a missing checkpoint should not surface after minutes of timing.
    p = _load_params(params)
    _require_store(store)
    _require(root, "render the tree with `dvc repro synthesize` (or pass --root)")
    _require(manifest, "write the manifests with `dvc repro resample` (or pass --manifest)")
    _require(model, TRANSFER_HINT)
    scale_list = _parse_scales(scales)
    dev = runtime.pick_device(device)

    results: dict[str, dict[str, Any]] = {}
    typer.echo("== data: store loader vs PIL decode per item")
    results["data"] = _stamp(bench_data(store, root, min_seconds=min_seconds))
    _echo(data_lines(results["data"]))
    typer.echo("\n== train: classifier end to end vs compute only")
    results["train"] = _stamp(
        bench_train(
            store, manifest, p.classifier, p.seed, steps=train_steps, min_seconds=min_seconds, device=dev,
            compile=compile,
        )
    )
    _echo(train_lines(results["train"]))
    typer.echo("\n== stylize: transfer latency")
    results["stylize"] = _stamp(bench_stylize(model, stylize_size, device=dev, compile=compile))
    _echo(stylize_lines(results["stylize"]))
    typer.echo(f"\n== scaling: index and training epoch at {', '.join(f'{s}x' for s in scale_list)}")
    results["scaling"] = _stamp(bench_scaling(
        p, scale_list, base_train_images=base_train_images, base_test_images=base_test_images,
        device=dev, compile=compile, workdir=workdir,
    ))
    _echo(scaling_lines(results["scaling"]))

    # Written once at the end, so bench.json never holds a half-finished run's sections.
    merge_sections(out, results)
    typer.echo("\n== summary")
    _echo(summary_lines(results))
    typer.echo(f"-> {out}")


if __name__ == "__main__":
    app()
