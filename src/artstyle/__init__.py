"""artstyle: a reproducible DVC pipeline for learning art styles from WikiArt."""

__version__ = "0.1.0"
