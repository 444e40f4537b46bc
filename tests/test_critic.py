"""The transfer network's style critic: discriminator shapes, hinge losses, the critic's updates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artstyle.losses.adversarial import hinge_critic_loss, hinge_generator_loss
from artstyle.models.discriminator import StyleDiscriminator
from artstyle.styles import NUM_CLASSES
from artstyle.training.critic import StyleCritic

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("width", "layers", "size"), [(4, 1, 8), (8, 2, 8), (16, 3, 16), (16, 4, 64), (8, 4, 37)]
)
def test_scores_are_one_finite_number_per_image(width, layers, size):
    torch.manual_seed(0)
    d = StyleDiscriminator(
        NUM_CLASSES, width, layers
    ).eval()  # eval: the spectral norm's power iteration holds still
    x = torch.rand(3, 3, size, size)
    style = torch.tensor([0, 5, 26])
    s = d(x, style)
    assert s.shape == (3,) and torch.isfinite(s).all()
    assert d.forward_features(x).shape == (3, width * 2 ** min(layers - 1, 2))
    assert torch.equal(d.forward_head(d.forward_features(x), style), s)
    # The projection head: the same image scores differently for another style.
    assert not torch.allclose(d(x, style), d(x, torch.tensor([1, 6, 25])))
    d.train()(x, style).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())


def test_bad_discriminator_sizes_are_errors():
    with pytest.raises(ValueError, match="width and layers must be >= 1"):
        StyleDiscriminator(NUM_CLASSES, 0)


def test_every_layer_is_spectrally_normalised():
    torch.manual_seed(0)
    d = StyleDiscriminator(NUM_CLASSES, 8, 3)
    for _ in range(30):  # the power iteration converges over forward passes
        d(torch.rand(2, 3, 16, 16), torch.tensor([0, 1]))
    for layer in [*d.convs, d.score, d.style_embedding]:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)


def test_hinge_losses():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0])
    # real: relu(1 - 2) = 0, relu(1 - 0) = 1; fake: relu(1 - 2) = 0, relu(1 + 0) = 1
    assert float(hinge_critic_loss(real, fake)) == pytest.approx(1.0)
    assert float(hinge_generator_loss(fake)) == pytest.approx(1.0)
    assert float(hinge_critic_loss(torch.tensor([1.5]), torch.tensor([-1.5]))) == 0.0  # past both margins


def _two_style_store():
    """Style 3: red paintings, style 7: blue ones (8 each, rows interleaved); style 0 has none."""
    images = np.zeros((16, 16, 16, 3), dtype=np.uint8)
    images[0::2, ..., 0] = 220
    images[1::2, ..., 2] = 220
    rows = np.arange(16)
    labels = np.where(rows % 2 == 0, 3, 7)
    return images, rows, labels


def test_real_batches_are_paintings_of_the_requested_styles_in_order():
    images, rows, labels = _two_style_store()
    critic = StyleCritic(images, rows, labels, (3, 7), width=4, lr=1e-3, seed=0, device=CPU)
    style = torch.tensor([7, 3, 3, 7, 7])
    real = critic.real_batch(style)
    assert real.shape == (5, 3, 16, 16)
    red = real[:, 0].mean((1, 2)) > 0.5
    assert red.tolist() == [False, True, True, False, False]


def test_the_critic_learns_to_tell_real_from_fake_and_only_the_network_gets_the_adversarial_gradient():
    images, rows, labels = _two_style_store()
    critic = StyleCritic(images, rows, labels, (3, 7), width=4, lr=2e-3, seed=0, device=CPU)
    style = torch.tensor([3, 7, 3, 7])
    fake = torch.full((4, 3, 16, 16), 0.5)  # grey: neither style's colour
    losses = [float(critic.update(fake, style)) for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0]
    with torch.no_grad():
        assert float(critic.net(critic.real_batch(style), style).mean()) > float(
            critic.net(fake, style).mean()
        )
    # The generator's term: a gradient for the images, none for the critic.
    before = [p.grad.clone() for p in critic.net.parameters()]  # left by the last update
    x = fake.clone().requires_grad_(True)
    critic.generator_loss(x, style).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(torch.equal(p.grad, g) for p, g in zip(critic.net.parameters(), before))


def test_the_critic_is_seeded_and_leaves_the_global_rng_alone():
    images, rows, labels = _two_style_store()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = StyleCritic(images, rows, labels, (3, 7), width=4, lr=1e-3, seed=5, device=CPU)
    assert torch.equal(torch.rand(3), expected)
    b = StyleCritic(images, rows, labels, (3, 7), width=4, lr=1e-3, seed=5, device=CPU)
    assert all(torch.equal(p, q) for p, q in zip(a.net.state_dict().values(), b.net.state_dict().values()))


def test_the_classifier_head_names_a_style_per_image_and_leaves_the_other_weights_as_they_were():
    torch.manual_seed(0)
    plain = StyleDiscriminator(NUM_CLASSES, 8, 3)
    torch.manual_seed(0)
    d = StyleDiscriminator(NUM_CLASSES, 8, 3, classify=True)
    assert d.args["classify"] and not plain.args["classify"]
    # Built last: with the same seed, every other layer starts from the same weights.
    shared = plain.state_dict()
    assert all(torch.equal(v, d.state_dict()[k]) for k, v in shared.items())
    logits = d.forward_classes(d.forward_features(torch.rand(4, 3, 16, 16)))
    assert logits.shape == (4, NUM_CLASSES) and torch.isfinite(logits).all()
    with pytest.raises(ValueError, match="without a classifier"):
        plain.forward_classes(torch.zeros(1, 32))


def test_the_critic_learns_to_name_real_styles_and_the_network_is_asked_for_the_target_style():
    images, rows, labels = _two_style_store()
    critic = StyleCritic(images, rows, labels, (3, 7), width=4, lr=2e-3, seed=0, device=CPU, classify=0.5)
    style = torch.tensor([3, 7, 3, 7])
    real = critic.real_batch(style)

    def real_ce():
        with torch.no_grad():
            return float(
                torch.nn.functional.cross_entropy(
                    critic.net.forward_classes(critic.net.forward_features(real)), style
                )
            )

    before = real_ce()
    fake = torch.full((4, 3, 16, 16), 0.5)
    for _ in range(60):
        critic.update(fake, style)
    assert real_ce() < 0.5 * before
    with torch.no_grad():  # red paintings are named style 3, blue ones style 7
        assert critic.net.forward_classes(critic.net.forward_features(real)).argmax(1).tolist() == [
            3,
            7,
            3,
            7,
        ]
    # The network's term: the hinge term plus classify x the classifier's cross-entropy against
    # the target style; asking a red painting to be style 7 costs more than asking it to be 3.
    critic.net.eval()  # the spectral norms' power iteration holds still between the two computations
    x = real[:1]
    with torch.no_grad():
        h = critic.net.forward_features(x)
        hinge = hinge_generator_loss(critic.net.forward_head(h, torch.tensor([3])))
        ce = torch.nn.functional.cross_entropy(critic.net.forward_classes(h), torch.tensor([3]))
    assert float(critic.generator_loss(x, torch.tensor([3]))) == pytest.approx(
        float(hinge + 0.5 * ce), rel=1e-5
    )
    assert float(critic.generator_loss(x, torch.tensor([7]))) > float(
        critic.generator_loss(x, torch.tensor([3]))
    )
