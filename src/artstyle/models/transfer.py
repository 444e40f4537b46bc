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

UPSAMPLE_MODES = ("nearest", "bilinear")

# This project's first transfer network (Johnson et al.'s layout at half width, 9x9 outer convs,
# nearest upsampling). Kept so the benchmark can time today's network against it.
REFERENCE_ARGS: dict[str, Any] = {
    "channels": [16, 32, 64], "residual_blocks": 3, "style_dim": 32, "conditioning": "cin",
    "kernel": 9, "upsample": "nearest",
}


COLOUR_STATS = 6  # per style: mean and std of R, G, B


def match_colour(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Each image's per-channel mean and std set to ``colours`` [B, 6] (means, then stds), clamped to
    [0, 1]: Reinhard et al.'s colour transfer, in RGB. An affine map per channel, so the picture's
    structure (and its SSIM) survives; it is also the evaluation's colour-only control."""
    flat = x.flatten(2)
    mu, sd = flat.mean(2), flat.std(2, unbiased=False).clamp_min(1e-3)
    t_mu, t_sd = colours[:, :3], colours[:, 3:]
    return ((x - mu[..., None, None]) / sd[..., None, None] * t_sd[..., None, None] + t_mu[..., None, None]).clamp(0, 1)


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
    """(optional 2x nearest or bilinear upsampling) -> reflection-padded conv -> norm -> optional ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, norm: type[nn.Module], style_dim: int,
        upsample: str | None = None, act: bool = True,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        # Upsample + conv instead of a transposed conv: no checkerboard artefacts (Odena et al. 2016).
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect")
        self.norm = norm(cout, style_dim)
        self.act = act

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        if self.upsample == "nearest":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        elif self.upsample == "bilinear":
            # Nearest repeats each pixel 2x2, and the conv after it cannot fully hide that period:
            # a faint grid in flat areas. Bilinear has no such period.
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
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
    """encoder (full-res conv, then one stride-2 conv per further width) -> residual blocks ->
    decoder (one 2x upsample + conv per width, back to full resolution) -> RGB in [0, 1].

    ``channels`` are the widths from full resolution down to the bottleneck: ``(16, 32, 64)`` with
    ``kernel=9`` and nearest upsampling is Johnson et al.'s layout at half width (this project's
    first network, :data:`REFERENCE_ARGS`); the default keeps few channels at full resolution,
    where every channel costs the most. Its bottleneck is at 1/4: a 1/8 one (8, 16, 32, 64) costs
    about as much but blurs the picture's edges (README: style transfer, what was tried).

    ``forward(x, style)``: ``x`` RGB [B, 3, H, W] in [0, 1], any H and W; ``style`` either integer
    labels [B] or style vectors [B, style_dim] / [style_dim] (e.g. a blend from :meth:`blend`).
    """

    def __init__(
        self,
        num_styles: int = NUM_CLASSES,
        channels: tuple[int, ...] | list[int] = (8, 16, 32),
        residual_blocks: int = 3,
        style_dim: int = 32,
        conditioning: str = "cin",
        kernel: int = 3,
        upsample: str = "bilinear",
        colour_match: bool = False,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if conditioning not in ("cin", "concat"):
            raise ValueError(f"conditioning: got {conditioning!r}; allowed: cin, concat")
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample: got {upsample!r}; allowed: {', '.join(UPSAMPLE_MODES)}")
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels: got {channels!r}; need one or more positive widths")
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel: got {kernel}; need an odd size >= 1")
        self.num_styles = num_styles
        self.channels = channels
        self.num_residual_blocks = residual_blocks
        self.style_dim = style_dim
        self.conditioning = conditioning
        self.kernel = kernel
        self.upsample = upsample
        self.colour_match = colour_match
        self.residual = residual
        self.stride = 2 ** (len(channels) - 1)  # inputs are padded to a multiple of this

        self.style_embedding = nn.Embedding(num_styles, style_dim)
        # colour_match: every style also has its palette (mean + std of R, G, B over its training
        # paintings), and the input is recoloured to it before the network runs, so the network's
        # capacity goes to brush strokes and shapes rather than to the global colour shift. A style
        # vector is then [learned embedding, 6 colour numbers], and blending averages both.
        self.register_buffer("style_colours", torch.cat([torch.full((num_styles, 3), 0.5),
                                                         torch.full((num_styles, 3), 0.25)], dim=1))
        norm = ConditionalInstanceNorm if conditioning == "cin" else InstanceNorm
        self.encoder = nn.ModuleList([ConvNormAct(3, channels[0], kernel, 1, norm, style_dim)] + [
            ConvNormAct(a, b, 3, 2, norm, style_dim) for a, b in zip(channels, channels[1:])
        ])
        deep = channels[-1]
        # concat: the label vector is appended to every bottleneck position and mixed back by a 1x1 conv.
        self.fuse = nn.Conv2d(deep + style_dim, deep, 1) if conditioning == "concat" else None
        self.blocks = nn.ModuleList([ResidualBlock(deep, norm, style_dim) for _ in range(residual_blocks)])
        self.decoder = nn.ModuleList([
            ConvNormAct(b, a, 3, 1, norm, style_dim, upsample=upsample)
            for a, b in reversed(list(zip(channels, channels[1:])))
        ])
        self.to_rgb = nn.Conv2d(channels[0], 3, kernel, padding=kernel // 2, padding_mode="reflect")
        if residual:
            # residual: the network paints *on* its input, out = clamp(input + to_rgb(...), 0, 1).
            # Zero-initialised, it starts as the identity (with colour_match: the recoloured photo),
            # so the picture's edges are kept by construction instead of being rebuilt through the
            # 1/8 bottleneck, which blurs them (content SSIM 0.66 at style weight 0.3 without this).
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(self.to_rgb.bias)

    @property
    def args(self) -> dict[str, Any]:
        return {
            "num_styles": self.num_styles,
            "channels": list(self.channels),
            "residual_blocks": self.num_residual_blocks,
            "style_dim": self.style_dim,
            "conditioning": self.conditioning,
            "kernel": self.kernel,
            "upsample": self.upsample,
            "colour_match": self.colour_match,
            "residual": self.residual,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> StyleTransferNet:
        return cls(**args)

    @property
    def style_size(self) -> int:
        """Length of a style vector: the embedding, plus the palette with ``colour_match``."""
        return self.style_dim + COLOUR_STATS * self.colour_match

    def style_table(self) -> torch.Tensor:
        """[num_styles, style_size]: every style's vector."""
        if not self.colour_match:
            return self.style_embedding.weight
        return torch.cat([self.style_embedding.weight, self.style_colours.to(self.style_embedding.weight)], dim=1)

    def style_vectors(self, labels: torch.Tensor) -> torch.Tensor:
        return self.style_table()[labels]

    def blend(self, weights: torch.Tensor) -> torch.Tensor:
        """Style vector(s) for a mixture: ``weights`` [num_styles] or [B, num_styles], normalised to sum 1."""
        weights = torch.as_tensor(weights, dtype=self.style_embedding.weight.dtype,
                                  device=self.style_embedding.weight.device)
        if weights.shape[-1] != self.num_styles or (weights < 0).any() or (weights.sum(-1) <= 0).any():
            raise ValueError(f"blend weights must be {self.num_styles} non-negative numbers with a positive sum")
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
        if style.shape[-1] != self.style_size:
            raise ValueError(f"style vectors of {style.shape[-1]} numbers; this network takes {self.style_size}")
        if self.colour_match:
            x = match_colour(x, style[:, self.style_dim:].to(x.dtype))
            style = style[:, : self.style_dim]
        pad_h, pad_w = (-h) % self.stride, (-w) % self.stride
        if pad_h or pad_w:
            # Reflect mode needs pad < size; replicate works for any size (tiny images included).
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        image = x
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
        out = self.to_rgb(x)
        if self.residual:
            return (image + out).clamp(0, 1)[..., :h, :w]
        return torch.sigmoid(out)[..., :h, :w]


def from_args(args: dict[str, Any]) -> StyleTransferNet:
    return StyleTransferNet.from_args(args)
