"""The documentation says what the project has, and its links and quoted numbers hold.

Pages: README.md, CHANGELOG.md and docs/*.md. Pure text: nothing here runs dvc or imports torch.

Links. Every relative link, image and anchor must resolve: ``[text](path)``, ``[text](path#anchor)``,
``[text](#anchor)``, ``![alt](path)``, reference definitions ``[name]: path`` and HTML ``src=`` /
``href=`` attributes. The path is taken relative to the page (a leading ``/`` means the repository
root) and must exist inside the repository; an anchor into a Markdown page must match one of its
headings by GitHub's slug rules (lower case; every character but letters, digits, ``_``, ``-`` and
spaces dropped; each space a ``-``; the second heading with the same slug gets ``-1``, the third
``-2``) or an explicit ``<a id="...">`` / ``<a name="...">``. Links with a scheme (``http:``,
``https:``, ``mailto:``) and anything inside code spans or fenced code blocks are not checked.

Numbers quoted from metrics files. A Markdown table whose header has a column named ``source`` and
one named ``value`` claims, in every row whose source cell is not empty, that the value cell equals
a number of a committed JSON file. The source cell is two code spans, the file (relative to the
repository root) and the key (dots go into nested objects, integers index lists)::

    | measure | value | source |
    |---|---|---|
    | deception rate | 0.750 | `metrics/transfer.json` `deception_rate` |
    | test PSNR | 23.78 dB | `metrics/autoencoder.json` `test_psnr` |
    | deception rate | 75.0 % | `metrics/transfer.json` `deception_rate` |

The value cell holds one number, optionally bold or in a code span, optionally with thousands
commas (``96,462``) and a leading ``-``, optionally followed by a unit. The unit ``%`` means the
file holds a fraction and the cell shows 100 times it; any other unit (letters, ``/``, ``×``: ``dB``,
``ms``, ``x``, ``images/s``) is ignored. The claim holds when the file's number, rounded to the
decimals the cell shows, is the cell's number (ties may round either way). A source cell that is
not empty and does not parse, a missing file or key, or a value cell that is not a number, is an
error too, so a typo cannot turn a claim into a silent skip.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from conftest import REPO

README = REPO / "README.md"
PAGES = [README, REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
PARAMETERS_PAGE = REPO / "docs" / "parameters.md"

# --- Markdown text -------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m[1]
            elif m[1] == fence:
                fence = None
            continue
        if fence is None:
            out.append((number, line))
    return out


# --- Headings and GitHub's anchors ---------------------------------------------------------------

HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(?P<text>.*?)(?:\s+#+)?\s*$")
EXPLICIT_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (github-slugger, before de-duplication)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = CODE_SPAN.sub(lambda m: m[2], text)  # code spans: their content
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page has: its headings' slugs (duplicates numbered) and explicit <a id/name>."""
    found, seen = set(), {}
    for _, line in _prose_lines(text):
        found.update(EXPLICIT_ANCHOR.findall(line))
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m["text"])
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


# --- Links ---------------------------------------------------------------------------------------

INLINE_LINK = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ATTR = re.compile(r"\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link, image, reference definition and HTML src/href."""
    out = []
    for number, line in _prose_lines(text):
        prose = CODE_SPAN.sub("", line)
        targets = INLINE_LINK.findall(prose) + REFERENCE_DEF.findall(prose) + HTML_ATTR.findall(prose)
        out.extend((number, t[1:-1] if t.startswith("<") else t) for t in targets)
    return out


def broken_links(page: Path, root: Path = REPO) -> list[str]:
    """'page:line: target: why' for every relative link of page that does not resolve."""
    text = page.read_text(encoding="utf-8")
    problems = []
    for number, target in links(text):
        if SCHEME.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        path_part = unquote(path_part)
        if not path_part:
            target_file = page
        elif path_part.startswith("/"):
            target_file = (root / path_part.lstrip("/")).resolve()
        else:
            target_file = (page.parent / path_part).resolve()
        where = f"{page.relative_to(root)}:{number}: {target}"
        if not target_file.is_relative_to(root.resolve()) or not target_file.exists():
            problems.append(f"{where}: no such file")
            continue
        if target_file.is_dir():
            target_file = target_file / "README.md"  # what GitHub shows for a folder
        if anchor and target_file.suffix == ".md":
            if not target_file.exists() or unquote(anchor) not in anchors(
                target_file.read_text(encoding="utf-8")
            ):
                problems.append(f"{where}: no heading with the anchor #{anchor}")
    return problems


# --- Numbers claimed from metrics files ----------------------------------------------------------

NUMBER = re.compile(r"^(?P<num>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?)\s*(?P<unit>%|[A-Za-z/×]+)?$")
SOURCE = re.compile(r"^`(?P<file>[^`]+\.json)`\s+`(?P<key>[^`]+)`$")


@dataclass(frozen=True)
class Claim:
    line: int
    value: str
    source: str


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)]


def _header_name(cell: str) -> str:
    return cell.strip("*_ `").lower()


