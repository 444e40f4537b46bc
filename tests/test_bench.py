"""`python -m artstyle.bench`: every subcommand on tiny stores and models (figures checked for sanity, not speed)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import TINY_OVERRIDES, tiny_params
from PIL import Image, ImageOps
from typer.testing import CliRunner

from artstyle import runtime
from artstyle.bench.cli import app
from artstyle.bench.common import median_rates
from artstyle.bench.data import PilFolderDataset, bench_data
from artstyle.bench.index import ORIENTATIONS, bench_index, exif_orientation, real_size_painting
from artstyle.bench.scaling import bench_scaling, linearity
from artstyle.bench.stylize import bench_stylize, latency_ms
from artstyle.bench.train import TrainBench, bench_train, subset_tree
from artstyle.checkpoint import save_checkpoint
from artstyle.data.dataset import StoreDataset
from artstyle.data.decode import decode_bytes
from artstyle.data.index import build_store
from artstyle.data.manifests import read_manifest, write_manifest
from artstyle.data.store import INDEX_COLUMNS, open_images, read_index, split_rows
from artstyle.errors import InputError
from artstyle.models.transfer import StyleTransferNet
from artstyle.params import Params, parse_params
from artstyle.styles import LABEL_OF, STYLES
from artstyle.synthetic.generate import generate_dataset
from artstyle.training import classifier
from artstyle.training.loop import Trainer

SIZE = 8
KEYS = {"store_images_per_s", "pil_images_per_s", "ratio", "batch_size", "images", "image_size"}


def make_tree_and_store(tmp_path: Path, n: int = 24) -> tuple[Path, Path]:
    """PNGs already at SIZE (so both loaders must yield identical pixels) and their store."""
    root, store = tmp_path / "tree", tmp_path / "store"
    store.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    styles = ["Baroque", "Cubism", "Rococo"]
    rows = sorted(("test" if i % 4 == 0 else "train", styles[i % 3], f"{i:03d}.png") for i in range(n))
    with open(store / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(INDEX_COLUMNS)
        for row, (split, style, name) in enumerate(rows):
            relpath = f"{split}/{style}/{name}"
            (root / split / style).mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[row]).save(root / relpath)
            w.writerow([row, relpath, split, style, LABEL_OF[style], SIZE, SIZE, f"{row:040x}"])
    np.save(store / "images.npy", images)
    return root, store


def test_pil_baseline_reads_the_same_images(tmp_path):
    root, store = make_tree_and_store(tmp_path)
    records = read_index(store)
    pil = PilFolderDataset([root / r.relpath for r in records], [r.label for r in records], SIZE)
    ours = StoreDataset(
        open_images(store), np.array([r.row for r in records]), np.array([r.label for r in records])
    )
    for i in (0, 5, len(records) - 1):
        (xp, yp), (xs, ys) = pil[i], ours[i]
        assert xp.shape == xs.shape == (3, SIZE, SIZE)
        torch.testing.assert_close(xp, xs, rtol=0, atol=1e-6)
        assert yp == ys


def test_bench_data_cli_writes_and_merges_json(tmp_path):
    root, store = make_tree_and_store(tmp_path)
    out = tmp_path / "metrics" / "bench.json"
    out.parent.mkdir()
    out.write_text(json.dumps({"model": {"kept": 1}}))
    args = ["data", "--store", str(store), "--root", str(root), "--batch-size", "5", "--images", "10"]
    args += ["--repeats", "1", "--min-seconds", "0", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ratio" in result.output and "StoreDataset" in result.output
    got = json.loads(out.read_text())
    assert got["model"] == {"kept": 1}, "other benchmarks' results are kept"
    data = got["data"]
    assert KEYS <= set(data)
    assert data["batch_size"] == 5 and data["images"] == 10 and data["image_size"] == SIZE
    for key in ("store_images_per_s", "pil_images_per_s", "ratio"):
        assert isinstance(data[key], float) and data[key] > 0
    assert data["device"] == "cpu" and data["threads"] == 1 and data["ratio_target"] == 20
    assert abs(data["ratio"] - data["store_images_per_s"] / data["pil_images_per_s"]) < 1e-6 * data["ratio"]


def test_bench_data_caps_images_at_store_size(tmp_path):
    root, store = make_tree_and_store(tmp_path, n=6)
    r = bench_data(store, root, batch_size=4, images=1000, repeats=1, min_seconds=0)
    assert r["images"] == 6


def test_bench_data_reports_missing_files(tmp_path):
    root, store = make_tree_and_store(tmp_path, n=6)
    next(root.rglob("*.png")).unlink()
    with pytest.raises(FileNotFoundError, match="1 indexed file"):
        bench_data(store, root, images=6, repeats=1, min_seconds=0)


def test_bench_data_on_a_parquet_store_is_a_one_line_error(tmp_path):
    import csv

    root, store = make_tree_and_store(tmp_path, n=6)
    index = store / "index.csv"
    with open(index, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows):  # how an hf_parquet store names its rows
        r["relpath"] = f"data/train-00000-of-00001.parquet#{i}"
    with open(index, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(
        InputError, match=r"indexed from Parquet shards \(e.g. data/train-00000-of-00001.parquet#0\)"
    ):
        bench_data(store, root, images=6, repeats=1, min_seconds=0)
    result = CliRunner().invoke(
        app,
        [
            "data",
            "--store",
            str(store),
            "--root",
            str(root),
            "--images",
            "6",
            "--repeats",
            "1",
            "--min-seconds",
            "0",
            "--out",
            str(tmp_path / "b.json"),
        ],
    )
    assert result.exit_code != 0 and "Parquet shards" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# train / stylize / scaling / all, on a tiny synthetic pipeline (sanity of the figures, not speed)
# ---------------------------------------------------------------------------------------------

CPU = torch.device("cpu")
RUNTIME_KEYS = {
    "device",
    "device_name",
    "torch",
    "threads",
    "autocast",
    "train_autocast",
    "channels_last",
    "compile",
    "pin_memory",
    "non_blocking",
    "measured_at",
}
# One process each: spawning pools costs more than rendering or decoding a few hundred tiny images.
TINY_BENCH = {section: {**TINY_OVERRIDES[section], "workers": 1} for section in ("synthesize", "index")}


@dataclass
class TinyPipeline:
    params_file: Path
    params: Params
    root: Path
    store: Path
    manifest: Path
    transfer: Path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> TinyPipeline:
    """Params, synthetic tree, store, train manifest and a random transfer checkpoint, all tiny."""
    base = tmp_path_factory.mktemp("bench")
    raw = tiny_params(TINY_BENCH)
    params_file = base / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    p = parse_params(raw)
    root, store, manifest = base / "synthetic", base / "store", base / "manifests" / "train.csv"
    generate_dataset(root, p.synthesize, seed=p.seed, samples_per_style=0, progress=False)
    index = build_store(root, store, p.data.image_size, p.index.max_pixels, p.index.workers, progress=False)
    write_manifest(manifest, *split_rows(index.records, "train"))
    torch.manual_seed(0)
    net = StyleTransferNet(channels=[4, 8, 16], residual_blocks=1, style_dim=4)
    save_checkpoint(base / "transfer.pt", net, net.args, STYLES)
    return TinyPipeline(params_file, p, root, store, manifest, base / "transfer.pt")


def _invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _assert_runtime(section: dict, compiled: bool = False) -> None:
    assert RUNTIME_KEYS <= set(section)
    assert section["device"] == "cpu" and section["threads"] >= 1 and section["compile"] is compiled
    # On CPU the pipeline infers in fp32, channels_last, unpinned, and trains in bf16 only where
    # the CPU has it natively: the record must say so.
    assert section["autocast"] == "off" and section["channels_last"] and not section["non_blocking"]
    assert section["train_autocast"] == ("bfloat16" if runtime.cpu_has_native_bf16() else "off")


def test_train_bench_times_the_training_step_of_setup(tiny, monkeypatch):
    """Every timed step is `Trainer.step` of the trainer `classifier.setup` builds, the one `fit` trains with.

    End to end feeds it the loader's batches, compute only one fixed batch already on the device;
    and one bench step from a fresh setup leaves exactly the weights that `Trainer.step` on the first
    batch of a fresh setup's loader (same data, params and seed) leaves: nothing is restated.
    """
    setups, steps = [], []
    real_setup, real_step = classifier.setup, Trainer.step

    def spy_setup(*args, **kwargs):
        setups.append(real_setup(*args, **kwargs))
        return setups[-1]

    def spy_step(self, batch):
        steps.append((self, batch))
        return real_step(self, batch)

    monkeypatch.setattr(classifier, "setup", spy_setup)
    monkeypatch.setattr(Trainer, "step", spy_step)
    cfg = tiny.params.classifier
    dataset = StoreDataset.from_manifest(tiny.store, tiny.manifest)

    bench = TrainBench(dataset, cfg, tiny.params.seed, CPU)
    assert len(setups) == 1 and bench.setup is setups[0] and bench.trainer is setups[0].trainer
    initial = {k: v.clone() for k, v in bench.trainer.model.state_dict().items()}
    seconds, n = bench.train_from_loader(1)
    assert seconds > 0 and n == cfg.batch_size
    assert len(steps) == 1 and steps[0][0] is bench.trainer
    ours = {k: v.clone() for k, v in bench.trainer.model.state_dict().items()}
    assert any(not torch.equal(initial[k], ours[k]) for k in ours), "the step changed nothing"

    ref = real_setup(dataset, cfg, tiny.params.seed, CPU)
    first = next(iter(ref.loader))
    torch.testing.assert_close(steps[0][1], first, rtol=0, atol=0, msg="not the loader's first batch")
    real_step(ref.trainer, first)
    for key, value in ref.trainer.model.state_dict().items():
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0, msg=f"{key} differs from Trainer.step")

    steps.clear()
    bench.train_in_memory(3)
    assert len(steps) == 3 and all(t is bench.trainer and b is bench.random_batch for t, b in steps)
    side = tiny.params.data.image_size
    assert bench.random_batch[0].shape == (cfg.batch_size, 3, side, side)


def test_train_bench_compiles_through_setup(tiny, monkeypatch):
    """`--compile` is setup's own torch.compile of the training forward (stubbed: compiling takes minutes)."""
    compiled = []

    def fake_compile(net, *args, **kwargs):
        compiled.append(net)
        return net

    monkeypatch.setattr(torch, "compile", fake_compile)
    dataset = StoreDataset.from_manifest(tiny.store, tiny.manifest)
    bench = TrainBench(dataset, tiny.params.classifier, tiny.params.seed, CPU, compile=True)
    assert compiled == [bench.trainer.net]
    bench.train_from_loader(1)


