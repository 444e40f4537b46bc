"""What a Hugging Face WikiArt shard (``huggan/wikiart``) must hold, and where its style names are.

A shard has an ``image`` column (a struct with ``bytes`` and ``path``, or plain binary) and an
integer ``style`` column of ClassLabel ids. The ids mean nothing without their names, which the
``datasets`` library keeps in the ``huggingface`` schema metadata; a shard without them is an
error rather than a guess at our label order.
"""

from __future__ import annotations

import json

import pyarrow as pa

from artstyle.data.layouts.listing import IndexTreeError

HF_IMAGE, HF_STYLE = "image", "style"


def check_hf_schema(schema: pa.Schema, where: str) -> None:
    """An ``image`` column with bytes and an integer ``style`` column, else a one-line error."""
    for column in (HF_IMAGE, HF_STYLE):
        if column not in schema.names:
            raise IndexTreeError(f"{where}: no '{column}' column (columns: {', '.join(schema.names)})")
    style_type = schema.field(HF_STYLE).type
    if not pa.types.is_integer(style_type):
        raise IndexTreeError(f"{where}: column '{HF_STYLE}' is {style_type}, expected integer class ids")
    image_type = schema.field(HF_IMAGE).type
    is_binary = pa.types.is_binary(image_type) or pa.types.is_large_binary(image_type)
    if not is_binary and not (pa.types.is_struct(image_type) and image_type.get_field_index("bytes") >= 0):
        raise IndexTreeError(f"{where}: column '{HF_IMAGE}' is {image_type}, expected a struct with 'bytes'")


def hf_style_names(schema: pa.Schema, where: str) -> list[str]:
    """The ``style`` ClassLabel names from the ``huggingface`` schema metadata of a shard.

    The ``datasets`` library writes (ArrowWriter) and reads (``Features.from_arrow_schema``)
    ``{"info": {"features": {...}}}``; a top-level ``features`` is accepted as well for copies
    rewritten by other tools. Without names the integer ids cannot be trusted to be in our order.
    """
    features = _features(_metadata(schema, where))
    style = features.get(HF_STYLE) if isinstance(features, dict) else None
    names = style.get("names") if isinstance(style, dict) else None
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise IndexTreeError(
            f"{where}: no ClassLabel names for '{HF_STYLE}' in the 'huggingface' schema metadata "
            "(expected info.features.style.names)"
        )
    return names


def _metadata(schema: pa.Schema, where: str) -> object:
    """The parsed ``huggingface`` schema metadata."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        raise IndexTreeError(f"{where}: no 'huggingface' schema metadata, so no names for the style ids")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise IndexTreeError(f"{where}: 'huggingface' schema metadata is not JSON ({exc})") from None


def _features(meta: object) -> object:
    """``info.features`` of the metadata, else a top-level ``features``, else None."""
    info = meta.get("info") if isinstance(meta, dict) else None
    features = info.get("features") if isinstance(info, dict) else None
    if features is None and isinstance(meta, dict):
        features = meta.get("features")
    return features


def arrow_error_text(exc: BaseException) -> str:
    """A pyarrow / OS error as one short line, for the error that names the shard."""
    return " ".join(str(exc).split())[:300] or type(exc).__name__
