"""Measure the transfer network (the ``evaluate_transfer`` stage): is the style there, is the content left?

Test images are repainted into every style the network learned (all 27 on the default data; the
styles with training images on a user's subset) and judged by numbers, not by eye:

- the judge of style is a fixed StyleNet (``train_judge``, :mod:`artstyle.training.judge`: one
  recipe in code, not the pipeline's classifier, so classifier experiments never move these
  numbers), which never saw the transfer network's outputs; ``judge_balanced_accuracy`` is its
  own test balanced accuracy. ``deception_rate`` is how often it names the target style (top-1
  and top-3), against ``chance_rate`` (1 / the judge's styles: 1/27 on the default data) and
  ``identity_deception_rate`` (the same judge on the
  unstylized images, scored against every target: since the judge names one style per image,
  this is 1/27 for top-1 by construction, a sanity floor);
- ``content_ssim``: grayscale SSIM between each content image and its stylizations (structure
  survives; colour is allowed to change, that is the point of the exercise);
- ``style_distance``: the relative distance of the stylization's VGG style statistics (per-channel
  mean/std, as in training) to the target style's (the training objective's own yardstick), next to ``identity_style_distance``, the same for the
  unstylized images;
- the colour-only control, ``colour_only_deception_rate`` and ``colour_only_content_ssim``: each
  content image's per-channel mean and std set to the target style's average (no network). What
  the network scores above it is more than a colour change;
- a second judge of another family, when given (``train_judge``'s VGG19 linear probe, also a fixed
  recipe): the ``vgg_`` keys score the same repaintings and colour-only control with it, after
  everything above, so the first judge's numbers do not depend on it. The transfer network trains
  against a small pixel convnet (its critic), never against a VGG19 classifier: a gain the first
  judge sees and this one does not may be what two small pixel convnets agree on.

Timings are not metrics (they change on every run): the stylize latency is the benchmark's
(``python -m artstyle.bench stylize``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import inference, runtime
from artstyle.checkpoint import load_model
from artstyle.colour import LUMA
from artstyle.data.dataset import to_float
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.evaluation.classification import balanced_accuracy, restrict_logits
from artstyle.evaluation.image_quality import ssim
from artstyle.losses.perceptual import mean_std, style_distance
from artstyle.models.backbones import load_classifier
from artstyle.models.transfer import StyleTransferNet
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import EvaluateTransferParams, Params
from artstyle.styles import NUM_CLASSES, STYLES, canonical
from artstyle.training.style_targets import style_colour_stats


def load_transfer(
    path: str | Path, device: torch.device | None = None
) -> tuple[StyleTransferNet, dict[str, Any]]:
    """The transfer network and its checkpoint dict, in eval mode on ``device`` (CPU by default)."""
    return load_model(path, StyleTransferNet, device or torch.device("cpu"))


def grayscale(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def trained_styles_of(ckpt: dict[str, Any]) -> tuple[int, ...]:
    """The styles a checkpoint was trained on (older checkpoints, without the key: all 27)."""
    return tuple(int(i) for i in ckpt.get("trained_styles", range(NUM_CLASSES)))


def stylize_all(
    model: StyleTransferNet,
    contents: torch.Tensor,
    device: torch.device,
    batch_size: int = 64,
    styles: Sequence[int] = tuple(range(NUM_CLASSES)),
):
    """[N, 3, H, W] -> [N, len(styles), 3, H, W]: every content image in every style (float32, CPU)."""
    n, k = len(contents), len(styles)
    pairs_c = torch.arange(n).repeat_interleave(k)
    pairs_s = torch.tensor(list(styles)).repeat(n)
    # Batches of (content, style) pairs, gathered lazily: all N x 27 copies at once would not fit at 512 px.
    batches = ((contents[c], s) for c, s in inference.chunks((pairs_c, pairs_s), batch_size))
    out = inference.predict(
        lambda b: model(*b),
        batches,
        device,
        desc="stylize",
        total=inference.n_chunks(len(pairs_c), batch_size),
    )
    return out.view(n, k, *contents.shape[1:])


def classify(
    model: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 256
) -> torch.Tensor:
    return inference.predict(
        model, inference.chunks(images, batch_size), device, autocast=runtime.train_autocast
    )


def load_judge(
    path: str | Path, device: torch.device
) -> tuple[Callable[[torch.Tensor], torch.Tensor], tuple[int, ...]]:
    """A judge's checkpoint as a function images -> logits that never names a style it had no
    training image of, and those styles."""
    net, ckpt = load_classifier(path, device)
    styles = trained_styles_of(ckpt)

    def judge(x: torch.Tensor) -> torch.Tensor:
        return restrict_logits(net(x), styles)

    return judge, styles


def judge_test_predictions(
    judge: Callable[[torch.Tensor], torch.Tensor],
    judge_styles: Sequence[int],
    store: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    device: torch.device,
    desc: str = "judge",
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) of the judge on the test rows of the styles it knows (a batch at a time)."""
    covered = np.isin(labels, judge_styles)
    pred = inference.predict(
        judge,
        inference.row_chunks(store, rows[covered], 256),
        device,
        desc=desc,
        autocast=runtime.train_autocast,
    )
    return labels[covered], pred.argmax(1).numpy()


