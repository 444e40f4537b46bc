"""The GPU check: ``python -m artstyle.bench gpu`` (``tools/gpu_check.sh`` runs it on a CUDA machine).

One run, meant to finish in under :data:`BUDGET_SECONDS` on one GPU, writes one JSON file
(``metrics/bench_gpu.json`` by default, replaced atomically):

1. ``device``: the GPU's name, compute capability, memory and multiprocessors; torch, its CUDA
   and cuDNN versions, the driver (from ``nvidia-smi`` when present), Python.
2. ``pipeline``: every stage of dvc.yaml, in dependency order, on the tiny params
   (:mod:`artstyle.bench.tiny`, the end-to-end tests' sizes) in a scratch copy (``--workdir``):
   each stage's own command line, with ``${...}`` filled in from those params, run as a
   subprocess without dvc (``python`` replaced by this interpreter). Every stage picks CUDA by
   itself (:func:`artstyle.runtime.start`). Per stage: seconds, exit code, finished or not (and
   the end of its log when not); after the first failure the rest are skipped.
3. ``train``: :func:`artstyle.bench.train.bench_train` (what ``bench train --sizes`` runs) with
   params.yaml's classifier at each of ``train_sizes``, on a tree of the embedded paintings
   rendered for the check: end-to-end and compute-only images/s and their ratio, the efficiency.
4. ``stylize``: :func:`artstyle.bench.stylize.bench_stylize` at each of ``stylize_sizes``
   (batch 1), against the reference network: ms per image. The network has params.yaml's
   transfer architecture and random weights (latency is the architecture's, as for the
   reference); the CPU-only end-to-end figure of ``bench stylize`` is left out.

A section that fails is recorded with its error and the others still run: one run on a borrowed
GPU should bring back everything it can. ``ok`` is true only when every stage and section finished.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import yaml

from artstyle.bench.stylize import bench_stylize
from artstyle.bench.tiny import tiny_params
from artstyle.bench.train import bench_train
from artstyle.errors import UserError
from artstyle.params import Params, parse_params

BUDGET_SECONDS = 480.0  # the issue: the whole check in under 8 minutes on the GPU machine
TRAIN_SIZES = (64, 128, 224)
STYLIZE_SIZES = (512, 1024)
BENCH_TRAIN_IMAGES = 560  # the rendered tree's train images: enough for the default 512-image subset
BENCH_TEST_IMAGES = 54
LOG_TAIL = 3000  # characters of a failed stage's log kept in the JSON

Log = Callable[[str], None]


class NoCuda(UserError):
    """The check needs a CUDA device and torch sees none."""


def require_cuda(device: torch.device, allow_cpu: bool) -> None:
    """Stop with one line unless ``device`` is CUDA and torch can use it (or ``allow_cpu``)."""
    if allow_cpu:
        return
    if device.type != "cuda":
        build = torch.version.cuda or "none (a CPU-only build)"
        raise NoCuda(
            f"no CUDA device: torch {torch.__version__} (CUDA {build}) sees no GPU; this check is "
            "for a GPU machine (tools/gpu_check.sh; --allow-cpu runs it on the CPU, for tests)"
        )
    if not torch.cuda.is_available():
        raise NoCuda(f"--device {device}: torch {torch.__version__} sees no CUDA device")


def driver_version() -> str | None:
    """The NVIDIA driver's version from ``nvidia-smi``, or None where it is absent or fails."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def device_info(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on: the GPU (on CUDA), the torch / CUDA / cuDNN builds, Python."""
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            capability=f"{props.major}.{props.minor}",
            memory_gib=props.total_memory / 2**30,
            multiprocessors=props.multi_processor_count,
            device_count=torch.cuda.device_count(),
            driver=driver_version(),
        )
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


# ---------------------------------------------------------------------------------------------
# The pipeline, stage by stage, without dvc
# ---------------------------------------------------------------------------------------------

_REF = re.compile(r"\$\{([^}]+)\}")


def interpolate(text: str, params: dict[str, Any]) -> str:
    """``text`` with each ``${a.b}`` replaced by params[a][b] (dvc.yaml's templating, the part it uses)."""

    def lookup(match: re.Match[str]) -> str:
        value: Any = params
        for key in match.group(1).strip().split("."):
            if not isinstance(value, dict) or key not in value:
                raise UserError(f"dvc.yaml: ${{{match.group(1)}}} is not in the params")
            value = value[key]
        return str(value)

    return _REF.sub(lookup, text)