def test_bench_train_cli_reports_both_rates_and_their_ratio(tiny, tmp_path):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"data": {"kept": 1}}))
    result = _invoke(
        "train",
        "--store",
        tiny.store,
        "--manifest",
        tiny.manifest,
        "--params",
        tiny.params_file,
        "--steps",
        2,
        "--warmup",
        1,
        "--repeats",
        2,
        "--min-seconds",
        0,
        "--device",
        "cpu",
        "--out",
        out,
    )
    assert "efficiency" in result.output and "target >= 0.9" in result.output
    got = json.loads(out.read_text())
    assert got["data"] == {"kept": 1}, "other sections are kept"
    r = got["train"]
    _assert_runtime(r)
    e2e, compute = r["end_to_end_images_per_s"], r["compute_only_images_per_s"]
    assert e2e > 0 and compute > 0
    assert r["efficiency"] == pytest.approx(e2e / compute) and r["efficiency_target"] == 0.9
    assert r["end_to_end_rounds"] == r["compute_only_rounds"] == 2
    assert r["steps_per_round"] == 2 and r["warmup_steps"] == 1
    cfg = tiny.params.classifier
    assert r["batch_size"] == cfg.batch_size and r["image_size"] == tiny.params.data.image_size
    assert r["train_images"] == len(read_manifest(tiny.manifest)[0]) and r["augment_in_both"] is cfg.augment


