"""Render the executed notebooks as a static, offline HTML site (``python -m tradelib site``).

The site has an index page (the question, one line per notebook taken from its first cell, the
data vintages found in the fetch manifest, the run summary) and one page per executed notebook,
rendered with nbconvert's JupyterLab look through tradelib's own template
(``tradelib/templates``). Nothing is fetched from the internet when the site is built
or viewed: the template drops require.js, MathJax, mermaid and the widget manager (all CDN
scripts), local images are embedded, remote images (the launch badges) are replaced by text, and
formulas are drawn as SVG images by matplotlib's mathtext (LaTeX source where it cannot draw one).

This module also holds the repository URL (``REPO_URL``), the one place the Binder and Colab
launch badges and the Colab install line are derived from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tradelib.data.fetch import read_manifest
from tradelib.errors import TradelibError

REPO_URL = "https://github.com/tradelib/tradelib"
"""The public GitHub repository; badges and install instructions are derived from it."""

BRANCH = "main"
"""The branch that Binder and Colab open."""

BINDER_BADGE_SVG = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"

TEMPLATE_NAME = "templates"
"""nbconvert template: the folder ``tradelib/templates`` (shipped as package data)."""
TEMPLATE_DIR = Path(__file__).resolve().parent / TEMPLATE_NAME

QUESTION = "Will Mexico and the US improve their trade balance?"
QUESTION_CONTEXT = (
    "A May 2025 news story asked this about US goods trade with Mexico, after a year of new "
    "tariffs on imports from Mexico. The notebooks answer it with official data: how the balance "
    "got where it is, which tariff actions touched it, what drives import growth, whether the "
    "story's numbers reproduce, and what the outlook is."
)

SUMMARY_FILE = "run-summary.json"
"""File written by ``tradelib.run`` next to the executed notebooks."""


class SiteError(TradelibError):
    """The site cannot be rendered (missing notebooks, or a page would fetch from the internet)."""


# --------------------------------------------------------------------------------------------
# Launch badges and install line
# --------------------------------------------------------------------------------------------


def repo_slug(repo_url: str = REPO_URL) -> str:
    """``owner/name`` of a GitHub URL, e.g. ``"tradelib/tradelib"``."""
    m = re.match(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?/?$", repo_url)
    if not m:
        raise SiteError(f"REPO_URL {repo_url!r} is not a https://github.com/<owner>/<name> URL")
    return m.group(1)


def notebook_repo_path(notebook_path: str | Path) -> str:
    """The notebook's path inside the repository (``notebooks/<file name>``)."""
    name = Path(notebook_path).name
    if not name.endswith(".ipynb"):
        raise SiteError(f"{notebook_path}: not a notebook (expected a .ipynb file name)")
    return f"notebooks/{name}"


def binder_url(notebook_path: str | Path) -> str:
    """Binder link that opens the notebook in JupyterLab."""
    return (
        f"https://mybinder.org/v2/gh/{repo_slug()}/{BRANCH}"
        f"?labpath={quote(notebook_repo_path(notebook_path), safe='')}"
    )


def colab_url(notebook_path: str | Path) -> str:
    """Colab link that opens the notebook from GitHub."""
    return (
        f"https://colab.research.google.com/github/{repo_slug()}/blob/{BRANCH}/"
        f"{notebook_repo_path(notebook_path)}"
    )


def badges_markdown(notebook_path: str | Path) -> str:
    """The Markdown line with the Binder and Colab launch badges for one notebook.

    Put it right under the notebook's title, e.g. in a generator script::

        from tradelib.publish.site import badges_markdown
        title = "# 02 · Four decades of the balance\\n\\n" + badges_markdown("02_deficit_trends.ipynb")
    """
    return (
        f"[![Launch in Binder]({BINDER_BADGE_SVG})]({binder_url(notebook_path)}) "
        f"[![Open in Colab]({COLAB_BADGE_SVG})]({colab_url(notebook_path)})"
    )


def readme_badges_markdown(first_notebook: str = "01_data.ipynb") -> str:
    """Launch badges for the README: Binder opens the notebooks folder, Colab the first notebook."""
    binder = f"https://mybinder.org/v2/gh/{repo_slug()}/{BRANCH}?labpath=notebooks"
    return (
        f"[![Launch in Binder]({BINDER_BADGE_SVG})]({binder}) "
        f"[![Open in Colab]({COLAB_BADGE_SVG})]({colab_url(first_notebook)})"
    )