def claims(text: str) -> list[Claim]:
    """Every (value, source) pair of the tables with a `value` and a `source` column."""
    found, lines = [], _prose_lines(text)
    i = 0
    while i < len(lines):
        number, line = lines[i]
        is_table = line.lstrip().startswith("|") and i + 1 < len(lines)
        if not (is_table and re.match(r"^\s*\|?\s*:?-{3,}", lines[i + 1][1])):
            i += 1
            continue
        header = [_header_name(c) for c in _cells(line)]
        i += 2
        rows = []
        while i < len(lines) and lines[i][1].lstrip().startswith("|"):
            rows.append(lines[i])
            i += 1
        if "source" not in header:
            continue
        value_col = header.index("value") if "value" in header else None
        source_col = header.index("source")
        for row_number, row in rows:
            cells = _cells(row)
            source = cells[source_col] if source_col < len(cells) else ""
            if not source:
                continue
            value = cells[value_col] if value_col is not None and value_col < len(cells) else ""
            found.append(Claim(row_number, value, source))
    return found


def _lookup(data, key: str):
    for part in key.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(key)
    return data


def wrong_claims(page: Path, root: Path = REPO) -> list[str]:
    """'page:line: why' for every claim of page that does not hold."""
    problems = []
    for claim in claims(page.read_text(encoding="utf-8")):
        where = f"{page.relative_to(root)}:{claim.line}"
        source = SOURCE.match(claim.source)
        if not source:
            problems.append(f"{where}: source {claim.source!r} is not `file.json` `key`")
            continue
        file = root / source["file"]
        try:
            actual = _lookup(json.loads(file.read_text(encoding="utf-8")), source["key"])
        except FileNotFoundError:
            problems.append(f"{where}: {source['file']} does not exist")
            continue
        except KeyError:
            problems.append(f"{where}: {source['file']} has no key {source['key']}")
            continue
        shown = NUMBER.match(claim.value.replace("*", "").replace("`", "").strip())
        if not shown:
            problems.append(f"{where}: value {claim.value!r} is not a number (with an optional unit)")
            continue
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            problems.append(f"{where}: {source['file']} {source['key']} is {actual!r}, not a number")
            continue
        decimals = len(shown["dec"] or "")
        expected = actual * 100 if shown["unit"] == "%" else actual
        if abs(expected - float(shown["num"].replace(",", ""))) > 0.5 * 10**-decimals + 1e-9:
            problems.append(
                f"{where}: {claim.value!r} but {source['file']} {source['key']} is {actual!r} "
                f"({expected:.{decimals}f} at the decimals shown)"
            )
    return problems


# --- The pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page):
    assert page.exists(), page
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_number_claimed_from_a_metrics_file_equals_it(page):
    assert wrong_claims(page) == []


def test_the_readme_claims_its_headline_numbers():
    found = claims(README.read_text(encoding="utf-8"))
    assert len(found) >= 12, (
        f"the checker found {len(found)} claims in README.md: is the table's header right?"
    )
    files = {SOURCE.match(c.source)["file"] for c in found}
    assert {"metrics/classifier.json", "metrics/autoencoder.json", "metrics/clusters.json"} <= files
    assert "metrics/transfer.json" in files


def test_the_readme_is_short_and_tells_no_history():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    history = r"this session|the run before|lost this|earlier run|last full run|fresh-clone CI run|passed, [0-9]+m[0-9]+s"
    for page in [README, *sorted((REPO / "docs").glob("*.md"))]:
        assert re.findall(history, page.read_text(encoding="utf-8")) == [], page


def test_every_stage_and_metrics_file_is_in_the_readme():
    text = README.read_text(encoding="utf-8")
    dvc_yaml = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    stages = yaml.safe_load(dvc_yaml)["stages"]
    assert len(stages) >= 12
    missing = [stage for stage in stages if f"`{stage}`" not in text]
    metrics = sorted(set(re.findall(r"metrics/[\w.-]+\.json", dvc_yaml)))
    assert len(metrics) >= 8
    missing += [path for path in metrics if path not in text]
    assert missing == [], f"README.md does not name {missing}"


def test_the_docs_index_lists_every_docs_page():
    index = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for _, target in links(index)}
    pages = {p.name for p in (REPO / "docs").glob("*.md")} - {"README.md"}
    assert sorted(pages - linked) == [], "docs/README.md does not link these pages"
    readme_links = {target.partition("#")[0] for _, target in links(README.read_text(encoding="utf-8"))}
    assert "docs/README.md" in readme_links or "docs/" in readme_links


# --- docs/parameters.md, generated from params.yaml ----------------------------------------------


