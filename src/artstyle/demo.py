"""The local demo page (``artstyle demo``): open a picture, see its five most probable styles, repaint it.

A Gradio page on top of the pipeline's two models: the classifier names the picture's styles
(:class:`artstyle.classify.StyleClassifier`, as ``artstyle classify``), the transfer network
repaints it in one style, a blend of two, or a style file from ``artstyle stylize --style-from``
(:mod:`artstyle.stylize`, as ``artstyle stylize``), with strength, preserve-colour, output size
and texture scale. Both models are loaded once, when the page is built.

Nothing leaves the machine: the server listens on 127.0.0.1 only, Gradio's analytics and version
check are off (``GRADIO_ANALYTICS_ENABLED=False`` before Gradio is imported, and
``analytics_enabled=False``), there is no share link, no Hugging Face Hub (``artstyle demo``
sets ``HF_HUB_OFFLINE=1``; the images have no button that shares to it), no server-side
rendering process, and the theme uses the system's fonts (a Gradio theme may name Google Fonts).
``tests/test_demo.py`` loads the page in headless Chromium and checks that it requests nothing
but 127.0.0.1.

Gradio is the optional ``demo`` extra (``pip install "artstyle[demo]"``); importing this module
without it raises ``ModuleNotFoundError`` naming ``gradio``.
"""

from __future__ import annotations

import os

# Before Gradio is imported: its import-time and launch-time telemetry and version check read this.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from artstyle import stylize as st  # noqa: E402
from artstyle.errors import UserError  # noqa: E402
from artstyle.styles import NUM_CLASSES, STYLES  # noqa: E402
from artstyle.stylize_io import DEFAULT_MAX_SIDE, DEFAULT_SIZE  # noqa: E402

HOST = "127.0.0.1"
DEFAULT_PORT = 7860
MAX_SIZE = 2048  # the short side at most: a 4k-pixel repaint on a CPU takes minutes
NO_STYLE = "none"
STYLE_FILE = "style file (below)"
TOP_K = 5
IMAGE_BUTTONS = ["download", "fullscreen"]  # not "share": it posts to Hugging Face Spaces discussions
# System fonts only, so no font is fetched from anywhere: Gradio themes name their fonts as
# GoogleFont (fonts.googleapis.com) or LocalFont (served by Gradio); a plain family name is neither.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "monospace"],
)
CSS = """
#artstyle-header p { margin: 0; }
"""


def sample_pictures() -> list[tuple[str, Path]]:
    """The photos that ship inside our dependencies (:func:`artstyle.stylize_io.demo_pictures`)."""
    return st.demo_pictures()