def pip_install_spec() -> str:
    """The pip requirement that installs tradelib from GitHub (used on Colab)."""
    return f"tradelib @ git+{REPO_URL}"


def colab_install_cell() -> str:
    """Source of the install cell notebooks carry for Colab (a no-op where tradelib is installed).

    Where tradelib is missing it installs the package from GitHub and downloads the official
    files from their publishers (a source that cannot be fetched is reported and skipped).
    """
    return (
        "try:\n"
        "    import tradelib  # noqa: F401\n"
        "except ImportError:  # e.g. on Colab: install the package from GitHub, fetch the data\n"
        f'    %pip install --quiet "{pip_install_spec()}"\n'
        "    from tradelib.publish.run import fetch_each\n"
        "\n"
        "    fetch_each(mirror=None)"
    )


# --------------------------------------------------------------------------------------------
# Reading notebooks and the manifest
# --------------------------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _plain_text(markdown: str) -> str:
    """Strip the Markdown used in summaries (links, images, emphasis, code ticks)."""
    text = _MD_LINK.sub(lambda m: "" if m.group(0).startswith("!") else m.group(1), markdown)
    text = re.sub(r"[*`]+|(?<!\w)_+|_+(?!\w)", "", text)  # keep snake_case names intact
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class NotebookInfo:
    """What the index says about one notebook."""

    stem: str
    title: str
    summary: str


def notebook_info(nb: Any, stem: str) -> NotebookInfo:
    """Title and one-line summary from a notebook's first cell.

    The title is the first ``#`` heading; the summary is the text of the **Question** paragraph
    when there is one, otherwise the first paragraph that is neither a heading nor badges.
    """
    cells = [c for c in nb.cells if c.get("cell_type") == "markdown"]
    first = cells[0].source if cells else ""
    title = stem
    paragraphs: list[str] = []
    for para in re.split(r"\n\s*\n", first):
        para = para.strip()
        if not para:
            continue
        if para.startswith("# ") and title == stem:
            title = _plain_text(para.splitlines()[0][2:])
            rest = "\n".join(para.splitlines()[1:]).strip()
            if rest:
                paragraphs.append(rest)
            continue
        paragraphs.append(para)
    summary = ""
    for para in paragraphs:
        m = re.match(
            r"^\**\s*Question\s*\**\s*[:.·—-]?\s*\**\s*(.*)$", para, flags=re.DOTALL | re.IGNORECASE
        )
        if m and m.group(1).strip():
            summary = _plain_text(m.group(1))
            break
    if not summary:
        for para in paragraphs:
            text = _plain_text(para)
            if text and not para.lstrip().startswith(("#", "[![", "<")):
                summary = text
                break
    return NotebookInfo(stem=stem, title=title, summary=first_sentence(summary))


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to the first ``.``, ``?`` or ``!`` followed by a capital)."""
    m = re.search(r"[.?!][\"”’)]?(?=\s+[A-Z\"“(])", text.strip())
    return text.strip()[: m.end()] if m else text.strip()


def _pick(row: dict[str, str], *names: str) -> str:
    """The first non-empty value among ``names`` in a manifest row."""
    for name in names:
        value = row.get(name)
        if value:
            return str(value)
    return ""


def vintages_table(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One row per source: the vintages stored and the newest (what ``vintage="latest"`` reads)."""
    by_source: dict[str, dict[str, Any]] = {}
    for row in rows:
        source = _pick(row, "source_id", "source")
        if not source:
            continue
        entry = by_source.setdefault(
            source, {"vintages": set(), "files": set(), "origin": set(), "retrieved": set()}
        )
        retrieved = _pick(row, "retrieved_at", "fetched_at", "retrieved")
        if retrieved:
            entry["retrieved"].add(retrieved[:10])
        vintage = _pick(row, "vintage")
        if vintage:
            entry["vintages"].add(vintage)
        file_name = _pick(row, "file", "filename", "file_name", "path")
        if file_name:
            entry["files"].add(Path(file_name).name)
        origin = _pick(row, "origin", "mode", "how", "url", "official_url")
        if origin:
            entry["origin"].add(origin)
    table = []
    for source in sorted(by_source):
        entry = by_source[source]
        vintages = sorted(entry["vintages"])
        table.append(
            {
                "source": source,
                "vintages": ", ".join(vintages),
                "latest": vintages[-1] if vintages else "",
                "files": ", ".join(sorted(entry["files"])),
                "retrieved": max(entry["retrieved"]) if entry["retrieved"] else "",
            }
        )
    return table


