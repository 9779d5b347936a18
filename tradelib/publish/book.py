"""Build the site as a Jupyter Book 1 from the executed notebooks (nothing is re-executed).

``build_book(executed_dir, site_dir)`` stages a book folder and runs ``jupyter-book build`` on it:

* ``tradelib/resources/book/`` (``_config.yml``, ``references.bib``, ``_static/``) is copied;
* each executed notebook is copied into ``notebooks/`` *tidied for the book* (:func:`book_notebook`):
  papermill's injected-parameters cell is removed, remote badge images become text links (the
  book has its own launch buttons), each exercise becomes a sphinx-exercise ``exercise`` directive
  and its worked solution (the cells tagged ``solution``) a collapsed ``solution`` (gated
  directives around the cells), and a target is placed before every cell that records a finding;
* generated pages: ``index`` (the title page: the question and the notebooks), ``findings`` (right after the
  title: the notebooks' ``report.record(..., finding=...)`` results, each with its uncertainty,
  vintage and a link to the cell that computed it, plus what the notebooks say they cannot tell),
  ``exercises`` (every exercise, linked to its anchor), ``provenance`` (data vintages from the
  fetch manifest and the run summary, rendered generically) and ``references`` (the bibliography
  of ``references.bib``);
* the HTML goes to ``site_dir`` (replaced as a whole; other partners' editions in sub-folders are
  kept), and every page is checked for references that would load from the internet.

The committed notebooks are never modified: only the copies in the staging folder are.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradelib.errors import TradelibError
from tradelib.publish import links, needs

QUESTION = "Will Mexico and the US improve their trade balance?"
QUESTION_CONTEXT = (
    "A May 2025 news story asked this about US goods trade with Mexico, after a year of new "
    "tariffs on imports from Mexico. The notebooks answer it with official data: how the balance "
    "got where it is, which tariff actions touched it, what drives import growth, whether the "
    "story's numbers reproduce, and what the outlook is."
)

SUMMARY_FILE = "run-summary.json"
"""Written by ``tradelib run`` next to the executed notebooks; rendered on the provenance page."""

SITE_MARKER = ".tradelib-site"
"""File that marks a folder as a site written by tradelib (only such folders are replaced)."""

ALLOW_NO_FINDINGS_ENV = "TRADELIB_ALLOW_NO_FINDINGS"
"""Set to 1 to build a draft book whose notebooks record no finding (the page says so)."""


def skip_iri_grammars() -> None:
    """Make this process's ``jsonschema`` skip its optional IRI format checker.

    jsonschema (imported by nbformat, papermill and jupyter-book) loads ``rfc3987_syntax`` when it
    is installed, which compiles 38 lark grammars on import: seconds in every process that reads
    a notebook, the slowest step of a warm run on a small machine. Nothing in tradelib's pipeline
    validates IRIs (the notebook schema has no such format), so tradelib's own commands (``run``,
    ``site``) call this before importing nbformat. No effect once jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


class BookError(TradelibError):
    """The book cannot be built (no notebooks, no findings, a Sphinx error, a remote load)."""


def book_source_dir() -> Path:
    """``tradelib/resources/book``: configuration, bibliography and static files of the book
    (inside the package, so an installed wheel builds the same book as a checkout)."""
    from tradelib import config

    return config.authored_dir() / "book"


# --------------------------------------------------------------------------------------------
# Notebook title and summary (the intro page)
# --------------------------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def plain_text(markdown: str) -> str:
    """Strip the Markdown used in summaries (links, images, emphasis, code ticks)."""
    text = _MD_LINK.sub(lambda m: "" if m.group(0).startswith("!") else m.group(1), markdown)
    text = re.sub(r"[*`]+|(?<!\w)_+|_+(?!\w)", "", text)  # keep snake_case names intact
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    """``text`` split after ``.``, ``?`` or ``!`` (and a closing quote) followed by a capital."""
    text = text.strip()
    parts, start = [], 0
    for m in re.finditer(r"[.?!][\"”’)]?(?=\s+[A-Z\"“(])", text):
        parts.append(text[start : m.end()].strip())
        start = m.end()
    rest = text[start:].strip()
    return [*parts, rest] if rest else parts


_QUOTED_QUESTION = re.compile(r"[\"“][^\"”]*\?[\"”]")


