"""This project's first transfer network, rebuilt for the stylize benchmark to time today's against.

Johnson et al.'s layout at half width: widths 16/32/64, three residual blocks, 9x9 convs at full
resolution in and out, nearest-neighbour upsampling; conditional instance norm with 32-number
style vectors, as today. Only its cost matters here: it has random weights and is never trained.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.models.transfer import ConvNormAct, StyleTransferNet

CHANNELS, RESIDUAL_BLOCKS, STYLE_DIM, KERNEL = (16, 32, 64), 3, 32, 9
REFERENCE_ARGS: dict[str, Any] = {  # reported next to the timings
    "channels": list(CHANNELS),
    "residual_blocks": RESIDUAL_BLOCKS,
    "style_dim": STYLE_DIM,
    "kernel": KERNEL,
    "upsample": "nearest",
}


class NearestUpsampled(nn.Module):
    """2x nearest-neighbour upsampling, then ``layer``."""

    def __init__(self, layer: ConvNormAct) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.layer(F.interpolate(x, scale_factor=2, mode="nearest"), style)


class ReferenceNet(StyleTransferNet):
    """Today's network at the first one's widths, with its 9x9 outer convs and nearest upsampling."""

    def __init__(self) -> None:
        super().__init__(channels=CHANNELS, residual_blocks=RESIDUAL_BLOCKS, style_dim=STYLE_DIM)
        self.encoder[0] = ConvNormAct(3, CHANNELS[0], KERNEL, 1, STYLE_DIM)
        self.decoder = nn.ModuleList(
            [
                NearestUpsampled(ConvNormAct(b, a, 3, 1, STYLE_DIM))
                for a, b in reversed(list(zip(CHANNELS, CHANNELS[1:])))
            ]
        )
        self.to_rgb = nn.Conv2d(CHANNELS[0], 3, KERNEL, padding=KERNEL // 2, padding_mode="reflect")


def reference_net() -> ReferenceNet:
    """The reference network (:data:`REFERENCE_ARGS`), random weights, in eval mode."""
    return ReferenceNet().eval()
