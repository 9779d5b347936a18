"""Versioned data archives: the raw files the notebooks read, packed with a sha256 registry.

Publishers overwrite their files (Census replaces ``country.xlsx`` every month, so the
``2025-04`` vintage the fact check needs can never be downloaded again, and USITC DataWeb extracts
have no download URL at all). An online user (Binder, Colab, a laptop without the mirror) gets
exactly the files the published notebooks were executed with from a data archive instead:

* ``python -m tradelib archive`` packs every registered file (:mod:`tradelib.data.sources`) of
  every vintage stored under ``data/raw`` — the files the loaders read, nothing else from the
  mirror — into ``tradelib-data-<release>.tar.gz``, with ``REGISTRY.json`` inside (source,
  vintage, file, sha256, size, official URL of each file) and a ``.sha256`` file beside it.
  ``--register`` also writes the release into ``tradelib/resources/data_releases.json``, the
  registry of data releases shipped with the package.
* ``python -m tradelib fetch --archive URL|PATH|RELEASE`` downloads (or opens) the archive, checks
  every member against the archive's registry and, for a known release, against the registry
  shipped with the package, then stores the files under ``data/raw`` (atomic writes, recorded in
  the fetch manifest, origin ``archive:<name>``). A stored file with other content is never
  overwritten without ``--force``.

The archive is reproducible: members are sorted, with fixed times and owners, and the gzip
header carries no time stamp, so packing the same files twice gives the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tradelib import config
from tradelib.data import fetch
from tradelib.data.sources import SOURCES, DataRelease, data_releases, get_source
from tradelib.errors import FetchError

ARCHIVE_FORMAT = 1
REGISTRY_NAME = "REGISTRY.json"
RAW_PREFIX = "raw"
_MTIME = 946684800  # 2000-01-01T00:00:00Z: a fixed member time keeps archives reproducible


@dataclass(frozen=True)
class ArchiveFile:
    """One raw file in an archive."""

    source_id: str
    vintage: str
    file: str
    sha256: str
    size: int

    @property
    def member(self) -> str:
        """Path of the file inside the archive."""
        return f"{RAW_PREFIX}/{self.source_id}/{self.vintage}/{self.file}"


def archive_name(release: str) -> str:
    """File name of the archive of a data release: ``tradelib-data-<release>.tar.gz``."""
    return f"tradelib-data-{release}.tar.gz"


# --------------------------------------------------------------------------- pack

def collect() -> list[ArchiveFile]:
    """Every registered file of every stored vintage under ``data/raw``, sorted.

    These are the files the loaders read (the source registry names them); extra files in a
    vintage folder are not included. Raises when nothing is stored.
    """
    out = []
    for sid, source in sorted(SOURCES.items()):
        for vintage in fetch.stored_vintages(sid):
            for sfile in source.files:
                path = fetch.raw_path(sid, vintage, sfile.name)
                if path.is_file():
                    out.append(ArchiveFile(sid, vintage, sfile.name, fetch.sha256_file(path),
                                           path.stat().st_size))
    if not out:
        raise FetchError(f"nothing to archive: no raw files under {config.raw_dir()}; run "
                         "`python -m tradelib fetch` first.")
    return out


def default_release(files: list[ArchiveFile]) -> str:
    """The release id of a set of files: the newest vintage of the Census trade file."""
    main = [f.vintage for f in files if f.source_id == "census-country"]
    return max(main or [f.vintage for f in files])


def registry_payload(files: list[ArchiveFile], release: str) -> dict[str, Any]:
    """The ``REGISTRY.json`` of an archive."""
    from tradelib import __version__

    return {
        "format": ARCHIVE_FORMAT,
        "release": release,
        "archive": archive_name(release),
        "created_by": f"tradelib {__version__}",
        "files": [
            {"source_id": f.source_id, "vintage": f.vintage, "file": f.file,
             "sha256": f.sha256, "size": f.size,
             "url": _public_url(f.source_id, f.file)}
            for f in files
        ],
    }


def _public_url(source_id: str, name: str) -> str:
    """The official URL of a registered file (API key placeholder kept), else the landing page."""
    source = get_source(source_id)
    for sfile in source.files:
        if sfile.name == name and sfile.url:
            return sfile.url.replace("{key}", "<CENSUS_API_KEY>")
    return source.landing_url


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, _MTIME, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack(out_dir: str | os.PathLike[str], release: str | None = None) -> tuple[Path, dict]:
    """Write ``tradelib-data-<release>.tar.gz`` (and ``.sha256``) into ``out_dir``.

    Returns the archive path and its registry. The archive is written to a temporary file and
    renamed into place when complete.
    """
    files = collect()
    release = release or default_release(files)
    registry = registry_payload(files, release)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dest = out / archive_name(release)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=out)
    try:
        with os.fdopen(fd, "wb") as raw_fh, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw_fh, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            body = json.dumps(registry, indent=1, sort_keys=True).encode("utf-8")
            tar.addfile(_tarinfo(REGISTRY_NAME, len(body)), io.BytesIO(body))
            for f in files:
                path = fetch.raw_path(f.source_id, f.vintage, f.file)
                with open(path, "rb") as fh:
                    tar.addfile(_tarinfo(f.member, f.size), fh)
        os.chmod(tmp, 0o644)  # an archive is published: readable by a web server
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    digest = fetch.sha256_file(dest)
    fetch.atomic_write_bytes(dest.with_name(dest.name + ".sha256"),
                             [f"{digest}  {dest.name}\n".encode()])
    return dest, registry


def release_entry(registry: dict[str, Any], url: str) -> dict[str, Any]:
    """The ``data_releases.json`` entry of an archive's registry, published at ``url``."""
    return {"release": registry["release"], "archive": registry["archive"], "url": url,
            "files": [{k: f[k] for k in ("source_id", "vintage", "file", "sha256", "size")}
                      for f in registry["files"]]}


