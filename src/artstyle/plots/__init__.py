"""Plot functions: each returns a matplotlib Figure; stages save it with artstyle.fileio.save_figure."""
