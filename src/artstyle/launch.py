"""Run a stage script on N processes: ``python -m artstyle.launch --nproc N -- SCRIPT [ARGS...]``.

dvc.yaml cannot branch, so the training stages always go through this launcher with
``--nproc ${<section>.nproc}``:

- N > 1: ``torchrun --standalone --nproc_per_node N SCRIPT ARGS`` (``torch.distributed.run``,
  single node, a local rendezvous on a free port); the script's ranks find each other through the
  environment torchrun sets (see :mod:`artstyle.distributed`).
- N == 1: ``python SCRIPT ARGS`` with no torchrun and no process group, exactly the plain run.

The launcher replaces itself with that command (``os.execv``): no wrapper process stays between
DVC and the job, so signals reach it directly and its exit status is the stage's.
"""

from __future__ import annotations

import argparse
import os
import sys

USAGE = "python -m artstyle.launch --nproc N -- SCRIPT [ARGS...]"


def command(nproc: int, script_and_args: list[str]) -> list[str]:
    """The command line that runs ``script_and_args`` on ``nproc`` processes."""
    if nproc == 1:
        return [sys.executable, *script_and_args]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        *script_and_args,
    ]


def parse(argv: list[str]) -> tuple[int, list[str]]:
    """``(nproc, [script, *args])`` from the launcher's arguments; exits with usage on a mistake.

    Everything after ``--`` belongs to the script, so its own options never reach this parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m artstyle.launch",
        usage=USAGE,
        description="Run a stage script on N processes (through torchrun when N > 1).",
    )
    parser.add_argument(
        "--nproc", type=int, required=True, help="processes; 1 runs the script without torchrun"
    )
    if "--" not in argv:
        parser.error("separate the script from the launcher's options with --")
    split = argv.index("--")
    ns = parser.parse_args(argv[:split])
    script_and_args = argv[split + 1 :]
    if ns.nproc < 1:
        parser.error(f"--nproc must be at least 1, got {ns.nproc}")
    if not script_and_args:
        parser.error("no script after --")
    return ns.nproc, script_and_args


def main(argv: list[str] | None = None) -> None:
    nproc, script_and_args = parse(sys.argv[1:] if argv is None else argv)
    cmd = command(nproc, script_and_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
