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

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from artstyle import inference, runtime
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.errors import InputError
from artstyle.losses.perceptual import gram_matrix, relative_mse, style_distance, style_loss
from artstyle.models.autoencoder import ConvAutoencoder, load_autoencoder
from artstyle.models.embedder import StylePrototypes
from artstyle.models.vgg import LAYERS, VGGFeatures
from artstyle.params import EmbedderParams, Params, ParamsError, to_dict
from artstyle.styles import NUM_CLASSES
from artstyle.training.loop import Trainer, TrainRun
from artstyle.training.style_targets import pick_style_rows, style_scales, style_targets


def mean_latents(
    autoencoder: ConvAutoencoder,
    images: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    device,
) -> torch.Tensor:
    """[NUM_CLASSES, *latent_shape]: the mean latent of each style's distinct training images.

    A style without training images gets the mean over the present styles: its row is defined
    (the checkpoint keeps all 27) but never trained or measured.
    """
    rows, first = np.unique(rows, return_index=True)
    labels = labels[first]
    sums = torch.zeros(NUM_CLASSES, *autoencoder.latent_shape)
    counts = torch.zeros(NUM_CLASSES)
    start = 0
    # row_chunks reads a batch at a time: images[rows] would copy the whole train split (12 GB at 224 px).
    for z, _ in inference.iterate(
        autoencoder.encode, inference.row_chunks(images, rows, batch_size), device, desc="encode"
    ):
        y = torch.from_numpy(labels[start : start + len(z)])
        sums.index_add_(0, y, z)
        counts.index_add_(0, y, torch.ones(len(y)))
        start += len(z)
    present = counts > 0
    if not present.any():
        raise InputError("no training images: the train split is empty, so there is no style to learn")
    means = sums / counts.clamp_min(1).view(-1, 1, 1, 1)
    if not present.all():
        means[~present] = means[present].mean(0)
    return means


@dataclass
class EmbedderRun(TrainRun):
    prototypes: torch.Tensor | None = None  # decoded prototypes [len(styles), 3, H, W]
    initial: torch.Tensor | None = None  # decoded mean latents [len(styles), 3, H, W]
    styles: tuple[int, ...] = ()  # the trained styles (those with training images), in label order


def train_embedder(
    params: Params,
    store_dir: str | Path,
    splits_dir: str | Path,
    autoencoder_path: str | Path,
    *,
    device: torch.device | None = None,
) -> EmbedderRun:
    ep: EmbedderParams = params.embedder
    for name in ep.style_layers:
        if name not in LAYERS:
            raise ParamsError(
                f"embedder.style_layers: unknown VGG layer {name!r}; allowed: {', '.join(LAYERS)}"
            )
    device = runtime.start(params.seed, device)

    images = open_images(store_dir)
    rows, labels = read_manifest(Path(splits_dir) / "train.csv")
    autoencoder = load_autoencoder(autoencoder_path, device)
    means = mean_latents(autoencoder, images, rows, labels, ep.batch_size, device)

    vgg = VGGFeatures(last=max(ep.style_layers, key=LAYERS.index)).to(device)
    style_rows = pick_style_rows(rows, labels, ep.style_images_per_class, params.seed)
    trained = tuple(sorted(style_rows))  # only styles with training images have a target to learn
    targets = style_targets(vgg, images, style_rows, ep.style_layers, device, statistic=gram_matrix)
    scales = style_scales(targets, trained)
    # The prototypes are optimised as one batch of the trained styles, in label order: row i of
    # the batch is compared with the i-th trained style's target.
    target_list = [targets[n][list(trained)].to(device) for n in ep.style_layers]
    scale_list = [scales[n] for n in ep.style_layers]

    model = StylePrototypes(autoencoder.latent_shape).to(device)
    model.init_from(means)
    all_styles = torch.tensor(trained)
    means = means[all_styles].to(device)  # the batch's rows: the trained styles, in label order

    def style_grams(z: torch.Tensor) -> list[torch.Tensor]:
        feats = vgg(autoencoder.decode(z))
        return [gram_matrix(getattr(feats, n)) for n in ep.style_layers]

    def distances() -> torch.Tensor:
        return inference.predict(
            lambda s: style_distance(style_grams(model(s)), target_list, scale_list), [all_styles], device
        )

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor]) -> torch.Tensor:
        z = net(batch[0])
        return ep.style_weight * style_loss(
            style_grams(z), target_list, scale_list
        ) + ep.latent_weight * relative_mse(z, means)

    initial_distance = distances()
    trainer = Trainer(model, loss_fn, torch.optim.Adam(model.parameters(), lr=ep.lr), device=device)
    # All trained prototypes (27 on the default data) are one batch, optimised ``steps`` times.
    fit = trainer.fit(
        itertools.repeat((all_styles,), ep.steps), 1, desc="prototypes", steps_per_epoch=ep.steps
    )
    final_distance = distances()

    prototypes = inference.predict(lambda s: autoencoder.decode(model(s)), [all_styles], device)
    initial = inference.predict(autoencoder.decode, [means], device)
    model.cpu().eval()
    metrics = {
        "steps": ep.steps,
        "styles": len(trained),
        "initial_gram_distance": float(initial_distance.mean()),
        "prototype_gram_distance": float(final_distance.mean()),
        "styles_improved": int((final_distance < initial_distance).sum()),
    }
    if fit.step_logs:
        metrics["final_loss"] = fit.step_logs[-1]["loss"]
    checkpoint = {
        "params": to_dict(ep),
        "seed": params.seed,
        "autoencoder": str(autoencoder_path),
        "trained_styles": list(trained),
        "metrics": metrics,
    }
    return EmbedderRun(
        model=model,
        metrics=metrics,
        checkpoint=checkpoint,
        prototypes=prototypes,
        initial=initial,
        styles=trained,
    )
