"""The style critic's side of transfer training: real paintings, the critic's own update, and the
adversarial term the transfer network adds to its loss (``transfer.adversarial_weight``).

One optimiser step of the transfer network is one step of the critic: inside the network's loss
function, the critic first takes its step on a batch of real paintings of the target styles and
the network's (detached) output, then scores the output for the network's loss. So the one
plain :class:`~artstyle.training.loop.Trainer` loop drives both. The critic runs in float32,
outside bf16 autocast: its hinge margins are small differences of large sums.

With ``classify`` > 0 (``transfer.critic_classify``) the critic also learns to name the style of
the real paintings (cross-entropy, added to its hinge loss), and the network's adversarial term
adds ``classify`` x the cross-entropy of that classifier on the output against the target style.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from artstyle import inference
from artstyle.losses.adversarial import hinge_critic_loss, hinge_generator_loss
from artstyle.models.discriminator import StyleDiscriminator
from artstyle.styles import NUM_CLASSES


class StyleCritic:
    def __init__(
        self,
        images: np.ndarray,
        rows: np.ndarray,
        labels: np.ndarray,
        styles: tuple[int, ...],
        *,
        width: int,
        lr: float,
        seed: int,
        device: torch.device,
        classify: float = 0.0,
    ) -> None:
        self.images, self.device, self.classify = images, device, classify
        # Real paintings are drawn per target style, so the rarest style's few paintings are seen
        # as often as Impressionism's thousands (the repaintings' styles are drawn uniformly too).
        self.pools = {c: np.unique(rows[labels == c]) for c in styles}
        self.rng = np.random.default_rng(seed)
        with torch.random.fork_rng(devices=[]):  # seeded initial weights; the global RNG is left as it was
            torch.manual_seed(seed)
            # Four stride-2 layers at 64 px (down to 4 x 4); fewer on smaller images, never below 2 x 2.
            layers = max(1, min(4, int(images.shape[1]).bit_length() - 2))
            self.net = StyleDiscriminator(NUM_CLASSES, width, layers, classify=classify > 0).to(device)
        # Adam with beta1 = 0, the usual choice for hinge-loss critics (no momentum to overshoot with).
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.0, 0.9))

    def real_batch(self, style: torch.Tensor) -> torch.Tensor:
        """One real training painting of each style in ``style`` [B] (drawn with replacement)."""
        picked = np.array([self.rng.choice(self.pools[int(c)]) for c in style.tolist()])
        return next(inference.row_chunks(self.images, picked, len(picked))).to(self.device)

    def update(self, fake: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """One critic step on real paintings of ``style`` and the network's ``fake``; its loss."""
        real = self.real_batch(style)
        self.net.requires_grad_(True)
        with torch.autocast(self.device.type, enabled=False):
            h = self.net.forward_features(real)
            loss = hinge_critic_loss(self.net.forward_head(h, style), self.net(fake.detach().float(), style))
            if self.classify > 0:  # the classifier learns from real paintings only (a fake has no true style)
                loss = loss + F.cross_entropy(self.net.forward_classes(h), style)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def generator_loss(self, fake: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The adversarial term of the network's loss (the hinge term, plus ``classify`` x the
        classifier's cross-entropy against ``style`` when on); the critic's weights get no gradient."""
        self.net.requires_grad_(False)
        with torch.autocast(self.device.type, enabled=False):
            h = self.net.forward_features(fake.float())
            loss = hinge_generator_loss(self.net.forward_head(h, style))
            if self.classify > 0:
                loss = loss + self.classify * F.cross_entropy(self.net.forward_classes(h), style)
            return loss
