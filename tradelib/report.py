"""Computed prose and recorded key numbers for notebooks.

Every number that appears in a notebook's prose is produced by code. ``md`` renders a Markdown
string (built with an f-string from computed values) as a cell output; ``record`` stores a key
result in the cell output's metadata so that ``tests/test_output_regression.py`` can compare a
re-execution against the committed notebook.
"""

from __future__ import annotations

import json
import math
from typing import Any

METRIC_MIME = "application/vnd.tradelib.metric+json"


def md(text: str) -> None:
    """Display ``text`` as Markdown in a notebook (prints it outside IPython)."""
    try:
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency
        print(text)
        return
    display(Markdown(text))


def _plain(value: Any) -> Any:
    """Convert numpy / pandas scalars to JSON-serialisable Python values."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(name: str, value: Any, *, display_output: bool = True) -> Any:
    """Record a key result under ``name`` in the notebook output and return ``value``.

    The value is shown as a short line of text and stored under the ``METRIC_MIME`` mime type,
    which ``tradelib.report.read_metrics`` reads back from a saved notebook.
    """
    plain = _plain(value)
    json.dumps(plain)  # fail early on values a notebook file cannot hold
    if display_output:
        try:
            from IPython.display import display
        except ImportError:  # pragma: no cover
            return value
        display(
            {METRIC_MIME: {"name": name, "value": plain}, "text/plain": f"{name} = {plain!r}"},
            raw=True,
        )
    return value


def read_metrics(notebook: Any) -> dict[str, Any]:
    """Return ``{name: value}`` for every ``record`` output in a notebook (path or NotebookNode)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if not hasattr(notebook, "cells") else notebook
    out: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if METRIC_MIME in data:
                item = data[METRIC_MIME]
                if isinstance(item, str):
                    item = json.loads(item)
                out[item["name"]] = item["value"]
    return out
