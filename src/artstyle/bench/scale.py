"""Scale: each pipeline stage's wall time, time per image and peak memory at 1x, 2x, 4x and 8x the data.

``python -m artstyle.bench scale`` (``make scale``) renders the embedded synthetic WikiArt at each
multiple of ``synthesize.train_images`` / ``test_images`` and runs the pipeline on it, one stage
after another, each stage as its own process: the real script of ``stages/`` with the command line
dvc.yaml gives it (``${...}`` filled in, ``python`` replaced by this interpreter), plus ``--params``
pointing at a params file written for the scale. Every path of a stage is relative, so the stage
reads and writes inside the scale's own directory of ``--workdir``; dvc is not involved.

What is measured, per stage and scale:

- ``seconds``: wall time of the stage's process, start to exit (its Python and torch imports
  included: a fixed cost of a few seconds, which makes small scales look slower per image);
- ``images`` and ``seconds_per_image``: the images the stage processes, counted from the files it
  reads (:data:`STAGES` says which for each stage: the rendered files, the store, or the rows of
  the manifests it passes over), and seconds over that count;
- ``peak_rss_mb``: the peak, over samples taken every :data:`SAMPLE_SECONDS`, of the resident
  memory summed over the stage's process and all its descendants (``psutil``). Resident memory
  includes the file pages a process has touched: a stage that reads the whole image store through
  its memory map shows the store's size here, although the kernel can drop those pages at will,
  and shared libraries count once per process;
- ``peak_private_mb``: the same sum less the file-backed and shared pages (``rss - shared``): the
  memory the stage allocated itself, which cannot be dropped;
- ``hwm_mb``: the largest high-water mark (``VmHWM``, the kernel's own peak resident memory) of
  a single process of the tree: exact where the sum can miss a spike shorter than the interval.
  (``resource``'s ``ru_maxrss`` of the child is no use here: Linux carries the high-water mark of
  the process that forked it, this benchmark with torch loaded, over its ``exec``.)
- ``cpu_seconds`` (user + system, the tree's) and ``load_1min`` (the machine's load when the
  stage ended): on a shared machine they tell a slow stage from a busy machine.

Then per stage (:func:`growth`), its largest scale against its smallest: the time-per-image ratio,
the peak-memory ratios (``peak_rss_mb``, ``peak_private_mb``) and the memory growth in bytes per
image, ``(peak at 8x - peak at 1x) / (images at 8x - images at 1x)``.

What is cut, so that 1x to 8x (15 times the default data in all) takes well under an hour on 2
idle cores: per-image cost is what is measured, so epochs and steps are (:data:`SHORT_BUDGET`: one epoch
for the autoencoder and the classifier, 5 embedder steps, 30 transfer steps, 4 test images
repainted in every style and one style of real photos in ``evaluate_transfer``), and the classifier
trains StyleNet from scratch instead of the VGG19 probe (:data:`CLASSIFIER`). Two stages are not
grown by the data: ``train_transfer`` (its work is its step count) runs at the smallest scale only,
marked ``fixed_cost``, and its checkpoint serves the larger scales; ``train_judge`` trains by a
recipe fixed in code (8 StyleNet epochs and a VGG19 probe epoch: longer than all the rest at 8x),
so it runs only when named in ``--stages``, and ``evaluate_transfer`` otherwise judges with
stand-ins of the same two architectures, untrained (the same cost; their accuracy means nothing).
Besides the pipeline's own ``oversample`` (``sampling_method: random``: the manifest as it is),
the variant ``oversample_smote`` runs the same stage under ``sampling: mean, sampling_method:
smote``: pixel SMOTE, whose memory follows the size of the largest style it raises.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import platform
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import yaml

from artstyle.bench.gpu import child_env, stage_commands
from artstyle.bench.tiny import tiny_params
from artstyle.errors import InputError

DEFAULT_SCALES = (1, 2, 4, 8)
SAMPLE_SECONDS = 0.05
LOG_TAIL = 3000  # characters of a failed stage's log kept in the JSON
MB = 2**20

# Epochs, steps and fixed workloads cut for the benchmark: each value is only ever lowered (--tiny's
# are smaller still). What is left grows with the data as the full run does.
SHORT_BUDGET: dict[str, dict[str, int]] = {
    "autoencoder": {"epochs": 1},
    "classifier": {"epochs": 1},
    "embedder": {"steps": 5},
    "transfer": {"steps": 30, "warmup_steps": 5},
    "evaluate_transfer": {"content_images": 4, "grid_images": 2},
}
# The classifier is trained from scratch (StyleNet) instead of as the VGG19 probe: the same data
# path and training loop at a fifth of the cost per image (the probe's images/s is `bench train`'s).
CLASSIFIER = {"backbone": "stylenet", "weights": "none", "freeze": "none"}
# The oversample_smote variant: pixel SMOTE raising every style below the mean to it.
SMOTE_PARAMS = {"sampling": "mean", "sampling_method": "smote"}
SMOTE_STAGE = "oversample_smote"
# Run only when asked for: its recipe is fixed in code (see the module docstring).
OPT_IN = ("train_judge",)


# ---------------------------------------------------------------------------------------------
# What each stage processes: the denominator of its time per image
# ---------------------------------------------------------------------------------------------


def csv_rows(path: Path) -> int:
    """Data rows of a CSV file with a header line (a manifest, the store's index)."""
    with open(path, encoding="utf-8") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def image_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".png", ".jpg", ".jpeg"))


