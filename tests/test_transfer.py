"""The style-conditioned transfer network, the prototypes model and the evaluation helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artstyle.evaluation.transfer import grayscale, hit_rates, pick_content_rows
from artstyle.models.embedder import StylePrototypes
from artstyle.models.transfer import StyleTransferNet
from artstyle.plots.transfer import deception_figure, readable, style_prototypes_figure, transfer_grid_figure
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.style_targets import pick_style_rows
from artstyle.training.transfer import check_layers, style_descriptors


def tiny_net(seed: int = 0) -> StyleTransferNet:
    torch.manual_seed(seed)
    net = StyleTransferNet(channels=[4, 8, 16], residual_blocks=1, style_dim=6).eval()
    with torch.no_grad():  # a trained-looking embedding: styles far apart
        net.style_embedding.weight.normal_(0, 3)
    return net


def test_different_styles_give_different_outputs():
    net = tiny_net()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        a = net(x, torch.tensor([3]))
        b = net(x, torch.tensor([11]))
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    assert (a - b).abs().mean() > 1e-3


def test_blend_of_one_style_equals_the_pure_style_and_mixes_linearly():
    net = tiny_net()
    x = torch.rand(2, 3, 16, 16)
    w = torch.zeros(NUM_CLASSES)
    w[5] = 1.0
    with torch.no_grad():
        pure = net(x, torch.tensor([5, 5]))
        assert torch.allclose(net(x, net.blend(w)), pure, atol=1e-6)
        assert torch.allclose(net(x, net.blend(7 * w)), pure, atol=1e-6)  # weights are normalised
        w2 = w.clone()
        w2[9] = 1.0
        mid = net.blend(w2)
        assert torch.allclose(mid, (net.style_embedding.weight[5] + net.style_embedding.weight[9]) / 2)
        half = net(x, mid)
    assert not torch.allclose(half, pure, atol=1e-3)
    with pytest.raises(ValueError):
        net.blend(torch.zeros(NUM_CLASSES))
    with pytest.raises(ValueError):
        net.blend(-w)
    with torch.no_grad():  # labels and their style vectors are the same input
        assert torch.equal(net(x, torch.tensor([3, 3])), net(x, net.style_vectors(torch.tensor([3]))))
    with pytest.raises(ValueError, match="this network takes 6"):
        net(x, torch.zeros(4))


def test_any_size_in_same_size_out_and_batch_independent():
    net = tiny_net()
    for h, w in [(17, 30), (5, 7), (64, 48)]:
        x = torch.rand(1, 3, h, w)
        with torch.no_grad():
            assert net(x, torch.tensor([0])).shape == (1, 3, h, w)
    # instance norm: an image's output does not depend on the rest of the batch
    x = torch.rand(3, 3, 16, 16)
    labels = torch.tensor([1, 2, 3])
    with torch.no_grad():
        together = net(x, labels)
        alone = net(x[1:2], labels[1:2])
    assert torch.allclose(together[1:2], alone, atol=1e-5)


def test_rebuilds_from_args_with_the_style_table_in_the_state_dict():
    net = tiny_net()
    clone = StyleTransferNet.from_args(net.args)
    clone.load_state_dict(net.state_dict())
    assert "style_embedding.weight" in net.state_dict()
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(clone.eval()(x, torch.tensor([4])), net(x, torch.tensor([4])))


def test_cin_gradients_reach_only_the_used_style_rows():
    net = tiny_net().train()
    net(torch.rand(2, 3, 8, 8), torch.tensor([2, 2])).mean().backward()
    grad = net.style_embedding.weight.grad
    assert grad[2].abs().sum() > 0
    assert grad[torch.arange(NUM_CLASSES) != 2].abs().sum() == 0


def test_prototypes_model_shapes_and_init():
    model = StylePrototypes((2, 3, 3))
    means = torch.randn(NUM_CLASSES, 2, 3, 3)
    model.init_from(means)
    assert torch.equal(model(torch.arange(NUM_CLASSES)), means)
    assert StylePrototypes.from_args(model.args).latent_shape == (2, 3, 3)


def test_style_rows_are_distinct_per_class_and_cover_only_present_styles():
    rows = np.arange(2 * NUM_CLASSES).repeat(2)  # every row oversampled twice
    labels = (np.arange(2 * NUM_CLASSES) % NUM_CLASSES).repeat(2)
    picked = pick_style_rows(rows, labels, per_class=5, seed=0)
    assert all(
        len(v) == 2 and len(set(v)) == 2 and (labels[np.searchsorted(rows, v)] == c).all()
        for c, v in picked.items()
    )
    assert sorted(picked) == list(range(NUM_CLASSES))
    subset = pick_style_rows(rows[labels > 24], labels[labels > 24], per_class=5, seed=0)
    assert sorted(subset) == [25, 26]  # a style without images has no target: it is left out
    with pytest.raises(ValueError, match="no training images"):
        pick_style_rows(rows[:0], labels[:0], per_class=5, seed=0)
    assert check_layers("relu2_1", ("relu1_1", "relu4_1")) == "relu4_1"
    with pytest.raises(ValueError):
        check_layers("relu2_2", ("relu1_1",))


def test_evaluation_helpers():
    logits = torch.tensor([[5.0, 4.0, 3.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    top1, top3 = hit_rates(logits, torch.tensor([1, 3]))
    assert top1.tolist() == [False, True] and top3.tolist() == [True, True]
    assert torch.allclose(grayscale(torch.ones(1, 3, 2, 2)), torch.ones(1, 1, 2, 2))
    picked = pick_content_rows(np.array([5, 5, 9, 2, 7]), 3, seed=1)
    assert len(set(picked)) == 3 and list(picked) == sorted(picked)


def test_figures_have_readable_style_names():
    assert readable("Mannerism_Late_Renaissance") == "Mannerism\nLate\nRenaissance"
    grid = transfer_grid_figure(torch.rand(2, 3, 8, 8), torch.rand(2, NUM_CLASSES, 3, 8, 8))
    titles = [ax.get_title() for ax in grid.axes]
    assert "original" in titles and readable("Ukiyo_e") in titles
    assert len(grid.axes) == 2 * (NUM_CLASSES + 1)
    proto = style_prototypes_figure(torch.rand(NUM_CLASSES, 3, 8, 8), torch.rand(NUM_CLASSES, 3, 8, 8))
    assert readable("Pop_Art") in [ax.get_title() for ax in proto.axes]
    bars = deception_figure(dict.fromkeys(STYLES, 0.5), 1 / 27, dict.fromkeys(STYLES, 0.0), 0.5)
    assert bars.axes[0].get_yticklabels()[0].get_text() == "Abstract Expressionism"
    assert len(bars.axes[0].containers) == 1


def test_deception_figure_puts_the_second_judges_bars_beside_the_first():
    first, second = dict.fromkeys(STYLES, 0.5), dict.fromkeys(STYLES, 0.25)
    fig = deception_figure(first, 1 / 27, dict.fromkeys(STYLES, 0.0), 0.5, second=second, second_overall=0.25)
    ax = fig.axes[0]
    a, b = ax.containers
    assert [r.get_width() for r in a] == [0.5] * NUM_CLASSES and [r.get_width() for r in b] == [
        0.25
    ] * NUM_CLASSES
    # side by side, not on top of each other: each style's two bars share its tick and do not overlap
    for ra, rb, tick in zip(a, b, ax.get_yticks()):
        assert ra.get_y() + ra.get_height() <= rb.get_y() + 1e-9
        assert ra.get_y() < tick < rb.get_y() + rb.get_height()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("StyleNet" in t for t in labels) and any("VGG19" in t for t in labels)
    assert ax.get_yticklabels()[0].get_text() == "Abstract Expressionism"


def test_the_vgg_judge_recipe_is_fixed_in_code_not_read_from_params():
    import dataclasses

    import yaml
    from conftest import REPO

    from artstyle.params import ClassifierParams
    from artstyle.training.judge import (
        JUDGE_SEED,
        VGG_JUDGE_RECIPE,
        VGG_JUDGE_SEED,
        judge_params,
        vgg_judge_params,
    )

    cfg = vgg_judge_params()  # every ClassifierParams key, validated
    assert set(VGG_JUDGE_RECIPE) == {f.name for f in dataclasses.fields(ClassifierParams)}
    assert (cfg.backbone, cfg.freeze, cfg.epochs) == ("vgg19", "backbone", 1)  # a linear probe, one epoch
    assert VGG_JUDGE_SEED != JUDGE_SEED and judge_params().backbone == "stylenet"
    # DVC reruns train_judge for no params: `-S classifier.*` experiments move neither judge.
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    judge = stages["train_judge"]
    assert "params" not in judge and "${" not in judge["cmd"]
    assert "params.yaml" not in judge["deps"]
    assert {"models/judge.pt", "models/judge_vgg19.pt"} <= set(judge["outs"])
    evaluate = stages["evaluate_transfer"]
    assert (
        "--vgg-judge models/judge_vgg19.pt" in evaluate["cmd"] and "models/judge_vgg19.pt" in evaluate["deps"]
    )
    assert "classifier" not in evaluate["params"]


def mean_std_target(energy: torch.Tensor) -> torch.Tensor:
    """[K, 2C] mean/std targets whose channel energies (mean^2 + std^2) are ``energy`` [K, C]."""
    return torch.cat([energy.sqrt(), torch.zeros_like(energy)], dim=1)


def test_style_descriptors_place_similar_styles_close():
    torch.manual_seed(0)
    base = torch.rand(NUM_CLASSES, 6) + 0.1
    base[1] = base[0] * 1.01  # style 1 has almost the statistics of style 0
    targets = {"relu1_1": mean_std_target(base), "relu2_1": mean_std_target(base[:, :4] ** 2)}
    d = style_descriptors(targets, dim=8, seed=0)
    assert d.shape == (NUM_CLASSES, 8)
    dist = torch.cdist(d, d)
    assert dist[0, 1] < 0.2 * dist[0, 2:].min()
    assert torch.allclose(d[:, :6].var(0, unbiased=False), torch.ones(6), atol=1e-3)  # whitened coordinates
    assert torch.equal(d, style_descriptors(targets, dim=8, seed=0))


@pytest.mark.parametrize(
    "args",
    [
        {"channels": [4, 8, 16, 32]},  # one more downsampling than the default, narrower
        {"channels": [4, 8, 16]},  # the default layout, narrower
        {"channels": [6], "residual_blocks": 0},  # no downsampling at all
    ],
)
@pytest.mark.parametrize("hw", [(16, 16), (13, 29)])
def test_layouts_keep_the_size_and_give_finite_images(args, hw):
    torch.manual_seed(0)
    net = StyleTransferNet(style_dim=4, **{"residual_blocks": 1, **args}).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        y = net(x, torch.tensor([0, 5]))
    assert y.shape == x.shape and torch.isfinite(y).all() and 0 <= y.min() and y.max() <= 1
    assert net.stride == 2 ** (len(args["channels"]) - 1)
    assert StyleTransferNet.from_args(net.args).args == net.args


def test_reference_layout_is_the_first_network():
    from artstyle.bench.reference import REFERENCE_ARGS, reference_net

    ref = reference_net()
    assert (
        ref.channels == (16, 32, 64)
        and REFERENCE_ARGS["kernel"] == 9
        and REFERENCE_ARGS["upsample"] == "nearest"
    )
    assert ref.to_rgb.kernel_size == (9, 9) and ref.encoder[0].conv.kernel_size == (9, 9)
    assert ref.encoder[0].conv.out_channels == 16
    x = torch.rand(1, 3, 13, 18)
    with torch.no_grad():
        assert ref(x, torch.tensor([3])).shape == x.shape


@pytest.mark.parametrize("bad", [{"channels": []}, {"channels": [4, 0]}])
def test_bad_layouts_are_errors(bad):
    with pytest.raises(ValueError):
        StyleTransferNet(**bad)


def test_mean_std_statistic_and_channel_energy():
    from artstyle.losses.perceptual import gram_matrix, mean_std
    from artstyle.training.transfer import channel_energy

    f = torch.rand(2, 5, 6, 7)
    ms = mean_std(f)
    assert ms.shape == (2, 10)
    assert torch.allclose(ms[:, :5], f.mean((2, 3)))
    assert torch.allclose(ms[:, 5:], f.flatten(2).std(2, unbiased=False), atol=1e-3)
    # Each channel's mean square activation: the Gram matrix's diagonal (which divides by C as well).
    diagonal = torch.diagonal(gram_matrix(f), dim1=1, dim2=2)
    assert torch.allclose(channel_energy(mean_std(f)) / 5, diagonal, rtol=1e-3, atol=1e-6)


def test_match_colour_sets_each_channels_mean_and_std():
    from artstyle.evaluation.transfer import match_colour

    x = torch.rand(2, 3, 12, 12) * 0.5 + 0.2
    target = torch.tensor([[0.3, 0.5, 0.7, 0.05, 0.1, 0.08]]).expand(2, -1)
    y = match_colour(x, target)
    assert torch.allclose(y.mean((2, 3)), target[:, :3], atol=1e-4)
    assert torch.allclose(y.flatten(2).std(2, unbiased=False), target[:, 3:], atol=1e-4)


def test_style_descriptors_of_a_subset_leave_absent_rows_zero():
    torch.manual_seed(0)
    base = torch.rand(NUM_CLASSES, 6) + 0.1
    targets = {"relu1_1": mean_std_target(base)}
    d = style_descriptors(targets, dim=4, seed=0, styles=(3, 9, 20))
    assert d.shape == (NUM_CLASSES, 4) and torch.isfinite(d).all()
    assert d[[3, 9, 20]].abs().sum() > 0 and d[[0, 1, 2, 26]].abs().sum() == 0
    assert torch.equal(d[[3, 9, 20]], style_descriptors({"relu1_1": targets["relu1_1"][[3, 9, 20]]}, 4, 0))
    assert torch.equal(
        style_descriptors(targets, 4, 0, styles=tuple(range(NUM_CLASSES))), style_descriptors(targets, 4, 0)
    )
    one = style_descriptors(targets, dim=4, seed=0, styles=(5,))  # one style: defined, no NaN
    assert torch.isfinite(one).all()


def test_style_pyramid_levels_are_the_statistics_of_the_downsampled_images():
    """style_targets' ``relu*_1@f`` keys: the same layers on the images average-pooled by f, per style."""
    from artstyle.data.dataset import to_float
    from artstyle.losses.perceptual import downsample, mean_std, pyramid_key
    from artstyle.models.vgg import VGGFeatures
    from artstyle.training.style_targets import style_targets

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    rows = {0: np.array([0, 1]), 3: np.array([2, 4])}
    vgg = VGGFeatures(last="relu2_1").eval()
    layers = ["relu1_1", "relu2_1"]
    targets = style_targets(
        vgg, images, rows, layers, torch.device("cpu"), statistic=mean_std, pyramid=(1, 2)
    )
    assert set(targets) == {"relu1_1", "relu2_1", "relu1_1@2", "relu2_1@2"}
    assert pyramid_key("relu2_1", 1) == "relu2_1" and pyramid_key("relu2_1", 4) == "relu2_1@4"
    with torch.no_grad():
        for c, r in rows.items():
            x = to_float(images[r])
            assert downsample(x, 2).shape == (2, 3, 8, 8) and downsample(x, 1) is x
            expect = mean_std(vgg(downsample(x, 2), upto="relu2_1").relu2_1).mean(0)
            torch.testing.assert_close(targets["relu2_1@2"][c], expect, rtol=1e-4, atol=1e-5)
    # a coarser level is a different statistic, and a style without images has zero targets
    assert not torch.allclose(targets["relu2_1@2"][0], targets["relu2_1"][0])
    assert targets["relu1_1@2"][1].abs().sum() == 0


