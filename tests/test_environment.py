"""environment.yml (conda) and pyproject.toml (pip) declare the same dependencies."""

from __future__ import annotations

import re
import tomllib

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
