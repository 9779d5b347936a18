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
from tradelib.errors import FetchError, IntegrityError, MissingDataError

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
        if self.path.startswith(("/fresh/", "/cut/", "/html")):
            if self.path.startswith("/html"):
                body = b"<!DOCTYPE html><html><body>Service unavailable</body></html>"
            else:
                body = fresh_fred(Path(self.path).stem).encode()
            if self.path.startswith("/cut/"):  # HTTP/1.0, no Content-Length, closed early
                body = body[: body.index(b"1973-07-01")]
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if b"<html" in body else "text/csv")
            if not self.path.startswith("/cut/"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
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


def fresh_fred(series: str) -> str:
    """A FRED CSV of monthly values from 1970-01 to the current month."""
    import datetime as dt

    today = dt.date.today()
    lines = [f"observation_date,{series}"]
    y, m, v = 1970, 1, 50.0
    while (y, m) <= (today.year, today.month):
        lines.append(f"{y}-{m:02d}-01,{v:.1f}")
        y, m, v = (y + 1, 1, v + 0.1) if m == 12 else (y, m + 1, v + 0.1)
    return "\n".join(lines) + "\n"


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
                 files=(SourceFile("DEXMXUS.csv", f"{server}/fresh/DEXMXUS.csv", "parse_fred",
                                   "series"),),
                 citation="c")
    stored = fetch.download_source(src, vintage="2026-11", timeout=5, retries=1)
    assert stored[0].path == config.raw_dir() / "fred-DEXMXUS" / "2026-11" / "DEXMXUS.csv"
    rows = fetch.read_manifest()
    assert rows[0]["sha256"] == stored[0].sha256 and rows[0]["url"].endswith("DEXMXUS.csv")
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


# --------------------------------------------------------------------------- issue 11

def _source(server: str, *paths: str, sid: str = "fred-TEST", parser: str = "parse_fred"):
    files = tuple(SourceFile(f"F{i}.csv" if parser == "parse_fred" else "country.xlsx",
                             f"{server}{p}", parser, f"t{i}") for i, p in enumerate(paths))
    return Source(id=sid, publisher="test", title="t", landing_url=server,
                  mirror_subdir="fred", files=files, citation="c")


def test_html_error_page_is_not_stored(server, data_home):
    """Item 3: an HTML page saved as country.xlsx used to break every load_trade()."""
    src = _source(server, "/html", sid="census-country", parser="parse_census_country")
    with pytest.raises(FetchError, match=r"(?s)/html: download refused: country\.xlsx: the "
                                         r"server sent an HTML.*Nothing was stored"):
        fetch.download_source(src, vintage="2026-11", timeout=5, retries=1)
    assert not (config.raw_dir() / "census-country" / "2026-11").exists()
    assert fetch.read_manifest() == []


def test_response_cut_short_without_content_length_is_refused(server, data_home):
    """Item 3: INDPRO cut at 1973-06 (no Content-Length) was stored as the latest vintage."""
    src = _source(server, "/cut/INDPRO.csv", sid="fred-INDPRO")
    with pytest.raises(FetchError, match=r"data end at 1973-06.*cut short"):
        fetch.download_source(src, vintage="2026-11", timeout=5, retries=1)
    assert not (config.raw_dir() / "fred-INDPRO").exists() or \
        fetch.stored_vintages("fred-INDPRO") == []


def test_partial_source_never_shadows_a_complete_vintage(server, data_home):
    """Item 3: 1 of 3 files failing used to leave a partial newer vintage."""
    good = _source(server, "/fresh/A.csv", "/fresh/B.csv", "/fresh/C.csv")
    fetch.download_source(good, vintage="2026-10", timeout=5, retries=1)
    bad = _source(server, "/fresh/A.csv", "/fresh/B.csv", "/status/404")
    with pytest.raises(FetchError, match=r"(?s)HTTP 404.*fred-TEST/2026-11/F2.csv.*No file of fred-TEST was stored"):
        fetch.download_source(bad, vintage="2026-11", timeout=5, retries=1)
    base = config.raw_dir() / "fred-TEST"
    assert sorted(p.name for p in base.iterdir()) == ["2026-10"]  # no partial, no staging
    assert {r["vintage"] for r in fetch.read_manifest()} == {"2026-10"}


def test_mirror_without_manifest_is_refused_unless_allowed(tiny_mirror, capsys):
    """Item 5: a missing MANIFEST used to switch checksum checking off silently."""
    (tiny_mirror / "MANIFEST.csv").unlink()
    code = cli.main(["fetch", "--source", "fred-INDPRO"])
    err = capsys.readouterr().err
    assert code == 2 and "MANIFEST.csv: missing" in err and "--allow-unverified-mirror" in err
    assert "Traceback" not in err
    assert not (config.raw_dir() / "fred-INDPRO").exists() or \
        not list((config.raw_dir() / "fred-INDPRO").rglob("*.csv"))
    assert cli.main(["fetch", "--source", "fred-INDPRO", "--allow-unverified-mirror"]) == 0
    assert fetch.read_manifest()[0]["origin"].startswith("mirror-unverified:")


