"""The site: a Jupyter Book built from executed notebooks, its generated pages and its checks.

Synthetic executed notebooks (outputs written by hand, no kernel) keep these tests fast; one
book is built per test session from them (``built``). The real notebooks' book is built and
audited in tests/test_output_regression.py, where they are executed anyway.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import struct
import zlib
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tradelib.publish import book, links, report, site

BROWSER = site.find_browser()
NEED_BROWSER = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CI"),
    reason="Chromium not installed (apt-get install chromium); required when CI is set",
)
ROOT = Path(__file__).resolve().parents[1]


def _png() -> str:
    """A valid 1x1 PNG, base64-encoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    raw += chunk(b"IDAT", zlib.compress(b"\x00\x00\x72\xb2")) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def _metric(name: str, value: float, **finding: str) -> nbformat.NotebookNode:
    """A code cell whose output is what report.record leaves (optionally a finding)."""
    payload = {"name": name, "value": value}
    if finding:
        payload |= {"uncertainty": None, "vintage": None} | finding
    cell = new_code_cell(f"report.record({name!r}, ...)", execution_count=4)
    cell.outputs = [
        new_output(
            "display_data",
            data={report.METRIC_MIME: payload, "text/plain": f"{name} = {value}"},
        )
    ]
    return cell


def _executed(stem: str, title: str, question: str, alt: str, finding: bool = True):
    """An executed notebook as papermill, plot.show and report.record leave it."""
    png = _png()
    fig = new_code_cell("plot.show(fig, alt=...)", execution_count=3)
    fig.outputs = [
        new_output(
            "display_data",
            data={
                "image/png": png,
                "text/html": f'<img src="data:image/png;base64,{png}" alt="{alt}"/>',
                "text/plain": f"[figure] {alt}",
            },
        )
    ]
    params = new_code_cell('PARTNER = "Mexico"', execution_count=1)
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell('# Parameters\nPARTNER = "Canada"\n', execution_count=2)
    injected.metadata["tags"] = ["injected-parameters"]
    prose = new_code_cell("report.md(...)", execution_count=5)
    prose.outputs = [
        new_output(
            "display_data",
            data={
                "text/markdown": "Exports of $33.7bn, imports of $60.6bn; a gap of 13.7 $bn.",
                "text/plain": "<Markdown>",
            },
        )
    ]
    cells = [
        new_markdown_cell(
            f"# {title}\n\n{links.badges_markdown(stem + '.ipynb')}\n\n"
            f"**Question** {question}\n\n**Prerequisites** none.\n\n**Outcomes** a figure."
        ),
        params,
        injected,
        fig,
        new_markdown_cell(
            "## Method\n\n$$\\Delta B_t = \\Delta X_t - \\Delta M_t$$\n\nwith $x_t$."
        ),
        _metric(
            "gap",
            -13.7,
            finding=f"The {stem} gap is -13.7 bn, computed.",
            uncertainty="95% interval -15.0 to -12.4",
            vintage="2026-10",
        )
        if finding
        else _metric("gap", -13.7),
        prose,
        new_markdown_cell("## What it cannot tell\n\nA description, not a causal effect."),
        new_markdown_cell("## Summary\n\nThe balance is $x$."),
        new_markdown_cell(
            f"## Exercises\n\n### Exercise 1\n\nRedo {title} for **Canada**; use $\\tau_t$."
        ),
        new_markdown_cell("**Solution 1.** Change the partner."),
        new_code_cell("answer = 42", execution_count=6),
        new_markdown_cell("**Exercise 2.** Add a control."),
        new_code_cell("other = 43", execution_count=7),
    ]
    for i in (10, 11, 13):
        cells[i].metadata["tags"] = ["solution"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _manifest(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "vintage", "file", "sha256", "retrieved_at"])
        w.writerow(["census-country", "2025-04", "country.xlsx", "ab", "2026-10-01T09:00:00"])
        w.writerow(["census-country", "2026-10", "country.xlsx", "cd", "2026-11-02T10:00:00"])
        w.writerow(["fred-DEXMXUS", "2026-09", "DEXMXUS.csv", "ef", "2026-09-30T08:00:00"])
    return path