def test_bench_train_at_other_sizes_builds_temporary_stores(tiny, tmp_path):
    """`--sizes`: the store's size reuses the top-level figures; another size trains on a temporary
    store of `subset` images of the tree at that size, deleted afterwards."""
    cfg, side = tiny.params.classifier, tiny.params.data.image_size
    r = bench_train(
        tiny.store,
        tiny.manifest,
        cfg,
        tiny.params.seed,
        steps=1,
        warmup=0,
        repeats=1,
        min_seconds=0,
        device=CPU,
        sizes=(24, side),
        root=tiny.root,
        subset=40,
        index_workers=1,
        workdir=tmp_path,
        progress=False,
    )
    assert r["image_size"] == side and r["train_images"] == len(read_manifest(tiny.manifest)[0])
    store_row, other = r["sizes"]
    assert store_row["image_size"] == side and store_row["source"] == "store"
    assert store_row["end_to_end_images_per_s"] == r["end_to_end_images_per_s"]
    assert other["image_size"] == 24 and other["train_images"] == 40 == r["subset_images"]
    assert other["source"].startswith("temporary store of 40 images") and other["index_seconds"] > 0
    for row in r["sizes"]:
        assert row["end_to_end_images_per_s"] > 0 and row["compute_only_images_per_s"] > 0
        assert row["efficiency"] == pytest.approx(
            row["end_to_end_images_per_s"] / row["compute_only_images_per_s"]
        )
    assert list(tmp_path.iterdir()) == [], "the temporary store is deleted"