def read_run_summary(executed_dir: Path) -> dict[str, Any]:
    """The ``run-summary.json`` written by ``tradelib.run`` (empty dict when absent)."""
    path = executed_dir / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SiteError(
            f"{path}: not valid JSON ({exc}); delete it or re-run `python -m tradelib run`"
        ) from exc


# --------------------------------------------------------------------------------------------
# Offline HTML
# --------------------------------------------------------------------------------------------

_IMG_TAG = re.compile(r"<img\b[^>]*>", flags=re.IGNORECASE)
_ATTR = r"""\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
_REMOTE = re.compile(r"^\s*(?:https?:)?//", flags=re.IGNORECASE)
_REMOTE_REF = re.compile(
    r"<(?:script|link|img|iframe|source|audio|video)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*"
    r"(?:https?:)?//",
    flags=re.IGNORECASE,
)
_CSS_REMOTE = re.compile(r"@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//", flags=re.IGNORECASE)


def _attr(tag: str, name: str) -> str | None:
    """Value of attribute ``name`` in an HTML start tag, or ``None``."""
    m = re.search(_ATTR.format(name=name), tag, flags=re.IGNORECASE)
    if not m:
        return None
    return html.unescape(next(g for g in m.groups() if g is not None))


def offline_images(page: str) -> str:
    """Replace ``<img>`` tags whose source is on the internet by a text badge with their alt text.

    Launch badges are remote SVGs; on an offline site they become ``<span class="tl-badge">``
    inside the same link, so the link still works and nothing is fetched.
    """

    def repl(m: re.Match[str]) -> str:
        tag = m.group(0)
        src = _attr(tag, "src") or ""
        if not _REMOTE.match(src):
            return tag
        alt = (_attr(tag, "alt") or "").strip() or "external image"
        return f'<span class="tl-badge">{html.escape(alt)}</span>'

    return _IMG_TAG.sub(repl, page)


_NB_LINK = re.compile(r"""href=(["'])(?!(?:[a-z][a-z0-9+.-]*:|//))([^"'#]*?)\.ipynb(#[^"']*)?\1""")


def notebook_links_to_pages(page: str) -> str:
    """Point relative links to notebooks (``02_x.ipynb#part``) at their pages (``02_x.html#part``)."""

    def repl(m: re.Match[str]) -> str:
        quote_char, target, fragment = m.group(1), m.group(2), m.group(3) or ""
        name = Path(target).name  # notebooks/02_x.ipynb and ./02_x.ipynb both map to 02_x.html
        return f"href={quote_char}{name}.html{fragment}{quote_char}"

    return _NB_LINK.sub(repl, page)


def remote_references(page: str) -> list[str]:
    """Excerpts of every tag or CSS import in ``page`` that would load something from the web."""
    found = [page[m.start() : m.start() + 120] for m in _REMOTE_REF.finditer(page)]
    found += [page[m.start() : m.start() + 120] for m in _CSS_REMOTE.finditer(page)]
    return found


def _nav(links: list[tuple[str, str]]) -> str:
    """A navigation bar from ``(href, label)`` pairs."""
    items = " ".join(f'<a href="{html.escape(h)}">{html.escape(t)}</a>' for h, t in links)
    return f'<nav class="tl-nav" aria-label="site navigation">{items}</nav>'


def _footer(partner: str, built: str) -> str:
    return (
        '<footer class="tl-footer">'
        f"Rendered by <code>python -m tradelib</code> for partner {html.escape(partner)} "
        f"on {html.escape(built)}. Source: "
        f'<a href="{html.escape(REPO_URL)}">{html.escape(REPO_URL)}</a>.</footer>'
    )


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", flags=re.DOTALL)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", flags=re.DOTALL)
# Inline $...$: not escaped, no blank just inside the dollars, no word character right after.
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])")
_MATHY = re.compile(r"[\\^_=()/+]")


