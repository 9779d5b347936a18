"""The static site: badges, offline HTML, index content, and a headless-Chromium check.

Synthetic executed notebooks (outputs written by hand, no kernel) keep these tests fast; the real
notebooks' site is checked in tests/test_output_regression.py, where they are executed anyway.
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

from tradelib.publish import site

BROWSER = site.find_browser()
NEED_BROWSER = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CI"),
    reason="Chromium not installed (apt-get install chromium); required when CI is set",
)


def _png() -> str:
    """A valid 1x1 PNG, base64-encoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    raw += chunk(b"IDAT", zlib.compress(b"\x00\x00\x72\xb2")) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def _executed(stem: str, title: str, question: str, alt: str) -> nbformat.NotebookNode:
    """An executed notebook as plot.show and report.record leave it."""
    png = _png()
    fig = new_code_cell("plot.show(fig, alt=...)", execution_count=2)
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
    metric = new_code_cell("report.record('x', 1.5)", execution_count=3)
    metric.outputs = [
        new_output(
            "display_data",
            data={
                "application/vnd.tradelib.metric+json": {"name": "x", "value": 1.5},
                "text/plain": "x = 1.5",
            },
        )
    ]
    params = new_code_cell('PARTNER = "Mexico"', execution_count=1)
    params.metadata["tags"] = ["parameters"]
    solutions = [new_code_cell("answer = 42", execution_count=n) for n in (4, 5)]
    for cell in solutions:
        cell.metadata["tags"] = ["solution"]
    return new_notebook(
        cells=[
            new_markdown_cell(
                f"# {title}\n\n{site.badges_markdown(stem + '.ipynb')}\n\n"
                f"**Question** {question}\n\n**Prerequisites** none.\n\n**Outcomes** a figure."
            ),
            params,
            fig,
            metric,
            new_markdown_cell("## Summary\n\nThe balance is $x$ and [see above](#Summary)."),
            new_markdown_cell(
                f"## Exercises\n\n### Exercise 1\n\nRedo {title} for **Canada**; use $\\tau_t$."
            ),
            solutions[0],
            new_markdown_cell("**Exercise 2.** Add a control."),
            solutions[1],
        ]
    )


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Path, list[Path]]:
    """Two executed notebooks, a manifest and a run summary, rendered into ``tmp_path/site``."""
    executed = tmp_path / "output" / "mexico"
    executed.mkdir(parents=True)
    nbformat.write(
        _executed("01_data", "01 · The data", "Which *files* feed the study?", "Bars by source"),
        str(executed / "01_data.ipynb"),
    )
    nbformat.write(
        _executed("02_trends", "02 · Trends", "How did the balance move?", "Line of the balance"),
        str(executed / "02_trends.ipynb"),
    )
    (executed / site.SUMMARY_FILE).write_text(
        json.dumps(
            {
                "partner": "Mexico",
                "parameters": {"PARTNER": "Mexico"},
                "results": [
                    {"notebook": "01_data.ipynb", "status": "ok", "seconds": 1.25},
                    {"notebook": "02_trends.ipynb", "status": "failed", "seconds": 2.5},
                    {
                        "notebook": "05_check.ipynb",
                        "status": "skipped",
                        "seconds": 0.0,
                        "message": "specific to Mexico",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    manifest = tmp_path / "MANIFEST.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "vintage", "file", "sha256", "retrieved_at"])
        w.writerow(["census-country", "2025-04", "country.xlsx", "ab", "2026-10-01T09:00:00"])
        w.writerow(["census-country", "2026-10", "country.xlsx", "cd", "2026-11-02T10:00:00"])
        w.writerow(["fred-DEXMXUS", "2026-09", "DEXMXUS.csv", "ef", "2026-09-30T08:00:00"])
    pages = site.build_site(executed, tmp_path / "site", partner="Mexico", manifest=manifest)
    return tmp_path / "site", pages


def test_badges_point_at_the_repository() -> None:
    md = site.badges_markdown("notebooks/03_tariff_timeline.ipynb")
    assert site.REPO_URL == "https://github.com/tradelib/tradelib"
    assert "https://mybinder.org/v2/gh/tradelib/tradelib/main?labpath=notebooks%2F03_tariff" in md
    assert (
        "https://colab.research.google.com/github/tradelib/tradelib/blob/main/notebooks/"
        "03_tariff_timeline.ipynb" in md
    )
    assert md.count("![") == 2
    readme = site.readme_badges_markdown()
    assert "(https://mybinder.org/v2/gh/tradelib/tradelib/main?labpath=notebooks)" in readme
    assert "blob/main/notebooks/01_data.ipynb)" in readme
    assert site.pip_install_spec() == "tradelib @ git+https://github.com/tradelib/tradelib"
    cell = site.colab_install_cell()
    assert 'pip install --quiet "tradelib @ git+' in cell and "fetch_each(mirror=None)" in cell
    compile(cell.replace("%pip", "pass  #"), "<install cell>", "exec")  # valid Python otherwise
    with pytest.raises(site.SiteError, match="not a notebook"):
        site.badges_markdown("notebooks/readme.md")


def test_notebook_info_takes_title_and_question() -> None:
    nb = _executed("04_x", "04 · Regression", "What *drives* [imports](https://x.org)?", "a")
    info = site.notebook_info(nb, "04_x")
    assert info.title == "04 · Regression"
    assert info.summary == "What drives imports?"
    nb.cells[0].source = "# 04 · R\n\n**Question.** Is it big? How big (in $bn) is it? More."
    assert site.notebook_info(nb, "04_x").summary == "Is it big?"
    assert site.first_sentence('It asked: "Will it?" Then more.') == 'It asked: "Will it?"'
    assert site.first_sentence("No full stop here") == "No full stop here"
    nb.cells[0].source = "# 04 · R\n\n**Question.** Does _STL_SEASONAL_ matter?"
    assert site.notebook_info(nb, "04_x").summary == "Does STL_SEASONAL matter?"
    nb.cells[0].source = "# 05 · Plain\n\n" + site.badges_markdown("05.ipynb") + "\n\nA first line."
    assert site.notebook_info(nb, "05").summary == "A first line."


def test_offline_images_and_remote_references() -> None:
    page = (
        '<a href="https://mybinder.org/x"><img src="https://mybinder.org/badge_logo.svg" '
        'alt="Launch in Binder"></a><img src="data:image/png;base64,AA" alt="local">'
    )
    out = site.offline_images(page)
    assert '<span class="tl-badge">Launch in Binder</span>' in out
    assert 'alt="local"' in out and "badge_logo.svg" not in out
    assert site.remote_references(out) == []
    assert site.remote_references('<script src="https://cdn.x/require.js"></script>')
    assert site.remote_references("<style>@import url('https://fonts.x/css');</style>")


def test_formulas_become_images_money_stays_text() -> None:
    md = (
        "Imports cost $5 and $6 bn ($5-$6); the rate $\\tau_t$ and lag $1 - j/(L+1)$.\n\n"
        "$$\\Delta B_t = \\Delta X_t - \\Delta M_t$$\n\n`$x$` and an escaped \\$3 stay."
    )
    out = site.math_to_images(md)
    alts = re.findall(r'alt="formula: ([^"]+)"', out)
    assert alts == ["\\tau_t", "1 - j/(L+1)", "\\Delta B_t = \\Delta X_t - \\Delta M_t"]
    assert "$5 and $6 bn ($5-$6)" in out and "`$x$`" in out and "\\$3" in out
    assert 'class="tl-math-display"' in out and "data:image/svg+xml;base64," in out
    assert site.math_image("\\frac{1}{") is None  # unparsable: left as LaTeX source


def test_notebook_links_become_page_links() -> None:
    page = (
        '<a href="02_trends.ipynb">a</a> <a href="../notebooks/03_x.ipynb#Data">b</a> '
        '<a href="https://github.com/o/r/blob/main/notebooks/04.ipynb">c</a>'
    )
    out = site.notebook_links_to_pages(page)
    assert '<a href="02_trends.html">a</a>' in out
    assert '<a href="03_x.html#Data">b</a>' in out
    assert 'href="https://github.com/o/r/blob/main/notebooks/04.ipynb"' in out


def test_site_pages_and_index(rendered: tuple[Path, list[Path]]) -> None:
    site_dir, pages = rendered
    assert [p.name for p in pages] == [
        "index.html",
        "05_check.html",
        "01_data.html",
        "02_trends.html",
        "exercises.html",
    ]
    exercises = (site_dir / "exercises.html").read_text(encoding="utf-8")
    assert exercises.count('<div class="exercise">') == 4
    assert '<a href="02_trends.html#Exercise-1">In the notebook →</a>' in exercises
    assert '<a href="01_data.html">In the notebook →</a>' in exercises  # bold-paragraph exercise
    assert "Redo 02 · Trends for <strong>Canada</strong>" in exercises
    assert 'alt="formula: \\tau_t"' in exercises and "answer = 42" not in exercises
    assert 'href="exercises.html"' in (site_dir / "index.html").read_text(encoding="utf-8")
    skipped = (site_dir / "05_check.html").read_text(encoding="utf-8")
    assert "not run for Mexico" in skipped and "specific to Mexico" in skipped
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    assert site.QUESTION in index
    assert '<a href="01_data.html">01 · The data</a>' in index
    assert "Which files feed the study?" in index
    assert "2025-04, 2026-10" in index and "fred-DEXMXUS" in index
    assert "<td>2026-10</td><td>country.xlsx</td><td>2026-11-02</td>" in index
    assert "failed in this run" in index
    assert '<a href="05_check.html">05_check</a>: not run for Mexico' in index
    page = (site_dir / "02_trends.html").read_text(encoding="utf-8")
    assert page.count('<details class="tl-solution">') == 2  # the two solution cells, folded
    assert 'alt="Line of the balance"' in page
    assert '<a href="01_data.html">← 01 · The data</a>' in page
    assert "tl-badge" in page and "mybinder.org/badge_logo.svg" not in page


def test_index_links_other_partner_editions(tmp_path: Path) -> None:
    executed = tmp_path / "out"
    executed.mkdir()
    nbformat.write(_executed("01_a", "01 · A", "Why?", "Bars"), str(executed / "01_a.ipynb"))
    site.build_site(executed, tmp_path / "site" / "canada", partner="Canada", manifest=tmp_path)
    (tmp_path / "site" / "00_renamed.html").write_text("<html></html>", encoding="utf-8")
    site.build_site(executed, tmp_path / "site", partner="Mexico", manifest=tmp_path)
    assert not (tmp_path / "site" / "00_renamed.html").exists()  # stale page removed
    assert (tmp_path / "site" / "canada" / "01_a.html").is_file()  # editions kept
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<a href="canada/index.html">Canada</a>' in index
    assert site.audit_site(tmp_path / "site") == []


def test_no_page_loads_anything_from_the_internet(rendered: tuple[Path, list[Path]]) -> None:
    site_dir, pages = rendered
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert site.remote_references(text) == [], page.name
        for needle in ("require.min.js", "MathJax.js", "mathjax@", "cdnjs", "unpkg.com"):
            assert needle not in text, f"{page.name} references {needle}"
    assert site.audit_site(site_dir) == []


def test_audit_catches_broken_pages(rendered: tuple[Path, list[Path]]) -> None:
    site_dir, _ = rendered
    bad = site_dir / "bad.html"
    bad.write_text(
        "<html><head><title>x</title><script src='https://cdn.x/a.js'></script></head><body>"
        "<img src='data:image/png;base64,AA'><a href='missing.html'>m</a><a href='#nope'>n</a>"
        "<img src='data:image/png;base64,BB' alt='No description has been provided for this image'>"
        "</body></html>",
        encoding="utf-8",
    )
    problems = site.audit_site(site_dir)
    assert sum("without alt text" in p for p in problems) == 2
    assert any("'missing.html' does not resolve" in p for p in problems)
    assert any("#nope not found" in p for p in problems)
    assert any("loads https://cdn.x/a.js" in p for p in problems)


def test_site_command(
    rendered: tuple[Path, list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tradelib import cli

    monkeypatch.setattr(site, "find_browser", lambda: None)  # raw-HTML audit keeps this fast
    executed = tmp_path / "output" / "mexico"
    out = tmp_path / "site2"
    argv = ["site", "--executed", str(executed), "--out", str(out), "--check"]
    assert cli.main(argv) == 0
    assert "every page checked as raw HTML" in capsys.readouterr().out
    (out / "01_data.html").write_text("<html><title>t</title><img src='x.png'></html>", "utf-8")
    from tradelib.publish.site import audit_site

    assert any("without alt text" in p for p in audit_site(out))


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(site.SiteError, match="no executed notebooks to render"):
        site.build_site(tmp_path, tmp_path / "site", manifest=tmp_path / "none.csv")


@NEED_BROWSER
def test_site_in_headless_chromium(rendered: tuple[Path, list[Path]]) -> None:
    assert BROWSER is not None, "CI is set: install Chromium (apt-get install -y chromium)"
    site_dir, pages = rendered
    doms = site.page_doms(pages, BROWSER)
    assert all(isinstance(d, str) for d in doms.values()), doms
    assert "Bars by source" in doms[pages[2]] and site.QUESTION in doms[pages[0]]
    problems = [p for page, dom in doms.items() for p in site.audit_page(page, dom, site_dir)]
    assert problems == []


# ---------------------------------------------------------------------------------------------
# Launch and citation metadata agree with REPO_URL (the one place the repository URL lives)
# ---------------------------------------------------------------------------------------------

ROOT = site.TEMPLATE_DIR.parents[2]


def test_citation_and_license() -> None:
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["repository-code"] == site.REPO_URL
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
    slug = site.repo_slug()
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
    if not found:
        pytest.skip("no launch badges in README or notebooks yet")
