"""The command line: ``python -m artstyle.bench data|train|stylize|scaling|index|backbones|all|gpu|scale`` (see :mod:`artstyle.bench`).

Each subcommand checks its inputs first (one line naming the missing one and the stage that makes
it, exit code 2: the stages' own ``@stage`` contract), runs its section and merges the result into
``--out`` under the section's key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import yaml

import artstyle.bench
from artstyle import runtime
from artstyle.bench.backbones import (
    DEFAULT_BACKBONES,
    DEFAULT_SECONDS,
    backbones_lines,
    bench_backbones,
    parse_backbones,
)
from artstyle.bench.common import merge_json, merge_sections, stamp
from artstyle.bench.data import bench_data, data_lines
from artstyle.bench.gpu import BENCH_TRAIN_IMAGES, gpu_check, gpu_lines, require_cuda
from artstyle.bench.index import bench_index, index_lines
from artstyle.bench.scale import DEFAULT_SCALES, bench_scale, scale_figure, table_lines
from artstyle.bench.scaling import bench_scaling, format_linearity, scaling_lines
from artstyle.bench.stylize import TRANSFER_HINT, bench_stylize, stylize_lines
from artstyle.bench.train import bench_train, train_lines
from artstyle.data.store import IMAGES_FILE, INDEX_FILE
from artstyle.errors import InputError
from artstyle.fileio import save_figure, write_json
from artstyle.params import Params, load_params
from artstyle.stage import stage

app = typer.Typer(add_completion=False, help=artstyle.bench.__doc__.split("\n\n")[0])


@app.callback()
def _group() -> None:
    """Loader and model benchmarks (results merged into one JSON file)."""


def summary_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """One line per headline figure, with its target where one is set."""

    def verdict(value: float, target: float) -> str:
        return "met" if value >= target else "NOT met"

    d, t, s, sc = results["data"], results["train"], results["stylize"], results["scaling"]
    ix = results.get("index")  # absent from a bench.json written before the index section existed
    span = f"{sc['rows'][-1]['scale']}x vs {sc['rows'][0]['scale']}x"
    rows = [
        *(
            [
                (
                    f"stylize {s['end_to_end_size']} px end to end",
                    f"{s['end_to_end_ms']:.0f} ms",
                    f"< {s['end_to_end_target_ms']:g} ms  "
                    f"{'met' if s['end_to_end_ms'] < s['end_to_end_target_ms'] else 'NOT met'}",
                )
            ]
            if "end_to_end_ms" in s
            else []
        ),
        (
            "data: store / PIL loader images/s",
            f"{d['ratio']:.1f}x",
            f">= {d['ratio_target']:g}x  {verdict(d['ratio'], d['ratio_target'])}",
        ),
        (
            "train: end to end / compute only",
            f"{t['efficiency']:.3f}",
            f">= {t['efficiency_target']:g}  {verdict(t['efficiency'], t['efficiency_target'])}",
        ),
        *(
            (
                f"train {r['image_size']} px images/s: e2e / compute",
                f"{r['end_to_end_images_per_s']:,.0f} / {r['compute_only_images_per_s']:,.0f}",
                f"(efficiency {r['efficiency']:.3f})",
            )
            for r in t.get("sizes", [])
        ),
        (f"stylize {s['size']}x{s['size']}, batch 1", f"{s['ms_per_image']:.2f} ms", "(reported)"),
        (
            "stylize: reference network / this one",
            f"{s['min_speedup']:.2f}x",
            f">= {s['speedup_target']:g}x  {verdict(s['min_speedup'], s['speedup_target'])} (worst of "
            f"{', '.join(str(r['size']) for r in s['rows'])} px)",
        ),
        *(
            [
                (
                    f"index: draft() / full decode to {ix['image_size']} px",
                    f"{ix['speedup']:.2f}x",
                    f">= {ix['speedup_target']:g}x  {verdict(ix['speedup'], ix['speedup_target'])}",
                )
            ]
            if ix
            else []
        ),
        (f"index linearity ({span})", format_linearity(sc["index_linearity"]), "1.0 = linear"),
        (f"train linearity ({span})", format_linearity(sc["train_linearity"]), "1.0 = linear"),
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
STYLIZE_SIZES = typer.Option("256,512", help="comma-separated sides of the square stylize inputs")
END_TO_END = typer.Option(1024, min=0, help="side of the JPEG stylized end to end (0 = skip)")
WORKDIR = typer.Option(None, help="where the scaled trees are rendered (default: the system temp dir)")
TRAIN_SIZES = typer.Option(
    "",
    help="comma-separated image sizes to train at besides the store's, e.g. 64,128,224 (default: the store's only)",
)
SUBSET = typer.Option(
    512, min=1, help="train images of --root indexed at each --sizes size other than the store's"
)
INDEX_IMAGES = typer.Option(500, min=1, help="JPEGs of 1-2 megapixels made for the index benchmark")
INDEX_SIZE = typer.Option(224, min=16, help="side the index benchmark decodes to")


ROOT_HINT = "render the tree with `dvc repro synthesize` (or pass --root)"
MANIFEST_HINT = "write the manifests with `dvc repro resample` (or pass {option})"

# Each section's report lines, by its key in bench.json.
LINES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "data": data_lines,
    "train": train_lines,
    "stylize": stylize_lines,
    "scaling": scaling_lines,
    "index": index_lines,
    "backbones": backbones_lines,
}


def _require(path: Path, hint: str) -> None:
    """Stop with one line naming the missing input and how to make it (before any minute is spent)."""
    if not path.exists():
        raise InputError(f"{path} not found: {hint}")


def _require_store(store: Path) -> None:
    for name in (INDEX_FILE, IMAGES_FILE):
        _require(store / name, "build the store with `dvc repro index` (or pass --store)")


def _parse_scales(text: str) -> list[int]:
    try:
        scales = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        scales = []
    if not scales or scales[0] < 1:
        raise InputError(f"--scales: expected comma-separated integers >= 1, e.g. 1,2,4; got {text!r}")
    return scales


def _parse_sizes(text: str, option: str = "--sizes", example: str = "256,512") -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 16:
        raise InputError(f"{option}: expected comma-separated sides >= 16, e.g. {example}; got {text!r}")
    return sizes


def _train_sizes(text: str, option: str) -> list[int]:
    """The extra training sizes (none when ``text`` is blank: the store's size only)."""
    return _parse_sizes(text, option, "64,128,224") if text.strip() else []


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _report(key: str, results: dict[str, Any]) -> dict[str, Any]:
    """A section's results stamped with the time, its report printed; returns the stamped results."""
    r = stamp(results)
    _echo(LINES[key](r))
    return r


def _bench_train(
    p: Params, store: Path, manifest: Path, root: Path, sizes: list[int], **options: Any
) -> dict[str, Any]:
    """:func:`bench_train` with the params file's classifier, seed and index settings."""
    return bench_train(
        store,
        manifest,
        p.classifier,
        p.seed,
        sizes=sizes,
        root=root,
        max_pixels=p.index.max_pixels,
        index_workers=p.index.workers,
        **options,
    )


@app.command("data")
@stage
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
    _require(root, ROOT_HINT)
    r = bench_data(
        store,
        root,
        batch_size=batch_size,
        images=images,
        repeats=repeats,
        min_seconds=min_seconds,
        threads=threads,
    )
    merge_json(out, "data", _report("data", r))


@app.command("train")
@stage
def train(
    store: Path = STORE,
    manifest: Path = MANIFEST,
    params: Path = PARAMS,
    steps: int = typer.Option(20, min=1, help="steps per timed round"),
    warmup: int = typer.Option(5, min=0, help="untimed steps of each workload first"),
    repeats: int = typer.Option(3, min=1, help="at least this many rounds (median reported)"),
    min_seconds: float = typer.Option(2.0, min=0.0, help="...and at least this long per workload"),
    sizes: str = TRAIN_SIZES,
    root: Path = ROOT,
    subset: int = SUBSET,
    workdir: Path | None = WORKDIR,
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """Classifier training images/s, end to end vs compute only, and their ratio (key 'train'), at the
    store's image size and at each of SIZES."""
    p = load_params(params)
    _require_store(store)
    _require(manifest, MANIFEST_HINT.format(option="--manifest"))
    size_list = _train_sizes(sizes, "--sizes")
    if size_list:
        _require(root, ROOT_HINT)
    r = _bench_train(
        p,
        store,
        manifest,
        root,
        size_list,
        steps=steps,
        warmup=warmup,
        repeats=repeats,
        min_seconds=min_seconds,
        device=runtime.pick_device(device),
        compile=compile,
        subset=subset,
        workdir=workdir,
    )
    merge_json(out, "train", _report("train", r))


@app.command("stylize")
@stage
def stylize(
    model: Path = MODEL,
    sizes: str = STYLIZE_SIZES,
    repeats: int = typer.Option(20, min=1, help="timed runs (median reported)"),
    warmup: int = typer.Option(3, min=0, help="untimed runs first"),
    end_to_end_size: int = END_TO_END,
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """Transfer network latency at each of SIZES (square, batch 1) against the reference network,
    and one image end to end (key 'stylize')."""
    _require(model, TRANSFER_HINT)
    r = bench_stylize(
        model,
        _parse_sizes(sizes),
        repeats,
        warmup,
        runtime.pick_device(device),
        compile,
        end_to_end_size=end_to_end_size or None,
    )
    merge_json(out, "stylize", _report("stylize", r))


@app.command("scaling")
@stage
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
    r = bench_scaling(
        load_params(params),
        _parse_scales(scales),
        base_train_images=base_train_images,
        base_test_images=base_test_images,
        warmup=warmup,
        device=runtime.pick_device(device),
        compile=compile,
        workdir=workdir,
    )
    merge_json(out, "scaling", _report("scaling", r))


@app.command("index")
@stage
def index(
    images: int = INDEX_IMAGES,
    image_size: int = INDEX_SIZE,
    repeats: int = typer.Option(3, min=1, help="timed rounds per method, alternated (median reported)"),
    min_seconds: float = typer.Option(0.0, min=0.0, help="...and at least this long per method"),
    seed: int = typer.Option(0, help="seed of the benchmark JPEGs (sizes, grain, paintings)"),
    workdir: Path | None = typer.Option(
        None, help="where the JPEGs are written (default: the system temp dir)"
    ),
    out: Path = OUT,
) -> None:
    """decode_bytes with JPEG draft() vs a full-size decode on 1-2 MP JPEGs: images/s, speedup and
    how close the outputs are (key 'index')."""
    r = bench_index(images, image_size, repeats=repeats, min_seconds=min_seconds, seed=seed, workdir=workdir)
    merge_json(out, "index", _report("index", r))


@app.command("backbones")
@stage
def backbones(
    store: Path = STORE,
    manifests: Path = typer.Option(
        Path("data/manifests"), help="the classifier's manifests (train.csv, test.csv)"
    ),
    params: Path = PARAMS,
    seconds: float = typer.Option(DEFAULT_SECONDS, min=0.0, help="training wall time per configuration"),
    backbones: str = typer.Option(
        DEFAULT_BACKBONES,
        help="comma-separated configurations (see artstyle.bench.backbones), e.g. stylenet,vgg19@3",
    ),
    calibration_steps: int = typer.Option(3, min=1, help="timed steps that size each run to the budget"),
    device: str | None = DEVICE,
    out: Path = OUT,
) -> None:
    """Backbones at an equal training-time budget: test balanced accuracy, macro-F1, minority
    recall, images/s (key 'backbones')."""
    p = load_params(params)
    configs = parse_backbones(backbones)
    _require_store(store)
    for name in ("train.csv", "test.csv"):
        _require(manifests / name, MANIFEST_HINT.format(option="--manifests"))
    r = bench_backbones(
        p,
        store,
        manifests,
        seconds=seconds,
        backbones=configs,
        calibration_steps=calibration_steps,
        device=runtime.pick_device(device),
    )
    merge_json(out, "backbones", _report("backbones", r))


@app.command("all")
@stage
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
    stylize_sizes: str = STYLIZE_SIZES,
    end_to_end_size: int = END_TO_END,
    scales: str = SCALES,
    base_train_images: int | None = BASE_TRAIN,
    base_test_images: int | None = BASE_TEST,
    train_sizes: str = TRAIN_SIZES,
    subset: int = SUBSET,
    index_images: int = INDEX_IMAGES,
    index_size: int = INDEX_SIZE,
    workdir: Path | None = WORKDIR,
    device: str | None = DEVICE,
    compile: bool = COMPILE,
    out: Path = OUT,
) -> None:
    """data + train + stylize + scaling + index in one run, written together; prints every figure and target."""
    # Every input is checked first: a missing checkpoint should not surface after minutes of timing.
    p = load_params(params)
    _require_store(store)
    _require(root, ROOT_HINT)
    _require(manifest, MANIFEST_HINT.format(option="--manifest"))
    _require(model, TRANSFER_HINT)
    scale_list = _parse_scales(scales)
    size_list = _train_sizes(train_sizes, "--train-sizes")
    dev = runtime.pick_device(device)

    results: dict[str, dict[str, Any]] = {}
    typer.echo("== data: store loader vs PIL decode per item")
    results["data"] = _report("data", bench_data(store, root, min_seconds=min_seconds))
    typer.echo("\n== train: classifier end to end vs compute only")
    results["train"] = _report(
        "train",
        _bench_train(
            p,
            store,
            manifest,
            root,
            size_list,
            steps=train_steps,
            min_seconds=min_seconds,
            device=dev,
            compile=compile,
            subset=subset,
            workdir=workdir,
        ),
    )
    typer.echo("\n== stylize: transfer latency")
    results["stylize"] = _report(
        "stylize",
        bench_stylize(
            model,
            _parse_sizes(stylize_sizes),
            device=dev,
            compile=compile,
            end_to_end_size=end_to_end_size or None,
        ),
    )
    typer.echo(f"\n== scaling: index and training epoch at {', '.join(f'{s}x' for s in scale_list)}")
    results["scaling"] = _report(
        "scaling",
        bench_scaling(
            p,
            scale_list,
            base_train_images=base_train_images,
            base_test_images=base_test_images,
            device=dev,
            compile=compile,
            workdir=workdir,
        ),
    )
    typer.echo(f"\n== index: decode_bytes draft() vs full decode, 1-2 MP JPEGs to {index_size} px")
    results["index"] = _report("index", bench_index(index_images, index_size, workdir=workdir))

    # Written once at the end, so bench.json never holds a half-finished run's sections.
    merge_sections(out, results)
    typer.echo("\n== summary")
    _echo(summary_lines(results))
    typer.echo(f"-> {out}")


@app.command("gpu")
@stage
def gpu(
    out: Path = typer.Option(Path("metrics/bench_gpu.json"), help="JSON to write (replaced, not merged)"),
    params: Path = PARAMS,
    workdir: Path = typer.Option(
        Path("build/gpu-check"), help="scratch folder: the pipeline's copy, the stage logs, the bench stores"
    ),
    device: str | None = DEVICE,
    allow_cpu: bool = typer.Option(False, "--allow-cpu", help="run without CUDA too (for the tests)"),
    tiny: bool = typer.Option(
        False, "--tiny", help="tiny params and sizes for the benchmarks too (the CPU test's settings)"
    ),
    pipeline: bool = typer.Option(True, "--pipeline/--no-pipeline", help="run dvc.yaml's stages first"),
    train_sizes: str | None = typer.Option(None, help="bench train sizes (default 64,128,224; --tiny 16,24)"),
    stylize_sizes: str | None = typer.Option(
        None, help="bench stylize sizes (default 512,1024; --tiny 32,64)"
    ),
    steps: int | None = typer.Option(
        None, min=1, help="training steps per timed round (default 20; --tiny 2)"
    ),
    repeats: int | None = typer.Option(None, min=1, help="timed rounds, at least (default 3; --tiny 1)"),
    min_seconds: float | None = typer.Option(
        None, min=0.0, help="timed seconds per training workload, at least (default 2; --tiny 0)"
    ),
    stylize_repeats: int | None = typer.Option(None, min=1, help="timed stylize runs (default 20; --tiny 2)"),
    workers: int = typer.Option(
        0, min=0, help="processes rendering and indexing the bench tree (0 = all cores)"
    ),
) -> None:
    """The GPU check, written to --out (default metrics/bench_gpu.json): the tiny pipeline stage by
    stage without dvc, then bench train at 64/128/224 px and bench stylize at 512/1024 px, with the
    device, torch, CUDA and cuDNN versions; exit 1 if any part failed. Needs CUDA unless --allow-cpu."""
    dev = runtime.pick_device(device)
    require_cuda(dev, allow_cpu)
    raw = yaml.safe_load(params.read_text()) if params.is_file() else None
    if not isinstance(raw, dict):
        raise InputError(f"{params}: not found or not a params file")

    def pick(value, default, tiny_default):
        return value if value is not None else (tiny_default if tiny else default)

    r = gpu_check(
        Path("."),
        raw,
        workdir,
        dev,
        tiny=tiny,
        pipeline=pipeline,
        train_sizes=_parse_sizes(pick(train_sizes, "64,128,224", "16,24"), "--train-sizes", "64,128,224"),
        stylize_sizes=_parse_sizes(pick(stylize_sizes, "512,1024", "32,64"), "--stylize-sizes", "512,1024"),
        steps=pick(steps, 20, 2),
        warmup=1 if tiny else 5,
        repeats=pick(repeats, 3, 1),
        min_seconds=pick(min_seconds, 2.0, 0.0),
        subset=64 if tiny else 512,
        stylize_repeats=pick(stylize_repeats, 20, 2),
        stylize_warmup=1 if tiny else 3,
        bench_images=81 if tiny else BENCH_TRAIN_IMAGES,
        workers=workers,
        log=typer.echo,
    )
    write_json(out, r)
    _echo(gpu_lines(r))
    typer.echo(f"-> {out}")
    if not r["ok"]:
        raise typer.Exit(1)


@app.command("scale")
@stage
def scale(
    scales: str = typer.Option(
        ",".join(map(str, DEFAULT_SCALES)), help="comma-separated multiples of the default image count"
    ),
    stages: str = typer.Option(
        "",
        help="comma-separated stages to measure, e.g. synthesize,index,oversample_smote (default: every "
        "stage of dvc.yaml but train_judge, plus oversample_smote); the stages they need run unmeasured",
    ),
    params: Path = PARAMS,
    workdir: Path = typer.Option(
        Path("build/bench-scale"), help="scratch folder: one folder per scale (removed after it) and the logs"
    ),
    out: Path = typer.Option(Path("metrics/bench_scale.json"), help="JSON to write (replaced, not merged)"),
    plot: Path = typer.Option(Path("plots/bench_scale.png"), help="PNG: time per image and peak memory"),
    tiny: bool = typer.Option(False, "--tiny", help="the tiny params of the tests (artstyle.bench.tiny)"),
    keep: bool = typer.Option(False, "--keep", help="keep each scale's data, models and outputs"),
) -> None:
    """Each stage's wall time, time per image and peak memory at 1x, 2x, 4x and 8x the default data,
    every stage its own process (artstyle.bench.scale); writes --out and --plot, prints the tables;
    exit 1 if a stage failed."""
    load_params(params)  # a bad params file is one line here, not a failed stage later
    raw = yaml.safe_load(params.read_text())
    _require(Path("dvc.yaml"), "run the benchmark from the repository root")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] or None
    r = bench_scale(
        Path("."),
        raw,
        _parse_scales(scales),
        stages=stage_list,
        workdir=workdir,
        tiny=tiny,
        keep=keep,
        log=typer.echo,
    )
    write_json(out, r)
    save_figure(plot, scale_figure(r))
    _echo(["", *table_lines(r)])
    typer.echo(f"-> {out}, {plot}")
    if not r["ok"]:
        raise typer.Exit(1)