class Painter:
    """The two models, loaded once, and the page's two actions as plain functions (testable
    without a browser): :meth:`classify` and :meth:`repaint`."""

    def __init__(self, classifier_path: str | Path, transfer_path: str | Path, device: Any = None) -> None:
        from artstyle.classify import StyleClassifier
        from artstyle.evaluation.transfer import load_transfer, trained_styles_of

        self.classifier = StyleClassifier.load(classifier_path, device=device)
        self.net, self.ckpt = load_transfer(transfer_path)  # on the CPU, as `artstyle stylize`
        self.trained = trained_styles_of(self.ckpt)
        self.styles = [STYLES[i] for i in self.trained]
        self.train_size = int(self.ckpt.get("image_size", 64))

    def classify(self, image: Image.Image | None) -> dict[str, float] | None:
        """The classifier's five most probable styles of ``image``: {style: probability}."""
        if image is None:
            return None
        return dict(self.classifier.top_k(image.convert("RGB"), TOP_K))

    def style_vector(
        self, style: str, blend_with: str | None, mix: float, style_file: str | Path | None
    ) -> tuple[torch.Tensor, list[str]]:
        """(style vector, warnings): ``style`` alone, or mixed with ``blend_with`` (a style name or
        :data:`STYLE_FILE`), ``mix`` being the second one's share."""
        if style not in self.styles:
            raise UserError(f"choose a style (one of {', '.join(self.styles)})")
        mix = float(mix or 0.0)
        if not 0.0 <= mix <= 1.0:
            raise UserError(f"the mix must be between 0 and 1, got {mix}")
        second = blend_with if blend_with not in (None, "", NO_STYLE) else None
        warnings: list[str] = []
        weights = torch.zeros(NUM_CLASSES)
        weights[STYLES.index(style)] = 1.0 - mix if second else 1.0
        if second == STYLE_FILE:
            if not style_file:
                raise UserError("load a style file (*.style.pt from `artstyle stylize --style-from`) first")
            vector, warnings = st.load_style(style_file, self.net)
            if mix >= 1.0:
                return vector, warnings
            return (1.0 - mix) * self.net.blend(weights) + mix * vector, warnings
        if second is not None:
            if second not in self.styles:
                raise UserError(f"unknown style {second!r}")
            weights[STYLES.index(second)] += mix
        if weights.sum() <= 0:
            raise UserError("the mix leaves no style: lower it or choose a second style")
        return self.net.blend(weights), warnings

    def repaint(
        self,
        image: Image.Image | None,
        style: str,
        blend_with: str | None = None,
        mix: float = 0.5,
        strength: float = 1.0,
        preserve_colour: bool = False,
        size: int = DEFAULT_SIZE,
        texture_scale: float = 0.0,
        style_file: str | Path | None = None,
    ) -> tuple[Image.Image, Image.Image, list[str]]:
        """(the original at the output size, its repainting, warnings). ``size`` is the short side
        (0 = the picture's own); ``texture_scale`` 0 is ``stylize``'s automatic one."""
        if image is None:
            raise UserError("open a picture first (upload one or click a sample)")
        size = int(size or 0)
        if size < 0 or size > MAX_SIZE:
            raise UserError(f"the size must be between 16 and {MAX_SIZE} pixels (0 = the picture's own)")
        if 0 < size < 16:
            raise UserError("the size must be at least 16 pixels")
        st.check_strength(float(strength))
        vector, warnings = self.style_vector(style, blend_with, mix, style_file)
        original, note = st.resize_for_output(image.convert("RGB"), size, DEFAULT_MAX_SIDE)
        if note:
            warnings = [*warnings, note]
        if size == 0 and min(original.size) > MAX_SIZE:
            original = st.resize_short(original, MAX_SIZE)
        scale = float(texture_scale or 0.0) or st.default_texture_scale(min(original.size), self.train_size)
        x = st.to_tensor(original)
        y = st.stylize(
            self.net,
            x,
            vector,
            strength=float(strength),
            preserve_color=bool(preserve_colour),
            texture_scale=max(1.0, scale),
        )
        return original, st.to_image(y), warnings


