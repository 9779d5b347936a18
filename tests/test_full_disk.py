"""A full disk gives a message and leaves no half-written file (issue 11, item 10).

Uses a small tmpfs (needs root and mount permission; skipped otherwise).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tradelib import cli, config


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          check=False, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill the disk until about ``leave`` bytes remain."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".part" in p.name)


def test_student_on_a_full_disk(small_disk, tmp_path, capsys, monkeypatch):
    src = tmp_path / "nb"
    src.mkdir()
    sol = new_code_cell("answer = 42  # worked solution")
    sol.metadata["tags"] = ["solution"]
    for i in range(6):  # ~30 kB each
        nb = new_notebook(cells=[new_markdown_cell("# T\n" + "text " * 6000), sol])
        nbformat.write(nb, str(src / f"0{i}_n.ipynb"))
    _fill(small_disk, 40_000)
    out = small_disk / "students"
    code = cli.main(["student", "--notebooks", str(src), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "No space left on device" in err and "free disk space" in err
    assert str(out) in err  # names the file
    assert "Traceback" not in err
    assert _leftovers(small_disk) == []
    for p in out.glob("*.ipynb"):  # whatever was written is complete
        nbformat.read(str(p), as_version=4)


def test_fetch_on_a_full_disk(small_disk, tiny_mirror, capsys, monkeypatch):
    monkeypatch.setenv("TRADELIB_DATA", str(small_disk / "data"))
    _fill(small_disk, 4_000)
    code = cli.main(["fetch", "--source", "census-country"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert _leftovers(small_disk) == []
    assert not (config.raw_dir() / "census-country" / "2026-01" / "country.xlsx").exists()
