"""``python -m artstyle.bench``: the benchmark command line (:mod:`artstyle.bench.cli`)."""

from artstyle.bench.cli import app

if __name__ == "__main__":
    app(prog_name="python -m artstyle.bench")
