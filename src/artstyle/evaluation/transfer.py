"""Measure the transfer network (the ``evaluate_transfer`` stage): is the style there, is the content left?

Test images are repainted into every one of the 27 styles and judged by numbers, not by eye:

- the trained classifier, which never saw the transfer network's outputs in training, is the
  judge of style: ``deception_rate`` is how often it names the target style (top-1 and top-3),
  against ``chance_rate`` (1/27) and ``identity_deception_rate`` (the same judge on the
  unstylized images, scored against every target: since the judge names one style per image,
  this is 1/27 for top-1 by construction, a sanity floor);
- ``content_ssim``: grayscale SSIM between each content image and its stylizations (structure
  survives; colour is allowed to change, that is the point of the exercise);
- ``style_gram_distance``: the relative Gram distance to the target style's Gram statistics (the
  training objective's own yardstick) next to ``identity_style_gram_distance``, the same for the
  unstylized images.

Timings are not metrics (they change on every run): the stylize latency is the benchmark's
(``python -m artstyle.bench stylize``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle import inference, runtime
from artstyle.checkpoint import load_model
from artstyle.data.dataset import to_float
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.evaluation.image_quality import ssim
from artstyle.losses.perceptual import gram_distance, gram_matrix
from artstyle.models.classifier import StyleNet
from artstyle.models.transfer import StyleTransferNet
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import EvaluateTransferParams, Params
from artstyle.styles import NUM_CLASSES, STYLES

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def load_transfer(path: str | Path, device: torch.device | None = None) -> tuple[StyleTransferNet, dict[str, Any]]:
    """The transfer network and its checkpoint dict, in eval mode on ``device`` (CPU by default)."""
    return load_model(path, StyleTransferNet, device or torch.device("cpu"))


def grayscale(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def stylize_all(model: StyleTransferNet, contents: torch.Tensor, device: torch.device, batch_size: int = 64):
    """[N, 3, H, W] -> [N, NUM_CLASSES, 3, H, W]: every content image in every style (float32, CPU)."""
    n = len(contents)
    pairs_c = torch.arange(n).repeat_interleave(NUM_CLASSES)
    pairs_s = torch.arange(NUM_CLASSES).repeat(n)
    # Batches of (content, style) pairs, gathered lazily: all N x 27 copies at once would not fit at 512 px.
    batches = ((contents[c], s) for c, s in inference.chunks((pairs_c, pairs_s), batch_size))
    out = inference.predict(lambda b: model(*b), batches, device, desc="stylize",
                            total=inference.n_chunks(len(pairs_c), batch_size))
    return out.view(n, NUM_CLASSES, *contents.shape[1:])


def classify(model: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 256) -> torch.Tensor:
    return inference.predict(model, inference.chunks(images, batch_size), device)


def hit_rates(logits: torch.Tensor, targets: torch.Tensor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item booleans: top-1 == target, target in top-k."""
    topk = logits.topk(k, dim=1).indices
    return topk[:, 0] == targets, (topk == targets[:, None]).any(1)


@torch.no_grad()
def style_distances(
    vgg: VGGFeatures,
    images: torch.Tensor,
    targets: torch.Tensor,
    style_grams: dict[str, torch.Tensor],
    scales: dict[str, float],
    layers: tuple[str, ...] | list[str],
    device: torch.device,
    batch_size: int = 64,
) -> torch.Tensor:
    """[N, K]: relative Gram distance of each image to the target Grams of the styles ``targets`` [N, K].

    Each image goes through VGG once however many styles it is compared with.
    """
    upto = max(layers, key=LAYERS.index)
    style_grams = {n: style_grams[n].to(device) for n in layers}

    def distances(batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, t = batch
        feats = vgg(x, upto=upto)
        grams = [gram_matrix(getattr(feats, n)) for n in layers]
        return torch.stack([
            gram_distance(grams, [style_grams[n][k] for n in layers], [scales[n] for n in layers])
            for k in t.T
        ], dim=1)

    return inference.predict(distances, inference.chunks((images, targets), batch_size), device,
                             desc="Gram distance", total=inference.n_chunks(len(images), batch_size))


def pick_content_rows(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` distinct test rows (seeded), in store order."""
    pool = np.unique(rows)
    return np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))


@dataclass
class TransferEval:
    metrics: dict[str, float]
    per_style_deception: dict[str, float]
    per_style_identity: dict[str, float]
    contents: torch.Tensor  # [N, 3, H, W]
    stylized: torch.Tensor  # [N, NUM_CLASSES, 3, H, W]


def evaluate_transfer(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    transfer_path: str | Path,
    classifier_path: str | Path,
    *,
    device: torch.device | None = None,
) -> TransferEval:
    ev: EvaluateTransferParams = params.evaluate_transfer
    runtime.seed_everything(params.seed)
    device = device or runtime.pick_device()
    runtime.configure_torch(device)

    model, ckpt = load_transfer(transfer_path, device)
    judge, _ = load_model(classifier_path, StyleNet, device)

    rows, _ = read_manifest(Path(splits_dir) / "test.csv")
    if len(rows) == 0:
        raise InputError(f"{splits_dir}/test.csv is empty: nothing to stylize")
    contents = to_float(open_images(store_dir)[pick_content_rows(rows, ev.content_images, params.seed)])
    n = len(contents)
    stylized = stylize_all(model, contents, device)
    flat = stylized.flatten(0, 1)
    target = torch.arange(NUM_CLASSES).repeat(n)

    top1, top3 = hit_rates(classify(judge, flat, device), target)
    id_logits = classify(judge, contents, device).repeat_interleave(NUM_CLASSES, dim=0)
    id_top1, _ = hit_rates(id_logits, target)

    content_ssim = ssim(grayscale(contents).repeat_interleave(NUM_CLASSES, dim=0), grayscale(flat), reduction="none")

    layers = list(ckpt["params"]["style_layers"])
    vgg = VGGFeatures(last=max(layers, key=LAYERS.index), source=ckpt["vgg_source"]).to(device)
    grams, scales = ckpt["style_grams"], ckpt["gram_scales"]
    dist = style_distances(vgg, flat, target[:, None], grams, scales, layers, device)
    id_dist = style_distances(vgg, contents, torch.arange(NUM_CLASSES).expand(n, -1), grams, scales, layers, device)

    per_style = top1.view(n, NUM_CLASSES).float().mean(0)
    per_style_id = id_top1.view(n, NUM_CLASSES).float().mean(0)
    metrics = {
        "deception_rate": float(top1.float().mean()),
        "deception_rate_top3": float(top3.float().mean()),
        "chance_rate": 1.0 / NUM_CLASSES,
        "identity_deception_rate": float(id_top1.float().mean()),
        "content_ssim": float(content_ssim.mean()),
        "style_gram_distance": float(dist.mean()),
        "identity_style_gram_distance": float(id_dist.mean()),
        "min_style_deception_rate": float(per_style.min()),
        "styles_above_chance": int((per_style > 1.0 / NUM_CLASSES).sum()),
        "content_images": n,
    }
    return TransferEval(
        metrics=metrics,
        per_style_deception=dict(zip(STYLES, per_style.tolist())),
        per_style_identity=dict(zip(STYLES, per_style_id.tolist())),
        contents=contents,
        stylized=stylized,
    )
