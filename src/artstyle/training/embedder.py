"""Learn one prototype latent per style through the frozen autoencoder (the ``train_embedder`` stage).

Method: every style's row starts at the mean latent of its training images. Decoded, a mean latent
is the autoencoder's "average painting" of the style: the right palette and layout but blurred,
because averaging latents averages away texture. Each row is then optimised (Adam, all 27 at once)
so that its decoded image matches the style's target Gram statistics on VGG features (texture and
colour co-occurrence, the same statistics the transfer network is trained to reproduce), plus a
small relative-MSE pull towards the mean latent, which keeps the latent where the decoder was
trained instead of drifting to adversarial patterns that only VGG would call the style.
The stage reports the prototypes' Gram distance to their style before and after optimisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from artstyle import runtime
from artstyle.data.dataset import to_float
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.io import load_checkpoint
from artstyle.models.autoencoder import ConvAutoencoder
from artstyle.models.embedder import StylePrototypes
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import EmbedderParams, Params, to_dict
from artstyle.perceptual import gram_distance, gram_matrix, relative_mse, style_loss
from artstyle.styles import NUM_CLASSES, STYLES
from artstyle.training.common import to_device
from artstyle.training.transfer import gram_scales, pick_style_rows, style_targets


def load_autoencoder(path: str | Path, device: torch.device) -> ConvAutoencoder:
    """The trained autoencoder, frozen and in eval mode (BatchNorm uses its running statistics)."""
    ckpt = load_checkpoint(path)
    model = ConvAutoencoder.from_args(ckpt["args"])
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval().requires_grad_(False)


@torch.no_grad()
def mean_latents(
    autoencoder: ConvAutoencoder, images: np.ndarray, rows: np.ndarray, labels: np.ndarray, batch_size: int, device
) -> torch.Tensor:
    """[NUM_CLASSES, *latent_shape]: the mean latent of each style's distinct training images."""
    rows, first = np.unique(rows, return_index=True)
    labels = labels[first]
    sums = torch.zeros(NUM_CLASSES, *autoencoder.latent_shape)
    counts = torch.zeros(NUM_CLASSES)
    for start in tqdm(range(0, len(rows), batch_size), desc="encode", leave=False):
        x = to_device(to_float(images[rows[start : start + batch_size]]), device)
        with runtime.autocast(device):
            z = autoencoder.encode(x).float().cpu()
        y = torch.from_numpy(labels[start : start + batch_size])
        sums.index_add_(0, y, z)
        counts.index_add_(0, y, torch.ones(len(y)))
    if (counts == 0).any():
        missing = [STYLES[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
        raise ValueError(f"no training images for style(s) {', '.join(missing)}")
    return sums / counts.view(-1, 1, 1, 1)


@dataclass
class EmbedderRun:
    model: StylePrototypes
    prototypes: torch.Tensor  # decoded prototypes [NUM_CLASSES, 3, H, W]
    initial: torch.Tensor  # decoded mean latents [NUM_CLASSES, 3, H, W]
    metrics: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)


def train_embedder(
    params: Params,
    store_dir: str | Path,
    manifests_dir: str | Path,
    autoencoder_path: str | Path,
    device: torch.device | None = None,
) -> EmbedderRun:
    ep: EmbedderParams = params.embedder
    for name in ep.style_layers:
        if name not in LAYERS:
            raise ValueError(f"embedder.style_layers: unknown VGG layer {name!r}; allowed: {', '.join(LAYERS)}")
    runtime.seed_everything(params.seed)
    device = device or runtime.pick_device()
    runtime.configure_torch(device)

    images = open_images(store_dir)
    rows, labels = read_manifest(Path(manifests_dir) / "train.csv")
    autoencoder = load_autoencoder(autoencoder_path, device)
    means = mean_latents(autoencoder, images, rows, labels, ep.batch_size, device)

    vgg = VGGFeatures(last=max(ep.style_layers, key=LAYERS.index)).to(device)
    targets = style_targets(
        vgg, images, pick_style_rows(rows, labels, ep.style_images_per_class, params.seed), ep.style_layers, device
    )
    scales = gram_scales(targets)
    target_list = [targets[n].to(device) for n in ep.style_layers]
    scale_list = [scales[n] for n in ep.style_layers]

    model = StylePrototypes(autoencoder.latent_shape).to(device)
    model.init_from(means)
    means = means.to(device)
    all_styles = torch.arange(NUM_CLASSES, device=device)

    def distances() -> torch.Tensor:
        with torch.no_grad():
            feats = vgg(autoencoder.decode(model(all_styles)))
            return gram_distance([gram_matrix(getattr(feats, n)) for n in ep.style_layers], target_list, scale_list)

    initial_distance = distances().cpu()
    optimizer = torch.optim.Adam(model.parameters(), lr=ep.lr)
    loss_history = []
    for _ in tqdm(range(ep.steps), desc="prototypes", leave=False):
        z = model(all_styles)
        with runtime.autocast(device):
            feats = vgg(autoencoder.decode(z))
        loss = ep.style_weight * style_loss(
            [gram_matrix(getattr(feats, n)) for n in ep.style_layers], target_list, scale_list
        ) + ep.latent_weight * relative_mse(z, means)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_history.append(loss.item())
    final_distance = distances().cpu()

    with torch.no_grad():
        prototypes = autoencoder.decode(model(all_styles)).float().cpu()
        initial = autoencoder.decode(means).float().cpu()
    model.cpu().eval()
    metrics = {
        "steps": ep.steps,
        "initial_gram_distance": float(initial_distance.mean()),
        "prototype_gram_distance": float(final_distance.mean()),
        "styles_improved": int((final_distance < initial_distance).sum()),
    }
    if loss_history:
        metrics["final_loss"] = loss_history[-1]
    return EmbedderRun(model=model, prototypes=prototypes, initial=initial, metrics=metrics, params=to_dict(ep))
