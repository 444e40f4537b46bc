"""The 27 WikiArt style classes: the single source of the label <-> index map.

Every stage maps style names to integer labels through this module, never through the order in
which folders happen to be listed on disk (the course's label-order bug came from exactly that).
"""

from __future__ import annotations

from collections.abc import Iterable

# Image counts per style in the widely used ArtGAN WikiArt training split (57,025 images).
# The synthetic default dataset uses these proportions; they also document the real imbalance.
ARTGAN_TRAIN_COUNTS: dict[str, int] = {
    "Abstract_Expressionism": 1948,
    "Action_painting": 69,
    "Analytical_Cubism": 77,
    "Art_Nouveau": 3034,
    "Baroque": 2969,
    "Color_Field_Painting": 1131,
    "Contemporary_Realism": 337,
    "Cubism": 1565,
    "Early_Renaissance": 974,
    "Expressionism": 4716,
    "Fauvism": 654,
    "High_Renaissance": 941,
    "Impressionism": 9142,
    "Mannerism_Late_Renaissance": 896,
    "Minimalism": 936,
    "Naive_Art_Primitivism": 1684,
    "New_Realism": 220,
    "Northern_Renaissance": 1787,
    "Pointillism": 360,
    "Pop_Art": 1039,
    "Post_Impressionism": 4516,
    "Realism": 7514,
    "Rococo": 1463,
    "Romanticism": 4914,
    "Symbolism": 3170,
    "Synthetic_Cubism": 152,
    "Ukiyo_e": 817,
}

STYLES: tuple[str, ...] = tuple(sorted(ARTGAN_TRAIN_COUNTS))
NUM_CLASSES = len(STYLES)
LABEL_OF: dict[str, int] = {name: i for i, name in enumerate(STYLES)}
# The splits of a dataset folder and of the store indexed from it (validation is carved out of train later).
SPLITS = ("train", "test")

# Other spellings found in WikiArt exports, mapped to the canonical name.
# The course's Roboflow export calls Art_Nouveau "Art_Nouveau_Modern".
ALIASES: dict[str, str] = {
    "Art_Nouveau_Modern": "Art_Nouveau",
    "Naive_Art": "Naive_Art_Primitivism",
    "Mannerism": "Mannerism_Late_Renaissance",
    "Ukiyo-e": "Ukiyo_e",
    "Pop_art": "Pop_Art",
    "Action_Painting": "Action_painting",
}


class UnknownStyleError(ValueError):
    """A folder or name that is neither a known style nor an alias of one."""


def canonical(name: str) -> str:
    """Return the canonical style name for ``name`` (exact name or alias); raise otherwise."""
    if name in LABEL_OF:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise UnknownStyleError(
        f"unknown style {name!r}; known styles: {', '.join(STYLES)} (aliases: {', '.join(sorted(ALIASES))})"
    )


def label_of(name: str) -> int:
    """Integer label of a style name or alias."""
    return LABEL_OF[canonical(name)]


def is_known(name: str) -> bool:
    return name in LABEL_OF or name in ALIASES


def trained_styles(labels: Iterable[int]) -> tuple[int, ...]:
    """The sorted label ids that occur in ``labels``: the styles a run on this data can learn.

    A user's own collection rarely holds all 27 styles. The label map stays :data:`STYLES` (so
    checkpoints of different subsets stay comparable) and every stage restricts itself to these.
    """
    return tuple(sorted({int(v) for v in labels}))


def style_names(labels: Iterable[int]) -> str:
    """'Cubism, Pop_Art' for a list of label ids (for messages)."""
    return ", ".join(STYLES[int(i)] for i in labels)
