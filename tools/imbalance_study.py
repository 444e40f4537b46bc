"""The imbalance study: every strategy over several seeds, as queued DVC experiments, and its report.

    python tools/imbalance_study.py queue              # queue strategy x seed experiments (evaluate_classifier)
    OMP_NUM_THREADS=1 dvc queue start -j 2             # run them, two at a time on 2 cores
    python tools/imbalance_study.py report             # read `dvc exp show --json`: table, plot, docs page

Each experiment is named ``<strategy>-s<seed>`` and runs only what ``evaluate_classifier`` needs
(resample, oversample, train_classifier, evaluate_classifier; a new ``seed`` also retrains the
autoencoder once per seed, which DVC's run cache then reuses across strategies). ``report`` reads
the metrics of every experiment so named from ``dvc exp show --json`` (nothing is typed by hand),
writes the per-seed values and the mean +- standard deviation to ``plots/imbalance_study.json``,
draws ``plots/imbalance_study.png`` with error bars, and rewrites the table between the
``imbalance-study`` markers of docs/imbalance.md (``--page`` for another file).

Every strategy but ``logit-adjustment`` and the combinations turns logit adjustment off (the
default turns it on), so each row changes one thing relative to ``plain``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43, 44)
# The study compares imbalance strategies on StyleNet from scratch, 8 epochs (the default classifier
# when it ran; the default is now a VGG19 probe): every experiment pins it, so the table stays reproducible.
STUDY_BASE = {
    "classifier.backbone": "stylenet",
    "classifier.freeze": "none",
    "classifier.epochs": "8",
    "classifier.warmup_epochs": "1",
}
OFF = {"classifier.logit_adjustment": "false"}
# name -> (-S overrides, what it is)
STRATEGIES: dict[str, tuple[dict[str, str], str]] = {
    "plain": (OFF, "no correction"),
    "sampling-mean": ({**OFF, "sampling": "mean"}, "random over/undersampling to the mean count"),
    "sampling-max": ({**OFF, "sampling": "max"}, "random oversampling to the largest count"),
    "sampling-min": ({**OFF, "sampling": "min"}, "random undersampling to the smallest count"),
    "sampling-0.25": ({**OFF, "sampling": "0.25"}, "every style at 25% of the largest count"),
    "sampling-100": ({**OFF, "sampling": "100"}, "every style at 100 images"),
    "fill-200": (
        {**OFF, "sampling": "200", "resample.fill_only": "true"},
        "random oversampling of every style below 200 to 200",
    ),
    "smote-200": (
        {**OFF, "sampling": "200", "resample.fill_only": "true", "sampling_method": "smote"},
        "pixel SMOTE filling every style below 200 (the course's best)",
    ),
    "smote-latent-200": (
        {**OFF, "sampling": "200", "resample.fill_only": "true", "sampling_method": "smote_latent"},
        "latent SMOTE (autoencoder), decoded, filling every style below 200",
    ),
    "class-weights": (
        {**OFF, "classifier.class_weights": "balanced"},
        "loss weights total / (classes x count)",
    ),
    "sampler": ({**OFF, "classifier.sampler": "weighted"}, "WeightedRandomSampler, inverse frequency"),
    "logit-adjustment": ({}, "logit adjustment, tau = 1 (the default)"),
    # Combinations, chosen after the single strategies had run (see docs/imbalance.md).
    "smote-200+la": (
        {"sampling": "200", "resample.fill_only": "true", "sampling_method": "smote"},
        "pixel SMOTE fill to 200, then logit adjustment for the remaining imbalance",
    ),
    "fill-200+la": (
        {"sampling": "200", "resample.fill_only": "true"},
        "random fill to 200, then logit adjustment for the remaining imbalance",
    ),
}
METRICS = ("balanced_accuracy", "macro_f1", "minority_recall", "accuracy")
COST = ("train_images_per_epoch", "train_seconds")
NAME = re.compile(r"^(?P<strategy>.+)-s(?P<seed>\d+)$")
# The SMOTE figures docs/imbalance.md shows, copied from the study's own runs (plots/oversampled.png of
# the default run shows no synthetic images, since the default is sampling_method: random).
EXAMPLE_PLOTS = {
    "smote-200-s42": "plots/oversampled_smote.png",
    "smote-latent-200-s42": "plots/oversampled_smote_latent.png",
}
PAGE = ROOT / "docs" / "imbalance.md"  # where the table goes, between these markers
BEGIN, END = "<!-- imbalance-study:begin -->", "<!-- imbalance-study:end -->"


def _is_baseline(overrides: dict[str, str], params: dict) -> bool:
    """True when every override equals params.yaml's value: the run would change nothing."""
    import yaml

    for key, value in overrides.items():
        node = params
        for part in key.split("."):
            node = node[part]
        if node != yaml.safe_load(value):
            return False
    return True


