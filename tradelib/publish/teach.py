"""Student copies of the notebooks and the checks that keep them honest (``python -m tradelib student``).

A student copy is the source notebook with every cell tagged ``solution`` removed (markdown and
code; an empty code cell tagged ``answer`` takes each solution's place) and all outputs, execution
counts and execution metadata cleared. ``check_in_sync`` verifies
that a folder of student copies still matches the source notebooks and leaks no solution text;
``check_structure`` checks a source notebook against the conventions in CONTRIBUTING.md.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

from tradelib.errors import TradelibError

SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
PARAMETERS_TAG = "parameters"
REQUIRED_PARAMETERS = ("PARTNER", "START", "END", "VINTAGE")
REQUIRED_HEADINGS = ("Summary", "What's next", "References", "Exercises")
MIN_EXERCISES = 2
MAX_EXERCISES = 4
STUDENT_NOTE_KEY = "tradelib"


class TeachError(TradelibError):
    """Student copies cannot be made, or are out of sync with the source notebooks."""


# --------------------------------------------------------------------------------------------
# Student copies
# --------------------------------------------------------------------------------------------


def tags(cell: Any) -> list[str]:
    """The cell's tags (empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []) or [])


def is_solution(cell: Any) -> bool:
    """Whether a cell is a worked solution (tag ``solution``)."""
    return SOLUTION_TAG in tags(cell)


def _clean_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """Cell metadata without execution records (papermill / nbclient timings)."""
    return {k: v for k, v in meta.items() if k not in ("execution", "papermill")}


def answer_cell() -> Any:
    """An empty code cell, tagged ``answer``, where a student writes a solution."""
    from nbformat.v4 import new_code_cell

    cell = new_code_cell("")
    cell.metadata["tags"] = [ANSWER_TAG]
    return cell


def student_copy(nb: Any) -> Any:
    """A copy of ``nb`` for students.

    Solution cells are removed (each run of them is replaced by one empty code cell tagged
    ``answer``), and outputs, execution counts and execution metadata are cleared.
    """
    out = copy.deepcopy(nb)
    kept = []
    for cell in out.cells:
        if is_solution(cell):
            if not kept or ANSWER_TAG not in tags(kept[-1]):
                kept.append(answer_cell())
            continue
        cell.metadata = _clean_metadata(dict(cell.get("metadata", {})))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        kept.append(cell)
    out.cells = kept
    out.metadata = {k: v for k, v in out.metadata.items() if k != "papermill"}
    out.metadata.setdefault(STUDENT_NOTE_KEY, {})
    out.metadata[STUDENT_NOTE_KEY] = dict(out.metadata[STUDENT_NOTE_KEY]) | {"student_copy": True}
    return out


def make_student_copies(src_dir: Path, out_dir: Path, *, option: str = "--out") -> list[Path]:
    """Write a student copy of every notebook in ``src_dir`` to ``out_dir``; return the paths.

    ``out_dir`` must be a folder this command owns (see :mod:`tradelib.publish.outdir`): new,
    empty, or written by an earlier ``student`` run. The committed notebooks folder (and
    ``src_dir`` itself) are refused. Each copy is written atomically; only copies this command
    wrote earlier are replaced or, when their source is gone, deleted. Every source is read and
    checked before anything is written.
    """
    import nbformat

    from tradelib.publish.outdir import OwnedDir

    sources = sorted(p for p in Path(src_dir).glob("*.ipynb") if not p.name.startswith("."))
    if not sources:
        raise TeachError(f"{src_dir}: no notebooks (*.ipynb) to copy; pass --notebooks <folder>")
    copies = []
    for src in sources:
        try:
            nb = nbformat.read(str(src), as_version=4)
        except (OSError, ValueError) as exc:
            raise TeachError(f"{src}: cannot be read as a notebook ({exc}); fix or restore it "
                             "(git checkout)") from None
        n_solutions = sum(is_solution(c) for c in nb.cells)
        if n_solutions == 0:
            raise TeachError(
                f"{src}: no cell is tagged '{SOLUTION_TAG}', so the student copy would equal the "
                "source; tag each worked solution cell (markdown and code) with 'solution'"
            )
        text = nbformat.writes(student_copy(nb))
        copies.append((src.name, text if text.endswith("\n") else text + "\n"))
    # no adoption of marker-less folders here: students edit their copies in place
    owned = OwnedDir.claim(out_dir, command="student", protected=[src_dir], option=option)
    written = [owned.write_text(name, text) for name, text in copies]
    owned.remove_stale(name for name, _ in copies)  # copies of notebooks that no longer exist
    return written


