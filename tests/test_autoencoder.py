"""ConvAutoencoder shapes and learning, PSNR / SSIM / sharpness on known cases, the training loop's determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_e2e_autoencoder import make_fake_store, tiny_params

from artstyle.evaluation.image_quality import (
    MAX_PSNR,
    SHARPNESS_FLOOR,
    gradient_energy,
    psnr,
    sharpness,
    ssim,
)
from artstyle.losses.reconstruction import reconstruction_loss, ssim_loss
from artstyle.models.autoencoder import ConvAutoencoder, from_args
from artstyle.params import load_params
from artstyle.training.autoencoder import one_per_style, train_autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(("width", "latent", "size"), [(4, 2, 16), (8, 4, 32), (8, 16, 24)])
def test_shapes_range_and_roundtrip(width, latent, size):
    torch.manual_seed(0)
    model = ConvAutoencoder(width=width, latent_channels=latent, image_size=size).eval()
    x = torch.rand(3, 3, size, size)
    z = model.encode(x)
    assert z.shape == (3, latent, size // 8, size // 8) == (3, *model.latent_shape)
    out = model.decode(z)
    assert out.shape == x.shape
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert torch.equal(model(x), out)
    assert model.compression_ratio == pytest.approx(3 * size * size / (latent * (size // 8) ** 2))
    # A checkpoint's args rebuild the same network.
    clone = from_args(model.args)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone.eval()(x), out)


def test_image_size_must_be_multiple_of_8():
    with pytest.raises(ValueError, match="multiple of 8"):
        ConvAutoencoder(image_size=20)


def test_decode_is_differentiable_in_the_latent():
    # The style-transfer stage optimises latents through the frozen decoder.
    model = ConvAutoencoder(width=4, latent_channels=2, image_size=16).eval()
    z = torch.randn(1, 2, 2, 2, requires_grad=True)
    model.decode(z).mean().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_one_batch_overfit():
    torch.manual_seed(0)
    model = ConvAutoencoder(width=8, latent_channels=8, image_size=16)
    x = torch.rand(8, 3, 16, 16)
    x = F.avg_pool2d(x, 3, 1, 1)  # some spatial correlation, like images
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = reconstruction_loss("mse", 0.0)
    with torch.no_grad():
        model.eval()
        first = float(loss_fn(model(x), x))
    model.train()
    for _ in range(300):
        loss = loss_fn(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        last = float(loss_fn(model(x), x))
    assert last < 0.25 * first, (first, last)


def test_psnr_known_cases():
    x = torch.full((2, 3, 8, 8), 0.5)
    assert psnr(x, x).item() == pytest.approx(MAX_PSNR)
    y = x + 0.1  # MSE 0.01 -> 20 dB
    assert psnr(y, x).item() == pytest.approx(20.0, abs=1e-4)
    per_image = psnr(torch.stack([y[0], x[1] + 0.01]), x, reduction="none")
    assert per_image.tolist() == pytest.approx([20.0, 40.0], abs=1e-3)


def test_ssim_known_cases():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    assert ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    s = ssim(noisy, x).item()
    assert 0 < s < 0.9
    assert ssim(x, noisy).item() == pytest.approx(s, abs=1e-6)  # symmetric
    # Constant images a, b: SSIM = (2ab + C1) / (a^2 + b^2 + C1) exactly (no variance terms).
    a, b = 0.3, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b)).item() == pytest.approx(
        expected, rel=1e-4
    )
    # Blurring lowers SSIM more than a tiny uniform shift that keeps the structure.
    blurred = F.avg_pool2d(x, 3, 1, 1)
    assert ssim(blurred, x).item() < ssim((x + 0.02).clamp(0, 1), x).item()


def test_sharpness_known_cases():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16)
    assert sharpness(x, x).item() == pytest.approx(1.0)
    # Gradient energy by hand: a vertical edge of height 1 in one of 3 channels, 4 x 4 image: one
    # horizontal step per row (4 of 12 differences per channel), none vertically.
    edge = torch.zeros(1, 3, 4, 4)
    edge[0, 0, :, 2:] = 1.0
    assert gradient_energy(edge).item() == pytest.approx(4 / (3 * 4 * 3))
    # Blur keeps less of the detail, the more the blur; noise adds energy; each image on its own.
    blur1, blur2 = F.avg_pool2d(x, 3, 1, 1), F.avg_pool2d(F.avg_pool2d(x, 3, 1, 1), 3, 1, 1)
    assert sharpness(blur2, x).item() < sharpness(blur1, x).item() < 1.0
    noisy = x + 0.3 * torch.randn_like(x)
    assert sharpness(noisy, x).item() > 1.0
    per_image = sharpness(torch.stack([blur1[0], x[1], noisy[2]]), x, reduction="none")
    assert per_image[0].item() < 1.0 < per_image[2].item()
    assert per_image[1].item() == pytest.approx(1.0)
    # The batch value is the geometric mean of the per-image ratios.
    assert sharpness(torch.stack([blur1[0], x[1], noisy[2]]), x).item() == pytest.approx(
        per_image.log().mean().exp().item()
    )
    # A flat reference gives a finite ratio; the floor is what a flat reconstruction scores.
    flat = torch.full((1, 3, 8, 8), 0.5)
    assert sharpness(flat, flat).item() == pytest.approx(1.0)
    assert sharpness(flat, x[:1, :, :8, :8]).item() == pytest.approx(
        SHARPNESS_FLOOR / (gradient_energy(x[:1, :, :8, :8]).item() + SHARPNESS_FLOOR)
    )
    with pytest.raises(ValueError, match="one shape"):
        sharpness(x, x[:, :, :8])


def test_ssim_window_and_gradient():
    g = torch.exp(-((torch.arange(11.0) - 5) ** 2) / (2 * 1.5**2))
    w = torch.outer(g, g) / g.sum() ** 2  # the normalised 11x11 gaussian window, sigma 1.5
    # The separable implementation equals a direct 2-D gaussian filter (Wang et al.'s definition).
    torch.manual_seed(1)
    a, b = torch.rand(2, 3, 20, 20), torch.rand(2, 3, 20, 20)
    k = w.expand(3, 1, 11, 11)

    def blur(t):
        return F.conv2d(t, k, groups=3)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    direct = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    assert ssim(a, b, reduction="none").tolist() == pytest.approx(
        direct.flatten(1).mean(1).tolist(), abs=1e-5
    )
    x = torch.rand(1, 3, 8, 8)  # smaller than the 11x11 window: the window shrinks
    y = torch.rand(1, 3, 8, 8, requires_grad=True)
    ssim_loss(y, x).backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_reconstruction_losses():
    torch.manual_seed(0)
    out, x = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    mse = F.mse_loss(out, x).item()
    assert reconstruction_loss("mse", 0.5)(out, x).item() == pytest.approx(mse)
    assert reconstruction_loss("mse+l1", 0.25)(out, x).item() == pytest.approx(
        0.75 * mse + 0.25 * F.l1_loss(out, x).item()
    )
    assert reconstruction_loss("mse+ssim", 0.5)(out, x).item() == pytest.approx(
        0.5 * mse + 0.5 * (1 - ssim(out, x).item())
    )
    with pytest.raises(ValueError):
        reconstruction_loss("l2", 0.1)


def test_one_per_style():
    rows, labels = one_per_style(np.array([10, 11, 12, 13, 14]), np.array([3, 1, 3, 0, 1]))
    assert labels.tolist() == [0, 1, 3] and rows.tolist() == [13, 11, 10]


def test_training_is_deterministic_on_cpu_and_improves(tmp_path):
    store, manifests = make_fake_store(tmp_path / "data")
    params = load_params(tiny_params(tmp_path / "params.yaml", autoencoder={"epochs": 3, "lr": 0.01}))
    cpu = torch.device("cpu")
    a = train_autoencoder(params, store, manifests, device=cpu)
    b = train_autoencoder(params, store, manifests, device=cpu)
    assert a.metrics == b.metrics
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    losses = [h["train_loss"] for h in a.history]
    assert losses[-1] < losses[0]
    assert 1 <= a.metrics["best_epoch"] <= 3
    assert a.metrics["best_val_loss"] == pytest.approx(min(h["val_loss"] for h in a.history))
    assert math.isfinite(a.metrics["test_psnr"])
    assert a.example_labels.tolist() == [0, 5, 12] and a.reconstructions.shape == (3, 3, 16, 16)