def queue_commands(strategies: list[str], seeds: list[int], params: dict | None = None) -> list[list[str]]:
    """``dvc exp run --queue`` commands, seed-major (each seed's autoencoder trains once, then the
    run cache serves it). The one run equal to params.yaml (the default at its own seed) gets
    ``-f``: DVC would otherwise find nothing to rerun and report the committed run's metrics and
    wall time, measured alone on the machine rather than beside another experiment."""
    if params is None:
        import yaml

        params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    cmds = []
    for seed in seeds:
        for name in strategies:
            overrides = {**STUDY_BASE, **STRATEGIES[name][0], "seed": str(seed)}
            sets = [arg for key, value in overrides.items() for arg in ("-S", f"{key}={value}")]
            force = ["-f"] if _is_baseline(overrides, params) else []
            cmds.append(
                [
                    "dvc",
                    "exp",
                    "run",
                    "--queue",
                    *force,
                    "evaluate_classifier",
                    "-n",
                    f"{name}-s{seed}",
                    *sets,
                ]
            )
    return cmds


def _values(section: dict) -> dict:
    """``{"data": {...}}`` (dvc exp show --json) or the bare values."""
    return section.get("data", section) if isinstance(section, dict) else {}


def experiments(show: list[dict]) -> dict[str, dict]:
    """``{experiment name: {"params": ..., "metrics": {file: values}}}`` from ``dvc exp show --json``."""
    found: dict[str, dict] = {}

    def visit(node: dict, state: str | None = None) -> None:
        data = node.get("data") or {}
        name = node.get("name") or data.get("name")
        # A queued or running experiment shows its baseline's metrics: only finished ones count.
        if name and NAME.match(name) and data.get("metrics") and state in (None, "success"):
            found[name] = {
                "rev": node.get("rev") or data.get("rev"),
                "params": _values(data.get("params", {}).get("params.yaml", {})),
                "metrics": {path: _values(m) for path, m in data["metrics"].items()},
            }
        for exp in node.get("experiments") or []:
            for rev in exp.get("revs") or []:
                visit(rev, (exp.get("executor") or {}).get("state"))

    for top in show:
        visit(top)
    return found


def collect(found: dict[str, dict]) -> dict[str, dict]:
    """Per strategy: per-seed metric and cost values, their means and standard deviations (ddof=1)."""
    rows: dict[str, dict] = {}
    for name, exp in sorted(found.items()):
        m = NAME.match(name)
        strategy, seed = m["strategy"], int(m["seed"])
        if strategy not in STRATEGIES:
            continue
        values = {
            **exp["metrics"].get("metrics/classifier.json", {}),
            **exp["metrics"].get("metrics/classifier_cost.json", {}),
        }
        if not all(k in values for k in METRICS + COST):
            continue
        rows.setdefault(strategy, {"seeds": {}})["seeds"][seed] = {k: values[k] for k in METRICS + COST}
    for strategy, row in rows.items():
        per_seed = list(row["seeds"].values())
        for key in METRICS + COST:
            v = np.array([s[key] for s in per_seed], dtype=float)
            row[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else float("nan")}
        row["n"] = len(per_seed)
        row["what"] = STRATEGIES[strategy][1]
    return dict(sorted(rows.items(), key=lambda kv: -kv[1]["balanced_accuracy"]["mean"]))


def beyond_spread(a: dict, b: dict) -> bool:
    """Means further apart than the two standard deviations added: the +-1 sd bars do not overlap."""
    return abs(a["mean"] - b["mean"]) > a["std"] + b["std"]


