"""ConvAutoencoder: a strided-conv encoder to a compact latent map and an upsampling decoder.

The students' autoencoders kept full resolution all the way through ("cuda memory is a problem")
and were blurry. Here the encoder halves the resolution three times (strided conv + BatchNorm +
ReLU), so an ``s x s`` image becomes a ``latent_channels x s/8 x s/8`` map, and the decoder
mirrors it with nearest-neighbour upsampling followed by a 3x3 conv: unlike transposed convs with
stride 2, every output pixel then sees the same number of kernel taps, so there are no
checkerboard artefacts. The last upsampling step is followed by a single conv straight to RGB:
a full-width conv at full resolution would cost about as much as the rest of the network on CPU
and bought little sharpness at 64 px.

The latent is linear (no BatchNorm / activation after the last encoder conv): ``decode(z)`` is then
a plain function of an unconstrained tensor, which the style-transfer stage relies on when it
optimises embeddings and decodes them through the frozen decoder.

The style code. A painting's style is in how its feature maps fire (colour, stroke, texture), not
where, which is what the mean and standard deviation of each channel describe (the statistics
AdaIN transfers). ``style_code`` is those statistics for every encoder stage, the latent map, and
one deeper stage (a stride-2 branch at 1/16 of the image that only the style code reads): the
encoder's multi-scale summary of the painting, 2 x (w + 2w + 4w + 8w + latent_channels) values.
The latent clustering clusters it. Training shapes it towards the VGG19 statistics of the same
painting (:mod:`artstyle.training.autoencoder`); it never sees a style label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from artstyle.losses.perceptual import mean_std

DOWNSAMPLING = 8  # three stride-2 stages


def _conv_bn_act(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _up_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv_bn_act(cin, cout))


class ConvAutoencoder(nn.Module):
    """Encoder widths ``width, 2*width, 4*width`` (each stride 2, the last two followed by a second
    conv), then a 1x1 conv to the latent; a ``8*width`` stride-2 branch feeds the style code only.

    Inputs are float images in [0, 1] whose sides are multiples of 8; outputs are in [0, 1]
    (sigmoid).
    """

    def __init__(
        self, width: int = 32, latent_channels: int = 16, image_size: int = 64, in_chans: int = 3
    ) -> None:
        super().__init__()
        if image_size % DOWNSAMPLING:
            raise ValueError(f"image_size must be a multiple of {DOWNSAMPLING}, got {image_size}")
        self.width = width
        self.latent_channels = latent_channels
        self.image_size = image_size
        self.in_chans = in_chans

        w = width
        self.stages = nn.ModuleList(
            [
                _conv_bn_act(in_chans, w, stride=2),
                nn.Sequential(_conv_bn_act(w, 2 * w, stride=2), _conv_bn_act(2 * w, 2 * w)),
                nn.Sequential(_conv_bn_act(2 * w, 4 * w, stride=2), _conv_bn_act(4 * w, 4 * w)),
            ]
        )
        self.to_latent = nn.Conv2d(4 * w, latent_channels, 1)
        self.style_branch = nn.Sequential(_conv_bn_act(4 * w, 8 * w, stride=2), _conv_bn_act(8 * w, 8 * w))
        self.decoder = nn.Sequential(
            _conv_bn_act(latent_channels, 4 * w),
            _up_conv(4 * w, 2 * w),
            _up_conv(2 * w, w),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w, in_chans, 3, padding=1),
            nn.Sigmoid(),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        side = self.image_size // DOWNSAMPLING
        return (self.latent_channels, side, side)

    @property
    def style_dim(self) -> int:
        """Length of :meth:`style_code`: mean and std of every encoder stage, the branch and the latent."""
        return 2 * (15 * self.width + self.latent_channels)

    @property
    def compression_ratio(self) -> float:
        """Input values per latent value (e.g. 3*64*64 / (16*8*8) = 12)."""
        c, h, w = self.latent_shape
        return (self.in_chans * self.image_size**2) / (c * h * w)

    @property
    def args(self) -> dict[str, Any]:
        """Everything ``from_args`` needs to rebuild this model (plain values, checkpoint-safe)."""
        return {
            "width": self.width,
            "latent_channels": self.latent_channels,
            "image_size": self.image_size,
            "in_chans": self.in_chans,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> ConvAutoencoder:
        return cls(**args)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, s, s] in [0, 1] -> latent [B, latent_channels, s/8, s/8]."""
        for stage in self.stages:
            x = stage(x)
        return self.to_latent(x)

    def encode_with_style(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(latent, style code [B, style_dim]) of one encoder pass (module doc)."""
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        z = self.to_latent(x)
        maps += [self.style_branch(x), z]
        return z, torch.cat([mean_std(m) for m in maps], dim=1)

    def style_code(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, s, s] -> [B, style_dim]: the representation the latent clustering clusters."""
        return self.encode_with_style(x)[1]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent [B, latent_channels, h, w] -> image [B, 3, 8h, 8w] in [0, 1]."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def from_args(args: dict[str, Any]) -> ConvAutoencoder:
    """Rebuild a ConvAutoencoder from a checkpoint's ``args``."""
    return ConvAutoencoder.from_args(args)


def load_autoencoder(path: str | Path, device: Any = None) -> ConvAutoencoder:
    """The trained autoencoder at ``path``, frozen and in eval mode (BatchNorm uses its running
    statistics), moved to ``device`` in its memory format when one is given."""
    from artstyle.checkpoint import load_model

    model, _ = load_model(path, ConvAutoencoder, device)
    return model.requires_grad_(False)