def build_demo(
    classifier_path: str | Path,
    transfer_path: str | Path,
    device: Any = None,
    painter: Painter | None = None,
) -> gr.Blocks:
    """The demo page for the two checkpoints (not yet launched: see :func:`launch`)."""
    painter = painter or Painter(classifier_path, transfer_path, device=device)
    styles = painter.styles
    first = "Cubism" if "Cubism" in styles else styles[0]
    samples = sample_pictures()

    def classify(image):
        return painter.classify(image)

    def repaint(image, style, blend_with, mix, strength, preserve, size, texture, style_file):
        try:
            _, out, warnings = painter.repaint(
                image, style, blend_with, mix, strength, preserve, size, texture, style_file
            )
        except UserError as e:
            raise gr.Error(str(e), print_exception=False) from None
        for w in warnings:
            gr.Warning(w)
        return out

    def style_file_loaded(style_file):
        # A loaded style file becomes the second style, at full share; lower the mix to blend it.
        if style_file:
            return gr.update(value=STYLE_FILE), gr.update(value=1.0)
        return gr.update(value=NO_STYLE), gr.update()

    with gr.Blocks(title="artstyle demo", analytics_enabled=False) as demo:
        gr.Markdown(
            "## artstyle: name a picture's style, repaint it in another\n"
            f"The classifier ({Path(classifier_path).name}) lists the picture's five most probable styles; "
            f"the transfer network ({Path(transfer_path).name}) repaints it in any of its "
            f"{len(styles)} styles or a blend of two. Everything runs on this machine.",
            elem_id="artstyle-header",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                style = gr.Dropdown(styles, value=first, label="Style", elem_id="style")
                blend_with = gr.Dropdown(
                    [NO_STYLE, *styles, STYLE_FILE],
                    value=NO_STYLE,
                    label="Blend with",
                    info="a second style, or a style file",
                    elem_id="blend-with",
                )
                mix = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Mix (share of the second style)")
                strength = gr.Slider(
                    0.0,
                    1.0,
                    value=1.0,
                    step=0.05,
                    label="Strength",
                    info="0 = the original, 1 = fully repainted",
                )
                with gr.Row():
                    size = gr.Number(
                        DEFAULT_SIZE,
                        label="Output size",
                        info="short side, px; 0 = as is",
                        precision=0,
                        minimum=0,
                        maximum=MAX_SIZE,
                        min_width=120,
                        elem_id="size",
                    )
                    preserve = gr.Checkbox(
                        False, label="Preserve colour", info="repaint the brightness only", min_width=120
                    )
                button = gr.Button("Repaint", variant="primary", elem_id="repaint")
                with gr.Accordion("Texture scale, style file", open=False):
                    texture = gr.Slider(
                        0.0,
                        8.0,
                        value=0.0,
                        step=0.5,
                        label="Texture scale",
                        info="brush strokes this many times larger; 0 = automatic, as `artstyle stylize`",
                    )
                    style_file = gr.File(
                        label="Style file (*.style.pt from `artstyle stylize --style-from`)",
                        file_types=[".pt"],
                        type="filepath",
                        elem_id="style-file",
                    )
            with gr.Column(scale=3):
                with gr.Row():
                    image = gr.Image(
                        type="pil",
                        label="Original",
                        sources=["upload", "clipboard"],
                        height=360,
                        buttons=IMAGE_BUTTONS,
                        elem_id="original",
                    )
                    result = gr.Image(
                        type="pil",
                        format="png",
                        label="Repainted",
                        interactive=False,
                        height=360,
                        buttons=IMAGE_BUTTONS,
                        elem_id="repainted",
                    )
                with gr.Row():
                    with gr.Column():
                        top = gr.Label(
                            num_top_classes=TOP_K, label="Classifier: top five styles", elem_id="top5"
                        )
                    with gr.Column():
                        if samples:
                            gr.Examples(
                                [[str(path)] for _, path in samples],
                                inputs=[image],
                                label="Sample photos (shipped with matplotlib and scikit-learn)",
                                example_labels=[name for name, _ in samples],
                                elem_id="samples",
                            )

        image.change(classify, image, top)
        style_file.change(style_file_loaded, style_file, [blend_with, mix])
        button.click(
            repaint,
            [image, style, blend_with, mix, strength, preserve, size, texture, style_file],
            result,
        )
    demo.artstyle_allowed_paths = sorted({str(path.parent) for _, path in samples})
    return demo


def launch(
    classifier_path: str | Path,
    transfer_path: str | Path,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    block: bool = True,
) -> tuple[gr.Blocks, str]:
    """Build the page and serve it on 127.0.0.1:``port``; prints the address. With ``block``,
    returns when the server stops (Ctrl+C); otherwise at once (stop it with ``demo.close()``)."""
    demo = build_demo(classifier_path, transfer_path)
    try:
        _, url, _ = demo.launch(
            server_name=HOST,
            server_port=port,
            share=False,
            inbrowser=open_browser,
            prevent_thread_lock=True,
            quiet=True,
            show_error=True,
            theme=THEME,
            css=CSS,
            allowed_paths=demo.artstyle_allowed_paths,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
        )
    except OSError as e:
        raise UserError(f"cannot serve on {HOST}:{port} ({e}); pass another --port") from None
    print(f"artstyle demo: {url} (Ctrl+C to stop)", flush=True)
    if block:
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    return demo, url
