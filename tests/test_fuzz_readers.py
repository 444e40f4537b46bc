"""Property-based fuzz test of the index readers: random and damaged bytes as JPEG / PNG / WebP files,
ArtGAN CSV lines and Hugging Face parquet shards.

Each example builds a tiny dataset of good images plus the fuzzed input and runs ``build_store``
(one worker, 8 px). The properties: nothing but a one-line :class:`~artstyle.errors.InputError` (an
``IndexTreeError`` for a layout unusable as a whole) ever escapes; every good image is in the store;
every fuzzed image is either in the store or in rejected.csv with a non-empty reason.

Derandomized (the same examples on every run) and sized to run in well under a minute on 2 cores.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from artstyle.data.index import build_store
from artstyle.data.store import read_index
from artstyle.data.store_writer import read_rejected
from artstyle.errors import InputError
from artstyle.styles import STYLES

SIZE = 8
MAX_PIXELS = 10**7
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _encode(fmt: str, colour: tuple[int, int, int] = (200, 40, 90), side: int = 12) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", (side, side + 3), colour)
    im.putpixel((1, 1), (0, 0, 0))
    im.save(buf, fmt)
    return buf.getvalue()


VALID = {"jpg": _encode("JPEG"), "png": _encode("PNG"), "webp": _encode("WEBP")}
GOOD = {  # relpath -> bytes, for the ImageFolder and ArtGAN trees
    "Baroque/g0.jpg": _encode("JPEG", (10, 200, 30)),
    "Baroque/g1.png": _encode("PNG", (90, 20, 230)),
    "Cubism/g2.webp": _encode("WEBP", (240, 240, 10)),
}


@st.composite
def damaged_image(draw) -> tuple[str, bytes]:
    """(extension, bytes): random bytes, a valid small image cut short, or one with bytes spliced in."""
    ext = draw(st.sampled_from(sorted(VALID)))
    valid = VALID[draw(st.sampled_from(sorted(VALID)))]  # sometimes another format's bytes
    kind = draw(st.sampled_from(["random", "truncated", "spliced", "overwritten", "valid"]))
    if kind == "random":
        data = draw(st.binary(max_size=600))
    elif kind == "truncated":
        data = valid[: draw(st.integers(0, len(valid)))]
    elif kind == "valid":
        data = valid
    else:
        at = draw(st.integers(0, len(valid)))
        junk = draw(st.binary(min_size=1, max_size=64))
        tail = valid[at + len(junk) :] if kind == "overwritten" else valid[at:]
        data = valid[:at] + junk + tail
    return ext, data


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@contextlib.contextmanager
def _workdir():
    # hypothesis runs many examples in one test: a fresh folder each, not pytest's tmp_path
    path = Path(tempfile.mkdtemp(prefix="fuzz_readers_"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _build(root: Path, out: Path, fmt: str):
    """build_store (one worker, no progress, stderr swallowed); the escaped error if any is allowed."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return build_store(root, out, SIZE, MAX_PIXELS, 1, progress=False, format=fmt)
        except InputError as exc:  # IndexTreeError included: the documented whole-layout error
            message = str(exc)
            assert message.strip() and "\n" not in message.strip(), message
            return exc


def _check_store(out: Path, good: set[str], fuzzed: set[str]) -> None:
    indexed = {r.relpath for r in read_index(out)}
    rejected = read_rejected(out)
    assert good <= indexed, sorted(good - indexed)  # nothing already indexable is lost
    reasons = {r.relpath: r.reason for r in rejected}
    assert all(r.reason.strip() for r in rejected), rejected
    for rel in fuzzed:
        assert rel in indexed or reasons.get(rel, "").strip(), (rel, reasons)


# ---------------------------------------------------------------------------------------------
# Image files (ImageFolder layout)
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(st.lists(damaged_image(), min_size=1, max_size=3))
def test_fuzzed_image_files_are_indexed_or_rejected(images):
    with _workdir() as tmp:
        root = tmp / "tree"
        for rel, data in GOOD.items():
            _write(root / "train" / rel, data)
        _write(root / "test/Baroque/t.jpg", VALID["jpg"])
        fuzzed = set()
        for i, (ext, data) in enumerate(images):
            rel = f"train/Cubism/fuzz{i}.{ext}"
            _write(root / rel, data)
            fuzzed.add(rel)
        result = _build(root, tmp / "store", "imagefolder")
        assert not isinstance(result, Exception), result  # good images exist: never a layout error
        _check_store(tmp / "store", {f"train/{r}" for r in GOOD} | {"test/Baroque/t.jpg"}, fuzzed)


