"""The Hugging Face layout (``huggan/wikiart``): parquet shards with image bytes and style ids.

Shards are ``root/data/*.parquet`` (or ``*.parquet`` directly in root), each with an ``image``
column and integer ``style`` ids named in the schema metadata (:mod:`.hf_schema`). The copy has
one split only, so the test split is drawn here (:func:`.stratified.stratified_test_split`),
before any image byte is read: labels and splits come from the small style column alone, and the
split never depends on which images happen to decode. The image bytes are streamed later, for
decoding, by :mod:`.hf_images`; a candidate's relpath is ``<shard>#<row>``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from artstyle.data.layouts.files import is_hidden, relpath
from artstyle.data.layouts.hf_schema import HF_STYLE, arrow_error_text, check_hf_schema, hf_style_names
from artstyle.data.layouts.listing import (
    Candidate,
    IndexTreeError,
    Listing,
    ParquetRows,
    Rejected,
    candidate_order,
    unknown_names_warning,
)
from artstyle.data.layouts.stratified import stratified_test_split
from artstyle.styles import canonical, is_known

HF_DIR = "data"
STYLE_PASS_BATCH = 65_536  # the first pass reads one small integer column

Row = tuple[int, int, str]  # (shard index, row in the shard, canonical style)


def list_hf_parquet(root: Path, test_fraction: float, split_seed: int) -> Listing:
    """The hf_parquet reader: label the rows from the style column, draw the test split, sort."""
    shards = parquet_shards(root)
    if not shards:
        raise IndexTreeError(f"{root}: no parquet shards (looked for {HF_DIR}/*.parquet and *.parquet)")
    names, style_ids = _read_style_columns(root, shards)
    listing = Listing("hf_parquet", [], [])
    rows = _label_rows(root, shards, names, style_ids, listing)
    if not rows:
        raise IndexTreeError(f"{root}: no row of the parquet shards has a known style")
    located = _split_and_sort(root, shards, rows, test_fraction, split_seed)
    listing.candidates = [c for c, _, _ in located]
    listing.parquet = _where_rows_are(shards, located)
    return listing


def parquet_shards(root: Path) -> list[Path]:
    """``root/data/*.parquet`` and ``root/*.parquet``, sorted by their path relative to root."""
    shards = [p for folder in (root / HF_DIR, root) if folder.is_dir() for p in folder.glob("*.parquet")]
    shards = [p for p in shards if p.is_file() and not is_hidden(p.name)]
    return sorted(shards, key=lambda p: relpath(root, p))


def _read_styles(shard: Path) -> tuple[list[str], list[int | None]]:
    """A shard's style names (schema metadata) and its ``style`` column, one small column only."""
    try:
        with pq.ParquetFile(shard) as pf:
            check_hf_schema(pf.schema_arrow, str(shard))
            names = hf_style_names(pf.schema_arrow, str(shard))
            ids = [
                style_id
                for batch in pf.iter_batches(batch_size=STYLE_PASS_BATCH, columns=[HF_STYLE])
                for style_id in batch.column(0).to_pylist()
            ]
    except (OSError, pa.ArrowException) as exc:
        raise IndexTreeError(f"{shard}: not a readable parquet file ({arrow_error_text(exc)})") from None
    return names, ids


def _read_style_columns(root: Path, shards: list[Path]) -> tuple[list[str], list[list[int | None]]]:
    """The style names every shard shares (else an error) and each shard's style ids."""
    names, ids = _read_styles(shards[0])
    style_ids = [ids]
    for shard in shards[1:]:
        shard_names, ids = _read_styles(shard)
        if shard_names != names:
            raise IndexTreeError(f"{shard}: its style names differ from those of {relpath(root, shards[0])}")
        style_ids.append(ids)
    return names, style_ids


def _label_rows(
    root: Path, shards: list[Path], names: list[str], style_ids: list[list[int | None]], listing: Listing
) -> list[Row]:
    """The rows with a known style, in file order; the others go to ``listing.rejected``."""
    unknown: Counter = Counter()
    rows: list[Row] = []
    for shard_index, (shard, ids) in enumerate(zip(shards, style_ids, strict=True)):
        rel = relpath(root, shard)
        for row, style_id in enumerate(ids):
            where = f"{rel}#{row}"
            if style_id is None:
                listing.rejected.append(Rejected(where, "no style id (null)"))
            elif not 0 <= style_id < len(names):
                reason = f"style id {style_id} out of range (the metadata names {len(names)} styles)"
                listing.rejected.append(Rejected(where, reason))
            elif not is_known(names[style_id]):
                unknown[names[style_id]] += 1
                reason = f"unknown style name '{names[style_id]}' (id {style_id})"
                listing.rejected.append(Rejected(where, reason))
            else:
                rows.append((shard_index, row, canonical(names[style_id])))
    if unknown:
        listing.warnings.append(unknown_names_warning(f"{root} (parquet metadata)", unknown, "row"))
    return rows


def _split_and_sort(
    root: Path, shards: list[Path], rows: list[Row], test_fraction: float, split_seed: int
) -> list[tuple[Candidate, int, int]]:
    """(candidate, shard index, row) in store order, each row given its split.

    The split is drawn on the labelled rows before decoding, so it never depends on which images
    happen to decode (a rejected test image leaves the others where they were).
    """
    is_test = stratified_test_split([style for _, _, style in rows], test_fraction, split_seed)
    located = [
        (Candidate(f"{relpath(root, shards[s])}#{r}", "test" if t else "train", style), s, r)
        for (s, r, style), t in zip(rows, is_test, strict=True)
    ]
    located.sort(key=lambda x: candidate_order(x[0]))
    return located


def _where_rows_are(shards: list[Path], located: list[tuple[Candidate, int, int]]) -> ParquetRows:
    """Per shard, parquet row -> the candidate's index (its store row before rejections)."""
    slots: tuple[dict[int, int], ...] = tuple({} for _ in shards)
    for slot, (_, s, r) in enumerate(located):
        slots[s][r] = slot
    return ParquetRows(tuple(shards), slots)
