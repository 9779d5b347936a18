"""Parquet cache of parsed tables, one folder per source and vintage.

``data/processed/<source_id>/<vintage>/<table>.parquet`` holds a parsed, validated table and
``meta.json`` beside it records the sha256 of every raw file it was built from, the sha256 of
every parquet file it wrote, the parser version, the build time and the validation results. A
cached table is used only while the raw files still have those checksums and every parquet file
still has its own (a damaged or swapped parquet is rebuilt, never served). Writes are atomic
(temporary file, then rename).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from tradelib import config

#: Bump when a parser's output changes, to invalidate every cached table.
PARSER_VERSION = "2"


def folder(source_id: str, vintage: str) -> Path:
    """The cache folder of one source vintage."""
    return config.processed_dir() / source_id / vintage


def read_meta(source_id: str, vintage: str) -> dict[str, Any] | None:
    """The cache metadata, or None when there is no (readable) cache."""
    p = folder(source_id, vintage) / "meta.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_fresh(meta: dict[str, Any] | None, raw_sha: dict[str, str]) -> bool:
    """True when ``meta`` was built from exactly these raw checksums by this parser version
    and every parquet file it lists still has the checksum recorded when it was written."""
    if not (bool(meta) and meta.get("parser_version") == PARSER_VERSION
            and meta.get("raw_sha256") == raw_sha):
        return False
    recorded = meta.get("table_sha256")
    if not isinstance(recorded, dict) or set(recorded) != set(meta.get("tables", [])):
        return False  # built before tables were checksummed: rebuild once
    base = folder(meta["source_id"], meta["vintage"])
    from tradelib.data.fetch import sha256_file

    for name, sha in recorded.items():
        try:
            if sha256_file(base / f"{name}.parquet") != sha:
                return False
        except OSError:
            return False
    return True


def _atomic(dest: Path, write) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; the cache is shareable
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.errno is None:  # not an operating-system error (e.g. requests')
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(dest)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(source_id: str, vintage: str, tables: dict[str, pd.DataFrame],
          raw_sha: dict[str, str], extra: dict[str, Any] | None = None) -> None:
    """Store ``tables`` and their metadata (tables first, metadata last)."""
    from tradelib.data.fetch import sha256_file

    base = folder(source_id, vintage)
    (base / "meta.json").unlink(missing_ok=True)  # no stale metadata while tables change
    table_sha = {}
    for name, df in tables.items():
        df = df.copy(deep=False)
        df.attrs = {}  # attrs are not data; the metadata lives in meta.json
        _atomic(base / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
        table_sha[name] = sha256_file(base / f"{name}.parquet")
    meta = {"source_id": source_id, "vintage": vintage, "parser_version": PARSER_VERSION,
            "raw_sha256": raw_sha, "tables": sorted(tables), "table_sha256": table_sha,
            "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            **(extra or {})}
    _atomic(base / "meta.json",
            lambda p: Path(p).write_text(json.dumps(meta, indent=2, default=str), "utf-8"))


def read(source_id: str, vintage: str, table: str, filters: list | None = None) -> pd.DataFrame:
    """Read one cached table (optionally with pyarrow row filters)."""
    return pd.read_parquet(folder(source_id, vintage) / f"{table}.parquet", filters=filters)
