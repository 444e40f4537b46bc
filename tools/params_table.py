"""Generate docs/parameters.md from params.yaml: every key, its default and its comment.

    python tools/params_table.py           # print the page
    python tools/params_table.py --write   # write docs/parameters.md
    python tools/params_table.py --check   # exit 1 when docs/parameters.md is not what --write would write

The comments in params.yaml are the documentation: edit them there, then run --write.
tests/test_docs.py fails when a key of params.yaml has no comment or no row, or a row has no key.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"
PAGE = ROOT / "docs" / "parameters.md"
LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_]+):\s*(?P<value>[^#]*?)\s*(?:#\s*(?P<comment>.*))?$")
COMMENT = re.compile(r"^\s+#\s*(?P<comment>.*)$")
# The docs page that explains each section's parameters (sections not listed: none).
SECTION_PAGES = {
    "data": "data.md",
    "synthesize": "data.md",
    "index": "data.md",
    "resample": "imbalance.md",
    "oversample": "imbalance.md",
    "classifier": "classifier.md",
    "evaluate_classifier": "classifier.md",
    "autoencoder": "autoencoder.md",
    "cluster": "autoencoder.md",
    "embedder": "style-transfer.md",
    "transfer": "style-transfer.md",
    "evaluate_transfer": "style-transfer.md",
}


def rows(text: str) -> list[tuple[str, str, str]]:
    """(dotted key, default, comment) for every leaf key."""
    return [row for _, section_rows in sections(text) for row in section_rows[1]]


def sections(text: str) -> list[tuple[str | None, tuple[str, list[tuple[str, str, str]]]]]:
    """[(section or None for the top-level keys, (the section's comments, its rows))] in file order."""
    out: list = [(None, ("", []))]
    section = None
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            c = COMMENT.match(line)
            if c and section:  # a comment line inside a section describes the section
                note, keys = out[-1][1]
                out[-1] = (section, ((note + " " + c["comment"]).strip(), keys))
            continue
        key, value, comment = m["key"], m["value"], (m["comment"] or "").strip()
        if not m["indent"]:
            if value:
                out[0][1][1].append((key, value, comment))
                section = None
            else:
                section = key
                out.append((key, (comment, [])))
        elif section:
            out[-1][1][1].append((f"{section}.{key}", value, comment))
    return out


def _cell(text: str) -> str:
    # A bare | would end the Markdown cell and <Style> would be read as an HTML tag.
    return text.replace("|", "\\|").replace("<", "&lt;")


def table(section_rows: list[tuple[str, str, str]]) -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | `{value}` | {_cell(comment)} |" for key, value, comment in section_rows]
    return "\n".join(lines)


def page(text: str) -> str:
    out = [
        "# Parameters",
        "",
        "_Generated from [`params.yaml`](../params.yaml) by `python tools/params_table.py --write`: "
        "edit the comments there, not this page._",
        "",
        "Every key is required and validated (`src/artstyle/params.py`): an unknown key, a wrong type or "
        "an out-of-range value stops the stage with one line naming the key and what is allowed. Try a "
        "value without editing the file with `dvc exp run -S key=value` ([experiments](experiments.md)).",
    ]
    for section, (note, section_rows) in sections(text):
        if not section_rows:
            continue
        out += ["", "## Shared keys" if section is None else f"## `{section}`", ""]
        if section is None:
            note = "Top-level keys, read by several stages."
        explained = SECTION_PAGES.get(section or "")
        if note and not note.endswith("."):
            note += "."
        if explained:
            note = f"{note} Explained in [{explained}]({explained}).".strip()
        if note:
            out += [(note[0].upper() + note[1:]).replace("<", "&lt;"), ""]
        out.append(table(section_rows))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {PAGE.relative_to(ROOT)}")
    action.add_argument("--check", action="store_true", help=f"exit 1 when {PAGE.relative_to(ROOT)} is stale")
    args = parser.parse_args(argv)
    text = page(PARAMS.read_text(encoding="utf-8"))
    if args.write:
        PAGE.parent.mkdir(parents=True, exist_ok=True)
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)} ({len(rows(PARAMS.read_text(encoding='utf-8')))} keys)")
    elif args.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(
                f"error: {PAGE.relative_to(ROOT)} is stale: run python tools/params_table.py --write",
                file=sys.stderr,
            )
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
