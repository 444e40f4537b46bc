"""Rebuild .dvc/plots_page.html: DVC's plots page template with Vega inlined, so it renders offline.

`dvc plots show` loads vega, vega-lite and vega-embed from a CDN by default; on an offline machine
(or in CI, which reaches package registries only) every curve and the confusion matrix would be an
empty box. This script fetches the exact versions DVC asks for from the npm registry with
`npm pack`, and writes them into a page template that `.dvc/config` (`plots.html_template`) points
at. The template omits DVC's `{scripts}` placeholder, which would add the CDN tags back.

    python tools/build_plots_page.py            # needs node/npm; rewrites .dvc/plots_page.html
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# The versions dvc_render's VegaRenderer.SCRIPTS names: the specs DVC emits target them.
PACKAGES = {
    "vega": ("5.20.2", "build/vega.min.js"),
    "vega-lite": ("5.2.0", "build/vega-lite.min.js"),
    "vega-embed": ("6.18.2", "build/vega-embed.min.js"),
}
OUT = Path(__file__).resolve().parents[1] / ".dvc" / "plots_page.html"

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {{refresh_tag}}
    <title>artstyle: DVC plots</title>
{scripts}
    <style>
        body {{ font-family: sans-serif; margin: 16px; }}
        table {{ border-spacing: 15px; }}
        img {{ max-width: 100%; }}
    </style>
</head>
<body>
    <h1>artstyle pipeline plots</h1>
    {{plot_divs}}
</body>
</html>
"""


def fetch(name: str, version: str, member: str, workdir: Path) -> tuple[str, str]:
    """(minified bundle, license text) of ``name@version`` from the npm registry."""
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with tarfile.open(workdir / out) as tar:
        code = tar.extractfile(f"package/{member}").read().decode("utf-8")
        license_text = tar.extractfile("package/LICENSE").read().decode("utf-8")
    return code, license_text


def main() -> None:
    blocks = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, member) in PACKAGES.items():
            code, license_text = fetch(name, version, member, Path(tmp))
            # The page is filled with str.replace on these placeholders, and a bundle must not
            # close its own <script> element early.
            for bad in ("{plot_divs}", "{scripts}", "{refresh_tag}", "</script"):
                if bad in code:
                    sys.exit(f"{name}@{version} contains {bad!r}: cannot inline it")
            notice = license_text.strip().replace("*/", "* /")
            blocks.append(
                f"    <!-- {name}@{version} (BSD-3-Clause) -->\n"
                f"    <script>/*\n{notice}\n*/\n{code}\n</script>"
            )
    OUT.write_text(PAGE.format(scripts="\n".join(blocks)), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
