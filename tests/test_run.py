"""The run pipeline: partners, parameters, ordering, skipping, failure reports, summary.

Orchestration is tested with a fake executor (no kernel). One test executes two tiny synthetic
notebooks through papermill and the command line, end to end, to prove the integration.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tradelib import cli
from tradelib.errors import TradelibError
from tradelib.publish import report, run, site


def _nb(body: str, *, partner_specific: str | None = None) -> nbformat.NotebookNode:
    """A tiny notebook: title, parameters cell, then ``body`` (one code cell per paragraph)."""
    params = new_code_cell('PARTNER = "Mexico"\nSTART = "2010-01"\nEND = None\nVINTAGE = "latest"')
    params.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell("# 00 · Tiny\n\n**Question** Does the runner work?"), params]
    cells += [new_code_cell(block) for block in body.split("\n\n")]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if partner_specific:
        nb.metadata["tradelib"] = {"partner_specific": partner_specific}
    return nb


def _write(folder: Path, name: str, nb: nbformat.NotebookNode) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / name))
    return folder / name


def test_slugs_and_parameters() -> None:
    assert run.slugify("Korea, South") == "korea-south"
    with pytest.raises(TradelibError, match="cannot make a folder name"):
        run.slugify(" ,, ")
    assert run.build_parameters("Canada", None, None, None) == {"PARTNER": "Canada"}
    assert run.build_parameters("China", "2015-01", "none", "2025-04") == {
        "PARTNER": "China",
        "START": "2015-01",
        "END": None,
        "VINTAGE": "2025-04",
    }


def test_partner_codes_resolve_when_the_data_layer_is_there() -> None:
    import tradelib

    if not hasattr(tradelib, "partner_code"):
        pytest.skip("tradelib.partner_code not available yet")
    assert run.partner_slug("1220") == run.partner_slug("Canada") == "canada"
    assert run.partner_slug(5700) == "china"
    assert run.same_partner("2010", "Mexico") and not run.same_partner("Canada", "Mexico")


def test_list_notebooks_in_order_and_filtered(tmp_path: Path) -> None:
    for name in ("03_c.ipynb", "01_a.ipynb", "02_b.ipynb", ".hidden.ipynb"):
        _write(tmp_path, name, _nb("x = 1"))
    assert [p.name for p in run.list_notebooks(tmp_path)] == [
        "01_a.ipynb",
        "02_b.ipynb",
        "03_c.ipynb",
    ]
    assert [p.name for p in run.list_notebooks(tmp_path, ["02", "03_"])] == [
        "02_b.ipynb",
        "03_c.ipynb",
    ]
    with pytest.raises(run.NotebookRunError, match="no such folder"):
        run.list_notebooks(tmp_path / "absent")


def test_partner_specific_notebook_is_skipped(tmp_path: Path) -> None:
    from tradelib.publish.outdir import OwnedDir

    src = _write(tmp_path / "nb", "05_fact.ipynb", _nb("x = 1", partner_specific="Mexico"))
    owned = OwnedDir.claim(tmp_path / "out", command="run")
    stale = owned.write_text("05_fact.ipynb", nbformat.writes(_nb("old = 1")))
    plan = run.RunPlan([src], tmp_path / "out", {"PARTNER": "Canada"}, partner="Canada")
    res = run.run_one(src, plan)
    assert res.status == "skipped" and res.seconds == 0.0
    assert "specific to Mexico" in res.message and "skipped for Canada" in res.message
    assert not stale.exists(), "an output from an earlier run must not survive a skip"


def test_describe_failure_names_notebook_cell_and_source(tmp_path: Path) -> None:
    src = _write(tmp_path, "04_reg.ipynb", _nb("a = 1\n\nb = 1 / 0\nc = 2"))

    class FakeError(Exception):
        source = "b = 1 / 0\nc = 2"
        exec_count = 3
        ename = "ZeroDivisionError"
        evalue = "division by zero"

    message, index = run.describe_failure(src, FakeError())
    assert index == 3
    assert message.startswith(
        "04_reg.ipynb, cell 3 (In [3] in the executed copy): ZeroDivisionError: division by zero"
    )
    assert "source: b = 1 / 0 | c = 2" in message


def _fake_runner(src: Path, plan: run.RunPlan) -> run.NotebookResult:
    """Picklable stand-in for run_one: fails notebooks whose name contains 'bad'."""
    status = "failed" if "bad" in src.name else "ok"
    return run.NotebookResult(src.name, status, 0.5, message="boom" if status == "failed" else "")


def test_run_notebooks_keeps_order_and_summarises(tmp_path: Path) -> None:
    paths = [
        _write(tmp_path, n, _nb("x = 1")) for n in ("01_a.ipynb", "02_bad.ipynb", "03_c.ipynb")
    ]
    plan = run.RunPlan(paths, tmp_path / "out")
    results = run.run_notebooks(plan, progress=False, runner=_fake_runner)
    assert [(r.notebook, r.status) for r in results] == [
        ("01_a.ipynb", "ok"),
        ("02_bad.ipynb", "failed"),
        ("03_c.ipynb", "ok"),
    ]
    table = run.summary_table(results)
    assert table.splitlines()[0].split() == ["notebook", "seconds", "status"]
    assert "02_bad.ipynb       0.5  failed" in table
    assert "total" in table and "1.5" in table and table.rstrip().endswith("boom")
    summary = run.write_summary(tmp_path / "out", results, {"PARTNER": "Mexico"}, "Mexico")
    assert json.loads(summary.read_text())["results"][1]["status"] == "failed"


def test_default_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELIB_JOBS", "3")
    assert run.default_jobs() == 3
    monkeypatch.setenv("TRADELIB_JOBS", "many")
    with pytest.raises(TradelibError, match="TRADELIB_JOBS='many' is not a whole number"):
        run.default_jobs()
    monkeypatch.delenv("TRADELIB_JOBS")
    assert 1 <= run.default_jobs() <= 2


def test_longest_first_uses_previous_durations(tmp_path: Path) -> None:
    paths = [tmp_path / n for n in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb", "04_d.ipynb")]
    results = [
        run.NotebookResult("01_a.ipynb", "ok", 10.0),
        run.NotebookResult("02_b.ipynb", "ok", 30.0),
        run.NotebookResult("03_c.ipynb", "failed", 99.0),  # failures say nothing about duration
    ]
    run.write_summary(tmp_path, results, {}, "Mexico")
    durations = run.previous_durations(tmp_path)
    assert durations == {"01_a.ipynb": 10.0, "02_b.ipynb": 30.0}
    order = [p.name for p in run.longest_first(paths, durations)]
    assert order == ["03_c.ipynb", "04_d.ipynb", "02_b.ipynb", "01_a.ipynb"]
    assert run.previous_durations(tmp_path / "absent") == {}


def test_fetch_each_skips_failing_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tradelib.data import fetch
    from tradelib.data.sources import SOURCES
    from tradelib.errors import FetchError

    calls: list[str] = []

    def fake_fetch_all(*, mirror: str | None = None, sources: list[str]) -> list:
        calls.extend(sources)
        if sources == ["census-duties"]:
            raise FetchError("census-duties: CENSUS_API_KEY is not set")
        return []

    monkeypatch.setattr(fetch, "fetch_all", fake_fetch_all)
    assert run.fetch_each(None) == {"census-duties": "census-duties: CENSUS_API_KEY is not set"}
    assert calls == list(SOURCES)
    assert "fetch: census-duties skipped" in capsys.readouterr().err

    def always_fails(*, mirror: str | None = None, sources: list[str]) -> list:
        raise FetchError(f"{sources[0]}: offline")

    monkeypatch.setattr(fetch, "fetch_all", always_fails)
    with pytest.raises(TradelibError, match="no source could be fetched"):
        run.fetch_each("/no/mirror")


def test_remove_orphans(tmp_path: Path) -> None:
    from tradelib.publish.outdir import OwnedDir

    owned = OwnedDir.claim(tmp_path / "out", command="run")
    keep = owned.write_text("01_a.ipynb", nbformat.writes(_nb("x = 1")))
    gone = owned.write_text("00_renamed.ipynb", nbformat.writes(_nb("x = 1")))
    theirs = _write(tmp_path / "out", "99_users_own.ipynb", _nb("x = 1"))
    src = [tmp_path / "nb" / "01_a.ipynb"]
    assert run.remove_orphans(tmp_path / "out", src) == [gone]
    assert keep.exists() and not gone.exists()
    assert theirs.exists()  # not written by run: never deleted


def test_inplace_refuses_other_partners() -> None:
    parser = cli._build_parser()
    for extra in (["--partner", "Canada"], ["--start", "2020-01"]):
        args = parser.parse_args(["run", "--inplace", "--no-fetch", "--no-build", *extra])
        with pytest.raises(TradelibError, match="--inplace refreshes the committed notebooks"):
            run.main(args)


def test_end_to_end_with_papermill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two real executions: parameters injected, failure located, summary and site written."""
    monkeypatch.setenv("TRADELIB_ALLOW_NO_FINDINGS", "1")  # these notebooks record no finding
    from tradelib.publish import book

    monkeypatch.setattr(book, "default_cache_dir", lambda d: tmp_path / "book-cache")
    nb_dir = tmp_path / "notebooks"
    ok = _nb(
        "from tradelib import report\n\n"
        "report.record('partner', PARTNER)\nreport.record('start', START)"
    )
    _write(nb_dir, "01_ok.ipynb", ok)
    _write(nb_dir, "02_fails.ipynb", _nb("a = 1\n\nraise ValueError('bad month ' + PARTNER)"))
    _write(nb_dir, "03_mexico_only.ipynb", _nb("x = 1", partner_specific="Mexico"))
    out, site_dir = tmp_path / "output", tmp_path / "site"
    argv = [
        "run", "--partner", "Canada", "--start", "2015-01", "--no-fetch", "--no-build",
        "--no-progress", "--notebooks", str(nb_dir), "--out", str(out), "--site-dir", str(site_dir),
    ]  # fmt: skip
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 1
    slug = run.partner_slug("Canada")
    assert report.read_metrics(out / slug / "01_ok.ipynb") == {
        "partner": "Canada",
        "start": "2015-01",
    }
    # cell 3 of the source notebook; In [4] because papermill adds the injected-parameters cell
    assert "02_fails.ipynb, cell 3 (In [4] in the executed copy): ValueError: bad month Canada" in (
        captured.out
    )
    assert "source: raise ValueError('bad month ' + PARTNER)" in captured.out
    assert (
        "03_mexico_only.ipynb is specific to Mexico by nature; skipped for Canada" in captured.out
    )
    assert "02_fails.ipynb" in captured.err  # named again in the closing error line
    assert not (out / slug / "03_mexico_only.ipynb").exists()
    # the committed (source) notebooks are untouched
    assert nbformat.read(str(nb_dir / "01_ok.ipynb"), as_version=4).cells[2].outputs == []
    summary = json.loads((out / slug / site.SUMMARY_FILE).read_text())
    assert [r["status"] for r in summary["results"]] == ["ok", "failed", "skipped"]
    assert summary["parameters"] == {"PARTNER": "Canada", "START": "2015-01"}
    assert summary["complete"] is False and summary["incomplete_notebooks"] == ["02_fails.ipynb"]
    # a failed notebook: no site from an incomplete set, and run says so
    assert not (site_dir / "index.html").exists()
    assert "site: not rebuilt" in captured.err and "02_fails.ipynb" in captured.err
    # once the notebook is fixed, the set is complete and the book is built
    _write(nb_dir, "02_fails.ipynb", _nb("a = 1"))
    assert cli.main(argv) == 0
    assert run.verify_executed(out / slug, nb_dir) == []
    index = (site_dir / "index.html").read_text(encoding="utf-8")  # the book (issue 15)
    assert "This edition is run for <strong>Canada</strong>" in index
    assert (site_dir / "notebooks" / "01_ok.html").is_file()
    assert (site_dir / "notebooks" / "02_fails.html").is_file()
    assert (site_dir / "03_mexico_only.html").is_file()  # stands for the skipped notebook


