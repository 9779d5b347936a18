"""Get raw files: download them from the publishers, or copy them from an offline mirror.

Files land in ``data/raw/<source_id>/<vintage>/<file>``. Every write goes to a temporary file in
the same folder first and is renamed into place only when complete, so an interrupted download
never leaves a half-written file under the final name. Each stored file gets a row in
``data/raw/MANIFEST.csv``: source, vintage, file, url, origin, sha256, size, retrieval time.

The vintage of a download is the month it was retrieved (``YYYY-MM``): the publisher's file is
whatever release was current then. A mirror keeps the vintages it was built with.

Nothing is stored unchecked:

* a download must match its Content-Length when one is sent, must not be an HTML page, must
  have its format (an ``.xlsx`` is a zip whose every member passes its CRC check) and must be
  read by its parser (expected header, sheet and values); a live series (FRED, Census) must
  also reach close to the retrieval date, so a response cut short at a line boundary is caught;
* a source's vintage is stored only when every one of its files passed (files are staged and
  moved into place together), so a partial download never shadows a complete vintage;
* a mirror must have a valid ``MANIFEST.csv`` listing every file copied, with its sha256;
  otherwise the copy is refused unless explicitly allowed (``--allow-unverified-mirror`` or
  ``TRADELIB_ALLOW_UNVERIFIED_MIRROR=1``);
* manifest updates are serialised with a lock and written atomically; a source is fetched
  under its own lock, so concurrent fetches neither lose rows nor trip over temporary files.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tradelib import config
from tradelib.data.sources import SOURCES, Source, SourceFile, get_source
from tradelib.errors import FetchError, IntegrityError, MissingDataError, ParseError

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
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; stored files are shareable
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno is None:  # not an operating-system error (e.g. requests')
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(dest)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return h.hexdigest(), size


def current_umask() -> int:
    """The process umask (set and restored at once: Python has no read-only call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def _flock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder`` (created if needed), released on exit or death."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def source_lock(source_id: str):
    """The lock one source is fetched under (``data/raw/<source_id>/``)."""
    return _flock(config.raw_dir() / source_id)


_PART = re.compile(r"\..+\.[A-Za-z0-9_]+\.part")


def remove_partials(folder: Path) -> list[Path]:
    """Delete temporary ``.<name>.<random>.part`` files a killed fetch left in ``folder``.
    Call it only while holding the folder's source lock."""
    gone = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and _PART.fullmatch(p.name):
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


# --------------------------------------------------------------------------- manifest

_SHA = re.compile(r"[0-9a-f]{64}")


def _read_csv_rows(path: Path, required: list[str], what: str, fix: str,
                   check_sha: bool = True) -> list[dict[str, str]]:
    """Rows of a small CSV, or an :class:`IntegrityError` naming the file and the problem."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = reader.fieldnames or []
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start}); {fix}") from None
    except csv.Error as exc:
        raise IntegrityError(f"{path}: the {what} is not a readable CSV ({exc}); {fix}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise IntegrityError(f"{path}: the {what} lacks column(s) {missing} (found {header}); "
                             f"{fix}")
    for i, row in enumerate(rows, start=2):
        if None in row or any(row.get(c) is None for c in required):
            raise IntegrityError(f"{path}: line {i} of the {what} has the wrong number of "
                                 f"fields; {fix}")
        if check_sha and "sha256" in required and not _SHA.fullmatch(row["sha256"].strip().lower()):
            raise IntegrityError(f"{path}: line {i} of the {what} has sha256 "
                                 f"{row['sha256']!r}, not 64 hex digits; {fix}")
    return rows


def read_manifest(path: Path | None = None) -> list[dict[str, str]]:
    """Rows of the fetch manifest (empty list if there is none yet).

    A malformed manifest raises :class:`IntegrityError` naming the file and the line.
    """
    path = path or config.manifest_path()
    if not path.is_file():
        return []
    return _read_csv_rows(
        path, ["source_id", "vintage", "file", "sha256"], "fetch manifest",
        "restore it from a backup, or delete it and run `python -m tradelib fetch --force` to "
        "re-fetch and re-record every file", check_sha=False)  # a wrong one fails verification


def recorded_sha(source_id: str, vintage: str) -> dict[str, str]:
    """``{file name: sha256}`` recorded in ``data/raw/MANIFEST.csv`` for one source vintage."""
    return {r["file"]: r["sha256"].strip().lower() for r in read_manifest()
            if r["source_id"] == source_id and r["vintage"] == vintage}


def _record(stored: Stored, url: str) -> None:
    """Add or replace the manifest row for ``stored`` (serialised, atomic rewrite)."""
    path = config.manifest_path()
    with _flock(path.parent):
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
        w = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n",
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        atomic_write_bytes(path, [buf.getvalue().encode("utf-8")])


def _ensure_recorded(stored: Stored, url: str) -> None:
    """Record ``stored`` unless the manifest already has exactly this file and checksum."""
    if recorded_sha(stored.source_id, stored.vintage).get(stored.path.name) != stored.sha256:
        _record(stored, url)


# --------------------------------------------------------------------------- mirror

ALLOW_UNVERIFIED_ENV = "TRADELIB_ALLOW_UNVERIFIED_MIRROR"


def allow_unverified(explicit: bool = False) -> bool:
    """Whether copying from a mirror without a valid MANIFEST was explicitly allowed."""
    return explicit or os.environ.get(ALLOW_UNVERIFIED_ENV, "") not in ("", "0")


def mirror_manifest(mirror: Path, *, allow: bool = False) -> dict[str, dict[str, str]]:
    """The mirror's MANIFEST.csv keyed by relative path.

    A missing or malformed manifest raises :class:`IntegrityError` (a mirror whose files
    cannot be checked is refused), unless ``allow`` (then ``{}``: files are copied unchecked).
    """
    path = mirror / "MANIFEST.csv"
    how = (f"restore the mirror's MANIFEST.csv, or, if you trust the files, pass "
           f"--allow-unverified-mirror (or set {ALLOW_UNVERIFIED_ENV}=1) to copy them unchecked")
    if not path.is_file():
        if allow:
            return {}
        raise IntegrityError(f"{path}: missing, so the mirror's files cannot be checked against "
                             f"their sha256; {how}.")
    try:
        rows = _read_csv_rows(path, ["path", "sha256"], "mirror MANIFEST", how)
    except IntegrityError:
        if allow:
            return {}
        raise
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        key = row["path"].strip()
        if key in out and out[key]["sha256"].lower() != row["sha256"].lower():
            raise IntegrityError(f"{path}: {key} is listed twice with different sha256; {how}.")
        out[key] = row
    return out


def mirror_vintages(source: Source, mirror: Path) -> list[str]:
    """Vintages of ``source`` in the mirror: folders holding every file of the source."""
    base = mirror / source.mirror_subdir
    if not base.is_dir():
        return []
    names = {f.name for f in source.files}
    out = [d.name for d in base.iterdir()
           if d.is_dir() and all((d / n).exists() for n in names)]
    return sorted(out)


def copy_from_mirror(source: Source, vintage: str, sfile: SourceFile, mirror: Path,
                     *, force: bool = False, allow: bool = False) -> Stored:
    """Copy one file of ``source``/``vintage`` from the mirror into ``data/raw``.

    The copy is checked against the sha256 in the mirror's MANIFEST, which must list the file
    (unless ``allow``: see :func:`allow_unverified`). A good file already stored is not copied
    again but is (re-)recorded in ``data/raw/MANIFEST.csv`` when its row is missing.
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
    allow = allow_unverified(allow)
    listed = mirror_manifest(mirror, allow=allow)
    expected = (listed.get(rel, {}).get("sha256") or "").strip().lower() or None
    if expected is None and not allow:
        raise IntegrityError(
            f"{mirror / 'MANIFEST.csv'}: does not list {rel} (a partial manifest), so {src} "
            "cannot be checked. Restore the complete manifest, or pass --allow-unverified-mirror "
            f"(or set {ALLOW_UNVERIFIED_ENV}=1) to copy it unchecked."
        )
    origin = f"mirror:{rel}" if expected else f"mirror-unverified:{rel}"
    url = sfile.url or source.landing_url
    if dest.exists() and not force:
        digest = sha256_file(dest)
        if expected is None or digest == expected:
            stored = Stored(source.id, vintage, dest, digest, dest.stat().st_size, origin)
            _ensure_recorded(stored, url)
            return stored

    def chunks() -> Iterable[bytes]:
        with open(src, "rb") as fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")

    digest = sha256_file(src)
    if expected and digest != expected:
        raise FetchError(
            f"{src}: sha256 {digest[:12]}… does not match the mirror MANIFEST ({expected[:12]}…). "
            "The mirror file is damaged or was replaced; restore it before building."
        )
    digest, size = atomic_write_bytes(dest, chunks())
    if expected and digest != expected:  # changed while being copied
        dest.unlink()
        raise FetchError(f"{src}: changed while being copied; fetch again.")
    stored = Stored(source.id, vintage, dest, digest, size, origin)
    _record(stored, url)
    return stored


# --------------------------------------------------------------------------- download

def _progress(total: int | None, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                leave=False, disable=os.environ.get("TRADELIB_QUIET") == "1")


def _body(resp, bar, expected: int | None) -> Iterable[bytes]:
    """Yield a response's chunks; raise unless exactly Content-Length bytes arrive (when sent)."""
    received = 0
    for chunk in resp.iter_content(_CHUNK):
        received += len(chunk)
        bar.update(len(chunk))
        yield chunk
    if expected is not None and received != expected:
        raise FetchError(f"connection dropped after {received} of {expected} bytes"
                         if received < expected else
                         f"received {received} bytes, more than the {expected} announced")


# --------------------------------------------------------------------------- checks

#: Sources whose publisher file is a live series: a fresh download must reach this close (in
#: months) to the retrieval month, else it was cut short (a truncated CSV can end on a line).
LIVE_MAX_LAG_MONTHS = {"fred": 9, "census-country": 6, "census-ctyseasonal": 6,
                       "census-duties": 9}


def check_format(path: Path, name: str) -> None:
    """Raise :class:`FetchError` unless ``path`` looks like the format ``name`` promises:
    not an HTML page, and an ``.xlsx`` is a zip whose members pass their CRC checks."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise FetchError(f"{name}: the server sent an empty file")
    sniff = head.lstrip().lower()
    if sniff.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise FetchError(f"{name}: the server sent an HTML/XML page (an error or login page?), "
                         "not the data file")
    if name.endswith(".xlsx"):
        if not zipfile.is_zipfile(path):
            raise FetchError(f"{name}: not an .xlsx workbook (not a zip archive); the download "
                             "is truncated or is not the data file")
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FetchError(f"{name}: damaged .xlsx ({exc})") from None
        if bad is not None:
            raise FetchError(f"{name}: damaged .xlsx (member {bad} fails its CRC check)")
    elif name.endswith((".csv", ".txt")):
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a multi-byte character cut at 512 bytes
                raise FetchError(f"{name}: not UTF-8 text (a binary or wrongly encoded "
                                 "file)") from None


def verify_file(source: Source, sfile: SourceFile, path: Path, vintage: str,
                retrieved: dt.date | None = None) -> None:
    """Check a file before it counts: format, its parser (header, sheet, values) and, for a
    fresh download of a live series, that it reaches close to the retrieval month."""
    from tradelib.data import parse

    check_format(path, sfile.name)
    parser = getattr(parse, sfile.parser, None)
    if parser is None:
        return
    try:
        tables = parser(path, vintage)
    except ParseError as exc:
        raise FetchError(f"{sfile.name}: not in the expected layout "
                         f"({str(exc).replace(str(path), sfile.name)})") from None
    lag = LIVE_MAX_LAG_MONTHS.get(source.id, LIVE_MAX_LAG_MONTHS.get(source.mirror_subdir))
    if retrieved is None or lag is None:
        return
    ends = [t["date"].max() for t in tables.values() if "date" in t and len(t)]
    if not ends:
        raise FetchError(f"{sfile.name}: no dated rows")
    last = max(ends)
    months = (retrieved.year - last.year) * 12 + retrieved.month - last.month
    if months > lag:
        raise FetchError(
            f"{sfile.name}: the data end at {last:%Y-%m}, {months} months before the download "
            f"({retrieved:%Y-%m}); the publisher's file reaches within {lag} months, so the "
            "response was cut short"
        )


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
    """Download every file of ``source`` from the official URL into a new vintage folder.

    Every file is downloaded to a staging folder and checked (:func:`verify_file`); only when
    all of them passed are they moved into ``data/raw/<source>/<vintage>/`` and recorded, so a
    vintage is complete or not stored at all (an older complete vintage stays the latest).
    """
    today = dt.date.today()
    vintage = vintage or today.strftime("%Y-%m")
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
    for sfile in source.files:
        if sfile.url is None:
            raise FetchError(
                f"{source.id}/{sfile.name}: {source.publisher} offers no stable download URL for "
                f"this extract; it is available from a mirror only (--mirror DIR). "
                f"Landing page: {source.landing_url}"
            )
    base = config.raw_dir() / source.id
    with source_lock(source.id):
        remove_partials(base / vintage)
        stage = Path(tempfile.mkdtemp(prefix=f".{vintage}.", suffix=".staging", dir=base))
        try:
            staged = []
            for sfile in source.files:
                url = sfile.url.format(**url_kwargs)
                tmp = stage / sfile.name
                final = raw_path(source.id, vintage, sfile.name)
                try:
                    digest, size = download(url, tmp, timeout=timeout, retries=retries,
                                            postprocess=_POSTPROCESS.get(source.id),
                                            desc=f"{source.id} {sfile.name}")
                except FetchError as exc:
                    raise FetchError(
                        str(exc).replace(str(tmp), str(final)) + f" No file of {source.id} was "
                        "stored (a vintage is stored only when every file arrived); the "
                        "vintages already stored are unchanged.") from None
                try:
                    verify_file(source, sfile, tmp, vintage, retrieved=today)
                except FetchError as exc:
                    raise FetchError(
                        f"{url.replace(url_kwargs.get('key') or '<no key>', '<key>')}: "
                        f"download refused: {exc}. Nothing was stored for {source.id}; the "
                        "vintages already stored are unchanged. Try again later, or use a "
                        "mirror (--mirror DIR)."
                    ) from None
                staged.append((sfile, tmp, digest, size))
            out = []
            for sfile, tmp, digest, size in staged:  # every file passed: move them all in
                dest = raw_path(source.id, vintage, sfile.name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
                stored = Stored(source.id, vintage, dest, digest, size, "download")
                _record(stored, sfile.url.replace("{key}", "<CENSUS_API_KEY>"))
                out.append(stored)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- public API

def raw_path(source_id: str, vintage: str, name: str) -> Path:
    """Where a raw file is stored."""
    return config.raw_dir() / source_id / vintage / name


def stored_vintages(source_id: str) -> list[str]:
    """Vintages of ``source_id`` already stored under ``data/raw`` (complete folders only:
    every file of the source present; staging folders are not vintages)."""
    source = get_source(source_id)
    base = config.raw_dir() / source_id
    if not base.is_dir():
        return []
    names = [f.name for f in source.files]
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and not d.name.startswith(".")
                  and all((d / n).exists() for n in names))


def _copy_vintage(source: Source, vintage: str, mdir: Path, *, force: bool,
                  allow: bool) -> list[Stored]:
    """Copy one complete mirror vintage of ``source`` (under the source lock)."""
    with source_lock(source.id):
        remove_partials(config.raw_dir() / source.id / vintage)
        return [copy_from_mirror(source, vintage, sfile, mdir, force=force, allow=allow)
                for sfile in source.files]


def fetch_source(source_id: str, *, mirror: str | os.PathLike[str] | None = None,
                 online: bool = False, force: bool = False, timeout: float = 60.0,
                 retries: int = 3, allow_unverified_mirror: bool = False) -> list[Stored]:
    """Fetch every vintage of one source: all mirror vintages, or one fresh download."""
    source = get_source(source_id)
    mdir = None if online else config.mirror_dir(mirror)
    if mdir is not None:
        if not mdir.is_dir():
            raise FetchError(f"{mdir}: mirror folder not found. Pass an existing folder with "
                             "--mirror DIR or TRADELIB_MIRROR=DIR.")
        out = []
        for vintage in mirror_vintages(source, mdir):
            out += _copy_vintage(source, vintage, mdir, force=force,
                                 allow=allow_unverified_mirror)
        if not out:
            raise FetchError(f"{mdir}: the mirror holds no complete vintage of {source_id} "
                             f"(expected every file of it under {source.mirror_subdir}/<vintage>/:"
                             f" {', '.join(f.name for f in source.files)}).")
        return out
    return download_source(source, timeout=timeout, retries=retries)


def fetch_all(*, mirror: str | os.PathLike[str] | None = None, online: bool = False,
              sources: Iterable[str] | None = None, force: bool = False,
              timeout: float = 60.0, retries: int = 3,
              allow_unverified_mirror: bool = False) -> list[Stored]:
    """Fetch every registered source (or those named); return what was stored."""
    out: list[Stored] = []
    for sid in sources or SOURCES:
        out.extend(fetch_source(sid, mirror=mirror, online=online, force=force,
                                timeout=timeout, retries=retries,
                                allow_unverified_mirror=allow_unverified_mirror))
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
        raise MissingDataError(missing_vintage_message(source, vintage, avail, mdir))
    folder = config.raw_dir() / source_id / vintage
    if mdir is not None and vintage in mirrored and vintage not in stored:
        _copy_vintage(source, vintage, mdir, force=False, allow=False)
    return vintage, folder


def missing_vintage_message(source: Source, vintage: str, available: list[str],
                            mdir: Path | None) -> str:
    """Why vintage ``vintage`` of ``source`` is not here (``available`` are), and how to get it."""
    return (f"the {source.id} vintage {vintage!r} is not available (available: "
            f"{', '.join(available) or 'none'}). Looked in {config.raw_dir() / source.id} and "
            f"the mirror {mdir or '(none configured)'}. Choose one of the available vintages, or "
            "get this one: publishers overwrite their files, so an old vintage cannot be "
            "downloaded again; unpack the data archive (`python -m tradelib fetch --archive "
            "latest`), or point at a mirror that has it (`--mirror DIR` / TRADELIB_MIRROR=DIR).")


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
                       force=args.force, timeout=args.timeout, retries=args.retries,
                       allow_unverified_mirror=getattr(args, "allow_unverified_mirror", False))
    for s in stored:
        print(f"  {s.source_id:<20} {s.vintage}  {s.path.name:<70} {s.size:>10,d} B  "
              f"sha256 {s.sha256[:12]}")
    print(f"{len(stored)} files stored; manifest: {config.manifest_path()}")
    return 0


def clear_raw() -> None:  # pragma: no cover - convenience for benchmarks
    """Delete every stored raw file (the mirror is never touched)."""
    shutil.rmtree(config.raw_dir(), ignore_errors=True)
