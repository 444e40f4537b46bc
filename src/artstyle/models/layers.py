"""What every style classifier shares: style pooling, input normalisation, and the classifier base
class (``forward_features`` / ``forward_head``, the head / backbone split, freezing).

timm's conventions: a model is ``forward_head(forward_features(x))``; ``forward_head(...,
pre_logits=True)`` returns the pooled features the linear layer reads. On top of that a
:class:`ClassifierBase` knows which of its parameters are the head (always trained) and how its
backbone divides into ordered *blocks*, so ``classifier.freeze: N`` (train the head and the last
N blocks) means the same thing for every architecture; each model's docstring says what its
blocks are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from artstyle.errors import UserError


def mean_std_pool(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """[B, C, H, W] -> [B, 2C]: per-channel spatial mean and standard deviation."""
    # Variance in float32: under bf16 autocast, E[x^2] - E[x]^2 cancels catastrophically.
    x = x.float().flatten(2)
    var, mean = torch.var_mean(x, dim=2, unbiased=False)
    return torch.cat([mean, (var + eps).sqrt()], dim=1)


class Normalize(nn.Module):
    """RGB in [0, 1] (what :class:`artstyle.data.dataset.StoreDataset` and every caller feed) to the
    input a pretrained network was trained on: ``(x - mean) / std`` per channel.

    Inside the model, so no caller (training, evaluation, the transfer evaluation's judge) can
    forget or double it. The constants are not part of the state_dict: they follow from the
    model's ``args``, which the checkpoint records.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor([float(m) for m in mean]).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "inv_std", 1.0 / torch.tensor([float(s) for s in std]).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.inv_std


def module_blocks(
    root: nn.Module, taps: Sequence[str], *, from_start: bool = False
) -> list[list[nn.Parameter]]:
    """Split ``root``'s parameters into ordered blocks that end at the modules named in ``taps``.

    In module registration order (which is forward order for the libraries' models), the first
    block is its tap module itself (or, with ``from_start``, everything up to its end: taps that
    mark where a stage ends, like VGG's max-pools), and each later block runs from just after the
    previous tap to the end of its own: a stage is everything after the previous feature map up
    to its own (timm's ``feature_info`` names only where feature maps are taken, e.g.
    efficientnet's blocks 0, 1, 2, 4, 6). Whatever follows the last tap (a final norm, a conv
    head, pre-logits layers) belongs to the last block; whatever precedes the first (the stem) to
    none. Blocks without parameters are dropped (timm's resnet names its parameter-free stem
    activation ``act1`` first). Unknown tap names are skipped.
    """
    names = [name for name, _ in root.named_modules()]
    position = {name: i for i, name in enumerate(names)}
    ranges: list[tuple[int, int]] = []
    for tap in taps:
        if tap not in position:
            continue
        end = max(i for i, name in enumerate(names) if name == tap or name.startswith(tap + "."))
        start = ranges[-1][1] + 1 if ranges else (1 if from_start else position[tap])
        if end >= start:
            ranges.append((start, end))
    if not ranges:
        return []
    ranges[-1] = (ranges[-1][0], len(names) - 1)
    blocks: list[list[nn.Parameter]] = [[] for _ in ranges]
    for pname, p in root.named_parameters():
        owner = position[pname.rpartition(".")[0]]
        for b, (start, end) in enumerate(ranges):
            if start <= owner <= end:
                blocks[b].append(p)
                break
    return [b for b in blocks if b]


class ClassifierBase(nn.Module):
    """A style classifier: ``forward(x)`` with ``x`` RGB in [0, 1], [B, 3, H, W] -> [B, classes] logits.

    Subclasses set ``HEAD`` (the names of their head submodules: always trained, at the full
    learning rate) and implement ``forward_features``, ``forward_head``, ``blocks``, ``args`` and
    ``from_args``. ``pretrained`` says whether the backbone starts from pretrained weights, which is
    where ``classifier.backbone_lr`` applies.
    """

    HEAD: tuple[str, ...] = ("dropout", "fc")

    def __init__(self) -> None:
        super().__init__()
        self.pretrained = False
        self.backbone_frozen = False
        self._frozen_modules: list[nn.Module] = []

    # -- the interface each model implements ---------------------------------------------------

    @property
    def args(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> ClassifierBase:
        """The architecture from a checkpoint's ``args`` (no weights read, nothing downloaded)."""
        return cls(**args)

    def forward_features(self, x: torch.Tensor) -> Any:
        raise NotImplementedError

    def forward_head(self, feats: Any, pre_logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def blocks(self) -> list[list[nn.Parameter]]:
        """The backbone's blocks in forward order, as lists of parameters (what ``freeze: N`` counts)."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.backbone_frozen:
            # A linear probe: no autograd graph through the backbone (faster, less memory).
            with torch.no_grad():
                feats = self.forward_features(x)
        else:
            feats = self.forward_features(x)
        return self.forward_head(feats)

    def is_head(self, name: str) -> bool:
        return name.split(".", 1)[0] in self.HEAD

    def head_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if self.is_head(n)]

    def backbone_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not self.is_head(n)]

    def freeze(self, spec: str | int) -> None:
        """``none``: train everything; ``backbone``: the head only; N: the head and the last N blocks.

        Frozen parameters get ``requires_grad=False`` (so the optimiser, and DDP, which buckets only
        parameters that require grad, never see them), and the fully frozen submodules stay in eval
        mode through every ``train()``: their BatchNorm statistics must not drift on the new data
        while their weights cannot follow, and their dropout would only add noise to fixed features.
        """
        self.requires_grad_(True)
        self.backbone_frozen = False
        self._frozen_modules = []
        self._set_head_norm_momentum()
        if spec == "none":
            return
        blocks = self.blocks()
        n = 0 if spec == "backbone" else int(spec)
        if n > len(blocks):
            raise UserError(
                f"classifier.freeze: {n} blocks to train, but {self.describe()} has {len(blocks)} (see its docstring)"
            )
        keep = {id(p) for block in blocks[len(blocks) - n :] for p in block}
        for name, p in self.named_parameters():
            p.requires_grad_(self.is_head(name) or id(p) in keep)
        self.backbone_frozen = n == 0
        self._set_head_norm_momentum()
        if self.backbone_frozen:
            self._frozen_modules = [m for name, m in self.named_children() if name not in self.HEAD]
        else:
            self._frozen_modules = list(_fully_frozen(self))
        self.train(self.training)

    def describe(self) -> str:
        return type(self).__name__

    def _set_head_norm_momentum(self) -> None:
        """On a frozen backbone the pooled features are stationary, so the head's BatchNorm keeps
        their cumulative average (``momentum=None``): exact after any number of steps, where the
        default 0.1 would leave a short probe evaluating with statistics still near their initial
        (0, 1). Features a fine-tuned backbone moves need the moving average."""
        for name, m in self.named_modules():
            if self.is_head(name) and isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = None if self.backbone_frozen else 0.1

    def train(self, mode: bool = True) -> ClassifierBase:
        super().train(mode)
        for m in self._frozen_modules:
            m.train(False)
        return self


def _fully_frozen(module: nn.Module):
    """The largest submodules all of whose parameters are frozen (parameter-free ones left alone)."""
    for child in module.children():
        params = list(child.parameters())
        if not params:
            continue
        if not any(p.requires_grad for p in params):
            yield child
        else:
            yield from _fully_frozen(child)
