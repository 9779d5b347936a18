"""Fetch, build, execute every notebook and render the site (``python -m tradelib run``).

The committed notebooks in ``notebooks/`` are never modified by a normal run: each notebook is
executed with papermill into ``output/<partner-slug>/`` (parameters PARTNER, START, END, VINTAGE
injected), and the site is rendered from those copies into ``site/`` (``site/<slug>/`` for a
partner other than Mexico). ``--inplace`` re-executes the committed notebooks themselves with their
own parameters, which is how authors refresh the published outputs.

Notebooks whose metadata carries ``{"tradelib": {"partner_specific": "Mexico"}}`` only make sense
for that partner; for any other partner they are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
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


class NotebookRunError(TradelibError):
    """A notebook could not be executed (the message names the notebook and the cell)."""


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
    )


def execute_inplace(src: Path, timeout: int, kernel: str) -> None:
    """Re-execute a committed notebook in place from a fresh kernel (no parameters injected)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(src), as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(src.parent)}},
        extra_arguments=KERNEL_ARGUMENTS,
    )
    try:
        client.execute()
    finally:
        nbformat.write(nb, str(src))


def _inplace_error(src: Path, exc: BaseException) -> BaseException:
    """Give an nbclient CellExecutionError the attributes ``describe_failure`` reads."""
    # nbclient's error has ename/evalue but not the source; find the cell with an error output.
    import nbformat

    if getattr(exc, "source", None) is None:
        try:
            nb = nbformat.read(str(src), as_version=4)
        except (OSError, ValueError):
            return exc
        for cell in nb.cells:
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                exc.source = cell.source  # type: ignore[attr-defined]
                exc.exec_count = cell.get("execution_count")  # type: ignore[attr-defined]
                break
    return exc


def run_one(src: Path, plan: RunPlan) -> NotebookResult:
    """Execute one notebook according to ``plan`` and report the outcome (never raises)."""
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    only_for = partner_specific(nb)
    stale = None if plan.inplace or plan.out_dir is None else plan.out_dir / src.name
    if stale is not None and stale.exists():
        stale.unlink()  # never leave an output from an earlier run behind
    if only_for and not same_partner(only_for, plan.partner):
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
            assert plan.out_dir is not None
            out = plan.out_dir / src.name
            execute_with_papermill(
                src, out, plan.parameters, plan.timeout, plan.kernel, plan.cell_progress
            )
    except Exception as exc:  # noqa: BLE001 - any failure is reported per notebook
        if plan.inplace:
            exc = _inplace_error(src, exc)
        message, index = describe_failure(src, exc)
        return NotebookResult(src.name, "failed", time.perf_counter() - start, None, message, index)
    return NotebookResult(src.name, "ok", time.perf_counter() - start, str(out))


def run_notebooks(
    plan: RunPlan,
    *,
    jobs: int = 1,
    progress: bool = True,
    runner: Callable[[Path, RunPlan], NotebookResult] = run_one,
    durations: dict[str, float] | None = None,
) -> list[NotebookResult]:
    """Execute every notebook of ``plan`` (``jobs`` at a time) with a tqdm progress bar.

    With several jobs, notebooks start longest first according to ``durations`` (seconds by file
    name, e.g. from the previous run's summary; unknown ones count as longest), which shortens the
    whole run when one notebook dominates. Results come back in notebook order.
    """
    from tqdm.auto import tqdm

    results: dict[str, NotebookResult] = {}
    bar = tqdm(total=len(plan.notebooks), unit="nb", disable=not progress, file=sys.stderr)
    try:
        if jobs <= 1 or len(plan.notebooks) <= 1:
            plan = replace(plan, cell_progress=progress)
            for src in plan.notebooks:
                bar.set_description(src.stem)
                res = runner(src, plan)
                results[src.name] = res
                bar.set_postfix_str(f"{res.status} {res.seconds:.0f}s")
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                order = longest_first(plan.notebooks, durations or {})
                futures = {pool.submit(runner, src, plan): src for src in order}
                bar.set_description(f"{jobs} at a time")
                for fut in as_completed(futures):
                    res = fut.result()
                    results[res.notebook] = res
                    bar.set_postfix_str(f"{res.notebook} {res.status}")
                    bar.update(1)
    finally:
        bar.close()
    return [results[p.name] for p in plan.notebooks]