def markdown(rows: dict[str, dict], reference: str = "logit-adjustment") -> str:
    """The table; the last column compares balanced accuracy with ``reference`` (the default)."""
    head = (
        "| strategy | seeds | balanced accuracy | macro-F1 | minority recall | accuracy "
        f"| train images / epoch | train s | balanced acc. vs `{reference}` |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    ref = rows.get(reference)
    for name, r in rows.items():
        cells = [f"{r[k]['mean']:.3f} ± {r[k]['std']:.3f}" for k in METRICS]
        if ref is None or name == reference:
            versus = ""
        else:
            delta = r["balanced_accuracy"]["mean"] - ref["balanced_accuracy"]["mean"]
            verdict = (
                "beyond the spread"
                if beyond_spread(r["balanced_accuracy"], ref["balanced_accuracy"])
                else "within the spread"
            )
            versus = f"{delta:+.3f}, {verdict}"
        lines.append(
            f"| `{name}` | {r['n']} | "
            + " | ".join(cells)
            + f" | {r['train_images_per_epoch']['mean']:.0f} | {r['train_seconds']['mean']:.0f} ± "
            f"{r['train_seconds']['std']:.0f} | {versus} |"
        )
    return "\n".join(lines)


def figure(rows: dict[str, dict]):
    from matplotlib.figure import Figure

    names = list(rows)
    y = np.arange(len(names))
    fig = Figure(figsize=(15, 0.32 * len(names) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(METRICS) + 1, sharey=True)
    for ax, key in zip(axes, METRICS + ("train_seconds",)):
        mean = np.array([rows[n][key]["mean"] for n in names])
        std = np.array([rows[n][key]["std"] for n in names])
        ax.barh(
            y,
            mean,
            xerr=std,
            color="tab:blue" if key != "train_seconds" else "tab:gray",
            alpha=0.8,
            capsize=3,
            error_kw={"elinewidth": 1},
        )
        for n, seeds in enumerate(names):
            vals = [s[key] for s in rows[seeds]["seeds"].values()]
            ax.scatter(vals, [n] * len(vals), s=8, color="black", zorder=3)
        ax.set_title(
            key.replace("_", " ") + (" (wall, 8 epochs)" if key == "train_seconds" else ""), fontsize=9
        )
        if key != "train_seconds":
            # A collapsed run (e.g. sampling-min's 189 images) would squash every other bar to the
            # right edge: start the axis below the others and write the collapsed values out.
            keep = mean >= 0.3 if (mean >= 0.3).any() else np.ones_like(mean, dtype=bool)
            lo = max(0.0, float(np.nanmin(mean[keep] - np.nan_to_num(std[keep]))) - 0.05)
            ax.set_xlim(lo, 1.0)
            for n, m in enumerate(mean):
                if m < lo:
                    ax.text(lo + 0.005, n, f"{m:.2f} (off scale)", va="center", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    seeds = sorted({s for r in rows.values() for s in r["seeds"]})
    fig.suptitle(
        f"Imbalance strategies on the default data: mean ± standard deviation over seeds {seeds} "
        "(dots: single seeds; test split)",
        fontsize=10,
    )
    return fig


def update_page(page: Path, table: str) -> None:
    """Replace what lies between the imbalance-study markers of page with table."""
    text = page.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"error: {page}: no {BEGIN} ... {END} block to rewrite")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    page.write_text(f"{before}{BEGIN}\n{table}\n{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("queue", help="queue the strategy x seed experiments")
    q.add_argument(
        "--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES), metavar="NAME"
    )
    q.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    q.add_argument("--dry-run", action="store_true", help="print the commands only")
    r = sub.add_parser("report", help="table, plot and docs/imbalance.md block from `dvc exp show --json`")
    r.add_argument("--show-json", type=Path, help="read this saved `dvc exp show --json` output instead")
    r.add_argument(
        "--rev",
        default=None,
        help="the commit the experiments were queued on (default: search all commits, -A)",
    )
    r.add_argument(
        "--update",
        action="store_true",
        help="re-run rows: keep the strategies of --out that no experiment here measured (e.g. after "
        "a new autoencoder, only smote-latent-200 is re-run)",
    )
    r.add_argument("--out", type=Path, default=ROOT / "plots/imbalance_study.json")
    r.add_argument("--plot", type=Path, default=ROOT / "plots/imbalance_study.png")
    r.add_argument(
        "--page",
        "--readme",
        type=Path,
        default=PAGE,
        dest="page",
        help="the Markdown page whose imbalance-study block gets the table (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    if args.command == "queue":
        for cmd in queue_commands(args.strategies, args.seeds):
            print(" ".join(cmd))
            if not args.dry_run:
                subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        return 0

    if args.show_json:
        show = json.loads(args.show_json.read_text(encoding="utf-8"))
    else:
        # Experiments hang off the commit they were queued on, which later commits leave behind.
        where = ["--rev", args.rev] if args.rev else ["--all-commits"]
        show = json.loads(
            subprocess.run(
                ["dvc", "exp", "show", "--json", *where], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout
        )
    found = experiments(show)
    rows = collect(found)
    if not rows:
        print("error: no finished experiments named <strategy>-s<seed> in `dvc exp show`", file=sys.stderr)
        return 2
    if args.update and args.out.is_file():
        kept = json.loads(args.out.read_text(encoding="utf-8"))
        for row in kept.values():  # JSON keys are strings; collect's seeds are ints
            row["seeds"] = {int(seed): v for seed, v in row["seeds"].items()}
        merged = {**{k: v for k, v in kept.items() if k not in rows}, **rows}
        rows = dict(sorted(merged.items(), key=lambda kv: -kv[1]["balanced_accuracy"]["mean"]))
    sys.path.insert(0, str(ROOT / "src"))
    from artstyle.fileio import save_figure, write_json

    write_json(args.out, rows)
    save_figure(args.plot, figure(rows))
    for name, path in EXAMPLE_PLOTS.items():
        if name in found and found[name]["rev"] and not args.show_json:
            png = subprocess.run(
                ["git", "show", f"{found[name]['rev']}:plots/oversampled.png"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout
            (ROOT / path).write_bytes(png)
            print(f"{path} <- {name} ({found[name]['rev'][:7]}):plots/oversampled.png")
    table = markdown(rows)
    update_page(args.page, table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