@dataclasses.dataclass(frozen=True)
class Stage:
    """How a stage's images are counted (``per``, in words; ``count`` from the scale's directory and
    its params), and whether its cost is fixed rather than grown by the data."""

    per: str
    count: Callable[[Path, dict[str, Any]], int]
    fixed_cost: bool = False


def _rows(*manifests: str) -> Callable[[Path, dict[str, Any]], int]:
    return lambda d, p: sum(csv_rows(d / m) for m in manifests)


STAGES: dict[str, Stage] = {
    "synthesize": Stage("rendered files (train + test)", lambda d, p: image_files(d / "data" / "synthetic")),
    "index": Stage("store images", _rows("data/store/index.csv")),
    "resample": Stage("store images", _rows("data/store/index.csv")),
    "oversample": Stage("classifier train rows written", _rows("data/oversampled/train.csv")),
    SMOTE_STAGE: Stage("classifier train rows written", _rows("data/oversampled_smote/train.csv")),
    "train_classifier": Stage(
        "oversampled train (1 epoch) + val", _rows("data/oversampled/train.csv", "data/splits/val.csv")
    ),
    "evaluate_classifier": Stage(
        "test + train manifests (histogram baseline)",
        _rows("data/manifests/test.csv", "data/manifests/train.csv"),
    ),
    "train_autoencoder": Stage(
        "train (1 epoch) + val + test splits",
        _rows("data/splits/train.csv", "data/splits/val.csv", "data/splits/test.csv"),
    ),
    "cluster_latents": Stage("train + test splits", _rows("data/splits/train.csv", "data/splits/test.csv")),
    "train_embedder": Stage("train split (mean latents)", _rows("data/splits/train.csv")),
    "train_transfer": Stage(
        "content images drawn (steps x batch)",
        lambda d, p: p["transfer"]["steps"] * p["transfer"]["batch_size"],
        fixed_cost=True,
    ),
    "train_judge": Stage(
        "train + val splits, per epoch (fixed recipe: 8 StyleNet + 1 VGG19 epochs)",
        _rows("data/splits/train.csv", "data/splits/val.csv"),
    ),
    "evaluate_transfer": Stage("test split (plus a fixed set of repaintings)", _rows("data/splits/test.csv")),
}


# ---------------------------------------------------------------------------------------------
# Params and command lines
# ---------------------------------------------------------------------------------------------


def scale_params(raw: dict[str, Any], scale: int, *, tiny: bool = False) -> dict[str, Any]:
    """params.yaml's values (or the tiny ones) at ``scale`` x the embedded paintings' image count,
    with :data:`SHORT_BUDGET`, :data:`CLASSIFIER` and one real photo style for evaluate_transfer."""
    p = tiny_params(raw) if tiny else copy.deepcopy(raw)
    for section, values in SHORT_BUDGET.items():
        for key, value in values.items():
            p[section][key] = min(p[section][key], value)
    p["classifier"].update(CLASSIFIER)
    p["evaluate_transfer"]["real_styles"] = p["evaluate_transfer"]["real_styles"][:1]
    p["synthesize"]["train_images"] *= scale
    p["synthesize"]["test_images"] *= scale
    # The embedded paintings, whatever data.root says: a real WikiArt tree does not grow with the scale.
    p["data"].update(root="data/synthetic", format="auto")
    return p


