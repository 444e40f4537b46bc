"""Compact tables of the headline metrics, for a terminal of 120 columns (`make exp`, `make metrics`).

    python tools/exp_table.py exp [-- <dvc exp show options: -A, -n 3, --rev ...>]
    python tools/exp_table.py metrics

``exp`` reads ``dvc exp show --json`` and prints one row per number and one column per experiment
(workspace, the baseline commit, each experiment): first the params that differ between the
experiments shown, then every metrics file's headline keys (src/artstyle/headline.py). DVC's own
table has one column per key and per param, far too many for any terminal even with the metrics
files reduced to their headline keys; turned on its side the table grows down instead, and
experiments that do not fit the width go into a further block of columns below.

``metrics`` reads ``dvc metrics show --json`` and prints ``file  key  value``, one line per number
of the workspace's DVC metrics files (``dvc metrics show`` is one column per key as well).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from artstyle.headline import HEADLINE  # noqa: E402

GAP = "  "
MISSING = "-"


def fmt(value) -> str:
    """Integers as they are, floats to four significant digits (no exponent), absent as ``-``."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "nan"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def _values(section) -> dict:
    """``{"data": {...}}`` (DVC's JSON) or ``{}`` for an error or a missing file."""
    return section.get("data", {}) if isinstance(section, dict) else {}


def _flatten(obj: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def experiments(show: list[dict]) -> list[dict]:
    """``[{"name", "params": {dotted key: value}, "metrics": {file: {key: value}}}]`` in DVC's order:
    the workspace, then each baseline commit followed by its experiments."""
    rows = []

    def add(node: dict, baseline: bool) -> None:
        data = node.get("data") or {}
        rev = node.get("rev") or data.get("rev") or "?"
        name = node.get("name") or (rev if rev == "workspace" else rev[:7])
        params = {}
        for path, section in (data.get("params") or {}).items():
            flat = _flatten(_values(section))
            params.update(flat if path == "params.yaml" else {f"{path}:{k}": v for k, v in flat.items()})
        metrics = {path: _values(section) for path, section in (data.get("metrics") or {}).items()}
        rows.append({"name": name, "params": params, "metrics": metrics, "baseline": baseline})

    for top in show:
        add(top, True)
        for exp in top.get("experiments") or []:
            for rev in (exp.get("revs") or [])[:1]:  # a checkpoint-less experiment has one rev
                add(rev, False)
    return rows


def table_rows(exps: list[dict]) -> list[tuple[str, str, list[str]]]:
    """``(group, label, one cell per experiment)``: differing params, then the headline metrics."""
    rows = []
    keys = sorted({k for e in exps for k in e["params"]})
    for key in keys:
        values = [e["params"].get(key) for e in exps]
        if len({json.dumps(v, sort_keys=True) for v in values}) > 1:
            rows.append(("params", key, [fmt(v) for v in values]))
    for path, headline in HEADLINE.items():
        group = Path(path).stem
        for key in headline:
            values = [e["metrics"].get(path, {}).get(key) for e in exps]
            if any(v is not None for v in values):  # a declared key no run has written yet: no row
                rows.append((group, key, [fmt(v) for v in values]))
    return rows


def render(exps: list[dict], width: int) -> str:
    """The table, its experiment columns split into blocks that each fit ``width`` characters."""
    rows = table_rows(exps)
    names = [e["name"] for e in exps]
    group_w = max([len("Experiment"), *(len(g) for g, _, _ in rows)])
    label_w = max([0, *(len(label) for _, label, _ in rows)])
    cols = [
        max(len(n), *(len(cells[i]) for _, _, cells in rows)) if rows else len(n) for i, n in enumerate(names)
    ]
    head_w = group_w + len(GAP) + label_w
    blocks, current, used = [], [], head_w
    for i, w in enumerate(cols):
        if current and used + len(GAP) + w > width:
            blocks.append(current)
            current, used = [], head_w
        current.append(i)
        used += len(GAP) + w
    blocks.append(current)
    out = []
    for block in blocks:
        if out:
            out.append("")
        line = f"{'Experiment':<{group_w}}{GAP}{'':<{label_w}}" + "".join(
            f"{GAP}{names[i]:>{cols[i]}}" for i in block
        )
        out.append(line.rstrip())
        last = None
        for group, label, cells in rows:
            shown = group if group != last else ""
            last = group
            line = f"{shown:<{group_w}}{GAP}{label:<{label_w}}" + "".join(
                f"{GAP}{cells[i]:>{cols[i]}}" for i in block
            )
            out.append(line.rstrip())
    return "\n".join(out)


def metrics_listing(shown: dict) -> str:
    """``file  key  value`` of ``dvc metrics show --json`` (the workspace), one line per number."""
    files = {}
    for rev in shown.values():
        for path, section in _values(rev).items():
            files[path] = _flatten(_values(section))
        break  # `dvc metrics show` without -a/-T: the workspace only
    ordered = [p for p in HEADLINE if p in files] + [p for p in files if p not in HEADLINE]
    lines = [(p, k, fmt(v)) for p in ordered for k, v in files[p].items()]
    path_w = max([len("Path"), *(len(p) for p, _, _ in lines)])
    key_w = max([len("Metric"), *(len(k) for _, k, _ in lines)])
    out = [f"{'Path':<{path_w}}{GAP}{'Metric':<{key_w}}{GAP}Value"]
    out += [f"{p:<{path_w}}{GAP}{k:<{key_w}}{GAP}{v}" for p, k, v in lines]
    return "\n".join(out)


def _dvc_json(args: list[str]):
    proc = subprocess.run(["dvc", *args, "--json"], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("exp", help="headline metrics and differing params of `dvc exp show --json`")
    e.add_argument("--show-json", type=Path, help="read this saved `dvc exp show --json` output instead")
    e.add_argument("--width", type=int, help="columns (default: $COLUMNS, else 120)")
    e.add_argument("dvc_args", nargs="*", help="passed to `dvc exp show` (after --)")
    m = sub.add_parser("metrics", help="`dvc metrics show --json` as file / key / value lines")
    m.add_argument("--show-json", type=Path, help="read this saved `dvc metrics show --json` output instead")
    args = parser.parse_args(argv)
    if args.command == "exp":
        width = args.width or int(os.environ.get("COLUMNS") or 120)
        if args.show_json:
            show = json.loads(args.show_json.read_text(encoding="utf-8"))
        else:
            show = _dvc_json(["exp", "show", *args.dvc_args])
        print(render(experiments(show), width))
    else:
        if args.show_json:
            shown = json.loads(args.show_json.read_text(encoding="utf-8"))
        else:
            shown = _dvc_json(["metrics", "show"])
        print(metrics_listing(shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