# ---------------------------------------------------------------------------------------------
# ArtGAN CSV lines
# ---------------------------------------------------------------------------------------------

ARTGAN_IDS = {name: i for i, name in enumerate(STYLES)}
GOOD_LINES = [f"{rel},{ARTGAN_IDS[rel.split('/')[0]]}".encode() for rel in GOOD]

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30)
_label = st.one_of(
    st.integers(-5, 40).map(str), st.sampled_from(["", "x", "1.5", "99999999999999999999", " 3 ", "-0"])
)
_path = st.one_of(
    st.sampled_from([*GOOD, "Baroque/missing.jpg", "../escape.jpg", "/abs.jpg", "Cubism/fuzz.jpg", ""]),
    _text,
)


@st.composite
def csv_line(draw) -> bytes:
    """One line of style_train.csv: well-formed with random parts, extra / missing columns, quotes,
    random text or raw (possibly non-UTF-8) bytes."""
    kind = draw(st.sampled_from(["line", "columns", "text", "bytes"]))
    if kind == "line":
        return f"{draw(_path)},{draw(_label)}".encode()
    if kind == "columns":
        parts = draw(st.lists(st.one_of(_path, _label), max_size=5))
        quote = draw(st.booleans())
        return ",".join(f'"{p}"' if quote else p for p in parts).encode()
    if kind == "text":
        return draw(_text).encode()
    return draw(st.binary(max_size=40)).replace(b"\n", b"")


@FUZZ
@given(
    st.lists(csv_line(), min_size=1, max_size=6),
    st.one_of(st.none(), damaged_image()),
    st.one_of(st.none(), csv_line()),
)
def test_fuzzed_artgan_lines_are_indexed_or_rejected(lines, image, class_line):
    with _workdir() as tmp:
        root = tmp / "artgan"
        for rel, data in GOOD.items():
            _write(root / "wikiart" / rel, data)
        _write(root / "wikiart/Baroque/v.jpg", VALID["jpg"])
        fuzzed = set()
        if image is not None:  # a listed file with damaged bytes
            _write(root / "wikiart/Cubism/fuzz.jpg", image[1])
            fuzzed.add("wikiart/Cubism/fuzz.jpg")
            lines = [*lines, f"Cubism/fuzz.jpg,{ARTGAN_IDS['Cubism']}".encode()]
        classes = "\n".join(f"{i} {name}" for name, i in ARTGAN_IDS.items()).encode() + b"\n"
        if class_line is not None:  # a malformed style_class.txt is a whole-layout error (one line)
            classes += class_line + b"\n"
        _write(root / "wikiart_csv/style_class.txt", classes)
        _write(root / "wikiart_csv/style_train.csv", b"\r\n".join([*GOOD_LINES, *lines]) + b"\r\n")
        _write(root / "wikiart_csv/style_val.csv", f"Baroque/v.jpg,{ARTGAN_IDS['Baroque']}\n".encode())
        result = _build(root, tmp / "store", "artgan")
        if isinstance(result, Exception):
            assert class_line is not None, result  # only the class list can sink the whole layout
            return
        good = {f"wikiart/{rel}" for rel in GOOD} | {"wikiart/Baroque/v.jpg"}
        _check_store(tmp / "store", good, fuzzed)


# ---------------------------------------------------------------------------------------------
# Hugging Face parquet shards
# ---------------------------------------------------------------------------------------------

HF_NAMES = list(STYLES)
SHARD = "data/train-00000-of-00001.parquet"


def _hf_metadata(names) -> dict[bytes, bytes]:
    return {b"huggingface": json.dumps({"info": {"features": {"style": {"names": names}}}}).encode()}


IMAGE_TYPES = {
    "struct": pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
    "binary": pa.binary(),
    "large_binary": pa.large_binary(),
    "string": pa.string(),
    "int": pa.int64(),
    "struct_no_bytes": pa.struct([("path", pa.string())]),
}
STYLE_TYPES = {
    "int64": pa.int64(),
    "int8": pa.int8(),
    "uint16": pa.uint16(),
    "string": pa.string(),
    "float": pa.float64(),
}


