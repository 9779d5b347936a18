"""A fresh virtual environment with tradelib installed from its wheel (for the slow tests).

:func:`installed_venv` builds the wheel from a copy of the package's sources (only what a wheel
may use: ``pyproject.toml``, ``README.md``, ``LICENSE``, ``tradelib/``), creates a venv with uv,
installs the locked environment (``requirements.lock``, hash-checked; uv's cache makes this fast)
and the wheel without dependencies, and registers the ``python3`` kernel inside the venv. It is
built once per test session and shared by tests/test_wheel.py and tests/test_archive.py.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).with_name("uv")
#: Variables that would point the installed package back at the checkout's data.
LEAKY = ("TRADELIB_HOME", "TRADELIB_DATA", "TRADELIB_MIRROR", "TRADELIB_ONLINE",
         "TRADELIB_REQUIRE_MIRROR", "VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH")


@dataclass(frozen=True)
class Installed:
    root: Path
    python: Path
    wheel: Path
    site_packages: Path


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False,
                          **kw)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without tradelib/venv variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["TRADELIB_QUIET"] = "1"
    env.update(extra)
    return env


@functools.cache
def installed_venv() -> Installed:
    """Build the wheel and install it, with the locked dependencies, into a fresh venv."""
    if not UV.exists():
        raise AssertionError(f"{UV} not found: uv is a dev dependency (reinstall with make)")
    root = Path(tempfile.mkdtemp(prefix="tradelib-wheel-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "tradelib", src / "tradelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = root / "dist"
    _run([UV, "build", "--wheel", "--no-build-isolation", "--python", sys.executable,
          "--out-dir", dist, src])
    wheel = next(dist.glob("tradelib-*.whl"))
    venv = root / "venv"
    env = clean_env()
    _run([UV, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    python = venv / "bin" / "python"
    _run([UV, "pip", "sync", "--quiet", "--require-hashes", "--compile-bytecode", "--python", python,
          REPO / "requirements.lock"], env=env)
    _run([UV, "pip", "install", "--quiet", "--no-deps", "--python", python, wheel], env=env)
    _run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], env=env)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     env=env).stdout.strip())
    return Installed(root, python, wheel, site)
