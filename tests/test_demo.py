"""`artstyle demo`: the page's two actions on tiny checkpoints, the CLI's one-line errors, and the
page itself in headless Chromium (sample photo -> top five styles -> repainting of the size asked),
requesting nothing but 127.0.0.1.

The browser test is skipped where Chromium, chromedriver, selenium or Gradio is missing, except
under CI, where a missing browser fails it (as the plots-page test in test_e2e_scale.py).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, chrome, chromium_or_skip, tiny_transfer_net
from PIL import Image
from typer.testing import CliRunner

from artstyle.checkpoint import save_checkpoint
from artstyle.cli import app
from artstyle.styles import STYLES

runner = CliRunner()
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
BROWSER_INTERNAL = {"data", "blob", "about", "chrome", "chrome-extension", "chrome-untrusted", "devtools"}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    """(classifier, transfer): tiny random networks in the pipeline's checkpoint format."""
    from artstyle.models.classifier import StyleNet

    root = tmp_path_factory.mktemp("demo")
    torch.manual_seed(0)
    clf = StyleNet(width=4, depth=1, stages=3).eval()
    save_checkpoint(root / "classifier.pt", clf, clf.args, STYLES, image_size=32)
    net = tiny_transfer_net(0)
    save_checkpoint(root / "transfer.pt", net, net.args, STYLES, image_size=16)
    return root / "classifier.pt", root / "transfer.pt"


@pytest.fixture(scope="module")
def painter(checkpoints):
    pytest.importorskip("gradio")
    from artstyle.demo import Painter

    return Painter(*checkpoints, device=torch.device("cpu"))


def _photo(w: int = 60, h: int = 44) -> Image.Image:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)


def _pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB")).astype(int)


# --- the page's actions, without a browser ----------------------------------------------------


def test_classify_gives_five_styles_with_probabilities(painter):
    top = painter.classify(_photo())
    assert len(top) == 5 and set(top) <= set(STYLES)
    assert all(0 <= p <= 1 for p in top.values()) and list(top.values()) == sorted(top.values(), reverse=True)
    assert painter.classify(None) is None


def test_repaint_is_stylize_at_the_size_asked(painter):
    from artstyle import stylize as st

    photo = _photo()
    original, out, warnings = painter.repaint(photo, "Cubism", size=32, texture_scale=1.0)
    assert out.size == original.size == (44, 32) and warnings == []
    x = st.to_tensor(st.resize_short(photo, 32))
    want = st.stylize(painter.net, x, painter.net.blend(torch.eye(len(STYLES))[STYLES.index("Cubism")]))
    assert np.abs(_pixels(out) - _pixels(st.to_image(want))).max() <= 1
    assert np.abs(_pixels(out) - _pixels(original)).mean() > 5  # repainted, not copied


def test_blend_mix_strength_and_preserve_colour(painter):
    photo = _photo()
    kw = dict(size=0, texture_scale=1.0)
    a = _pixels(painter.repaint(photo, "Cubism", **kw)[1])
    b = _pixels(painter.repaint(photo, "Ukiyo_e", **kw)[1])
    assert np.array_equal(_pixels(painter.repaint(photo, "Cubism", "Ukiyo_e", 0.0, **kw)[1]), a)
    assert np.array_equal(_pixels(painter.repaint(photo, "Cubism", "Ukiyo_e", 1.0, **kw)[1]), b)
    half = _pixels(painter.repaint(photo, "Cubism", "Ukiyo_e", 0.5, **kw)[1])
    assert not np.array_equal(half, a) and not np.array_equal(half, b)
    zero = painter.repaint(photo, "Cubism", strength=0.0, **kw)[1]
    assert np.abs(_pixels(zero) - _pixels(photo)).max() <= 1
    kept = painter.repaint(photo, "Cubism", preserve_colour=True, **kw)[1]
    assert not np.array_equal(_pixels(kept), a)


def test_a_style_file_is_the_second_style(painter, tmp_path):
    from artstyle import stylize as st

    vector = painter.net.style_table()[STYLES.index("Pointillism")].detach()
    path = tmp_path / "mine.style.pt"
    st.save_style(path, st.FittedStyle(vector, [1.0], 3), "mine", painter.net)
    photo, kw = _photo(), dict(size=0, texture_scale=1.0)
    from_file = painter.repaint(photo, "Cubism", "style file (below)", 1.0, style_file=path, **kw)
    named = painter.repaint(photo, "Pointillism", **kw)
    assert from_file[2] == [] and np.abs(_pixels(from_file[1]) - _pixels(named[1])).max() <= 1


@pytest.mark.parametrize(
    "args, message",
    [
        ((None, "Cubism"), "open a picture first"),
        ((_photo(), "NoSuchStyle"), "choose a style"),
        ((_photo(), "Cubism", "style file (below)", 1.0), "load a style file"),
        ((_photo(), "Cubism", None, 0.5, 1.5), "strength"),
        ((_photo(), "Cubism", None, 0.5, 1.0, False, 99999), "size"),
    ],
)
def test_bad_choices_are_one_line_errors(painter, args, message):
    from artstyle.errors import UserError

    with pytest.raises(UserError, match=message) as e:
        painter.repaint(*args)
    assert "\n" not in str(e.value)


# --- the command's one-line errors ------------------------------------------------------------


def test_demo_without_gradio_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a)
    )
    result = runner.invoke(app, ["demo", "--no-browser"])
    assert result.exit_code == 2
    assert 'error: artstyle demo needs the demo extra: pip install "artstyle[demo]"' in result.output
    assert result.output.strip().count("\n") == 0


