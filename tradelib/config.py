"""Paths and settings: the one place where tradelib decides where files live.

Resolution rules
----------------
* ``TRADELIB_HOME`` (optional) overrides the project root; by default it is the folder that holds
  this package's parent (the repository checkout).
* Raw downloads go to ``<root>/data/raw/<source_id>/<vintage>/``; parsed tables are cached as
  parquet in ``<root>/data/processed/``; the fetch manifest is ``<root>/data/raw/MANIFEST.csv``.
  ``TRADELIB_DATA`` overrides ``<root>/data``.
* The offline mirror is, in order: an explicit argument, ``TRADELIB_MIRROR``, then
  ``<root>/../shared/data/mirror`` when that folder exists. ``TRADELIB_MIRROR=""`` (empty)
  or ``TRADELIB_ONLINE=1`` switches the automatic mirror off, so files come from the internet.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The repository root (or ``$TRADELIB_HOME``)."""
    env = os.environ.get("TRADELIB_HOME")
    return Path(env).expanduser().resolve() if env else PACKAGE_DIR.parent


def data_dir() -> Path:
    """The data folder (``$TRADELIB_DATA`` or ``<root>/data``)."""
    env = os.environ.get("TRADELIB_DATA")
    return Path(env).expanduser().resolve() if env else project_root() / "data"


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
    """The conventional location of the offline mirror beside the checkout."""
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
    default = default_mirror()
    return default.resolve() if default.is_dir() else None


def census_api_key() -> str | None:
    """The Census API key from ``CENSUS_API_KEY`` (required by the Census API since May 2026)."""
    key = os.environ.get("CENSUS_API_KEY", "").strip()
    return key or None