def hit_rates(logits: torch.Tensor, targets: torch.Tensor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item booleans: top-1 == target, target in top-k."""
    topk = logits.topk(k, dim=1).indices
    return topk[:, 0] == targets, (topk == targets[:, None]).any(1)


@torch.no_grad()
def style_distances(
    vgg: VGGFeatures,
    images: torch.Tensor,
    targets: torch.Tensor,
    style_targets: dict[str, torch.Tensor],
    scales: dict[str, float],
    layers: tuple[str, ...] | list[str],
    device: torch.device,
    batch_size: int = 64,
) -> torch.Tensor:
    """[N, K]: relative distance of each image's style statistics (per-channel mean/std) to those of
    the styles ``targets`` [N, K].

    Each image goes through VGG once however many styles it is compared with.
    """
    upto = max(layers, key=LAYERS.index)
    style_targets = {n: style_targets[n].to(device) for n in layers}

    def distances(batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, t = batch
        feats = vgg(x, upto=upto)
        stats = [mean_std(getattr(feats, n)) for n in layers]
        return torch.stack(
            [
                style_distance(stats, [style_targets[n][k] for n in layers], [scales[n] for n in layers])
                for k in t.T
            ],
            dim=1,
        )

    return inference.predict(
        distances,
        inference.chunks((images, targets), batch_size),
        device,
        desc="style distance",
        total=inference.n_chunks(len(images), batch_size),
    )


def match_colour(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Each image's per-channel mean and std set to ``colours`` [B, 6] (means, then stds), clamped to
    [0, 1]: Reinhard et al.'s colour transfer, in RGB. An affine map per channel, so the picture's
    structure (and its SSIM) survives."""
    flat = x.flatten(2)
    mu, sd = flat.mean(2), flat.std(2, unbiased=False).clamp_min(1e-3)
    t_mu, t_sd = colours[:, :3], colours[:, 3:]
    return (
        (x - mu[..., None, None]) / sd[..., None, None] * t_sd[..., None, None] + t_mu[..., None, None]
    ).clamp(0, 1)


def colour_only(contents: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] x [K, 6] -> [N, K, 3, H, W]: each content's per-channel mean and std set to each
    style's palette (:func:`match_colour`, no network): the control for "only a tint"."""
    n, k = len(contents), len(colours)
    out = match_colour(contents.repeat_interleave(k, dim=0), colours.repeat(n, 1))
    return out.view(n, k, *contents.shape[1:])


def pick_content_rows(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` distinct test rows (seeded), in store order."""
    pool = np.unique(rows)
    return np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))


@dataclass
class RealPictures:
    names: list[str]
    contents: list[torch.Tensor]  # [3, H, W] each, at stylize's default size
    stylized: list[torch.Tensor]  # [len(styles), 3, H, W] each
    styles: list[str]
    size: int
    texture_scale: float


def real_picture_styles(styles: Sequence[str], trained: Sequence[int], most: int = 5) -> list[int]:
    """The labels of ``styles`` the network learned; when none of them is, its first ``most``."""
    wanted = [STYLES.index(canonical(name)) for name in styles]
    kept = [i for i in wanted if i in trained]
    if len(kept) < len(wanted):
        missing = ", ".join(STYLES[i] for i in wanted if i not in trained)
        fallback = "" if kept else f"; showing {', '.join(STYLES[i] for i in list(trained)[:most])} instead"
        print(
            f"warning: evaluate_transfer.real_styles {missing} not among the styles the network learned{fallback}",
            file=sys.stderr,
        )
    return kept or list(trained)[:most]


def repaint_real(
    model: StyleTransferNet, ckpt: dict[str, Any], styles: Sequence[str], size: int
) -> RealPictures:
    """The photos that ship with our dependencies, repainted as ``artstyle stylize`` does by default
    (short side ``size``, the default texture scale) in each of ``styles`` that the network learned."""
    from artstyle import stylize as st

    pictures = st.demo_pictures()
    if not pictures:
        raise InputError("no demo photos found (matplotlib's grace_hopper.jpg, scikit-learn's china.jpg)")
    labels = real_picture_styles(styles, trained_styles_of(ckpt))
    out = RealPictures([], [], [], [STYLES[i] for i in labels], size, 1.0)
    for name, path in pictures:
        x = st.to_tensor(st.resize_short(st.read_image(path), size))
        out.texture_scale = st.default_texture_scale(min(x.shape[-2:]), int(ckpt["image_size"]))
        with torch.no_grad():
            ys = [st.stylize(model, x, torch.tensor([i]), texture_scale=out.texture_scale)[0] for i in labels]
        out.names.append(name)
        out.contents.append(x[0])
        out.stylized.append(torch.stack(ys))
    return out


@dataclass
class TransferEval:
    metrics: dict[str, float]
    per_style_deception: dict[str, float]
    per_style_identity: dict[str, float]
    contents: torch.Tensor  # [N, 3, H, W]
    stylized: torch.Tensor  # [N, len(styles), 3, H, W]
    styles: tuple[int, ...] = tuple(range(NUM_CLASSES))  # the trained styles, columns of ``stylized``
    per_style_vgg_deception: dict[str, float] | None = None  # the second judge's, when given


def evaluate_transfer(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    transfer_path: str | Path,
    judge_path: str | Path,
    *,
    vgg_judge_path: str | Path | None = None,
    device: torch.device | None = None,
) -> TransferEval:
    """The metrics of the module docstring; the ``vgg_`` keys only with ``vgg_judge_path``."""
    ev: EvaluateTransferParams = params.evaluate_transfer
    device = runtime.start(params.seed, device)

    model, ckpt = load_transfer(transfer_path, device)
    judge, judge_styles = load_judge(judge_path, device)
    styles = trained_styles_of(ckpt)
    k = len(styles)

    rows, test_labels = read_manifest(Path(splits_dir) / "test.csv")
    if len(rows) == 0:
        raise InputError(f"{splits_dir}/test.csv is empty: nothing to stylize")
    store = open_images(store_dir)
    # How good the judge itself is, on the whole test split.
    judged_labels, judge_pred = judge_test_predictions(judge, judge_styles, store, rows, test_labels, device)
    contents = to_float(store[pick_content_rows(rows, ev.content_images, params.seed)])
    n = len(contents)
    stylized = stylize_all(model, contents, device, styles=styles)
    flat = stylized.flatten(0, 1)
    styles_t = torch.tensor(styles)
    target = styles_t.repeat(n)

    top1, top3 = hit_rates(classify(judge, flat, device), target)
    id_logits = classify(judge, contents, device).repeat_interleave(k, dim=0)
    id_top1, _ = hit_rates(id_logits, target)

    content_gray = grayscale(contents).repeat_interleave(k, dim=0)
    content_ssim = ssim(content_gray, grayscale(flat), reduction="none")

    train_rows, train_labels = read_manifest(Path(splits_dir) / "train.csv")
    colour = colour_only(contents, style_colour_stats(store, train_rows, train_labels)[styles_t]).flatten(
        0, 1
    )
    colour_top1, _ = hit_rates(classify(judge, colour, device), target)
    colour_ssim = ssim(content_gray, grayscale(colour), reduction="none")

    layers = list(ckpt["params"]["style_layers"])
    vgg = VGGFeatures(last=max(layers, key=LAYERS.index), source=ckpt["vgg_source"]).to(device)
    targets, scales = ckpt["style_targets"], ckpt["style_scales"]
    dist = style_distances(vgg, flat, target[:, None], targets, scales, layers, device)
    id_dist = style_distances(vgg, contents, styles_t.expand(n, -1), targets, scales, layers, device)

    per_style = top1.view(n, k).float().mean(0)
    per_style_id = id_top1.view(n, k).float().mean(0)
    chance = 1.0 / len(judge_styles)
    metrics = {
        "deception_rate": float(top1.float().mean()),
        "deception_rate_top3": float(top3.float().mean()),
        "chance_rate": chance,
        "judge_balanced_accuracy": balanced_accuracy(judged_labels, judge_pred),
        "identity_deception_rate": float(id_top1.float().mean()),
        "content_ssim": float(content_ssim.mean()),
        "style_distance": float(dist.mean()),
        "identity_style_distance": float(id_dist.mean()),
        "colour_only_deception_rate": float(colour_top1.float().mean()),
        "colour_only_content_ssim": float(colour_ssim.mean()),
        "min_style_deception_rate": float(per_style.min()),
        "styles_above_chance": int((per_style > chance).sum()),
        "styles": k,
        "content_images": n,
    }
    names = [STYLES[i] for i in styles]
    per_style_vgg = None
    if vgg_judge_path is not None:
        # The second judge, last: nothing above depends on it.
        vgg_judge, vgg_styles = load_judge(vgg_judge_path, device)
        vgg_labels, vgg_pred = judge_test_predictions(
            vgg_judge, vgg_styles, store, rows, test_labels, device, desc="vgg judge"
        )
        vgg_top1, vgg_top3 = hit_rates(classify(vgg_judge, flat, device), target)
        vgg_colour_top1, _ = hit_rates(classify(vgg_judge, colour, device), target)
        vgg_per_style = vgg_top1.view(n, k).float().mean(0)
        vgg_chance = 1.0 / len(vgg_styles)
        metrics |= {
            "vgg_deception_rate": float(vgg_top1.float().mean()),
            "vgg_deception_rate_top3": float(vgg_top3.float().mean()),
            "vgg_colour_only_deception_rate": float(vgg_colour_top1.float().mean()),
            "vgg_judge_balanced_accuracy": balanced_accuracy(vgg_labels, vgg_pred),
            "vgg_min_style_deception_rate": float(vgg_per_style.min()),
            "vgg_styles_above_chance": int((vgg_per_style > vgg_chance).sum()),
        }
        per_style_vgg = dict(zip(names, vgg_per_style.tolist()))
    return TransferEval(
        metrics=metrics,
        per_style_deception=dict(zip(names, per_style.tolist())),
        per_style_identity=dict(zip(names, per_style_id.tolist())),
        contents=contents,
        stylized=stylized,
        styles=styles,
        per_style_vgg_deception=per_style_vgg,
    )
