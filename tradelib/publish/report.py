"""Computed prose and recorded key numbers for notebooks.

Every number that appears in a notebook's prose is produced by code. ``md`` renders a Markdown
string (built with an f-string from computed values) as a cell output; ``record`` stores a key
result in the cell output's metadata so that ``tests/test_output_regression.py`` can compare a
re-execution against the committed notebook.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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


def record(
    name: str,
    value: Any,
    *,
    display_output: bool = True,
    finding: str | None = None,
    uncertainty: str | None = None,
    vintage: str | None = None,
    tolerance: Mapping[str, float] | None = None,
) -> Any:
    """Record a key result under ``name`` in the notebook output and return ``value``.

    The value is shown as a short line of text and stored under the ``METRIC_MIME`` mime type,
    which :func:`read_metrics` reads back from a saved notebook.

    A headline result also passes ``finding`` (one sentence, built with an f-string from computed
    values), ``uncertainty`` (its interval or calibrated p-value, as text) and ``vintage`` (the
    data vintage it used); :func:`read_findings` collects these for the findings page, with a
    link to the cell. ``tolerance`` (``{"abs": ..}`` and/or ``{"rel": ..}``) is how far a
    re-execution on another machine may move the value (see tests/test_output_regression.py).
    """
    plain = _plain(value)
    payload: dict[str, Any] = {"name": name, "value": plain}
    if finding is not None:
        if not isinstance(finding, str) or not finding.strip():
            raise ValueError(f"report.record({name!r}): finding must be a non-empty sentence")
        payload["finding"] = finding.strip()
        payload["uncertainty"] = uncertainty
        payload["vintage"] = vintage
    if tolerance is not None:
        bad = set(tolerance) - {"abs", "rel"}
        if bad or any(float(v) < 0 for v in tolerance.values()):
            raise ValueError(f"report.record({name!r}): tolerance takes non-negative 'abs'/'rel'")
        payload["tolerance"] = {k: float(v) for k, v in tolerance.items()}
    json.dumps(payload)  # fail early on values a notebook file cannot hold
    if display_output:
        try:
            from IPython.display import display
        except ImportError:  # pragma: no cover
            return value
        text = f"{name} = {plain!r}"
        display({METRIC_MIME: payload, "text/plain": text}, raw=True)
    return value


def read_metrics(notebook: Any) -> dict[str, Any]:
    """Return ``{name: value}`` for every ``record`` output in a notebook (path or NotebookNode)."""
    return {item["name"]: item["value"] for _, _, item in _metric_items(notebook)}


def _metric_items(notebook: Any):
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if not hasattr(notebook, "cells") else notebook
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if METRIC_MIME in data:
                item = data[METRIC_MIME]
                if isinstance(item, str):
                    item = json.loads(item)
                yield index, cell, item


def read_records(notebook: Any) -> dict[str, dict[str, Any]]:
    """Every ``record`` payload in a notebook, by name (value, finding, tolerance, ...)."""
    return {item["name"]: dict(item) for _, _, item in _metric_items(notebook)}


def read_findings(notebook: Any) -> list[dict[str, Any]]:
    """The headline results of a notebook: records made with ``finding=...``, in cell order.

    Each dict has ``name``, ``value``, ``finding``, ``uncertainty``, ``vintage``, ``cell`` (the
    index of the code cell that recorded it) and ``cell_id`` (its nbformat id, for links).
    """
    out = []
    for index, cell, item in _metric_items(notebook):
        if "finding" in item:
            out.append({**item, "cell": index, "cell_id": cell.get("id")})
    return out
