"""Provenance of a run: what software, which BLAS kernel, on what machine, with which data.

:func:`collect` returns a JSON-ready dict that ``python -m tradelib run`` stores under
``"provenance"`` in ``output/<slug>/run-summary.json`` (and the site shows): so a reader who gets
a different number can tell whether the package versions, the BLAS library or its CPU kernel
(OpenBLAS picks one per CPU at start-up; ``OPENBLAS_CORETYPE`` overrides it), the platform or the
data vintages differ.

Keys
----
``python``     version, implementation, executable
``platform``   operating system, machine, processor, CPU count
``packages``   versions of tradelib and every package it declares (``importlib.metadata``)
``blas``       one entry per BLAS/OpenMP library loaded in this process (``threadpoolctl``):
               library, version, kernel (``architecture``), threading layer, threads
``environment`` the BLAS/threading environment variables that are set
``data``       one row per stored raw file (source, vintage, file, sha256, origin) and the
               registered data release they all belong to, if any
``code``       the git commit of the checkout (when there is one) and the lockfile's sha256
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Environment variables that change which BLAS kernel or how many threads are used.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "NPY_DISABLE_CPU_FEATURES")


def python_info() -> dict[str, str]:
    """Python version, implementation and interpreter path."""
    return {"version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable}


def platform_info() -> dict[str, Any]:
    """Operating system, machine and CPU count."""
    return {"system": platform.system(), "release": platform.release(),
            "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count()}


def declared_packages() -> list[str]:
    """tradelib and the names of the packages it declares (runtime requirements)."""
    names = ["tradelib"]
    try:
        requires = metadata.requires("tradelib") or []
    except metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        requires = []
    for req in requires:
        if "extra ==" in req:
            continue
        names.append(re.split(r"[<>=!~\[ ;(]", req.strip(), maxsplit=1)[0])
    return names


def package_versions(names: list[str] | None = None) -> dict[str, str | None]:
    """``{name: version}`` (None when a package is not installed)."""
    out: dict[str, str | None] = {}
    for name in names or declared_packages():
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def blas_info() -> list[dict[str, Any]]:
    """The BLAS and OpenMP libraries loaded by numpy and scipy, with the kernel in use."""
    import numpy  # noqa: F401 - load the BLAS libraries threadpoolctl inspects
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer",
            "num_threads", "prefix")
    out = []
    for lib in threadpool_info():
        item = {k: lib.get(k) for k in keep if k in lib}
        item["kernel"] = lib.get("architecture")
        item["library"] = Path(lib.get("filepath", "")).name
        out.append(item)
    return out


def blas_environment() -> dict[str, str]:
    """BLAS/threading environment variables that are set (they change results or speed)."""
    return {k: os.environ[k] for k in BLAS_ENV if k in os.environ}


def data_info() -> dict[str, Any]:
    """The stored raw files (from the fetch manifest) and the data release they match."""
    from tradelib import config
    from tradelib.data.fetch import read_manifest
    from tradelib.data.sources import data_releases

    rows = read_manifest()
    files = [{k: r.get(k) for k in ("source_id", "vintage", "file", "sha256", "origin",
                                     "retrieved_at")} for r in rows]
    have = {(r["source_id"], r["vintage"], r["file"], r["sha256"]) for r in rows}
    release = None
    for rel in sorted(data_releases().values(), key=lambda r: r.release, reverse=True):
        if {(f.source_id, f.vintage, f.file, f.sha256) for f in rel.files} <= have:
            release = rel.release
            break
    vintages: dict[str, list[str]] = {}
    for r in rows:
        vintages.setdefault(r["source_id"], [])
        if r["vintage"] not in vintages[r["source_id"]]:
            vintages[r["source_id"]].append(r["vintage"])
    return {"data_dir": str(config.data_dir()), "release": release,
            "vintages": {k: sorted(v) for k, v in sorted(vintages.items())}, "files": files}


def code_info() -> dict[str, Any]:
    """The git commit of the checkout (if any, with a flag for local changes) and the lock's hash."""
    from tradelib import config

    out: dict[str, Any] = {"in_checkout": config.in_checkout(), "git_commit": None,
                           "git_dirty": None, "lock_sha256": None}
    if not config.in_checkout():
        return out
    root = config.project_root()
    lock = root / "requirements.lock"
    if lock.is_file():
        out["lock_sha256"] = hashlib.sha256(lock.read_bytes()).hexdigest()
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "tradelib", "notebooks"], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return out
    out["git_commit"], out["git_dirty"] = commit, bool(dirty)
    return out


def collect() -> dict[str, Any]:
    """Everything above, with the time it was collected (UTC)."""
    return {
        "collected_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "python": python_info(),
        "platform": platform_info(),
        "packages": package_versions(),
        "blas": blas_info(),
        "environment": blas_environment(),
        "data": data_info(),
        "code": code_info(),
    }


def summary_lines(prov: dict[str, Any]) -> list[str]:
    """A few human-readable lines (for the command line and the site)."""
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('kernel') or 'n/a'})"
                     for b in prov.get("blas", []) if b.get("user_api") == "blas") or "none found"
    pk = prov.get("packages", {})
    main = ", ".join(f"{n} {pk.get(n)}" for n in ("tradelib", "numpy", "scipy", "pandas",
                                                   "statsmodels") if n in pk)
    data = prov.get("data", {})
    return [f"Python {prov['python']['version']} on {prov['platform']['platform']}",
            f"packages: {main}",
            f"BLAS: {blas}" + (f"; env {prov['environment']}" if prov.get("environment") else ""),
            (f"data release: {data.get('release') or 'none registered matches'}; "
             f"{len(data.get('files', []))} raw files")]