def test_inplace_refreshes_committed_copies(tmp_path: Path) -> None:
    """--inplace: outputs written into the notebook itself, counts 1..n, failure located."""
    good = _write(tmp_path, "01_good.ipynb", _nb("y = 2\n\nprint(PARTNER, y)"))
    bad = _write(tmp_path, "02_bad.ipynb", _nb("z = 1\n\nz.missing_attribute"))
    committed = bad.read_bytes()
    plan = run.RunPlan([good, bad], None, partner="Mexico", inplace=True, timeout=60)
    results = run.run_notebooks(plan, jobs=1, progress=False)
    assert [r.status for r in results] == ["ok", "failed"]
    nb = nbformat.read(str(good), as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3]
    assert nb.cells[3].outputs[0]["text"] == "Mexico 2\n"
    assert "papermill" not in nb.metadata and "injected-parameters" not in str(nb)
    assert results[1].cell_index == 3
    assert "02_bad.ipynb, cell 3" in results[1].message and "AttributeError" in results[1].message
    # the failing notebook is left exactly as committed (issue 11, item 2)
    assert bad.read_bytes() == committed


def test_benchmark_reads_the_run_summary() -> None:
    """bench/bench_run.py parses what `run` prints; keep the two in step."""
    import importlib.util

    from tradelib import config

    spec = importlib.util.spec_from_file_location(
        "bench_run", config.project_root() / "bench" / "bench_run.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = [
        run.NotebookResult("01_a.ipynb", "ok", 12.34),
        run.NotebookResult("05_fact.ipynb", "skipped", message="specific to Mexico"),
    ]
    stdout = (
        run.summary_table(results)
        + "\nsite: 3 pages in site, built in 4.2 s (open site/index.html)\nelapsed: 20.5 s\n"
    )
    notebooks, elapsed = bench.parse_run_output(stdout)
    assert notebooks == {
        "01_a.ipynb": {"seconds": 12.3, "status": "ok"},
        "05_fact.ipynb": {"seconds": None, "status": "skipped"},
    }
    assert elapsed == 20.5
    row = {"total_seconds": 30.0, "data_seconds": 9.5, "notebooks_and_site_seconds": 20.5}
    table = bench.report({"cold": row | {"notebooks": notebooks}, "warm": row | {"notebooks": {}}})
    assert "warm run 30.0 s meets the 60 s target" in table  # issue 15: 60 s
    assert bench.parse_book_seconds(stdout) == 4.2