def math_image(tex: str, display: bool = False) -> str | None:
    """An ``<img>`` with the formula drawn by matplotlib's mathtext as SVG, or ``None`` if it fails.

    mathtext covers the TeX math used in the notebooks (Greek letters, sub- and superscripts,
    ``\\ln``, ``\\Delta``, spacing); anything it cannot draw stays as LaTeX source.
    """
    import base64
    import io

    from matplotlib.mathtext import math_to_image

    flat = " ".join(tex.split())
    buf = io.BytesIO()
    try:
        math_to_image(f"${flat}$", buf, dpi=120 if display else 100, format="svg")
    except Exception:  # noqa: BLE001 - mathtext raises ValueError/ParseException variants
        return None
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cls = "tl-math-display" if display else "tl-math"
    img = (
        f'<img class="{cls}" src="data:image/svg+xml;base64,{data}" '
        f'alt="formula: {html.escape(flat, quote=True)}"/>'
    )
    return f'<div class="tl-math-display">{img}</div>' if display else img


def math_to_images(markdown: str) -> str:
    """Replace ``$$...$$`` and ``$...$`` in Markdown (outside code) by formula images."""

    def display(m: re.Match[str]) -> str:
        return math_image(m.group(1), display=True) or m.group(0)

    def inline(m: re.Match[str]) -> str:
        tex = m.group(1)
        if tex[0].isdigit() and not _MATHY.search(tex):
            return m.group(0)  # money such as "$5-$6" is not a formula
        return math_image(tex) or m.group(0)

    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are outside code
        parts[i] = _INLINE_MATH.sub(inline, _DISPLAY_MATH.sub(display, parts[i]))
    return "".join(parts)


def render_notebook_html(nb: Any, nav: str = "", footer: str = "") -> str:
    """Render one executed notebook to a self-contained HTML page (no remote scripts or images).

    Formulas in Markdown cells are drawn as SVG images (there is no MathJax offline).
    """
    import copy

    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = math_to_images(cell.source)
        for out in cell.get("outputs", []):
            text = (out.get("data") or {}).get("text/markdown")
            if isinstance(text, str) and "$" in text:  # prose written with report.md
                out["data"]["text/markdown"] = math_to_images(text)

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR.parent)],
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"tradelib_nav": nav, "tradelib_footer": footer}
    )
    return notebook_links_to_pages(offline_images(body))


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60em;
  margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }
