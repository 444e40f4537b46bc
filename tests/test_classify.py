"""`artstyle classify` and artstyle.classify, with tiny StyleNet checkpoints built here.

The agreement test runs ``evaluate_classifier`` on the fake store of the e2e classifier test and
classifies the same test images written as PNG files: the top-1 style must be the stage's
prediction for every image.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch
from conftest import tiny_params, tiny_transfer_net
from PIL import Image
from test_e2e_classifier import make_store
from typer.testing import CliRunner

from artstyle.checkpoint import CheckpointError, save_checkpoint
from artstyle.classify import StyleClassifier, classify_paths, pipeline_image_size
from artstyle.cli import app
from artstyle.data.decode import decode_bytes
from artstyle.data.manifests import read_manifest
from artstyle.data.store import open_images
from artstyle.evaluation.classification import evaluate_classifier
from artstyle.models.classifier import StyleNet
from artstyle.params import parse_params
from artstyle.styles import NUM_CLASSES, STYLES

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only add hand-offs
SIZE = 16  # make_store's image size
SUBSET = (0, 7, 26)  # Abstract_Expressionism, Cubism, Ukiyo_e


def tiny_classifier(seed: int = 0) -> StyleNet:
    torch.manual_seed(seed)
    return StyleNet(width=4, depth=1, stages=3, dropout=0.0).eval()


def fit_on_store(net: StyleNet, root, steps: int = 60) -> StyleNet:
    """A few full-batch Adam steps on the store's train split: a model with confident, varied
    predictions (a random one names two styles, with near-ties), so agreement means something."""
    rows, labels = read_manifest(root / "manifests" / "train.csv")
    x = torch.from_numpy(np.asarray(open_images(root / "store")[rows])).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(labels)
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    torch.set_num_threads(threads)
    return net.eval()


def save_classifier(path, net, **extra) -> None:
    save_checkpoint(path, net, net.args, STYLES, **extra)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A fake store + manifests, a random StyleNet checkpoint, and the test images as PNG files."""
    root = tmp_path_factory.mktemp("classify")
    make_store(root, SIZE)
    net = fit_on_store(tiny_classifier(), root)
    save_classifier(root / "classifier.pt", net, trained_styles=list(range(NUM_CLASSES)))
    # A subset checkpoint whose raw head prefers an untrained style: masking must hide it.
    sub = tiny_classifier(1)
    with torch.no_grad():
        sub.fc.bias[1] = 100.0  # Action_painting, not in SUBSET
    save_classifier(root / "subset.pt", sub, trained_styles=list(SUBSET), image_size=SIZE)
    images = open_images(root / "store")
    rows, labels = read_manifest(root / "manifests" / "test.csv")
    pngs = root / "pngs"
    for i, (row, label) in enumerate(zip(rows, labels)):
        folder = pngs / STYLES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(images[row])).save(folder / f"{i:03d}.png")
    return root


def run_cli(*args: str):
    return runner.invoke(app, ["classify", *map(str, args)])


