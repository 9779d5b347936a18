"""Student copies: solutions removed, outputs cleared, and kept in sync with the sources."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tradelib import config
from tradelib.publish import teach

NOTEBOOK_DIR = config.project_root() / "notebooks"
REAL_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))

SECRET = "answer = imports.rolling(12).sum().idxmax()  # worked solution"


def _notebook() -> nbformat.NotebookNode:
    """A tiny executed notebook with one exercise and a markdown + code solution."""
    code = new_code_cell("x = 1 + 1\nprint(x)", execution_count=1)
    code.outputs = [new_output("stream", name="stdout", text="2\n")]
    code.metadata["execution"] = {"iopub.status.busy": "2026-11-28T10:00:00Z"}
    sol_md = new_markdown_cell("**Solution.** Take the rolling annual sum and its maximum.")
    sol_md.metadata["tags"] = ["solution"]
    sol_code = new_code_cell(SECRET, execution_count=2)
    sol_code.metadata["tags"] = ["solution"]
    sol_code.outputs = [
        new_output("execute_result", data={"text/plain": "'2024-05'"}, execution_count=2)
    ]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 01 · Tiny\n\n**Question** What is one plus one?"),
            code,
            new_markdown_cell("## Exercises\n\n### Exercise 1\n\nFind the peak month."),
            sol_md,
            sol_code,
            new_markdown_cell("### Exercise 2\n\nTry another partner."),
        ]
    )
    nb.metadata["papermill"] = {"parameters": {}}
    return nb


def _write(folder: Path, name: str, nb: nbformat.NotebookNode) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def test_student_copy_drops_solutions_and_outputs() -> None:
    nb = _notebook()
    stu = teach.student_copy(nb)
    # the two solution cells (markdown + code) become one empty answer cell
    assert len(stu.cells) == len(nb.cells) - 1
    answer = stu.cells[3]
    assert (
        answer.cell_type == "code" and answer.source == "" and answer.metadata["tags"] == ["answer"]
    )
    assert not any(teach.is_solution(c) for c in stu.cells)
    code = [c for c in stu.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert all("execution" not in c.metadata for c in stu.cells)
    assert "papermill" not in stu.metadata
    assert stu.metadata["tradelib"]["student_copy"] is True
    # the source notebook is left untouched
    assert nb.cells[1].outputs and len(nb.cells) == 6


def test_exercise_texts() -> None:
    texts = teach.exercise_texts(_notebook())
    assert texts == [
        "### Exercise 1\n\nFind the peak month.",
        "### Exercise 2\n\nTry another partner.",
    ]
    assert teach.exercise_count(_notebook()) == 2
    assert teach.unsolved_exercises(_notebook()) == [2]  # exercise 2 has no solution after it


def test_make_and_check_in_sync(tmp_path: Path) -> None:
    src, out = tmp_path / "nb", tmp_path / "students"
    _write(src, "01_tiny.ipynb", _notebook())
    _write(src, "00_removed.ipynb", _notebook())
    teach.make_student_copies(src, out)
    (src / "00_removed.ipynb").unlink()  # its copy is now the copy of a notebook that is gone
    written = teach.make_student_copies(src, out)
    assert not (out / "00_removed.ipynb").exists()
    assert [p.name for p in written] == ["01_tiny.ipynb"]
    assert teach.check_in_sync(src, out) == []
    text = written[0].read_text(encoding="utf-8")
    assert SECRET not in text and "Take the rolling annual sum" not in text


def test_check_detects_leak_drift_and_missing(tmp_path: Path) -> None:
    src, out = tmp_path / "nb", tmp_path / "students"
    _write(src, "01_tiny.ipynb", _notebook())
    teach.make_student_copies(src, out)
    # a solution line pasted into a student cell is a leak (and a drift)
    stu = nbformat.read(str(out / "01_tiny.ipynb"), as_version=4)
    stu.cells[1].source += "\n" + SECRET
    nbformat.write(stu, str(out / "01_tiny.ipynb"))
    problems = teach.check_in_sync(src, out)
    assert any("solution text" in p for p in problems)
    assert any("cells differ" in p for p in problems)
    # a new source notebook without a copy is reported
    _write(src, "02_other.ipynb", _notebook())
    assert any("02_other.ipynb: missing student copy" in p for p in teach.check_in_sync(src, out))


def test_check_detects_outputs_left_in_copy(tmp_path: Path) -> None:
    src, out = tmp_path / "nb", tmp_path / "students"
    nb = _notebook()
    _write(src, "01_tiny.ipynb", nb)
    stu = teach.student_copy(nb)
    stu.cells[1].outputs = [new_output("stream", name="stdout", text="2\n")]
    _write(out, "01_tiny.ipynb", stu)
    assert any("outputs" in p for p in teach.check_in_sync(src, out))


def test_notebook_without_solutions_is_an_error(tmp_path: Path) -> None:
    nb = _notebook()
    nb.cells = [c for c in nb.cells if not teach.is_solution(c)]
    _write(tmp_path / "nb", "01_tiny.ipynb", nb)
    with pytest.raises(teach.TeachError, match="01_tiny.ipynb: no cell is tagged 'solution'"):
        teach.make_student_copies(tmp_path / "nb", tmp_path / "students")


def test_cli_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "nb", tmp_path / "students"
    _write(src, "01_tiny.ipynb", _notebook())
    parser = argparse.ArgumentParser()
    teach.add_arguments(parser)
    assert teach.main(parser.parse_args(["--notebooks", str(src), "--out", str(out)])) == 0
    assert "in sync" in capsys.readouterr().out
    # editing the source afterwards makes --check fail
    nb = _notebook()
    nb.cells[1].source = "x = 2 + 2"
    _write(src, "01_tiny.ipynb", nb)
    args = parser.parse_args(["--notebooks", str(src), "--out", str(out), "--check"])
    assert teach.main(args) == 1


@pytest.mark.skipif(not REAL_NOTEBOOKS, reason="no notebooks committed yet")
def test_real_notebooks_student_copies_in_sync(tmp_path: Path) -> None:
    out = tmp_path / "students"
    written = teach.make_student_copies(NOTEBOOK_DIR, out)
    assert len(written) == len(list(NOTEBOOK_DIR.glob("*.ipynb")))
    assert teach.check_in_sync(NOTEBOOK_DIR, out) == []
    for path in written:
        src = nbformat.read(str(NOTEBOOK_DIR / path.name), as_version=4)
        stu = nbformat.read(str(path), as_version=4)
        text = "\n".join(c.source for c in stu.cells)
        shared = "\n".join(c.source for c in src.cells if not teach.is_solution(c))
        solutions = [c.source.strip() for c in src.cells if teach.is_solution(c)]
        assert solutions, f"{path.name}: no solution cells in the source"
        for sol in (s for s in solutions if s not in shared):
            assert sol not in text, f"{path.name}: a solution cell leaked: {sol[:60]!r}"
        assert not any(teach.is_solution(c) for c in stu.cells)