h1 { font-size: 1.8em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } caption { text-align: left; color: #555; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } a { color: #0072B2; } table.vintages td { font-size: 0.85em; }
ol.notebooks li { margin-bottom: 0.6em; } .status-failed { color: #D55E00; font-weight: bold; }
.status-skipped { color: #555; } p.note { color: #555; font-size: 0.9em; }
nav.tl-nav { padding-bottom: 0.5em; border-bottom: 1px solid #ccc; } nav.tl-nav a { text-decoration: none; }
"""


def _index_html(
    infos: list[NotebookInfo],
    *,
    partner: str,
    vintages: list[dict[str, str]],
    summary: dict[str, Any],
    built: str,
    editions: list[str] | None = None,
) -> str:
    """The index page (``editions``: sub-folders holding the site of another partner)."""
    editions = editions or []
    esc = html.escape
    rows = {r["notebook"]: r for r in summary.get("results", [])}
    items = []
    for info in infos:
        status = rows.get(f"{info.stem}.ipynb", {}).get("status", "")
        flag = (
            ' <span class="status-failed">(failed in this run: see its last output)</span>'
            if status == "failed"
            else ""
        )
        items.append(
            f'<li><a href="{esc(info.stem)}.html">{esc(info.title)}</a>{flag}'
            f"<br>{esc(info.summary)}</li>"
        )
    skipped = [r for r in summary.get("results", []) if r.get("status") == "skipped"]
    for r in skipped:
        stem = Path(str(r["notebook"])).stem
        items.append(
            f'<li class="status-skipped"><a href="{esc(stem)}.html">{esc(stem)}</a>: not run for '
            f"{esc(partner)}. {esc(r.get('message', ''))}</li>"
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tradelib: {esc(QUESTION)}</title>",
        f"<style>{_INDEX_CSS}</style></head><body><main>",
        f"<h1>{esc(QUESTION)}</h1>",
        f"<p>{esc(QUESTION_CONTEXT)}</p>",
    ]
    if partner.strip().lower() != "mexico":
        parts.append(
            f"<p><strong>This edition re-runs the notebooks for {esc(partner)}</strong>: every "
            f"computed sentence, table and figure refers to {esc(partner)}.</p>"
        )
    parts += ["<h2>Notebooks</h2>", f'<ol class="notebooks">{"".join(items)}</ol>']
    parts.append(
        f'<p>For teaching: <a href="{EXERCISES_PAGE}">all exercises on one page</a>; student '
        "copies without solutions come from <code>python -m tradelib student</code>.</p>"
    )
    if editions:
        links = ", ".join(
            f'<a href="{esc(slug)}/index.html">{esc(slug.replace("-", " ").title())}</a>'
            for slug in editions
        )
        parts.append(f"<p>Also rendered for other partners: {links}.</p>")
    parts.append("<h2>Data vintages</h2>")
    if vintages:
        head = "<tr><th>source</th><th>vintages stored</th><th>newest (read by default)</th>"
        head += "<th>files</th><th>last retrieved</th></tr>"
        body = "".join(
            f"<tr><td>{esc(v['source'])}</td><td>{esc(v['vintages'])}</td>"
            f"<td>{esc(v['latest'])}</td><td>{esc(v['files'])}</td>"
            f"<td>{esc(v['retrieved'])}</td></tr>"
            for v in vintages
        )
        parts.append(
            '<table class="vintages"><caption>From tradelib&#39;s fetch manifest. Notebooks read '
            "the newest vintage "
            "unless their VINTAGE parameter says otherwise.</caption>"
            f"{head}{body}</table>"
        )
    else:
        parts.append(
            '<p class="note">No fetch manifest was found, so the vintages are not listed. '
            "Run <code>python -m tradelib fetch</code> first.</p>"
        )
    if summary.get("results"):
        parts.append("<h2>Run</h2>")
        params = summary.get("parameters", {})
        if params:
            parts.append(
                "<p>Parameters: "
                + ", ".join(f"<code>{esc(k)} = {esc(repr(v))}</code>" for k, v in params.items())
                + "</p>"
            )
        body = "".join(
            f"<tr><td>{esc(r['notebook'])}</td><td>{r.get('seconds', 0):.1f}</td>"
            f'<td class="status-{esc(r.get("status", ""))}">{esc(r.get("status", ""))}</td></tr>'
            for r in summary["results"]
        )
        parts.append(
            "<table><caption>Execution of each notebook (wall-clock seconds).</caption>"
            f"<tr><th>notebook</th><th>seconds</th><th>status</th></tr>{body}</table>"
        )
    parts.append(
        '<p class="note">Launch the notebooks yourself on Binder or Colab from the badges at the '
        "top of each page, or clone the repository and run <code>python -m tradelib run</code>. "
        "This site loads nothing from the internet; formulas are drawn as images.</p>"
    )
    parts.append(_footer(partner, built))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _skipped_html(stem: str, partner: str, message: str) -> str:
    """Page standing for a notebook that was not run for this partner (keeps links working)."""
    esc = html.escape
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(stem)}: not run for {esc(partner)}</title>",
            f"<style>{_INDEX_CSS}</style></head><body><main>",
            _nav([("index.html", "Index")]),
            f"<h1>{esc(stem)}</h1>",
            f"<p>This notebook was not run for {esc(partner)}. {esc(message)}</p>",
            (
                "<p>Read it in the site rendered for the partner it is written for, or run "
                "<code>python -m tradelib run --partner &lt;that partner&gt;</code>.</p>"
            ),
            "</main></body></html>",
        ]
    )


EXERCISES_PAGE = "exercises.html"


def _exercise_html(markdown: str, stem: str) -> str:
    """One exercise as HTML, linked to its place in the notebook's page (ids made page-unique)."""
    from nbconvert.filters.markdown import markdown2html

    body = markdown2html(math_to_images(markdown))
    first_id = re.search(r'\bid="([^"]+)"', body)
    body = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", body)
    body = re.sub(r'\sid="[^"]*"', "", body)
    target = f"{stem}.html" + (f"#{first_id.group(1)}" if first_id else "")
    return f'<div class="exercise">{body}<p><a href="{html.escape(target)}">In the notebook →</a></p></div>'


def exercises_html(loaded: list[tuple[Path, Any]], infos: list[NotebookInfo], partner: str) -> str:
    """A page listing every notebook's exercises, for teachers planning coursework."""
    from tradelib.publish import teach

    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tradelib: exercises</title>",
        (
            f"<style>{_INDEX_CSS} div.exercise {{ margin: 0 0 1.2em 1em; }} "
            "div.exercise h3, div.exercise h4 { font-size: 1.05em; margin-bottom: 0.2em; }</style>"
        ),
        "</head><body><main>",
        _nav([("index.html", "Index")]),
        "<h1>Exercises</h1>",
        (
            "<p>Each notebook ends with exercises that extend it. Worked solutions follow each "
            "exercise in the notebook; <code>python -m tradelib student</code> writes copies "
            "without them.</p>"
        ),
    ]
    for (_, nb), info in zip(loaded, infos, strict=True):
        texts = teach.exercise_texts(nb)
        if not texts:
            continue
        parts.append(f'<h2><a href="{esc(info.stem)}.html">{esc(info.title)}</a></h2>')
        parts += [_exercise_html(t, info.stem) for t in texts]
    parts.append(_footer(partner, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def executed_notebooks(executed_dir: Path) -> list[Path]:
    """The executed notebooks in a folder, in file-name order."""
    return sorted(p for p in executed_dir.glob("*.ipynb") if not p.name.startswith("."))


def build_site(
    executed_dir: str | Path,
    out_dir: str | Path,
    *,
    partner: str = "Mexico",
    manifest: str | Path | None = None,
) -> list[Path]:
    """Render every executed notebook in ``executed_dir`` plus an index page into ``out_dir``.

    Returns the written HTML files (index first). Raises ``SiteError`` when there is no notebook
    or when a rendered page would still load something from the internet.
    """
    import nbformat

    executed_dir = Path(executed_dir)
    out_dir = Path(out_dir)
    notebooks = executed_notebooks(executed_dir)
    if not notebooks:
        raise SiteError(
            f"{executed_dir}: no executed notebooks to render; run `python -m tradelib run` first"
        )
    if manifest is None:
        from tradelib import config

        manifest = config.manifest_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    loaded = [(p, nbformat.read(str(p), as_version=4)) for p in notebooks]
    infos = [notebook_info(nb, p.stem) for p, nb in loaded]
    footer = _footer(partner, built)
    written: list[Path] = []
    summary = read_run_summary(executed_dir)
    index = out_dir / "index.html"
    index.write_text(
        _index_html(
            infos,
            partner=partner,
            vintages=vintages_table(read_manifest(Path(manifest))),
            summary=summary,
            built=built,
            editions=sorted(
                d.name for d in out_dir.iterdir() if d.is_dir() and (d / "index.html").is_file()
            ),
        ),
        encoding="utf-8",
    )
    written.append(index)
    for r in summary.get("results", []):
        stem = Path(str(r.get("notebook", ""))).stem
        if r.get("status") == "skipped" and stem and stem not in {i.stem for i in infos}:
            target = out_dir / f"{stem}.html"
            target.write_text(_skipped_html(stem, partner, str(r.get("message", ""))), "utf-8")
            written.append(target)
    for i, ((path, nb), info) in enumerate(zip(loaded, infos)):
        links = [("index.html", "Index")]
        if i > 0:
            links.append((f"{infos[i - 1].stem}.html", f"← {infos[i - 1].title}"))
        if i + 1 < len(infos):
            links.append((f"{infos[i + 1].stem}.html", f"{infos[i + 1].title} →"))
        page = render_notebook_html(nb, nav=_nav(links), footer=footer)
        remote = remote_references(page)
        if remote:
            raise SiteError(
                f"{path}: the rendered page would load from the internet ({remote[0]!r}); "
                "remove the remote reference from the notebook output"
            )
        target = out_dir / f"{info.stem}.html"
        target.write_text(page, encoding="utf-8")
        written.append(target)
    exercises = out_dir / EXERCISES_PAGE
    exercises.write_text(exercises_html(loaded, infos, partner), encoding="utf-8")
    written.append(exercises)
    for stale in set(out_dir.glob("*.html")) - set(written):
        stale.unlink()  # a page of a notebook that is gone (editions in sub-folders are kept)
    return written


# --------------------------------------------------------------------------------------------
# Checking a rendered site (in a headless browser when one is installed)
# --------------------------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """Path of a Chromium-family browser on PATH, or ``None``."""
    import shutil

    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def headless_dom(page: Path, browser: str, timeout: float = 60.0) -> str:
    """The DOM of ``page`` after a headless browser has loaded it (``--dump-dom``), offline."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tradelib-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.resolve().as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SiteError(f"{page}: {browser} did not load the page within {timeout} s") from exc
    if proc.returncode != 0 or "<body" not in proc.stdout:
        raise SiteError(
            f"{page}: {browser} could not load the page (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-300:]}"
        )
    return proc.stdout


class _DomAudit(HTMLParser):
    """Collects images, links, scripts and element ids of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.loads: list[str] = []
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "img":
            self.images.append(a)
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag in ("script", "img", "iframe", "source") and a.get("src"):
            self.loads.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.loads.append(str(a["href"]))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


_NBCONVERT_DEFAULT_ALT = "no description has been provided"
"""Start of the alt text nbconvert gives images that have none: not a description."""


def audit_page(page: Path, dom: str, site_dir: Path) -> list[str]:
    """Problems of one page's DOM: images without alt text, remote loads, broken internal links."""
    parser = _DomAudit()
    parser.feed(dom)
    problems = []
    if not parser.title.strip():
        problems.append(f"{page.name}: no <title>")
    for img in parser.images:
        alt = (img.get("alt") or "").strip()
        if not alt or alt.lower().startswith(_NBCONVERT_DEFAULT_ALT):
            problems.append(
                f"{page.name}: <img> without alt text (src {str(img.get('src'))[:40]}); show "
                "figures with tradelib.publish.plot.show(fig, alt=...)"
            )
    for src in parser.loads:
        if _REMOTE.match(src):
            problems.append(f"{page.name}: loads {src} from the internet")
    for href in parser.links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, flags=re.IGNORECASE) or href.startswith("//"):
            continue  # external link (navigation only, nothing is fetched)
        target, _, fragment = href.partition("#")
        if target:
            resolved = (page.parent / target).resolve()
            if not resolved.is_file():
                problems.append(f"{page.name}: internal link {href!r} does not resolve")
            elif not resolved.is_relative_to(site_dir.resolve()):
                problems.append(f"{page.name}: internal link {href!r} leaves the site folder")
        elif fragment and fragment not in parser.ids:
            problems.append(f"{page.name}: anchor #{fragment} not found on the page")
    return problems


def audit_site(site_dir: str | Path, browser: str | None = None) -> list[str]:
    """Check every page of a rendered site (through ``browser`` when given, else the raw HTML)."""
    site_dir = Path(site_dir)
    pages = sorted(site_dir.rglob("*.html"))
    if not pages:
        return [f"{site_dir}: no HTML pages; render the site first"]
    problems: list[str] = []
    for page, dom in page_doms(pages, browser).items():
        if isinstance(dom, SiteError):
            problems.append(str(dom))
        else:
            problems += audit_page(page, dom, site_dir)
    return problems


def page_doms(
    pages: list[Path], browser: str | None, workers: int = 2
) -> dict[Path, str | SiteError]:
    """DOM of every page (through ``browser``, two at a time, or raw HTML); errors as values."""
    from concurrent.futures import ThreadPoolExecutor

    def one(page: Path) -> str | SiteError:
        try:
            return headless_dom(page, browser) if browser else page.read_text(encoding="utf-8")
        except SiteError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(zip(pages, pool.map(one, pages)))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m tradelib site``."""
    parser.description = "Render executed notebooks as a static offline HTML site."
    parser.add_argument(
        "--partner", default="Mexico", help="partner whose executed notebooks to render"
    )
    parser.add_argument(
        "--executed",
        help="folder of executed notebooks (default: output/<partner-slug>/ of the project)",
    )
    parser.add_argument("--out", help="site folder (default: site/, or site/<slug>/ for others)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="after rendering, load every page in headless Chromium (if installed) and check "
        "alt texts, internal links and that nothing loads from the internet",
    )


def main(args: argparse.Namespace) -> int:
    """Render the site and print where it is."""
    from tradelib.publish import run

    slug = run.partner_slug(args.partner)
    executed = Path(args.executed) if args.executed else run.default_output_dir() / slug
    out = Path(args.out) if args.out else run.default_site_dir(slug)
    pages = build_site(executed, out, partner=run.display_partner(args.partner))
    print(f"site: {len(pages)} pages written to {out} (open {pages[0]})")
    if args.check:
        browser = find_browser()
        problems = audit_site(out, browser)
        how = f"in {browser}" if browser else "as raw HTML (no Chromium found)"
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            return 1
        print(f"site: every page checked {how}: alt texts, internal links, no remote loads")
    return 0