def blurb(text: str) -> str:
    """One sentence for the index: the first one that does not just quote a headline question.

    The site's title already asks the story's question, so a summary opening with the quoted
    headline ("The story asked: "Will ...?"") would repeat it; the next sentence says what the
    notebook itself asks.
    """
    found = sentences(text)
    for s in found:
        if not _QUOTED_QUESTION.search(s):
            return s
    return found[0] if found else ""


@dataclass(frozen=True)
class NotebookInfo:
    """What the intro page says about one notebook."""

    stem: str
    title: str
    summary: str


def notebook_info(nb: Any, stem: str) -> NotebookInfo:
    """Title and one-sentence summary from a notebook's first cell.

    The title is the first ``#`` heading; the summary comes from the **Question** paragraph when
    there is one (see :func:`blurb`), otherwise the first paragraph that is neither a heading
    nor badges.
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
            title = plain_text(para.splitlines()[0][2:])
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
            summary = plain_text(m.group(1))
            break
    if not summary:
        for para in paragraphs:
            text = plain_text(para)
            if text and not para.lstrip().startswith(("#", "[![", "<")):
                summary = text
                break
    return NotebookInfo(stem=stem, title=title, summary=blurb(summary))


# --------------------------------------------------------------------------------------------
# Tidying a notebook for the book
# --------------------------------------------------------------------------------------------

INJECTED_TAG = "injected-parameters"
REMOVE_TAG = "remove-cell"
_REMOTE_IMAGE_LINK = re.compile(r"\[!\[([^\]]*)\]\((?:https?:)?//[^)]*\)\]\(([^)]*)\)")
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:https?:)?//[^)]*\)")
_EXERCISES_HEAD = re.compile(r"^\s{0,3}#{1,6}\s+Exercises\b", flags=re.IGNORECASE)
_EXERCISE_ITEM = re.compile(
    r"^\s{0,3}(?:#{1,6}\s+|\*\*|__)\s*Exercise\b\s*(\d+)?\s*[.:]?\s*(?:\*\*|__)?\s*(.*)$",
    flags=re.IGNORECASE,
)
_SOLUTION_LEAD = re.compile(
    r"^\s*(?:\*\*|__|\*|_)\s*Solution\b[^*_\n]*?[.:]?\s*(?:\*\*|__|\*|_)\s*", flags=re.IGNORECASE
)


def label_part(text: str) -> str:
    """Lower-case label fragment: ``"02_deficit_trends"`` -> ``"02-deficit-trends"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def exercise_label(stem: str, number: int) -> str:
    """The label (and HTML anchor) of exercise ``number`` of notebook ``stem``."""
    return f"ex-{label_part(stem)}-{number}"


def finding_label(stem: str, name: str) -> str:
    """The label (and HTML anchor) placed before the cell that records finding ``name``."""
    return f"finding-{label_part(stem)}-{label_part(name)}"


@dataclass
class Exercise:
    """One exercise as the book shows it."""

    stem: str
    number: int
    label: str
    text: str
    solved: bool = False


@dataclass
class BookNotebook:
    """A notebook tidied for the book, with what the generated pages need from it."""

    nb: Any
    exercises: list[Exercise] = field(default_factory=list)


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _is_solution(cell: Any) -> bool:
    from tradelib.publish.teach import SOLUTION_TAG

    return SOLUTION_TAG in _tags(cell)


def _md(source: str, number: int) -> Any:
    """Inserted Markdown cell ``number`` with a fixed id (re-staging gives identical files)."""
    from nbformat.v4 import new_markdown_cell

    return new_markdown_cell(source, id=f"tradelib-book-{number}")


VOLATILE = ("execution", "papermill")
"""Metadata that changes on every execution (timings); dropped from the book's copies so an
unchanged result gives an unchanged file and an incremental build skips it."""


_DISPLAY_MATH = re.compile(r"^([ \t]*\$\$)(.+?)(\$\$)[ \t]*$", flags=re.MULTILINE | re.DOTALL)


def number_equations(markdown: str, stem: str, start: int = 1) -> tuple[str, int]:
    """Give every display equation (``$$...$$`` on lines of its own) a label, so Sphinx numbers
    it; returns the new Markdown and the next equation number."""
    counter = [start]

    def repl(m: re.Match[str]) -> str:
        if m.group(2).strip().startswith("$") or "$$" in m.group(2):
            return m.group(0)
        label = f"eq-{label_part(stem)}-{counter[0]}"
        counter[0] += 1
        return f"{m.group(1)}{m.group(2)}{m.group(3)} ({label})"

    return _DISPLAY_MATH.sub(repl, markdown), counter[0]