def test_agrees_with_evaluate_classifier(setup):
    """Every test image, as a PNG file, gets evaluate_classifier's prediction as its top style."""
    params = parse_params(tiny_params({"evaluate_classifier": {"batch_size": 64, "histogram_bins": 4}}))
    result = evaluate_classifier(
        params, setup / "store", setup / "manifests", setup / "classifier.pt", device=torch.device("cpu")
    )
    rows, labels = read_manifest(setup / "manifests" / "test.csv")
    assert len(result.y_pred) == len(rows)
    files = sorted((setup / "pngs").rglob("*.png"), key=lambda p: p.name)
    images = open_images(setup / "store")
    for f, row in zip(files, rows):  # a PNG of a store image decodes back to the same pixels
        arr, _, _, reason = decode_bytes(f.read_bytes(), SIZE, 10**8)
        assert reason == "" and np.array_equal(arr, images[row])

    clf = StyleClassifier.load(setup / "classifier.pt", device=torch.device("cpu"), image_size=SIZE)
    assert clf.styles == STYLES and clf.image_size == SIZE
    results, failures = classify_paths(clf, [setup / "pngs"], top=3, batch_size=64)
    assert not failures and len(results) == len(rows)
    by_name = {r.path.name: r for r in results}
    for i, predicted in enumerate(result.predicted_names):
        assert by_name[f"{i:03d}.png"].top[0][0] == predicted

    probs = clf.probabilities(np.asarray(images[rows]))
    assert probs.shape == (len(rows), NUM_CLASSES)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    assert list(probs.argmax(1)) == list(result.y_pred)
    # One PIL image: the same decoding and the same answer as its file.
    first = files[0]
    assert clf.top_k(Image.open(first), 3)[0][0] == by_name[first.name].top[0][0]

    # The command: one line per image, best style first, and the same top-1 (folder walked recursively).
    out = run_cli(setup / "pngs", "--model", setup / "classifier.pt", "--image-size", SIZE, "--top", 2)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert len(lines) == len(rows)
    for line in lines:
        path, _, rest = line.partition(": ")
        name = path.rsplit("/", 1)[-1]
        assert rest.split(" ")[0] == result.predicted_names[int(name[:3])]
        assert len(rest.split(", ")) == 2


