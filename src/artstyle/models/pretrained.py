"""Any torchvision or timm architecture as a style classifier (``classifier.backbone:
torchvision/<name>`` or ``timm/<name>``), with ImageNet weights from a local file or the library's hub.

The library builds the model with its own constructor (``torchvision.models.get_model``,
``timm.create_model``) and, for ``weights: hub``, its own download; its 1000-class ImageNet head
is replaced by the style head (BatchNorm without affine parameters, dropout, linear layer) on the
library's own pooled features. A local file is a state_dict of the library's model (the file
torchvision or timm publish): its ImageNet head is dropped and every backbone tensor must load, or
the error names the file and the first keys that do not fit. Nothing here downloads unless
``weights`` is ``hub``; rebuilding from a checkpoint's ``args`` never reads a weights file.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from artstyle.errors import InputError, UserError
from artstyle.models.layers import ClassifierBase, Normalize, module_blocks
from artstyle.models.vgg import IMAGENET_MEAN, IMAGENET_STD
from artstyle.styles import NUM_CLASSES

LIBRARIES = ("torchvision", "timm")


def _unknown(library: str, name: str, known: Sequence[str]) -> UserError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return UserError(f"classifier.backbone: {library} has no classification model {name!r}{hint}")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def _torchvision(name: str, hub: bool) -> tuple[nn.Module, int, list[str], tuple, tuple]:
    import torchvision.models as tvm

    known = tvm.list_models(module=tvm)  # classification models only (no detection / video ones)
    if name not in known:
        raise _unknown("torchvision", name, known)
    try:
        model = tvm.get_model(name, weights="DEFAULT" if hub else None)
    except Exception as e:  # noqa: BLE001 (a download or a model without weights: one line)
        raise UserError(f"classifier.weights hub: torchvision/{name}: {_first_line(e)}") from None
    # The ImageNet head is the last Linear in module order (resnet's fc, vgg's and efficientnet's
    # classifier[-1], vit's heads.head, swin's head); what precedes it (pooling, flatten, a
    # pre-logits MLP or norm) stays, so the model's output is its pre-logit features.
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise UserError(f"classifier.backbone: torchvision/{name} has no linear ImageNet head to replace")
    head_name, head = linears[-1]
    model.set_submodule(head_name, nn.Identity())
    return model, head.in_features, [head_name], IMAGENET_MEAN, IMAGENET_STD


def _timm(name: str, hub: bool) -> tuple[nn.Module, int, list[str], tuple, tuple]:
    try:
        import timm
    except ImportError:
        raise UserError(
            f"classifier.backbone: timm/{name} needs timm, an optional extra: pip install 'artstyle[timm]'"
        ) from None
    if not timm.is_model(name):
        raise _unknown("timm", name, timm.list_models())
    try:
        # num_classes=0: timm's own head removal (its pooled pre-logit features come out).
        model = timm.create_model(name, pretrained=hub, num_classes=0)
    except Exception as e:  # noqa: BLE001
        raise UserError(f"classifier.weights hub: timm/{name}: {_first_line(e)}") from None
    cfg = model.pretrained_cfg
    classifier = cfg.get("classifier") or ()
    heads = [classifier] if isinstance(classifier, str) else list(classifier)
    mean, std = tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))
    return model, int(model.num_features), heads, mean, std


def read_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    """A state_dict file (``torch.save`` or safetensors), loaded without unpickling arbitrary objects."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"classifier.weights: {path} is not a state_dict file ({_first_line(e)})") from None
    # Training checkpoints wrap the weights (timm's and many scripts' "state_dict", ours' "model").
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(
            f"classifier.weights: {path} does not hold a state_dict (a mapping of names to tensors)"
        )
    return state