def test_subset_tree_links_an_even_spread_of_the_train_images(tiny, tmp_path):
    n = subset_tree(tiny.root, tmp_path / "tree", 30)
    links = sorted((tmp_path / "tree" / "train").rglob("*.png"))
    assert n == len(links) == 30 and all(p.is_symlink() for p in links)
    tree = [p.parent.name for p in (tiny.root / "train").rglob("*.png")]
    for style in set(tree):  # evenly spaced over the sorted list: each style keeps its share, +-1
        assert abs(sum(p.parent.name == style for p in links) - tree.count(style) * 30 / len(tree)) <= 1, (
            style
        )
    assert (tmp_path / "tree" / "test").is_dir() and not any((tmp_path / "tree" / "test").iterdir())


def test_bench_train_cli_sizes(tiny, tmp_path):
    out = tmp_path / "bench.json"
    result = _invoke(
        "train",
        "--store",
        tiny.store,
        "--manifest",
        tiny.manifest,
        "--params",
        tiny.params_file,
        "--steps",
        1,
        "--warmup",
        0,
        "--repeats",
        1,
        "--min-seconds",
        0,
        "--device",
        "cpu",
        "--sizes",
        "24",
        "--root",
        tiny.root,
        "--subset",
        30,
        "--workdir",
        tmp_path,
        "--out",
        out,
    )
    assert "by image size" in result.output
    r = json.loads(out.read_text())["train"]
    assert [row["image_size"] for row in r["sizes"]] == [24]
    bad = CliRunner().invoke(
        app,
        [
            "train",
            "--store",
            str(tiny.store),
            "--manifest",
            str(tiny.manifest),
            "--params",
            str(tiny.params_file),
            "--sizes",
            "64,x",
            "--out",
            str(out),
        ],
    )
    assert (
        bad.exit_code == 2 and "--sizes: expected comma-separated sides >= 16, e.g. 64,128,224" in bad.output
    )


def test_train_epoch_covers_the_loader_without_the_remainder(tiny):
    rows, labels = read_manifest(tiny.manifest)
    bench = TrainBench(StoreDataset(open_images(tiny.store), rows, labels), tiny.params.classifier, 0, CPU)
    seconds, n = bench.train_epoch()
    batch = tiny.params.classifier.batch_size
    assert seconds > 0 and n == len(rows) // batch * batch  # drop_last, as in training


def test_bench_stylize_reports_latency_and_rate(tiny):
    r = bench_stylize(tiny.transfer, sizes=(32, 48), repeats=3, warmup=1, device=CPU, end_to_end_size=64)
    assert r["ms_per_image"] > 0 and r["images_per_s"] == pytest.approx(1000.0 / r["ms_per_image"])
    assert r["size"] == 32 and r["batch_size"] == 1 and r["repeats"] == 3
    assert [row["size"] for row in r["rows"]] == [32, 48]
    for row in r["rows"]:  # the reference network timed alongside, and the ratio is of the two medians
        assert row["speedup"] == pytest.approx(row["reference_ms_per_image"] / row["ms_per_image"])
        # ... in both layouts on the CPU (channels_last by default), the faster one counting
        assert set(row["reference_ms_by_layout"]) == {"channels_last", "contiguous_format"}
        assert row["reference_ms_per_image"] == min(row["reference_ms_by_layout"].values())
    assert r["min_speedup"] == min(row["speedup"] for row in r["rows"])
    assert r["reference_args"]["kernel"] == 9 and r["end_to_end_ms"] > 0
    assert RUNTIME_KEYS - {"measured_at"} <= set(r)


