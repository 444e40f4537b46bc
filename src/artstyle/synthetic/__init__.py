"""The embedded "synthetic WikiArt": procedural paintings for the 27 styles.

Each style is a recipe (``recipes.py``) that combines primitive families (strokes, dots, shapes,
fields, splatter, curves, texture) with a palette (``palettes.py``); ``generate.py`` renders the
ImageFolder tree. Related styles share palettes and differ mainly in structure, so the task is not
solvable from colour statistics alone.

The bytes must not depend on the machine (``tests/test_synthetic_determinism.py``), so the maths
here keeps to what rounds the same on every CPU: no ``@`` / ``np.dot`` / ``np.linalg`` (BLAS picks
its kernel by CPU), float32 arrays only through + - * / and sqrt, transcendental functions on float64
arrays or on scalars with ``math`` (numpy's float32 sin/cos/exp/log/power kernels differ by SIMD
level), and exact integer sums where a float reduction would decide pixels.
"""

from artstyle.synthetic.generate import class_counts, generate_dataset, render_image

__all__ = ["class_counts", "generate_dataset", "render_image"]
