"""Every committed notebook follows the skeleton in CONTRIBUTING.md (checked without executing).

``tradelib.publish.teach.check_structure`` does the checking; the first tests show it catches each kind of
departure on small synthetic notebooks, the last one applies it to every notebook in notebooks/.
"""

from __future__ import annotations

import base64

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tradelib import config
from tradelib.publish import site, teach

NOTEBOOK_DIR = config.project_root() / "notebooks"
REAL_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PATH = "notebooks/09_example.ipynb"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


def _good() -> nbformat.NotebookNode:
    """A minimal notebook that follows every convention."""
    title = new_markdown_cell(
        "# 09 · Example\n\n"
        + site.badges_markdown(PATH)
        + "\n\n**Question** Does it work?\n\n**Prerequisites** None.\n\n**Outcomes** A check."
    )
    params = new_code_cell('PARTNER = "Mexico"\nSTART = "2010-01"\nEND = None\nVINTAGE = "latest"')
    params.metadata["tags"] = ["parameters"]
    fig = new_code_cell("plot.show(fig, alt='a line')")
    fig.outputs = [
        new_output(
            "display_data",
            data={
                "image/png": PNG,
                "text/html": f'<img src="data:image/png;base64,{PNG}" alt="A line rising"/>',
                "text/plain": "[figure] A line rising",
            },
        )
    ]
    cells = [
        title,
        params,
        new_code_cell(
            site.colab_install_cell() + "\n\nimport tradelib as tl\nfrom tradelib import plot"
            "\n\nplot.use_style()"
        ),
        fig,
        new_markdown_cell("## Summary\n\nIt works."),
        new_markdown_cell("## What's next\n\nNotebook 10."),
        new_markdown_cell("## References\n\n- A source."),
        new_markdown_cell("## Exercises\n\n### Exercise 1\n\nDo one thing."),
        new_code_cell("one = 1"),
        new_markdown_cell("### Exercise 2\n\nDo another."),
        new_code_cell("two = 2"),
    ]
    cells[-3].metadata["tags"] = ["solution"]
    cells[-1].metadata["tags"] = ["solution"]
    count = 0
    for cell in cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    return new_notebook(cells=cells)


def test_good_notebook_passes() -> None:
    assert teach.check_structure(_good(), PATH) == []


def test_missing_badges_and_title_parts() -> None:
    nb = _good()
    nb.cells[0].source = "# 09 · Example\n\n**Question** Does it work?"
    problems = teach.check_structure(nb, PATH)
    assert sum("launch badge" in p for p in problems) == 2
    assert any("**Prerequisites**" in p for p in problems)
    assert any("**Outcomes**" in p for p in problems)


def test_parameters_cell_rules() -> None:
    nb = _good()
    nb.cells[1].source = 'PARTNER = "Mexico"\nEND = None'
    assert any("does not set START, VINTAGE" in p for p in teach.check_structure(nb, PATH))
    nb = _good()
    nb.cells[1].source += "\nimport pandas as pd"
    assert any(
        "assignments only" in p and "import pandas" in p for p in teach.check_structure(nb, PATH)
    )
    nb = _good()
    nb.cells[2].metadata["tags"] = ["parameters"]
    assert any("2 cells are tagged 'parameters'" in p for p in teach.check_structure(nb, PATH))


def test_imports_follow_parameters() -> None:
    nb = _good()
    nb.cells[2].source = nb.cells[2].source.replace("plot.use_style()", "")
    assert any("must be the imports" in p for p in teach.check_structure(nb, PATH))


def test_headings_order_and_exercises() -> None:
    nb = _good()
    del nb.cells[6]  # References
    assert "no 'References' heading" in teach.check_structure(nb, PATH)
    nb = _good()
    nb.cells[4], nb.cells[5] = nb.cells[5], nb.cells[4]
    assert any("not in that order" in p for p in teach.check_structure(nb, PATH))
    nb = _good()
    nb.cells = nb.cells[:-2]  # drop exercise 2 and its solution
    problems = teach.check_structure(nb, PATH)
    assert any(p.startswith("1 exercises") for p in problems)


def test_each_exercise_needs_its_solution() -> None:
    nb = _good()
    nb.cells[8].metadata["tags"] = []  # solution of exercise 1 untagged
    problems = teach.check_structure(nb, PATH)
    assert any("exercise(s) [1] are not followed" in p for p in problems)
    nb = _good()
    nb.cells[7].source += "\n\n### Exercise 1b\n\nAnd this."  # two exercises, one solution
    assert teach.exercise_count(nb) == 3
    assert teach.unsolved_exercises(nb) == [1]


def test_outputs_warnings_errors_and_alt_text() -> None:
    nb = _good()
    nb.cells[2].outputs = [new_output("stream", name="stderr", text="FutureWarning: x\n")]
    nb.cells[3].outputs[0].data["text/html"] = '<img src="data:image/png;base64,AAAA"/>'
    problems = teach.check_structure(nb, PATH)
    assert any("contains 'Warning'" in p for p in problems)
    assert any("figure without alt text" in p for p in problems)
    nb.cells[2].outputs = [new_output("error", ename="KeyError", evalue="'x'", traceback=[])]
    assert any("error output KeyError" in p for p in teach.check_structure(nb, PATH))


def test_partner_specific_notebook_must_say_so() -> None:
    nb = _good()
    nb.metadata["tradelib"] = {"partner_specific": "Mexico"}
    assert any("specific to Mexico" in p for p in teach.check_structure(nb, PATH))
    nb.cells[0].source += "\n\nThis notebook is Mexico-specific by nature."
    assert teach.check_structure(nb, PATH) == []


def test_install_cell_required_before_import() -> None:
    nb = _good()
    nb.cells[2].source = "import tradelib as tl"
    assert any("no install cell for Colab" in p for p in teach.check_structure(nb, PATH))
    nb.cells.insert(3, new_code_cell(site.colab_install_cell(), execution_count=3))
    assert any("comes after tradelib is imported" in p for p in teach.check_structure(nb, PATH))


def test_execution_order() -> None:
    nb = _good()
    nb.cells[2].execution_count = 7
    assert any("not executed in order" in p for p in teach.check_structure(nb, PATH))
    nb.cells[2].execution_count = None
    assert any("were not executed" in p for p in teach.check_structure(nb, PATH))


@pytest.mark.parametrize("path", REAL_NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_structure(path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    problems = teach.check_structure(nb, path)
    assert problems == [], f"{path.name}:\n  " + "\n  ".join(problems)
