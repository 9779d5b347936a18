"""Versioned data archives: pack, verify, unpack (from a path or over HTTP on 127.0.0.1).

Fast tests use the tiny fixture mirror; the slow end-to-end test packs the real mirror's files,
serves the archive from a local HTTP server and runs ``python -m tradelib run --archive URL`` with
the installed wheel in a fresh venv, without any mirror, to completion of all six notebooks.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import REPO

from tradelib import cli, config
from tradelib.data import archive, fetch, load
from tradelib.data.sources import SOURCES, DataRelease, ReleaseFile, data_releases, get_source
from tradelib.errors import FetchError, MissingDataError

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
TINY_SOURCES = ["census-country", "census-duties", "fred-DEXMXUS", "fred-INDPRO"]


@pytest.fixture
def packed(tiny_mirror, tmp_path, monkeypatch):
    """The tiny mirror fetched into a data folder and packed; returns (archive, registry)."""
    fetch.fetch_all(sources=TINY_SOURCES)
    return archive.pack(tmp_path / "archives", release="2026-01")


@pytest.fixture
def fresh_data(tmp_path, monkeypatch):
    """Another empty data folder, no mirror."""
    d = tmp_path / "fresh"
    monkeypatch.setenv("TRADELIB_DATA", str(d))
    monkeypatch.setenv("TRADELIB_MIRROR", "")
    return d


def _rewrite(src: Path, dest: Path, change) -> Path:
    """Copy an archive member by member, letting ``change(info, data)`` alter or add members."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dest, "w:gz") as tout:
        for info in tin.getmembers():
            data = tin.extractfile(info).read()
            for new_info, new_data in change(info, data):
                new_info.size = len(new_data)
                tout.addfile(new_info, io.BytesIO(new_data))
    return dest


