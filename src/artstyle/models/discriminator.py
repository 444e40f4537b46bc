"""The transfer network's style critic: a small conditional discriminator (training only).

It learns, during transfer training, to tell a style's real paintings from repaintings meant to
be in that style, and the transfer network is trained to fool it (``transfer.adversarial_weight``).
That is what the VGG statistics cannot say: averaged over a style's paintings they describe an
average canvas, and for a style like Minimalism or Colour Field Painting that average is close to
ordinary pictures. A critic looks at the style's own paintings, the way
Sanakoyeu et al. 2018 ("A Style-Aware Content Loss for Real-time HD Style Transfer") train a
style-specific discriminator next to the content loss.

Layout: four stride-2 4x4 convs (leaky ReLU), spatial sum, and a projection head (Miyato &
Koyama 2018): ``score = w . h + embed(style) . h``, one shared linear score plus one learned
vector per style. Every layer is spectrally normalised (Miyato et al. 2018), which keeps the
critic's gradients bounded so a short training run stays stable. ``forward_features`` gives h.

With ``classify``, a second head names the style of h (``forward_classes``: [B, num_styles]
logits), the auxiliary classifier of AC-GAN (Odena et al. 2017). The projection head asks "is
this a real painting of style s?"; a repainting can pass it while it looks as much like a
neighbouring style (a pale Minimalism next to Rococo). The classifier asks "which style is
this?", and is trained on real paintings only, so it learns what tells the styles apart.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SN = nn.utils.parametrizations.spectral_norm


class StyleDiscriminator(nn.Module):
    def __init__(self, num_styles: int, width: int = 16, layers: int = 4, classify: bool = False) -> None:
        super().__init__()
        if width < 1 or layers < 1:
            raise ValueError(f"discriminator: width and layers must be >= 1, got {width} and {layers}")
        self.num_styles, self.width, self.num_layers = num_styles, width, layers
        chans = [3] + [width * 2 ** min(i, 2) for i in range(layers)]  # width, 2w, 4w, 4w, ...
        self.convs = nn.ModuleList(
            [SN(nn.Conv2d(a, b, 4, stride=2, padding=1)) for a, b in zip(chans, chans[1:])]
        )
        self.score = SN(nn.Linear(chans[-1], 1))
        self.style_embedding = SN(nn.Embedding(num_styles, chans[-1]))
        # Created last, so the other layers' seeded initial weights are the same with or without it.
        self.classifier = SN(nn.Linear(chans[-1], num_styles)) if classify else None

    @property
    def args(self) -> dict[str, Any]:
        return {
            "num_styles": self.num_styles,
            "width": self.width,
            "layers": self.num_layers,
            "classify": self.classifier is not None,
        }

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] [B, 3, H, W] -> [B, C]: the summed last-layer features."""
        x = x * 2 - 1
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.sum((2, 3))

    def forward_head(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.score(h).squeeze(1) + (self.style_embedding(style) * h).sum(1)

    def forward_classes(self, h: torch.Tensor) -> torch.Tensor:
        """[B, num_styles] style logits of features h (only with ``classify``)."""
        if self.classifier is None:
            raise ValueError("discriminator: built without a classifier (classify=False)")
        return self.classifier(h)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """[B] scores: high = a real painting of ``style`` (int labels [B])."""
        return self.forward_head(self.forward_features(x), style)