def test_record_findings_and_tolerance_round_trip():
    import nbformat

    from tradelib.publish import report as rp

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    payload = {"name": "a", "value": 1.5, "finding": "A is 1.5.", "uncertainty": "±0.1",
               "vintage": "2026-10", "tolerance": {"abs": 0.01}}
    cell.outputs = [nbformat.v4.new_output("display_data", data={rp.METRIC_MIME: payload})]
    nb.cells = [nbformat.v4.new_markdown_cell("m"), cell]
    assert rp.read_metrics(nb) == {"a": 1.5}
    assert rp.read_records(nb)["a"]["tolerance"] == {"abs": 0.01}
    f = rp.read_findings(nb)
    assert len(f) == 1 and f[0]["cell"] == 1 and f[0]["finding"] == "A is 1.5."
    import pytest as _pytest

    with _pytest.raises(ValueError):
        rp.record("b", 1, finding="  ", display_output=False)
    with _pytest.raises(ValueError):
        rp.record("b", 1, tolerance={"abs": -1}, display_output=False)


def test_one_bad_source_does_not_block_the_build(monkeypatch, capsys) -> None:
    """Issue 11 item 10: one source that cannot be built used to stop the whole run."""
    from tradelib.data import load
    from tradelib.data.sources import SOURCES
    from tradelib.errors import ValidationError

    built: list[str] = []

    def fake_build_all(sources, force=False):
        if sources == ["fred-INDPRO"]:
            raise ValidationError("INDPRO.csv: validation failed")
        built.extend(sources)
        return []

    monkeypatch.setattr(load, "build_all", fake_build_all)
    assert run.build_each() == {"fred-INDPRO": "INDPRO.csv: validation failed"}
    assert built == [s for s in SOURCES if s != "fred-INDPRO"]
    assert "build: fred-INDPRO skipped: INDPRO.csv" in capsys.readouterr().err


def test_kernels_are_not_interrupted_while_shutting_down(monkeypatch):
    """jupyter_client's SIGINT before a shutdown made ipykernel 7 log 'ERROR | KeyboardInterrupt
    caught in kernel' after notebooks that had finished; interrupts at other times still go."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    calls: list[bool] = []

    async def parent_interrupt(self) -> None:
        calls.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", parent_interrupt)
    km = run.quiet_shutdown_kernel_manager()()
    asyncio.run(km.interrupt_kernel())
    km.shutting_down = True
    asyncio.run(km._async_interrupt_kernel())
    asyncio.run(km.interrupt_kernel())
    assert calls == [False]
