"""What ``artstyle stylize`` does, as plain functions: read, repaint, blend, fit a new style, save.

The transfer network learned its brush strokes at the training store's resolution (64 px by
default). Run as-is on a 512 px photo it paints strokes 8x smaller relative to the picture than
on the paintings it learned from, which reads as a tint. :func:`stylize` therefore runs the
network at ``texture_scale`` times less than the output size and upsamples its result:
``texture_scale`` is how much larger than learned the strokes appear. 1 is the network at full
resolution (finest strokes, slowest).

A *style file* (``--style-from DIR``) is one new style vector, fitted with the network frozen to
the VGG statistics of a few of the user's paintings (Dumoulin et al. 2017: a new style needs only
its conditioning). It lives in the same space as the 27 learned styles, so it blends with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artstyle.colour import LUMA
from artstyle.errors import InputError
from artstyle.fileio import write_bytes
from artstyle.models.transfer import StyleTransferNet
from artstyle.stylize_io import (  # noqa: F401 - the torch-free helpers, re-exported for one import
    check_strength,
    default_texture_scale,
    demo_pictures,
    list_images,
    read_image,
    resize_for_output,
    resize_short,
    save_image,
)

STYLE_FILE_KIND = "artstyle-style"
YCBCR = torch.tensor([LUMA, [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])  # BT.601


def to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL RGB -> float [1, 3, H, W] in [0, 1]."""
    return torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float().div(255)


def to_image(x: torch.Tensor) -> Image.Image:
    """float [1, 3, H, W] or [3, H, W] in [0, 1] -> PIL RGB."""
    x = x[0] if x.dim() == 4 else x
    return Image.fromarray(x.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy())


def preserve_colour(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylization's luminance with the content's chroma (YCbCr, BT.601; Gatys et al. 2016's
    luminance-only transfer): brush strokes and shading change, the photo's colours stay."""
    m = YCBCR.to(stylized)
    y = torch.einsum("ij,bjhw->bihw", m, stylized)
    c = torch.einsum("ij,bjhw->bihw", m, content)
    mixed = torch.cat([y[:, :1], c[:, 1:]], dim=1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), mixed).clamp(0, 1)


