"""The image bytes of the listed hf_parquet rows, streamed shard by shard for decoding.

Shards are read sequentially in small batches of the ``image`` column only, so memory holds one
batch, never a shard (a WikiArt copy is tens of GB). Each cell becomes its bytes or the reason it
has none (null, empty, only a path), which the decoder reports like any other bad file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from artstyle.data.layouts.hf_schema import HF_IMAGE, arrow_error_text
from artstyle.data.layouts.listing import IndexTreeError, ParquetRows

IMAGE_BATCH = 64  # rows of image bytes in memory at once in the decode pass
# Stream each column chunk in pieces of this size: without it pyarrow reads a whole column chunk
# (a row group's image bytes, the whole shard when it was written as one row group) at once.
READ_BUFFER = 8 << 20


def iter_parquet_images(
    rows: ParquetRows, batch_size: int = IMAGE_BATCH
) -> Iterator[tuple[int, bytes | None, str]]:
    """(candidate index, image bytes or None, reject reason) for every candidate, in file order.

    Shards are read sequentially in batches of ``batch_size`` rows of the image column only, so
    memory holds one batch, never a shard; the caller places each image at its candidate index.
    """
    for shard, wanted in zip(rows.shards, rows.slots, strict=True):
        if not wanted:
            continue
        row = 0
        try:
            with pq.ParquetFile(shard, buffer_size=READ_BUFFER) as pf:
                for batch in pf.iter_batches(batch_size=batch_size, columns=[HF_IMAGE]):
                    for cell in batch.column(0).to_pylist():
                        slot = wanted.get(row)
                        row += 1
                        if slot is not None:
                            yield (slot, *_image_bytes(cell))
        except (OSError, pa.ArrowException) as exc:
            # A damaged shard is an input to replace, not rows to skip silently.
            raise IndexTreeError(
                f"{shard}: unreadable after row {row} ({arrow_error_text(exc)}); download it again"
            ) from None


def _image_bytes(cell) -> tuple[bytes | None, str]:
    """(bytes, "") or (None, reject reason) of one ``image`` cell (a struct, or plain binary)."""
    if cell is None:
        return None, "null image"
    if isinstance(cell, bytes):
        data = cell
    else:
        data = cell.get("bytes")
        if data is None:
            path = cell.get("path")
            return (
                None,
                f"no image bytes (only a path: {path!r})" if path else "null image (no bytes, no path)",
            )
    if not data:
        return None, "empty image bytes (0 bytes)"
    return data, ""