def _painting_fixture():
    from artstyle.losses.perceptual import mean_std
    from artstyle.models.vgg import VGGFeatures
    from artstyle.training.style_targets import painting_statistics, style_scales, style_targets

    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (7, 16, 16, 3), dtype=np.uint8)
    images[5:] = 128 + rng.integers(-2, 3, (2, 16, 16, 3))  # style 6: two near-flat grey canvases
    rows = {1: np.array([0, 3]), 4: np.array([1, 2]), 6: np.array([5, 6])}
    vgg = VGGFeatures(last="relu2_1").eval()
    layers, pyramid, cpu = ["relu1_1", "relu2_1"], (1, 2), torch.device("cpu")
    targets = style_targets(vgg, images, rows, layers, cpu, statistic=mean_std, pyramid=pyramid)
    scales = style_scales(targets, (1, 4, 6))
    stats, owner = painting_statistics(
        vgg, images, rows, layers, cpu, batch_size=4, statistic=mean_std, pyramid=pyramid
    )
    return images, rows, vgg, layers, pyramid, targets, scales, stats, owner


def test_painting_statistics_are_what_the_targets_average():
    from artstyle.data.dataset import to_float
    from artstyle.losses.perceptual import mean_std, pyramid_statistics

    images, rows, vgg, layers, pyramid, targets, _, stats, owner = _painting_fixture()
    assert list(stats) == list(targets) and owner.tolist() == [1, 1, 4, 4, 6, 6]
    with torch.no_grad():
        direct = pyramid_statistics(vgg, to_float(images[[1, 2]]), layers, pyramid, mean_std, upto="relu2_1")
    for k in stats:
        assert stats[k].shape == (6, *targets[k].shape[1:])
        torch.testing.assert_close(stats[k][2:4], direct[k], rtol=1e-4, atol=1e-5)
        for c in (1, 4, 6):  # each style's target is the mean of its paintings' statistics
            torch.testing.assert_close(stats[k][owner == c].mean(0), targets[k][c], rtol=1e-4, atol=1e-5)