SUMMARY = {
    "partner": "Mexico",
    "parameters": {"PARTNER": "Mexico"},
    "environment": {"python": "3.11.7", "packages": {"pandas": "3.0.0"}, "blas": "openblas"},
    "results": [
        {"notebook": "01_data.ipynb", "status": "ok", "seconds": 1.25},
        {"notebook": "02_trends.ipynb", "status": "failed", "seconds": 2.5},
        {"notebook": "05_check.ipynb", "status": "skipped", "seconds": 0.0, "message": "specific"},
    ],
}


def _executed_dir(root: Path) -> Path:
    executed = root / "output" / "mexico"
    executed.mkdir(parents=True)
    nbformat.write(
        _executed("01_data", "01 · The data", "Which *files* feed the study?", "Bars by source"),
        str(executed / "01_data.ipynb"),
    )
    nbformat.write(
        _executed("02_trends", "02 · Trends", "How did the balance move?", "Line. Source: Census"),
        str(executed / "02_trends.ipynb"),
    )
    (executed / "run-summary.json").write_text(json.dumps(SUMMARY), encoding="utf-8")
    return executed


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> book.BookResult:
    """The book of two synthetic executed notebooks (built once for this module)."""
    root = tmp_path_factory.mktemp("book")
    executed = _executed_dir(root)
    return site.build_site(
        executed, root / "site", partner="Mexico", manifest=_manifest(root / "MANIFEST.csv")
    )


def _page(built: book.BookResult, name: str) -> str:
    return (built.site_dir / name).read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The visible text of an HTML page (tags removed, entities decoded)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ---------------------------------------------------------------------------------------------
# Links (one repository URL)
# ---------------------------------------------------------------------------------------------


def test_badges_point_at_the_repository() -> None:
    md = links.badges_markdown("notebooks/03_tariff_timeline.ipynb")
    assert links.REPO_URL == "https://github.com/tradelib/tradelib"
    assert "https://mybinder.org/v2/gh/tradelib/tradelib/main?labpath=notebooks%2F03_tariff" in md
    assert (
        "https://colab.research.google.com/github/tradelib/tradelib/blob/main/notebooks/"
        "03_tariff_timeline.ipynb" in md
    )
    assert md.count("![") == 2
    readme = links.readme_badges_markdown()
    assert "(https://mybinder.org/v2/gh/tradelib/tradelib/main?labpath=notebooks)" in readme
    assert "blob/main/notebooks/01_data.ipynb)" in readme
    assert links.pip_install_spec() == "tradelib @ git+https://github.com/tradelib/tradelib"
    cell = links.colab_install_cell()
    assert 'pip install --quiet "tradelib @ git+' in cell and "fetch_each(mirror=None)" in cell
    compile(cell.replace("%pip", "pass  #"), "<install cell>", "exec")  # valid Python otherwise
    with pytest.raises(links.LinkError, match="not a notebook"):
        links.badges_markdown("notebooks/readme.md")
    assert site.badges_markdown is links.badges_markdown  # old import path still works


def test_no_import_cycle_between_publishing_modules() -> None:
    """Every import among tradelib.publish modules (module-level or inside a function) points
    down the layers: run/site -> book -> teach/report/links; the graph has no cycle."""
    import ast

    folder = ROOT / "tradelib" / "publish"
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}

    def imported(module: str) -> set[str]:
        tree = ast.parse((folder / f"{module}.py").read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "tradelib.publish":
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "tradelib.publish."
            ):
                found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found |= {
                    a.name.split(".")[2]
                    for a in node.names
                    if a.name.startswith("tradelib.publish.")
                }
        return (found & modules) - {module}

    graph = {m: imported(m) for m in modules}
    assert graph["links"] == set()
    assert "site" not in graph["teach"] and "run" not in graph["teach"]

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, "import cycle: " + " -> ".join((*path, m))
        for n in graph[m]:
            visit(n, (*path, m))

    for m in modules:
        visit(m, ())


# ---------------------------------------------------------------------------------------------
# Index blurbs
# ---------------------------------------------------------------------------------------------


def test_notebook_info_takes_title_and_question() -> None:
    nb = _executed("04_x", "04 · Regression", "What *drives* [imports](https://x.org)?", "a")
    info = book.notebook_info(nb, "04_x")
    assert info.title == "04 · Regression"
    assert info.summary == "What drives imports?"
    nb.cells[0].source = "# 04 · R\n\n**Question.** Is it big? How big (in $bn) is it? More."
    assert book.notebook_info(nb, "04_x").summary == "Is it big?"
    nb.cells[0].source = "# 04 · R\n\n**Question.** Does _STL_SEASONAL_ matter?"
    assert book.notebook_info(nb, "04_x").summary == "Does STL_SEASONAL matter?"