@st.composite
def image_cell(draw, kind: str):
    """A fuzzed cell of the ``image`` column of type ``kind`` (None = a null cell)."""
    if draw(st.integers(0, 5)) == 0:
        return None
    if kind in ("struct", "binary", "large_binary"):
        data = draw(st.one_of(damaged_image().map(lambda x: x[1]), st.just(b"")))
        if kind != "struct":
            return data
        return {"bytes": draw(st.one_of(st.none(), st.just(data))), "path": draw(st.one_of(st.none(), _text))}
    if kind == "string":
        return draw(_text)
    if kind == "int":
        return draw(st.integers(-(2**40), 2**40))
    return {"path": draw(_text)}


def style_cell(draw, kind: str):
    if draw(st.integers(0, 5)) == 0:
        return None
    if kind == "string":
        return draw(st.sampled_from(["Baroque", "3", ""]))
    if kind == "float":
        return draw(st.floats(allow_nan=True, allow_infinity=True))
    low, high = {"int8": (-128, 127), "uint16": (0, 65535)}.get(kind, (-(2**40), 2**40))
    return draw(st.one_of(st.integers(0, len(HF_NAMES) + 2), st.integers(low, high)))


@st.composite
def parquet_shard(draw) -> tuple[bytes, int, bool]:
    """(shard bytes, number of good rows first in it, whether its schema and metadata are valid)."""
    if draw(st.booleans()):  # a usable schema: the fuzz is in the cells
        image_kind = draw(st.sampled_from(["struct", "binary", "large_binary"]))
        style_kind = draw(st.sampled_from(["int64", "int8", "uint16"]))
        columns, metadata = draw(st.sampled_from(["both", "extra"])), "names"
    else:  # wrong types, missing columns, missing or damaged metadata
        image_kind = draw(st.sampled_from(sorted(IMAGE_TYPES)))
        style_kind = draw(st.sampled_from(sorted(STYLE_TYPES)))
        columns = draw(st.sampled_from(["both", "no image", "no style", "extra"]))
        metadata = draw(st.sampled_from(["names", "none", "not json", "no names", "bad names"]))
    n_fuzz = draw(st.integers(0, 4))
    good_ok = image_kind in ("struct", "binary", "large_binary") and style_kind in ("int64", "int8", "uint16")
    n_good = 3 if good_ok else 0
    images, styles = [], []
    for i in range(n_good):  # valid rows of known styles
        data = GOOD[sorted(GOOD)[i]]
        images.append({"bytes": data, "path": f"{i}.png"} if image_kind == "struct" else data)
        styles.append(STYLES.index("Baroque") if i < 2 else STYLES.index("Cubism"))
    for _ in range(n_fuzz):
        images.append(draw(image_cell(image_kind)))
        styles.append(style_cell(draw, style_kind))
    fields, arrays = [], []
    if columns != "no image":
        fields.append(pa.field("image", IMAGE_TYPES[image_kind]))
        arrays.append(pa.array(images, type=IMAGE_TYPES[image_kind]))
    if columns != "no style":
        fields.append(pa.field("style", STYLE_TYPES[style_kind]))
        arrays.append(pa.array(styles, type=STYLE_TYPES[style_kind], from_pandas=False))
    if columns == "extra":
        fields.append(pa.field("genre", pa.int64()))
        arrays.append(pa.array([1] * len(images), type=pa.int64()))
    meta = {
        "names": _hf_metadata(HF_NAMES),
        "none": None,
        "not json": {b"huggingface": b"{not json"},
        "no names": {b"huggingface": b'{"info": {"features": {}}}'},
        "bad names": _hf_metadata([1, 2]),
    }[metadata]
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=draw(st.integers(1, 4)))
    data = buf.getvalue()
    truncated = draw(st.integers(0, 4)) == 0  # an interrupted download
    if truncated:
        data = data[: draw(st.integers(0, len(data) - 1))]
    valid = good_ok and columns in ("both", "extra") and metadata == "names" and not truncated
    return data, n_good, valid


@FUZZ
@given(parquet_shard())
def test_fuzzed_parquet_shards_are_indexed_or_rejected(shard):
    data, n_good, valid = shard
    with _workdir() as tmp:
        root = tmp / "hf"
        _write(root / SHARD, data)
        result = _build(root, tmp / "store", "hf_parquet")
        if isinstance(result, Exception):
            # a shard unusable as a whole (schema, metadata, cut short): the one-line error only
            assert not valid, result
            return
        rows = pq.ParquetFile(root / SHARD).metadata.num_rows
        good = {f"{SHARD}#{i}" for i in range(n_good)}
        _check_store(tmp / "store", good, {f"{SHARD}#{i}" for i in range(n_good, rows)})
