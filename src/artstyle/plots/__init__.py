"""Plot functions: each returns a matplotlib Figure; stages save it with artstyle.io.save_figure."""
