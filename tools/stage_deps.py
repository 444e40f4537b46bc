"""The code each DVC stage runs, by import closure, against the deps dvc.yaml lists for it.

A stage's result can only change when a file it imports changes, so its deps must list exactly the
files of ``src/`` in its import closure (a folder counts for every file under it): a missing file
makes DVC call a stale output up to date, an extra one reruns a stage for an edit it cannot see.

The closure is static (``ast``): every ``import`` / ``from ... import`` of an ``artstyle`` module
anywhere in a file, function-local imports included, followed transitively from the stage script
and from any ``python -m artstyle.<module>`` in the stage's command. Importing ``artstyle.a.b``
also runs ``artstyle/__init__.py`` and ``artstyle/a/__init__.py``; an ``__init__.py`` that holds
only a docstring and constant assignments (``__version__``) cannot change a result and is left out.

    python tools/stage_deps.py            # print each stage's closure as dvc.yaml deps lines
    python tools/stage_deps.py --check    # exit 1 and list the differences if dvc.yaml is off
    python tools/stage_deps.py --write    # rewrite the code deps of every stage in dvc.yaml
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "artstyle"


def module_file(module: str) -> Path | None:
    """The file of ``artstyle.x.y`` under src/ (a module or a package's ``__init__.py``), or None."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_inert(init: Path) -> bool:
    """An ``__init__.py`` of only a docstring and constant assignments."""
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            continue
        return False
    return True


def _imported_modules(path: Path) -> set[str]:
    """``artstyle`` modules a file imports (each parent package included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from artstyle.a import b`: b may be a submodule or a name defined in artstyle.a.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] != PACKAGE:
                continue
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in found if module_file(m) is not None}


def closure(entry_points: list[Path]) -> set[Path]:
    """Files under src/ that running ``entry_points`` can execute (see the module doc)."""
    seen: set[Path] = {p for p in entry_points if p.is_relative_to(SRC)}
    todo = list(entry_points)
    while todo:
        path = todo.pop()
        for module in _imported_modules(path):
            file = module_file(module)
            if file is not None and file not in seen:
                seen.add(file)
                todo.append(file)
    return {f for f in seen if not (f.name == "__init__.py" and _is_inert(f))}


def stage_entry_points(cmd: str) -> list[Path]:
    """The stage script(s) and ``-m artstyle.<module>`` modules a dvc.yaml command runs."""
    points = [ROOT / m for m in re.findall(r"(stages/\w+\.py)", cmd)]
    points += [module_file(m) for m in re.findall(r"-m\s+(artstyle(?:\.\w+)*)", cmd)]
    return [p for p in points if p is not None]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def listed_sources(deps: list[str]) -> set[Path]:
    """The src/ files a stage's deps cover (folders expanded to every .py file under them)."""
    files: set[Path] = set()
    for dep in deps:
        path = ROOT / dep
        if not dep.startswith("src/"):
            continue
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    return files


def load_stages(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, dict]:
    return yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]


def differences(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, tuple[list[str], list[str]]]:
    """``{stage: (missing, extra)}`` for every stage whose src deps differ from its closure."""
    out = {}
    for name, stage in load_stages(dvc_yaml).items():
        needed = closure(stage_entry_points(stage["cmd"]))
        listed = listed_sources([d for d in stage.get("deps", []) if isinstance(d, str)])
        # A listed folder may hold files the stage does not import (e.g. synthetic/): allowed when
        # the folder is the stage's own (every file in it is reachable or an inert __init__).
        missing = sorted(_rel(p) for p in needed - listed)
        extra = sorted(_rel(p) for p in listed - needed if not (p.name == "__init__.py" and _is_inert(p)))
        if missing or extra:
            out[name] = (missing, extra)
    return out


def code_deps(cmd: str) -> list[str]:
    """The deps lines for a stage's code: its scripts, then its closure (a folder where all of it is used)."""
    points = stage_entry_points(cmd)
    files = closure(points)
    lines = [_rel(p) for p in points if not p.is_relative_to(SRC)]
    folders = set()
    for folder in sorted({f.parent for f in files}):
        members = {p for p in folder.rglob("*.py") if not (p.name == "__init__.py" and _is_inert(p))}
        if folder != SRC / PACKAGE and members <= files:
            folders.add(folder)
    covered = {f for f in files if any(f.is_relative_to(d) for d in folders)}
    lines += sorted([_rel(d) for d in folders] + [_rel(f) for f in files - covered])
    return lines


def write(dvc_yaml: Path = ROOT / "dvc.yaml") -> None:
    """Replace the code deps (``stages/``, ``src/``) of every stage in dvc.yaml, keeping its layout."""
    stages = load_stages(dvc_yaml)
    out, stage, in_deps = [], None, False
    for line in dvc_yaml.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^  (\w+):\s*$", line)
        if m and m.group(1) in stages:
            stage = m.group(1)
        if re.match(r"^    deps:\s*$", line) and stage:
            out.append(line)
            out += [f"      - {dep}" for dep in code_deps(stages[stage]["cmd"])]
            in_deps = True
            continue
        if in_deps:
            item = re.match(r"^      - (\S+)\s*$", line)
            if item:
                if not item.group(1).startswith(("src/", "stages/")):
                    out.append(line)
                continue
            in_deps = False
        out.append(line)
    dvc_yaml.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if "--write" in argv:
        write()
        return 0
    if "--check" in argv:
        diff = differences()
        for name, (missing, extra) in diff.items():
            for path in missing:
                print(f"{name}: missing dep {path}")
            for path in extra:
                print(f"{name}: dep {path} is not imported by the stage")
        return 1 if diff else 0
    for name, stage in load_stages().items():
        print(f"{name}:")
        for path in sorted(_rel(p) for p in closure(stage_entry_points(stage["cmd"]))):
            print(f"      - {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