def _set_option(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option``'s value replaced (the option must be there)."""
    i = argv.index(option)
    return [*argv[: i + 1], value, *argv[i + 2 :]]


def smote_command(oversample: list[str]) -> list[str]:
    """The ``oversample`` command writing to its own paths: the :data:`SMOTE_STAGE` variant."""
    argv = oversample
    for option, value in (
        ("--out", "data/oversampled_smote"),
        ("--metrics", "metrics/oversample_smote.json"),
        ("--counts", "metrics/oversample_smote_per_style.json"),
        ("--plot", "plots/oversampled_smote.png"),
    ):
        argv = _set_option(argv, option, value)
    return argv


def _outputs(stage: dict[str, Any]) -> list[str]:
    from artstyle.bench.gpu import _paths

    return _paths(stage.get("outs")) + _paths(stage.get("metrics")) + _paths(stage.get("plots"))


def needs(dvc_yaml: dict[str, Any], params: dict[str, Any]) -> dict[str, set[str]]:
    """The stages each stage reads an output of (directly), from dvc.yaml's deps and outs."""
    from artstyle.bench.gpu import _overlaps, _paths, interpolate

    stages = dvc_yaml["stages"]
    outs = {name: _outputs(s) for name, s in stages.items()}
    return {
        name: {
            other
            for dep in (interpolate(d, params) for d in _paths(s.get("deps")))
            for other, produced in outs.items()
            if other != name and any(_overlaps(dep, o) for o in produced)
        }
        for name, s in stages.items()
    }


@dataclasses.dataclass(frozen=True)
class Step:
    """One stage to run: its command, whether it is reported (or only makes a measured stage's
    inputs), and its outputs (relative to the scale's folder)."""

    name: str
    argv: list[str]
    measured: bool
    outs: list[str]


def plan(repo: Path, params: dict[str, Any], selected: Sequence[str] | None = None) -> list[Step]:
    """The steps in dependency order: the ``selected`` stages (default: all but :data:`OPT_IN`) and,
    unmeasured, the stages they need. The stage scripts are ``repo``'s."""
    repo = Path(repo).resolve()
    dvc_yaml = yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))
    known = [*dvc_yaml["stages"], SMOTE_STAGE]
    chosen = [s for s in known if s not in OPT_IN] if selected is None else list(selected)
    unknown = [s for s in chosen if s not in known]
    if unknown or not chosen:
        raise InputError(
            f"--stages: unknown stage {', '.join(unknown) or '(none given)'}; allowed: {', '.join(known)}"
        )
    graph = needs(dvc_yaml, params)
    graph[SMOTE_STAGE] = graph["oversample"]
    wanted, todo = set(chosen), list(chosen)
    while todo:
        for other in graph[todo.pop()]:
            # evaluate_transfer gets stand-in judges unless train_judge was asked for
            if other not in wanted and other not in OPT_IN:
                wanted.add(other)
                todo.append(other)
    steps = []
    for name, argv in stage_commands(dvc_yaml, params):
        argv = [str(repo / a) if a.startswith("stages/") else a for a in argv]
        steps.append(Step(name, argv, name in chosen, _outputs(dvc_yaml["stages"][name])))
        if name == "oversample":
            steps.append(Step(SMOTE_STAGE, smote_command(argv), SMOTE_STAGE in chosen, []))
    return [step for step in steps if step.name in wanted]


# ---------------------------------------------------------------------------------------------
# Running one stage and sampling its memory
# ---------------------------------------------------------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    """Process ``pid`` and all its descendants (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def memory(procs: Sequence[psutil.Process]) -> tuple[int, int]:
    """(resident, private) bytes summed over ``procs``; private is resident less the file-backed and
    shared pages (``rss - shared``). A process that has exited counts 0."""
    rss = private = 0
    for proc in procs:
        try:
            m = proc.memory_info()
        except psutil.Error:
            continue
        rss += m.rss
        private += m.rss - getattr(m, "shared", 0)
    return rss, private


