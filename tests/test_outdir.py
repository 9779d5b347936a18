"""Output folders: commands never delete or overwrite files they did not create (issue 11, item 1)."""

from __future__ import annotations

import stat
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tradelib import cli
from tradelib.publish import teach
from tradelib.publish.outdir import MARKER, OutputDirError, OwnedDir


def _nb(text: str = "x = 1") -> nbformat.NotebookNode:
    sol = new_code_cell("answer = 42  # worked solution here")
    sol.metadata["tags"] = ["solution"]
    return new_notebook(cells=[new_markdown_cell("# 01 · T"), new_code_cell(text), sol])


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A checkout with committed notebooks (TRADELIB_HOME points at it)."""
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    for name in ("01_a.ipynb", "02_b.ipynb"):
        nbformat.write(_nb(), str(root / "notebooks" / name))
    monkeypatch.setenv("TRADELIB_HOME", str(root))
    return root


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_student_out_notebooks_refused_and_nothing_deleted(project, capsys):
    before = _snapshot(project / "notebooks")
    code = cli.main(["student", "--out", str(project / "notebooks")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--out" in err and "committed folder" in err and "Traceback" not in err
    assert _snapshot(project / "notebooks") == before


def test_student_out_project_root_refused(project, capsys):
    assert cli.main(["student", "--out", str(project)]) == 2
    assert "committed folder" in capsys.readouterr().err
    assert not (project / MARKER).exists()


def test_student_out_foreign_folder_refused(project, tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.ipynb").write_text("{}")
    (foreign / "01_a.ipynb").write_text("my own notes")
    before = _snapshot(foreign)
    code = cli.main(["student", "--out", str(foreign)])
    err = capsys.readouterr().err
    assert code == 2 and "not empty" in err and "pass a new or empty folder" in err
    assert _snapshot(foreign) == before


def test_student_owned_folder_keeps_foreign_files(project, tmp_path):
    out = tmp_path / "students"
    assert cli.main(["student", "--out", str(out)]) == 0
    (out / "notes.ipynb").write_text("a student's own notebook")
    (project / "notebooks" / "02_b.ipynb").unlink()
    assert cli.main(["student", "--out", str(out), "--notebooks",
                     str(project / "notebooks")]) == 1  # notes.ipynb has no source: reported
    assert (out / "notes.ipynb").read_text() == "a student's own notebook"  # never deleted
    assert not (out / "02_b.ipynb").exists()  # our own stale copy is removed
    assert (out / "01_a.ipynb").exists()


def test_owned_file_replaced_only_if_ours(tmp_path):
    d = OwnedDir.claim(tmp_path / "o", command="student")
    d.write_text("a.txt", "one")
    d.write_text("a.txt", "two")
    assert (tmp_path / "o" / "a.txt").read_text() == "two"
    (tmp_path / "o" / "b.txt").write_text("theirs")
    with pytest.raises(OutputDirError, match=r"b.txt: exists but was not written"):
        d.write_text("b.txt", "mine")
    assert (tmp_path / "o" / "b.txt").read_text() == "theirs"
    with pytest.raises(OutputDirError, match="not created by"):
        d.remove("b.txt")
    mode = stat.S_IMODE((tmp_path / "o" / "a.txt").stat().st_mode)
    assert mode & 0o044, f"files must be readable by others, got {oct(mode)}"


def test_owned_by_another_command_refused(tmp_path):
    OwnedDir.claim(tmp_path / "o", command="student")
    with pytest.raises(OutputDirError, match="holds the output of `student`"):
        OwnedDir.claim(tmp_path / "o", command="run")


def test_atomic_failure_leaves_old_file(tmp_path):
    d = OwnedDir.claim(tmp_path / "o", command="run")
    d.write_text("n.ipynb", "old")
    with pytest.raises(RuntimeError), d.atomic("n.ipynb") as tmp:
        tmp.write_text("half")
        raise RuntimeError("kernel died")
    assert (tmp_path / "o" / "n.ipynb").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [MARKER, "n.ipynb"]


def test_out_is_a_file_or_unwritable(project, tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert cli.main(["student", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert "is an existing file" in err and f.read_text() == "x"
    assert cli.main(["student", "--out", str(f / "sub")]) == 2
    assert "cannot create the folder" in capsys.readouterr().err


def test_student_sources_checked_before_writing(project, tmp_path):
    (project / "notebooks" / "03_bad.ipynb").write_text("not json")
    with pytest.raises(teach.TeachError, match="03_bad.ipynb: cannot be read"):
        teach.make_student_copies(project / "notebooks", tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_legacy_default_output_is_adopted_only_when_it_holds_only_known_outputs(tmp_path):
    legacy = tmp_path / "old"
    legacy.mkdir()
    (legacy / "01_a.ipynb").write_text("{}")
    (legacy / "run-summary.json").write_text("{}")
    d = OwnedDir.claim(legacy, command="run", legacy={"01_a.ipynb", "02_b.ipynb",
                                                      "run-summary.json"})
    assert d.owned() == {"01_a.ipynb", "run-summary.json"}
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "01_a.ipynb").write_text("{}")
    (mixed / "thesis.docx").write_text("mine")
    with pytest.raises(OutputDirError, match="not empty"):
        OwnedDir.claim(mixed, command="run", legacy={"01_a.ipynb"})