@torch.no_grad()
def stylize(
    net: StyleTransferNet,
    x: torch.Tensor,
    style: torch.Tensor,
    *,
    strength: float = 1.0,
    preserve_color: bool = False,
    texture_scale: float = 1.0,
    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Repaint ``x`` [B, 3, H, W] in ``style`` (a style vector, or labels); same size out.

    ``strength`` mixes the stylization with the original (0 = the original, 1 = fully stylized);
    ``preserve_color`` keeps the original's colours; ``texture_scale`` >= 1 runs the network that
    many times smaller than ``x`` and upsamples (see the module docstring). ``run(x, style)``
    replaces the PyTorch forward pass (e.g. with ONNX Runtime).
    """
    check_strength(strength)
    if texture_scale < 1:
        raise InputError(f"texture scale must be >= 1, got {texture_scale}")
    run = run or net
    h, w = x.shape[-2:]
    small = x
    # The network's deepest level needs 2 pixels a side (reflection padding): a side of at most
    # its stride (a strip a few pixels wide, a large texture scale) runs at stride + 1 instead.
    floor = int(getattr(net, "stride", 1)) + 1
    if texture_scale > 1 or min(h, w) < floor:
        size = (max(floor, round(h / texture_scale)), max(floor, round(w / texture_scale)))
        small = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    out = run(small, style).float()
    if out.shape[-2:] != (h, w):
        out = F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
    if preserve_color:
        out = preserve_colour(out, x)
    return x + strength * (out - x) if strength < 1 else out


# ---------------------------------------------------------------------------------------------
# Style files: a style learned from the user's own paintings
# ---------------------------------------------------------------------------------------------


def square_crops(images: Sequence[Image.Image], side: int) -> torch.Tensor:
    """[N, 3, side, side]: each image's short side resized to ``side``, centre-cropped (as the store's)."""
    out = []
    for im in images:
        im = resize_short(im, side)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        out.append(to_tensor(im.crop((left, top, left + side, top + side))))
    return torch.cat(out)


def fitting_contents(x: torch.Tensor, side: int, texture_scale: float = 1.0, n: int = 16) -> torch.Tensor:
    """[n, 3, side, side]: crops of the image to stylize, at the scale the network will see it,
    spread evenly over the picture (the content :func:`fit_style` learns to repaint)."""
    h, w = x.shape[-2:]
    if texture_scale > 1:
        x = F.interpolate(
            x,
            size=(max(1, round(h / texture_scale)), max(1, round(w / texture_scale))),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
    if min(x.shape[-2:]) < side:  # smaller than a crop: enlarge to exactly cover one
        f = side / min(x.shape[-2:])
        x = F.interpolate(
            x,
            size=(max(side, round(x.shape[-2] * f)), max(side, round(x.shape[-1] * f))),
            mode="bilinear",
            align_corners=False,
        )
    h, w = x.shape[-2:]
    k = max(1, round(n**0.5))
    tops = np.linspace(0, h - side, k).round().astype(int)
    lefts = np.linspace(0, w - side, k).round().astype(int)
    return torch.cat([x[..., t : t + side, c : c + side] for t in tops for c in lefts])


def model_fingerprint(net: StyleTransferNet) -> str:
    """sha256 of the network's weights outside the style table: a style vector means something only
    for the network it was fitted against."""
    h = hashlib.sha256()
    for name, value in sorted(net.state_dict().items()):
        if not name.startswith("style_"):  # the style table (the embedding) may grow new rows
            h.update(name.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass
class FittedStyle:
    vector: torch.Tensor  # [style_dim]: a point in the network's style embedding space
    losses: list[float]  # per step
    images: int


def fit_style(
    net: StyleTransferNet,
    ckpt: dict[str, Any],
    paintings: Sequence[Image.Image],
    contents: torch.Tensor,
    *,
    steps: int = 150,
    lr: float = 0.05,
    batch_size: int = 4,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> FittedStyle:
    """Fit one style vector to ``paintings`` with the network frozen (Dumoulin et al. 2017, sec. 4).

    The target is the paintings' VGG style statistics averaged, as for the 27 styles in training,
    and the loss is training's (same layers, weights and normalisers, from the checkpoint).
    ``contents`` [N, 3, s, s] are what the vector learns to repaint: not the paintings themselves,
    for which "change nothing" already meets the target.
    """
    from artstyle.losses import perceptual
    from artstyle.models.vgg import LAYERS, VGGFeatures

    if not paintings:
        raise InputError("no paintings to learn a style from")
    tp = ckpt["params"]
    layers = list(tp["style_layers"])
    pyramid = tuple(tp.get("style_pyramid", (1,)))  # checkpoints from before the pyramid: full resolution
    deepest = max([tp["content_layer"], *layers], key=LAYERS.index)
    deepest_style = max(layers, key=LAYERS.index)
    vgg = VGGFeatures(last=deepest, source=ckpt.get("vgg_source", "auto"))
    crops = square_crops(paintings, int(ckpt["image_size"]))
    with torch.no_grad():
        stats = perceptual.pyramid_statistics(
            vgg, crops, layers, pyramid, perceptual.mean_std, upto=deepest_style
        )
        targets = {k: t.mean(0, keepdim=True) for k, t in stats.items()}
    scales = {k: ckpt["style_scales"][k] for k in targets}

    net.requires_grad_(False)
    net.eval()
    z = net.style_embedding.weight.detach().mean(0).clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    c_layer, cw, sw, tvw = tp["content_layer"], tp["content_weight"], tp["style_weight"], tp["tv_weight"]

    def step() -> float:
        x = contents[torch.randint(0, len(contents), (min(batch_size, len(contents)),), generator=gen)]
        flip = torch.rand(len(x), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        with torch.no_grad():
            c_target = getattr(vgg(x, upto=c_layer), c_layer)
        out = net(x, z.expand(len(x), -1))
        f = vgg(out, upto=deepest)
        stats = perceptual.pyramid_statistics(
            vgg, out, layers, pyramid, perceptual.mean_std, upto=deepest_style, full=f
        )
        expanded = {k: t.expand_as(stats[k]) for k, t in targets.items()}
        style = perceptual.pyramid_style_loss(
            stats, expanded, scales, layers, pyramid
        )  # training's style term
        content = perceptual.content_loss(getattr(f, c_layer), c_target)
        loss = cw * content + sw * style + tvw * perceptual.tv_loss(out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    losses = []
    with torch.enable_grad():  # callers may run under no_grad (the CLI does); fitting needs gradients
        for i in range(steps):
            losses.append(step())
            if progress is not None:
                progress(i, losses[-1])
    return FittedStyle(vector=z.detach().clone(), losses=losses, images=len(paintings))


def style_file_bytes(fitted: FittedStyle, name: str, net: StyleTransferNet) -> bytes:
    import io

    payload = {
        "kind": STYLE_FILE_KIND,
        "name": name,
        "vector": fitted.vector.cpu(),
        "style_dim": int(fitted.vector.numel()),
        "images": fitted.images,
        "final_loss": fitted.losses[-1] if fitted.losses else None,
        "model_fingerprint": model_fingerprint(net),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_style(path: str | Path, fitted: FittedStyle, name: str, net: StyleTransferNet) -> None:
    """A few hundred bytes of tensors and plain values (loads with ``weights_only=True``)."""
    write_bytes(path, style_file_bytes(fitted, name, net))


def load_style(path: str | Path, net: StyleTransferNet) -> tuple[torch.Tensor, list[str]]:
    """(style vector, warnings) from a style file; a one-line :class:`InputError` if it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"style file {path} not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same one-line error
        raise InputError(f"{path}: not a style file ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("kind") != STYLE_FILE_KIND:
        raise InputError(f"{path}: not a style file (make one with `artstyle stylize --style-from DIR`)")
    vector = payload["vector"].float().flatten()
    if vector.numel() != net.style_dim:
        raise InputError(
            f"{path}: a style of {vector.numel()} numbers, but this network's styles have "
            f"{net.style_dim}: it was fitted for another network"
        )
    warnings = []
    if payload.get("model_fingerprint") != model_fingerprint(net):
        warnings.append(
            f"{path} was fitted against another version of the network: refit it "
            "(--style-from) if the result looks wrong"
        )
    return vector, warnings