def high_water_mark(pid: int) -> int:
    """The kernel's peak resident memory of one process so far (``VmHWM``, Linux), in bytes; 0 where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class PeakSampler:
    """Samples the memory of a process tree every ``interval`` seconds in a thread, keeping the peaks.

    Listing the tree reads every process of the machine (about 10 ms), so it is refreshed every
    ``relist`` samples; the members' memory (small reads) at every sample. A process that starts and
    ends between two listings is missed. ``peak_hwm`` is the largest member's own high-water mark,
    which the kernel keeps exactly: it misses only what a process adds in its last interval.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS, relist: int = 10) -> None:
        self.pid, self.interval, self.relist = pid, interval, relist
        self.peak_rss = self.peak_private = self.peak_hwm = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        procs: list[psutil.Process] = []
        while not self._stop.is_set():
            if self.samples % self.relist == 0:
                procs = tree(self.pid)
            rss, private = memory(procs)
            self.peak_rss, self.peak_private = max(self.peak_rss, rss), max(self.peak_private, private)
            self.peak_hwm = max([self.peak_hwm, *(high_water_mark(p.pid) for p in procs)])
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_stage(argv: list[str], cwd: Path, log_file: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one stage to its end: seconds, exit code, the memory figures and the CPU time (module docstring)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        with PeakSampler(proc.pid) as sampler:
            # wait4, not proc.wait(): its rusage is this child's (and its waited-for children's) alone.
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "peak_rss_mb": sampler.peak_rss / MB,
        "peak_private_mb": sampler.peak_private / MB,
        "hwm_mb": sampler.peak_hwm / MB if sampler.peak_hwm else None,
        # CPU time of the tree (its waited-for children included): the work, whatever else ran
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_1min": os.getloadavg()[0],  # the machine's load when the stage ended (this stage included)
        "memory_samples": sampler.samples,
    }


def write_stand_in_judges(models: Path) -> None:
    """Untrained judges of train_judge's two architectures, for evaluate_transfer without train_judge."""
    import torch

    from artstyle.checkpoint import save_checkpoint
    from artstyle.models.backbones import build_classifier
    from artstyle.styles import STYLES
    from artstyle.training.judge import judge_params, vgg_judge_params

    torch.manual_seed(0)
    for name, cfg in (("judge.pt", judge_params()), ("judge_vgg19.pt", vgg_judge_params())):
        model = build_classifier(cfg)
        save_checkpoint(models / name, model, model.args, STYLES, stand_in=True)


def copy_outputs(paths: Sequence[str], src: Path, dst: Path) -> None:
    """Copy the files and folders ``paths`` (relative) from ``src`` to ``dst``."""
    for rel in paths:
        if (src / rel).is_dir():
            shutil.copytree(src / rel, dst / rel, dirs_exist_ok=True)
        elif (src / rel).exists():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dst / rel)


def measure_stage(step: Step, d: Path, params: dict[str, Any], log_file: Path) -> dict[str, Any]:
    """Run ``step`` in the scale's folder ``d``: its row (figures, or the end of its log if it failed)."""
    params_file = d / ("params_smote.yaml" if step.name == SMOTE_STAGE else "params.yaml")
    r = run_stage([*step.argv, "--params", str(params_file)], d, log_file, child_env())
    row: dict[str, Any] = {"stage": step.name, "finished": r["returncode"] == 0, **r}
    if not row["finished"]:
        row.update(log_tail=log_file.read_text(errors="replace")[-LOG_TAIL:], command=shlex.join(step.argv))
        return row
    spec = STAGES[step.name]
    images = spec.count(d, params)
    return {
        **row,
        "images": images,
        "seconds_per_image": r["seconds"] / images if images else None,
        "per": spec.per,
        "fixed_cost": spec.fixed_cost,
    }


def measure_scale(
    steps: Sequence[Step],
    params: dict[str, Any],
    scale: int,
    workdir: Path,
    log: Callable[[str], None],
    *,
    first: bool,
    keep: bool = False,
) -> list[dict[str, Any]]:
    """Run ``steps`` at one scale in ``workdir/<scale>x``; one row per measured stage.

    A fixed-cost stage runs at the ``first`` (smallest) scale only: its outputs are kept in
    ``workdir/fixed-cost`` and copied into the later scales' folders, as are the stand-in judges.
    """
    d, fixed = workdir / f"{scale}x", workdir / "fixed-cost"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (d / "params_smote.yaml").write_text(yaml.safe_dump({**params, **SMOTE_PARAMS}, sort_keys=False))
    rows: list[dict[str, Any]] = []
    failed = None
    for step in steps:
        if failed:
            if step.measured:
                rows.append(
                    {"stage": step.name, "scale": scale, "finished": False, "skipped": f"{failed} failed"}
                )
            continue
        if STAGES[step.name].fixed_cost and not first:
            copy_outputs(step.outs, fixed, d)
            log(f"{scale}x {step.name}: fixed cost, measured at the smallest scale; its outputs reused")
            continue
        if step.name == "evaluate_transfer" and not (d / "models" / "judge.pt").exists():
            if not (fixed / "models" / "judge.pt").exists():
                write_stand_in_judges(fixed / "models")
            copy_outputs(["models/judge.pt", "models/judge_vgg19.pt"], fixed, d)
        log_file = workdir / "logs" / f"{scale}x" / f"{step.name}.log"
        row = {"scale": scale, **measure_stage(step, d, params, log_file)}
        if not row["finished"]:
            failed = step.name
            log(f"{scale}x {step.name}: FAILED (exit {row['returncode']}, see {log_file})")
            rows.append(row)
            continue
        if STAGES[step.name].fixed_cost:
            copy_outputs(step.outs, d, fixed)
        if step.measured:
            rows.append(row)
        log(
            f"{scale}x {step.name}: {row['images']:,} images, {row['seconds']:.1f} s, peak "
            f"{row['peak_rss_mb']:.0f} MB" + ("" if step.measured else " (an input only, not reported)")
        )
    if not keep:
        shutil.rmtree(d)
    return rows