def test_target_reliability_is_one_minus_own_over_other_distance():
    from artstyle.losses.perceptual import style_distance
    from artstyle.training.style_targets import target_reliability

    _, _, _, _, _, targets, scales, stats, owner = _painting_fixture()
    r = target_reliability(stats, owner, targets, scales, (1, 4, 6))
    for c in (1, 4, 6):
        d = style_distance(list(stats.values()), [targets[k][c] for k in stats], [scales[k] for k in stats])
        expect = (1 - d[owner == c].mean() / d[owner != c].mean()).clamp(0, 1)
        torch.testing.assert_close(r[c], expect.float(), rtol=1e-5, atol=1e-6)
    assert r[6] > 0.9  # two near-identical canvases: their average describes them
    assert ((r >= 0) & (r <= 1)).all() and r[[0, 2, 3, 5]].abs().sum() == 0  # styles without paintings: 0
    # a style whose paintings are farther from their mean than the others' are is clamped to 0
    far = {k: v.clone() for k, v in stats.items()}
    for k in far:  # style 1's two paintings on either side of their unchanged mean, far from it
        far[k][owner == 1] = targets[k][1] + torch.tensor([[1.0], [-1.0]]) * 100 * scales[k] ** 0.5
    assert target_reliability(far, owner, targets, scales, (1, 4, 6))[1] == 0
    # one style: nothing to compare with, the average is all there is
    assert target_reliability(stats, owner, targets, scales, (4,)).tolist() == [
        1.0 if i == 4 else 0.0 for i in range(NUM_CLASSES)
    ]