def offline_badges(markdown: str) -> str:
    """Remote badge images become text links (``[![Binder](https://…svg)](url)`` -> ``[Binder](url)``)."""
    markdown = _REMOTE_IMAGE_LINK.sub(lambda m: f"[{m.group(1) or 'link'}]({m.group(2)})", markdown)
    return _REMOTE_IMAGE.sub(lambda m: m.group(1), markdown)


def _exercise_block(label: str, lines: list[str]) -> tuple[str, str]:
    """The ``exercise`` directive for one exercise (and its text without the marker)."""
    m = _EXERCISE_ITEM.match(lines[0])
    rest = (m.group(2) if m else "").strip()
    body_lines = ([rest] if rest else []) + lines[1:]
    text = "\n".join(body_lines).strip()
    directive = f"::::{{exercise}}\n:label: {label}\n\n{text}\n::::"
    return directive, text


def _strip_solution_lead(source: str) -> str:
    """Drop a leading "**Solution 1.**" / "*Solution.*" marker (the directive has a title)."""
    return _SOLUTION_LEAD.sub("", source, count=1)


def book_notebook(nb: Any, stem: str) -> BookNotebook:
    """A copy of the executed notebook ``nb`` as the book shows it (see the module docstring)."""
    from tradelib.publish import report

    out = copy.deepcopy(nb)
    recorded = {f["cell"]: f["name"] for f in report.read_findings(out)}
    cells: list[Any] = []
    exercises: list[Exercise] = []
    seen_heading = False
    open_solution: str | None = None  # label of the exercise whose solution cells are open
    equation = 1

    def md(source: str) -> Any:
        return _md(source, len(cells))

    def close_solution() -> None:
        nonlocal open_solution
        if open_solution is not None:
            cells.append(md("```{solution-end}\n```"))
            open_solution = None

    for key in VOLATILE:
        out.metadata.pop(key, None)
    for index, cell in enumerate(out.cells):
        for key in VOLATILE:
            cell.get("metadata", {}).pop(key, None)
        tags = _tags(cell)
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            cell.setdefault("metadata", {})["tags"] = [*tags, REMOVE_TAG]
        if cell.cell_type == "markdown":
            cell.source, equation = number_equations(offline_badges(cell.source), stem, equation)
        if index in recorded:
            close_solution()
            cells.append(md(f"({finding_label(stem, recorded[index])})="))
        if seen_heading and _is_solution(cell):
            if open_solution is None and exercises and not exercises[-1].solved:
                exercises[-1].solved = True
                open_solution = exercises[-1].label
                cells.append(md(f"```{{solution-start}} {open_solution}\n:class: dropdown\n```"))
                if cell.cell_type == "markdown":
                    cell.source = _strip_solution_lead(cell.source)
            cells.append(cell)
            continue
        close_solution()
        if cell.cell_type != "markdown" or _is_solution(cell):
            cells.append(cell)
            continue
        lines = cell.source.splitlines()
        kept: list[str] = []
        current: list[str] | None = None
        blocks: list[str] = []
        for ln in lines:
            if not seen_heading:
                seen_heading = bool(_EXERCISES_HEAD.match(ln))
                kept.append(ln)
                continue
            if _EXERCISE_ITEM.match(ln):
                if current is not None:
                    blocks.append(_finish(stem, current, exercises))
                current = [ln]
            elif current is not None:
                current.append(ln)
            else:
                kept.append(ln)
        if current is not None:
            blocks.append(_finish(stem, current, exercises))
        if blocks:
            pre = "\n".join(kept).strip()
            cell.source = "\n\n".join(([pre] if pre else []) + blocks)
        cells.append(cell)
    close_solution()
    out.cells = cells
    return BookNotebook(out, exercises)


def _finish(stem: str, lines: list[str], exercises: list[Exercise]) -> str:
    """Register one exercise and return its directive."""
    number = len(exercises) + 1
    label = exercise_label(stem, number)
    directive, text = _exercise_block(label, lines)
    exercises.append(Exercise(stem, number, label, text))
    return directive


# --------------------------------------------------------------------------------------------
# Generated pages
# --------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """A value as text for a Markdown table cell (pipes escaped, one line, floats to 2 d.p.)."""
    if isinstance(value, float):
        value = f"{value:.2f}".rstrip("0").rstrip(".")
    text = " ".join(str("" if value is None else value).split())
    return text.replace("|", "\\|")


