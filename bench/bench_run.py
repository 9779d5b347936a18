"""Benchmark the main job, ``python -m tradelib run``, cold and warm.

* **cold**: an empty data folder (``TRADELIB_DATA`` points at a new temporary folder), so the run
  copies every raw file from the mirror (or downloads it), parses, validates and caches it, then
  executes every notebook and renders the site;
* **warm**: the same command again on that data folder (raw files stored, parquet cache built).

``--warm-only`` skips the cold run and uses the checkout's own data folder (already fetched and
built), which is the quick way to check the 60-second target for the warm main job. The table
also gives the book build's own seconds and the machine's load average before and after (other
processes on a shared machine slow every phase; the numbers say so).

Executed notebooks and the site go to the temporary folder too, so nothing in the checkout
changes. Prints a table of wall-clock seconds per phase and notebook and, with ``--json``, writes
the measurements to a file.

Usage::

    python bench/bench_run.py                      # Mexico, the mirror found by tradelib.config
    python bench/bench_run.py --partner Canada --jobs 2 --json bench-results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tradelib.publish.run import default_jobs

TARGET_WARM_SECONDS = 60.0


def parse_book_seconds(stdout: str) -> float | None:
    """The book build's seconds from ``run``'s "site: ... built in X s" line."""
    m = re.search(r"^site: .* built in ([\d.]+) s", stdout, flags=re.MULTILINE)
    return float(m.group(1)) if m else None


def parse_run_output(stdout: str) -> tuple[dict[str, dict[str, Any]], float | None]:
    """Per-notebook seconds and status, and the notebooks+site seconds, from ``run``'s output."""
    notebooks: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S+\.ipynb)\s+([\d.]+|-)\s+(ok|failed|skipped)\s*$", line)
        if m:
            secs = None if m.group(2) == "-" else float(m.group(2))
            notebooks[m.group(1)] = {"seconds": secs, "status": m.group(3)}
    elapsed = re.search(r"^elapsed: ([\d.]+) s$", stdout, flags=re.MULTILINE)
    return notebooks, float(elapsed.group(1)) if elapsed else None


def run_job(workdir: Path, args: argparse.Namespace, own_data: bool = False) -> dict[str, Any]:
    """Run ``python -m tradelib run`` once with outputs and site (and data unless ``own_data``)
    under ``workdir``."""
    env = dict(os.environ)
    if not own_data:
        env["TRADELIB_DATA"] = str(workdir / "data")
    cmd = [
        sys.executable, "-m", "tradelib", "run",
        "--partner", args.partner,
        "--out", str(workdir / "output"),
        "--site-dir", str(workdir / "site"),
        "--no-progress",
    ]  # fmt: skip
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    if args.mirror:
        cmd += ["--mirror", args.mirror]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    total = time.perf_counter() - start
    notebooks, notebooks_and_site = parse_run_output(proc.stdout)
    return {
        "exit_code": proc.returncode,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "book_seconds": parse_book_seconds(proc.stdout),
        "total_seconds": round(total, 1),
        "notebooks_and_site_seconds": notebooks_and_site,
        "data_seconds": round(total - notebooks_and_site, 1) if notebooks_and_site else None,
        "notebooks": notebooks,
        "stderr_tail": proc.stderr.strip().splitlines()[-5:] if proc.returncode else [],
    }


def report(results: dict[str, dict[str, Any]]) -> str:
    """A plain-text table of the cold and warm measurements."""
    results = {"cold": {}, **results} if "cold" not in results else results
    empty: dict[str, Any] = {"notebooks": {}}
    results = {k: v or empty for k, v in results.items()}
    names = sorted({n for r in results.values() for n in r["notebooks"]})
    width = max([len("notebooks + site")] + [len(n) for n in names])
    lines = [f"{'':<{width}}  {'cold s':>8}  {'warm s':>8}"]

    def cell(value: Any) -> str:
        return f"{value:8.1f}" if isinstance(value, int | float) else f"{'-':>8}"

    for label, key in (("total", "total_seconds"), ("data (fetch+build)", "data_seconds"),
                       ("notebooks + site", "notebooks_and_site_seconds"),
                       ("book build", "book_seconds")):  # fmt: skip
        lines.append(
            f"{label:<{width}}  {cell(results['cold'].get(key))}  {cell(results['warm'].get(key))}"
        )
    for n in names:
        c = results["cold"]["notebooks"].get(n, {})
        w = results["warm"]["notebooks"].get(n, {})
        status = w.get("status", c.get("status", ""))
        lines.append(f"{n:<{width}}  {cell(c.get('seconds'))}  {cell(w.get('seconds'))}  {status}")
    warm = results["warm"]["total_seconds"]
    verdict = "meets" if warm < TARGET_WARM_SECONDS else "misses"
    load = results["warm"].get("load_average") or ["?", "?"]
    lines.append(
        f"warm run {warm:.1f} s {verdict} the {TARGET_WARM_SECONDS:.0f} s target "
        f"(1-min load average {load[0]} before, {load[1]} after, on {os.cpu_count()} CPUs)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) the results."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--partner", default="Mexico")
    p.add_argument(
        "--jobs", type=int, help="notebooks executed at the same time (default: tradelib run's)"
    )
    p.add_argument("--mirror", help="mirror folder (default: tradelib's own resolution)")
    p.add_argument("--json", help="write the measurements to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument(
        "--warm-only",
        action="store_true",
        help="only the warm run, on the checkout's own (fetched and built) data folder",
    )
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tradelib-bench-"))
    try:
        if args.warm_only:
            results = {"warm": run_job(workdir, args, own_data=True)}
        else:
            results = {"cold": run_job(workdir, args), "warm": run_job(workdir, args)}
    finally:
        if not args.keep:
            from tradelib.publish.book import default_cache_dir

            # the book's incremental-build cache for this temporary site (build/book/...)
            shutil.rmtree(default_cache_dir(workdir / "site"), ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "partner": args.partner,
        "jobs": args.jobs if args.jobs is not None else default_jobs(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "bytecode_cache": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }
    print(json.dumps(meta))
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(meta | results, indent=1), encoding="utf-8")
    return max(r["exit_code"] for r in results.values())


if __name__ == "__main__":
    sys.exit(main())