_SHORT = 12  # characters; shorter solution lines ("plt.show()", "```") are too generic to flag


def solution_lines(nb: Any) -> set[str]:
    """Distinctive lines of the notebook's solution cells (stripped; those not in other cells)."""
    others = {ln.strip() for c in nb.cells if not is_solution(c) for ln in c.source.splitlines()}
    found = set()
    for cell in nb.cells:
        if not is_solution(cell):
            continue
        for ln in cell.source.splitlines():
            s = ln.strip()
            if len(s) >= _SHORT and s not in others:
                found.add(s)
    return found


def check_in_sync(src_dir: Path, student_dir: Path) -> list[str]:
    """Problems between source notebooks and their student copies (empty list = in sync).

    In sync means: the same notebooks; the same non-solution cells (type and source) in the same
    order; no solution cell, no solution line, no output and no execution count in the copy.
    """
    import nbformat

    problems: list[str] = []
    sources = {p.name: p for p in src_dir.glob("*.ipynb") if not p.name.startswith(".")}
    copies = {p.name: p for p in student_dir.glob("*.ipynb") if not p.name.startswith(".")}
    for name in sorted(sources.keys() - copies.keys()):
        problems.append(f"{student_dir / name}: missing student copy (run the student command)")
    for name in sorted(copies.keys() - sources.keys()):
        problems.append(f"{student_dir / name}: no source notebook of that name in {src_dir}")
    for name in sorted(sources.keys() & copies.keys()):
        src = nbformat.read(str(sources[name]), as_version=4)
        stu = nbformat.read(str(copies[name]), as_version=4)
        expected = [(c.cell_type, c.source) for c in src.cells if not is_solution(c)]
        actual = [(c.cell_type, c.source) for c in stu.cells if ANSWER_TAG not in tags(c)]
        if expected != actual:
            first = next(
                (i for i, (a, b) in enumerate(zip(expected, actual)) if a != b),
                min(len(expected), len(actual)),
            )
            problems.append(
                f"{copies[name]}: cells differ from the source without solutions from cell "
                f"{first} on ({len(actual)} cells vs {len(expected)} expected); regenerate it"
            )
        leaked = solution_lines(src)
        for i, cell in enumerate(stu.cells):
            if is_solution(cell):
                problems.append(f"{copies[name]}: cell {i} is tagged '{SOLUTION_TAG}'")
            hits = [ln.strip() for ln in cell.source.splitlines() if ln.strip() in leaked]
            if hits:
                problems.append(f"{copies[name]}: cell {i} contains solution text {hits[0]!r}")
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
                problems.append(f"{copies[name]}: cell {i} still has outputs or an execution count")
    return problems


# --------------------------------------------------------------------------------------------
# Notebook structure (CONTRIBUTING.md conventions)
# --------------------------------------------------------------------------------------------


def _headings(nb: Any) -> list[str]:
    """Text of every Markdown heading in the notebook, in order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for ln in cell.source.splitlines():
            m = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", ln)
            if m:
                out.append(m.group(1).strip())
    return out


def _norm(text: str) -> str:
    """Heading text normalised for comparison (case, curly apostrophes, trailing punctuation)."""
    return re.sub(r"[\s:.]+$", "", text.replace("\u2019", "'").strip().lower())


def parameters_cells(nb: Any) -> list[int]:
    """Indices of the cells tagged ``parameters``."""
    return [i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in tags(c)]


def non_assignments(source: str) -> list[str]:
    """Top-level statements of a parameters cell that are not plain assignments (should be none)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"syntax error: {exc.msg} (line {exc.lineno})"]
    return [
        ast.get_source_segment(source, node) or type(node).__name__
        for node in tree.body
        if not isinstance(node, ast.Assign | ast.AnnAssign)
    ]


def assigned_names(source: str) -> set[str]:
    """Names assigned at top level in a code cell (``NAME = ...`` or annotated)."""
    return set(
        re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=(?!=)", source, flags=re.MULTILINE)
    )


_EXERCISES_HEAD = re.compile(r"^\s{0,3}#{1,6}\s+Exercises\b", flags=re.IGNORECASE)
_EXERCISE_ITEM = re.compile(r"^\s{0,3}(?:#{1,6}\s+|\*\*|__)\s*Exercise\b", flags=re.IGNORECASE)


