"""The package works outside a checkout: data paths of an installed wheel, and the wheel itself.

Fast tests check how :mod:`tradelib.config` decides where files go (checkout, installed wheel,
``TRADELIB_HOME`` / ``TRADELIB_DATA``). The slow tests build the wheel, install it with the locked
dependencies into a fresh venv (tests/installed_env.py) and execute every notebook with it against
the offline mirror: raw and processed data must land in the per-user cache folder, never in
``site-packages``.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

from tradelib import config

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))


# --------------------------------------------------------------------------- config (fast)

def _fake_package(root: Path, pyproject: str | None) -> Path:
    pkg = root / "tradelib"
    pkg.mkdir(parents=True)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    return pkg


def test_in_checkout_detection(tmp_path):
    assert config.in_checkout()  # the tests run from the checkout
    assert config.in_checkout(_fake_package(tmp_path / "a", '[project]\nname = "tradelib"\n'))
    assert not config.in_checkout(_fake_package(tmp_path / "b", None))
    assert not config.in_checkout(_fake_package(tmp_path / "c", '[project]\nname = "other"\n'))
    wheel = _fake_package(tmp_path / "lib" / "site-packages", '[project]\nname = "tradelib"\n')
    assert not config.in_checkout(wheel)


@pytest.fixture
def outside_checkout(tmp_path, monkeypatch):
    """tradelib as if installed from a wheel: no checkout, no overrides, a private cache home."""
    for var in ("TRADELIB_HOME", "TRADELIB_DATA", "TRADELIB_MIRROR", "TRADELIB_ONLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(config, "in_checkout", lambda package_dir=None: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def test_outside_a_checkout_data_go_to_the_user_cache(outside_checkout):
    tmp = outside_checkout
    assert config.data_dir() == (tmp / "cache" / "tradelib").resolve()
    assert config.raw_dir() == config.data_dir() / "raw"
    assert config.processed_dir() == config.data_dir() / "processed"
    assert config.project_root() == (tmp / "work").resolve()  # notebooks/, output/, site/
    assert "site-packages" not in str(config.data_dir())
    # no automatic mirror next to an arbitrary working directory
    (tmp / "shared" / "data" / "mirror").mkdir(parents=True)
    assert config.mirror_dir() is None


def test_environment_variables_override_the_user_cache(outside_checkout, monkeypatch):
    tmp = outside_checkout
    monkeypatch.setenv("TRADELIB_HOME", str(tmp / "home"))
    assert config.project_root() == (tmp / "home").resolve()
    assert config.data_dir() == (tmp / "home" / "data").resolve()
    monkeypatch.setenv("TRADELIB_DATA", str(tmp / "elsewhere"))
    assert config.data_dir() == (tmp / "elsewhere").resolve()
    monkeypatch.setenv("TRADELIB_MIRROR", str(tmp / "m"))
    assert config.mirror_dir() == (tmp / "m").resolve()


def test_in_a_checkout_data_stay_in_the_checkout(monkeypatch):
    for var in ("TRADELIB_HOME", "TRADELIB_DATA"):
        monkeypatch.delenv(var, raising=False)
    assert config.project_root() == REPO
    assert config.data_dir() == REPO / "data"
    assert config.authored_dir() == REPO / "tradelib" / "resources"


def test_authored_data_are_declared_package_data():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["tradelib"]
    shipped = {p.relative_to(REPO / "tradelib").as_posix()
               for p in (REPO / "tradelib" / "resources").iterdir() if p.is_file()}
    import fnmatch

    unshipped = [f for f in shipped if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert unshipped == [], f"add to [tool.setuptools.package-data]: {unshipped}"
    assert {"resources/tariff_events.csv", "resources/data_releases.json"} <= shipped


# --------------------------------------------------------------------------- the wheel (slow)

@pytest.fixture(scope="module")
def installed():
    from installed_env import installed_venv

    return installed_venv()


@pytest.mark.slow
def test_wheel_holds_the_package_and_its_authored_data(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    for needed in ("tradelib/resources/tariff_events.csv", "tradelib/resources/README.md",
                   "tradelib/resources/data_releases.json", "tradelib/resources/book/_config.yml",
                   "tradelib/resources/book/references.bib",
                   "tradelib/resources/book/_static/tradelib.css",
                   "tradelib/data/archive.py", "tradelib/publish/provenance.py"):
        assert needed in names
    assert not [n for n in names if n.startswith(("data/", "tests/", "notebooks/"))]
    assert not [n for n in names if n.endswith((".parquet", ".xlsx"))]


@pytest.mark.slow
@pytest.mark.notebooks
def test_installed_wheel_runs_every_notebook_against_the_mirror(installed, real_mirror, tmp_path):
    from installed_env import clean_env

    cache = tmp_path / "cache"
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env(XDG_CACHE_HOME=str(cache), TRADELIB_MIRROR=str(real_mirror))
    where = subprocess.run(
        [installed.python, "-c", ("import tradelib, tradelib.config as c; "
                                  "print(tradelib.__file__); print(c.in_checkout()); "
                                  "print(c.data_dir())")],
        cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    assert where[0].startswith(str(installed.site_packages)), where
    assert where[1] == "False"
    assert Path(where[2]) == cache / "tradelib"

    out = tmp_path / "out"
    proc = subprocess.run(
        [installed.python, "-m", "tradelib", "run", "--notebooks", REPO / "notebooks", "--out",
         out, "--no-site", "--no-progress"], cwd=work, env=env, capture_output=True, text=True,
        check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads((out / "mexico" / "run-summary.json").read_text())
    assert [r["status"] for r in summary["results"]] == ["ok"] * len(NOTEBOOKS)
    assert summary["provenance"]["code"]["in_checkout"] is False
    assert summary["provenance"]["packages"]["tradelib"]
    # raw and processed data went to the per-user cache, nothing into site-packages
    assert (cache / "tradelib" / "raw" / "MANIFEST.csv").is_file()
    assert any((cache / "tradelib" / "processed").rglob("*.parquet"))
    assert not (installed.site_packages / "data").exists()
    assert not list((installed.site_packages / "tradelib").rglob("*.parquet"))
    assert not list((installed.site_packages / "tradelib").rglob("MANIFEST.csv"))
    assert not (work / "data").exists()
