"""The index stage: decode once into the store, report every bad or odd file."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from artstyle.data.decode import decode_bytes, to_rgb
from artstyle.data.index import build_store
from artstyle.data.layouts.imagefolder import scan_tree
from artstyle.data.layouts.listing import IndexTreeError
from artstyle.data.store import open_images, read_index
from artstyle.data.store_writer import read_duplicates, read_rejected
from artstyle.headline import read_metrics
from artstyle.styles import LABEL_OF, STYLES

REPO = Path(__file__).resolve().parents[1]
S = 16  # store side in these tests
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 200, 0)


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _solid(colour, size=(40, 30), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def _noise_jpeg(w: int, h: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return _encode(Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)), "JPEG", quality=90)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _bomb_png() -> bytes:
    """A tiny PNG whose IHDR claims 100000 x 100000 RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _png_chunk(b"IEND", b"")
    )


def _exif_rotated_jpeg(orientation: int) -> bytes:
    """60 x 40 stored pixels: the top-left 30 x 20 quadrant red, the rest blue."""
    a = np.zeros((40, 60, 3), np.uint8)
    a[...] = BLUE
    a[:20, :30] = RED
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(Image.fromarray(a), "JPEG", quality=95, exif=exif.tobytes())


def _palette_with_transparency() -> bytes:
    im = Image.new("P", (30, 30), 0)
    im.putpalette([0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 6))  # index 0 green (transparent), 1 blue
    im.paste(1, (0, 0, 30, 15))  # top half opaque blue, bottom half transparent
    return _encode(im, "PNG", transparency=0)


GOOD = "train/Baroque"
EXPECTED_REJECTED = {
    # JPEG magic then noise: fails in the header or in the data, depending on the noise
    "train/Baroque/corrupt.jpg": ("unreadable header", "decode failed", "not an image"),
    "train/Baroque/empty.jpg": "empty file",
    "train/Baroque/text.png": "not an image",
    "train/Baroque/truncated.png": "truncated",
    "train/Baroque/truncated.jpg": "truncated",
    "train/Baroque/bomb.png": "decompression bomb",
    "train/Weird Stüff/x.png": "unknown style folder 'Weird Stüff'",
    "train/stray.jpg": "not inside a style folder",
}


