"""Optional sources never kill a notebook (issue 10 item 6): ``# needs:`` markers.

Unit tests of the marker parser, the availability note and the IPython transformer on the tiny
mirror; a static check that every committed notebook cell reading an optional source carries
the marker; and, slow, every notebook run end to end against a mirror holding only what an
online user without ``CENSUS_API_KEY`` can download (tests/partial_mirror.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tradelib.data import load
from tradelib.publish import needs

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------- parsing

def test_a_cell_without_marker_has_no_needs():
    assert needs.cell_needs("x = 1\n# needs: census-duties\n") is None
    assert needs.cell_needs("") is None


def test_marker_names_sources_and_vintages():
    got = needs.cell_needs("\n# needs: census-duties, census-country@2025-04\nx = 1")
    assert got == [needs.Need("census-duties"), needs.Need("census-country", "2025-04")]
    assert [n.label for n in got] == ["census-duties", "census-country@2025-04"]


def test_a_vintage_variable_is_read_from_the_notebook():
    got = needs.parse_marker("#needs: census-country@OLD", {"OLD": "2025-04"})
    assert got == [needs.Need("census-country", "2025-04")]
    with pytest.raises(ValueError, match="OLD is not defined"):
        needs.parse_marker("# needs: census-country@OLD", {})


@pytest.mark.parametrize("line, message", [
    ("# needs: census-dutie", "unknown source 'census-dutie'"),
    ("# needs:  ", "names no source"),
    ("# needs: ,", "names no source"),
])
def test_bad_markers_are_errors_not_missing_data(line, message):
    with pytest.raises(ValueError, match=message):
        needs.parse_marker(line)


# --------------------------------------------------------------------------- availability

def test_missing_note_says_what_is_there_and_how_to_get_the_rest(tiny_mirror):
    assert load.missing_note("census-duties") is None          # in the tiny mirror
    assert load.missing_note("census-duties", "2026-01") is None
    note = load.missing_note("usitc-dataweb")
    assert "usitc-dataweb" in note and str(tiny_mirror) in note
    assert "no download URL" in note and "--archive" in note
    old = load.missing_note("census-duties", "2019-01")
    assert "2019-01" in old and "2026-01" in old and "--archive latest" in old
    with pytest.raises(Exception, match="unknown source"):
        load.missing_note("no-such-source")


def test_missing_note_without_a_mirror_names_the_key(data_home, monkeypatch):
    monkeypatch.delenv("CENSUS_API_KEY", raising=False)
    note = load.missing_note("census-duties")
    assert "CENSUS_API_KEY" in note and "no mirror configured" in note


def test_skip_text_explains_once_then_points_back():
    notes = {"a": "no data for a: looked here.", "b": "no data for b."}
    first = needs.skip_text(["a"], notes, set())
    assert first.startswith("**Skipped: this cell needs `a`, which is not available here.**")
    assert "No data for a: looked here." in first and "need it still run" in first
    both = needs.skip_text(["a", "b"], notes, {"a"})
    assert "`a` and `b`, which are not available" in both
    assert "No data for b." in both and "No data for a" not in both
    assert "see the note above" in needs.skip_text(["a", "b"], notes, {"a", "b"})


# --------------------------------------------------------------------------- in a kernel

@pytest.fixture
def shell(tiny_mirror):
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    before = list(sh.input_transformers_post)
    needs._explained.clear()
    assert needs.enable(sh) and needs.enable(sh)  # idempotent
    assert sh.input_transformers_post.count(needs.transform) == 1
    yield sh
    sh.input_transformers_post[:] = before
    for name in ("x", "y", "z", "V"):
        sh.user_ns.pop(name, None)


def _displayed(monkeypatch) -> list:
    shown: list = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    return shown


def test_an_available_source_runs_the_cell_unchanged(shell):
    res = shell.run_cell("# needs: census-duties\nx = 41\nx + 1", store_history=False)
    assert res.success and res.result == 42 and shell.user_ns["x"] == 41


def test_an_absent_source_skips_the_cell_with_a_note(shell, monkeypatch):
    shown = _displayed(monkeypatch)
    res = shell.run_cell("# needs: usitc-dataweb\ny = 1\n", store_history=False)
    assert res.success and "y" not in shell.user_ns
    assert len(shown) == 1 and shown[0][needs.SKIP_MIME] == {"missing": ["usitc-dataweb"]}
    assert "no download URL" in shown[0]["text/markdown"]
    assert "<vintage>" in shown[0]["text/plain"] and "<" not in shown[0]["text/markdown"]
    shell.run_cell("# needs: usitc-dataweb, census-duties\nz = 1\n", store_history=False)
    assert "z" not in shell.user_ns
    assert shown[1][needs.SKIP_MIME] == {"missing": ["usitc-dataweb"]}   # duties is here
    assert "see the note above" in shown[1]["text/markdown"]


def test_a_vintage_held_by_a_variable(shell, monkeypatch):
    shown = _displayed(monkeypatch)
    shell.run_cell("V = '2026-01'", store_history=False)
    shell.run_cell("# needs: census-duties@V\nx = 2", store_history=False)
    assert shell.user_ns["x"] == 2
    shell.run_cell("V = '2019-01'", store_history=False)
    shell.run_cell("# needs: census-duties@V\ny = 2", store_history=False)
    assert "y" not in shell.user_ns and "2019-01" in shown[-1]["text/markdown"]


def test_a_typo_in_a_marker_fails_the_cell(shell):
    res = shell.run_cell("# needs: census-dutie\nx = 3", store_history=False)
    assert not res.success and "x" not in shell.user_ns


def test_have_is_the_same_check(tiny_mirror):
    assert needs.have("census-duties")
    assert not needs.have("census-duties", "usitc-dataweb")
    with pytest.raises(ValueError, match="needs.have: unknown source 'census-dutie'"):
        needs.have("census-dutie")


def test_read_skipped_finds_skipped_cells():
    nb = nbformat.v4.new_notebook()
    skipped = nbformat.v4.new_code_cell("# needs: usitc-dataweb\n1")
    skipped.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/markdown": "Skipped", needs.SKIP_MIME: {"missing": ["u"]}})]
    nb.cells = [nbformat.v4.new_code_cell("1"), skipped]
    assert needs.read_skipped(nb) == [{"cell": 1, "missing": ["u"]}]
    assert needs.missing_labels([{"missing": ["b", "a"]}, {"missing": ["a"]}]) == ["a", "b"]


# --------------------------------------------------------------------------- the notebooks

#: A call that reads an optional source, and the source a marker must name for it.
OPTIONAL_CALLS = {
    r"\bload_duties\(": "census-duties",
    r"\bload_usitc\(": "usitc-dataweb",
    r"\b(load_usmca_products|load_metal_shares|load_product_lists|load_s232_list)\(":
        "yale-tracker",
    r"\bload_etr_by_partner\(": "yale-etr-partner",
    r"adjustment=\"sa\"": "census-ctyseasonal",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_reading_an_optional_source_is_marked(path):
    nb = nbformat.read(path, as_version=4)
    assert any("needs.enable()" in c.source for c in nb.cells if c.cell_type == "code"), \
        f"{path.name}: the import cell must call needs.enable()"
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        m = needs.MARKER.match(first.strip())
        named = {s.strip().split("@")[0] for s in m.group("spec").split(",")} if m else set()
        for pattern, source in OPTIONAL_CALLS.items():
            if re.search(pattern, cell.source) and source not in named:
                problems.append(f"cell {i} reads {source} without '# needs: {source}'")
    assert problems == [], f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.notebooks
def test_every_notebook_runs_with_only_what_an_online_user_can_download(real_mirror, tmp_path):
    """No key, no USITC/tracker files, no old vintage: every notebook ends, each absent source
    is explained in a note, and the book is still built."""
    from partial_mirror import ONLINE_ABSENT_SOURCES, make_partial_mirror

    mirror = make_partial_mirror(real_mirror, tmp_path / "mirror")
    with pytest.raises(FileExistsError, match="not empty"):  # never writes over a folder
        make_partial_mirror(real_mirror, mirror)
    env = {k: v for k, v in os.environ.items() if k not in ("CENSUS_API_KEY", "TRADELIB_HOME")}
    env.update(TRADELIB_DATA=str(tmp_path / "data"), TRADELIB_MIRROR=str(mirror),
               TRADELIB_QUIET="1")
    out, site_dir = tmp_path / "out", tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "tradelib", "run", "--out", str(out), "--site-dir", str(site_dir),
         "--no-progress"], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "KeyboardInterrupt caught" not in proc.stderr  # kernels shut down without noise
    summary = json.loads((out / "mexico" / "run-summary.json").read_text())
    assert [r["status"] for r in summary["results"]] == ["ok"] * len(NOTEBOOKS)
    labels: set[str] = set()
    for path in NOTEBOOKS:
        nb = nbformat.read(out / "mexico" / path.name, as_version=4)
        for item in needs.read_skipped(nb):
            labels |= set(item["missing"])
    assert {lb.split("@")[0] for lb in labels} == set(ONLINE_ABSENT_SOURCES) | {"census-country"}
    assert "census-country@2025-04" in labels
    skipped = {r["notebook"]: r.get("skipped_cells", 0) for r in summary["results"]}
    assert skipped["03_tariff_timeline.ipynb"] > 0
    assert (site_dir / "index.html").is_file()