def test_latency_ms_times_repeats_after_untimed_warmup():
    calls = []

    def model(x, style):
        calls.append((tuple(x.shape), style.tolist()))
        return x

    ms = latency_ms(model, size=16, repeats=4, device=CPU, warmup=2)
    assert ms >= 0 and calls == [((1, 3, 16, 16), [0])] * 6


def test_stylize_without_a_checkpoint_says_how_to_make_one(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["stylize", "--model", str(tmp_path / "none.pt"), "--out", str(out)])
    assert result.exit_code == 2
    assert "none.pt not found" in result.output and "dvc repro train_transfer" in result.output
    assert not out.exists()
    with pytest.raises(FileNotFoundError, match="dvc repro train_transfer"):
        bench_stylize(tmp_path / "none.pt")


def test_median_rates_alternate_until_each_workload_has_run_long_enough():
    calls = []

    def workload(name: str, seconds: float, images: int):
        def run():
            calls.append(name)
            return seconds, images

        return run

    rates, rounds = median_rates(
        {"fast": workload("fast", 0.1, 10), "slow": workload("slow", 1.0, 10)}, repeats=2, min_seconds=0.45
    )
    assert rates == {"fast": pytest.approx(100.0), "slow": pytest.approx(10.0)}
    # slow is done after its 2 repeats; fast goes on alone until it has run 0.45 s.
    assert rounds == {"fast": 5, "slow": 2}
    assert calls == ["fast", "slow", "fast", "slow", "fast", "fast", "fast"]


def test_linearity_is_time_growth_over_data_growth():
    rows = [{"s": 2.0, "n": 100}, {"s": 3.0, "n": 150}, {"s": 16.0, "n": 400}]
    assert linearity(rows, "s", "n") == pytest.approx(2.0)  # first vs last: 8x the time for 4x the data
    assert linearity([rows[0], {"s": 8.0, "n": 400}], "s", "n") == pytest.approx(1.0)
    assert linearity(rows[:1], "s", "n") is None


def test_bench_scaling_times_each_scale(tiny, tmp_path):
    r = bench_scaling(tiny.params, (2, 1), warmup=1, device=CPU, workdir=tmp_path, progress=False)
    rows = r["rows"]
    assert [row["scale"] for row in rows] == [1, 2]
    assert rows[0]["images"] < rows[1]["images"] and rows[0]["train_images"] < rows[1]["train_images"]
    for row in rows:
        assert row["images"] > row["train_images"] > 0  # the index covers test too; the epoch train only
        for key in (
            "synthesize_seconds",
            "index_seconds",
            "index_images_per_s",
            "epoch_seconds",
            "train_images_per_s",
        ):
            assert row[key] > 0, key
        assert row["index_images_per_s"] == pytest.approx(row["images"] / row["index_seconds"])
        assert row["train_images_per_s"] == pytest.approx(row["train_images"] / row["epoch_seconds"])
    assert r["index_linearity"] == pytest.approx(linearity(rows, "index_seconds", "images"))
    assert r["train_linearity"] == pytest.approx(linearity(rows, "epoch_seconds", "train_images"))
    assert r["base_train_images"] == tiny.params.synthesize.train_images
    assert list(tmp_path.iterdir()) == [], "each scale's tree and store are deleted"


def test_real_size_painting_is_upright_after_its_exif_orientation():
    """Every orientation tag: the stored pixels, with the tag applied, give the upright image back."""
    for orientation in (1, *ORIENTATIONS):
        data, upright = real_size_painting(0, 3, size=(160, 96), orientation=orientation)
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG" and im.getexif().get(0x0112, 1) == orientation
            shown = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.int16)
        up = np.asarray(upright, dtype=np.int16)
        assert shown.shape == (96, 160, 3)
        # JPEG of the grain costs ~5 levels on average; the image upside down differs by ~18.
        assert np.abs(shown - up).mean() < 8 < np.abs(shown - up[::-1, ::-1]).mean(), orientation
    data, upright = real_size_painting(0, 5)
    assert 1e6 <= upright.size[0] * upright.size[1] <= 2e6 and data == real_size_painting(0, 5)[0]
    assert [exif_orientation(i) for i in range(0, 17)] == [2] + [1] * 7 + [3] + [1] * 7 + [4]


