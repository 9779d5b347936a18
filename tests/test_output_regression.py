"""Re-executing each committed notebook reproduces the key numbers recorded in its outputs.

This is the only place where the test suite executes the real notebooks: each is executed once
(papermill, its own parameters, cwd = notebooks/) into a temporary folder, and that one execution
is used to check

* every ``report.record`` value stored in the committed notebook is reproduced and no recorded
  name disappears or appears. Numbers are compared within the tolerance the notebook recorded
  with the value (``report.record(..., tolerance={"abs": .., "rel": ..})``: how far another
  machine or BLAS kernel may move it, justified by the precision it is reported at and the
  spread measured across OpenBLAS kernels, see ``bench/kernel_spread.py``); a float recorded
  without one may move by one unit in the last decimal it was recorded with (``-0.7625`` by
  0.0001, ``209.5`` by 0.1: a rounding flip, never a change of what is reported), and never
  less than a relative 1e-6 or an absolute 1e-9. Integers, strings and booleans must match
  exactly.
* the re-executed notebook has no error output and no output mentioning "Warning";
* the site rendered from the executed copies passes the page audit (in headless Chromium when
  installed: every page loads, every image has alt text, internal links resolve, nothing is
  loaded from the internet).

So a change in code, environment or data cannot silently change a published result. The tests
that execute notebooks are marked ``slow`` and ``notebooks`` (leave them out with
``pytest -m "not slow"``); the tests of the comparison itself are fast. The data are fetched (from
the mirror when there is one) and built first, as ``python -m tradelib run`` does.
"""

from __future__ import annotations

import decimal
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



def last_unit(value: float) -> float:
    """One unit in the last decimal of ``value`` as recorded (``0.45`` -> 0.01, ``1e-05`` ->
    1e-05, ``-197033.3`` -> 0.1); an unrounded float gets its own tiny last digit."""
    exponent = decimal.Decimal(repr(float(value))).as_tuple().exponent
    return 10.0 ** min(int(exponent), 0) if isinstance(exponent, int) else 0.0


def differences(
    expected: Any, actual: Any, path: str = "", rel: float = REL, abs_: float | None = ABS
) -> list[str]:
    """Where ``actual`` departs from ``expected`` (numbers within rel/abs_, recursively).

    ``abs_=None``: a float may move by one unit in its last recorded decimal (at least ABS).
    """
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, int) and isinstance(actual, int) and abs_ is None:
        return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        a = abs_ if abs_ is not None else max(ABS, last_unit(expected) * (1 + 1e-9))
        if math.isclose(expected, actual, rel_tol=rel, abs_tol=a):
            return []
        return [f"{path}: {actual!r} != {expected!r} (beyond rel {rel} / abs {a:g})"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        out += [f"{path}.{k}: new" for k in actual.keys() - expected.keys()]
        for k in expected.keys() & actual.keys():
            out += differences(expected[k], actual[k], f"{path}.{k}", rel, abs_)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: length {len(actual)} != {len(expected)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual))
            for d in differences(e, a, f"{path}[{i}]", rel, abs_)
        ]
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


def tolerance(payload: dict[str, Any]) -> tuple[float, float | None]:
    """(rel, abs) for one record: its stored ``tolerance`` where given, else the default rel and
    ``None`` (one unit in the last recorded decimal of a float, see :func:`differences`)."""
    tol = payload.get("tolerance")
    if not tol:
        return REL, None
    return float(tol.get("rel", REL)), float(tol.get("abs", ABS))


def record_differences(
    committed: dict[str, dict[str, Any]], fresh: dict[str, dict[str, Any]]
) -> list[str]:
    """Compare ``report.read_records`` of the committed and the re-executed notebook.

    Each value is compared within the tolerance stored with the committed record (the published
    value is the reference); names that disappear or appear are differences too.
    """
    out = [f".{k}: missing" for k in sorted(committed.keys() - fresh.keys())]
    out += [f".{k}: new" for k in sorted(fresh.keys() - committed.keys())]
    for name in sorted(committed.keys() & fresh.keys()):
        rel, abs_ = tolerance(committed[name])
        out += differences(committed[name]["value"], fresh[name]["value"], f".{name}", rel, abs_)
    return out


def test_default_tolerance_is_one_unit_in_the_last_recorded_decimal() -> None:
    assert last_unit(-0.7625) == 1e-4 and last_unit(209.5) == 0.1 and last_unit(16.0) == 0.1
    assert last_unit(1e-05) == 1e-05 and last_unit(2.0 / 3.0) < 1e-15
    assert differences(0.45, 0.46, abs_=None) == []          # a rounding flip in the last digit
    assert differences(0.45, 0.47, abs_=None) != []          # two units: a real change
    assert differences(-0.7625, -0.7626, abs_=None) == []
    assert differences(-0.7625, -0.7627, abs_=None) != []
    assert differences(2.0 / 3.0, 2.0 / 3.0 + 1e-5, abs_=None) != []  # unrounded: rel 1e-6 only
    assert differences(2025, 2026, abs_=None) != []          # integers exactly
    assert differences({"a": [0.12, 3]}, {"a": [0.13, 3]}, abs_=None) == []
    committed = {"x": {"value": 0.45}, "y": {"value": 0.45, "tolerance": {"abs": 0.0}}}
    fresh = {"x": {"value": 0.46}, "y": {"value": 0.46}}
    assert record_differences(committed, fresh) == [".y: 0.46 != 0.45 (beyond rel 1e-06 / abs 0)"]


