"""Provenance of a run: software, BLAS library and kernel, platform and data vintages."""

from __future__ import annotations

import json
import platform

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tradelib.data import fetch
from tradelib.data.sources import DataRelease, ReleaseFile
from tradelib.publish import provenance, run


def test_collect_records_python_packages_blas_and_platform():
    prov = provenance.collect()
    json.dumps(prov)  # stored in run-summary.json
    assert prov["python"]["version"] == platform.python_version()
    assert prov["platform"]["machine"] == platform.machine()
    assert prov["packages"]["numpy"] == np.__version__
    assert prov["packages"]["tradelib"]
    for name in ("pandas", "statsmodels", "scipy", "threadpoolctl"):
        assert prov["packages"][name], name
    blas = [b for b in prov["blas"] if b["user_api"] == "blas"]
    assert blas, "numpy's BLAS library was not found by threadpoolctl"
    loaded = {(i["internal_api"], i.get("architecture")) for i in threadpool_info()
              if i["user_api"] == "blas"}
    assert {(b["internal_api"], b["kernel"]) for b in blas} <= loaded
    assert all(b["library"] and b["version"] for b in blas)


def test_blas_environment_variables_are_recorded(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    env = provenance.blas_environment()
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert "OPENBLAS_CORETYPE" not in env


def test_data_vintages_and_matching_release(tiny_mirror, monkeypatch):
    fetch.fetch_all(sources=["fred-INDPRO", "census-duties"])
    data = provenance.data_info()
    assert data["vintages"] == {"census-duties": ["2026-01"], "fred-INDPRO": ["2026-01"]}
    assert {f["file"] for f in data["files"]} == {"INDPRO.csv",
                                                  "mexico_calculated_duties_monthly.csv"}
    assert all(len(f["sha256"]) == 64 for f in data["files"])
    assert data["release"] is None
    rows = fetch.read_manifest()
    files = tuple(ReleaseFile(r["source_id"], r["vintage"], r["file"], r["sha256"],
                              int(r["size_bytes"])) for r in rows)
    rel = DataRelease("2026-01", "tradelib-data-2026-01.tar.gz", "https://x.invalid/a", files)
    monkeypatch.setattr("tradelib.data.sources.data_releases", lambda: {"2026-01": rel})
    assert provenance.data_info()["release"] == "2026-01"
    changed = DataRelease("2026-01", rel.archive, rel.url,
                          (ReleaseFile(files[0].source_id, files[0].vintage, files[0].file,
                                       "0" * 64, 1), *files[1:]))
    monkeypatch.setattr("tradelib.data.sources.data_releases", lambda: {"2026-01": changed})
    assert provenance.data_info()["release"] is None


def test_code_info_in_the_checkout():
    code = provenance.code_info()
    assert code["in_checkout"] is True
    assert code["lock_sha256"] and len(code["lock_sha256"]) == 64
    if code["git_commit"] is not None:  # a source tarball has no .git
        assert len(code["git_commit"]) == 40


def test_run_summary_carries_provenance(tmp_path, data_home):
    results = [run.NotebookResult("01_data.ipynb", "ok", 1.5, "x")]
    path = run.write_summary(tmp_path, results, {"PARTNER": "Mexico"}, "Mexico")
    payload = json.loads(path.read_text())
    assert payload["results"][0]["notebook"] == "01_data.ipynb"
    prov = payload["provenance"]
    assert set(prov) >= {"python", "platform", "packages", "blas", "environment", "data", "code"}
    assert prov["data"]["data_dir"] == str(data_home.resolve())
    lines = provenance.summary_lines(prov)
    assert lines[0].startswith(f"Python {platform.python_version()}")
    assert any(line.startswith("BLAS: ") and "openblas" in line.lower() for line in lines) or \
        pytest.skip("numpy is not linked to OpenBLAS here")
