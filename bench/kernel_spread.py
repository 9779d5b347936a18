"""Execute every notebook under several OpenBLAS kernels and tabulate how the recorded results move.

OpenBLAS chooses a CPU kernel (Haswell, SkylakeX, Zen, Sandybridge, ...) at start-up; the
``OPENBLAS_CORETYPE`` environment variable forces one. Different kernels sum in different orders,
so an ill-conditioned fit can land elsewhere. This script executes every committed notebook once
per kernel (its own parameters, as ``tests/test_output_regression.py`` does, into a temporary
folder; nothing in the checkout changes), reads every ``report.record`` value back and prints,
for each recorded number that differs between kernels or from the committed notebook:

    notebook | metric | committed | value per kernel | spread (max - min) | recorded tolerance | ok

``ok`` says whether every kernel's value is within the recorded tolerance of the committed one
(default rel 1e-6 / abs 1e-9). A kernel the CPU cannot execute (SkylakeX needs AVX-512) is probed
first and reported as such instead of crashing every notebook. The environment variable is set
only for the child processes this script starts: never set it in tests or CI.

Usage::

    python bench/kernel_spread.py                          # the four kernels of issue 10
    python bench/kernel_spread.py --kernels Haswell Zen --json spread.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KERNELS = ["Haswell", "SkylakeX", "Zen", "Sandybridge"]
REL, ABS = 1e-6, 1e-9
PROBE = ("import numpy as np, scipy.linalg as sl; a = np.random.default_rng(0).random((200, 200));"
         " sl.qr(a @ a.T); np.linalg.solve(a @ a.T + np.eye(200), a[:, 0])")


def probe(kernel: str) -> str | None:
    """None when the kernel runs on this CPU, else why not (e.g. illegal instruction)."""
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode == 0:
        return None
    if proc.returncode < 0:
        import signal

        return f"crashes with {signal.Signals(-proc.returncode).name} on this CPU"
    return f"exit code {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"


def child(out: Path, jobs: int) -> int:
    """Run in the child process: execute every notebook into ``out``; write BLAS info."""
    from tradelib import config
    from tradelib.publish import provenance, run

    notebooks = sorted((config.project_root() / "notebooks").glob("[0-9]*.ipynb"))
    plan = run.RunPlan(notebooks, out, parameters={}, partner=run.DEFAULT_PARTNER, timeout=600)
    results = run.run_notebooks(plan, jobs=jobs, progress=False)
    (out / "blas.json").write_text(json.dumps(provenance.blas_info(), indent=1))
    (out / "results.json").write_text(json.dumps(
        [{"notebook": r.notebook, "status": r.status, "seconds": round(r.seconds, 1),
          "message": r.message} for r in results], indent=1))
    return 0


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Flatten nested records to ``{path: scalar}``."""
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in leaves(sub, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, sub in enumerate(value) for k, v in leaves(sub, f"{path}[{i}]").items()}
    return {path: value}


def is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def tabulate(committed_dir: Path, runs: dict[str, Path]) -> list[dict[str, Any]]:
    """One row per recorded leaf value that differs across kernels or from the committed one."""
    from tradelib.publish import report

    rows = []
    for nb in sorted(committed_dir.glob("[0-9]*.ipynb")):
        committed = report.read_records(nb)
        fresh = {}
        for kernel, folder in runs.items():
            path = folder / nb.name
            fresh[kernel] = report.read_records(path) if path.exists() else {}
        for name, payload in committed.items():
            tol = payload.get("tolerance") or {}
            rel, abs_ = float(tol.get("rel", REL)), float(tol.get("abs", ABS))
            base = leaves(payload["value"], name)
            per = {k: leaves(f[name]["value"], name) if name in f else {} for k, f in fresh.items()}
            for leaf, ref in base.items():
                vals = {k: p.get(leaf, "missing") for k, p in per.items()}
                same = all(v == ref for v in vals.values())
                if same:
                    continue
                nums = [v for v in vals.values() if is_num(v)]
                spread = (max(nums) - min(nums)) if nums and len(nums) == len(vals) else None
                dev = (max(abs(v - ref) for v in nums) if is_num(ref) and nums
                       and len(nums) == len(vals) else None)
                ok = all(is_num(v) and is_num(ref) and math.isclose(v, ref, rel_tol=rel,
                                                                   abs_tol=abs_)
                         or v == ref for v in vals.values())
                rows.append({"notebook": nb.name, "metric": leaf, "committed": ref,
                             "values": vals, "spread": spread, "max_dev_from_committed": dev,
                             "tolerance": payload.get("tolerance"), "ok": ok})
        for kernel, f in fresh.items():
            for name in sorted(set(f) - set(committed)):
                rows.append({"notebook": nb.name, "metric": name, "committed": "absent",
                             "values": {kernel: f[name]["value"]}, "spread": None,
                             "max_dev_from_committed": None, "tolerance": None, "ok": False})
    return rows


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def markdown(rows: list[dict[str, Any]], kernels: list[str]) -> str:
    head = ["notebook", "metric", "committed", *kernels, "spread", "max |dev|", "tolerance", "ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["notebook"].split("_")[0], r["metric"], fmt(r["committed"]),
                 *(fmt(r["values"].get(k, "-")) for k in kernels),
                 fmt(r["spread"]) if r["spread"] is not None else "-",
                 fmt(r["max_dev_from_committed"]) if r["max_dev_from_committed"] is not None
                 else "-", json.dumps(r["tolerance"]) if r["tolerance"] else "default",
                 "yes" if r["ok"] else "NO"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernels", nargs="+", default=KERNELS)
    p.add_argument("--jobs", type=int, default=2, help="notebooks at a time per kernel")
    p.add_argument("--json", help="write the rows and run details to this file")
    p.add_argument("--keep", help="folder for the executed copies (default: a temporary one)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(Path(args.child), args.jobs)

    from tradelib.data import fetch, load

    fetch.fetch_all()  # store and cache the data once, as the regression test does
    load.build_all()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kernel-spread-"))
    runs: dict[str, Path] = {}
    details: dict[str, Any] = {}
    for kernel in args.kernels:
        why = probe(kernel)
        if why:
            print(f"{kernel}: not measured ({why})", file=sys.stderr)
            details[kernel] = {"skipped": why}
            continue
        out = base / kernel
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        print(f"{kernel}: executing the notebooks into {out}", file=sys.stderr)
        subprocess.run([sys.executable, __file__, "--child", str(out), "--jobs", str(args.jobs)],
                       env=env, check=True)
        runs[kernel] = out
        details[kernel] = {
            "blas": json.loads((out / "blas.json").read_text()),
            "results": json.loads((out / "results.json").read_text()),
        }
        failed = [r for r in details[kernel]["results"] if r["status"] != "ok"]
        for r in failed:
            print(f"{kernel}: {r['notebook']} {r['status']}: {r['message']}", file=sys.stderr)
    rows = tabulate(REPO / "notebooks", runs)
    measured = list(runs)
    print(f"kernels measured: {', '.join(measured)} (kernel reported by threadpoolctl: "
          + ", ".join(f"{k}={details[k]['blas'][0].get('architecture')}" for k in measured)
          + ")")
    for k, d in details.items():
        if "skipped" in d:
            print(f"kernel {k}: {d['skipped']}")
    print(f"{len(rows)} recorded values differ between kernels or from the committed notebooks")
    print(markdown(rows, measured))
    if args.json:
        Path(args.json).write_text(json.dumps({"kernels": details, "rows": rows}, indent=1,
                                              default=str))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
