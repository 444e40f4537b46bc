"""StyleNet: a small from-scratch residual CNN for art-style classification.

Style lives in texture and colour statistics more than in object shape, so the head does not only
average the last feature map: it concatenates, for every stage, the per-channel spatial mean and
standard deviation ("style pooling"). Channel means and standard deviations are the statistics
that style transfer matches (AdaIN) and a cheap, diagonal stand-in for Gram matrices; taking them
from every stage gives the head fine brush-stroke texture (early stages) as well as composition
(late stages), not just the coarse last map.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from artstyle.models.layers import ClassifierBase, mean_std_pool
from artstyle.styles import NUM_CLASSES

__all__ = ["BasicBlock", "StyleNet", "from_args", "mean_std_pool"]


def _conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
    )


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (projected when the shape changes) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv_bn(cin, cout, stride)
        self.conv2 = _conv_bn(cout, cout)
        # The residual branch starts as zero, so each block starts as (nearly) the identity and a
        # deep stack trains as easily as a shallow one.
        nn.init.zeros_(self.conv2[1].weight)
        self.shortcut = (
            nn.Identity() if stride == 1 and cin == cout else _conv_bn(cin, cout, stride, kernel=1)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.act(self.conv1(x)))
        return self.act(out + self.shortcut(x))


class StyleNet(ClassifierBase):
    """Stem (stride 2) + ``stages`` residual stages (width doubling, stride 2 after the first).

    ``forward_features`` returns the per-stage feature maps; ``forward_head`` pools them
    (mean + std per stage, or the last stage's mean only with ``style_pool=False``) and classifies.

    Blocks (``classifier.freeze: N``): the residual stages; the stem belongs to none. Trained from
    scratch, so freezing it gives a random-features baseline and ``backbone_lr`` does not apply.
    """

    def __init__(
        self,
        num_classes: int = NUM_CLASSES,
        width: int = 32,
        depth: int = 1,
        stages: int = 4,
        dropout: float = 0.2,
        style_pool: bool = True,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.width = width
        self.depth = depth
        self.num_stages = stages
        self.dropout_p = dropout
        self.style_pool = style_pool
        self.in_chans = in_chans

        # A strided stem: at 64 px the full-resolution maps would cost most of the compute while
        # brush-stroke texture survives one 2x reduction well.
        self.stem = nn.Sequential(_conv_bn(in_chans, width, stride=2), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList()
        cin = width
        self.stage_channels: list[int] = []
        for i in range(stages):
            cout = width * 2**i
            blocks = [BasicBlock(cin, cout, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock(cout, cout) for _ in range(depth - 1)]
            self.stages.append(nn.Sequential(*blocks))
            self.stage_channels.append(cout)
            cin = cout
        self.num_features = 2 * sum(self.stage_channels) if style_pool else self.stage_channels[-1]
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def args(self) -> dict[str, Any]:
        """Everything ``from_args`` needs to rebuild this model (plain values, checkpoint-safe)."""
        return {
            "num_classes": self.num_classes,
            "width": self.width,
            "depth": self.depth,
            "stages": self.num_stages,
            "dropout": self.dropout_p,
            "style_pool": self.style_pool,
            "in_chans": self.in_chans,
        }

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def forward_head(self, feats: list[torch.Tensor], pre_logits: bool = False) -> torch.Tensor:
        if self.style_pool:
            pooled = torch.cat([mean_std_pool(f) for f in feats], dim=1)
        else:
            pooled = feats[-1].float().mean(dim=(2, 3))
        if pre_logits:
            return pooled
        return self.fc(self.dropout(pooled))

    def blocks(self) -> list[list[nn.Parameter]]:
        return [list(stage.parameters()) for stage in self.stages]


def from_args(args: dict[str, Any]) -> StyleNet:
    """Rebuild a StyleNet from a checkpoint's ``args``."""
    return StyleNet.from_args(args)
