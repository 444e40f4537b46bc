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
  unstylized images;
- ``ms_per_image``: latency at ``latency_size``, batch 1, on the current device.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from artstyle import runtime
from artstyle.data.dataset import to_float
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.evaluation.classification import load_classifier
from artstyle.evaluation.image_quality import ssim
from artstyle.io import load_checkpoint
from artstyle.models.transfer import StyleTransferNet
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import EvaluateTransferParams, Params
from artstyle.perceptual import gram_distance, gram_matrix
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.common import to_device

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def load_transfer(path: str | Path, device: torch.device | None = None) -> tuple[StyleTransferNet, dict[str, Any]]:
    """The transfer network and its checkpoint dict, in eval mode on ``device`` (CPU by default)."""
    ckpt = load_checkpoint(path)
    if list(ckpt["classes"]) != list(STYLES):
        raise ValueError(f"{path}: its style list differs from artstyle.styles.STYLES")
    model = StyleTransferNet.from_args(ckpt["args"])
    model.load_state_dict(ckpt["model"])
    device = device or torch.device("cpu")
    return model.to(device, memory_format=runtime.memory_format(device)).eval(), ckpt


def grayscale(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


@torch.no_grad()
def stylize_all(model: StyleTransferNet, contents: torch.Tensor, device: torch.device, batch_size: int = 64):
    """[N, 3, H, W] -> [N, NUM_CLASSES, 3, H, W]: every content image in every style (float32, CPU)."""
    n = len(contents)
    pairs_c = torch.arange(n).repeat_interleave(NUM_CLASSES)
    pairs_s = torch.arange(NUM_CLASSES).repeat(n)
    out = torch.empty(n * NUM_CLASSES, *contents.shape[1:])
    for start in tqdm(range(0, len(pairs_c), batch_size), desc="stylize", leave=False):
        sl = slice(start, start + batch_size)
        x = to_device(contents[pairs_c[sl]], device)
        with runtime.autocast(device):
            out[sl] = model(x, pairs_s[sl].to(device)).float().cpu()
    return out.view(n, NUM_CLASSES, *contents.shape[1:])


@torch.no_grad()
def classify(model: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 256) -> torch.Tensor:
    logits = []
    for start in range(0, len(images), batch_size):
        with runtime.autocast(device):
            logits.append(model(to_device(images[start : start + batch_size], device)).float().cpu())
    return torch.cat(logits)


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
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc="Gram distance", leave=False):
        sl = slice(start, start + batch_size)
        with runtime.autocast(device):
            feats = vgg(to_device(images[sl], device), upto=upto)
        grams = [gram_matrix(getattr(feats, n)) for n in layers]
        out.append(torch.stack([
            gram_distance(grams, [style_grams[n][t].to(device) for n in layers], [scales[n] for n in layers]).cpu()
            for t in targets[sl].T
        ], dim=1))
    return torch.cat(out)


@torch.no_grad()
def latency_ms(model: StyleTransferNet, size: int, repeats: int, device: torch.device, warmup: int = 3) -> float:
    """Median milliseconds to stylize one ``size`` x ``size`` image (batch 1) after warm-up."""
    x = to_device(torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)), device)
    style = torch.zeros(1, dtype=torch.long, device=device)
    times = []
    for i in range(warmup + repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with runtime.autocast(device):
            model(x, style)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    return float(statistics.median(times))


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
    manifests_dir: str | Path,
    transfer_path: str | Path,
    classifier_path: str | Path,
    device: torch.device | None = None,
) -> TransferEval:
    ev: EvaluateTransferParams = params.evaluate_transfer
    runtime.seed_everything(params.seed)
    device = device or runtime.pick_device()
    runtime.configure_torch(device)

    model, ckpt = load_transfer(transfer_path, device)
    judge, _ = load_classifier(classifier_path)
    judge = judge.to(device, memory_format=runtime.memory_format(device)).eval()

    rows, _ = read_manifest(Path(manifests_dir) / "test.csv")
    if len(rows) == 0:
        raise ValueError(f"{manifests_dir}/test.csv is empty: nothing to stylize")
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
        "ms_per_image": latency_ms(model, ev.latency_size, ev.latency_repeats, device),
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