def test_differences_tolerance() -> None:
    assert differences({"a": 1.0, "b": [1, "x"]}, {"a": 1.0 + 1e-8, "b": [1, "x"]}) == []
    assert differences({"a": 1.0}, {"a": 1.001}) != []
    assert differences({"a": 0.0}, {"a": 1e-10}) == []
    assert differences({"a": 1, "b": 2}, {"a": 1, "c": 2}) == [".b: missing", ".c: new"]
    assert differences({"a": "2025-01"}, {"a": "2025-02"}) != []
    assert differences({"a": None}, {"a": None}) == []
    assert differences(1.0, 1.004, rel=0, abs_=5e-3) == []
    assert differences([1.0], [1.006], rel=0, abs_=5e-3) != []


def _notebook_with_records(*records: dict[str, Any]) -> Any:
    """A notebook whose one code cell holds ``report.record`` outputs with these payloads."""
    from nbformat import v4

    cell = v4.new_code_cell("report.record(...)")
    cell.outputs = [
        v4.new_output("display_data", data={report.METRIC_MIME: r, "text/plain": r["name"]})
        for r in records
    ]
    return v4.new_notebook(cells=[cell])


def test_per_metric_tolerance_from_the_recorded_payload() -> None:
    committed = report.read_records(
        _notebook_with_records(
            {"name": "mase", "value": 0.994, "tolerance": {"abs": 0.005}},
            {"name": "scenario_bn", "value": -291.68, "tolerance": {"rel": 1e-4}},
            {"name": "count", "value": 12},
        )
    )
    assert tolerance(committed["mase"]) == (REL, 0.005)
    assert tolerance(committed["count"]) == (REL, None)  # one unit in the last decimal

    def fresh(mase: float, scen: float, count: int) -> dict[str, dict[str, Any]]:
        return report.read_records(
            _notebook_with_records(
                {"name": "mase", "value": mase},
                {"name": "scenario_bn", "value": scen},
                {"name": "count", "value": count},
            )
        )

    # the Haswell-vs-SkylakeX differences pass within the recorded tolerances ...
    assert record_differences(committed, fresh(0.996, -291.69, 12)) == []
    # ... but a move beyond a recorded tolerance, or of an untoleranced value, still fails
    assert record_differences(committed, fresh(1.000, -291.69, 12)) == [
        ".mase: 1.0 != 0.994 (beyond rel 1e-06 / abs 0.005)"
    ]
    assert record_differences(committed, fresh(0.994, -291.75, 12)) != []
    assert record_differences(committed, fresh(0.994, -291.68, 13)) != []
    # the committed notebook's tolerance is the reference: the fresh one cannot loosen it
    loose = report.read_records(
        _notebook_with_records(
            {"name": "mase", "value": 0.9, "tolerance": {"abs": 1.0}},
            {"name": "scenario_bn", "value": -291.68},
            {"name": "count", "value": 12},
        )
    )
    assert record_differences(committed, loose) != []
    del loose["count"]
    assert ".count: missing" in record_differences(committed, loose)


def test_record_rejects_a_bad_tolerance() -> None:
    with pytest.raises(ValueError):
        report.record("x", 1.0, tolerance={"absolute": 0.1}, display_output=False)
    with pytest.raises(ValueError):
        report.record("x", 1.0, tolerance={"abs": -0.1}, display_output=False)


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


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reexecution_reproduces_recorded_numbers(
    path: Path, executed: dict[str, run.NotebookResult]
) -> None:
    result = executed[path.name]
    assert result.status == "ok", result.message
    assert result.output is not None
    committed = report.read_records(path)
    assert committed, f"{path.name}: no report.record(...) outputs in the committed notebook"
    fresh_nb = nbformat.read(result.output, as_version=4)
    fresh = report.read_records(fresh_nb)
    diffs = record_differences(committed, fresh)
    assert diffs == [], f"{path.name}: recorded numbers changed on re-execution:\n" + "\n".join(
        diffs
    )
    assert teach.output_problems(fresh_nb) == []


@pytest.mark.slow
@pytest.mark.notebooks
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
    # findings are sentences with dollar amounts: none may be rendered as a formula
    assert "math notranslate" not in (tmp_path / "site" / "findings.html").read_text("utf-8")
    if browser:
        assert site.search_hits(tmp_path / "site", "tariff", browser)
