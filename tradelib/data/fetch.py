"""Get raw files: download them from the publishers, or copy them from an offline mirror.

Files land in ``data/raw/<source_id>/<vintage>/<file>``. Every write goes to a temporary file in
the same folder first and is renamed into place only when complete, so an interrupted download
never leaves a half-written file under the final name. Each stored file gets a row in
``data/raw/MANIFEST.csv``: source, vintage, file, url, origin, sha256, size, retrieval time.

The vintage of a download is the month it was retrieved (``YYYY-MM``): the publisher's file is
whatever release was current then. A mirror keeps the vintages it was built with.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tradelib import config
from tradelib.data.sources import SOURCES, Source, SourceFile, get_source
from tradelib.errors import FetchError, MissingDataError

MANIFEST_FIELDS = ["source_id", "vintage", "file", "url", "origin", "sha256", "size_bytes",
                   "retrieved_at"]
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Stored:
    """A raw file stored under ``data/raw``."""

    source_id: str
    vintage: str
    path: Path
    sha256: str
    size: int
    origin: str


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(dest: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write ``chunks`` to ``dest`` atomically; return (sha256, size).

    The data goes to a temporary file beside ``dest``; on any error the temporary file is removed
    and ``dest`` is left as it was.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                h.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return h.hexdigest(), size


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- manifest

def read_manifest(path: Path | None = None) -> list[dict[str, str]]:
    """Rows of the fetch manifest (empty list if there is none yet)."""
    path = path or config.manifest_path()
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _record(stored: Stored, url: str) -> None:
    """Add or replace the manifest row for ``stored`` (atomic rewrite of the manifest)."""
    path = config.manifest_path()
    rows = [r for r in read_manifest(path)
            if not (r["source_id"] == stored.source_id and r["vintage"] == stored.vintage
                    and r["file"] == stored.path.name)]
    rows.append({
        "source_id": stored.source_id, "vintage": stored.vintage, "file": stored.path.name,
        "url": url, "origin": stored.origin, "sha256": stored.sha256,
        "size_bytes": str(stored.size), "retrieved_at": _now(),
    })
    rows.sort(key=lambda r: (r["source_id"], r["vintage"], r["file"]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(path, [buf.getvalue().encode("utf-8")])


# --------------------------------------------------------------------------- mirror

def mirror_manifest(mirror: Path) -> dict[str, dict[str, str]]:
    """The mirror's MANIFEST.csv keyed by relative path (empty if the mirror has none)."""
    path = mirror / "MANIFEST.csv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def mirror_vintages(source: Source, mirror: Path) -> list[str]:
    """Vintages of ``source`` present in the mirror (folders holding at least one of its files)."""
    base = mirror / source.mirror_subdir
    if not base.is_dir():
        return []
    names = {f.name for f in source.files}
    out = [d.name for d in base.iterdir()
           if d.is_dir() and any((d / n).exists() for n in names)]
    return sorted(out)


def copy_from_mirror(source: Source, vintage: str, sfile: SourceFile, mirror: Path,
                     *, force: bool = False) -> Stored:
    """Copy one file of ``source``/``vintage`` from the mirror into ``data/raw``.

    The copy is checked against the sha256 in the mirror's MANIFEST when it lists the file.
    """
    rel = f"{source.mirror_subdir}/{vintage}/{sfile.name}"
    src = mirror / rel
    if not src.exists():
        raise FetchError(
            f"{src}: not in the mirror. The mirror at {mirror} has vintages "
            f"{mirror_vintages(source, mirror) or 'none'} for {source.id}; check the folder "
            "or fetch online with `python -m tradelib fetch --online`."
        )
    dest = raw_path(source.id, vintage, sfile.name)
    expected = mirror_manifest(mirror).get(rel, {}).get("sha256")
    if dest.exists() and not force:
        digest = sha256_file(dest)
        if expected is None or digest == expected:
            return Stored(source.id, vintage, dest, digest, dest.stat().st_size, f"mirror:{rel}")

    def chunks() -> Iterable[bytes]:
        with open(src, "rb") as fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")

    digest, size = atomic_write_bytes(dest, chunks())
    if expected and digest != expected:
        dest.unlink()
        raise FetchError(
            f"{src}: sha256 {digest[:12]}… does not match the mirror MANIFEST ({expected[:12]}…). "
            "The mirror file is damaged or was replaced; restore it before building."
        )
    stored = Stored(source.id, vintage, dest, digest, size, f"mirror:{rel}")
    _record(stored, sfile.url or source.landing_url)
    return stored


# --------------------------------------------------------------------------- download

def _progress(total: int | None, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                leave=False, disable=os.environ.get("TRADELIB_QUIET") == "1")


def _body(resp, bar, expected: int | None) -> Iterable[bytes]:
    """Yield a response's chunks; raise if fewer bytes arrive than Content-Length promised."""
    received = 0
    for chunk in resp.iter_content(_CHUNK):
        received += len(chunk)
        bar.update(len(chunk))
        yield chunk
    if expected is not None and received < expected:
        raise FetchError(f"connection dropped after {received} of {expected} bytes")