def register(registry: dict[str, Any], url: str, path: Path | None = None) -> Path:
    """Add or replace the release in the package's ``data_releases.json``."""
    path = path or config.authored_dir() / "data_releases.json"
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        current = {"releases": []}
    releases = [r for r in current.get("releases", []) if r["release"] != registry["release"]]
    releases.append(release_entry(registry, url))
    releases.sort(key=lambda r: r["release"])
    text = json.dumps({"releases": releases}, indent=1) + "\n"
    fetch.atomic_write_bytes(path, [text.encode("utf-8")])
    return path


# --------------------------------------------------------------------------- unpack

def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def resolve(spec: str) -> tuple[str, DataRelease | None]:
    """Turn ``spec`` (URL, path, or a release id such as ``2026-10`` / ``latest``) into a location
    and the registered release it names (None when not registered)."""
    releases = data_releases()
    if spec == "latest":
        if not releases:
            raise FetchError("no data release is registered (tradelib/resources/"
                             "data_releases.json); pass the archive's URL or path instead.")
        spec = max(releases)
    if spec in releases:
        rel = releases[spec]
        local = config.data_dir() / "archives" / rel.archive
        return (str(local) if local.is_file() else rel.url), rel
    name = PurePosixPath(spec.split("?", 1)[0]).name
    by_name = {r.archive: r for r in releases.values()}
    return spec, by_name.get(name)


def _open_local(spec: str, timeout: float, retries: int) -> Path:
    """A local path to the archive: downloaded into ``<data>/archives/`` when ``spec`` is a URL."""
    if _is_url(spec):
        name = PurePosixPath(spec.split("?", 1)[0]).name or "tradelib-data.tar.gz"
        dest = config.data_dir() / "archives" / name
        fetch.download(spec, dest, timeout=timeout, retries=retries, desc=name)
        return dest
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FetchError(f"{path}: no such archive file. Pass a path, an http(s) URL or a "
                         f"registered release ({', '.join(sorted(data_releases())) or 'none'}).")
    return path


def _check_member(info: tarfile.TarInfo, archive: Path) -> None:
    parts = PurePosixPath(info.name).parts
    if not info.isfile() or info.name.startswith("/") or ".." in parts:
        raise FetchError(f"{archive}: member {info.name!r} is not a plain file inside the archive; "
                         "refusing to unpack it (the archive is damaged or not a tradelib one).")


