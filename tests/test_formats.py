"""The index stage's other layouts: the ArtGAN release and the Hugging Face parquet copy; detection."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from artstyle.data.index import build_store
from artstyle.data.layouts.detect import detect_format, list_layout
from artstyle.data.layouts.hf_schema import hf_style_names
from artstyle.data.layouts.listing import IndexTreeError
from artstyle.data.layouts.stratified import stratified_test_split
from artstyle.data.store import open_images, read_index
from artstyle.data.store_writer import read_duplicates, read_rejected
from artstyle.styles import LABEL_OF, STYLES, canonical

REPO = Path(__file__).resolve().parents[1]
S = 8  # store side in these tests
MAX_PIXELS = 10**8

# The 27 names of ArtGAN's style_class.txt (and of huggan/wikiart's style ClassLabel).
ARTGAN_NAMES = (
    "Abstract_Expressionism Action_painting Analytical_Cubism Art_Nouveau Baroque Color_Field_Painting "
    "Contemporary_Realism Cubism Early_Renaissance Expressionism Fauvism High_Renaissance Impressionism "
    "Mannerism_Late_Renaissance Minimalism Naive_Art_Primitivism New_Realism Northern_Renaissance "
    "Pointillism Pop_Art Post_Impressionism Realism Rococo Romanticism Symbolism Synthetic_Cubism Ukiyo_e"
).split()


def _jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _colour(i: int) -> tuple[int, int, int]:
    """Distinct solid colours (far apart, so a swapped row is caught through JPEG noise)."""
    return ((37 * i + 20) % 256, (91 * i + 60) % 256, (151 * i + 100) % 256)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _build(root: Path, out: Path, **kw):
    """build_store with stderr captured: (result, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        result = build_store(root, out, S, MAX_PIXELS, kw.pop("workers", 2), progress=False, **kw)
    return result, err.getvalue()


def _assert_pixels(out: Path, colours: dict[str, tuple[int, int, int]]) -> None:
    """Every stored row holds the image of its relpath (catches rows written to the wrong slot)."""
    images = open_images(out)
    for r in read_index(out):
        mean = np.asarray(images[r.row], dtype=float).mean(axis=(0, 1))
        assert np.abs(mean - colours[r.relpath]).max() < 8, (r.relpath, mean, colours[r.relpath])


def _same_store(a: Path, b: Path) -> None:
    assert np.array_equal(np.load(a / "images.npy"), np.load(b / "images.npy"))
    for name in ("index.csv", "rejected.csv", "duplicates.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_every_real_artgan_name_is_a_canonical_style():
    assert [canonical(n) for n in ARTGAN_NAMES] == ARTGAN_NAMES
    assert sorted(ARTGAN_NAMES) == list(STYLES)


# ---------------------------------------------------------------------------------------------
# ArtGAN
# ---------------------------------------------------------------------------------------------

# ids permuted against our labels (7 is prime to 27): a label taken from the id fails the test
ARTGAN_ID = {s: (7 * LABEL_OF[s] + 3) % 27 for s in STYLES}
ALIAS_ID, UNKNOWN_ID = 30, 31

ARTGAN_TRAIN = [
    f"Baroque/a.jpg,{ARTGAN_ID['Baroque']}",
    f"Baroque/b.jpg,{ARTGAN_ID['Baroque']}",
    f"Baroque/copy.jpg,{ARTGAN_ID['Baroque']}",  # the same bytes as a.jpg
    f"Baroque/b.jpg,{ARTGAN_ID['Baroque']}",  # line 4: listed again
    f"Ukiyo_e/u1.jpg,{ARTGAN_ID['Ukiyo_e']}",
    f"Ukiyo_e/leak.jpg,{ARTGAN_ID['Ukiyo_e']}",  # also in style_val.csv
    f"Art_Nouveau_Modern/n.jpg,{ALIAS_ID}",
    f"Dadaism/d.jpg,{UNKNOWN_ID}",
    f"Baroque/gone.jpg,{ARTGAN_ID['Baroque']}",  # not on disk
    "Baroque/x.jpg,99",  # no such id
    f"Baroque/corrupt.jpg,{ARTGAN_ID['Baroque']}",
    f"Baroque/m.jpg,{ARTGAN_ID['Rococo']}",  # labelled Rococo, in the Baroque folder
    "this line has no comma",  # line 13
    "Baroque/y.jpg,abc",  # line 14
]
ARTGAN_VAL = [
    f"Baroque/c.jpg,{ARTGAN_ID['Baroque']}",
    f"Ukiyo_e/u2.jpg,{ARTGAN_ID['Ukiyo_e']}",
    f"Ukiyo_e/leak.jpg,{ARTGAN_ID['Ukiyo_e']}",
]
ARTGAN_FILES = "a b c m unlisted".split()  # Baroque; copy.jpg and corrupt.jpg added below
ARTGAN_EXPECTED = {  # (relpath, split) -> style
    ("wikiart/Baroque/a.jpg", "train"): "Baroque",
    ("wikiart/Baroque/b.jpg", "train"): "Baroque",
    ("wikiart/Baroque/copy.jpg", "train"): "Baroque",
    ("wikiart/Ukiyo_e/u1.jpg", "train"): "Ukiyo_e",
    ("wikiart/Ukiyo_e/leak.jpg", "train"): "Ukiyo_e",
    ("wikiart/Art_Nouveau_Modern/n.jpg", "train"): "Art_Nouveau",
    ("wikiart/Baroque/m.jpg", "train"): "Rococo",
    ("wikiart/Baroque/c.jpg", "test"): "Baroque",
    ("wikiart/Ukiyo_e/u2.jpg", "test"): "Ukiyo_e",
    ("wikiart/Ukiyo_e/leak.jpg", "test"): "Ukiyo_e",
}
ARTGAN_REJECTED = {
    "wikiart_csv/style_train.csv:4": "listed again (first at style_train.csv:2)",
    "wikiart/Dadaism/d.jpg": "unknown style name 'Dadaism'",
    "wikiart/Baroque/gone.jpg": "listed in wikiart_csv/style_train.csv:9 but missing on disk",
    "wikiart/Baroque/x.jpg": "label id 99",
    "wikiart/Baroque/corrupt.jpg": ("decode failed", "unreadable header", "not an image"),
    "wikiart_csv/style_train.csv:13": "malformed line",
    "wikiart_csv/style_train.csv:14": "malformed line",
}


def make_artgan(root: Path) -> dict[str, tuple[int, int, int]]:
    """The ArtGAN fixture; returns relpath -> the colour of its image."""
    colours = {}
    files = {f"Baroque/{n}.jpg" for n in ARTGAN_FILES} | {
        "Ukiyo_e/u1.jpg",
        "Ukiyo_e/u2.jpg",
        "Ukiyo_e/leak.jpg",
        "Art_Nouveau_Modern/n.jpg",
        "Dadaism/d.jpg",
        "Baroque/x.jpg",
    }
    for i, rel in enumerate(sorted(files)):
        colours[f"wikiart/{rel}"] = _colour(i)
        _write(root / "wikiart" / rel, _jpeg(_colour(i)))
    _write(root / "wikiart/Baroque/copy.jpg", (root / "wikiart/Baroque/a.jpg").read_bytes())
    colours["wikiart/Baroque/copy.jpg"] = colours["wikiart/Baroque/a.jpg"]
    _write(root / "wikiart/Baroque/corrupt.jpg", b"\xff\xd8\xff" + b"\x13" * 200)
    _write(root / "wikiart/Baroque/notes.txt", b"not an image")
    classes = [f"{ARTGAN_ID[s]} {s}" for s in STYLES] + [
        f"{ALIAS_ID} Art_Nouveau_Modern",
        f"{UNKNOWN_ID} Dadaism",
    ]
    _write(root / "wikiart_csv/style_class.txt", ("\n".join(classes) + "\n\n").encode())
    _write(root / "wikiart_csv/style_train.csv", ("\r\n".join(ARTGAN_TRAIN) + "\r\n").encode())  # CRLF too
    _write(root / "wikiart_csv/style_val.csv", ("\n".join(ARTGAN_VAL) + "\n").encode())
    return colours


@pytest.fixture(scope="module")
def artgan(tmp_path_factory):
    root = tmp_path_factory.mktemp("artgan")
    colours = make_artgan(root)
    out = tmp_path_factory.mktemp("artgan_out") / "store"
    result, err = _build(root, out)
    return root, out, result, err, colours


def test_artgan_rows_splits_and_labels_by_name(artgan):
    _, out, result, _, colours = artgan
    records = read_index(out)
    assert result.layout == "artgan"
    assert {(r.relpath, r.split): r.style for r in records} == ARTGAN_EXPECTED
    assert len(records) == len(ARTGAN_EXPECTED)
    assert all(r.label == LABEL_OF[r.style] for r in records)
    keys = [(r.split, r.style, r.relpath) for r in records]
    assert keys == sorted(keys) and [r.row for r in records] == list(range(len(records)))
    _assert_pixels(out, colours)


def test_artgan_rejects_with_reasons(artgan):
    _, out, result, _, _ = artgan
    rejected = {r.relpath: r.reason for r in read_rejected(out)}
    assert set(rejected) == set(ARTGAN_REJECTED)
    for rel, expected in ARTGAN_REJECTED.items():
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert any(a in rejected[rel] for a in allowed), (rel, rejected[rel])
    assert result.metrics["rejected"] == len(ARTGAN_REJECTED)


def test_artgan_duplicates_and_leak(artgan):
    _, out, result, err, _ = artgan
    dups = [(d.relpath, d.duplicate_of) for d in read_duplicates(out)]
    # test rows come first, so the train copy of the leak is the duplicate
    assert sorted(dups) == [
        ("wikiart/Baroque/copy.jpg", "wikiart/Baroque/a.jpg"),
        ("wikiart/Ukiyo_e/leak.jpg", "wikiart/Ukiyo_e/leak.jpg"),
    ]
    assert result.metrics["cross_split_duplicates"] == 1
    assert "1 file(s) listed in both wikiart_csv/style_train.csv and wikiart_csv/style_val.csv" in err
    assert "wikiart/Ukiyo_e/leak.jpg" in err
    assert "is an exact copy of 'wikiart/Ukiyo_e/leak.jpg'" not in err  # reported once, by the lister


def test_artgan_reports_once(artgan):
    *_, err, _ = artgan
    lines = err.splitlines()

    def one(text: str) -> str:
        hits = [line for line in lines if text in line]
        assert len(hits) == 1, (text, hits)
        return hits[0]

    assert "'Dadaism' (1 listed file)" in one("unknown style name(s)")
    assert one("not indexed").startswith("1 image file(s) under wikiart/ are not listed")
    assert "wikiart/Baroque/m.jpg" in one("another style's folder")
    untrained = one("styles have no training images")
    assert "23 of 27 styles" in untrained and "Cubism" in untrained and "Baroque" not in untrained
    assert "(this run learns 4 styles)" in untrained
    assert "2 style(s) have training images but no test images" in one("no test images")
    assert "Art_Nouveau, Rococo" in one("no test images")
    assert not any("Dadaism/d.jpg" in line for line in lines)  # summarized, not row by row


def test_artgan_missing_files_name_the_file(tmp_path):
    make_artgan(tmp_path)
    (tmp_path / "wikiart_csv/style_val.csv").unlink()
    with pytest.raises(IndexTreeError, match=r"style_val\.csv: missing file") as info:
        list_layout(tmp_path)
    assert "\n" not in str(info.value)
    (tmp_path / "wikiart_csv/style_val.csv").write_text("")
    (tmp_path / "wikiart_csv/style_class.txt").write_text("0 Baroque\nnot-a-number Cubism\n")
    with pytest.raises(IndexTreeError, match=r"style_class\.txt:2: malformed line"):
        list_layout(tmp_path)


# ---------------------------------------------------------------------------------------------
# Hugging Face parquet
# ---------------------------------------------------------------------------------------------

# style ids deliberately not in our label order: a label taken from the id fails the tests
HF_NAMES = list(reversed(STYLES)) + ["Dadaism"]
HF_ID = {name: i for i, name in enumerate(HF_NAMES)}
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
HF_SCHEMA = pa.schema(
    [("image", IMAGE_TYPE), ("artist", pa.int64()), ("genre", pa.int64()), ("style", pa.int64())]
)
SHARDS = ("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet")
CORRUPT = b"\xff\xd8\xff" + b"\x13" * 200


def _hf_metadata(names: list[str]) -> dict[bytes, bytes]:
    """Schema metadata as the datasets library writes it (ArrowWriter._build_metadata)."""
    features = {
        "image": {"decode": True, "id": None, "_type": "Image"},
        "artist": {"names": ["Unknown Artist", "vincent-van-gogh"], "_type": "ClassLabel"},
        "genre": {"names": ["landscape", "portrait"], "_type": "ClassLabel"},
        "style": {"names": names, "_type": "ClassLabel"},
    }
    return {b"huggingface": json.dumps({"info": {"features": features}}).encode()}


def _write_shard(path: Path, rows: list[dict], metadata=None, row_group_size: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = HF_SCHEMA.with_metadata(_hf_metadata(HF_NAMES) if metadata is None else metadata)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=row_group_size)


def _row(image, style) -> dict:
    return {"image": image, "artist": 0, "genre": 1, "style": style}


def make_hf(root: Path) -> dict[str, tuple[int, int, int]]:
    """Two shards, row groups of 3; returns relpath -> the colour of its image."""
    colours: dict[str, tuple[int, int, int]] = {}
    plan = [  # per shard: (style name or id, image) with image: "ok", "dup", None, b"", CORRUPT, "path"
        [("Baroque", "ok")] * 6
        + [("Cubism", "ok"), ("Baroque", None), ("Pop_Art", "ok"), (99, "ok"), ("Dadaism", "ok")],
        [("Baroque", "ok")] * 4
        + [("Cubism", "ok")] * 3
        + [("Cubism", "dup"), ("Pop_Art", "ok"), ("Rococo", "ok")]
        + [("Cubism", CORRUPT), ("Baroque", b""), ("Cubism", "path")],
    ]
    for s, (shard, rows) in enumerate(zip(SHARDS, plan, strict=True)):
        table = []
        for r, (style, kind) in enumerate(rows):
            rel = f"{shard}#{r}"
            if kind == "ok":
                colours[rel] = _colour(20 * s + r)
                image = {"bytes": _jpeg(colours[rel]), "path": f"{r}.jpg"}
            elif kind == "dup":  # the bytes of the first image of shard 0
                colours[rel] = colours[f"{SHARDS[0]}#0"]
                image = {"bytes": _jpeg(colours[rel]), "path": None}
            elif kind == "path":
                image = {"bytes": None, "path": "elsewhere/p.jpg"}
            else:
                image = None if kind is None else {"bytes": kind, "path": None}
            table.append(_row(image, HF_ID.get(style, style)))
        _write_shard(root / shard, table)
    (root / "README.md").write_text("dataset card, not a shard")
    return colours


HF_REJECTED = {
    f"{SHARDS[0]}#7": "null image",
    f"{SHARDS[0]}#9": "style id 99 out of range",
    f"{SHARDS[0]}#10": "unknown style name 'Dadaism'",
    f"{SHARDS[1]}#10": ("decode failed", "unreadable header", "not an image"),
    f"{SHARDS[1]}#11": "empty image bytes",
    f"{SHARDS[1]}#12": "only a path",
}
HF_LABELLED = {"Baroque": 12, "Cubism": 7, "Pop_Art": 2, "Rococo": 1}  # rows with a known style


def _expected_test(n: int, fraction: float = 0.2) -> int:
    return 0 if n < 2 else min(n - 1, max(1, int(np.floor(fraction * n + 0.5))))


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    colours = make_hf(root)
    out = tmp_path_factory.mktemp("hf_out") / "store"
    result, err = _build(root, out, test_fraction=0.2, split_seed=42)
    return root, out, result, err, colours


def test_hf_style_names_from_the_schema_metadata(hf):
    root, *_ = hf
    schema = pq.ParquetFile(root / SHARDS[0]).schema_arrow
    assert hf_style_names(schema, "x") == HF_NAMES
    # a top-level "features" (copies rewritten by other tools) is read as well
    top = {b"huggingface": json.dumps({"features": {"style": {"names": ["Baroque"], "_type": "ClassLabel"}}})}
    assert hf_style_names(pa.schema([]).with_metadata(top), "x") == ["Baroque"]
    with pytest.raises(IndexTreeError, match="no 'huggingface' schema metadata"):
        hf_style_names(pa.schema([]), "shard.parquet")


def test_hf_rows_labels_and_pixels(hf):
    _, out, result, _, colours = hf
    records = read_index(out)
    assert result.layout == "hf_parquet"
    assert {r.relpath for r in records} == set(colours) - set(HF_REJECTED)  # every usable row, once
    style_of = {f"{SHARDS[1]}#9": "Rococo", f"{SHARDS[0]}#8": "Pop_Art", f"{SHARDS[1]}#8": "Pop_Art"}
    style_of |= {f"{SHARDS[0]}#6": "Cubism", f"{SHARDS[1]}#7": "Cubism", f"{SHARDS[0]}#0": "Baroque"}
    by_rel = {r.relpath: r for r in records}
    for rel, style in style_of.items():
        assert by_rel[rel].style == style and by_rel[rel].label == LABEL_OF[style], rel
    keys = [(r.split, r.style, r.relpath) for r in records]
    assert keys == sorted(keys) and [r.row for r in records] == list(range(len(records)))
    _assert_pixels(out, colours)  # rows decoded in file order land in their sorted row
    assert result.metrics["images"] == len(records) == 18


def test_hf_rejects_and_duplicates(hf):
    _, out, result, err, _ = hf
    rejected = {r.relpath: r.reason for r in read_rejected(out)}
    assert set(rejected) == set(HF_REJECTED)
    for rel, expected in HF_REJECTED.items():
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert any(a in rejected[rel] for a in allowed), (rel, rejected[rel])
    (dup,) = read_duplicates(out)
    assert {dup.relpath, dup.duplicate_of} == {f"{SHARDS[1]}#7", f"{SHARDS[0]}#0"}
    row = {r.relpath: r.row for r in read_index(out)}
    assert row[dup.duplicate_of] < row[dup.relpath]  # the first copy in row order
    assert [line for line in err.splitlines() if "unknown style name(s)" in line][0].count("Dadaism") == 1
    assert "'Dadaism' (1 row)" in err


def test_hf_split_is_stratified_and_seeded(hf):
    root, *_ = hf
    listing = list_layout(root, "auto", 0.2, 42)
    tests = {s: sum(1 for c in listing.candidates if c.style == s and c.split == "test") for s in HF_LABELLED}
    totals = {s: sum(1 for c in listing.candidates if c.style == s) for s in HF_LABELLED}
    assert totals == HF_LABELLED
    assert tests == {s: _expected_test(n) for s, n in HF_LABELLED.items()}
    assert tests["Rococo"] == 0 and tests["Pop_Art"] == 1  # one image: train; two: one each
    again = list_layout(root, "hf_parquet", 0.2, 42)
    assert again.candidates == listing.candidates


def test_stratified_split_properties():
    sizes = {"Baroque": 1, "Cubism": 2, "Rococo": 3, "Pop_Art": 7, "Realism": 50, "Impressionism": 333}
    styles = [s for s, n in sizes.items() for _ in range(n)]
    rng = np.random.default_rng(0)
    styles = [styles[i] for i in rng.permutation(len(styles))]
    for fraction in (0.2, 0.5, 0.9):
        mask = stratified_test_split(styles, fraction, 42)
        for s, n in sizes.items():
            k = int(sum(m for m, st in zip(mask, styles, strict=True) if st == s))
            assert k == _expected_test(n, fraction), (s, fraction)
            if n >= 2:
                assert 1 <= k <= n - 1
        assert abs(mask.mean() - fraction) < 0.02
    a, b = stratified_test_split(styles, 0.2, 42), stratified_test_split(styles, 0.2, 42)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_test_split(styles, 0.2, 43))


def test_hf_bad_shards_are_one_line_errors(tmp_path):
    rows = [_row({"bytes": _jpeg((1, 2, 3)), "path": None}, HF_ID["Baroque"])]
    _write_shard(tmp_path / "a/train-0.parquet", rows, metadata={})
    with pytest.raises(IndexTreeError, match="no 'huggingface' schema metadata") as info:
        list_layout(tmp_path / "a")
    assert "\n" not in str(info.value)
    _write_shard(tmp_path / "b/data/train-0.parquet", rows)
    _write_shard(tmp_path / "b/data/train-1.parquet", rows, metadata=_hf_metadata(list(STYLES)))
    with pytest.raises(IndexTreeError, match="style names differ from those of data/train-0.parquet"):
        list_layout(tmp_path / "b")
    good = (tmp_path / "b/data/train-0.parquet").read_bytes()
    _write(tmp_path / "d/train-0.parquet", good[: len(good) // 2])  # an interrupted download
    with pytest.raises(IndexTreeError, match="not a readable parquet file"):
        list_layout(tmp_path / "d")
    pq.write_table(pa.table({"image": [b"x"]}), tmp_path / "c.parquet")
    with pytest.raises(IndexTreeError, match="no 'style' column"):
        list_layout(tmp_path, "hf_parquet")


# ---------------------------------------------------------------------------------------------
# Detection, override, workers
# ---------------------------------------------------------------------------------------------


def test_detection_and_override(tmp_path):
    folder = tmp_path / "folder"
    for split in ("train", "test"):
        (folder / split / "Baroque").mkdir(parents=True)
    artgan, hf_data, hf_root = tmp_path / "artgan", tmp_path / "hf_data", tmp_path / "hf_root"
    (artgan / "wikiart_csv").mkdir(parents=True)
    rows = [_row({"bytes": _jpeg((1, 2, 3)), "path": None}, HF_ID["Baroque"])]
    _write_shard(hf_data / "data/train-00000-of-00001.parquet", rows)
    _write_shard(hf_root / "train-00000-of-00001.parquet", rows)
    assert detect_format(folder) == "imagefolder"
    assert detect_format(artgan) == "artgan"
    assert detect_format(hf_data) == "hf_parquet"
    assert detect_format(hf_root) == "hf_parquet"
    assert [c.relpath for c in list_layout(hf_root).candidates] == ["train-00000-of-00001.parquet#0"]

    (folder / "wikiart_csv").mkdir()  # now both an ImageFolder tree and an ArtGAN release
    with pytest.raises(
        IndexTreeError, match="ambiguous layout, it looks like imagefolder and artgan"
    ) as info:
        detect_format(folder)
    assert "data.format" in str(info.value) and "\n" not in str(info.value)
    assert detect_format(folder, "imagefolder") == "imagefolder"  # the override settles it

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexTreeError, match="no known dataset layout") as info:
        detect_format(empty)
    assert "wikiart_csv/" in str(info.value) and "data/*.parquet" in str(info.value)


def test_forced_format_names_what_is_missing(tmp_path):
    rows = [_row({"bytes": _jpeg((1, 2, 3)), "path": None}, HF_ID["Baroque"])]
    _write_shard(tmp_path / "data/train-00000-of-00001.parquet", rows)
    with pytest.raises(IndexTreeError, match=r"wikiart: missing folder"):
        list_layout(tmp_path, "artgan")
    with pytest.raises(IndexTreeError, match="missing 'train/' folder"):
        list_layout(tmp_path, "imagefolder")
    make_artgan(tmp_path / "a")
    with pytest.raises(IndexTreeError, match="no parquet shards"):
        list_layout(tmp_path / "a", "hf_parquet")


def test_workers_give_identical_stores(artgan, hf, tmp_path):
    for i, (root, out, *_) in enumerate((artgan, hf)):
        one = tmp_path / f"w1_{i}"
        _build(root, one, workers=1)
        _same_store(one, out)


def test_stage_script_prints_the_layout(hf, tmp_path):
    root, *_ = hf
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["data"]["image_size"] = S
    raw["index"]["workers"] = 1
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    cmd = [
        sys.executable,
        str(REPO / "stages/index.py"),
        "--root",
        str(root),
        "--out",
        str(tmp_path / "store"),
    ]
    cmd += [
        "--metrics",
        str(tmp_path / "m.json"),
        "--counts",
        str(tmp_path / "c.json"),
        "--params",
        str(params),
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "layout: hf_parquet (detected), test split 0.2 seed 42" in proc.stdout
    assert json.loads((tmp_path / "m.json").read_text())["images"] == 18
