"""Decoding every listed image, in worker processes, with results in a fixed order.

Each image's bytes (a file, or a parquet cell) are read once and hashed (SHA-1, which identifies
exact duplicates) next to the decode, in the worker. Work goes out in chunks, file paths or
parquet bytes, and comes back in submission order, so nothing downstream depends on which worker
finishes first: the store is the same for any number of workers. The bytes in flight are bounded
(a few chunks per worker), so a large parquet copy never queues up in memory.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from artstyle.data.decode import decode_bytes, describe
from artstyle.data.layouts.hf_images import iter_parquet_images
from artstyle.data.layouts.listing import Listing

# Image bytes in flight to the workers are bounded: at most IN_FLIGHT_PER_WORKER chunks per
# worker, so 40 GB of parquet never queue up in memory. File paths are small: bigger chunks.
IN_FLIGHT_PER_WORKER = 4
MAX_CHUNK_FILES, MAX_CHUNK_BLOBS = 64, 8

Result = tuple[np.ndarray | None, int, int, str, str]  # (image or None, width, height, sha1, reject reason)


def decode_file(path: str | Path, image_size: int, max_pixels: int) -> Result:
    """Read and decode one file: (array or None, width, height, sha1, reject reason)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, 0, 0, "", f"cannot read file: {describe(exc)}"
    sha1 = hashlib.sha1(data).hexdigest()
    arr, w, h, reason = decode_bytes(data, image_size, max_pixels)
    return arr, w, h, sha1, reason


def decode_blob(data: bytes | None, reason: str, image_size: int, max_pixels: int) -> Result:
    """:func:`decode_file` for bytes read elsewhere (a parquet cell); ``data`` None: rejected for ``reason``."""
    if data is None:
        return None, 0, 0, "", reason
    arr, w, h, reason = decode_bytes(data, image_size, max_pixels)
    return arr, w, h, hashlib.sha1(data).hexdigest(), reason


class _Decoder:
    """Picklable callables for the worker pool (a lambda or closure cannot be sent to the workers).

    A task is a chunk: a list of file relpaths, or of (bytes, reason) pairs from a parquet shard.
    """

    def __init__(self, root: Path, image_size: int, max_pixels: int) -> None:
        self.root, self.image_size, self.max_pixels = root, image_size, max_pixels

    def __call__(self, relpath: str) -> Result:
        return decode_file(self.root / relpath, self.image_size, self.max_pixels)

    def files(self, relpaths: list[str]) -> list[Result]:
        return [self(rp) for rp in relpaths]

    def blobs(self, blobs: list[tuple[bytes | None, str]]) -> list[Result]:
        return [decode_blob(data, reason, self.image_size, self.max_pixels) for data, reason in blobs]


Work = Callable[[list], list[Result]]
Chunk = tuple[list[int], list]  # (candidate indexes, payloads)


def resolve_workers(workers: int, tasks: int) -> int:
    """``workers`` (0: every core), never more than there are tasks, at least one."""
    n = workers if workers > 0 else (os.cpu_count() or 1)
    return max(1, min(n, tasks))


def decode_all(
    root: Path,
    listing: Listing,
    image_size: int,
    max_pixels: int,
    workers: int,
    progress: bool,
) -> Iterator[tuple[int, Result]]:
    """(candidate index, decoded result) for every candidate, whatever the number of workers.

    Files are read in row order; parquet cells in file order (the rows are then scattered over the
    store). Results come back in submission order, so the order, and the store, never depend on
    which worker finishes first.
    """
    n = len(listing.candidates)
    items, work, cap = _payloads(listing, _Decoder(root, image_size, max_pixels))
    chunks = _chunks(items, max(1, min(cap, n // (workers * 8))))
    with tqdm(total=n, desc="index", unit="img", disable=not progress, dynamic_ncols=True) as bar:
        results = _run_here(chunks, work) if workers == 1 else _run_in_pool(chunks, work, workers)
        for slot, result in results:
            yield slot, result
            bar.update()


def _payloads(listing: Listing, decoder: _Decoder) -> tuple[Iterator[tuple[int, object]], Work, int]:
    """(candidate index, payload) for every candidate, the work that decodes a chunk of them, the chunk cap."""
    if listing.parquet is None:
        items = ((slot, c.relpath) for slot, c in enumerate(listing.candidates))
        return items, decoder.files, MAX_CHUNK_FILES
    blobs = ((slot, (data, reason)) for slot, data, reason in iter_parquet_images(listing.parquet))
    return blobs, decoder.blobs, MAX_CHUNK_BLOBS


def _chunks(items: Iterator[tuple[int, object]], size: int) -> Iterator[Chunk]:
    """(slots, payloads) in chunks of ``size`` (itertools.batched needs Python 3.12)."""
    slots: list[int] = []
    payloads: list = []
    for slot, payload in items:
        slots.append(slot)
        payloads.append(payload)
        if len(slots) == size:
            yield slots, payloads
            slots, payloads = [], []
    if slots:
        yield slots, payloads


def _run_here(chunks: Iterator[Chunk], work: Work) -> Iterator[tuple[int, Result]]:
    """One worker: decode each chunk in this process."""
    for slots, payloads in chunks:
        yield from zip(slots, work(payloads), strict=True)


def _run_in_pool(chunks: Iterator[Chunk], work: Work, workers: int) -> Iterator[tuple[int, Result]]:
    """Several workers, a bounded queue of chunks in flight, results in submission order.

    apply_async with a bounded queue, not Pool.imap: imap's feeder thread would pull the whole
    input (every image's bytes) into memory as fast as the shards can be read.
    """
    pending: deque = deque()
    with multiprocessing.Pool(workers) as pool:
        for slots, payloads in chunks:
            pending.append((slots, pool.apply_async(work, (payloads,))))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield from _collect(pending.popleft())
        while pending:
            yield from _collect(pending.popleft())


def _collect(submitted: tuple[list[int], multiprocessing.pool.AsyncResult]) -> Iterator[tuple[int, Result]]:
    slots, result = submitted
    yield from zip(slots, result.get(), strict=True)