def exercise_starts(nb: Any) -> list[int]:
    """Cell index of each exercise after the ``Exercises`` heading (one entry per exercise).

    An exercise starts with a heading or a bold paragraph beginning "Exercise" (e.g.
    ``### Exercise 1`` or ``**Exercise 2.**``) in a cell that is not a solution.
    """
    seen_heading = False
    starts: list[int] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or is_solution(cell):
            continue
        for ln in cell.source.splitlines():
            if not seen_heading:
                seen_heading = bool(_EXERCISES_HEAD.match(ln))
                continue
            if _EXERCISE_ITEM.match(ln):
                starts.append(i)
    return starts


def exercise_texts(nb: Any) -> list[str]:
    """The Markdown of each exercise: from its "Exercise" line to the next exercise or cell end."""
    seen_heading = False
    texts: list[list[str]] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_solution(cell):
            continue
        current: list[str] | None = None
        for ln in cell.source.splitlines():
            if not seen_heading:
                seen_heading = bool(_EXERCISES_HEAD.match(ln))
                continue
            if _EXERCISE_ITEM.match(ln):
                current = [ln]
                texts.append(current)
            elif current is not None:
                current.append(ln)
    return ["\n".join(t).strip() for t in texts]


def exercise_count(nb: Any) -> int:
    """Number of exercises after the ``Exercises`` heading."""
    return len(exercise_starts(nb))


def unsolved_exercises(nb: Any) -> list[int]:
    """Exercise numbers (1, 2, ...) not followed by a solution code cell before the next one."""
    starts = exercise_starts(nb)
    ends = [*starts[1:], len(nb.cells)]
    unsolved = []
    for k, (a, b) in enumerate(zip(starts, ends, strict=True), start=1):
        between = nb.cells[a + 1 : b] if b > a else []
        if not any(is_solution(c) and c.cell_type == "code" for c in between):
            unsolved.append(k)
    return unsolved