def markdown_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (columns: ``columns`` or the union of keys in order)."""
    if not rows:
        return ""
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    head = "| " + " | ".join(_cell_text(c) for c in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell_text(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def render_json(value: Any, depth: int = 0) -> str:
    """Any JSON value as Markdown: dicts as bullet lists, lists of dicts as tables."""
    pad = "  " * depth
    if isinstance(value, dict):
        if not value:
            return f"{pad}- (none)"
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}- **{_cell_text(key)}**:")
                lines.append(render_json(item, depth + 1))
            else:
                lines.append(f"{pad}- **{_cell_text(key)}**: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            table = markdown_table(value)
            return "\n".join(pad + ln for ln in ["", *table.splitlines(), ""])
        return "\n".join(f"{pad}- {_scalar(v)}" for v in value) or f"{pad}- (none)"
    return f"{pad}{_scalar(value)}"


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    return _cell_text(value) or "(empty)"


def intro_page(
    infos: list[NotebookInfo], skipped: dict[str, str], partner: str, findings_count: int
) -> str:
    """The title page: the question, what the notebooks do, links to every page."""
    lines = [
        f"# {QUESTION}",
        "",
        QUESTION_CONTEXT,
        "",
        f"This edition is run for **{partner}**. "
        + (
            f"[The findings](findings.md) collect the {findings_count} headline results the "
            "notebooks compute, each with its uncertainty, data vintage and a link to the cell "
            "that computes it."
            if findings_count
            else "No notebook records a headline finding yet; see [the findings page](findings.md)."
        ),
        "",
        "## The notebooks",
        "",
    ]
    for info in infos:
        lines.append(f"- [{info.title}](notebooks/{info.stem}.ipynb): {info.summary}")
    for stem in skipped:
        lines.append(f"- [{stem}]({stem}.md): not run for {partner}.")
    lines += [
        "",
        "## Also in this book",
        "",
        (
            "- [Exercises](exercises.md): every notebook's exercises, linked to their place, with "
            "worked solutions folded under each one in the notebook."
        ),
        (
            "- [Data vintages and run provenance](provenance.md): which release of each source was "
            "read, and how this edition was produced."
        ),
        "- [References](references.md).",
        "",
        (
            "Every page was rendered from notebooks executed by `python -m tradelib run`; nothing on "
            "this site is loaded from the internet. Launch a notebook on Binder or Colab with the "
            "rocket button at the top of its page, or download the `.ipynb`."
        ),
    ]
    return "\n".join(lines) + "\n"


def limits_text(nb: Any) -> str:
    """What a notebook says it cannot tell, from its section on limits.

    The section is the first Markdown heading containing "cannot", "limit" or "caveat"; the
    text is its first paragraph that says "cannot" (else its first paragraph), or, when the
    heading stands alone, the first Markdown output (computed prose) after it.
    """
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for j, ln in enumerate(lines):
            if re.match(r"^\s{0,3}#{1,6}\s", ln) and re.search(
                r"cannot|limit|caveat", ln, flags=re.IGNORECASE
            ):
                rest = "\n".join(lines[j + 1 :])
                rest = re.split(r"\n\s{0,3}#{1,6}\s", "\n" + rest)[0]
                paras = [p.strip() for p in re.split(r"\n\s*\n", rest) if p.strip()]
                saying = [p for p in paras if re.search(r"\bcannot\b|\bcan't\b|\bnot\b", p)]
                if paras:
                    return (saying or paras)[0]
                for later in nb.cells[i + 1 : i + 4]:
                    for o in later.get("outputs", []):
                        text = (o.get("data") or {}).get("text/markdown")
                        if text:
                            return str(text).strip()
    return ""


def literal_dollars(text: str) -> str:
    """Escape ``$`` so that MyST shows dollar amounts as text, not as inline math
    (``-$197.0bn in 2025, after -$168.6bn`` would otherwise become one formula)."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def findings_page(
    items: list[tuple[NotebookInfo, list[dict[str, Any]], str]], allow_empty: bool = False,
    missing: dict[str, list[str]] | None = None,
) -> str:
    """The findings page from each notebook's recorded findings and its limits paragraph.

    ``missing`` (by notebook stem) lists the sources whose cells were skipped in that run
    (``# needs:`` markers): the page says so, since findings computed there are absent.
    """
    missing = {k: v for k, v in (missing or {}).items() if v}
    total = sum(len(f) for _, f, _ in items)
    if not total and not allow_empty and not missing:
        raise BookError(
            "no notebook records a finding, so the findings page would be empty: mark 1-3 headline "
            "results per notebook with report.record(name, value, finding=f'...', "
            "uncertainty=..., vintage=...) and re-run (set "
            f"{ALLOW_NO_FINDINGS_ENV}=1 to build a draft without them)"
        )
    lines = [
        "# Findings",
        "",
        f"The {total} headline results below are read from the executed notebooks (each one "
        "recorded with `report.record(..., finding=...)`): the sentence, its uncertainty and the "
        "data vintage are computed in the notebook, and the link goes to the cell that computes "
        "it."
        if total
        else "**Draft:** no notebook records a headline finding yet (`report.record(..., "
        "finding=...)`), so this page lists none.",
        "",
    ]
    for info, findings, limits in items:
        absent = missing.get(info.stem, [])
        if not findings and not limits and not absent:
            continue
        lines += [f"## {info.title}", ""]
        if absent:
            lines += [
                ":::{note}",
                "Not computed in this run: the cells that need "
                + ", ".join(f"`{a}`" for a in absent)
                + " were skipped because those sources were not available; the notebook says "
                "how to get them, and the findings they compute are missing here.",
                ":::",
                "",
            ]
        for f in findings:
            label = finding_label(info.stem, str(f["name"]))
            lines += [
                ":::{div} tl-finding",
                literal_dollars(str(f["finding"])),
                "",
                f"- **Uncertainty**: {literal_dollars(f.get('uncertainty') or 'not stated')}",
                f"- **Data vintage**: {f.get('vintage') or 'not stated'}",
                (
                    f"- **Computed in**: {{ref}}`{info.title}, cell {f['cell']} <{label}>` "
                    f"(`{f['name']}`)"
                ),
                ":::",
                "",
            ]
        if limits:
            lines += ["**What this cannot tell.** " + limits, ""]
    return "\n".join(lines) + "\n"


