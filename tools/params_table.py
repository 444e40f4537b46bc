"""Print the README's parameter table from params.yaml: every key, its default and its comment.

    python tools/params_table.py > /tmp/table.md   # then paste it under "## Parameters"

tests/test_readme.py fails when a key of params.yaml is missing from the README's table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_]+):\s*(?P<value>[^#]*?)\s*(?:#\s*(?P<comment>.*))?$")


def rows(text: str) -> list[tuple[str, str, str]]:
    """(dotted key, default, comment) for every leaf key; a section's own comment goes to its keys' header."""
    out, section = [], None
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        key, value, comment = m["key"], m["value"], (m["comment"] or "").strip()
        if not m["indent"]:
            if value:
                out.append((key, value, comment))
                section = None
            else:
                section = key
        elif section:
            out.append((f"{section}.{key}", value, comment))
    return out


def table(text: str) -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, value, comment in rows(text):
        # A bare | would end the Markdown cell and <Style> would be read as an HTML tag.
        cell = comment.replace("|", "\\|").replace("<", "&lt;")
        lines.append(f"| `{key}` | `{value}` | {cell} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table(PARAMS.read_text(encoding="utf-8")) + "\n")