def download(url: str, dest: Path, *, timeout: float = 60.0, retries: int = 3,
             backoff: float = 1.0, postprocess: Callable[[bytes], bytes] | None = None,
             desc: str | None = None) -> tuple[str, int]:
    """Download ``url`` to ``dest`` atomically, with a progress bar, timeout and retries.

    A response shorter than its Content-Length (a dropped connection) or an HTTP error counts as
    a failed attempt; after ``retries`` attempts a :class:`FetchError` names the URL and the last
    problem. 4xx errors other than 408/429 are not retried. ``dest`` is untouched on failure.
    """
    import requests

    last: str = "no attempt made"
    for attempt in range(1, max(retries, 1) + 1):
        try:
            with requests.get(url, stream=True, timeout=timeout) as resp:
                if resp.status_code >= 400:
                    last = f"HTTP {resp.status_code} {resp.reason}"
                    if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                        break
                    raise requests.HTTPError(last)
                total = resp.headers.get("Content-Length")
                expected = int(total) if total and total.isdigit() else None
                bar = _progress(expected, desc or dest.name)
                try:
                    body = _body(resp, bar, expected)
                    if postprocess is None:
                        return atomic_write_bytes(dest, body)
                    data = b"".join(body)
                    return atomic_write_bytes(dest, [postprocess(data)])
                finally:
                    bar.close()
        except (requests.RequestException, FetchError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if attempt < retries:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise FetchError(
        f"{url}: download failed after {retries} attempt(s) ({last}). Nothing was written to "
        f"{dest}. If this machine is offline, point tradelib at a mirror: "
        "`python -m tradelib fetch --mirror DIR` or set TRADELIB_MIRROR=DIR."
    )


def census_api_json_to_csv(data: bytes) -> bytes:
    """Turn the Census API's JSON (a list of rows, header first) into the mirror's CSV layout."""
    rows = json.loads(data)
    if not rows or not isinstance(rows, list):
        raise FetchError("Census API answer is empty or not a JSON list of rows")
    header = rows[0]
    want = ["time", "CTY_CODE", "CAL_DUT_MO", "CON_VAL_MO"]
    missing = [c for c in want if c not in header]
    if missing:
        raise FetchError(f"Census API answer lacks columns {missing}; got {header}")
    idx = [header.index(c) for c in want]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(want)
    for r in sorted(rows[1:], key=lambda r: r[idx[0]]):
        w.writerow([r[i] for i in idx])
    return buf.getvalue().encode("utf-8")


_POSTPROCESS: dict[str, Callable[[bytes], bytes]] = {"census-duties": census_api_json_to_csv}


def download_source(source: Source, *, vintage: str | None = None, timeout: float = 60.0,
                    retries: int = 3) -> list[Stored]:
    """Download every file of ``source`` from the official URL into a new vintage folder."""
    vintage = vintage or dt.date.today().strftime("%Y-%m")
    url_kwargs: dict[str, str] = {}
    if source.needs_key:
        key = os.environ.get(source.needs_key, "").strip()
        if not key:
            raise FetchError(
                f"{source.id}: the {source.publisher} needs an API key (since May 2026). Get a "
                f"free key at https://api.census.gov/data/key_signup.html and set "
                f"{source.needs_key}=<key>, or use a mirror (--mirror DIR / TRADELIB_MIRROR)."
            )
        url_kwargs["key"] = key
    out = []
    for sfile in source.files:
        if sfile.url is None:
            raise FetchError(
                f"{source.id}/{sfile.name}: {source.publisher} offers no stable download URL for "
                f"this extract; it is available from a mirror only (--mirror DIR). "
                f"Landing page: {source.landing_url}"
            )
        url = sfile.url.format(**url_kwargs)
        dest = raw_path(source.id, vintage, sfile.name)
        digest, size = download(url, dest, timeout=timeout, retries=retries,
                                postprocess=_POSTPROCESS.get(source.id),
                                desc=f"{source.id} {sfile.name}")
        stored = Stored(source.id, vintage, dest, digest, size, "download")
        _record(stored, sfile.url.replace("{key}", "<CENSUS_API_KEY>"))
        out.append(stored)
    return out


# --------------------------------------------------------------------------- public API

def raw_path(source_id: str, vintage: str, name: str) -> Path:
    """Where a raw file is stored."""
    return config.raw_dir() / source_id / vintage / name


def stored_vintages(source_id: str) -> list[str]:
    """Vintages of ``source_id`` already stored under ``data/raw`` (complete folders only)."""
    source = get_source(source_id)
    base = config.raw_dir() / source_id
    if not base.is_dir():
        return []
    names = [f.name for f in source.files]
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and any((d / n).exists() for n in names))


