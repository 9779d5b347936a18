"""`run` under interrupts, kills and concurrency (issue 11, items 2, 7 and 8).

Each test starts `python -m tradelib run` as a real process on tiny notebooks (a tiny mirror
gives the partner data), sends it a signal, and checks: the exit code, that every notebook
worker and kernel is gone, that committed notebooks and earlier outputs are intact, and that
the run summary does not claim a complete set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tradelib.publish import run

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # real kernels, started and killed: ~20-60 s per test


def _nb(*cells: str) -> nbformat.NotebookNode:
    params = new_code_cell('PARTNER = "Mexico"\nSTART = None\nEND = None\nVINTAGE = "latest"')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# T"), params, *map(new_code_cell, cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _env(tiny_mirror: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TRADELIB_HOME": str(home), "TRADELIB_QUIET": "1",
                "TRADELIB_DATA": os.environ["TRADELIB_DATA"],
                "TRADELIB_MIRROR": os.environ["TRADELIB_MIRROR"],
                "PYTHONPATH": str(REPO)})
    return env


@pytest.fixture
def home(tmp_path, tiny_mirror) -> Path:
    """A checkout folder (TRADELIB_HOME) with a notebooks/ folder; data from the tiny mirror."""
    h = tmp_path / "home"
    (h / "notebooks").mkdir(parents=True)
    return h


def _start(home: Path, tiny_mirror: Path, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tradelib", "run", "--no-fetch", "--no-build", "--no-progress",
           "--notebooks", str(home / "notebooks"), "--out", str(home / "output"),
           "--site-dir", str(home / "site"), *args]
    return subprocess.Popen(cmd, env=_env(tiny_mirror, home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_kernels(proc: subprocess.Popen, n: int, timeout: float = 180) -> list[int]:
    """Wait until ``n`` kernels run below ``proc``; return every descendant pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = psutil.Process(proc.pid).children(recursive=True)
        kernels = [k for k in kids if "ipykernel" in " ".join(k.cmdline())]
        if len(kernels) >= n:
            time.sleep(1.5)  # let the kernels start executing
            return [k.pid for k in psutil.Process(proc.pid).children(recursive=True)]
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.communicate()}")
        time.sleep(0.2)
    pytest.fail("kernels did not start")


def _gone(pids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.2)
    return alive


SLOW = "import time\ntime.sleep(120)"


def test_inplace_interrupted_leaves_committed_notebook(home, tiny_mirror):
    nb = home / "notebooks" / "01_slow.ipynb"
    nbformat.write(_nb("print('first cell ran')", SLOW), str(nb))
    committed = nb.read_bytes()
    proc = _start(home, tiny_mirror, "--inplace", "--jobs", "1")
    pids = _wait_for_kernels(proc, 1)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert time.monotonic() - t0 < 20
    assert "interrupted" in err and "committed notebooks are unchanged" in err
    assert nb.read_bytes() == committed
    assert sorted(p.name for p in nb.parent.iterdir()) == ["01_slow.ipynb"]
    assert _gone(pids) == []


def test_ctrl_c_stops_queued_notebooks_and_keeps_previous_outputs(home, tiny_mirror):
    for i in (1, 2, 3):
        nbformat.write(_nb(f"x = {i}"), str(home / "notebooks" / f"0{i}_nb.ipynb"))
    proc = _start(home, tiny_mirror, "--jobs", "2", "--no-site")
    out_err = proc.communicate(timeout=400)
    assert proc.returncode == 0, out_err
    out = home / "output" / "mexico"
    before = {p.name: p.read_bytes() for p in out.glob("*.ipynb")}
    assert len(before) == 3
    for i in (1, 2, 3):  # now every notebook is slow
        nbformat.write(_nb(f"x = {i}", SLOW), str(home / "notebooks" / f"0{i}_nb.ipynb"))
    proc = _start(home, tiny_mirror, "--jobs", "2")
    pids = _wait_for_kernels(proc, 2)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 25, "Ctrl-C must not wait for the queued notebooks"
    assert _gone(pids) == []
    assert {p.name: p.read_bytes() for p in out.glob("*.ipynb")} == before
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    summary = json.loads((out / "run-summary.json").read_text())
    assert summary["complete"] is False and summary["interrupted"] is True
    problems = run.verify_executed(out, home / "notebooks")
    assert any("interrupted" in p for p in problems)
    assert not (home / "site").exists()


def test_sigterm_and_kill_9_leave_no_orphans(home, tiny_mirror):
    for i in (1, 2):
        nbformat.write(_nb(SLOW), str(home / "notebooks" / f"0{i}_nb.ipynb"))
    proc = _start(home, tiny_mirror, "--jobs", "2")
    pids = _wait_for_kernels(proc, 2)
    os.kill(proc.pid, signal.SIGTERM)  # only the run process, as a service manager does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert _gone(pids) == []

    proc = _start(home, tiny_mirror, "--jobs", "2")
    pids = _wait_for_kernels(proc, 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _gone([p for p in pids if p != proc.pid], timeout=30) == []
    # the next run cleans the temporaries the killed one left, and completes
    for i in (1, 2):
        nbformat.write(_nb("x = 1"), str(home / "notebooks" / f"0{i}_nb.ipynb"))
    proc = _start(home, tiny_mirror, "--jobs", "2", "--no-site")
    out_err = proc.communicate(timeout=400)
    assert proc.returncode == 0, out_err
    out = home / "output" / "mexico"
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    assert run.verify_executed(out, home / "notebooks") == []


def test_second_run_in_same_checkout_is_refused(home, tiny_mirror):
    nbformat.write(_nb(SLOW), str(home / "notebooks" / "01_nb.ipynb"))
    first = _start(home, tiny_mirror, "--jobs", "1")
    pids = _wait_for_kernels(first, 1)
    second = _start(home, tiny_mirror, "--jobs", "1")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "another `python -m tradelib run` is running in this checkout" in err
    assert "--wait" in err and "Traceback" not in err
    os.killpg(first.pid, signal.SIGINT)
    first.communicate(timeout=60)
    assert _gone(pids) == []
