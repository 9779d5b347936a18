"""Paths and settings: the one place where tradelib decides where files live.

Resolution rules
----------------
* **In a checkout** (the package sits beside ``pyproject.toml`` in a source tree, e.g. an editable
  install): the project root is the checkout, data live in ``<root>/data``.
* **Installed from a wheel** (the package sits in ``site-packages`` or has no ``pyproject.toml``
  beside it): the project root (``notebooks/``, ``output/``, ``site/``) is the current working
  directory, and data go to the per-user cache directory of ``platformdirs``
  (``~/.cache/tradelib`` on Linux), never into ``site-packages``.
* ``TRADELIB_HOME`` overrides the project root (data then go to ``$TRADELIB_HOME/data``);
  ``TRADELIB_DATA`` overrides the data folder itself. Both win over the rules above.
* Raw downloads go to ``<data>/raw/<source_id>/<vintage>/``; parsed tables are cached as
  parquet in ``<data>/processed/``; the fetch manifest is ``<data>/raw/MANIFEST.csv``.
* Authored data (the tariff-events table) ship inside the package: ``tradelib/resources/``.
* The offline mirror is, in order: an explicit argument, ``TRADELIB_MIRROR``, then
  ``<root>/../shared/data/mirror`` when that folder exists (in a checkout or with
  ``TRADELIB_HOME``; an installed wheel uses a mirror only when told).
  ``TRADELIB_MIRROR=""`` (empty) or ``TRADELIB_ONLINE=1`` switches the automatic mirror off, so
  files come from the internet (or from a data archive: ``python -m tradelib fetch --archive``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def in_checkout(package_dir: Path = PACKAGE_DIR) -> bool:
    """Whether the package runs from a source checkout (not from an installed wheel).

    True when ``pyproject.toml`` naming tradelib sits beside the package folder and the package is
    not inside a ``site-packages`` / ``dist-packages`` folder.
    """
    if any(part in ("site-packages", "dist-packages") for part in package_dir.parts):
        return False
    pyproject = package_dir.parent / "pyproject.toml"
    try:
        return 'name = "tradelib"' in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def user_cache_dir() -> Path:
    """The per-user cache folder for data outside a checkout (``platformdirs``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("tradelib", appauthor=False))


def project_root() -> Path:
    """``$TRADELIB_HOME``, else the checkout root, else (installed wheel) the working directory."""
    env = os.environ.get("TRADELIB_HOME", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return PACKAGE_DIR.parent if in_checkout() else Path.cwd().resolve()


def data_dir() -> Path:
    """The data folder: ``$TRADELIB_DATA``, else ``$TRADELIB_HOME/data``, else ``<checkout>/data``,
    else (installed wheel) the per-user cache folder (:func:`user_cache_dir`)."""
    env = os.environ.get("TRADELIB_DATA", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    if os.environ.get("TRADELIB_HOME", "").strip() or in_checkout():
        return project_root() / "data"
    return user_cache_dir()


def raw_dir() -> Path:
    """Where raw files are stored: ``<data>/raw/<source_id>/<vintage>/<file>``."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Where parsed tables are cached as parquet."""
    return data_dir() / "processed"


def manifest_path() -> Path:
    """The fetch manifest (one row per stored raw file)."""
    return raw_dir() / "MANIFEST.csv"


def authored_dir() -> Path:
    """Data written by the project itself (committed and shipped in the wheel), e.g. the
    tariff-events table: ``tradelib/resources/``."""
    return PACKAGE_DIR / "resources"


def default_mirror() -> Path:
    """The conventional location of the offline mirror beside the checkout (or project root)."""
    return project_root().parent / "shared" / "data" / "mirror"


def mirror_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Resolve the offline mirror folder, or ``None`` when files must come from the internet."""
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("TRADELIB_ONLINE", "") not in ("", "0"):
        return None
    if "TRADELIB_MIRROR" in os.environ:
        env = os.environ["TRADELIB_MIRROR"].strip()
        return Path(env).expanduser().resolve() if env else None
    if not (in_checkout() or os.environ.get("TRADELIB_HOME", "").strip()):
        return None
    default = default_mirror()
    return default.resolve() if default.is_dir() else None


def census_api_key() -> str | None:
    """The Census API key from ``CENSUS_API_KEY`` (required by the Census API since May 2026)."""
    key = os.environ.get("CENSUS_API_KEY", "").strip()
    return key or None