def _paths(entries: Sequence[Any] | None) -> list[str]:
    """The paths of a dvc.yaml deps/outs list (each entry a path or a one-key ``{path: options}``)."""
    out = []
    for entry in entries or []:
        out.extend(entry if isinstance(entry, dict) else [entry])
    return [str(p).rstrip("/") for p in out]


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def stage_commands(dvc_yaml: dict[str, Any], params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(name, argv) of every stage of a loaded dvc.yaml, dependencies first (file order among equals).

    A stage depends on another when one of its deps is, lies in or contains one of the other's
    outs, metrics or plots. ``${...}`` is filled in from ``params``; a leading ``python`` becomes
    this interpreter.
    """
    stages = dvc_yaml.get("stages") or {}
    outs = {
        name: _paths(s.get("outs")) + _paths(s.get("metrics")) + _paths(s.get("plots"))
        for name, s in stages.items()
    }
    needs = {
        name: {
            other
            for dep in _paths([interpolate(str(d), params) for d in _paths(s.get("deps"))])
            for other, produced in outs.items()
            if other != name and any(_overlaps(dep, o) for o in produced)
        }
        for name, s in stages.items()
    }
    order: list[str] = []
    while len(order) < len(stages):
        ready = [n for n in stages if n not in order and needs[n] <= set(order)]
        if not ready:
            raise UserError(f"dvc.yaml: a cycle among {sorted(set(stages) - set(order))}")
        order.append(ready[0])
    commands = []
    for name in order:
        argv = shlex.split(interpolate(" ".join(str(stages[name]["cmd"]).split()), params))
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        commands.append((name, argv))
    return commands


def child_env() -> dict[str, str]:
    """The stages' environment: this one, with this project's source first on PYTHONPATH."""
    import artstyle

    src = str(Path(artstyle.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_pipeline(repo: Path, workdir: Path, params: dict[str, Any], log: Log) -> dict[str, Any]:
    """Run dvc.yaml's stages in ``workdir`` (a fresh copy of ``stages/``, dvc.yaml and ``params``)."""
    repo, workdir = Path(repo), Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copytree(repo / "stages", workdir / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(repo / "dvc.yaml", workdir / "dvc.yaml")
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    logs = workdir / "logs"
    logs.mkdir()
    env = child_env()
    rows: list[dict[str, Any]] = []
    failed = False
    start = time.perf_counter()
    for name, argv in stage_commands(yaml.safe_load((repo / "dvc.yaml").read_text()), params):
        row: dict[str, Any] = {"stage": name, "command": shlex.join([Path(argv[0]).name, *argv[1:]])}
        if failed:
            rows.append({**row, "finished": False, "skipped": True})
            continue
        log_file = logs / f"{name}.log"
        t0 = time.perf_counter()
        with log_file.open("w") as fh:
            rc = subprocess.run(argv, cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
        row.update(seconds=time.perf_counter() - t0, returncode=rc, finished=rc == 0, log=str(log_file))
        if rc != 0:
            failed = True
            row["log_tail"] = log_file.read_text(errors="replace")[-LOG_TAIL:]
        rows.append(row)
        log(
            f"stage {name}: {'ok' if rc == 0 else f'FAILED (exit {rc}, see {log_file})'} in {row['seconds']:.1f} s"
        )
    return {
        "stages": rows,
        "finished": not failed,
        "seconds": time.perf_counter() - start,
        "workdir": str(workdir),
        "params": "tiny (artstyle.bench.tiny.TINY_OVERRIDES over params.yaml)",
    }


# ---------------------------------------------------------------------------------------------
# The benchmarks' inputs
# ---------------------------------------------------------------------------------------------


def bench_params(raw: dict[str, Any], *, tiny: bool, train_images: int, workers: int) -> Params:
    """params.yaml's (or with ``tiny`` the tiny) params, the rendered tree sized for the benchmark."""
    base = tiny_params(raw) if tiny else dict(raw)
    synth = {
        "train_images": train_images,
        "test_images": BENCH_TEST_IMAGES,
        "workers": workers,
    }
    merged = {
        **base,
        "synthesize": {**base["synthesize"], **synth},
        "index": {**base["index"], "workers": workers},
    }
    return parse_params(merged)


def bench_inputs(workdir: Path, p: Params) -> tuple[Path, Path, Path]:
    """Render the embedded paintings, index them at ``data.image_size`` and write the train
    manifest (the ``synthesize`` / ``index`` stages' library calls); returns (tree, store, manifest)."""
    from artstyle.data.index import build_store
    from artstyle.data.manifests import write_manifest
    from artstyle.data.store import split_rows
    from artstyle.synthetic.generate import generate_dataset

    root, store, manifest = workdir / "synthetic", workdir / "store", workdir / "manifests" / "train.csv"
    generate_dataset(root, p.synthesize, seed=p.seed, samples_per_style=0, progress=False)
    index = build_store(root, store, p.data.image_size, p.index.max_pixels, p.index.workers, progress=False)
    write_manifest(manifest, *split_rows(index.records, "train"))
    return root, store, manifest


def transfer_checkpoint(path: Path, p: Params, seed: int = 0) -> Path:
    """A transfer network of ``p.transfer``'s architecture with random weights, saved as training saves one."""
    from artstyle.checkpoint import save_checkpoint
    from artstyle.models.transfer import StyleTransferNet
    from artstyle.styles import STYLES

    torch.manual_seed(seed)
    t = p.transfer
    net = StyleTransferNet(channels=t.channels, residual_blocks=t.residual_blocks, style_dim=t.style_dim)
    save_checkpoint(path, net, net.args, STYLES)
    return path


# ---------------------------------------------------------------------------------------------
# The whole check
# ---------------------------------------------------------------------------------------------


def _peak_memory(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def _section(name: str, device: torch.device, log: Log, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``fn()``'s result with its seconds and peak GPU memory; on an exception, the error instead."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    try:
        result = {**fn(), "finished": True}
    except Exception as exc:  # noqa: BLE001 - recorded, and the other sections still run
        result = {
            "finished": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-LOG_TAIL:],
        }
    result["seconds"] = time.perf_counter() - t0
    result["peak_memory_gib"] = _peak_memory(device)
    log(
        f"{name}: {'ok' if result['finished'] else 'FAILED: ' + result['error']} in {result['seconds']:.1f} s"
    )
    return result


def summary(r: dict[str, Any]) -> dict[str, Any]:
    """The headline figures: images/s and efficiency per training size, ms per image per stylize size."""
    t, s = r.get("train", {}), r.get("stylize", {})
    return {
        "train": [
            {
                k: row[k]
                for k in ("image_size", "end_to_end_images_per_s", "compute_only_images_per_s", "efficiency")
            }
            for row in t.get("sizes", [])
        ],
        "stylize": [
            {k: row[k] for k in ("size", "ms_per_image", "images_per_s", "reference_ms_per_image", "speedup")}
            for row in s.get("rows", [])
        ],
    }


def gpu_check(
    repo: Path,
    params_raw: dict[str, Any],
    workdir: Path,
    device: torch.device,
    *,
    tiny: bool = False,
    pipeline: bool = True,
    train_sizes: Sequence[int] = TRAIN_SIZES,
    stylize_sizes: Sequence[int] = STYLIZE_SIZES,
    steps: int = 20,
    warmup: int = 5,
    repeats: int = 3,
    min_seconds: float = 2.0,
    subset: int = 512,
    stylize_repeats: int = 20,
    stylize_warmup: int = 3,
    bench_images: int = BENCH_TRAIN_IMAGES,
    workers: int = 0,
    log: Log = print,
) -> dict[str, Any]:
    """Run the check (see the module's docstring) and return its results, ready to be written."""
    start = time.perf_counter()

    def say(line: str) -> None:
        log(f"[{time.perf_counter() - start:6.1f} s of {BUDGET_SECONDS:.0f}] {line}")

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"device": device_info(device)}
    say(f"device {result['device']['name']} ({device}), torch {torch.__version__}, CUDA {torch.version.cuda}")

    if pipeline:
        result["pipeline"] = run_pipeline(repo, workdir / "pipeline", tiny_params(params_raw), say)
    else:
        result["pipeline"] = {"finished": True, "skipped": True, "stages": []}

    p = bench_params(params_raw, tiny=tiny, train_images=bench_images, workers=workers)
    bench_dir = workdir / "bench"
    if bench_dir.exists():
        shutil.rmtree(bench_dir)
    bench_dir.mkdir(parents=True)
    inputs: dict[str, Any] = {}

    def prepare() -> dict[str, Any]:
        inputs["root"], inputs["store"], inputs["manifest"] = bench_inputs(bench_dir, p)
        inputs["model"] = transfer_checkpoint(bench_dir / "transfer.pt", p)
        return {"train_images": p.synthesize.train_images, "image_size": p.data.image_size}

    result["inputs"] = _section("bench inputs", device, say, prepare)

    def train() -> dict[str, Any]:
        if not inputs:
            raise RuntimeError("no benchmark inputs (see 'inputs')")
        return bench_train(
            inputs["store"],
            inputs["manifest"],
            p.classifier,
            p.seed,
            steps=steps,
            warmup=warmup,
            repeats=repeats,
            min_seconds=min_seconds,
            device=device,
            sizes=train_sizes,
            root=inputs["root"],
            subset=subset,
            max_pixels=p.index.max_pixels,
            index_workers=p.index.workers,
            workdir=bench_dir,
            progress=False,
        )

    result["train"] = _section(f"bench train at {', '.join(map(str, train_sizes))} px", device, say, train)

    def stylize() -> dict[str, Any]:
        if not inputs:
            raise RuntimeError("no benchmark inputs (see 'inputs')")
        r = bench_stylize(
            inputs["model"], stylize_sizes, stylize_repeats, stylize_warmup, device, end_to_end_size=None
        )
        return {**r, "model": "random weights, params.yaml's transfer architecture"}

    result["stylize"] = _section(
        f"bench stylize at {', '.join(map(str, stylize_sizes))} px", device, say, stylize
    )

    seconds = time.perf_counter() - start
    result.update(
        summary=summary(result),
        ok=bool(
            result["pipeline"]["finished"]
            and all(result[k]["finished"] for k in ("inputs", "train", "stylize"))
        ),
        seconds_total=seconds,
        budget_seconds=BUDGET_SECONDS,
        within_budget=seconds < BUDGET_SECONDS,
        tiny=tiny,
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    say(f"done: {'all finished' if result['ok'] else 'SOMETHING FAILED'}")
    return result


def gpu_lines(r: dict[str, Any]) -> list[str]:
    """The report: device, each stage, the figures, the total time against the budget."""
    d = r["device"]
    lines = [
        f"GPU check on {d['name']} ({d['device']}): torch {d['torch']}, CUDA {d['cuda']}, cuDNN {d['cudnn']}"
        + (f", {d['memory_gib']:.0f} GiB, driver {d.get('driver')}" if "memory_gib" in d else ""),
    ]
    for row in r["pipeline"].get("stages", []):
        state = (
            "ok"
            if row["finished"]
            else ("skipped" if row.get("skipped") else f"FAILED ({row['returncode']})")
        )
        lines.append(f"  stage {row['stage']:<22}{state:>12}{row.get('seconds', 0.0):>9.1f} s")
    s = r["summary"]
    if s["train"]:
        lines.append(f"{'train size':>12}{'e2e img/s':>14}{'compute img/s':>16}{'efficiency':>12}")
        lines += [
            f"{row['image_size']:>12}{row['end_to_end_images_per_s']:>14,.0f}"
            f"{row['compute_only_images_per_s']:>16,.0f}{row['efficiency']:>12.3f}"
            for row in s["train"]
        ]
    if s["stylize"]:
        lines.append(f"{'stylize px':>12}{'ms/image':>14}{'reference ms':>16}{'speedup':>12}")
        lines += [
            f"{row['size']:>12}{row['ms_per_image']:>14.2f}{row['reference_ms_per_image']:>16.2f}"
            f"{row['speedup']:>12.2f}"
            for row in s["stylize"]
        ]
    for key in ("inputs", "train", "stylize"):
        if not r[key]["finished"]:
            lines.append(f"{key}: FAILED: {r[key]['error']}")
    lines.append(
        f"total {r['seconds_total']:.0f} s (budget {r['budget_seconds']:.0f} s: "
        f"{'within' if r['within_budget'] else 'OVER'}); {'ok' if r['ok'] else 'NOT ok'}"
    )
    return lines
