"""Hinge adversarial losses (Lim & Ye 2017; the loss of spectrally normalised GANs, Miyato et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hinge_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's loss: real scores pushed above +1, fake ones below -1 (zero once they are)."""
    return F.relu(1 - real_scores.float()).mean() + F.relu(1 + fake_scores.float()).mean()


def hinge_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's loss: raise the critic's score of its images."""
    return -fake_scores.float().mean()