def read_registry(archive: Path) -> dict[str, Any]:
    """The ``REGISTRY.json`` of an archive, checked for shape."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(REGISTRY_NAME)
            if member is None:
                raise KeyError(REGISTRY_NAME)
            registry = json.loads(member.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"{archive}: not a readable .tar.gz archive ({exc}); download it "
                         "again.") from exc
    except KeyError:
        raise FetchError(f"{archive}: no {REGISTRY_NAME} inside; not a tradelib data "
                         "archive (make one with `python -m tradelib archive`).") from None
    except json.JSONDecodeError as exc:
        raise FetchError(f"{archive}: {REGISTRY_NAME} is not valid JSON ({exc}).") from exc
    if registry.get("format") != ARCHIVE_FORMAT or not isinstance(registry.get("files"), list):
        raise FetchError(f"{archive}: {REGISTRY_NAME} has format {registry.get('format')!r}; "
                         f"this tradelib reads format {ARCHIVE_FORMAT}. Upgrade tradelib.")
    return registry


def unpack(spec: str, *, force: bool = False, timeout: float = 60.0,
           retries: int = 3) -> list[fetch.Stored]:
    """Download (or open) the archive ``spec``, verify it and store its files under ``data/raw``.

    Every member must be listed in the archive's registry with the same sha256 and size, every
    registered file must be present, and a registered release's files must match the registry
    shipped with the package. Nothing is stored unless all checks pass.
    """
    location, release = resolve(spec)
    archive = _open_local(location, timeout, retries)
    registry = read_registry(archive)
    expected = {(f["source_id"], f["vintage"], f["file"]): f for f in registry["files"]}
    if release is not None:
        pinned = {(f.source_id, f.vintage, f.file): f.sha256 for f in release.files}
        wrong = sorted(k for k in pinned if expected.get(k, {}).get("sha256") != pinned[k])
        extra = sorted(set(expected) - set(pinned))
        if wrong or extra:
            raise FetchError(
                f"{archive}: does not match data release {release.release} registered in "
                f"tradelib ({len(wrong)} files missing or different, e.g. {wrong[:2]}; "
                f"{len(extra)} unexpected). Download the archive again from {release.url}.")
    payload: dict[tuple[str, str, str], bytes] = {}
    with tarfile.open(archive, "r:*") as tar:
        for info in tar.getmembers():
            if info.name == REGISTRY_NAME:
                continue
            _check_member(info, archive)
            parts = PurePosixPath(info.name).parts
            key = tuple(parts[1:]) if len(parts) == 4 and parts[0] == RAW_PREFIX else None
            if key not in expected:
                raise FetchError(f"{archive}: member {info.name!r} is not in its "
                                 f"{REGISTRY_NAME}; the archive is damaged.")
            fh = tar.extractfile(info)
            data = fh.read() if fh is not None else b""
            meta = expected[key]
            digest = hashlib.sha256(data).hexdigest()
            if digest != meta["sha256"] or len(data) != int(meta["size"]):
                raise FetchError(
                    f"{archive}: {info.name} has sha256 {digest[:12]}… ({len(data)} bytes); "
                    f"the registry says {meta['sha256'][:12]}… ({meta['size']} bytes). The "
                    "archive is damaged: download it again.")
            get_source(key[0])
            payload[key] = data
    missing = sorted(set(expected) - set(payload))
    if missing:
        raise FetchError(f"{archive}: {len(missing)} registered files are missing, e.g. "
                         f"{'/'.join(missing[0])}; the archive is incomplete.")
    conflicts = []
    for (sid, vintage, name), data in payload.items():
        dest = fetch.raw_path(sid, vintage, name)
        if dest.exists() and not force and fetch.sha256_file(dest) != expected[
                (sid, vintage, name)]["sha256"]:
            conflicts.append(str(dest))
    if conflicts:
        raise FetchError(f"{len(conflicts)} stored files differ from the archive (e.g. "
                         f"{conflicts[0]}); they were not overwritten. Use --force to replace "
                         "them with the archive's files.")
    origin = f"archive:{archive.name}"
    out = []
    for (sid, vintage, name), data in sorted(payload.items()):
        dest = fetch.raw_path(sid, vintage, name)
        if dest.exists() and fetch.sha256_file(dest) == expected[(sid, vintage, name)]["sha256"]:
            digest, size = expected[(sid, vintage, name)]["sha256"], len(data)
        else:
            digest, size = fetch.atomic_write_bytes(dest, [data])
        stored = fetch.Stored(sid, vintage, dest, digest, size, origin)
        url = expected[(sid, vintage, name)].get("url") or get_source(sid).landing_url
        fetch._record(stored, url)
        out.append(stored)
    return out


# --------------------------------------------------------------------------- CLI

def add_arguments(parser) -> None:
    """Options of ``python -m tradelib archive``."""
    parser.add_argument("--out", default=None,
                        help="folder for the archive (default <data>/archives)")
    parser.add_argument("--release", help="release id (default: newest Census trade vintage)")
    parser.add_argument("--register", metavar="URL",
                        help="also record the release, to be published at URL, in "
                             "tradelib/resources/data_releases.json")


def main(args) -> int:
    """``python -m tradelib archive``."""
    out = Path(args.out) if args.out else config.data_dir() / "archives"
    dest, registry = pack(out, args.release)
    total = sum(f["size"] for f in registry["files"])
    print(f"archive: {dest} ({len(registry['files'])} files, {total:,d} bytes raw, "
          f"{dest.stat().st_size:,d} bytes packed)")
    print(f"sha256:  {fetch.sha256_file(dest)}")
    for f in registry["files"]:
        print(f"  {f['source_id']:<20} {f['vintage']}  {f['file']:<70} {f['sha256'][:12]}")
    if args.register:
        path = register(registry, args.register)
        print(f"registered release {registry['release']} in {path}")
    return 0


def cli_fetch_archive(args) -> int:
    """``python -m tradelib fetch --archive URL|PATH|RELEASE``."""
    print(f"Unpacking data archive {args.archive} into {config.raw_dir()}")
    stored = unpack(args.archive, force=args.force, timeout=args.timeout, retries=args.retries)
    for s in stored:
        print(f"  {s.source_id:<20} {s.vintage}  {s.path.name:<70} {s.size:>10,d} B  "
              f"sha256 {s.sha256[:12]}")
    print(f"{len(stored)} files stored and verified; manifest: {config.manifest_path()}")
    return 0
