"""Fetch, build, execute every notebook and render the site (``python -m tradelib run``).

The committed notebooks in ``notebooks/`` are never modified by a normal run: each notebook is
executed with papermill into ``output/<partner-slug>/`` (parameters PARTNER, START, END, VINTAGE
injected), and the site is rendered from those copies into ``site/`` (``site/<slug>/`` for a
partner other than Mexico). ``--inplace`` re-executes the committed notebooks themselves with their
own parameters, which is how authors refresh the published outputs.

Safety: ``output/<slug>/`` is a folder ``run`` owns (:mod:`tradelib.publish.outdir`): each
executed copy is written to a temporary file and renamed into place only when every cell
succeeded, so a failing or interrupted notebook leaves the previous copy intact. ``--inplace``
executes a copy in memory and replaces the committed notebook only after every cell succeeded.
One ``run`` per checkout at a time (a lock; ``--wait`` waits for the other one). Ctrl-C or
SIGTERM stop the notebooks being executed and those queued, shut their kernels down, write a
summary marked incomplete and exit 130/143. ``run-summary.json`` records, per notebook, the
sha256 of the executed copy and of its source; :func:`verify_executed` checks that the executed
set is complete and current, and the site is rendered only then.

Notebooks whose metadata carries ``{"tradelib": {"partner_specific": "Mexico"}}`` only make sense
for that partner; for any other partner they are skipped with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tradelib.errors import TradelibError

DEFAULT_PARTNER = "Mexico"
PARAMETER_NAMES = ("PARTNER", "START", "END", "VINTAGE")
KERNEL_NAME = "python3"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
"""The kernel's own log (not the notebook's outputs) shows errors only: no start-up chatter."""


@functools.cache
def quiet_shutdown_kernel_manager() -> type:
    """A jupyter_client kernel manager that does not interrupt a kernel it is shutting down.

    jupyter_client sends SIGINT before every shutdown request, to stop a cell that might still
    run; ipykernel 7 then logs "ERROR | KeyboardInterrupt caught in kernel" to the terminal
    although nothing went wrong. Here the notebook has finished when the kernel is shut down
    (nbclient interrupts a timed-out cell itself, and ``run`` kills kernels on Ctrl-C), so the
    interrupt is skipped during shutdown only; ``interrupt_kernel()`` at any other time works.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    return QuietShutdownKernelManager


class NotebookRunError(TradelibError):
    """A notebook could not be executed (the message names the notebook and the cell)."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; ``results`` holds the notebooks finished before it."""

    def __init__(self, results: list[NotebookResult], signum: int = signal.SIGINT) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.results = results
        self.signum = signum


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Paths and partners
# --------------------------------------------------------------------------------------------


def default_notebook_dir() -> Path:
    """``<project>/notebooks``."""
    from tradelib import config

    return config.project_root() / "notebooks"


def default_output_dir() -> Path:
    """``<project>/output`` (git-ignored): executed copies go to ``output/<slug>/``."""
    from tradelib import config

    return config.project_root() / "output"


def default_site_dir(slug: str) -> Path:
    """``<project>/site`` for Mexico, ``<project>/site/<slug>`` for any other partner."""
    from tradelib import config

    root = config.project_root() / "site"
    return root if slug == slugify(DEFAULT_PARTNER) else root / slug


def slugify(text: str) -> str:
    """Lower-case ASCII slug: ``"Korea, South"`` -> ``"korea-south"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    if not slug:
        raise TradelibError(f"cannot make a folder name from partner {text!r}; give a name or code")
    return slug


def _resolvers() -> tuple[Callable[[Any], str], Callable[[str], str]] | None:
    """tradelib's ``partner_code`` / ``partner_name`` when the data layer provides them."""
    try:
        import tradelib
    except ImportError:  # pragma: no cover - the package itself
        return None
    code = getattr(tradelib, "partner_code", None)
    name = getattr(tradelib, "partner_name", None)
    if code is None or name is None:
        return None
    return code, name


def display_partner(partner: str | int) -> str:
    """The partner's name as Census writes it (``"1220"`` -> ``"Canada"``); as given if unknown."""
    resolvers = _resolvers()
    if resolvers is None:
        return str(partner)
    code, name = resolvers
    return str(name(code(partner)))


def same_partner(a: str | int, b: str | int) -> bool:
    """Whether two names or codes denote the same partner."""
    resolvers = _resolvers()
    if resolvers is not None:
        code, _ = resolvers
        try:
            return str(code(a)) == str(code(b))
        except TradelibError:
            pass
    return str(a).strip().lower() == str(b).strip().lower()


