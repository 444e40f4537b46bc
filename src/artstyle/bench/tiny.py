"""The tiny params: sizes small enough that the whole pipeline runs in well under a minute on 2 cores.

One definition for the test suite (tests/conftest.py applies them to the repository's params.yaml)
and for ``python -m artstyle.bench gpu``, whose end-to-end pipeline check runs every stage of
dvc.yaml on them.
"""

from __future__ import annotations

import copy
from typing import Any

TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "synthesize": {
        "train_images": 81,
        "test_images": 54,
        "min_train": 3,
        "min_test": 2,
        "image_size": 24,
        "workers": 2,
    },
    "data": {"image_size": 16},
    "index": {"workers": 2},
    "classifier": {"width": 8, "depth": 1, "epochs": 2, "batch_size": 16},
    "evaluate_classifier": {"batch_size": 64},
    "autoencoder": {"width": 8, "latent_channels": 4, "epochs": 1, "batch_size": 16},
    "cluster": {"n_components": 4, "n_init": 1, "pixel_size": 8},
    "embedder": {"steps": 3, "style_images_per_class": 2},
    "transfer": {
        "channels": [4, 8, 16],
        "residual_blocks": 1,
        "steps": 4,
        "style_images_per_class": 2,
        "style_pyramid": [1, 4],
    },  # 16 px / 8 would leave 2 px
    "evaluate_transfer": {"content_images": 3, "grid_images": 2, "real_styles": ["Pointillism"]},
}


def tiny_params(params: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the raw ``params`` (params.yaml as loaded) with :data:`TINY_OVERRIDES`, then
    ``overrides``, applied: a section's keys are set only where the section and key exist in
    ``params``; a non-dict override replaces the whole entry."""
    params = copy.deepcopy(params)
    for section, values in {**TINY_OVERRIDES, **(overrides or {})}.items():
        if isinstance(values, dict):
            for key, value in values.items():
                if section in params and key in params[section]:
                    params[section][key] = copy.deepcopy(value)
        else:
            params[section] = values
    return params
