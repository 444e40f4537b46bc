"""A style-conditioned image transformation network (Dumoulin, Shlens & Kudlur 2017).

One network for all styles: each style is a learned vector (a row of ``nn.Embedding``), and every
normalisation layer turns it into a per-channel scale and shift (conditional instance norm). A
style is therefore a point in embedding space: blending two styles is averaging their vectors,
which, because the map to scale/shift is affine, is exactly Dumoulin et al.'s interpolation of the
normalisation parameters.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.styles import NUM_CLASSES


class ConditionalInstanceNorm(nn.Module):
    """InstanceNorm whose per-channel scale and shift are an affine function of a style vector."""

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.affine = nn.Linear(style_dim, 2 * channels)
        # Start at gamma = 1, beta = 0 for every style, with a small random part so styles can
        # separate from the first step.
        nn.init.normal_(self.affine.weight, std=0.02)
        with torch.no_grad():
            self.affine.bias.copy_(torch.cat([torch.ones(channels), torch.zeros(channels)]))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(style).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return self.norm(x) * gamma + beta


class ConvNormAct(nn.Module):
    """(optional 2x bilinear upsampling) -> reflection-padded conv -> conditional norm -> optional ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int,
        style_dim: int,
        upsample: bool = False,
        act: bool = True,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        # Upsample + conv instead of a transposed conv: no checkerboard artefacts (Odena et al. 2016).
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect")
        self.norm = ConditionalInstanceNorm(cout, style_dim)
        self.act = act

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            # Bilinear, not nearest: nearest repeats each pixel 2x2, and the conv after it cannot
            # fully hide that period (a faint grid in flat areas). Bilinear has no such period.
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.norm(self.conv(x), style)
        return F.relu(x) if self.act else x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3, 1, style_dim)
        self.b = ConvNormAct(channels, channels, 3, 1, style_dim, act=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, style), style)


class StyleTransferNet(nn.Module):
    """encoder (full-res conv, then one stride-2 conv per further width) -> residual blocks ->
    decoder (one 2x upsample + conv per width, back to full resolution) -> RGB in [0, 1].

    ``channels`` are the widths from full resolution down to the bottleneck. The default keeps few
    channels at full resolution, where every channel costs the most, and every conv is 3x3. Its
    bottleneck is at 1/4: a deeper one (one more width) costs about as much but blurs the
    picture's edges, which are rebuilt from the bottleneck.

    ``forward(x, style)``: ``x`` RGB [B, 3, H, W] in [0, 1], any H and W; ``style`` either integer
    labels [B] or style vectors [B, style_dim] / [style_dim] (e.g. a blend from :meth:`blend`).
    """

    def __init__(
        self,
        num_styles: int = NUM_CLASSES,
        channels: tuple[int, ...] | list[int] = (8, 16, 32),
        residual_blocks: int = 3,
        style_dim: int = 32,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels: got {channels!r}; need one or more positive widths")
        self.num_styles = num_styles
        self.channels = channels
        self.num_residual_blocks = residual_blocks
        self.style_dim = style_dim
        self.stride = 2 ** (len(channels) - 1)  # inputs are padded to a multiple of this

        self.style_embedding = nn.Embedding(num_styles, style_dim)
        self.encoder = nn.ModuleList(
            [ConvNormAct(3, channels[0], 3, 1, style_dim)]
            + [ConvNormAct(a, b, 3, 2, style_dim) for a, b in zip(channels, channels[1:])]
        )
        deep = channels[-1]
        self.blocks = nn.ModuleList([ResidualBlock(deep, style_dim) for _ in range(residual_blocks)])
        self.decoder = nn.ModuleList(
            [
                ConvNormAct(b, a, 3, 1, style_dim, upsample=True)
                for a, b in reversed(list(zip(channels, channels[1:])))
            ]
        )
        self.to_rgb = nn.Conv2d(channels[0], 3, 3, padding=1, padding_mode="reflect")

    @property
    def args(self) -> dict[str, Any]:
        return {
            "num_styles": self.num_styles,
            "channels": list(self.channels),
            "residual_blocks": self.num_residual_blocks,
            "style_dim": self.style_dim,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> StyleTransferNet:
        return cls(**args)

    def style_table(self) -> torch.Tensor:
        """[num_styles, style_dim]: every style's vector."""
        return self.style_embedding.weight

    def style_vectors(self, labels: torch.Tensor) -> torch.Tensor:
        return self.style_table()[labels]

    def blend(self, weights: torch.Tensor) -> torch.Tensor:
        """Style vector(s) for a mixture: ``weights`` [num_styles] or [B, num_styles], normalised to sum 1."""
        weights = torch.as_tensor(
            weights, dtype=self.style_embedding.weight.dtype, device=self.style_embedding.weight.device
        )
        if weights.shape[-1] != self.num_styles or (weights < 0).any() or (weights.sum(-1) <= 0).any():
            raise ValueError(
                f"blend weights must be {self.num_styles} non-negative numbers with a positive sum"
            )
        return (weights / weights.sum(-1, keepdim=True)) @ self.style_table()

    def _style(self, style: torch.Tensor, batch: int) -> torch.Tensor:
        if not torch.is_floating_point(style):
            style = self.style_vectors(style)
        if style.dim() == 1:
            style = style.unsqueeze(0)
        return style.expand(batch, -1) if style.shape[0] == 1 and batch > 1 else style

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        style = self._style(style, x.shape[0])
        if style.shape[-1] != self.style_dim:
            raise ValueError(
                f"style vectors of {style.shape[-1]} numbers; this network takes {self.style_dim}"
            )
        pad_h, pad_w = (-h) % self.stride, (-w) % self.stride
        if pad_h or pad_w:
            # Reflect mode needs pad < size; replicate works for any size (tiny images included).
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        for layer in self.encoder:
            x = layer(x, style)
        for block in self.blocks:
            x = block(x, style)
        for layer in self.decoder:
            x = layer(x, style)
        return torch.sigmoid(self.to_rgb(x))[..., :h, :w]


def from_args(args: dict[str, Any]) -> StyleTransferNet:
    return StyleTransferNet.from_args(args)