def test_unreadable_files_are_one_line_each(setup, tmp_path):
    good = next((setup / "pngs").rglob("*.png"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.png").write_bytes(good.read_bytes())
    data = good.read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "fake.jpg").write_text("not a picture", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension", encoding="utf-8")
    (tmp_path / ".hidden.png").write_bytes(b"")  # hidden files are skipped, like the index does
    out = run_cli(tmp_path, "--model", setup / "classifier.pt", "--image-size", SIZE)
    assert out.exit_code == 0, out.output
    assert len(out.stdout.splitlines()) == 1 and "good.png: " in out.stdout
    errors = out.stderr.splitlines()
    assert len(errors) == 2, out.stderr
    assert any("truncated.png: " in e for e in errors) and any("fake.jpg: " in e for e in errors)
    assert "Traceback" not in out.output

    # All unreadable: exit 2, the per-file lines and one error line.
    out = run_cli(tmp_path / "fake.jpg", tmp_path / "truncated.png", "--model", setup / "classifier.pt")
    assert out.exit_code == 2 and out.stdout == ""
    assert len(out.stderr.splitlines()) == 3 and out.stderr.splitlines()[-1].startswith("error: ")
    # One unreadable image alone: one error line naming it.
    out = run_cli(tmp_path / "fake.jpg", "--model", setup / "classifier.pt")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith(f"error: {tmp_path / 'fake.jpg'}: cannot read")


def test_empty_folder_and_missing_path(setup, tmp_path):
    (tmp_path / "empty").mkdir()
    out = run_cli(tmp_path / "empty", "--model", setup / "classifier.pt")
    assert out.exit_code == 2 and out.stdout == ""
    assert (
        len(out.stderr.splitlines()) == 1
        and out.stderr.startswith("error: ")
        and "no image files" in out.stderr
    )
    out = run_cli(tmp_path / "absent.png", "--model", setup / "classifier.pt")
    assert out.exit_code == 2 and len(out.stderr.splitlines()) == 1 and "not found" in out.stderr


def test_checkpoint_that_is_not_a_classifier(setup, tmp_path):
    net = tiny_transfer_net()
    save_checkpoint(tmp_path / "transfer.pt", net, net.args, STYLES)
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    data = (setup / "classifier.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("hello", encoding="utf-8")
    image = next((setup / "pngs").rglob("*.png"))
    for name in ("transfer.pt", "tensor.pt", "truncated.pt", "text.pt"):
        with pytest.raises(CheckpointError):
            StyleClassifier.load(tmp_path / name)
        out = run_cli(image, "--model", tmp_path / name)
        assert out.exit_code == 2, (name, out.output)
        assert out.stdout == "" and len(out.stderr.splitlines()) == 1, (name, out.stderr)
        assert out.stderr.startswith(f"error: {tmp_path / name}: ") and "Traceback" not in out.stderr


def test_json_and_csv_output(setup):
    files = sorted((setup / "pngs").rglob("*.png"))[:3]
    common = ["--model", setup / "classifier.pt", "--image-size", SIZE]
    out = run_cli(*files, *common, "--json", "--top", NUM_CLASSES)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert [d["path"] for d in doc] == [str(f) for f in files]
    for d in doc:
        probs = [t["probability"] for t in d["top"]]
        assert len(probs) == NUM_CLASSES and probs == sorted(probs, reverse=True)
        assert abs(sum(probs) - 1) < 1e-4 and {t["style"] for t in d["top"]} == set(STYLES)

    out = run_cli(*files, *common, "--csv", "--top", 2)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 6 and [r["rank"] for r in rows] == ["1", "2"] * 3
    assert rows[0]["path"] == str(files[0]) and rows[0]["style"] == doc[0]["top"][0]["style"]
    assert abs(float(rows[0]["probability"]) - doc[0]["top"][0]["probability"]) < 1e-6

    assert run_cli(*files, *common, "--json", "--csv").exit_code == 2


def test_missing_default_model_says_make_repro(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (20, 20)).save(tmp_path / "x.png")
    out = run_cli("x.png")
    assert out.exit_code == 2
    assert (
        out.stderr.strip()
        == "error: models/classifier.pt not found: run `make repro` first (or pass --model)"
    )
    out = runner.invoke(app, ["stylize", "x.png", "-s", "Cubism", "-o", "y.png"])
    assert out.exit_code == 2
    assert (
        out.stderr.strip() == "error: models/transfer.pt not found: run `make repro` first (or pass --model)"
    )
    # A path the user gave is their typo, not a missing pipeline run.
    out = run_cli("x.png", "--model", "mine.pt")
    assert out.exit_code == 2 and "make repro" not in out.stderr and "mine.pt not found" in out.stderr


def test_only_trained_styles_are_named(setup):
    clf = StyleClassifier.load(setup / "subset.pt", device=torch.device("cpu"))
    assert clf.image_size == SIZE  # recorded in the checkpoint
    assert clf.styles == tuple(STYLES[i] for i in SUBSET)
    images = open_images(setup / "store")[:10]
    probs = clf.probabilities(np.asarray(images))
    assert probs.shape == (10, len(SUBSET))
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    out = run_cli(setup / "pngs", "--model", setup / "subset.pt", "--json", "--top", 5)
    assert out.exit_code == 0, out.output
    for d in json.loads(out.stdout):
        assert len(d["top"]) == len(SUBSET)  # --top is capped at the trained styles
        assert {t["style"] for t in d["top"]} == set(clf.styles)  # never Action_painting, the raw favourite


def test_image_size_falls_back_to_params(tmp_path):
    (tmp_path / "params.yaml").write_text("data:\n  image_size: 32\n", encoding="utf-8")
    assert pipeline_image_size(tmp_path / "params.yaml") == 32
    assert pipeline_image_size(tmp_path / "absent.yaml") == 64


@pytest.mark.parametrize("backbone", ["vgg19", "torchvision/resnet18", "timm/resnet18"])
def test_every_backbone_the_pipeline_trains(setup, tmp_path, backbone):
    from artstyle.models.pretrained import PretrainedClassifier
    from artstyle.models.vgg_classifier import VGGStyleNet

    if backbone == "vgg19":
        net = VGGStyleNet(dropout=0.0)
    else:
        library, _, name = backbone.partition("/")
        net = PretrainedClassifier(library, name, dropout=0.0)
    save_classifier(tmp_path / "c.pt", net.eval(), trained_styles=list(range(NUM_CLASSES)))
    clf = StyleClassifier.load(tmp_path / "c.pt", device=torch.device("cpu"), image_size=32)
    assert type(clf.model) is type(net)
    image = next((setup / "pngs").rglob("*.png"))
    out = run_cli(image, "--model", tmp_path / "c.pt", "--image-size", 32, "--top", 1, "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)[0]["top"][0]["style"] == clf.top_k(Image.open(image), 1)[0][0]
