"""Downloading against a real HTTP server on 127.0.0.1, and copying from a mirror."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import FIXTURES

from tradelib import cli, config
from tradelib.data import fetch
from tradelib.data.sources import Source, SourceFile
from tradelib.errors import FetchError, MissingDataError

PAYLOAD_FILE = FIXTURES / "mirror/fred/2026-01/DEXMXUS.csv"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the fixture mirror; /drop cuts the body short; /status/N answers with code N."""

    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        _Handler.hits[self.path] = _Handler.hits.get(self.path, 0) + 1
        if self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
            self.send_response(code)
            self.end_headers()
            return
        body = PAYLOAD_FILE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/drop":
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(2)  # drop the connection mid-file
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    _Handler.hits = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_ok_is_atomic_and_hashed(server, tmp_path):
    dest = tmp_path / "raw" / "DEXMXUS.csv"
    digest, size = fetch.download(f"{server}/fred/DEXMXUS.csv", dest, timeout=5, retries=1)
    assert dest.read_bytes() == PAYLOAD_FILE.read_bytes()
    assert digest == hashlib.sha256(PAYLOAD_FILE.read_bytes()).hexdigest()
    assert size == PAYLOAD_FILE.stat().st_size
    assert _leftovers(dest.parent) == ["DEXMXUS.csv"]  # no temporary files left


def test_dropped_connection_leaves_nothing_and_keeps_old_file(server, tmp_path):
    dest = tmp_path / "raw" / "DEXMXUS.csv"
    dest.parent.mkdir(parents=True)
    dest.write_text("previous good copy")
    with pytest.raises(FetchError, match=r"(?s)/drop: download failed after 2 attempt.*"
                                         r"(dropped|IncompleteRead|ChunkedEncoding)"):
        fetch.download(f"{server}/drop", dest, timeout=5, retries=2, backoff=0)
    assert dest.read_text() == "previous good copy"
    assert _leftovers(dest.parent) == ["DEXMXUS.csv"]
    assert _Handler.hits["/drop"] == 2  # retried


def test_404_is_not_retried(server, tmp_path):
    dest = tmp_path / "x.csv"
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch.download(f"{server}/status/404", dest, timeout=5, retries=3, backoff=0)
    assert _Handler.hits["/status/404"] == 1
    assert not dest.exists()


def test_500_is_retried_then_fails(server, tmp_path):
    dest = tmp_path / "x.csv"
    with pytest.raises(FetchError, match=r"HTTP 500.*Nothing was written"):
        fetch.download(f"{server}/status/500", dest, timeout=5, retries=3, backoff=0)
    assert _Handler.hits["/status/500"] == 3
    assert not dest.exists()


def test_unreachable_host_says_what_to_do(tmp_path):
    with pytest.raises(FetchError, match="TRADELIB_MIRROR"):
        fetch.download("http://127.0.0.1:9/none.csv", tmp_path / "n.csv", timeout=2,
                       retries=1)


def test_download_source_records_manifest(server, data_home, monkeypatch):
    src = Source(id="fred-DEXMXUS", publisher="test", title="t", landing_url=server,
                 mirror_subdir="fred",
                 files=(SourceFile("DEXMXUS.csv", f"{server}/fredgraph.csv", "parse_fred",
                                   "series"),),
                 citation="c")
    stored = fetch.download_source(src, vintage="2026-11", timeout=5, retries=1)
    assert stored[0].path == config.raw_dir() / "fred-DEXMXUS" / "2026-11" / "DEXMXUS.csv"
    rows = fetch.read_manifest()
    assert rows[0]["sha256"] == stored[0].sha256 and rows[0]["url"].endswith("fredgraph.csv")
    assert rows[0]["retrieved_at"].startswith("20")


def test_census_api_key_required(data_home, monkeypatch):
    monkeypatch.delenv("CENSUS_API_KEY", raising=False)
    with pytest.raises(FetchError, match="CENSUS_API_KEY"):
        fetch.fetch_source("census-duties", online=True)


def test_census_api_json_converted_to_mirror_layout():
    data = (b'[["CTY_CODE","CAL_DUT_MO","CON_VAL_MO","time"],'
            b'["2010","5","100","2026-02"],["2010","4","90","2026-01"]]')
    csv_text = fetch.census_api_json_to_csv(data).decode()
    assert csv_text.splitlines() == ["time,CTY_CODE,CAL_DUT_MO,CON_VAL_MO",
                                     "2026-01,2010,4,90", "2026-02,2010,5,100"]


def test_mirror_copy_and_manifest(tiny_mirror):
    stored = fetch.fetch_source("fred-DEXMXUS")
    assert [s.vintage for s in stored] == ["2026-01"]
    assert stored[0].path.read_bytes() == PAYLOAD_FILE.read_bytes()
    assert fetch.read_manifest()[0]["origin"] == "mirror:fred/2026-01/DEXMXUS.csv"


def test_mirror_sha_mismatch_is_refused(tiny_mirror):
    (tiny_mirror / "MANIFEST.csv").write_text(
        "source_id,vintage,path,sha256\nfred-DEXMXUS,2026-01,fred/2026-01/DEXMXUS.csv,"
        + "0" * 64 + "\n")
    with pytest.raises(FetchError, match="does not match the mirror MANIFEST"):
        fetch.fetch_source("fred-DEXMXUS")
    assert not (config.raw_dir() / "fred-DEXMXUS" / "2026-01" / "DEXMXUS.csv").exists()


def test_offline_without_mirror_cli_fails_clearly(data_home, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "download", _offline)
    code = cli.main(["fetch", "--source", "fred-INDPRO", "--retries", "1"])
    err = capsys.readouterr().err
    assert code != 0
    assert "TRADELIB_MIRROR" in err and "--mirror" in err
    assert not (config.raw_dir() / "fred-INDPRO").exists() or \
        not any((config.raw_dir() / "fred-INDPRO").rglob("*.csv"))


def _offline(url, dest, **kw):
    raise FetchError(f"{url}: download failed after 1 attempt(s) (ConnectionError: offline). "
                     "Nothing was written. If this machine is offline, point tradelib at a "
                     "mirror: `python -m tradelib fetch --mirror DIR` or set TRADELIB_MIRROR=DIR.")


def test_missing_data_message(data_home):
    with pytest.raises(MissingDataError, match="python -m tradelib fetch"):
        fetch.ensure_raw("fred-INDPRO")


def test_mirror_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADELIB_MIRROR", str(tmp_path))
    assert config.mirror_dir() == tmp_path.resolve()
    assert config.mirror_dir(tmp_path / "x") == (tmp_path / "x").resolve()
    monkeypatch.setenv("TRADELIB_ONLINE", "1")
    assert config.mirror_dir() is None
    monkeypatch.delenv("TRADELIB_ONLINE")
    monkeypatch.setenv("TRADELIB_MIRROR", "")
    assert config.mirror_dir() is None
