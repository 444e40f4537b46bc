"""What a layout reader returns: the images to decode, the entries it rejects, its report lines.

Every reader (ImageFolder, ArtGAN, Hugging Face parquet) fills the same :class:`Listing`, so that
decoding and the store never depend on the layout: candidates are sorted by (split, style,
relpath), the store's row order, and carry a canonical style name; rejected entries keep the
reason that goes into ``rejected.csv``. The helpers at the end write the one-line reports the
readers share.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from artstyle.errors import InputError
from artstyle.styles import STYLES

MAX_EXAMPLES = 5  # names quoted in a one-line report; the CSV files hold the full lists


class IndexTreeError(InputError):
    """The input tree is unusable as a whole (missing split folder or file, no decodable image)."""


@dataclass(frozen=True)
class Candidate:
    relpath: str  # relative to root, forward slashes (hf_parquet: "<shard>#<row>")
    split: str
    style: str  # canonical style name


@dataclass(frozen=True)
class Rejected:
    relpath: str
    reason: str


@dataclass(frozen=True)
class ParquetRows:
    """Where the hf_parquet candidates live: per shard, parquet row -> index in the candidate list."""

    shards: tuple[Path, ...]
    slots: tuple[dict[int, int], ...]


@dataclass
class Listing:
    layout: str  # one of detect.FORMATS
    candidates: list[Candidate]  # sorted by (split, style, relpath): the store's row order
    rejected: list[Rejected]
    warnings: list[str] = field(default_factory=list)  # printed once as "warning: ..."
    notes: list[str] = field(default_factory=list)  # printed once, plain (nothing is wrong)
    parquet: ParquetRows | None = None  # hf_parquet: the bytes are in the shards, not in files


def candidate_order(candidate: Candidate) -> tuple[str, str, str]:
    """The store's row order: split, then style, then relpath."""
    return (candidate.split, candidate.style, candidate.relpath)


def sort_candidates(candidates: list[Candidate]) -> list[Candidate]:
    # Labels never depend on listing order: rows are sorted and labels come from LABEL_OF.
    return sorted(candidates, key=candidate_order)


def examples(names: list[str]) -> str:
    """The first few names, and how many there are in all when some are left out."""
    more = f", ... ({len(names)} in all)" if len(names) > MAX_EXAMPLES else ""
    return ", ".join(names[:MAX_EXAMPLES]) + more


def unknown_names_warning(where: str, counts: Counter, unit: str) -> str:
    """One line for every style name that is not a known style, with its count of ``unit``."""
    listed = ", ".join(f"{name!r} ({n} {unit}{'s' if n != 1 else ''})" for name, n in sorted(counts.items()))
    return f"{where}: unknown style name(s) {listed}, rejected ({known_styles_hint()})"


def known_styles_hint() -> str:
    return f"known styles: {', '.join(STYLES)}; add an alias in artstyle/styles.py if it is one"
