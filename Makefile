# Two commands: `make repro` (run the pipeline) and `make test` (run the tests).
# Both create .venv on first use. Every recipe line fails loudly: nothing here hides an error.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# dvc.yaml's stage commands call `python`: make it the venv's.
export PATH := $(BIN):$(PATH)
export MPLBACKEND ?= Agg

.PHONY: repro test install dev lint format dag exp metrics gpu-check scale clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -c requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -c requirements.lock -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

# Ends with the metrics that differ from the committed run (git HEAD): nothing listed means this
# machine reproduced every number; docs/reproducibility.md says what may differ across CPUs.
# Every metrics file of dvc.yaml but metrics/classifier_cost.json, the classifier's wall time,
# which differs on every run, plus the details files next to them and dvclive's summaries (committed
# JSON outputs: `dvc metrics diff` reads any JSON file). tests/test_stage_contract.py keeps this
# list in step with dvc.yaml.
REPRO_METRICS = metrics/index.json metrics/resample.json metrics/oversample.json metrics/classifier.json \
	metrics/autoencoder.json metrics/clusters.json metrics/embedder.json metrics/transfer.json \
	metrics/index_details.json metrics/resample_details.json metrics/oversample_details.json \
	metrics/classifier_details.json metrics/autoencoder_details.json metrics/clusters_details.json \
	metrics/embedder_details.json metrics/transfer_details.json \
	dvclive/classifier/metrics.json dvclive/autoencoder/metrics.json dvclive/transfer/metrics.json
repro: $(VENV)/.installed
	$(BIN)/dvc repro
	@echo "dvc metrics diff (this run vs the committed one; empty = identical):"
	@$(BIN)/dvc metrics diff --precision 4 --targets $(REPRO_METRICS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# The same checks as .pre-commit-config.yaml's hooks: lint rules, then formatting (`make format` fixes it).
LINT_PATHS = src stages tests tools
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/python tools/stage_deps.py --check

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

dag: $(VENV)/.installed
	$(BIN)/dvc dag

# Compare experiments in 120 columns: the params that differ, then every part's headline metrics
# (src/artstyle/headline.py), one column per experiment (docs/experiments.md). EXP_ARGS goes to
# `dvc exp show`, e.g. make exp EXP_ARGS="-A" or EXP_ARGS="-n 3".
EXP_ARGS ?=
exp: $(VENV)/.installed
	@$(BIN)/python tools/exp_table.py exp -- $(EXP_ARGS)

# The workspace's DVC metrics, one `file  key  value` line per number.
metrics: $(VENV)/.installed
	@$(BIN)/python tools/exp_table.py metrics

# On a CUDA machine: the tiny pipeline, bench train and bench stylize -> metrics/bench_gpu.json
# (docs/benchmarks.md, "GPU check"). Needs no venv: it uses python3 (or $$PYTHON), plus the wheels
# of build/wheelhouse (tools/make_wheelhouse.sh) where that Python lacks the project's packages.
gpu-check:
	tools/gpu_check.sh

# Each stage's wall time, time per image and peak memory at 1x, 2x, 4x and 8x the default data, every
# stage its own process (docs/benchmarks.md, "Scale"): about 40 minutes on 2 idle cores, scratch in
# build/bench-scale -> metrics/bench_scale.json, plots/bench_scale.png. SCALE_ARGS goes to the command,
# e.g. make scale SCALE_ARGS="--scales 1,2 --stages synthesize,index".
SCALE_ARGS ?=
scale: $(VENV)/.installed
	$(BIN)/python -m artstyle.bench scale $(SCALE_ARGS)

clean-venv:
	rm -rf $(VENV)