def fetch_source(source_id: str, *, mirror: str | os.PathLike[str] | None = None,
                 online: bool = False, force: bool = False, timeout: float = 60.0,
                 retries: int = 3) -> list[Stored]:
    """Fetch every vintage of one source: all mirror vintages, or one fresh download."""
    source = get_source(source_id)
    mdir = None if online else config.mirror_dir(mirror)
    if mdir is not None:
        if not mdir.is_dir():
            raise FetchError(f"{mdir}: mirror folder not found. Pass an existing folder with "
                             "--mirror DIR or TRADELIB_MIRROR=DIR.")
        out = []
        for vintage in mirror_vintages(source, mdir):
            for sfile in source.files:
                if (mdir / source.mirror_subdir / vintage / sfile.name).exists():
                    out.append(copy_from_mirror(source, vintage, sfile, mdir, force=force))
        if not out:
            raise FetchError(f"{mdir}: the mirror holds no files for {source_id} "
                             f"(expected under {source.mirror_subdir}/<vintage>/).")
        return out
    return download_source(source, timeout=timeout, retries=retries)


def fetch_all(*, mirror: str | os.PathLike[str] | None = None, online: bool = False,
              sources: Iterable[str] | None = None, force: bool = False,
              timeout: float = 60.0, retries: int = 3) -> list[Stored]:
    """Fetch every registered source (or those named); return what was stored."""
    out: list[Stored] = []
    for sid in sources or SOURCES:
        out.extend(fetch_source(sid, mirror=mirror, online=online, force=force,
                                timeout=timeout, retries=retries))
    return out


def ensure_raw(source_id: str, vintage: str | None = None) -> tuple[str, Path]:
    """Return (vintage, folder) of a stored raw vintage, copying it from a mirror if needed.

    ``vintage=None`` or ``"latest"`` picks the newest vintage available (stored or mirrored).
    Raises :class:`MissingDataError` with instructions when nothing is available.
    """
    source = get_source(source_id)
    mdir = config.mirror_dir()
    stored = stored_vintages(source_id)
    mirrored = mirror_vintages(source, mdir) if mdir and mdir.is_dir() else []
    avail = sorted(set(stored) | set(mirrored))
    if vintage in (None, "latest"):
        if not avail:
            raise MissingDataError(missing_source_message(source, mdir))
        vintage = avail[-1]
    if vintage not in avail:
        raise MissingDataError(
            f"{source_id}: vintage {vintage!r} is not available (available: {avail or 'none'}). "
            "Fetch it first, or choose one of the available vintages."
        )
    folder = config.raw_dir() / source_id / vintage
    if mdir is not None and vintage in mirrored:
        for sfile in source.files:
            if not (folder / sfile.name).exists() and \
                    (mdir / source.mirror_subdir / vintage / sfile.name).exists():
                copy_from_mirror(source, vintage, sfile, mdir)
    return vintage, folder


def missing_source_message(source: Source, mdir: Path | None) -> str:
    """Why ``source`` has no data here, naming every place looked in and how to get it."""
    places = [f"nothing stored under {config.raw_dir() / source.id}"]
    if mdir is None:
        places.append("no mirror configured (TRADELIB_MIRROR / --mirror DIR)")
    elif not mdir.is_dir():
        places.append(f"the configured mirror {mdir} does not exist")
    else:
        places.append(f"the mirror {mdir} has no {source.mirror_subdir}/<vintage>/ folder")
    how = []
    if source.needs_key and not os.environ.get(source.needs_key, "").strip():
        how.append(f"set {source.needs_key} (free key: https://api.census.gov/data/key_signup.html)"
                   f" and run `python -m tradelib fetch --online --source {source.id}`")
    elif all(f.url for f in source.files):
        how.append(f"run `python -m tradelib fetch --online --source {source.id}`")
    else:
        how.append(f"the publisher offers no download URL ({source.landing_url})")
    how.append("unpack a data archive: `python -m tradelib fetch --archive URL|PATH`")
    how.append("point at a mirror that has it: `--mirror DIR` / TRADELIB_MIRROR=DIR")
    return (f"no data for {source.id} ({source.publisher}): {'; '.join(places)}. To get it: "
            + "; or ".join(how) + ".")


def cli_fetch(args) -> int:
    """``python -m tradelib fetch``."""
    mdir = None if args.online else config.mirror_dir(args.mirror)
    where = f"mirror {mdir}" if mdir else "the internet (official URLs)"
    print(f"Fetching from {where} into {config.raw_dir()}")
    stored = fetch_all(mirror=args.mirror, online=args.online, sources=args.source,
                       force=args.force, timeout=args.timeout, retries=args.retries)
    for s in stored:
        print(f"  {s.source_id:<20} {s.vintage}  {s.path.name:<70} {s.size:>10,d} B  "
              f"sha256 {s.sha256[:12]}")
    print(f"{len(stored)} files stored; manifest: {config.manifest_path()}")
    return 0


def clear_raw() -> None:  # pragma: no cover - convenience for benchmarks
    """Delete every stored raw file (the mirror is never touched)."""
    shutil.rmtree(config.raw_dir(), ignore_errors=True)