def remove_orphans(out_dir: Path, notebooks: list[Path]) -> list[Path]:
    """Delete executed copies in ``out_dir`` whose source notebook no longer exists."""
    names = {p.name for p in notebooks}
    orphans = [p for p in out_dir.glob("*.ipynb") if p.name not in names]
    for p in orphans:
        p.unlink()
    return orphans


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
    out_dir: Path, results: list[NotebookResult], parameters: dict[str, Any], partner: str
) -> Path:
    """Write ``run-summary.json`` next to the executed notebooks (read by the site index)."""
    from tradelib.publish.book import SUMMARY_FILE

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SUMMARY_FILE
    payload = {
        "partner": partner,
        "parameters": parameters,
        "results": [asdict(r) for r in results],
    }
    # --- issue 10: provenance (software, BLAS kernel, platform, data vintages) ---
    from tradelib.publish import provenance

    payload["provenance"] = provenance.collect()
    # --- end issue 10 ---
    path.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    return path


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m tradelib run``."""
    parser.description = (
        "Fetch and build the data, execute every notebook for a partner into output/<slug>/, "
        "and render the HTML site."
    )
    parser.add_argument(
        "--partner", default=DEFAULT_PARTNER, help="partner name or Census code (default Mexico)"
    )
    parser.add_argument("--start", help="first month, YYYY-MM (default: each notebook's own)")
    parser.add_argument("--end", help="last month, YYYY-MM, or 'none' for the latest")
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
        type=int,
        default=None,
        help="notebooks executed at the same time (default: $TRADELIB_JOBS, else 2 when the "
        "machine has 2 or more CPUs)",
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
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
        from tradelib.data import load

        print("build: parse, validate, cache", file=sys.stderr)
        load.build_all()


def main(args: argparse.Namespace) -> int:
    """Run the pipeline; exit code 1 when a notebook failed."""
    from tradelib.publish.book import skip_iri_grammars  # issue 15: seconds per process

    skip_iri_grammars()
    inplace_error = TradelibError(
        "--inplace refreshes the committed notebooks with their own parameters; it cannot be "
        "combined with --partner/--start/--end/--vintage (drop --inplace to write copies)"
    )
    if args.inplace and (args.start or args.end or args.vintage):
        raise inplace_error
    _prepare_data(args)  # first: resolving the partner's name reads the data
    partner = display_partner(args.partner)
    slug = slugify(partner)
    if args.inplace and not same_partner(partner, DEFAULT_PARTNER):
        raise inplace_error
    nb_dir = Path(args.notebooks) if args.notebooks else default_notebook_dir()
    notebooks = list_notebooks(nb_dir, args.only)
    if not notebooks:
        raise NotebookRunError(f"{nb_dir}: no notebooks (*.ipynb) to execute")
    out_dir = (
        nb_dir if args.inplace else (Path(args.out) if args.out else default_output_dir()) / slug
    )
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
    try:
        results = run_notebooks(plan, jobs=jobs, progress=not args.no_progress, durations=durations)
    except KeyboardInterrupt:
        print("run: interrupted; executed copies may be incomplete", file=sys.stderr)
        return 130
    if not args.inplace:
        write_summary(out_dir, results, params, partner)
    print(summary_table(results))
    failed = [r for r in results if r.status == "failed"]
    if not args.no_site and not args.inplace:
        # --- site: the Jupyter Book (issue 15) ---
        from tradelib.publish import book

        site_dir = Path(args.site_dir) if args.site_dir else default_site_dir(slug)
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
    return 0