def partner_slug(partner: str | int) -> str:
    """Folder name for a partner's executed notebooks: ``"1220"`` -> ``"canada"``."""
    return slugify(display_partner(partner))


def list_notebooks(notebook_dir: Path, only: Iterable[str] | None = None) -> list[Path]:
    """Notebooks in ``notebook_dir`` in file-name order (``NN_name.ipynb``), optionally filtered.

    ``only`` holds substrings; a notebook is kept when its file name contains any of them.
    """
    if not notebook_dir.is_dir():
        raise NotebookRunError(f"{notebook_dir}: no such folder; pass --notebooks <folder>")
    paths = sorted(p for p in notebook_dir.glob("*.ipynb") if not p.name.startswith("."))
    if only:
        wanted = list(only)
        paths = [p for p in paths if any(w in p.name for w in wanted)]
    return paths


def partner_specific(nb: Any) -> str | None:
    """The partner a notebook is restricted to (metadata ``tradelib.partner_specific``), if any."""
    meta = nb.get("metadata", {}).get("tradelib", {}) or {}
    value = meta.get("partner_specific")
    return str(value) if value else None


# --------------------------------------------------------------------------------------------
# Executing notebooks
# --------------------------------------------------------------------------------------------


@dataclass
class NotebookResult:
    """Outcome of one notebook: ``status`` is ``ok``, ``failed`` or ``skipped``."""

    notebook: str
    status: str
    seconds: float = 0.0
    output: str | None = None
    message: str = ""
    cell_index: int | None = None
    skipped_cells: int = 0
    """Cells skipped because an optional source was absent (``# needs:``; see publish.needs)."""
    missing_sources: list[str] = field(default_factory=list)


@dataclass
class RunPlan:
    """What to execute and how."""

    notebooks: list[Path]
    out_dir: Path | None
    parameters: dict[str, Any] = field(default_factory=dict)
    partner: str = DEFAULT_PARTNER
    inplace: bool = False
    timeout: int = 600
    kernel: str = KERNEL_NAME
    cell_progress: bool = False


def excerpt(source: str, lines: int = 3, width: int = 100) -> str:
    """The first non-blank lines of a cell's source, shortened for an error message."""
    kept = [ln.rstrip()[:width] for ln in source.splitlines() if ln.strip()][:lines]
    more = len([ln for ln in source.splitlines() if ln.strip()]) > lines
    return " | ".join(kept) + (" | ..." if more else "")