def make_odd_tree(root: Path) -> Path:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))
    png, jpg = _encode(noise, "PNG"), _encode(noise, "JPEG")
    red_png = _encode(_solid(RED), "PNG")
    files = {
        # valid, odd
        f"{GOOD}/red.png": red_png,
        f"{GOOD}/blue image é 絵.png": _encode(_solid(BLUE), "PNG"),
        f"{GOOD}/sub folder ü/green.png": _encode(_solid(GREEN), "PNG"),
        f"{GOOD}/cmyk.jpg": _encode(_solid((0, 255, 255, 0), mode="CMYK"), "JPEG", quality=95),
        f"{GOOD}/grey16_full.png": _encode(Image.fromarray(np.full((30, 40), 65535, np.uint16)), "PNG"),
        f"{GOOD}/grey16_half.png": _encode(Image.fromarray(np.full((30, 40), 32768, np.uint16)), "PNG"),
        f"{GOOD}/grey.png": _encode(_solid(77, mode="L"), "PNG"),
        f"{GOOD}/palette.png": _palette_with_transparency(),
        f"{GOOD}/rgba.png": _encode(_solid((255, 0, 0, 128), mode="RGBA"), "PNG"),
        f"{GOOD}/exif6.jpg": _exif_rotated_jpeg(6),
        f"{GOOD}/noise.jpg": jpg,
        # bad
        f"{GOOD}/corrupt.jpg": b"\xff\xd8\xff" + rng.integers(0, 256, 300, dtype=np.uint8).tobytes(),
        f"{GOOD}/empty.jpg": b"",
        f"{GOOD}/text.png": b"this is not a png\n",
        f"{GOOD}/truncated.png": png[: len(png) // 2],
        f"{GOOD}/truncated.jpg": jpg[: len(jpg) // 2],
        f"{GOOD}/bomb.png": _bomb_png(),
        "train/Weird Stüff/x.png": red_png,
        "train/stray.jpg": jpg,
        # ignored
        f"{GOOD}/notes.txt": b"not an image extension",
        f"{GOOD}/.DS_Store": b"\0\0\0\1Bud1",
        # alias and duplicates
        "train/Art_Nouveau_Modern/nouveau.png": _encode(_solid(GREEN, (30, 30)), "PNG"),
        "test/Baroque/red copy.png": red_png,  # exact copy of train/Baroque/red.png: a leak
        "test/Cubism/a.png": _encode(_solid(BLUE, (50, 50)), "PNG"),
        "test/Cubism/b.png": _encode(_solid(BLUE, (50, 50)), "PNG"),  # same bytes as a.png
    }
    for rel, data in files.items():
        _write(root / rel, data)
    return root


@pytest.fixture(scope="module")
def odd_store(tmp_path_factory):
    root = make_odd_tree(tmp_path_factory.mktemp("tree") / "root")
    out = tmp_path_factory.mktemp("out") / "store"
    result = build_store(root, out, image_size=S, max_pixels=89_478_485, workers=2, progress=False)
    return root, out, result


def _pixels(out: Path, relpath: str) -> np.ndarray:
    rec = {r.relpath: r for r in read_index(out)}[relpath]
    return np.asarray(open_images(out)[rec.row])


def test_every_bad_file_is_rejected_with_its_reason(odd_store):
    _, out, result = odd_store
    rejected = {r.relpath: r.reason for r in read_rejected(out)}
    assert set(rejected) == set(EXPECTED_REJECTED)
    for rel, expected in EXPECTED_REJECTED.items():
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert any(a in rejected[rel] for a in allowed), (rel, rejected[rel])
    stored = {r.relpath for r in read_index(out)}
    assert not stored & set(rejected)
    assert not any(p.endswith((".txt", ".DS_Store")) for p in stored | set(rejected))
    assert result.metrics["rejected"] == len(EXPECTED_REJECTED)


@pytest.mark.parametrize(
    "relpath, colour, tol",
    [
        (f"{GOOD}/red.png", RED, 0),
        (f"{GOOD}/blue image é 絵.png", BLUE, 0),
        (f"{GOOD}/sub folder ü/green.png", GREEN, 0),
        (f"{GOOD}/cmyk.jpg", RED, 6),
        (f"{GOOD}/grey16_full.png", (255, 255, 255), 0),
        (f"{GOOD}/grey16_half.png", (128, 128, 128), 1),
        (f"{GOOD}/grey.png", (77, 77, 77), 0),
        (f"{GOOD}/rgba.png", (255, 127, 127), 1),  # half-transparent red over white
        ("train/Art_Nouveau_Modern/nouveau.png", GREEN, 0),
    ],
)
def test_odd_modes_decode_to_the_right_rgb(odd_store, relpath, colour, tol):
    _, out, _ = odd_store
    px = _pixels(out, relpath).astype(int)
    assert px.shape == (S, S, 3)
    assert np.abs(px - np.array(colour)).max() <= tol, (relpath, px[S // 2, S // 2])


def test_palette_transparency_becomes_white(odd_store):
    _, out, _ = odd_store
    px = _pixels(out, f"{GOOD}/palette.png").astype(int)
    assert np.abs(px[2, S // 2] - BLUE).max() <= 2  # opaque top half
    assert np.abs(px[-2, S // 2] - (255, 255, 255)).max() <= 2  # transparent green -> white, not green


def test_exif_orientation_is_applied(odd_store):
    _, out, _ = odd_store
    rec = {r.relpath: r for r in read_index(out)}[f"{GOOD}/exif6.jpg"]
    assert (rec.width, rec.height) == (40, 60)  # upright size: orientation 6 swaps the sides
    px = _pixels(out, f"{GOOD}/exif6.jpg").astype(int)
    q = S // 4
    # Orientation 6 = rotate 90 degrees clockwise for display: the stored top-left marker lands
    # top-right (and survives the centre crop of the now portrait image).
    assert np.abs(px[q, 3 * q] - RED).max() < 40
    for y, x in [(q, q), (3 * q, q), (3 * q, 3 * q)]:
        assert np.abs(px[y, x] - BLUE).max() < 40, (y, x, px[y, x])


def test_exif_orientation_8_lands_bottom_left():
    arr, w, h, reason = decode_bytes(_exif_rotated_jpeg(8), S, 10**8)
    assert reason == "" and (w, h) == (40, 60)
    q = S // 4
    assert np.abs(arr[3 * q, q].astype(int) - RED).max() < 40
    assert np.abs(arr[q, q].astype(int) - BLUE).max() < 40


def test_rows_sorted_labels_from_styles_and_sizes(odd_store):
    root, out, _ = odd_store
    records = read_index(out)
    keys = [(r.split, r.style, r.relpath) for r in records]
    assert keys == sorted(keys)
    assert [r.row for r in records] == list(range(len(records)))
    assert records[0].split == "test"  # "test" sorts before "train"
    for r in records:
        assert r.label == LABEL_OF[r.style]
    nouveau = [r for r in records if r.relpath.startswith("train/Art_Nouveau_Modern/")]
    assert [r.style for r in nouveau] == ["Art_Nouveau"]
    red = {r.relpath: r for r in records}[f"{GOOD}/red.png"]
    assert (red.width, red.height) == (40, 30)
    assert red.sha1 == hashlib.sha1((root / red.relpath).read_bytes()).hexdigest()
    assert open_images(out).shape == (len(records), S, S, 3)
    assert open_images(out).dtype == np.uint8


def test_duplicates_listed_and_kept(odd_store):
    _, out, result = odd_store
    dups = {d.relpath: d for d in read_duplicates(out)}
    assert set(dups) == {f"{GOOD}/red.png", "test/Cubism/b.png"}
    # duplicate_of is the first copy in row order (test rows come first)
    assert dups[f"{GOOD}/red.png"].duplicate_of == "test/Baroque/red copy.png"
    assert dups["test/Cubism/b.png"].duplicate_of == "test/Cubism/a.png"
    stored = {r.relpath for r in read_index(out)}
    assert {f"{GOOD}/red.png", "test/Baroque/red copy.png", "test/Cubism/b.png"} <= stored
    assert result.metrics["duplicates"] == 2
    assert result.metrics["cross_split_duplicates"] == 1


def test_metrics_counts(odd_store):
    _, out, result = odd_store
    m = result.metrics
    assert m["train_images"] == 11 + 1  # 11 valid in Baroque (incl. sub folder) + the alias folder
    assert m["test_images"] == 3
    assert m["images"] == 15 == len(read_index(out))
    assert m["classes"] == 3  # Baroque, Art_Nouveau, Cubism
    assert m["image_size"] == S
    assert list(m["train_counts"]) == list(STYLES)
    assert m["train_counts"]["Baroque"] == 11 and m["train_counts"]["Art_Nouveau"] == 1
    assert m["test_counts"]["Cubism"] == 2 and m["test_counts"]["Baroque"] == 1
    assert sum(m["test_counts"].values()) == 3
    assert not any("time" in k or "second" in k for k in m)
    json.dumps(m)  # plain JSON types only


def test_workers_give_identical_stores(odd_store, tmp_path):
    root, out2, _ = odd_store
    out1 = tmp_path / "w1"
    build_store(root, out1, image_size=S, max_pixels=89_478_485, workers=1, progress=False)
    assert np.array_equal(np.load(out1 / "images.npy"), np.load(out2 / "images.npy"))
    for name in ("index.csv", "rejected.csv", "duplicates.csv"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_rebuild_replaces_store_atomically(tmp_path):
    root = tmp_path / "root"
    for split in ("train", "test"):
        _write(root / split / "Baroque" / "a.png", _encode(_solid(RED), "PNG"))
    out = tmp_path / "store"
    out.mkdir()
    (out / "stale.txt").write_text("from an old run")
    first = build_store(root, out, image_size=S, max_pixels=10**8, workers=1, progress=False)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root", "store"]  # no temporary leftovers
    assert sorted(p.name for p in out.iterdir()) == [
        "duplicates.csv",
        "images.npy",
        "index.csv",
        "rejected.csv",
    ]
    second = build_store(root, out, image_size=S, max_pixels=10**8, workers=1, progress=False)
    assert first.metrics == second.metrics


def test_small_max_pixels_rejects_from_the_header(tmp_path):
    root = tmp_path / "root"
    _write(root / "train/Baroque/big.png", _encode(_solid(RED, (200, 100)), "PNG"))  # 20,000 px
    _write(root / "train/Baroque/small.png", _encode(_solid(RED, (20, 10)), "PNG"))
    _write(root / "test/Baroque/huge.png", _encode(_solid(RED, (300, 300)), "PNG"))  # > 2 x limit
    result = build_store(root, tmp_path / "store", image_size=S, max_pixels=10_000, workers=1, progress=False)
    reasons = {r.relpath: r.reason for r in result.rejected}
    assert set(reasons) == {"train/Baroque/big.png", "test/Baroque/huge.png"}
    assert all(r.startswith("decompression bomb") for r in reasons.values())
    assert "200x100" in reasons["train/Baroque/big.png"]
    assert [r.relpath for r in result.records] == ["train/Baroque/small.png"]


def test_jpeg_draft_matches_full_decode():
    a = np.zeros((800, 1200, 3), np.uint8)
    a[:, :600] = RED
    a[:, 600:] = BLUE
    a[300:500, 500:700] = GREEN
    drafted, w, h, _ = decode_bytes(_encode(Image.fromarray(a), "JPEG", quality=95), S, 10**9)
    full, _, _, _ = decode_bytes(_encode(Image.fromarray(a), "PNG"), S, 10**9)
    assert (w, h) == (1200, 800)
    assert np.abs(drafted.astype(int) - full.astype(int)).mean() < 4


@pytest.mark.parametrize(
    "im, expected",
    [
        (Image.fromarray(np.full((4, 4), 65535, np.int32), mode="I"), 255),
        (Image.fromarray(np.full((4, 4), 32768, np.int32), mode="I"), 128),
        (Image.fromarray(np.full((4, 4), 0.5, np.float32), mode="F"), 128),
        (Image.new("1", (4, 4), 1), 255),
    ],
)
def test_high_depth_and_bilevel_modes_scale_not_clip(im, expected):
    out = to_rgb(im)
    assert out.mode == "RGB"
    assert np.asarray(out)[0, 0].tolist() == [expected] * 3


def test_resize_keeps_the_centre_of_the_shorter_side():
    a = np.zeros((40, 120, 3), np.uint8)  # wide: only the centre 40 x 40 survives the crop
    a[:, :40] = RED
    a[:, 40:80] = GREEN
    a[:, 80:] = BLUE
    arr, _, _, _ = decode_bytes(_encode(Image.fromarray(a), "PNG"), S, 10**8)
    # bicubic support reaches one source pixel past the crop, so only the outer columns may tint
    assert np.abs(arr[:, 1:-1].astype(int) - GREEN).max() <= 4
    assert np.abs(arr.astype(int) - GREEN).max() < 30


def test_missing_split_is_one_line_error(tmp_path):
    (tmp_path / "train" / "Baroque").mkdir(parents=True)
    with pytest.raises(IndexTreeError, match="missing 'test/'") as info:
        scan_tree(tmp_path)
    assert "\n" not in str(info.value)


def test_no_images_is_an_error(tmp_path):
    for split in ("train", "test"):
        (tmp_path / split / "Baroque").mkdir(parents=True)
    with pytest.raises(IndexTreeError, match="no image files"):
        build_store(tmp_path, tmp_path / "store", image_size=S, max_pixels=10**8, workers=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test", "train"]  # no store, no leftovers


def _tiny_params(path: Path, image_size: int) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["data"]["image_size"] = image_size
    raw["index"]["workers"] = 2
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_stage_script_end_to_end(tmp_path):
    root = tmp_path / "my data"
    _write(root / "train/Baroque/a b.png", _encode(_solid(RED), "PNG"))
    _write(root / "train/Art_Nouveau_Modern/n.jpg", _noise_jpeg(64, 48))
    _write(root / "train/Baroque/bad.jpg", b"nope")
    _write(root / "test/Cubism/c.png", _encode(_solid(BLUE), "PNG"))
    params = _tiny_params(tmp_path / "params.yaml", 8)
    out, metrics = tmp_path / "data/store", tmp_path / "metrics/index.json"
    counts = tmp_path / "metrics/index_per_style.json"
    cmd = [sys.executable, str(REPO / "stages/index.py"), "--root", str(root), "--out", str(out)]
    cmd += ["--metrics", str(metrics), "--counts", str(counts), "--params", str(params)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "images/s" in proc.stdout
    headline = json.loads(metrics.read_text(encoding="utf-8"))
    assert set(headline) == {"images", "rejected"}  # headline numbers only
    m = read_metrics(metrics)  # with index_details.json
    assert (m["images"], m["train_images"], m["test_images"], m["rejected"], m["classes"]) == (3, 2, 1, 1, 3)
    assert m["image_size"] == 8 and "train_counts" not in m  # per-style counts: their own file
    assert json.loads(counts.read_text(encoding="utf-8"))["train_counts"]["Art_Nouveau"] == 1
    assert open_images(out).shape == (3, 8, 8, 3)
    assert "bad.jpg" in proc.stderr  # the rejection is printed, not only filed

    shutil.rmtree(root / "test")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "missing 'test/'" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