def test_style_loss_weights_scale_down_only_the_less_reliable_styles():
    from artstyle.training.style_targets import style_loss_weights

    r = torch.zeros(NUM_CLASSES)
    r[[2, 5, 9, 11]] = torch.tensor([0.9, 0.6, 0.3, 0.0])  # mean 0.45
    w = style_loss_weights(r, (2, 5, 9, 11))
    torch.testing.assert_close(w[[2, 5, 9, 11]], torch.tensor([1.0, 1.0, 0.3 / 0.45, 0.0]))
    assert w.sum() == w[[2, 5, 9, 11]].sum()  # untrained styles: 0
    # no reliable style at all: nothing to compare against, every trained style keeps its loss
    assert style_loss_weights(torch.zeros(NUM_CLASSES), (1, 3)).tolist() == [
        1.0 if i in (1, 3) else 0.0 for i in range(NUM_CLASSES)
    ]


def test_pyramid_style_distance_is_the_per_image_loss():
    from artstyle.losses.perceptual import pyramid_style_distance, pyramid_style_loss

    g = torch.Generator().manual_seed(0)
    stats = {k: torch.rand(4, 6, generator=g) for k in ("a", "b", "a@2", "b@2")}
    targets = {k: torch.rand(4, 6, generator=g) for k in stats}
    scales = {"a": 0.3, "b": 0.5, "a@2": 0.2, "b@2": 0.1}
    d = pyramid_style_distance(stats, targets, scales, ["a", "b"], [1, 2])
    assert d.shape == (4,)
    torch.testing.assert_close(d.mean(), pyramid_style_loss(stats, targets, scales, ["a", "b"], [1, 2]))
    one = {k: v[2:3] for k, v in stats.items()}, {k: v[2:3] for k, v in targets.items()}
    torch.testing.assert_close(d[2], pyramid_style_loss(*one, scales, ["a", "b"], [1, 2]))