def source_cell_index(nb_path: Path, source: str) -> int | None:
    """Index of the cell of the (unexecuted) notebook at ``nb_path`` whose source is ``source``."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except (OSError, ValueError):
        return None
    for i, cell in enumerate(nb.cells):
        if cell.get("source", "").strip() == source.strip():
            return i
    return None


def describe_failure(nb_path: Path, exc: BaseException) -> tuple[str, int | None]:
    """A message naming the notebook, the failing cell (index and source) and the error."""
    source = getattr(exc, "source", None)
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        evalue = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
    if source is None:
        return f"{nb_path.name}: {ename}: {evalue}", None
    index = source_cell_index(nb_path, source)
    where = f"cell {index}" if index is not None else "an injected cell"
    count = getattr(exc, "exec_count", None)
    if count is not None:
        where += f" (In [{count}] in the executed copy)"
    return f"{nb_path.name}, {where}: {ename}: {evalue}\n    source: {excerpt(source)}", index


def execute_with_papermill(
    src: Path,
    dst: Path,
    parameters: dict[str, Any],
    timeout: int,
    kernel: str,
    progress: bool = False,
) -> None:
    """Execute ``src`` into ``dst`` with papermill, injecting ``parameters``; cwd = src's folder.

    With ``progress`` a second progress bar counts the notebook's cells.
    """
    import logging

    import papermill as pm

    # papermill logs a warning for every parameters-cell line it cannot type (e.g. a list followed
    # by a comment); those lines are still used as written, so the warning is noise here.
    logging.getLogger("papermill.translators").setLevel(logging.ERROR)
    dst.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(src),
        str(dst),
        parameters=parameters or None,
        kernel_name=kernel,
        progress_bar=(
            {"leave": False, "position": 1, "desc": f"  {src.stem}", "file": sys.stderr}
            if progress
            else False
        ),
        log_output=False,
        request_save_on_cell_execute=False,
        cwd=str(src.parent),
        execution_timeout=timeout,
        extra_arguments=KERNEL_ARGUMENTS,
        kernel_manager_class=quiet_shutdown_kernel_manager(),
    )


def execute_inplace(src: Path, timeout: int, kernel: str) -> None:
    """Re-execute a committed notebook in place from a fresh kernel (no parameters injected).

    The notebook is executed as a copy in memory; the committed file is replaced (atomically)
    only when every cell succeeded. On a failure or an interrupt it is left exactly as it was,
    and the exception carries the failing cell's source (for :func:`describe_failure`).
    """
    import nbformat
    from nbclient import NotebookClient

    from tradelib.publish.outdir import atomic_write

    nb = nbformat.read(str(src), as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(src.parent)}},
        extra_arguments=KERNEL_ARGUMENTS,
        kernel_manager_class=quiet_shutdown_kernel_manager(),
    )
    try:
        client.execute()
    except Exception as exc:
        _attach_error_cell(nb, exc)
        raise
    text = nbformat.writes(nb)
    atomic_write(src, (text if text.endswith("\n") else text + "\n").encode("utf-8"))


def _attach_error_cell(nb: Any, exc: BaseException) -> None:
    """Give an nbclient CellExecutionError the attributes ``describe_failure`` reads."""
    # nbclient's error has ename/evalue but not the source; find the cell with an error output.
    if getattr(exc, "source", None) is not None:
        return
    for cell in nb.cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            exc.source = cell.source  # type: ignore[attr-defined]
            exc.exec_count = cell.get("execution_count")  # type: ignore[attr-defined]
            return


def run_one(src: Path, plan: RunPlan) -> NotebookResult:
    """Execute one notebook according to ``plan`` and report the outcome (never raises)."""
    import nbformat

    from tradelib.publish.outdir import OwnedDir

    try:
        nb = nbformat.read(str(src), as_version=4)
    except (OSError, ValueError) as exc:
        return NotebookResult(src.name, "failed", message=f"{src}: cannot be read as a notebook "
                              f"({exc}); restore it (git checkout) or fix the JSON")
    only_for = partner_specific(nb)
    owned = None if plan.inplace or plan.out_dir is None else \
        OwnedDir.claim(plan.out_dir, command="run")
    if only_for and not same_partner(only_for, plan.partner):
        if owned is not None and src.name in owned.owned():
            owned.remove(src.name)  # never leave an output from an earlier run behind
        return NotebookResult(
            src.name,
            "skipped",
            message=f"{src.name} is specific to {only_for} by nature; skipped for {plan.partner}.",
        )
    start = time.perf_counter()
    try:
        if plan.inplace:
            execute_inplace(src, plan.timeout, plan.kernel)
            out = src
        else:
            assert owned is not None
            out = owned.path(src.name)
            with owned.atomic(src.name) as tmp:
                execute_with_papermill(
                    src, tmp, plan.parameters, plan.timeout, plan.kernel, plan.cell_progress
                )
    except Exception as exc:  # noqa: BLE001 - any failure is reported per notebook
        if _LAST_SIGNAL:  # an interrupt that nbclient turned into "kernel died" / cancelled
            raise KeyboardInterrupt(f"signal {_LAST_SIGNAL['signum']}") from None
        message, index = describe_failure(src, exc)
        if not plan.inplace and out.exists():
            message += f"\n    {out} still holds the previous executed copy (not this run's)"
        return NotebookResult(src.name, "failed", time.perf_counter() - start, None, message, index)
    return _with_skips(NotebookResult(src.name, "ok", time.perf_counter() - start, str(out)))


def _with_skips(result: NotebookResult) -> NotebookResult:
    """Fill ``skipped_cells``/``missing_sources`` from the executed copy, with a note saying so."""
    from tradelib.publish.needs import missing_labels, read_skipped

    try:
        skipped = read_skipped(result.output)
    except (OSError, ValueError):  # pragma: no cover - the copy was just written
        return result
    if skipped:
        result.skipped_cells = len(skipped)
        result.missing_sources = missing_labels(skipped)
        result.message = (f"{result.notebook}: {len(skipped)} cell(s) skipped, these sources are "
                          f"not available here: {', '.join(result.missing_sources)} (the "
                          "executed copy says how to get each; `python -m tradelib fetch "
                          "--archive latest` brings them all)")
    return result


def run_notebooks(
    plan: RunPlan,
    *,
    jobs: int = 1,
    progress: bool = True,
    runner: Callable[[Path, RunPlan], NotebookResult] = run_one,
    durations: dict[str, float] | None = None,
    isolate: bool = False,
) -> list[NotebookResult]:
    """Execute every notebook of ``plan`` (``jobs`` at a time) with a tqdm progress bar.

    With several jobs, notebooks start longest first according to ``durations`` (seconds by file
    name, e.g. from the previous run's summary; unknown ones count as longest), which shortens the
    whole run when one notebook dominates. Results come back in notebook order.

    With ``isolate`` (what the command line uses) notebooks always run in worker processes, even
    one at a time: nbclient takes over SIGINT/SIGTERM while it executes, so only a process that
    does not execute notebooks itself can stop the run promptly on Ctrl-C or SIGTERM
    (:func:`stop_pool` kills the workers and their kernels). Raises :class:`RunInterrupted`.
    """
    from tqdm.auto import tqdm

    results: dict[str, NotebookResult] = {}
    bar = tqdm(total=len(plan.notebooks), unit="nb", disable=not progress, file=sys.stderr)
    try:
        if not isolate and (jobs <= 1 or len(plan.notebooks) <= 1):
            plan = replace(plan, cell_progress=progress)
            for src in plan.notebooks:
                bar.set_description(src.stem)
                res = runner(src, plan)
                results[src.name] = res
                bar.set_postfix_str(f"{res.status} {res.seconds:.0f}s")
                bar.update(1)
        else:
            if jobs <= 1:
                plan = replace(plan, cell_progress=progress)
            pool = ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_worker_init)
            try:
                order = longest_first(plan.notebooks, durations or {})
                futures = {pool.submit(runner, src, plan): src for src in order}
                bar.set_description(f"{jobs} at a time")
                for fut in as_completed(futures):
                    res = fut.result()
                    results[res.notebook] = res
                    bar.set_postfix_str(f"{res.notebook} {res.status}")
                    bar.update(1)
            except BaseException:
                stop_pool(pool)
                raise
            pool.shutdown(wait=True)
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        # nbclient runs an asyncio loop: Ctrl-C there may surface as CancelledError
        done = [results[p.name] for p in plan.notebooks if p.name in results]
        signum = getattr(exc, "signum", None) or _LAST_SIGNAL.get("signum", signal.SIGINT)
        raise RunInterrupted(done, signum) from None
    finally:
        bar.close()
    return [results[p.name] for p in plan.notebooks]


_LAST_SIGNAL: dict[str, int] = {}


def _raise_interrupt(signum: int, frame: Any) -> None:
    _LAST_SIGNAL["signum"] = signum
    exc = KeyboardInterrupt(f"signal {signum}")
    exc.signum = signum  # type: ignore[attr-defined]
    raise exc


def _worker_init() -> None:  # pragma: no cover - runs in the worker processes
    """Notebook workers leave Ctrl-C to the run process (which stops them), and on Linux die
    with it, even when it is killed with ``kill -9`` (their kernels then exit by themselves:
    ipykernel polls its parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued notebooks and kill the running ones at once: each worker process, and
    the process group of every kernel it started (a kernel runs in its own session)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    kernels = [k for proc in procs if proc.pid for k in _children(proc.pid)]
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(OSError, AttributeError):
            proc.kill()
    for k in kernels:
        with contextlib.suppress(OSError):
            os.killpg(k, signal.SIGKILL) if os.getpgid(k) == k else os.kill(k, signal.SIGKILL)
    for proc in procs:
        proc.join(5)


def remove_orphans(out_dir: Path, notebooks: list[Path]) -> list[Path]:
    """Delete executed copies ``run`` wrote to ``out_dir`` whose source notebook no longer
    exists (files ``run`` did not write are never touched)."""
    from tradelib.publish.book import SUMMARY_FILE
    from tradelib.publish.outdir import OwnedDir

    owned = OwnedDir.claim(out_dir, command="run")
    keep = {p.name for p in notebooks} | {SUMMARY_FILE}
    return [p for p in owned.remove_stale(keep | {n for n in owned.owned()
                                                  if not n.endswith(".ipynb")})]


def longest_first(notebooks: list[Path], durations: dict[str, float]) -> list[Path]:
    """Notebooks sorted by expected duration, longest (or unknown) first; ties keep file order."""
    return sorted(notebooks, key=lambda p: -durations.get(p.name, float("inf")))


def previous_durations(out_dir: Path) -> dict[str, float]:
    """Seconds per notebook from the ``run-summary.json`` of an earlier run (empty if none)."""
    from tradelib.publish.book import SUMMARY_FILE

    path = out_dir / SUMMARY_FILE
    try:
        results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {
        str(r["notebook"]): float(r["seconds"])
        for r in results
        if isinstance(r, dict) and r.get("status") == "ok" and "notebook" in r and "seconds" in r
    }


def summary_table(results: list[NotebookResult]) -> str:
    """Plain-text table: notebook, seconds, status (failure and skip messages below it)."""
    width = max([len("notebook")] + [len(r.notebook) for r in results])
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  status", f"{'-' * width}  {'-' * 8}  ------"]
    for r in results:
        secs = f"{r.seconds:8.1f}" if r.status != "skipped" else f"{'-':>8}"
        lines.append(f"{r.notebook:<{width}}  {secs}  {r.status}")
    total = sum(r.seconds for r in results)
    lines.append(f"{'total':<{width}}  {total:8.1f}")
    notes = [r.message for r in results if r.message]
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines)


def write_summary(
    out_dir: Path,
    results: list[NotebookResult],
    parameters: dict[str, Any],
    partner: str,
    *,
    sources: Iterable[Path] | None = None,
    interrupted: bool = False,
) -> Path:
    """Write ``run-summary.json`` next to the executed notebooks (atomically; read by the site).

    ``sources`` are every source notebook the executed set must cover (default: the notebooks
    of ``results``). Each result records the sha256 of its executed copy (``executed_sha256``)
    and of its source (``source_sha256``, when ``sources`` are given). ``complete`` is true only
    when the run was not interrupted and every source has a result ``ok`` or ``skipped``.
    """
    from tradelib.publish.book import SUMMARY_FILE
    from tradelib.publish.outdir import OwnedDir

    owned = OwnedDir.claim(out_dir, command="run")
    src_paths = {p.name: p for p in (sources or [])}
    rows = []
    for r in results:
        row = asdict(r)
        out = out_dir / r.notebook
        row["executed_sha256"] = _sha256(out) if r.status == "ok" and out.is_file() else None
        src = src_paths.get(r.notebook)
        row["source_sha256"] = _sha256(src) if src is not None and src.is_file() else None
        rows.append(row)
    expected = sorted(src_paths) if src_paths else [r.notebook for r in results]
    statuses = {r.notebook: r.status for r in results}
    missing = [n for n in expected if statuses.get(n) not in ("ok", "skipped")]
    payload = {
        "partner": partner,
        "parameters": parameters,
        "complete": not interrupted and not missing,
        "interrupted": interrupted,
        "incomplete_notebooks": missing,
        "written_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "results": rows,
    }
    # --- issue 10: provenance (software, BLAS kernel, platform, data vintages) ---
    from tradelib.publish import provenance

    payload["provenance"] = provenance.collect()
    # --- end issue 10 ---
    return owned.write_text(SUMMARY_FILE, json.dumps(payload, indent=1, default=str))


def verify_executed(out_dir: str | Path, notebook_dir: str | Path | None = None) -> list[str]:
    """Problems that stop ``out_dir`` from being a complete, current set of executed notebooks.

    Empty list = publishable: ``run-summary.json`` exists and says ``complete``; every notebook
    it lists as ``ok`` is present with the sha256 it recorded (not re-executed, edited or
    swapped since); no other executed notebook lies in the folder; and, with ``notebook_dir``,
    the source notebooks are the ones that were executed (same names, unchanged since).
    """
    from tradelib.publish.book import SUMMARY_FILE

    out_dir = Path(out_dir)
    path = out_dir / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{path}: no run summary; run `python -m tradelib run` first"]
    except (OSError, ValueError) as exc:
        return [f"{path}: unreadable ({exc}); re-run `python -m tradelib run`"]
    if not isinstance(summary, dict) or not isinstance(summary.get("results"), list):
        return [f"{path}: not a run summary; re-run `python -m tradelib run`"]
    problems = []
    if summary.get("interrupted"):
        problems.append(f"{path}: the last run was interrupted; re-run `python -m tradelib run`")
    elif not summary.get("complete"):
        names = ", ".join(summary.get("incomplete_notebooks") or []) or "some notebooks"
        problems.append(f"{path}: the last run did not complete ({names} failed or did not run); "
                        "fix them and re-run `python -m tradelib run`")
    listed = {}
    for r in summary["results"]:
        if isinstance(r, dict) and "notebook" in r:
            listed[str(r["notebook"])] = r
    for name, r in listed.items():
        if r.get("status") != "ok":
            continue
        f = out_dir / name
        if not f.is_file():
            problems.append(f"{f}: listed as executed in {SUMMARY_FILE} but missing; re-run")
        elif r.get("executed_sha256") != _sha256(f):
            problems.append(f"{f}: changed since the run recorded it (sha256 differs); re-run")
    extra = sorted(p.name for p in out_dir.glob("*.ipynb")
                   if not p.name.startswith(".") and p.name not in listed)
    if extra:
        problems.append(f"{out_dir}: executed notebooks not in {SUMMARY_FILE}: {extra}; re-run")
    if notebook_dir is not None:
        sources = {p.name: p for p in Path(notebook_dir).glob("*.ipynb")
                   if not p.name.startswith(".")}
        for name in sorted(sources.keys() - listed.keys()):
            problems.append(f"{sources[name]}: not executed by the last run; re-run")
        for name in sorted(sources.keys() & listed.keys()):
            want = listed[name].get("source_sha256")
            if want and want != _sha256(sources[name]):
                problems.append(f"{sources[name]}: edited since the last run; re-run")
    return problems


def build_parameters(
    partner: str, start: str | None, end: str | None, vintage: str | None
) -> dict[str, Any]:
    """Parameters to inject: PARTNER always, START/END/VINTAGE only when given (``"none"`` = None)."""
    params: dict[str, Any] = {"PARTNER": partner}
    for name, value in (("START", start), ("END", end), ("VINTAGE", vintage)):
        if value is None:
            continue
        params[name] = None if value.strip().lower() in ("none", "null", "") else value
    return params


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def month_arg(text: str) -> str:
    """argparse type for ``--start``/``--end``: ``YYYY-MM`` not after the current month, or
    ``none``."""
    if text.strip().lower() in ("none", "null"):
        return "none"
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; write YYYY-MM, e.g. 2019-01")
    now = dt.date.today()
    if (int(m.group(1)), int(m.group(2))) > (now.year, now.month):
        raise argparse.ArgumentTypeError(
            f"{text} is in the future (this is {now:%Y-%m}); no data exists yet. Give a month up "
            "to the latest published one"
        )
    if int(m.group(1)) < 1985:
        raise argparse.ArgumentTypeError(f"{text} is before 1985-01, where the Census data start")
    return text.strip()


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m tradelib run``."""
    parser.description = (
        "Fetch and build the data, execute every notebook for a partner into output/<slug>/, "
        "and render the HTML site."
    )
    parser.add_argument(
        "--partner", default=DEFAULT_PARTNER, help="partner name or Census code (default Mexico)"
    )
    parser.add_argument("--start", type=month_arg,
                        help="first month, YYYY-MM (default: each notebook's own)")
    parser.add_argument("--end", type=month_arg,
                        help="last month, YYYY-MM, or 'none' for the latest")
    parser.add_argument("--vintage", help="data vintage YYYY-MM or 'latest'")
    parser.add_argument("--mirror", help="copy raw files from this mirror folder")
    # --- issue 10: data archive ---
    parser.add_argument(
        "--archive",
        metavar="URL|PATH|RELEASE",
        help="take the raw files from a verified data archive (URL, path or release id such as "
        "'latest') instead of the mirror or the publishers",
    )
    # --- end issue 10 ---
    parser.add_argument("--no-fetch", action="store_true", help="skip the fetch step")
    parser.add_argument("--no-build", action="store_true", help="skip the build step")
    parser.add_argument("--no-site", action="store_true", help="do not render the site")
    parser.add_argument("--notebooks", help="folder of source notebooks (default notebooks/)")
    parser.add_argument("--only", action="append", help="only notebooks whose name contains this")
    parser.add_argument("--out", help="folder for executed copies (default output/)")
    parser.add_argument("--site-dir", help="site folder (default site/ or site/<slug>/)")
    parser.add_argument(
        "--inplace",
        action="store_true",
        help="re-execute the committed notebooks in place (Mexico, their own parameters only)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="notebooks executed at the same time (default: $TRADELIB_JOBS, else 2 when the "
        "machine has 2 or more CPUs)",
    )
    parser.add_argument("--timeout", type=positive_int, default=600,
                        help="seconds per cell (default 600)")
    parser.add_argument("--wait", action="store_true",
                        help="if another run holds this checkout's lock, wait for it to finish")
    parser.add_argument("--kernel", default=KERNEL_NAME, help="Jupyter kernel name")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def default_jobs() -> int:
    """``$TRADELIB_JOBS`` if set, else 2 on a machine with 2+ CPUs (notebooks are single-threaded)."""
    env = os.environ.get("TRADELIB_JOBS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise TradelibError(f"TRADELIB_JOBS={env!r} is not a whole number; unset it") from exc
    return min(2, os.cpu_count() or 1)


def fetch_each(mirror: str | None) -> dict[str, str]:
    """Fetch every source; one that fails is reported and skipped. Returns ``{source: error}``.

    A source that cannot be fetched (e.g. the Census API without ``CENSUS_API_KEY``) should not
    stop the notebooks that do not need it; those that do fail with the loader's message.
    """
    from tradelib.data import fetch
    from tradelib.data.sources import SOURCES

    failed: dict[str, str] = {}
    for sid in SOURCES:
        try:
            fetch.fetch_all(mirror=mirror, sources=[sid])
        except TradelibError as exc:
            failed[sid] = str(exc)
            print(f"fetch: {sid} skipped: {exc}", file=sys.stderr)
    if failed and len(failed) == len(SOURCES):
        raise TradelibError(
            "fetch: no source could be fetched (first error: "
            f"{next(iter(failed.values()))}); check the mirror (--mirror DIR) or the connection"
        )
    return failed


def build_each() -> dict[str, str]:
    """Build every source; one that fails is reported and skipped. Returns ``{source: error}``.

    Like :func:`fetch_each`: a source that cannot be built must not stop the notebooks that do
    not need it; those that do fail with the loader's message (and the run exits non-zero).
    """
    from tradelib.data import load
    from tradelib.data.sources import SOURCES

    failed: dict[str, str] = {}
    for sid in SOURCES:
        try:
            load.build_all([sid])
        except TradelibError as exc:
            failed[sid] = str(exc)
            print(f"build: {sid} skipped: {exc}", file=sys.stderr)
    return failed


def _prepare_data(args: argparse.Namespace) -> None:
    """Fetch and build, unless switched off."""
    if not args.no_fetch and getattr(args, "archive", None):  # issue 10: data archive
        from tradelib.data import archive

        print(f"fetch: raw files from the data archive {args.archive}", file=sys.stderr)
        archive.unpack(args.archive)
    elif not args.no_fetch:
        print("fetch: raw files", file=sys.stderr)
        fetch_each(args.mirror)
    if not args.no_build:
        print("build: parse, validate, cache", file=sys.stderr)
        build_each()


@contextlib.contextmanager
def run_lock(wait: bool = False) -> Iterator[None]:
    """One ``run`` per checkout: an exclusive lock on the project folder (released on exit,
    also when the process is killed). Without ``wait`` a second run stops with a message."""
    from tradelib import config

    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    root = config.project_root()
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise TradelibError(
                f"{root}: another `python -m tradelib run` is running in this checkout. Wait for "
                "it to finish, or pass --wait to queue behind it."
            ) from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt and are remembered (``_LAST_SIGNAL``), so a
    run stops as on Ctrl-C even when nbclient reports the interrupt as a dead kernel."""
    _LAST_SIGNAL.clear()
    try:
        previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(args: argparse.Namespace) -> int:
    """Run the pipeline; exit code 1 when a notebook failed or the executed set is incomplete,
    130/143 when interrupted by Ctrl-C/SIGTERM."""
    from tradelib.publish.book import skip_iri_grammars  # issue 15: seconds per process

    skip_iri_grammars()
    inplace_error = TradelibError(
        "--inplace refreshes the committed notebooks with their own parameters; it cannot be "
        "combined with --partner/--start/--end/--vintage (drop --inplace to write copies)"
    )
    if args.inplace and (args.start or args.end or args.vintage):
        raise inplace_error
    if args.start and args.end and args.end != "none" and args.start > args.end:
        raise TradelibError(f"--start {args.start} is after --end {args.end}; swap them")
    with run_lock(getattr(args, "wait", False)), _terminate_as_interrupt():
        try:
            return _main_locked(args, inplace_error)
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            signum = getattr(exc, "signum", None) or _LAST_SIGNAL.get("signum", signal.SIGINT)
            print("run: interrupted before the notebooks started; nothing was executed",
                  file=sys.stderr)
            return 128 + int(signum)


def _main_locked(args: argparse.Namespace, inplace_error: TradelibError) -> int:
    if args.mirror:  # the kernels must look in the same mirror as the fetch (needs, loaders)
        os.environ["TRADELIB_MIRROR"] = str(Path(args.mirror).expanduser().resolve())
    _prepare_data(args)  # first: resolving the partner's name reads the data
    partner = display_partner(args.partner)
    slug = slugify(partner)
    if args.inplace and not same_partner(partner, DEFAULT_PARTNER):
        raise inplace_error
    nb_dir = Path(args.notebooks) if args.notebooks else default_notebook_dir()
    all_notebooks = list_notebooks(nb_dir)
    notebooks = list_notebooks(nb_dir, args.only)
    if not notebooks:
        raise NotebookRunError(f"{nb_dir}: no notebooks (*.ipynb) to execute"
                               + (f" matching --only {args.only}" if args.only else ""))
    out_dir = (
        nb_dir if args.inplace else (Path(args.out) if args.out else default_output_dir()) / slug
    )
    if not args.inplace:
        from tradelib.publish.book import SUMMARY_FILE
        from tradelib.publish.outdir import OwnedDir

        legacy = None if args.out else {p.name for p in all_notebooks} | {SUMMARY_FILE}
        owned = OwnedDir.claim(out_dir, command="run", protected=[nb_dir], option="--out",
                               legacy=legacy)  # output/<slug>/ of an older tradelib: adopted
        owned.remove_partials()  # temporaries of a run that was killed (we hold the run lock)
    params = {} if args.inplace else build_parameters(partner, args.start, args.end, args.vintage)
    plan = RunPlan(
        notebooks=notebooks,
        out_dir=None if args.inplace else out_dir,
        parameters=params,
        partner=partner,
        inplace=args.inplace,
        timeout=args.timeout,
        kernel=args.kernel,
    )
    where = "in place" if args.inplace else f"into {out_dir}"
    print(f"run: {len(notebooks)} notebooks for {partner} {where}", file=sys.stderr)
    t0 = time.perf_counter()
    jobs = default_jobs() if args.jobs is None else max(1, args.jobs)
    if not args.inplace and not args.only:
        remove_orphans(out_dir, notebooks)
    durations = previous_durations(out_dir) if not args.inplace else {}
    previous = _previous_results(out_dir, params) if args.only and not args.inplace else {}
    try:
        results = run_notebooks(plan, jobs=jobs, progress=not args.no_progress, durations=durations,
                                isolate=True)
    except RunInterrupted as exc:
        done = {r.notebook for r in exc.results}
        if not args.inplace:
            owned.remove_partials()  # temporaries of the notebooks that were stopped
            merged = _merge_results(all_notebooks, exc.results, previous, skip=done)
            write_summary(out_dir, merged, params, partner, sources=all_notebooks,
                          interrupted=True)
        print(summary_table(exc.results) if exc.results else "no notebook finished")
        print(
            f"run: interrupted (signal {exc.signum}); {len(done)} of {len(notebooks)} notebooks "
            "finished. Notebooks not finished keep their previous outputs"
            + (" (the committed notebooks are unchanged)." if args.inplace else
               f"; {out_dir / 'run-summary.json'} is marked incomplete and the site was not "
               "rebuilt. Re-run to complete."),
            file=sys.stderr,
        )
        return 128 + int(exc.signum)
    if not args.inplace:
        merged = _merge_results(all_notebooks, results, previous,
                                skip={r.notebook for r in results})
        write_summary(out_dir, merged, params, partner, sources=all_notebooks)
    print(summary_table(results))
    failed = [r for r in results if r.status == "failed"]
    incomplete = False
    if not args.no_site and not args.inplace:
        # --- site: the Jupyter Book (issue 15) ---
        from tradelib.publish import book

        site_dir = Path(args.site_dir) if args.site_dir else default_site_dir(slug)
        problems = verify_executed(out_dir, nb_dir)
        if problems:
            incomplete = True
            print("site: not rebuilt, the executed notebooks are not a complete, current set:\n  "
                  + "\n  ".join(problems), file=sys.stderr)
        else:
            built = book.build_book(
                out_dir, site_dir, partner=partner, cache_dir=book.default_cache_dir(site_dir)
            )
            print(
                f"site: {len(built.pages)} pages in {site_dir}, built in {built.seconds:.1f} s "
                f"(open {built.pages[0]})"
            )
        # --- end site ---
    print(f"elapsed: {time.perf_counter() - t0:.1f} s")
    if failed:
        print(
            f"{len(failed)} notebook(s) failed: " + ", ".join(r.notebook for r in failed),
            file=sys.stderr,
        )
        return 1
    return 1 if incomplete else 0


def _previous_results(out_dir: Path, params: dict[str, Any]) -> dict[str, NotebookResult]:
    """Results of the previous run into ``out_dir`` with the same parameters (for ``--only``)."""
    from tradelib.publish.book import SUMMARY_FILE

    try:
        summary = json.loads((out_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(summary, dict) or summary.get("parameters") != params:
        return {}
    out = {}
    fields = set(NotebookResult.__dataclass_fields__)
    for r in summary.get("results") or []:
        if not isinstance(r, dict) or "notebook" not in r or "status" not in r:
            continue
        f = out_dir / str(r["notebook"])
        if r["status"] == "ok" and (not f.is_file() or r.get("executed_sha256") != _sha256(f)):
            continue  # that copy is gone or changed: it no longer counts
        out[str(r["notebook"])] = NotebookResult(**{k: v for k, v in r.items() if k in fields})
    return out


def _merge_results(all_notebooks: list[Path], results: list[NotebookResult],
                   previous: dict[str, NotebookResult], skip: set[str]) -> list[NotebookResult]:
    """This run's results, plus the previous run's for notebooks this run did not execute."""
    mine = {r.notebook: r for r in results}
    merged = []
    for p in all_notebooks:
        if p.name in mine:
            merged.append(mine[p.name])
        elif p.name not in skip and p.name in previous:
            merged.append(previous[p.name])
        else:
            merged.append(NotebookResult(p.name, "not run", message=""))
    return merged
