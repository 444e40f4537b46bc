"""Resampling strategies, the stratified val split and the resample stage."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from artstyle.data.manifests import read_manifest
from artstyle.data.resample import (
    build_manifests,
    resample,
    stratified_split,
    target_counts,
    val_count,
)
from artstyle.data.store import INDEX_COLUMNS
from artstyle.fileio import read_json
from artstyle.headline import read_metrics
from artstyle.params import load_params
from artstyle.styles import LABEL_OF, NUM_CLASSES, STYLES

REPO = Path(__file__).resolve().parents[1]

# Classes 0, 1, 2 and 5 present (10, 3, 1, 6 images); every other class absent.
COUNTS = {0: 10, 1: 3, 2: 1, 5: 6}


def _labels(counts: dict[int, int] = COUNTS, seed: int = 0) -> np.ndarray:
    labels = np.concatenate([np.full(n, c) for c, n in counts.items()])
    return np.random.default_rng(seed).permutation(labels)


def _counts(labels: np.ndarray) -> np.ndarray:
    return np.bincount(labels, minlength=NUM_CLASSES)


def _expected(per_present: int | None) -> np.ndarray:
    out = np.zeros(NUM_CLASSES, dtype=np.int64)
    for c, n in COUNTS.items():
        out[c] = n if per_present is None else per_present
    return out


@pytest.mark.parametrize(
    "spec, per_present",
    [
        ("none", None),
        ("mean", 5),  # (10 + 3 + 1 + 6) / 4 = 5.0: absent classes do not drag the mean down
        ("max", 10),
        ("min", 1),
        (0.5, 5),  # half of the largest class
        (0.25, 3),  # 2.5 rounds half up
        (0.01, 1),  # 0.1 would round to 0: at least 1
        (4, 4),
        (25, 25),
    ],
)
def test_target_counts_and_resample_exact(spec, per_present):
    expected = _expected(per_present)
    labels = _labels()
    np.testing.assert_array_equal(target_counts(_counts(labels), spec), expected)
    idx = resample(labels, spec, np.random.default_rng(1))
    np.testing.assert_array_equal(_counts(labels[idx]), expected)
    assert np.all(np.diff(idx) >= 0), "indices are sorted"


def test_mean_rounds_half_up():
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    counts[[0, 1]] = [2, 3]  # mean 2.5
    assert target_counts(counts, "mean")[0] == 3
    counts[[0, 1]] = [2, 2]
    counts[2] = 3  # mean 2.33
    assert target_counts(counts, "mean")[0] == 2


def test_none_is_identity_without_rng():
    labels = _labels()
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    np.testing.assert_array_equal(resample(labels, "none", rng), np.arange(len(labels)))
    assert rng.bit_generator.state == state


def test_empty_split_does_not_crash():
    empty = np.zeros(0, dtype=np.int64)
    for spec in ("none", "mean", "max", "min", 0.5, 7):
        assert len(resample(empty, spec, np.random.default_rng(0))) == 0
    assert target_counts(np.zeros(NUM_CLASSES), "mean").sum() == 0


@pytest.mark.parametrize("spec", ["max", 25, 7])
def test_oversampling_is_round_robin(spec):
    labels = _labels()
    idx = resample(labels, spec, np.random.default_rng(5))
    times = np.bincount(idx, minlength=len(labels))
    targets = target_counts(_counts(labels), spec)
    for c in COUNTS:
        members = np.flatnonzero(labels == c)
        assert times[members].sum() == targets[c]
        assert times[members].max() - times[members].min() <= 1, c
        if targets[c] >= len(members):
            assert times[members].min() >= 1, "oversampling keeps every original image"


def test_undersampling_draws_without_repeats_and_at_random():
    labels = _labels({0: 50, 1: 40})
    picks = [resample(labels, "min", np.random.default_rng(s)) for s in range(4)]
    for idx in picks:
        assert len(np.unique(idx)) == len(idx) == 80
    kept_of_0 = {tuple(idx[labels[idx] == 0]) for idx in picks}
    assert len(kept_of_0) > 1, "different seeds drop different images"


def test_resample_deterministic_for_seed():
    labels = _labels()
    a = resample(labels, 0.8, np.random.default_rng(11))
    b = resample(labels, 0.8, np.random.default_rng(11))
    c = resample(labels, 0.8, np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "count, fraction, expected",
    [
        (0, 0.1, 0),
        (1, 0.5, 0),
        (2, 0.1, 1),
        (2, 0.9, 1),
        (10, 0.1, 1),
        (15, 0.1, 2),
        (100, 0.1, 10),
        (50, 0.29, 15),  # 0.29 * 50 == 14.499999999999998 in floating point
    ],
)
def test_val_count_rounding(count, fraction, expected):
    assert val_count(count, fraction) == expected


def test_stratified_split_is_stratified_disjoint_and_deterministic():
    labels = _labels({0: 100, 1: 20, 2: 2, 3: 1, 4: 15})
    train, val = stratified_split(labels, 0.1, np.random.default_rng(0))
    assert len(np.intersect1d(train, val)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(labels)))
    val_counts = _counts(labels[val])
    assert val_counts[[0, 1, 2, 3, 4]].tolist() == [10, 2, 1, 0, 2]
    assert _counts(labels[train])[3] == 1, "a single-image class stays in train"
    _, val2 = stratified_split(labels, 0.1, np.random.default_rng(0))
    np.testing.assert_array_equal(val, val2)
    _, val3 = stratified_split(labels, 0.1, np.random.default_rng(1))
    assert not np.array_equal(val, val3)


# ----------------------------------------------------------------------------------------------
# build_manifests and the stage, on a tiny fake store
# ----------------------------------------------------------------------------------------------

TRAIN = {"Impressionism": 30, "Realism": 12, "Action_painting": 3, "Pointillism": 1}
TEST = {"Impressionism": 8, "Realism": 3, "Action_painting": 1}  # Pointillism absent from test


def make_store(root: Path, train: dict[str, int] = TRAIN, test: dict[str, int] = TEST, size: int = 4) -> Path:
    """images.npy + index.csv, row order sorted by split, style, relpath like the real store."""
    store = root / "store"
    store.mkdir(parents=True)
    rows = [
        (f"{split}/{style}/{j:03d}.png", split, style)
        for split, counts in sorted({"train": train, "test": test}.items())
        for style in sorted(counts)
        for j in range(counts[style])
    ]
    rng = np.random.default_rng(0)
    np.save(store / "images.npy", rng.integers(0, 256, (len(rows), size, size, 3), dtype=np.uint8))
    with open(store / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(INDEX_COLUMNS)
        for i, (relpath, split, style) in enumerate(rows):
            w.writerow([i, relpath, split, style, LABEL_OF[style], size, size, f"{i:040x}"])
    return store


def make_params(tmp_path: Path, **overrides) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw.update(overrides)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_build_manifests_val_never_trained_on(tmp_path):
    store = make_store(tmp_path)
    params = load_params(make_params(tmp_path, sampling="max", test_sampling="none"))
    summary = build_manifests(store, tmp_path / "splits", tmp_path / "manifests", params)
    train_rows, train_labels = read_manifest(tmp_path / "manifests" / "train.csv")
    val_rows, val_labels = read_manifest(tmp_path / "splits" / "val.csv")
    test_rows, _ = read_manifest(tmp_path / "manifests" / "test.csv")
    base_rows, _ = read_manifest(tmp_path / "splits" / "train.csv")
    assert sorted(p.name for p in (tmp_path / "manifests").iterdir()) == ["test.csv", "train.csv"]
    # the un-resampled split: every train image once, the resampled manifest draws only from it
    assert len(base_rows) == len(set(base_rows.tolist())) == summary["train_total_before"]
    assert set(train_rows.tolist()) <= set(base_rows.tolist())
    assert not set(val_rows.tolist()) & set(train_rows.tolist())
    assert not set(test_rows.tolist()) & (set(train_rows.tolist()) | set(val_rows.tolist()))
    # val: 10% rounded, at least 1 for >= 2 images, none for the single Pointillism image.
    assert summary["val"]["Impressionism"] == 3 and summary["val"]["Realism"] == 1
    assert summary["val"]["Action_painting"] == 1 and summary["val"]["Pointillism"] == 0
    # "max" over the train part (27 Impressionism after the val split).
    after = summary["train_after"]
    assert {s: after[s] for s in TRAIN} == {s: 27 for s in TRAIN}
    assert sum(after.values()) == summary["train_total_after"] == len(train_rows) == 4 * 27
    assert summary["train_total_before"] + summary["val_total"] == sum(TRAIN.values())
    assert summary["test_after"] == summary["test_before"] and summary["test_after"]["Pointillism"] == 0
    # labels in manifests agree with the store's labels
    with open(store / "index.csv", newline="", encoding="utf-8") as f:
        index = {int(r["row"]): int(r["label"]) for r in csv.DictReader(f)}
    assert all(index[r] == lab for r, lab in zip(train_rows.tolist(), train_labels.tolist()))
    assert all(index[r] == lab for r, lab in zip(val_rows.tolist(), val_labels.tolist()))


def test_val_split_does_not_depend_on_sampling(tmp_path):
    store = make_store(tmp_path)
    vals = []
    for i, spec in enumerate(["none", "mean", 0.5]):
        params = load_params(make_params(tmp_path, sampling=spec))
        build_manifests(store, tmp_path / f"s{i}", tmp_path / f"m{i}", params)
        vals.append(
            {name: (tmp_path / f"s{i}" / name).read_bytes() for name in ("train.csv", "val.csv", "test.csv")}
        )
    # the splits everything but the classifier reads are byte-identical whatever the sampling
    assert vals[0] == vals[1] == vals[2]


def load_stage(name: str = "resample"):
    """The stage script ``stages/<name>.py`` as a module (its Typer ``app``)."""
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_writes_manifests_metrics_and_plot(tmp_path):
    store = make_store(tmp_path)
    params = make_params(tmp_path, sampling="mean", test_sampling=5)
    out, splits, metrics, counts, plot = (
        tmp_path / "data" / "manifests",
        tmp_path / "data" / "splits",
        tmp_path / "metrics" / "r.json",
        tmp_path / "metrics" / "r_per_style.json",
        tmp_path / "plots" / "c.png",
    )
    out.mkdir(parents=True)
    (out / "stale.csv").write_text("row,label\n")  # the old set is replaced whole
    args = [
        "--store",
        str(store),
        "--splits",
        str(splits),
        "--out",
        str(out),
        "--metrics",
        str(metrics),
        "--counts",
        str(counts),
        "--plot",
        str(plot),
    ]
    result = CliRunner().invoke(load_stage().app, args + ["--params", str(params)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["test.csv", "train.csv"]
    assert sorted(p.name for p in splits.iterdir()) == ["test.csv", "train.csv", "val.csv"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["manifests", "splits"], "no temporary dirs left"
    totals = read_json(metrics)
    # dvc metrics: scalar totals only; the per-style breakdowns live in the counts file
    assert all(isinstance(v, int) for v in totals.values()) and "train_total_after" in totals
    m = {**read_metrics(metrics), **read_json(counts)}  # headline, details, per-style counts
    for key in ("train_before", "train_after", "val", "test_before", "test_after"):
        assert list(m[key]) == list(STYLES)
    # train part: Impressionism 27, Realism 11, Action_painting 2, Pointillism 1 -> mean 41/4 = 10.25 -> 10
    assert {s: m["train_after"][s] for s in TRAIN} == {s: 10 for s in TRAIN}
    assert m["test_after"] == {s: (5 if s in TEST else 0) for s in STYLES}
    assert m["test_total_after"] == 15 and m["test_total_before"] == sum(TEST.values())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # same seed, same manifests
    first = (out / "train.csv").read_text()
    assert CliRunner().invoke(load_stage().app, args + ["--params", str(params)]).exit_code == 0
    assert (out / "train.csv").read_text() == first


def test_stage_failure_keeps_previous_manifests(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    params = load_params(make_params(tmp_path))
    out, splits = tmp_path / "manifests", tmp_path / "splits"
    build_manifests(store, splits, out, params)
    before = {p.name: p.read_text() for p in out.iterdir()}

    import artstyle.data.resample as mod

    calls = []

    def failing_write(path, rows, labels):
        calls.append(path)
        if len(calls) == 5:  # the second file of the classifier's manifests
            raise OSError("disk full")
        Path(path).write_text("partial")

    monkeypatch.setattr(mod, "write_manifest", failing_write)
    with pytest.raises(OSError):
        build_manifests(store, splits, out, params)
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifests", "params.yaml", "splits", "store"]
