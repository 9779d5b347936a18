"""environment.yml (conda), pyproject.toml (pip) and requirements.lock (the locked environment) agree."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import REPO


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_name(s): s.replace(" ", "") for s in specs}


def _conda() -> dict[str, str]:
    import yaml

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) not in ("python", "pip"):
            out[_name(dep)] = dep.replace(" ", "")
    return out


def test_same_packages():
    py, conda = _pyproject(), _conda()
    assert sorted(set(py) - set(conda)) == [], "in pyproject.toml only"
    assert sorted(set(conda) - set(py)) == [], "in environment.yml only"


def test_same_lower_bounds():
    py, conda = _pyproject(), _conda()
    diff = {k: (py[k], conda[k]) for k in py if k in conda and py[k] != conda[k]}
    assert diff == {}


def test_core_stack_declared():
    py = _pyproject()
    for pkg in ("jupyterlab", "pandas", "seaborn", "statsmodels", "pyarrow", "openpyxl",
                "pandera", "pytest", "nbmake", "ruff"):
        assert pkg in py
    assert py["pandas"].startswith("pandas>=3")


def test_python_version_agrees():
    import yaml

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "python>=3.11" in env["dependencies"]
    assert data["project"]["requires-python"] == ">=3.11"


# --------------------------------------------------------------------------- the lockfile

LOCK = REPO / "requirements.lock"


def _locked() -> dict[str, tuple[str, int]]:
    """``{name: (version, number of hashes)}`` for every package pinned in requirements.lock
    for this interpreter (a universal lock may pin other versions under other markers)."""
    from packaging.markers import Marker

    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)(?: ; ([^\\]+))?", line)
        if m:
            current = None
            if m.group(3) and not Marker(m.group(3).strip()).evaluate():
                continue
            current = m.group(1).lower().replace("_", "-").replace(".", "-")
            pins[current] = (m.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current] = (pins[current][0], pins[current][1] + 1)
    return pins


def test_lock_pins_every_declared_package_within_its_bounds():
    from packaging.requirements import Requirement

    locked = _locked()
    assert len(locked) > 50, f"{LOCK}: too few pins; regenerate it with `make lock`"
    problems = []
    for spec in _pyproject().values():
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-").replace(".", "-")
        if name not in locked:
            problems.append(f"{req.name}: declared but not in the lock")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req.name}: locked {locked[name][0]} outside {req.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_lock_has_hashes_and_exact_pins():
    locked = _locked()
    assert all(n > 0 for _, n in locked.values()), "every pin needs --hash (uv --generate-hashes)"
    text = LOCK.read_text()
    assert "--generate-hashes" in text and "--universal" in text
    # the lock resolves for the lowest Python the package supports
    assert "--python-version 3.11" in text


def test_lock_and_installed_environment_agree():
    """The environment `make` installed (its stamp file exists) is exactly the locked one."""
    import sys
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    if not (Path(sys.prefix) / ".tradelib-installed").exists():
        pytest.skip("not an environment installed by `make` (e.g. conda): versions may differ")

    locked = _locked()
    drift = {}
    for name in _pyproject():
        try:
            have = version(name)
        except PackageNotFoundError:
            drift[name] = "not installed"
            continue
        if name in locked and have != locked[name][0]:
            drift[name] = f"installed {have}, locked {locked[name][0]}"
    assert drift == {}, "reinstall from the lock (`make setup` after removing .venv): " + str(drift)


def test_make_and_binder_install_from_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert "requirements.lock" in makefile and "--require-hashes" in makefile
    assert "uv pip compile" in makefile  # `make lock` refreshes it
    assert "--no-deps -e ." in makefile
    assert "../requirements.lock" in (REPO / "binder" / "requirements.txt").read_text()
    assert "--no-deps" in (REPO / "binder" / "postBuild").read_text()