def exercises_page(per_notebook: list[tuple[NotebookInfo, list[Exercise]]]) -> str:
    """Every exercise, each linked to its anchor in the notebook's page."""
    lines = [
        "# Exercises",
        "",
        (
            "Each notebook ends with exercises that extend it; the worked solution follows each "
            "exercise in the notebook, folded until you open it. `python -m tradelib student` writes "
            "copies of the notebooks without the solutions."
        ),
        "",
    ]
    for chapter, (info, exercises) in enumerate(per_notebook, start=1):
        if not exercises:
            continue
        lines += [f"## [{info.title}](notebooks/{info.stem}.ipynb)", ""]
        for ex in exercises:
            # numbered as in the notebook's page (chapter = the notebook's place in the book)
            lines += [
                f"**Exercise {chapter}.{ex.number}.** {{ref}}`Go to the exercise <{ex.label}>`",
                "",
                *[f"> {ln}" if ln.strip() else ">" for ln in ex.text.splitlines()],
                "",
            ]
    return "\n".join(lines) + "\n"


def vintages_table(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One row per source: the vintages stored and the newest (what ``vintage="latest"`` reads)."""

    def pick(row: dict[str, str], *names: str) -> str:
        return next((str(row[n]) for n in names if row.get(n)), "")

    by_source: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        source = pick(row, "source_id", "source")
        if not source:
            continue
        entry = by_source.setdefault(
            source, {"vintages": set(), "files": set(), "retrieved": set()}
        )
        if pick(row, "retrieved_at", "fetched_at", "retrieved"):
            entry["retrieved"].add(pick(row, "retrieved_at", "fetched_at", "retrieved")[:10])
        if pick(row, "vintage"):
            entry["vintages"].add(pick(row, "vintage"))
        if pick(row, "file", "filename", "file_name", "path"):
            entry["files"].add(Path(pick(row, "file", "filename", "file_name", "path")).name)
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


def provenance_page(vintages: list[dict[str, str]], summary: dict[str, Any], partner: str) -> str:
    """Data vintages (fetch manifest) and the run summary (every field it has, generically)."""
    lines = [
        "# Data vintages and run provenance",
        "",
        "## Data vintages",
        "",
        (
            "The official files this edition read, by source: every vintage stored, the newest "
            '(what `vintage="latest"` reads), the files and when they were retrieved.'
        ),
        "",
        markdown_table(vintages) if vintages else "No fetch manifest was found.",
        "",
        "## How this edition was run",
        "",
    ]
    if summary:
        lines.append(
            f"`python -m tradelib run` for {partner} wrote this run summary "
            "(`run-summary.json`) next to the executed notebooks:"
        )
        lines += ["", render_json(summary), ""]
    else:
        lines.append(
            "No run summary was found (the notebooks were not executed by `tradelib run`)."
        )
    return "\n".join(lines) + "\n"


def skipped_page(stem: str, partner: str, message: str) -> str:
    """Page standing for a notebook that was not run for this partner (keeps links working)."""
    return (
        f"# {stem}: not run for {partner}\n\n{message}\n\nRead it in the edition for the partner "
        "it is written for, or run `python -m tradelib run --partner <that partner>`.\n"
    )


REFERENCES_PAGE = """# References

Every work the notebooks cite, from the one bibliography file `book/references.bib`. Each
notebook also lists the references it uses at its end.

```{bibliography}
:all:
```
"""


# --------------------------------------------------------------------------------------------
# Staging and building
# --------------------------------------------------------------------------------------------


def executed_notebooks(executed_dir: Path) -> list[Path]:
    """The executed notebooks in a folder, in file-name order."""
    return sorted(p for p in executed_dir.glob("*.ipynb") if not p.name.startswith("."))


def read_run_summary(executed_dir: Path) -> dict[str, Any]:
    """The ``run-summary.json`` written by ``tradelib run`` (empty dict when absent)."""
    path = executed_dir / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BookError(
            f"{path}: not valid JSON ({exc}); delete it or re-run `python -m tradelib run`"
        ) from exc


def _config_text(src: Path, partner: str) -> str:
    """The book's ``_config.yml`` with the repository URL and the partner filled in."""
    import yaml

    conf = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
    conf.setdefault("repository", {})["url"] = links.REPO_URL
    conf["repository"]["branch"] = links.BRANCH
    theme = (
        conf.setdefault("sphinx", {}).setdefault("config", {}).setdefault("html_theme_options", {})
    )
    theme["repository_url"] = links.REPO_URL
    theme["repository_branch"] = links.BRANCH
    if partner != "Mexico":
        conf["title"] = f"{conf.get('title', QUESTION)} ({partner} edition)"
    return yaml.safe_dump(conf, sort_keys=False, allow_unicode=True)


def stage_book(
    executed_dir: Path,
    staging: Path,
    *,
    partner: str = "Mexico",
    manifest: Path | None = None,
    source_dir: Path | None = None,
    allow_no_findings: bool | None = None,
) -> list[str]:
    """Write the book's source folder; returns the page names in reading order."""
    skip_iri_grammars()
    import nbformat
    import yaml

    from tradelib.data.fetch import read_manifest
    from tradelib.publish import report

    notebooks = executed_notebooks(executed_dir)
    if not notebooks:
        raise BookError(
            f"{executed_dir}: no executed notebooks to render; run `python -m tradelib run` first"
        )
    if allow_no_findings is None:
        allow_no_findings = os.environ.get(ALLOW_NO_FINDINGS_ENV, "").strip() == "1"
    source_dir = source_dir or book_source_dir()
    if not (source_dir / "_config.yml").is_file():
        raise BookError(
            f"{source_dir}: no _config.yml; the book folder of the package is missing (reinstall tradelib)"
        )
    if manifest is None:
        from tradelib import config

        manifest = config.manifest_path()
    staging.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()

    def put(path: Path, data: bytes) -> None:
        """Write ``data`` unless the file already holds it (keeps mtimes for Sphinx)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        written.add(path)

    for item in sorted(source_dir.rglob("*")):
        rel = item.relative_to(source_dir)
        if not item.is_file() or rel.parts[0] in ("_build", "_config.yml", "_toc.yml"):
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        put(staging / rel, item.read_bytes())
    put(staging / "_config.yml", _config_text(source_dir / "_config.yml", partner).encode())
    infos, findings_items, exercise_items = [], [], []
    missing: dict[str, list[str]] = {}
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        info = notebook_info(nb, path.stem)
        tidy = book_notebook(nb, path.stem)
        put(staging / "notebooks" / path.name, nbformat.writes(tidy.nb).encode("utf-8"))
        infos.append(info)
        findings_items.append((info, report.read_findings(nb), limits_text(nb)))
        missing[path.stem] = needs.missing_labels(needs.read_skipped(nb))
        exercise_items.append((info, tidy.exercises))
    summary = read_run_summary(executed_dir)
    done = {i.stem for i in infos}
    skipped = {
        Path(str(r.get("notebook", ""))).stem: str(r.get("message", ""))
        for r in summary.get("results", [])
        if isinstance(r, dict) and r.get("status") == "skipped"
    }
    skipped = {k: v for k, v in skipped.items() if k and k not in done}
    total = sum(len(f) for _, f, _ in findings_items)
    pages = {
        "index": intro_page(infos, skipped, partner, total),
        "findings": findings_page(findings_items, allow_empty=allow_no_findings,
                                  missing=missing),
        "exercises": exercises_page(exercise_items),
        "provenance": provenance_page(
            vintages_table(read_manifest(Path(manifest))), summary, partner
        ),
        "references": REFERENCES_PAGE,
    }
    for stem, message in skipped.items():
        pages[stem] = skipped_page(stem, partner, message)
    for name, text in pages.items():
        put(staging / f"{name}.md", text.encode("utf-8"))
    chapters = (
        ["findings"]
        + [f"notebooks/{i.stem}" for i in infos]
        + list(skipped)
        + ["exercises", "provenance", "references"]
    )
    toc = {
        "format": "jb-book",
        "root": "index",
        "parts": [
            {"caption": "Answer", "chapters": [{"file": "findings"}]},
            {
                "caption": "Notebooks",
                # numbered (1-6 = notebooks 01-06) so exercises and equations are numbered per
                # notebook ("Exercise 2.1", "(4.2)"); the section numbers themselves are hidden
                # by _static/tradelib.css because the notebooks number their sections already
                "numbered": 1,
                "chapters": [{"file": f"notebooks/{i.stem}"} for i in infos]
                + [{"file": s} for s in skipped],
            },
            {
                "caption": "For teachers and re-users",
                "chapters": [{"file": "exercises"}, {"file": "provenance"}, {"file": "references"}],
            },
        ],
    }
    put(staging / "_toc.yml", yaml.safe_dump(toc, sort_keys=False).encode("utf-8"))
    for stale in [p for p in staging.rglob("*") if p.is_file() and p not in written]:
        stale.unlink()  # e.g. the copy of a notebook that is gone
    return ["index", *chapters]


@dataclass
class BookResult:
    """A built book: the site folder, its pages in reading order, Sphinx's warnings."""

    site_dir: Path
    pages: list[Path]
    warnings: list[str]
    seconds: float = 0.0


def run_jupyter_book(staging: Path, output: Path) -> tuple[int, str]:
    """``jupyter-book build staging --path-output output``; returns exit code and log."""
    cmd = [
        sys.executable,
        "-c",
        # see skip_iri_grammars: jupyter-book's config validation needs no IRI format checks
        (
            "import sys; sys.modules['rfc3987_syntax'] = None; "
            "from jupyter_book.cli.main import main; sys.exit(main())"
        ),
        "build",
        str(staging),
        "--path-output",
        str(output),
        "--builder",
        "html",
        "--keep-going",
    ]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


_WARNING = re.compile(r"^.*(?:WARNING|ERROR|CRITICAL|SEVERE):.*$", flags=re.MULTILINE)


def _replace_site(new: Path, site_dir: Path) -> None:
    """Put the built HTML in ``site_dir``, keeping editions in sub-folders; never touch a folder
    that tradelib did not write (no marker) unless it is empty."""
    if site_dir.exists():
        if not site_dir.is_dir():
            raise BookError(f"{site_dir}: exists and is not a folder; choose another --site-dir")
        if any(site_dir.iterdir()) and not (site_dir / SITE_MARKER).is_file():
            raise BookError(
                f"{site_dir}: not empty and not a site written by tradelib (no {SITE_MARKER}); "
                "it is left alone: choose another --site-dir or empty it yourself"
            )
        for sub in site_dir.iterdir():
            if sub.is_dir() and (sub / SITE_MARKER).is_file() and not (new / sub.name).exists():
                shutil.move(str(sub), str(new / sub.name))  # another partner's edition
        old = site_dir.with_name(f".{site_dir.name}.old")
        if old.exists():
            shutil.rmtree(old)
        site_dir.rename(old)
        new.rename(site_dir)
        shutil.rmtree(old)
    else:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        new.rename(site_dir)


def default_cache_dir(site_dir: Path) -> Path:
    """``<project>/build/book/<id of site_dir>``: staging and Sphinx's files kept between builds,
    so a warm build re-reads only the notebooks whose results changed (``build/`` is ignored)."""
    import hashlib

    from tradelib import config

    key = hashlib.sha1(str(site_dir.resolve()).encode("utf-8")).hexdigest()[:10]
    return config.project_root() / "build" / "book" / f"{site_dir.name}-{key}"


def build_book(
    executed_dir: str | Path,
    site_dir: str | Path,
    *,
    partner: str = "Mexico",
    manifest: str | Path | None = None,
    source_dir: str | Path | None = None,
    allow_no_findings: bool | None = None,
    cache_dir: str | Path | None = None,
    keep_staging: Path | None = None,
) -> BookResult:
    """Build the Jupyter Book of the executed notebooks in ``executed_dir`` into ``site_dir``.

    ``cache_dir`` keeps the staged sources and Sphinx's environment between builds (incremental:
    ``python -m tradelib run`` and ``site`` use :func:`default_cache_dir`); without it the book is
    built from scratch in a temporary folder. Raises :class:`BookError` when there is nothing to
    build, Sphinx fails, or a page would load something from the internet. Returns the pages
    (``index.html`` first) and Sphinx's warnings.
    """
    import time

    t0 = time.perf_counter()
    executed_dir, site_dir = Path(executed_dir), Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.build-", dir=site_dir.parent))
    cache = Path(cache_dir) if cache_dir is not None else work / "cache"
    try:
        staging = cache / "book"
        order = stage_book(
            executed_dir,
            staging,
            partner=partner,
            manifest=Path(manifest) if manifest else None,
            source_dir=Path(source_dir) if source_dir else None,
            allow_no_findings=allow_no_findings,
        )
        if keep_staging is not None:
            if keep_staging.exists():
                shutil.rmtree(keep_staging)
            shutil.copytree(staging, keep_staging)
        code, log = run_jupyter_book(staging, cache / "out")
        html_dir = cache / "out" / "_build" / "html"
        if (code != 0 or not (html_dir / "index.html").is_file()) and cache_dir is not None:
            shutil.rmtree(cache / "out", ignore_errors=True)  # a stale cache: build afresh
            code, log = run_jupyter_book(staging, cache / "out")
        if code != 0 or not (html_dir / "index.html").is_file():
            tail = "\n".join(log.strip().splitlines()[-25:])
            raise BookError(f"jupyter-book could not build the site (exit {code}):\n{tail}")
        warnings = sorted(set(_WARNING.findall(log)))
        remote = remote_loads_in(html_dir)
        if remote:
            raise BookError(
                "the built site would load from the internet: "
                + "; ".join(f"{p}: {r}" for p, r in remote[:5])
            )
        new = work / "html"
        shutil.copytree(html_dir, new, ignore=shutil.ignore_patterns(".buildinfo", ".tl-audit-*"))
        (new / SITE_MARKER).write_text(
            "Written by python -m tradelib; replaced as a whole by the next build.\n",
            encoding="utf-8",
        )
        _replace_site(new, site_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pages = [site_dir / f"{name}.html" for name in order]
    return BookResult(site_dir, pages, warnings, time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# The no-remote-loads audit
# --------------------------------------------------------------------------------------------

_REMOTE_REF = re.compile(
    r"<(?:script|link|img|iframe|source|audio|video|embed)\b[^>]*\b(?:src|href|srcset)\s*=\s*"
    r"[\"']?\s*(?:https?:)?//[^\s\"'>]*",
    flags=re.IGNORECASE,
)
_CSS_REMOTE = re.compile(
    r"(?:@import\s+(?:url\()?|url\()\s*[\"']?\s*(?:https?:)?//[^\s\"')]*", flags=re.IGNORECASE
)


def remote_references(text: str) -> list[str]:
    """Excerpts of every tag, CSS ``url()``/``@import`` or script load in ``text`` that would
    fetch something from the web (links a reader clicks are fine)."""
    found = [m.group(0)[:160] for m in _REMOTE_REF.finditer(text)]
    found += [m.group(0)[:160] for m in _CSS_REMOTE.finditer(text)]
    return found


def remote_loads_in(html_dir: Path) -> list[tuple[str, str]]:
    """``(file, excerpt)`` for every HTML or CSS file in ``html_dir`` that loads from the web."""
    found = []
    for path in sorted(html_dir.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for hit in remote_references(text):
            if path.suffix == ".css" and "sourceMappingURL" in hit:
                continue
            found.append((str(path.relative_to(html_dir)), hit))
    return found
