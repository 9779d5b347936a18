"""Notebook cells that need an optional source: run them when it is here, otherwise say so.

Some sources cannot always be had: Census calculated duties need ``CENSUS_API_KEY`` online,
USITC DataWeb and the Budget Lab's tracker files have no download URL, and an old vintage (the
``2025-04`` Census file the fact check reads) cannot be downloaded again once the publisher has
replaced it. A notebook marks each cell that needs such a source with a first line

.. code-block:: python

    # needs: census-duties, yale-tracker
    # needs: census-country@2025-04          (a vintage)
    # needs: census-country@OLD_VINTAGE      (a vintage held by a notebook variable)

and calls :func:`enable` once in its import cell. From then on, before IPython runs a marked
cell, the line is read: when every source named is available (stored under ``data/raw`` or in
the mirror, the places the loaders look) the cell runs unchanged; otherwise the cell is replaced
by a note naming what is missing, where it was looked for and how to get it, and the rest of the
notebook runs. The first skip for a source explains in full; later ones point back to it.

The same works in Jupyter, Colab, papermill and ``python -m tradelib run``: it is an IPython
input transformer, so nothing changes for cells without the line. An unknown source id in a
marker is an error (a typo must not read as missing data). Each skipped cell also leaves a
machine-readable output (:data:`SKIP_MIME`) that :func:`read_skipped` reads back from a saved
notebook, so the run summary and the book can say which sections were skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SKIP_MIME = "application/vnd.tradelib.skipped+json"
MARKER = re.compile(r"^#\s*needs:\s*(?P<spec>.*?)\s*$")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")

_explained: set[str] = set()
"""Labels already explained in full in this kernel (later skips point back to the note)."""


@dataclass(frozen=True)
class Need:
    """One requirement of a cell: a source id and a vintage (``"latest"`` or ``YYYY-MM``)."""

    source: str
    vintage: str = "latest"

    @property
    def label(self) -> str:
        """``source`` or ``source@vintage``."""
        return self.source if self.vintage == "latest" else f"{self.source}@{self.vintage}"


def parse_marker(line: str, namespace: dict[str, Any] | None = None) -> list[Need] | None:
    """The needs a ``# needs: ...`` line names, or ``None`` when ``line`` is no marker.

    A vintage written as an identifier (``census-country@OLD_VINTAGE``) is looked up in
    ``namespace`` (the notebook's variables). Unknown sources, empty markers and undefined
    vintage variables raise :class:`ValueError`.
    """
    m = MARKER.match(line.strip())
    if m is None:
        return None
    spec = m.group("spec")
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise ValueError(f"'# needs:' names no source (line {line.strip()!r}); write e.g. "
                         "'# needs: census-duties'")
    return parse_labels(items, namespace, context=f"'# needs: {spec}'")


def parse_labels(labels: list[str] | tuple[str, ...], namespace: dict[str, Any] | None = None,
                 context: str = "needs") -> list[Need]:
    """``SOURCE`` or ``SOURCE@VINTAGE`` labels as needs (see :func:`parse_marker`)."""
    from tradelib.data.sources import SOURCES

    out = []
    for item in labels:
        source, _, vintage = item.partition("@")
        source, vintage = source.strip(), vintage.strip() or "latest"
        if source not in SOURCES:
            raise ValueError(f"{context}: unknown source {source!r}; known sources: "
                             f"{', '.join(sorted(SOURCES))}")
        if _IDENT.match(vintage) and vintage != "latest":
            if namespace is None or vintage not in namespace:
                raise ValueError(f"{context}: the vintage variable {vintage} is not "
                                 "defined; run the parameters cell first")
            vintage = str(namespace[vintage])
        out.append(Need(source, vintage))
    return out


def cell_needs(source: str | list[str], namespace: dict[str, Any] | None = None
               ) -> list[Need] | None:
    """The needs of a cell (its first non-blank line), or ``None`` if it has no marker."""
    lines = source.splitlines() if isinstance(source, str) else source
    first = next((ln for ln in lines if ln.strip()), "")
    return parse_marker(first, namespace)


def missing(needs: list[Need]) -> dict[str, str]:
    """``{label: note}`` for every need that is not available here (empty: all are)."""
    from tradelib.data.load import missing_note

    out = {}
    for need in needs:
        note = missing_note(need.source, need.vintage)
        if note is not None:
            out[need.label] = note
    return out


def have(*labels: str) -> bool:
    """Whether every source named (``"census-duties"``, ``"census-country@2025-04"``) is
    available here; for prose that mentions optional results only when they exist."""
    return not missing(parse_labels(labels, _user_namespace(), context="needs.have"))


def skip_text(labels: list[str], notes: dict[str, str], explained: set[str]) -> str:
    """Markdown for a skipped cell: the full note for labels not yet ``explained``."""
    names = " and ".join(", ".join(f"`{lb}`" for lb in labels).rsplit(", ", 1))
    verb, it = ("is", "it") if len(labels) == 1 else ("are", "them")
    new = [lb for lb in labels if lb not in explained]
    if not new:
        return (f"*Skipped: this cell needs {names}, which {verb} not available here "
                "(see the note above).*")
    body = " ".join(f"{notes[lb][0].upper()}{notes[lb][1:]}" for lb in new)
    return (f"**Skipped: this cell needs {names}, which {verb} not available here.** {body} "
            f"The cells that do not need {it} still run.")


def show_skipped(labels: list[str], notes: dict[str, str]) -> None:
    """Display the note of a skipped cell (the code a marked cell is replaced by)."""
    from IPython.display import display

    text = skip_text(labels, notes, _explained)
    _explained.update(labels)
    payload = {"missing": labels}
    markdown = text.replace("<", "&lt;").replace(">", "&gt;")  # paths like .../<vintage>/
    display({"text/markdown": markdown, "text/plain": text, SKIP_MIME: payload}, raw=True)


def transform(lines: list[str]) -> list[str]:
    """IPython input transformer: a marked cell whose needs are missing becomes a note."""
    ns = _user_namespace()
    needs = cell_needs(lines, ns)
    if needs is None:
        return lines
    absent = missing(needs)
    if not absent:
        return lines
    labels = [n.label for n in needs if n.label in absent]
    return ["import tradelib.publish.needs as _tradelib_needs\n",
            f"_tradelib_needs.show_skipped({labels!r}, {absent!r})\n",
            "del _tradelib_needs\n"]


def _user_namespace() -> dict[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns


def enable(shell: Any = None) -> bool:
    """Read ``# needs:`` markers before each cell runs (idempotent). False outside IPython."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return False
    if transform not in shell.input_transformers_post:
        shell.input_transformers_post.append(transform)
    return True


def missing_labels(skipped: list[dict[str, Any]]) -> list[str]:
    """The sources (labels) missing in any of ``skipped`` (from :func:`read_skipped`), sorted."""
    return sorted({label for cell in skipped for label in cell["missing"]})


def read_skipped(notebook: Any) -> list[dict[str, Any]]:
    """The skipped cells of a saved notebook: ``[{"cell": index, "missing": [labels]}]``."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if not hasattr(notebook, "cells") else notebook
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            item = o.get("data", {}).get(SKIP_MIME)
            if item is not None:
                if isinstance(item, str):
                    item = json.loads(item)
                out.append({"cell": index, "missing": list(item.get("missing", []))})
    return out