def test_pack_holds_exactly_the_registered_files_with_a_registry(packed, tmp_path):
    path, registry = packed
    assert path.name == "tradelib-data-2026-01.tar.gz"
    stored = {(r["source_id"], r["vintage"], r["file"]) for r in fetch.read_manifest()}
    # a stray file beside the registered ones is not packed
    (config.raw_dir() / "fred-INDPRO" / "2026-01" / "notes.txt").write_text("not data")
    with tarfile.open(path) as tar:
        members = sorted(tar.getnames())
    assert members[0] == "REGISTRY.json"
    assert {tuple(m.split("/")[1:]) for m in members[1:]} == stored
    listed = {(f["source_id"], f["vintage"], f["file"]): f for f in registry["files"]}
    assert set(listed) == stored
    for (sid, vintage, name), f in listed.items():
        raw = fetch.raw_path(sid, vintage, name)
        assert f["sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
        assert f["size"] == raw.stat().st_size
        assert f["url"].startswith("https://")
    assert "{key}" not in json.dumps(registry)  # the Census API key placeholder is not leaked
    sidecar = path.with_name(path.name + ".sha256").read_text().split()
    assert sidecar == [fetch.sha256_file(path), path.name]


def test_pack_is_reproducible(packed, tmp_path):
    path, _ = packed
    again, _ = archive.pack(tmp_path / "again", release="2026-01")
    assert again.read_bytes() == path.read_bytes()


def test_unpack_stores_verified_files_and_records_them(packed, fresh_data):
    path, registry = packed
    stored = archive.unpack(str(path))
    assert len(stored) == len(registry["files"])
    for s in stored:
        assert s.path.is_relative_to(fresh_data / "raw")
        assert fetch.sha256_file(s.path) == s.sha256
    rows = fetch.read_manifest()
    assert {r["origin"] for r in rows} == {f"archive:{path.name}"}
    # the loaders now work from the unpacked files alone (no mirror)
    assert load.load_fred("INDPRO").attrs["vintage"] == "2026-01"
    # unpacking again is harmless
    assert len(archive.unpack(str(path))) == len(stored)


def test_cli_fetch_archive_over_http(packed, fresh_data, capsys):
    path, _ = packed
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{path.name}"
        assert cli.main(["fetch", "--archive", url, "--retries", "1"]) == 0
        bad = cli.main(["fetch", "--archive", url + ".missing", "--retries", "1"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    out = capsys.readouterr()
    assert "files stored and verified" in out.out
    assert bad == 2 and "HTTP 404" in out.err
    assert (fresh_data / "archives" / path.name).is_file()
    assert load.available_vintages("fred-DEXMXUS") == ["2026-01"]


def test_damaged_member_is_refused_and_nothing_stored(packed, fresh_data, tmp_path):
    path, _ = packed

    def corrupt(info, data):
        if info.name.endswith("INDPRO.csv"):
            data = data.replace(b"1", b"2", 1)
        yield info, data

    bad = _rewrite(path, tmp_path / "bad.tar.gz", corrupt)
    with pytest.raises(FetchError, match=r"INDPRO\.csv has sha256 .* damaged"):
        archive.unpack(str(bad))
    assert not (fresh_data / "raw").exists()


def test_path_traversal_and_unlisted_members_are_refused(packed, fresh_data, tmp_path):
    path, _ = packed

    def add(name):
        def change(info, data):
            yield info, data
            if info.name == "REGISTRY.json":
                yield tarfile.TarInfo(name), b"x"
        return change

    with pytest.raises(FetchError, match="not a plain file inside"):
        archive.unpack(str(_rewrite(path, tmp_path / "evil.tar.gz", add("../../evil.txt"))))
    with pytest.raises(FetchError, match="not in its REGISTRY"):
        archive.unpack(str(_rewrite(path, tmp_path / "extra.tar.gz",
                                    add("raw/fred-INDPRO/2026-01/extra.csv"))))
    assert not (fresh_data / "raw").exists()
    assert not (tmp_path.parent / "evil.txt").exists()


def test_missing_member_and_non_archives_are_refused(packed, fresh_data, tmp_path):
    path, _ = packed

    def drop(info, data):
        if not info.name.endswith("INDPRO.csv"):
            yield info, data

    with pytest.raises(FetchError, match="missing"):
        archive.unpack(str(_rewrite(path, tmp_path / "short.tar.gz", drop)))
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(FetchError, match="not a readable"):
        archive.unpack(str(junk))
    with pytest.raises(FetchError, match="no such archive"):
        archive.unpack(str(tmp_path / "nowhere.tar.gz"))


def test_stored_files_that_differ_are_not_overwritten_without_force(packed, fresh_data):
    path, _ = packed
    mine = fetch.raw_path("fred-INDPRO", "2026-01", "INDPRO.csv")
    mine.parent.mkdir(parents=True)
    mine.write_text("my own edits\n")
    with pytest.raises(FetchError, match="not overwritten.*--force"):
        archive.unpack(str(path))
    assert mine.read_text() == "my own edits\n"
    archive.unpack(str(path), force=True)
    assert mine.read_text() != "my own edits\n"


def test_a_registered_release_must_match_the_pinned_checksums(packed, fresh_data, monkeypatch):
    path, registry = packed
    files = tuple(ReleaseFile(f["source_id"], f["vintage"], f["file"], f["sha256"], f["size"])
                  for f in registry["files"])
    good = DataRelease("2026-01", path.name, f"https://example.invalid/{path.name}", files)
    monkeypatch.setattr(archive, "data_releases", lambda: {"2026-01": good})
    local = fresh_data / "archives" / path.name
    local.parent.mkdir(parents=True)
    local.write_bytes(path.read_bytes())
    assert len(archive.unpack("2026-01")) == len(files)  # a release id, already downloaded
    wrong = DataRelease("2026-01", path.name, good.url,
                        (ReleaseFile(files[0].source_id, files[0].vintage, files[0].file,
                                     "0" * 64, files[0].size), *files[1:]))
    monkeypatch.setattr(archive, "data_releases", lambda: {"2026-01": wrong})
    with pytest.raises(FetchError, match="does not match data release 2026-01"):
        archive.unpack(str(path))


def test_the_shipped_release_registry_names_an_archive_per_release():
    releases = data_releases()
    assert releases, "tradelib/resources/data_releases.json registers no data release"
    for rel in releases.values():
        assert rel.archive == archive.archive_name(rel.release)
        assert rel.url.startswith("https://") and rel.url.endswith(rel.archive)
        for f in rel.files:
            assert f.file in {s.name for s in get_source(f.source_id).files}
            assert len(f.sha256) == 64 and f.size > 0
        vintages = rel.vintages()
        # every registered source, including the old vintage and files without a download URL
        assert set(vintages) == set(SOURCES)
        assert "2025-04" in vintages["census-country"]
    latest = releases[max(releases)]
    assert archive.resolve("latest")[1] == latest


def test_missing_source_message_names_source_and_places(tmp_path, monkeypatch, data_home):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("TRADELIB_MIRROR", str(empty_mirror))
    with pytest.raises(MissingDataError) as err:
        fetch.ensure_raw("usitc-dataweb")
    text = str(err.value)
    assert "usitc-dataweb" in text and str(empty_mirror) in text
    assert "no mirror configured" not in text
    assert "no download URL" in text and "--archive" in text
    monkeypatch.setenv("TRADELIB_MIRROR", "")
    monkeypatch.delenv("CENSUS_API_KEY", raising=False)
    with pytest.raises(MissingDataError, match="no mirror configured.*CENSUS_API_KEY"):
        fetch.ensure_raw("census-duties")


def test_optional_source_returns_a_note_instead_of_failing(data_home):
    table, note = load.optional_source(load.load_usitc, "hs2")
    assert table is None
    assert "usitc-dataweb" in note and "load_usitc" in note and "--archive" in note


# --------------------------------------------------------------------------- end to end (slow)

@pytest.mark.slow
@pytest.mark.notebooks
def test_run_from_an_archive_served_over_http_without_a_mirror(mirror_data, tmp_path,
                                                               monkeypatch):
    from installed_env import clean_env, installed_venv

    monkeypatch.setenv("TRADELIB_DATA", str(mirror_data))
    path, registry = archive.pack(tmp_path / "served")
    installed = installed_venv()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    cache, work, out = tmp_path / "cache", tmp_path / "work", tmp_path / "out"
    work.mkdir()
    env = clean_env(XDG_CACHE_HOME=str(cache), TRADELIB_MIRROR="")
    env.pop("CENSUS_API_KEY", None)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{path.name}"
        proc = subprocess.run(
            [installed.python, "-m", "tradelib", "run", "--archive", url, "--notebooks",
             REPO / "notebooks", "--out", out, "--site-dir", tmp_path / "site", "--no-progress"],
            cwd=work, env=env, capture_output=True, text=True, check=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads((out / "mexico" / "run-summary.json").read_text())
    assert [r["status"] for r in summary["results"]] == ["ok"] * len(NOTEBOOKS)
    data = summary["provenance"]["data"]
    assert {f["origin"] for f in data["files"]} == {f"archive:{path.name}"}
    assert len(data["files"]) == len(registry["files"])
    assert (tmp_path / "site" / "index.html").is_file()
