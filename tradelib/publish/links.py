"""Where the project lives: the repository URL and the links and install line derived from it.

``REPO_URL`` is the one place the repository is named; the Binder and Colab launch badges, the
Colab install cell, the book's launch buttons and CITATION.cff are all derived from (or checked
against) it. This module imports nothing from tradelib, so every publishing module can use it
without an import cycle (``run`` -> ``site`` -> ``book``; ``teach`` -> ``links``).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from tradelib.errors import TradelibError

REPO_URL = "https://github.com/tradelib/tradelib"
"""The public GitHub repository; badges and install instructions are derived from it."""

BRANCH = "main"
"""The branch that Binder and Colab open."""

BINDER_BADGE_SVG = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"


class LinkError(TradelibError):
    """A repository URL or notebook path that no launch link can be made from."""


def repo_slug(repo_url: str = REPO_URL) -> str:
    """``owner/name`` of a GitHub URL, e.g. ``"tradelib/tradelib"``."""
    m = re.match(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?/?$", repo_url)
    if not m:
        raise LinkError(f"REPO_URL {repo_url!r} is not a https://github.com/<owner>/<name> URL")
    return m.group(1)


def notebook_repo_path(notebook_path: str | Path) -> str:
    """The notebook's path inside the repository (``notebooks/<file name>``)."""
    name = Path(notebook_path).name
    if not name.endswith(".ipynb"):
        raise LinkError(f"{notebook_path}: not a notebook (expected a .ipynb file name)")
    return f"notebooks/{name}"


def binder_url(notebook_path: str | Path) -> str:
    """Binder link that opens the notebook in JupyterLab."""
    return (
        f"https://mybinder.org/v2/gh/{repo_slug()}/{BRANCH}"
        f"?labpath={quote(notebook_repo_path(notebook_path), safe='')}"
    )


def colab_url(notebook_path: str | Path) -> str:
    """Colab link that opens the notebook from GitHub."""
    return (
        f"https://colab.research.google.com/github/{repo_slug()}/blob/{BRANCH}/"
        f"{notebook_repo_path(notebook_path)}"
    )


def badges_markdown(notebook_path: str | Path) -> str:
    """The Markdown line with the Binder and Colab launch badges for one notebook.

    Put it right under the notebook's title, e.g. in a generator script::

        from tradelib.publish.links import badges_markdown
        title = "# 02 · Four decades of the balance\\n\\n" + badges_markdown("02_deficit_trends.ipynb")
    """
    return (
        f"[![Launch in Binder]({BINDER_BADGE_SVG})]({binder_url(notebook_path)}) "
        f"[![Open in Colab]({COLAB_BADGE_SVG})]({colab_url(notebook_path)})"
    )


def readme_badges_markdown(first_notebook: str = "01_data.ipynb") -> str:
    """Launch badges for the README: Binder opens the notebooks folder, Colab the first notebook."""
    binder = f"https://mybinder.org/v2/gh/{repo_slug()}/{BRANCH}?labpath=notebooks"
    return (
        f"[![Launch in Binder]({BINDER_BADGE_SVG})]({binder}) "
        f"[![Open in Colab]({COLAB_BADGE_SVG})]({colab_url(first_notebook)})"
    )


def pip_install_spec() -> str:
    """The pip requirement that installs tradelib from GitHub (used on Colab)."""
    return f"tradelib @ git+{REPO_URL}"


def colab_install_cell() -> str:
    """Source of the install cell notebooks carry for Colab (a no-op where tradelib is installed).

    Where tradelib is missing it installs the package from GitHub and downloads the official
    files from their publishers (a source that cannot be fetched is reported and skipped).
    """
    return (
        "try:\n"
        "    import tradelib  # noqa: F401\n"
        "except ImportError:  # e.g. on Colab: install the package from GitHub, fetch the data\n"
        f'    %pip install --quiet "{pip_install_spec()}"\n'
        "    from tradelib.publish.run import fetch_each\n"
        "\n"
        "    fetch_each(mirror=None)"
    )