def test_blurb_does_not_repeat_the_headline() -> None:
    """Notebook 06 opens by quoting the story's question; the index shows the next sentence."""
    nb = _executed("06_x", "06 · Outlook", "x", "a")
    nb.cells[0].source = (
        '# 06 · Outlook\n\n**Question.** The May 2025 story asked: "Will Mexico and the US '
        'enhance their trade balance?" Where is the balance heading to 2027?'
    )
    assert book.notebook_info(nb, "06_x").summary == "Where is the balance heading to 2027?"
    assert book.blurb('It asked "Why?" only.') == 'It asked "Why?" only.'  # nothing else to show


# ---------------------------------------------------------------------------------------------
# Notebook tidied for the book
# ---------------------------------------------------------------------------------------------


def test_book_notebook_converts_exercises_and_hides_injected_parameters() -> None:
    nb = _executed("02_trends", "02 · Trends", "How?", "Line")
    tidy = book.book_notebook(nb, "02_trends")
    cells = tidy.nb.cells
    injected = next(c for c in cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in injected.metadata["tags"]
    assert [e.label for e in tidy.exercises] == ["ex-02-trends-1", "ex-02-trends-2"]
    assert tidy.exercises[0].text.startswith("Redo 02 · Trends for **Canada**")
    assert tidy.exercises[1].text == "Add a control."
    sources = [c.source for c in cells]
    assert any("::::{exercise}\n:label: ex-02-trends-1\n\nRedo" in s for s in sources)
    assert any(s.startswith("## Exercises") and "### Exercise 1" not in s for s in sources)
    starts = [i for i, s in enumerate(sources) if s.startswith("```{solution-start}")]
    ends = [i for i, s in enumerate(sources) if s.startswith("```{solution-end}")]
    assert len(starts) == len(ends) == 2
    assert sources[starts[0]] == "```{solution-start} ex-02-trends-1\n:class: dropdown\n```"
    assert sources[starts[0] + 1] == "Change the partner."  # "**Solution 1.**" dropped
    assert sources[starts[0] + 2] == "answer = 42" and ends[0] == starts[0] + 3
    assert sources[starts[1] + 1] == "other = 43"
    assert "(finding-02-trends-gap)=" in sources
    assert sources[sources.index("(finding-02-trends-gap)=") + 1].startswith("report.record")
    assert "$$ (eq-02-trends-1)" in "\n".join(sources)
    assert "badge_logo.svg" not in "\n".join(sources)
    assert "[Launch in Binder](https://mybinder.org/v2/gh/" in sources[0]
    assert nb.cells[2].metadata["tags"] == ["injected-parameters"]  # the input is not changed


def test_number_equations_only_display_blocks() -> None:
    text, nxt = book.number_equations("a $x$ b\n\n$$\ny = 1\n$$\n\n$$z$$\nc $5 and $6", "03")
    assert text.count("(eq-03-") == 2 and nxt == 3
    assert "$$\ny = 1\n$$ (eq-03-1)" in text and "$$z$$ (eq-03-2)" in text


# ---------------------------------------------------------------------------------------------
# Generated pages
# ---------------------------------------------------------------------------------------------


def test_findings_page_from_records() -> None:
    nb = _executed("03_x", "03 · Timeline", "Which?", "a")
    info = book.notebook_info(nb, "03_x")
    findings = report.read_findings(nb)
    page = book.findings_page([(info, findings, book.limits_text(nb))])
    assert "The 03_x gap is -13.7 bn, computed." in page
    assert "**Uncertainty**: 95% interval -15.0 to -12.4" in page
    assert "**Data vintage**: 2026-10" in page
    assert "<finding-03-x-gap>` (`gap`)" in page and f"cell {findings[0]['cell']}" in page
    assert "**What this cannot tell.** A description, not a causal effect." in page
    bare = _executed("03_x", "03 · Timeline", "Which?", "a", finding=False)
    with pytest.raises(book.BookError, match="no notebook records a finding"):
        book.findings_page([(info, report.read_findings(bare), "")])
    draft = book.findings_page([(info, [], "")], allow_empty=True)
    assert "**Draft:** no notebook records a headline finding yet" in draft


def test_findings_page_shows_dollar_amounts_as_text_and_skipped_sources() -> None:
    nb = _executed("03_x", "03 · Timeline", "Which?", "a")
    info = book.notebook_info(nb, "03_x")
    f = dict(report.read_findings(nb)[0], finding="It was -$197.0bn in 2025, after -$168.6bn.",
             uncertainty="$1bn either way")
    page = book.findings_page([(info, [f], "")], missing={"03_x": ["census-duties"]})
    assert "It was -\\$197.0bn in 2025, after -\\$168.6bn." in page   # not inline math
    assert "**Uncertainty**: \\$1bn either way" in page
    assert "Not computed in this run" in page and "`census-duties`" in page
    assert book.literal_dollars("\\$5 and $6") == "\\$5 and \\$6"     # never escaped twice
    # a run that skipped every finding still gets a page that says why
    page = book.findings_page([(info, [], "")], missing={"03_x": ["yale-tracker"]})
    assert "`yale-tracker`" in page


def test_provenance_renders_any_summary_fields() -> None:
    vintages = book.vintages_table(
        [
            {"source_id": "census-country", "vintage": "2025-04", "file": "a/country.xlsx"},
            {"source_id": "census-country", "vintage": "2026-10", "retrieved_at": "2026-11-02T1"},
        ]
    )
    assert vintages == [
        {
            "source": "census-country",
            "vintages": "2025-04, 2026-10",
            "latest": "2026-10",
            "files": "country.xlsx",
            "retrieved": "2026-11-02",
        }
    ]
    page = book.provenance_page(vintages, SUMMARY, "Mexico")
    assert "| census-country | 2025-04, 2026-10 | 2026-10 | country.xlsx | 2026-11-02 |" in page
    assert "- **environment**:" in page and "  - **python**: 3.11.7" in page
    assert "    - **pandas**: 3.0.0" in page
    assert "| notebook | status | seconds | message |" in page
    assert "| 05_check.ipynb | skipped | 0 | specific |" in page
    assert "No run summary was found" in book.provenance_page([], {}, "Mexico")


# ---------------------------------------------------------------------------------------------
# The built book (fixture notebooks)
# ---------------------------------------------------------------------------------------------


def test_book_pages(built: book.BookResult) -> None:
    names = [str(p.relative_to(built.site_dir)) for p in built.pages]
    assert names == [
        "index.html",
        "findings.html",
        "notebooks/01_data.html",
        "notebooks/02_trends.html",
        "05_check.html",
        "exercises.html",
        "provenance.html",
        "references.html",
    ]
    assert all(p.is_file() for p in built.pages)
    assert (built.site_dir / "search.html").is_file()
    assert (built.site_dir / "_sources" / "notebooks" / "02_trends.ipynb").is_file()  # download
    intro = _page(built, "index.html")
    assert book.QUESTION in intro and "Which files feed the study?" in intro
    assert 'href="findings.html"' in intro
    # findings come right after the title page
    nav = re.findall(r'class="reference internal" href="([^"#]+)"', intro)
    assert nav.index("findings.html") < nav.index("notebooks/01_data.html")


def test_book_notebook_page(built: book.BookResult) -> None:
    page = _page(built, "notebooks/02_trends.html")
    text = _text(page)
    assert 'PARTNER = "Canada"' not in text and 'PARTNER = "Mexico"' in text  # injected: removed
    assert page.count('class="exercise admonition"') == 2
    assert 'id="ex-02-trends-1"' in page and "Exercise 2.1" in page  # numbered per notebook
    assert page.count("solution dropdown") == 2  # collapsible solutions
    assert "answer = 42" in text  # the worked solution is there, folded
    assert 'class="eqno">(2.1)' in page  # the display equation is numbered
    assert 'id="finding-02-trends-gap"' in page
    assert "$33.7bn" in text and "13.7 $bn" in text  # dollars are money, not math
    assert not re.search(r'<span class="math[^>]*>[^<]*bn', page)
    assert 'alt="Line. Source: Census"' in page
    assert "mathjax/tex-chtml.js" in page and "cdn.jsdelivr" not in page
    assert "mybinder.org/v2/gh/tradelib/tradelib/main?urlpath=lab/tree/notebooks/02_trends" in page
    assert "colab.research.google.com/github/tradelib/tradelib/blob/main/notebooks/02_" in page
    assert 'href="../_sources/notebooks/02_trends.ipynb"' in page  # download the .ipynb
    assert "theme-switch-button" in page  # light / dark
    assert 'class="bd-sidebar-primary' in page and 'id="pst-page-navigation-heading' in page


def test_book_findings_exercises_provenance_pages(built: book.BookResult) -> None:
    findings = _page(built, "findings.html")
    assert "The 01_data gap is -13.7 bn, computed." in findings
    assert 'href="notebooks/02_trends.html#finding-02-trends-gap"' in findings
    assert "95% interval -15.0 to -12.4" in findings and "2026-10" in findings
    exercises = _page(built, "exercises.html")
    assert 'href="notebooks/02_trends.html#ex-02-trends-1"' in exercises
    assert 'href="notebooks/01_data.html#ex-01-data-2"' in exercises  # bold-paragraph exercise
    assert "Exercise 2.1." in _text(exercises)  # numbered as on the notebook's page
    assert "answer = 42" not in _text(exercises)
    provenance = _page(built, "provenance.html")
    assert "2025-04, 2026-10" in provenance and "fred-DEXMXUS" in provenance
    assert "openblas" in provenance and "specific" in provenance
    references = _page(built, "references.html")
    assert "Newey" in references and "Cleveland" in references  # from tradelib/resources/book/references.bib


def test_book_loads_nothing_from_the_internet(built: book.BookResult) -> None:
    assert book.remote_loads_in(built.site_dir) == []
    assert site.audit_site(built.site_dir) == []  # raw HTML: alt texts, links, anchors
    assert book.remote_references('<script src="https://cdn.x/require.js"></script>')
    assert book.remote_references("<style>@import url('https://fonts.x/css');</style>")
    assert not book.remote_references('<a href="https://mybinder.org/v2/gh/x">Binder</a>')


def test_audit_catches_broken_pages(built: book.BookResult, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(built.site_dir, copy)
    (copy / "bad.html").write_text(
        "<html><head><title>x</title><script src='https://cdn.x/a.js'></script></head><body>"
        "<img src='data:image/png;base64,AA'><a href='missing.html'>m</a><a href='#nope'>n</a>"
        "<a href='findings.html#nowhere'>f</a>"
        "<img src='data:image/png;base64,BB' alt='No description has been provided for this image'>"
        "</body></html>",
        encoding="utf-8",
    )
    problems = site.audit_site(copy)
    assert sum("without alt text" in p for p in problems) == 2
    assert any("'missing.html' does not resolve" in p for p in problems)
    assert any("'#nope' not found" in p for p in problems)
    assert any("'findings.html#nowhere' not found" in p for p in problems)
    assert any("https://cdn.x/a.js" in p for p in problems)


def test_site_folder_not_ours_is_left_alone(tmp_path: Path) -> None:
    executed = _executed_dir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(book.BookError, match="not a site written by tradelib"):
        site.build_site(executed, mine, manifest=tmp_path / "none.csv")
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(book.BookError, match="no executed notebooks to render"):
        site.build_site(tmp_path, tmp_path / "site", manifest=tmp_path / "none.csv")


@NEED_BROWSER
@pytest.mark.slow  # about 20 page loads (each page at two widths) plus a search
def test_book_in_headless_chromium(built: book.BookResult) -> None:
    """Every page at desktop and 390-px widths: no horizontal overflow, images with alt text,
    internal links and anchors resolve, nothing from the internet; search finds a known term."""
    assert BROWSER is not None, "CI is set: install Chromium (apt-get install -y chromium)"
    pages = site.site_pages(built.site_dir)
    assert len(pages) >= 10  # the 8 reader pages + genindex + search
    assert site.audit_site(built.site_dir, BROWSER) == []
    hits = site.search_hits(built.site_dir, "Canada", BROWSER)
    assert any("Trends" in h for h in hits), hits


@NEED_BROWSER
def test_audit_sees_overflow_on_a_phone(built: book.BookResult, tmp_path: Path) -> None:
    assert BROWSER is not None
    page = tmp_path / "wide.html"
    page.write_text(
        "<html><head><title>w</title><meta name='viewport' content='width=device-width'></head>"
        "<body><div style='width:900px'>wide</div></body></html>",
        encoding="utf-8",
    )
    dom = site.headless_dom(page, BROWSER, site.PHONE, measure=True)
    problems = site.audit_page(page, dom, tmp_path, width_name="phone")
    assert any("wider than the window" in p for p in problems), problems
    dom = site.headless_dom(page, BROWSER, site.DESKTOP, measure=True)
    assert site.audit_page(page, dom, tmp_path, width_name="desktop") == []


def test_site_command(
    built: book.BookResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tradelib import cli

    monkeypatch.setattr(site, "find_browser", lambda: None)  # raw-HTML audit keeps this fast
    monkeypatch.setattr(book, "default_cache_dir", lambda d: tmp_path / "cache")
    executed = _executed_dir(tmp_path)
    # `site` builds only from a complete, current set (what `run` records): mark this one so
    import hashlib

    complete = {**SUMMARY, "complete": True, "interrupted": False, "incomplete_notebooks": [],
                "results": [{"notebook": n, "status": "ok", "seconds": 1.0,
                             "executed_sha256": hashlib.sha256((executed / n).read_bytes())
                             .hexdigest()} for n in ("01_data.ipynb", "02_trends.ipynb")]}
    (executed / "run-summary.json").write_text(json.dumps(complete), encoding="utf-8")
    out = tmp_path / "site2"
    argv = ["site", "--executed", str(executed), "--out", str(out), "--check"]
    assert cli.main(argv) == 0
    assert "every page checked as raw HTML" in capsys.readouterr().out
    assert (out / "notebooks" / "01_data.html").is_file()
    assert (tmp_path / "cache" / "out" / "_build" / "html" / "index.html").is_file()
    assert cli.main(argv) == 0  # again, incrementally from the cache
    assert (out / "notebooks" / "01_data.html").is_file()


def test_restaging_unchanged_results_keeps_files(tmp_path: Path) -> None:
    """Re-executed notebooks differ only in timings: the staged copies stay byte-identical
    (and keep their mtimes), so Sphinx's incremental build skips them."""
    executed = _executed_dir(tmp_path)
    manifest = _manifest(tmp_path / "MANIFEST.csv")
    staging = tmp_path / "staging"
    book.stage_book(executed, staging, manifest=manifest)
    staged = staging / "notebooks" / "01_data.ipynb"
    before = (staged.read_bytes(), staged.stat().st_mtime_ns)
    nb = nbformat.read(str(executed / "01_data.ipynb"), as_version=4)
    nb.metadata["papermill"] = {"duration": 1.5, "start_time": "2026-11-30T01:00:00"}
    nb.cells[3].metadata["execution"] = {"iopub.status.busy": "2026-11-30T01:00:01"}
    nbformat.write(nb, str(executed / "01_data.ipynb"))
    (staging / "notebooks" / "99_gone.ipynb").write_text("{}", encoding="utf-8")
    book.stage_book(executed, staging, manifest=manifest)
    assert (staged.read_bytes(), staged.stat().st_mtime_ns) == before
    assert "papermill" not in staged.read_text(encoding="utf-8")
    assert not (staging / "notebooks" / "99_gone.ipynb").exists()  # stale copy removed


# ---------------------------------------------------------------------------------------------
# Launch and citation metadata agree with REPO_URL (the one place the repository URL lives)
# ---------------------------------------------------------------------------------------------


def test_citation_and_license() -> None:
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["repository-code"] == links.REPO_URL
    assert cff["license"] == "MIT"
    assert cff["title"] and cff["authors"] and cff["references"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_binder_installs_the_package() -> None:
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text(encoding="utf-8")
    assert "pip install --no-cache-dir -e ." in text and "python -m tradelib build" in text
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    major, minor = (int(x) for x in runtime.removeprefix("python-").split(".")[:2])
    assert (major, minor) >= (3, 11)  # pyproject: requires-python >= 3.11


def test_launch_links_everywhere_use_repo_url() -> None:
    slug = links.repo_slug()
    files = [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb"))]
    pattern = re.compile(
        r"(?:mybinder\.org/v2/gh|colab\.research\.google\.com/github)/([^/\s)\"']+/[^/\s)\"']+)"
    )
    found = 0
    for path in files:
        if not path.is_file():
            continue
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            found += 1
            assert m.group(1) == slug, f"{path.name}: launch link to {m.group(1)}, not {slug}"
    assert found, "no launch badges in README or notebooks"


def test_book_config_is_offline_and_complete() -> None:
    yaml = pytest.importorskip("yaml")
    conf = yaml.safe_load((ROOT / "tradelib" / "resources" / "book" / "_config.yml").read_text(encoding="utf-8"))
    assert conf["execute"]["execute_notebooks"] == "off"
    assert "sphinx-mathjax-offline" in conf["sphinx"]["extra_extensions"]
    assert "sphinx_exercise" in conf["sphinx"]["extra_extensions"]
    assert conf["bibtex_bibfiles"] == ["references.bib"]
    assert conf["launch_buttons"]["thebe"] is False  # thebe would load from a CDN
    bib = (ROOT / "tradelib" / "resources" / "book" / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE)
    assert len(keys) == len(set(keys)) >= 20


# ---------------------------------------------------------------------------------------------
# Every figure says its source and data vintage (plot.show(fig, alt=..., source=...))
# ---------------------------------------------------------------------------------------------


def figures_without_source(nb: nbformat.NotebookNode) -> list[str]:
    """``"cell N"`` for every image output whose text/plain alt text lacks "Source:"."""
    missing = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if not any(k.startswith("image/") for k in data):
                continue
            alt = data.get("text/plain", "")
            alt = alt if isinstance(alt, str) else "".join(alt)
            if "Source:" not in alt:
                missing.append(f"cell {i}")
    return missing


def test_figures_without_source_are_found() -> None:
    nb = _executed("02_trends", "02 · Trends", "How?", "Line of the balance")
    assert figures_without_source(nb) == ["cell 3"]
    nb = _executed("02_trends", "02 · Trends", "How?", "Line. Source: Census (vintage 2026-10)")
    assert figures_without_source(nb) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")), ids=lambda p: p.stem
)
def test_every_committed_figure_has_a_source_line(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    missing = figures_without_source(nb)
    assert missing == [], f"{path.name}: figures without 'Source:' in their alt text: {missing}"


def test_replacing_a_site_keeps_other_editions(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    (site_dir / "canada").mkdir(parents=True)
    (site_dir / book.SITE_MARKER).write_text("x", encoding="utf-8")
    (site_dir / "old.html").write_text("old", encoding="utf-8")
    (site_dir / "canada" / book.SITE_MARKER).write_text("x", encoding="utf-8")
    (site_dir / "canada" / "index.html").write_text("canada", encoding="utf-8")
    new = tmp_path / "new"
    new.mkdir()
    (new / "index.html").write_text("mexico", encoding="utf-8")
    (new / book.SITE_MARKER).write_text("x", encoding="utf-8")
    book._replace_site(new, site_dir)
    assert (site_dir / "index.html").read_text(encoding="utf-8") == "mexico"
    assert not (site_dir / "old.html").exists()  # a page of the previous build is gone
    assert (site_dir / "canada" / "index.html").read_text(encoding="utf-8") == "canada"
    assert not new.exists() and not (tmp_path / ".site.old").exists()


def test_skip_iri_grammars_keeps_notebook_validation() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from tradelib.publish.book import skip_iri_grammars; skip_iri_grammars(); "
        "import nbformat; from nbformat.v4 import new_notebook, new_code_cell; "
        "assert sys.modules['rfc3987_syntax'] is None; "
        "nbformat.validate(new_notebook(cells=[new_code_cell('x = 1')])); "
        "bad = new_notebook(); bad['cells'] = [{'cell_type': 'code'}]\n"
        "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('caught')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "caught"  # validation still rejects a broken notebook


def test_site_command_refuses_an_incomplete_executed_set(tmp_path: Path, capsys) -> None:
    from tradelib import cli

    executed = tmp_path / "executed"
    executed.mkdir()
    (executed / "01_x.ipynb").write_text("{}", encoding="utf-8")  # no run summary
    code = cli.main(["site", "--executed", str(executed), "--out", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 1
    assert "not a complete, current set" in err and "run-summary.json" in err
    assert not (tmp_path / "site").exists()