@pytest.mark.parametrize("bf16", [False, True])
def test_content_targets_are_the_features_a_fresh_pass_gives_bit_for_bit(bf16):
    """A batch whose images were all seen in other batches is served from the cache, equal to a
    fresh VGG pass bit for bit (the run stays the same); past the byte limit nothing more is kept."""
    from artstyle.data.dataset import to_float
    from artstyle.models.vgg import VGGFeatures
    from artstyle.training.transfer import ContentTargets

    vgg = VGGFeatures(last="relu2_1").to(memory_format=torch.channels_last)
    images = np.random.default_rng(3).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    x = to_float(images).contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def fresh(rows):
        with torch.no_grad(), autocast:
            return vgg(x[rows], upto="relu2_1").relu2_1

    targets = ContentTargets(vgg, "relu2_1")
    with autocast:
        first = [targets(x[r], torch.tensor(r)) for r in ([0, 1, 2], [3, 4, 5])]
        assert set(targets.kept) == set(range(6)) and targets.bytes == sum(f.nbytes for f in first)
        targets.vgg = None  # every image known: no VGG pass (calling None would fail)
        cached = targets(x[[5, 0, 3]], torch.tensor([5, 0, 3]))
    expect = fresh([5, 0, 3])
    assert cached.dtype == expect.dtype and torch.equal(cached, expect)
    assert cached.is_contiguous(memory_format=torch.channels_last)

    one = first[0][0].nbytes
    small = ContentTargets(vgg, "relu2_1", limit_bytes=2 * one + 1)
    with autocast:
        out = small(x[[0, 1, 2]], torch.tensor([0, 1, 2]))
    assert set(small.kept) == {0, 1} and small.bytes == 2 * one  # the third did not fit
    assert torch.equal(out, fresh([0, 1, 2]))