def test_partial_mirror_manifest_is_refused(tiny_mirror):
    """Item 5: a file the mirror MANIFEST does not list is not copied unchecked."""
    lines = (tiny_mirror / "MANIFEST.csv").read_text().splitlines()
    (tiny_mirror / "MANIFEST.csv").write_text(
        "\n".join(ln for ln in lines if "CPIAUCSL" not in ln and "INDPRO" not in ln) + "\n")
    with pytest.raises(IntegrityError, match=r"does not list fred/2026-01/INDPRO\.csv"):
        fetch.fetch_source("fred-INDPRO")


@pytest.mark.parametrize("content, problem", [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"file,sha\nx,y\n", "lacks column"),
    (b"path,sha256\nfred/2026-01/INDPRO.csv,abc\n", "not 64 hex digits"),
])
def test_malformed_mirror_manifest_gets_a_message(tiny_mirror, capsys, content, problem):
    """Item 5: a malformed MANIFEST gave a raw KeyError / UnicodeDecodeError."""
    (tiny_mirror / "MANIFEST.csv").write_bytes(content)
    assert cli.main(["fetch", "--source", "fred-INDPRO"]) == 2
    err = capsys.readouterr().err
    assert "MANIFEST.csv" in err and problem in err and "Traceback" not in err


def test_byte_flipped_mirror_file_is_refused(tiny_mirror, capsys):
    """Item 5: with a valid MANIFEST a damaged mirror file is never copied."""
    f = tiny_mirror / "fred" / "2026-01" / "INDPRO.csv"
    data = bytearray(f.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    f.write_bytes(bytes(data))
    assert cli.main(["fetch", "--source", "fred-INDPRO"]) == 2
    assert "does not match the mirror MANIFEST" in capsys.readouterr().err


def test_malformed_raw_manifest_gets_a_message(tiny_mirror, capsys):
    """Item 10: a malformed data/raw/MANIFEST.csv gave a traceback."""
    fetch.fetch_source("fred-INDPRO")
    config.manifest_path().write_bytes(b"source_id,vintage\n\xff\xfe\n")
    assert cli.main(["vintages"]) in (0, 1)
    assert cli.main(["build", "--source", "fred-INDPRO"]) == 2
    err = capsys.readouterr().err
    assert "data/raw/MANIFEST.csv" in err.replace("\\", "/") and "Traceback" not in err


def _fetch_one(args):
    import os

    data, mirror, sid = args
    os.environ.update(TRADELIB_DATA=data, TRADELIB_MIRROR=mirror, TRADELIB_QUIET="1")
    from tradelib.data import fetch as f

    f.fetch_source(sid)


def test_concurrent_fetches_keep_every_manifest_row(tiny_mirror, tmp_path):
    """Item 9: concurrent fetches lost manifest rows (2 of 6 trials)."""
    import multiprocessing as mp
    import os

    sids = ["fred-INDPRO", "fred-DEXMXUS", "census-duties", "census-country"]
    ctx = mp.get_context("fork")  # the children share the imports: seconds, not minutes
    for trial in range(3):
        data = str(tmp_path / f"data{trial}")
        with ctx.Pool(4) as pool:
            pool.map(_fetch_one, [(data, str(tiny_mirror), s) for s in sids])
        os.environ["TRADELIB_DATA"] = data
        rows = fetch.read_manifest()
        assert sorted(r["source_id"] for r in rows) == sorted(sids), f"trial {trial}"


def test_refetch_rerecords_lost_row_and_cleans_partials(tiny_mirror):
    """Item 9/10: a good file already stored is re-recorded; leftover .part files go."""
    import stat

    stored = fetch.fetch_source("fred-INDPRO")[0]
    config.manifest_path().write_text(",".join(fetch.MANIFEST_FIELDS) + "\n")
    part = stored.path.parent / ".INDPRO.csv.abcd1234.part"
    part.write_text("half a file from a killed fetch")
    fetch.fetch_source("fred-INDPRO")
    assert [r["file"] for r in fetch.read_manifest()] == ["INDPRO.csv"]
    assert not part.exists()
    mode = stat.S_IMODE(stored.path.stat().st_mode)
    assert mode & 0o044, f"stored files must not be private (0600): {oct(mode)}"


@pytest.mark.parametrize("argv, text", [
    (["fetch", "--timeout", "-1"], "argument --timeout: -1 must be a positive number"),
    (["fetch", "--retries", "0"], "argument --retries: 0 must be 1 or more"),
    (["run", "--start", "2099-01"], "argument --start: 2099-01 is in the future"),
    (["run", "--start", "2020-13"], "argument --start: '2020-13' is not a month"),
    (["run", "--timeout", "0"], "argument --timeout: 0 must be 1 or more"),
])
def test_bad_arguments_are_explained(argv, text, capsys):
    """Item 10: unclear argument errors."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert text in capsys.readouterr().err


def test_vintages_and_build_fail_when_nothing_is_available(data_home, capsys):
    """Item 10: `vintages` and `build` exited 0 with no data at all."""
    assert cli.main(["vintages"]) == 1
    assert "no data" in capsys.readouterr().err
    assert cli.main(["build"]) == 1
    assert "nothing to build" in capsys.readouterr().err
