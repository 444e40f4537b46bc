"""A style-conditioned image transformation network (Dumoulin, Shlens & Kudlur 2017).

One network for all styles: each style is a learned vector (a row of ``nn.Embedding``), and every
normalisation layer turns it into a per-channel scale and shift (conditional instance norm). A
style is therefore a point in embedding space: blending two styles is averaging their vectors,
which, because the map to scale/shift is affine, is exactly Dumoulin et al.'s interpolation of the
normalisation parameters.

``conditioning="concat"`` is the baseline the course's students built: the label embedding is
broadcast and concatenated to the bottleneck, mixed in by a 1x1 conv. It conditions weakly for a
structural reason: a spatially constant input only adds a per-channel constant, which the next
instance norm subtracts again. Fed straight into a conv + instance norm, the label has *exactly*
no effect on the output; here a ReLU follows the 1x1 conv, so the label survives only through
which units it switches on or off.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.styles import NUM_CLASSES

STRIDE = 4  # two stride-2 convolutions: inputs are padded to a multiple of this


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

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        gamma, beta = self.affine(style).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return self.norm(x) * gamma + beta


class InstanceNorm(nn.Module):
    """Plain affine instance norm with the conditional norm's call signature (style ignored)."""

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        return self.norm(x)


class ConvNormAct(nn.Module):
    """(optional 2x nearest upsampling) -> reflection-padded conv -> norm -> optional ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, norm: type[nn.Module], style_dim: int,
        upsample: bool = False, act: bool = True,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        # Upsample + conv instead of a transposed conv: no checkerboard artefacts (Odena et al. 2016).
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect")
        self.norm = norm(cout, style_dim)
        self.act = act

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(self.conv(x), style)
        return F.relu(x) if self.act else x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: type[nn.Module], style_dim: int) -> None:
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3, 1, norm, style_dim)
        self.b = ConvNormAct(channels, channels, 3, 1, norm, style_dim, act=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        return x + self.b(self.a(x, style), style)


class StyleTransferNet(nn.Module):
    """encoder (3 convs, /4) -> residual blocks -> decoder (2 upsample convs, x4) -> RGB in [0, 1].

    ``forward(x, style)``: ``x`` RGB [B, 3, H, W] in [0, 1], any H and W; ``style`` either integer
    labels [B] or style vectors [B, style_dim] / [style_dim] (e.g. a blend from :meth:`blend`).
    """

    def __init__(
        self,
        num_styles: int = NUM_CLASSES,
        width: int = 32,
        residual_blocks: int = 3,
        style_dim: int = 32,
        conditioning: str = "cin",
    ) -> None:
        super().__init__()
        if conditioning not in ("cin", "concat"):
            raise ValueError(f"conditioning: got {conditioning!r}; allowed: cin, concat")
        self.num_styles = num_styles
        self.width = width
        self.num_residual_blocks = residual_blocks
        self.style_dim = style_dim
        self.conditioning = conditioning

        self.style_embedding = nn.Embedding(num_styles, style_dim)
        norm = ConditionalInstanceNorm if conditioning == "cin" else InstanceNorm
        w = width
        self.encoder = nn.ModuleList([
            ConvNormAct(3, w, 9, 1, norm, style_dim),
            ConvNormAct(w, 2 * w, 3, 2, norm, style_dim),
            ConvNormAct(2 * w, 4 * w, 3, 2, norm, style_dim),
        ])
        # concat: the label vector is appended to every bottleneck position and mixed back by a 1x1 conv.
        self.fuse = nn.Conv2d(4 * w + style_dim, 4 * w, 1) if conditioning == "concat" else None
        self.blocks = nn.ModuleList([ResidualBlock(4 * w, norm, style_dim) for _ in range(residual_blocks)])
        self.decoder = nn.ModuleList([
            ConvNormAct(4 * w, 2 * w, 3, 1, norm, style_dim, upsample=True),
            ConvNormAct(2 * w, w, 3, 1, norm, style_dim, upsample=True),
        ])
        self.to_rgb = nn.Conv2d(w, 3, 9, padding=4, padding_mode="reflect")

    @property
    def args(self) -> dict[str, Any]:
        return {
            "num_styles": self.num_styles,
            "width": self.width,
            "residual_blocks": self.num_residual_blocks,
            "style_dim": self.style_dim,
            "conditioning": self.conditioning,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> StyleTransferNet:
        return cls(**args)

    def style_vectors(self, labels: torch.Tensor) -> torch.Tensor:
        return self.style_embedding(labels)

    def blend(self, weights: torch.Tensor) -> torch.Tensor:
        """Style vector(s) for a mixture: ``weights`` [num_styles] or [B, num_styles], normalised to sum 1."""
        weights = torch.as_tensor(weights, dtype=self.style_embedding.weight.dtype,
                                  device=self.style_embedding.weight.device)
        if weights.shape[-1] != self.num_styles or (weights < 0).any() or (weights.sum(-1) <= 0).any():
            raise ValueError(f"blend weights must be {self.num_styles} non-negative numbers with a positive sum")
        return (weights / weights.sum(-1, keepdim=True)) @ self.style_embedding.weight

    def _style(self, style: torch.Tensor, batch: int) -> torch.Tensor:
        if not torch.is_floating_point(style):
            style = self.style_vectors(style)
        if style.dim() == 1:
            style = style.unsqueeze(0)
        return style.expand(batch, -1) if style.shape[0] == 1 and batch > 1 else style

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        style = self._style(style, x.shape[0])
        pad_h, pad_w = (-h) % STRIDE, (-w) % STRIDE
        if pad_h or pad_w:
            # Reflect mode needs pad < size; replicate works for any size (tiny images included).
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        for layer in self.encoder:
            x = layer(x, style)
        if self.fuse is not None:
            label = style[:, :, None, None].expand(-1, -1, *x.shape[-2:]).to(x.dtype)
            # The ReLU is what lets the label through at all (see the module docstring).
            x = F.relu(self.fuse(torch.cat([x, label], dim=1)))
        for block in self.blocks:
            x = block(x, style)
        for layer in self.decoder:
            x = layer(x, style)
        return torch.sigmoid(self.to_rgb(x))[..., :h, :w]


def from_args(args: dict[str, Any]) -> StyleTransferNet:
    return StyleTransferNet.from_args(args)