def growth(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per stage, its largest finished scale against its smallest (see the module docstring)."""
    out: dict[str, dict[str, Any]] = {}
    for stage in dict.fromkeys(r["stage"] for r in rows):
        done = sorted(
            (r for r in rows if r["stage"] == stage and r.get("finished")), key=lambda r: r["scale"]
        )
        if len(done) < 2:
            out[stage] = {
                "from_scale": None,
                "to_scale": None,
                "fixed_cost": bool(done and done[0]["fixed_cost"]),
            }
            continue
        a, b = done[0], done[-1]

        def ratio(key: str) -> float | None:
            return b[key] / a[key] if a[key] and b[key] is not None else None

        def per_image(key: str) -> float | None:
            extra_images = b["images"] - a["images"]
            return (b[key] - a[key]) * MB / extra_images if extra_images else None

        out[stage] = {
            "from_scale": a["scale"],
            "to_scale": b["scale"],
            "fixed_cost": a.get("fixed_cost", False),
            "seconds_per_image_ratio": ratio("seconds_per_image"),
            "peak_rss_ratio": ratio("peak_rss_mb"),
            "peak_private_ratio": ratio("peak_private_mb"),
            "rss_bytes_per_image": per_image("peak_rss_mb"),
            "private_bytes_per_image": per_image("peak_private_mb"),
        }
    return out


def machine() -> dict[str, Any]:
    """CPU count and model (``/proc/cpuinfo``), RAM, torch and Python versions, the date (UTC) and
    the load the machine had when the run started."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": psutil.virtual_memory().total / 2**30,
        "torch": metadata.version("torch"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_1min_at_start": os.getloadavg()[0],  # other work on the machine slows every figure
    }


def bench_scale(
    repo: Path,
    raw_params: dict[str, Any],
    scales: Sequence[int] = DEFAULT_SCALES,
    *,
    stages: Sequence[str] | None = None,
    workdir: Path,
    tiny: bool = False,
    keep: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every scale, smallest first (see the module docstring); the results, ready to be written."""
    repo, workdir = Path(repo).resolve(), Path(workdir).resolve()
    scales = sorted(set(scales))
    plan(repo, scale_params(raw_params, 1, tiny=tiny), stages)  # a bad --stages fails before any work
    if (workdir / "fixed-cost").exists():
        shutil.rmtree(workdir / "fixed-cost")
    workdir.mkdir(parents=True, exist_ok=True)
    start, host = time.perf_counter(), machine()
    rows: list[dict[str, Any]] = []
    for i, scale in enumerate(scales):
        p = scale_params(raw_params, scale, tiny=tiny)
        rows += measure_scale(plan(repo, p, stages), p, scale, workdir, log, first=i == 0, keep=keep)
        spent = time.perf_counter() - start
        # Cost grows about linearly with the scale: the smallest scale's time, times the rest's multiples.
        left = spent / sum(scales[: i + 1]) * sum(scales[i + 1 :])
        log(f"{scale}x done: {spent:.0f} s in all" + (f"; about {left:.0f} s to go" if left else ""))
    base = scale_params(raw_params, 1, tiny=tiny)
    return {
        "ok": all(r.get("finished") for r in rows),
        "scales": scales,
        "base_train_images": base["synthesize"]["train_images"],
        "base_test_images": base["synthesize"]["test_images"],
        "image_size": base["data"]["image_size"],
        "tiny": tiny,
        "budget": {
            **{section: {key: base[section][key] for key in keys} for section, keys in SHORT_BUDGET.items()},
            "classifier": {
                key: base["classifier"][key] for key in (*SHORT_BUDGET["classifier"], *CLASSIFIER)
            },
            "real_styles": base["evaluate_transfer"]["real_styles"],
            SMOTE_STAGE: SMOTE_PARAMS,
            "judges": "trained by train_judge"
            if stages and "train_judge" in stages
            else "stand-ins (untrained)",
        },
        "sample_seconds": SAMPLE_SECONDS,
        "machine": host,
        "seconds_total": time.perf_counter() - start,
        "rows": rows,
        "growth": growth(rows),
    }


# ---------------------------------------------------------------------------------------------
# Report: Markdown tables and the plot
# ---------------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table_lines(r: dict[str, Any]) -> list[str]:
    """The rows as a Markdown table, then each stage's growth from its smallest to its largest scale."""
    m = r["machine"]
    lines = [
        f"{m['cpu_count']} x {m['cpu_model']}, {m['ram_gb']:.0f} GB RAM, torch {m['torch']}, "
        f"{m['measured_at']}; 1x = {r['base_train_images']:,} train + {r['base_test_images']:,} test "
        f"images at {r['image_size']} px",
        "",
        "| stage | scale | images | seconds | ms / image | peak RSS MB | peak private MB | images counted |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        if not row.get("finished"):
            lines.append(f"| `{row['stage']}` | {row['scale']}x | failed | | | | | |")
            continue
        ms = None if row["seconds_per_image"] is None else 1000 * row["seconds_per_image"]
        lines.append(
            f"| `{row['stage']}` | {row['scale']}x | {row['images']:,} | {row['seconds']:.1f} | {_fmt(ms, '.2f')} "
            f"| {row['peak_rss_mb']:.0f} | {row['peak_private_mb']:.0f} | {row['per']}"
            f"{' (fixed cost)' if row['fixed_cost'] else ''} |"
        )
    lines += [
        "",
        "| stage | scales | time / image ratio | peak RSS ratio | peak private ratio | RSS growth, bytes / image | private growth, bytes / image |",
        "|---|---|---|---|---|---|---|",
    ]
    for stage, g in r["growth"].items():
        if g["from_scale"] is None:
            why = "fixed cost: measured at one scale" if g["fixed_cost"] else "fewer than 2 finished"
            lines.append(f"| `{stage}` | {why} | | | | | |")
            continue
        lines.append(
            f"| `{stage}` | {g['to_scale']}x / {g['from_scale']}x | {_fmt(g['seconds_per_image_ratio'], '.2f')}"
            f"{' (fixed cost)' if g['fixed_cost'] else ''} | {_fmt(g['peak_rss_ratio'], '.2f')} | "
            f"{_fmt(g['peak_private_ratio'], '.2f')} | {_fmt(g['rss_bytes_per_image'], ',.0f')} | "
            f"{_fmt(g['private_bytes_per_image'], ',.0f')} |"
        )
    return lines


def scale_figure(r: dict[str, Any]):
    """Three panels against the images a stage processed (log x): ms per image (log y), peak
    resident memory and peak private memory (MB, without the file pages the kernel may drop); a
    line per stage."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(18, 5))
    colours = plt.get_cmap("tab20").colors
    for i, stage in enumerate(dict.fromkeys(row["stage"] for row in r["rows"])):
        done = sorted(
            (x for x in r["rows"] if x["stage"] == stage and x.get("finished")), key=lambda x: x["scale"]
        )
        if not done:
            continue
        images = [x["images"] for x in done]
        style = {"color": colours[i % len(colours)], "marker": "o", "label": stage}
        if done[0]["fixed_cost"]:
            style.update(linestyle="--", label=f"{stage} (fixed cost)")
        left.plot(images, [1000 * x["seconds_per_image"] for x in done], **style)
        middle.plot(images, [x["peak_rss_mb"] for x in done], **style)
        right.plot(images, [x["peak_private_mb"] for x in done], **style)
    m = r["machine"]
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    left.set_yscale("log")  # stages differ by orders of magnitude per image; memory is read in MB
    for ax, ylabel in (
        (left, "ms per image"),
        (middle, "MB, the stage's processes summed"),
        (right, "MB, the stage's processes summed"),
    ):
        ax.set_xscale("log")
        ax.set_xlabel("images the stage processes")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
    left.set_title("time per image")
    middle.set_title("peak resident memory (file pages included)")
    right.set_title("peak private memory (rss - shared)")
    right.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(
        f"Stage cost at {', '.join(f'{s}x' for s in r['scales'])} the default data: "
        f"{m['cpu_count']} x {m['cpu_model']}, torch {m['torch']}, {m['measured_at'][:10]}"
    )
    return fig