def _params_table():
    spec = importlib.util.spec_from_file_location("params_table", REPO / "tools" / "params_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _param_rows():
    return _params_table().rows((REPO / "params.yaml").read_text(encoding="utf-8"))


def test_every_param_has_a_comment():
    rows = _param_rows()
    assert len(rows) > 50  # the parser found the keys (a broken regex would make this test vacuous)
    assert [key for key, _, comment in rows if not comment] == [], "params.yaml keys without a comment"


def test_the_parameters_page_lists_every_param_and_no_removed_one():
    keys = {key for key, _, _ in _param_rows()}
    listed = set(
        re.findall(r"^\| `([a-z_.]+)` \| `", PARAMETERS_PAGE.read_text(encoding="utf-8"), flags=re.M)
    )
    fix = "regenerate it: python tools/params_table.py --write"
    assert sorted(keys - listed) == [], f"docs/parameters.md lacks these keys; {fix}"
    assert sorted(listed - keys) == [], f"docs/parameters.md lists keys params.yaml no longer has; {fix}"


def test_the_parameters_page_is_what_the_generator_writes():
    module = _params_table()
    expected = module.page((REPO / "params.yaml").read_text(encoding="utf-8"))
    assert PARAMETERS_PAGE.read_text(encoding="utf-8") == expected, "python tools/params_table.py --write"


# --- The checkers themselves: each kind of error is reported -------------------------------------


def _page(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_slugs_follow_github():
    assert slug("Quick start") == "quick-start"
    assert slug("`artstyle` commands") == "artstyle-commands"
    assert slug("Credits and licences: data, papers, code") == "credits-and-licences-data-papers-code"
    assert slug("Use `dvc exp run -S data.root=...`") == "use-dvc-exp-run--s-dataroot"
    assert slug("The [pipeline](x.md) (12 stages)") == "the-pipeline-12-stages"
    assert slug("snake_case & more") == "snake_case--more"
    text = '# A\n## A\n```\n# not a heading\n```\n### A\n<a id="custom"></a>\n'
    assert anchors(text) == {"a", "a-1", "a-2", "custom"}


def test_the_link_checker_reports_a_missing_file_and_a_bad_anchor(tmp_path):
    _page(tmp_path, "docs/other.md", "# Other page\n\n## Second part\n")
    _page(tmp_path, "plots/p.png", "")
    page = _page(
        tmp_path,
        "README.md",
        "# Top\n\n"
        "[ok](docs/other.md) [ok](docs/other.md#second-part) [ok](#top) ![ok](plots/p.png)\n"
        "[ok](https://example.org/x#y) [ok](mailto:a@b.c) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        '<img src="plots/p.png" width="200"> [ok](docs/)\n'
        "[missing](docs/nowhere.md)\n"
        "[bad anchor](docs/other.md#third-part)\n"
        "[bad local anchor](#bottom)\n"
        "![missing image](plots/q.png)\n"
        "[outside](../outside.md)\n"
        "[ref]: docs/gone.md\n",
    )
    problems = broken_links(page, root=tmp_path / "")
    assert [p.split(":")[1] for p in problems] == ["9", "10", "11", "12", "13", "14"], problems
    assert "docs/nowhere.md: no such file" in problems[0]
    assert "#third-part" in problems[1] and "#bottom" in problems[2]
    assert "plots/q.png: no such file" in problems[3]


def test_the_link_checker_reports_outside_the_repository(tmp_path):
    root = tmp_path / "repo"
    _page(tmp_path, "outside.md", "# Outside\n")
    page = _page(root, "README.md", "[up](../outside.md)\n")
    assert len(broken_links(page, root=root)) == 1


def test_the_claim_checker_reports_wrong_numbers_and_bad_cells(tmp_path):
    _page(
        tmp_path,
        "metrics/m.json",
        json.dumps({"rate": 0.75, "psnr": 23.7819, "n": 27, "nested": {"x": [1, 2.5]}}),
    )
    page = _page(
        tmp_path,
        "README.md",
        "| measure | value | source |\n"
        "|---|---|---|\n"
        "| right | 0.750 | `metrics/m.json` `rate` |\n"
        "| right, bold and percent | **75.0 %** | `metrics/m.json` `rate` |\n"
        "| right, unit | 23.78 dB | `metrics/m.json` `psnr` |\n"
        "| right, integer | 27 | `metrics/m.json` `n` |\n"
        "| right, nested | 2.5x | `metrics/m.json` `nested.x.1` |\n"
        "| not a claim | 99 | |\n"
        "| wrong | 0.760 | `metrics/m.json` `rate` |\n"
        "| wrong rounding | 23.79 dB | `metrics/m.json` `psnr` |\n"
        "| wrong percent | 7.5 % | `metrics/m.json` `rate` |\n"
        "| no key | 1 | `metrics/m.json` `nope` |\n"
        "| no file | 1 | `metrics/gone.json` `rate` |\n"
        "| not a number | about 0.75 | `metrics/m.json` `rate` |\n"
        "| bad source | 0.75 | metrics/m.json rate |\n"
        "\n| a table without a source column | value |\n|---|---|\n| x | 0.1 |\n",
    )
    assert len(claims(page.read_text())) == 12
    problems = wrong_claims(page, root=tmp_path)
    assert [p.split(":")[1] for p in problems] == [str(n) for n in range(9, 16)], problems
    assert "'0.760' but metrics/m.json rate is 0.75" in problems[0]
    assert "no key nope" in problems[3] and "does not exist" in problems[4]
    assert "not a number" in problems[5] and "is not `file.json` `key`" in problems[6]
