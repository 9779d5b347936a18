"""Re-executing each committed notebook reproduces the key numbers recorded in its outputs.

This is the only place where the test suite executes the real notebooks: each is executed once
(papermill, its own parameters, cwd = notebooks/) into a temporary folder, and that one execution
is used to check

* every ``report.record`` value stored in the committed notebook is reproduced (numbers within a
  relative tolerance of 1e-6 or an absolute one of 1e-9; everything else exactly) and no recorded
  name disappears or appears;
* the re-executed notebook has no error output and no output mentioning "Warning";
* the site rendered from the executed copies passes the page audit (in headless Chromium when
  installed: every page loads, every image has alt text, internal links resolve, nothing is
  loaded from the internet).

So a change in code, environment or data cannot silently change a published result. Marked
``slow`` and ``notebooks`` (leave it out with ``pytest -m "not slow"``). The data are fetched (from
the mirror when there is one) and built first, as ``python -m tradelib run`` does.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tradelib import config
from tradelib.publish import book, report, run, site, teach

NOTEBOOK_DIR = config.project_root() / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
REL, ABS = 1e-6, 1e-9

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` departs from ``expected`` (numbers within REL/ABS, recursively)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if math.isclose(expected, actual, rel_tol=REL, abs_tol=ABS):
            return []
        return [f"{path}: {actual!r} != {expected!r} (beyond rel {REL} / abs {ABS})"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        out += [f"{path}.{k}: new" for k in actual.keys() - expected.keys()]
        for k in expected.keys() & actual.keys():
            out += differences(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: length {len(actual)} != {len(expected)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


def test_differences_tolerance() -> None:
    assert differences({"a": 1.0, "b": [1, "x"]}, {"a": 1.0 + 1e-8, "b": [1, "x"]}) == []
    assert differences({"a": 1.0}, {"a": 1.001}) != []
    assert differences({"a": 0.0}, {"a": 1e-10}) == []
    assert differences({"a": 1, "b": 2}, {"a": 1, "c": 2}) == [".b: missing", ".c: new"]
    assert differences({"a": "2025-01"}, {"a": "2025-02"}) != []
    assert differences({"a": None}, {"a": None}) == []


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, run.NotebookResult]:
    """Execute every committed notebook once (its own parameters) into a temporary folder."""
    if not NOTEBOOKS:
        pytest.skip("no notebooks committed yet")
    from tradelib.data import fetch, load

    # as `python -m tradelib run` does: store and cache the data once, before notebooks run in
    # parallel (they would otherwise copy and build the same files at the same time)
    fetch.fetch_all()
    load.build_all()
    out = tmp_path_factory.mktemp("executed")
    plan = run.RunPlan(NOTEBOOKS, out, parameters={}, partner=run.DEFAULT_PARTNER, timeout=600)
    jobs = run.default_jobs()
    durations = run.previous_durations(run.default_output_dir() / run.slugify(run.DEFAULT_PARTNER))
    results = run.run_notebooks(plan, jobs=jobs, progress=False, durations=durations)
    return {r.notebook: r for r in results}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reexecution_reproduces_recorded_numbers(
    path: Path, executed: dict[str, run.NotebookResult]
) -> None:
    result = executed[path.name]
    assert result.status == "ok", result.message
    assert result.output is not None
    committed = report.read_metrics(path)
    assert committed, f"{path.name}: no report.record(...) outputs in the committed notebook"
    fresh_nb = nbformat.read(result.output, as_version=4)
    fresh = report.read_metrics(fresh_nb)
    diffs = differences(committed, fresh)
    assert diffs == [], f"{path.name}: recorded numbers changed on re-execution:\n" + "\n".join(
        diffs
    )
    assert teach.output_problems(fresh_nb) == []


def test_site_from_executed_notebooks(
    executed: dict[str, run.NotebookResult], tmp_path: Path
) -> None:
    folder = Path(next(iter(executed.values())).output or "").parent
    # the Jupyter Book (issue 15); draft findings page until the notebooks record findings
    allow = not any(report.read_findings(r.output) for r in executed.values() if r.output)
    built = book.build_book(
        folder, tmp_path / "site", partner=run.DEFAULT_PARTNER, allow_no_findings=allow
    )
    ok = [r for r in executed.values() if r.status == "ok"]
    names = {str(p.relative_to(built.site_dir)) for p in built.pages}
    assert {"index.html", "findings.html", "exercises.html", "provenance.html"} <= names
    assert {f"notebooks/{Path(r.notebook).stem}.html" for r in ok} <= names
    browser = site.find_browser()
    if browser is None and os.environ.get("CI"):
        pytest.fail("CI is set but Chromium is not installed (apt-get install -y chromium)")
    assert site.audit_site(tmp_path / "site", browser) == []
    if browser:
        assert site.search_hits(tmp_path / "site", "tariff", browser)