def _first(keys: Sequence[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def load_backbone_file(model: nn.Module, path: str | Path, head_names: Sequence[str], label: str) -> None:
    """Load ``path`` into ``model`` (its head already removed): the file's head keys are dropped,
    every other tensor must fit; otherwise one line naming the file and the first keys that do not."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"classifier.weights: {path} not found (a state_dict file of {label}, or none / hub)"
        )
    state = dict(read_state_dict(path))
    state = {k: v for k, v in state.items() if not any(k == h or k.startswith(h + ".") for h in head_names)}
    own = model.state_dict()
    # BatchNorm's batch counter is bookkeeping, not weights: older published files lack it.
    for k in own:
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = own[k]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {list(state[k].shape)} vs {list(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = [
        *([f"missing {_first(missing)}"] if missing else []),
        *([f"unexpected {_first(unexpected)}"] if unexpected else []),
        *([f"shape (file vs model) {_first(shapes, 2)}"] if shapes else []),
    ]
    if problems:
        raise InputError(f"classifier.weights: {path} does not fit {label}: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


def _taps(library: str, model: nn.Module) -> tuple[list[str], bool]:
    """The modules the backbone's blocks end at, and whether the first block starts at the
    model's start (see :class:`PretrainedClassifier` and :func:`module_blocks`)."""
    if library == "timm":
        info = getattr(model, "feature_info", None)
        if info:
            return [f["module"] for f in info], False
    else:
        resnet = [f"layer{i}" for i in range(1, 8) if hasattr(model, f"layer{i}")]
        if resnet:
            return resnet, False
        trunk = getattr(model, "trunk_output", None)  # regnet
        if isinstance(trunk, nn.Sequential):
            return [f"trunk_output.{n}" for n, _ in trunk.named_children()], False
        encoder = getattr(getattr(model, "encoder", None), "layers", None)  # vit
        if isinstance(encoder, nn.Sequential):
            return [f"encoder.layers.{n}" for n, _ in encoder.named_children()], False
        features = getattr(
            model, "features", None
        )  # vgg, alexnet, mobilenet, efficientnet, convnext, densenet, swin
        if isinstance(features, nn.Sequential):
            children = list(features.named_children())
            pools = [f"features.{n}" for n, m in children if isinstance(m, nn.MaxPool2d)]
            if pools:  # a stage ends at each max-pool; the first starts with the model
                return pools, True
            return [f"features.{n}" for n, _ in children], False
    return [n for n, m in model.named_children() if any(True for _ in m.parameters())], False


class PretrainedClassifier(ClassifierBase):
    """A torchvision / timm backbone (its ImageNet head replaced) + the style head.

    ``args`` (library, name, mean, std, dropout, classes) rebuild the architecture without weights;
    ``mean`` / ``std`` are the input statistics of the weights it was built with (timm's
    ``pretrained_cfg``, ImageNet's for torchvision), applied inside the model to RGB in [0, 1].

    Blocks (``classifier.freeze: N``), in module order, each from after the previous block to
    the end of its own module, whatever follows the last one (a final norm, a conv head) in the
    last, the stem in none (see :func:`artstyle.models.layers.module_blocks`):

    - timm: the modules its ``feature_info`` names (the stages feature maps are taken at:
      resnet's layer1-4, convnext's stages.0-3, vit's blocks.0-11);
    - torchvision: resnet / resnext / wide_resnet ``layer1``-``layer4``; regnet's
      ``trunk_output`` blocks; vit's ``encoder.layers``; for a ``features`` Sequential its conv
      stages up to each max-pool (vgg, alexnet) or else its children (mobilenet, efficientnet,
      convnext, densenet, swin);
    - otherwise the model's top-level children with parameters.
    """

    HEAD = ("head_norm", "dropout", "fc")

    def __init__(
        self,
        library: str,
        name: str,
        num_classes: int = NUM_CLASSES,
        dropout: float = 0.2,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        *,
        weights: str = "none",
    ) -> None:
        super().__init__()
        if library not in LIBRARIES:
            raise UserError(
                f"classifier.backbone: got {library}/{name}; the libraries are {', '.join(LIBRARIES)}"
            )
        hub = weights == "hub"
        build = _timm if library == "timm" else _torchvision
        backbone, num_features, head_names, lib_mean, lib_std = build(name, hub)
        if weights not in ("none", "hub"):
            load_backbone_file(backbone, weights, head_names, f"{library}/{name}")
        self.library, self.name, self.num_classes, self.dropout_p = library, name, num_classes, dropout
        self.mean = tuple(float(m) for m in (lib_mean if mean is None else mean))
        self.std = tuple(float(s) for s in (lib_std if std is None else std))
        self.normalize = Normalize(self.mean, self.std)
        self.backbone = backbone
        self.num_features = num_features
        self.head_norm = nn.BatchNorm1d(num_features, affine=False)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_features, num_classes)
        self._block_taps, self._blocks_from_start = _taps(library, backbone)
        self.pretrained = weights != "none"

    @property
    def args(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "name": self.name,
            "num_classes": self.num_classes,
            "dropout": self.dropout_p,
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> PretrainedClassifier:
        return cls(**args, weights="none")  # the checkpoint's state_dict holds the weights

    def describe(self) -> str:
        return f"{self.library}/{self.name}"

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalize(x))

    def forward_head(self, feats: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.head_norm(feats.float().flatten(1))
        if pre_logits:
            return pooled
        return self.fc(self.dropout(pooled))

    def blocks(self) -> list[list[nn.Parameter]]:
        return module_blocks(self.backbone, self._block_taps, from_start=self._blocks_from_start)