def test_bench_index_cli_reports_speed_and_closeness(tmp_path):
    out = tmp_path / "bench.json"
    result = _invoke(
        "index", "--images", 9, "--image-size", 32, "--repeats", 1, "--workdir", tmp_path, "--out", out
    )
    assert "speedup" in result.output and "upright in both: 2/2" in result.output
    r = json.loads(out.read_text())["index"]
    _assert_runtime(r)
    assert r["images"] == 9 and r["image_size"] == 32 and r["exif_rotated_images"] == 2
    assert r["speedup"] == pytest.approx(r["draft_images_per_s"] / r["full_images_per_s"])
    assert r["speedup_target"] == 2 and r["draft_rounds"] == r["full_rounds"] == 1
    assert r["orientation_identical"] is True and r["orientation_matches"] == 2
    assert 0 <= r["mean_abs_diff"] < 3 and r["max_abs_diff"] <= 255 and 0 <= r["fraction_beyond_close"] < 0.1
    assert 1.0 <= r["megapixels_min"] <= r["megapixels_mean"] <= r["megapixels_max"] <= 2.0
    assert list(tmp_path.iterdir()) == [out], "the JPEGs are deleted"


def test_bench_index_catches_an_ignored_orientation(monkeypatch):
    """If decoding skipped the EXIF orientation, the check must say so (not just compare the two decodes);
    the size reported is still the upright one (read from the tag, stored pixels 32 x 48)."""
    monkeypatch.setattr(ImageOps, "exif_transpose", lambda im, **kw: im)
    r = bench_index(9, 32, repeats=1, progress=False)
    assert r["orientation_identical"] is False and r["orientation_matches"] == 0
    assert decode_bytes(real_size_painting(0, 0, size=(48, 32), orientation=6)[0], 16, 10**8)[1:3] == (48, 32)


def test_bench_all_writes_every_section_in_one_go(tiny, tmp_path):
    out = tmp_path / "bench.json"
    result = _invoke(
        "all",
        "--store",
        tiny.store,
        "--root",
        tiny.root,
        "--manifest",
        tiny.manifest,
        "--model",
        tiny.transfer,
        "--params",
        tiny.params_file,
        "--train-steps",
        1,
        "--min-seconds",
        0,
        "--stylize-sizes",
        "32",
        "--end-to-end-size",
        64,
        "--scales",
        "1,2",
        "--workdir",
        tmp_path,
        "--train-sizes",
        "24",
        "--subset",
        27,
        "--index-images",
        9,
        "--index-size",
        32,
        "--device",
        "cpu",
        "--out",
        out,
    )
    got = json.loads(out.read_text())
    assert set(got) == {"data", "train", "stylize", "scaling", "index"}
    for section in got.values():
        _assert_runtime(section)
    summary = result.output.split("== summary")[1]
    assert f"{got['data']['ratio']:.1f}x" in summary and ">= 20x" in summary
    assert f"{got['train']['efficiency']:.3f}" in summary and ">= 0.9" in summary
    assert f"{got['stylize']['ms_per_image']:.2f} ms" in summary
    assert f"{got['stylize']['min_speedup']:.2f}x" in summary and ">= 2x" in summary
    assert f"{got['scaling']['index_linearity']:.2f}" in summary
    assert f"{got['index']['speedup']:.2f}x" in summary and "train 24 px" in summary


def test_bench_all_checks_its_inputs_before_timing_anything(tiny, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        [
            "all",
            "--store",
            str(tiny.store),
            "--root",
            str(tiny.root),
            "--manifest",
            str(tiny.manifest),
            "--params",
            str(tiny.params_file),
            "--model",
            str(tmp_path / "missing.pt"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2 and "dvc repro train_transfer" in result.output
    assert "== data" not in result.output and not out.exists()