def _output_text(output: Any) -> str:
    """All text of one output (stream text, error, every text-like mime type)."""
    parts = [str(output.get("text", ""))]
    if output.get("output_type") == "error":
        parts += [str(output.get("ename", "")), str(output.get("evalue", ""))]
    for mime, value in (output.get("data") or {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


def output_problems(nb: Any) -> list[str]:
    """Error outputs, stderr streams and outputs mentioning "Warning", cell by cell."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: error output {out.get('ename')}: {out.get('evalue')}")
            elif "Warning" in _output_text(out):
                problems.append(f"cell {i}: an output contains 'Warning'")
    return problems


def figure_problems(nb: Any) -> list[str]:
    """Figure outputs (``image/png``) that do not also carry an HTML ``<img>`` with alt text."""
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if "image/png" not in data:
                continue
            page = data.get("text/html", "")
            page = page if isinstance(page, str) else "".join(page)
            if not re.search(r"<img\b[^>]*\balt\s*=\s*\"[^\"]+\"", page):
                problems.append(
                    f"cell {i}: figure without alt text (show it with tradelib.publish.plot.show(fig, "
                    "alt=...))"
                )
    return problems


def execution_order_problems(nb: Any) -> list[str]:
    """Code cells not executed, or executed out of order (counts must be 1, 2, 3, ...)."""
    counts = [c.get("execution_count") for c in nb.cells if c.cell_type == "code"]
    if any(c is None for c in counts):
        missing = [
            i
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.get("execution_count") is None
        ]
        return [f"code cells {missing[:5]} were not executed; execute from a fresh kernel"]
    if counts != list(range(1, len(counts) + 1)):
        return ["code cells were not executed in order from a fresh kernel (counts not 1, 2, ...)"]
    return []


def install_problems(nb: Any) -> list[str]:
    """The notebook must install tradelib where it is missing (Colab) before first importing it.

    Expected: a code cell with ``tradelib.publish.links.colab_install_cell()`` (``%pip install "tradelib @
    git+<REPO_URL>"`` inside ``try: import tradelib / except ImportError``), at or before the first
    cell that imports tradelib.
    """
    from tradelib.publish.links import pip_install_spec

    spec = pip_install_spec()
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    install = [i for i, src in code if spec in src and "pip install" in src]
    imports = [
        i
        for i, src in code
        if re.search(r"^\s*(?:import tradelib|from tradelib)", src, re.MULTILINE)
    ]
    if not install:
        return [
            (
                f'no install cell for Colab (%pip install "{spec}" inside try/except '
                "ImportError; see tradelib.publish.links.colab_install_cell())"
            )
        ]
    if imports and install[0] > imports[0]:
        where = f"cell {install[0]}; tradelib is first imported in cell {imports[0]}"
        return [f"the install cell comes after tradelib is imported ({where})"]
    return []


def check_structure(nb: Any, notebook_path: str | Path) -> list[str]:
    """Every way ``nb`` departs from the notebook conventions (empty list = conforms)."""
    from tradelib.publish.links import binder_url, colab_url

    problems: list[str] = []
    cells = nb.cells
    if (
        not cells
        or cells[0].cell_type != "markdown"
        or not re.match(r"^#\s+\S", cells[0].source.lstrip())
    ):
        problems.append("the first cell is not a Markdown title ('# NN · Title')")
    else:
        first = cells[0].source
        for url in (binder_url(notebook_path), colab_url(notebook_path)):
            if url not in first:
                problems.append(
                    f"the title cell lacks the launch badge link {url} "
                    "(insert tradelib.publish.links.badges_markdown(path))"
                )
        for word in ("Question", "Prerequisites", "Outcomes"):
            if not re.search(rf"\b{word}\b", first):
                problems.append(f"the title cell has no **{word}**")
    only_for = (nb.get("metadata", {}).get("tradelib", {}) or {}).get("partner_specific")
    if only_for and cells and not re.search(r"specific", cells[0].source, flags=re.IGNORECASE):
        problems.append(
            f"metadata says the notebook is specific to {only_for}, but the title cell does not "
            "tell the reader so (say it is specific to that partner)"
        )
    problems += install_problems(nb)
    params = parameters_cells(nb)
    if len(params) != 1:
        problems.append(f"{len(params)} cells are tagged 'parameters' (exactly one is required)")
    else:
        names = assigned_names(cells[params[0]].source)
        missing = [p for p in REQUIRED_PARAMETERS if p not in names]
        if missing:
            problems.append(f"the parameters cell does not set {', '.join(missing)}")
        extra = non_assignments(cells[params[0]].source)
        if extra:
            problems.append(
                f"the parameters cell must hold assignments only (papermill replaces it); found "
                f"{extra[0].splitlines()[0]!r}"
            )
        after = [c for c in cells[params[0] + 1 :] if c.cell_type == "code"]
        imports = after[0].source if after else ""
        if not re.search(r"^\s*(?:import tradelib|from tradelib)", imports, flags=re.MULTILINE) or (
            "use_style()" not in imports
        ):
            problems.append(
                "the code cell after the parameters cell must be the imports (import tradelib ..., "
                "then plot.use_style())"
            )
    heads = [_norm(h) for h in _headings(nb)]
    for wanted in REQUIRED_HEADINGS:
        if _norm(wanted) not in heads:
            problems.append(f"no '{wanted}' heading")
    positions = [heads.index(_norm(w)) for w in REQUIRED_HEADINGS if _norm(w) in heads]
    if positions != sorted(positions):
        problems.append("Summary, What's next, References, Exercises are not in that order")
    n_ex = exercise_count(nb)
    if not MIN_EXERCISES <= n_ex <= MAX_EXERCISES:
        problems.append(
            f"{n_ex} exercises (headings 'Exercise ...' after 'Exercises'); "
            f"{MIN_EXERCISES}-{MAX_EXERCISES} are required"
        )
    unsolved = unsolved_exercises(nb)
    if unsolved:
        problems.append(
            f"exercise(s) {unsolved} are not followed by a code cell tagged 'solution' (each "
            "exercise needs its worked solution right after it)"
        )
    problems += output_problems(nb)
    problems += figure_problems(nb)
    problems += execution_order_problems(nb)
    return problems


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m tradelib student``."""
    parser.description = "Make student copies: solution cells removed, outputs cleared."
    parser.add_argument("--out", default="students", help="output folder (default students/)")
    parser.add_argument("--notebooks", help="folder of source notebooks (default notebooks/)")
    parser.add_argument(
        "--check", action="store_true", help="only check that --out is in sync; do not write"
    )


def main(args: argparse.Namespace) -> int:
    """Write (or check) student copies; exit code 1 when a check fails."""
    from tradelib import config

    src = Path(args.notebooks) if args.notebooks else config.project_root() / "notebooks"
    out = Path(args.out)
    if not args.check:
        written = make_student_copies(src, out, option="--out")
        print(f"student: {len(written)} notebooks written to {out}")
    problems = check_in_sync(src, out)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"student: {out} is in sync with {src} and contains no solution text")
    return 0