@pytest.mark.parametrize("missing", ["classifier", "transfer"])
def test_demo_without_the_pipeline_models_says_make_repro(monkeypatch, tmp_path, checkpoints, missing):
    pytest.importorskip("gradio")
    monkeypatch.chdir(tmp_path)
    clf, transfer = checkpoints
    args = ["demo", "--no-browser"]
    args += ["--model", str(transfer)] if missing == "classifier" else ["--classifier", str(clf)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    want = "models/classifier.pt" if missing == "classifier" else "models/transfer.pt"
    assert f"{want} not found: run `make repro` first" in result.output
    assert result.output.strip().count("\n") == 0


# --- the page in headless Chromium -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoServer:
    """``artstyle demo`` in a subprocess (as a user runs it); its address from the line it prints."""

    def __init__(self, classifier: Path, transfer: Path, cwd: Path) -> None:
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "artstyle.cli", "demo", "--classifier", str(classifier)]
        cmd += ["--model", str(transfer), "--port", str(self.port), "--no-browser"]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def url(self, timeout: float = 90) -> str:
        want = f"artstyle demo: http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(want):
                    return want.removeprefix("artstyle demo: ")
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"the demo did not print its address:\n{''.join(self.lines)[-4000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def requested_urls(driver) -> list[str]:
    """Every URL the browser asked for since the last call (Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def non_local(urls: list[str]) -> list[str]:
    """The URLs that would leave the machine: not 127.0.0.1/localhost, not data:/blob:/browser-internal."""
    out = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in BROWSER_INTERNAL:
            continue
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS:
            continue
        out.append(url)
    return out


def choose(driver, elem_id: str, option: str) -> None:
    """Pick ``option`` in the Gradio dropdown ``#elem_id`` (type to filter, click the option)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[role=combobox]")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(option)
    item = WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'[role=listbox] li[role=option][aria-label="{option}"]')
    )
    item[0].click()
    WebDriverWait(driver, 10).until(lambda d: box.get_attribute("value") == option)


def set_number(driver, elem_id: str, value: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=number]")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value), Keys.TAB)


def top_styles(driver) -> list[str]:
    """The style names the label shows (its confidence rows)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#top5 .confidence-set dt')].map(e => e.textContent.trim())"
    )


def repainted_src(driver) -> str | None:
    return driver.execute_script(
        "const i = document.querySelector('#repainted img'); return i && i.complete && i.naturalWidth ? i.src : null"
    )


def test_the_page_classifies_and_repaints_a_sample_offline(checkpoints, painter, tmp_path):
    browser = chromium_or_skip("demo-page test")
    pytest.importorskip("selenium")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from artstyle import stylize as st
    from artstyle.demo import sample_pictures

    samples = dict(sample_pictures())
    name = "grace_hopper.jpg (matplotlib)"
    assert name in samples, "matplotlib's sample photo is missing"
    photo = st.read_image(samples[name])
    size, style = 96, "Ukiyo_e"

    server = DemoServer(*checkpoints, cwd=tmp_path)
    driver = None
    try:
        url = server.url()
        driver = chrome(*browser, profile=tempfile.mkdtemp(dir=tmp_path))
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#repaint"))

        # A sample photo: the classifier's five styles appear.
        sample = wait.until(
            lambda d: next(
                (b for b in d.find_elements(By.CSS_SELECTOR, "#samples button") if b.text.strip() == name),
                None,
            )
        )
        sample.click()
        want_top = list(painter.classify(photo))
        wait.until(lambda d: len(top_styles(d)) >= 5)
        shown = top_styles(driver)
        assert shown == want_top, shown

        # One style at the size asked: the repainting is stylize's, and not the photo.
        choose(driver, "style", style)
        set_number(driver, "size", size)
        driver.find_element(By.CSS_SELECTOR, "#repaint").click()
        src = wait.until(repainted_src)
        assert urllib.parse.urlsplit(src).hostname == "127.0.0.1", src
        with urllib.request.urlopen(src, timeout=10) as response:
            out = Image.open(io.BytesIO(response.read())).convert("RGB")
        original, want, _ = painter.repaint(photo, style, size=size)
        assert out.size == st.resize_short(photo, size).size == (96, 112)
        assert np.abs(_pixels(out) - _pixels(want)).max() <= 2  # the style and size chosen on the page
        assert np.abs(_pixels(out) - _pixels(original)).mean() > 5  # differs from the input

        share = "return document.querySelectorAll('button[aria-label=Share i], button[title=Share i]').length"
        assert driver.execute_script(share) == 0, "no button may share to the Hugging Face Hub"

        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        urls = requested_urls(driver)
        assert any(u.startswith(url) for u in urls), urls[:20]
        assert non_local(urls) == [], non_local(urls)
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
    assert server.proc.returncode is not None


def test_non_local_keeps_only_the_requests_that_leave_the_machine():
    urls = [
        "http://127.0.0.1:7860/assets/index.js",
        "ws://localhost:7860/queue",
        "data:image/png;base64,AAAA",
        "blob:http://127.0.0.1:7860/1234",
        "chrome://new-tab-page/",
        "https://fonts.googleapis.com/css2?family=Inter",
        "https://cdn.jsdelivr.net/npm/x.js",
        "http://127.0.0.1.example.com/",
    ]
    assert non_local(urls) == urls[-3:]
