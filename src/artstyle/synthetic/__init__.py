"""The embedded "synthetic WikiArt": procedural paintings for the 27 styles.

Each style is a recipe (``recipes.py``) that combines primitive families (strokes, dots, shapes,
fields, splatter, curves, texture) with a palette (``palettes.py``); ``generate.py`` renders the
ImageFolder tree. Related styles share palettes and differ mainly in structure, so the task is not
solvable from colour statistics alone.
"""

from artstyle.synthetic.generate import class_counts, generate_dataset, render_image

__all__ = ["class_counts", "generate_dataset", "render_image"]
