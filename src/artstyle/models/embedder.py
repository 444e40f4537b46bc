"""Style prototypes: one learned autoencoder latent per style.

``StylePrototypes(labels)`` returns latents [B, *latent_shape]; the frozen autoencoder's decoder
turns them into images. Trained so that each decoded prototype carries its style's texture and
colour statistics (see :mod:`artstyle.training.embedder`), a prototype is "what a typical painting
of this style looks like" to the autoencoder, and mixing rows mixes styles in latent space.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from artstyle.styles import NUM_CLASSES


class StylePrototypes(nn.Module):
    def __init__(self, latent_shape: tuple[int, ...] | list[int], num_styles: int = NUM_CLASSES) -> None:
        super().__init__()
        self.latent_shape = tuple(int(s) for s in latent_shape)
        self.num_styles = num_styles
        self.embedding = nn.Embedding(num_styles, math.prod(self.latent_shape))

    @property
    def args(self) -> dict[str, Any]:
        return {"latent_shape": list(self.latent_shape), "num_styles": self.num_styles}

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> StylePrototypes:
        return cls(**args)

    @torch.no_grad()
    def init_from(self, latents: torch.Tensor) -> None:
        """Set every row from ``latents`` [num_styles, *latent_shape] (e.g. per-style mean latents)."""
        self.embedding.weight.copy_(latents.reshape(self.num_styles, -1))

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.embedding(labels).view(-1, *self.latent_shape)


def from_args(args: dict[str, Any]) -> StylePrototypes:
    return StylePrototypes.from_args(args)
