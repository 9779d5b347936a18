"""Shared fixtures: isolated data folders, tiny official-layout files, the offline mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
COUNTRY_HEADER = (["year", "CTY_CODE", "CTYNAME"] + [f"I{m}" for m in MONTHS] + ["IYR"]
                  + [f"E{m}" for m in MONTHS] + ["EYR"])


def country_row(year: int, code: int, name: str, imports: list, exports: list) -> list:
    """One row of Census country.xlsx with annual columns that are the sums of the months."""
    def total(vals: list) -> float:
        return round(sum(v for v in vals if isinstance(v, (int, float))), 6)
    return [year, code, name, *imports, total(imports), *exports, total(exports)]


def tiny_country_rows() -> list[list]:
    """Hand-written rows in the country.xlsx layout.

    Two partners (World NSA, code 15, stored as an integer as in the real file, and Mexico 2010),
    years 2024 (complete) and 2025 (published through February; Census writes 0 afterwards).
    Mexico's 2024 exports have an empty cell in March (published but unavailable).
    """
    mx_i24 = [40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0]
    mx_e24 = [30.0, 31.0, None, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0]
    w_i24 = [v * 10 for v in mx_i24]
    w_e24 = [v * 10 for v in [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0,
                              41.0]]
    mx_i25 = [52.0, 53.0] + [0.0] * 10
    mx_e25 = [42.0, 0.0] + [0.0] * 10   # a real zero in a published month (February)
    w_i25 = [520.0, 530.0] + [0.0] * 10
    w_e25 = [420.0, 430.0] + [0.0] * 10
    return [
        country_row(2024, 15, "World, Not Seasonally Adjusted", w_i24, w_e24),
        country_row(2025, 15, "World, Not Seasonally Adjusted", w_i25, w_e25),
        country_row(2024, 2010, "Mexico", mx_i24, mx_e24),
        country_row(2025, 2010, "Mexico", mx_i25, mx_e25),
    ]


def write_xlsx(path: Path, rows: list[list], header: list[str] | None = None,
               sheet: str = "country") -> Path:
    """Write rows to an .xlsx workbook with openpyxl (None -> empty cell)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header or COUNTRY_HEADER)
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_mirror_manifest(mirror: Path) -> Path:
    """(Re)write ``mirror/MANIFEST.csv`` listing every data file with its sha256, as the real
    mirror does (tradelib refuses a mirror without one). Call it after adding a file."""
    import csv
    import hashlib

    rows = []
    for f in sorted(mirror.rglob("*")):
        if f.is_file() and f.name not in ("MANIFEST.csv", "README.md"):
            rel = f.relative_to(mirror).as_posix()
            rows.append({"vintage": rel.split("/")[-2], "path": rel,
                         "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
    path = mirror / "MANIFEST.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["vintage", "path", "sha256"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """An empty data folder and no mirror: tradelib sees nothing but what the test puts there."""
    d = tmp_path / "data"
    monkeypatch.setenv("TRADELIB_DATA", str(d))
    monkeypatch.setenv("TRADELIB_MIRROR", "")
    monkeypatch.setenv("TRADELIB_QUIET", "1")
    return d


@pytest.fixture
def tiny_mirror(tmp_path, monkeypatch) -> Path:
    """A mirror in the official layout made of tiny hand-written files, set as TRADELIB_MIRROR."""
    import shutil

    m = tmp_path / "mirror"
    shutil.copytree(FIXTURES / "mirror", m)
    write_xlsx(m / "census" / "country" / "2026-01" / "country.xlsx", tiny_country_rows())
    write_mirror_manifest(m)
    monkeypatch.setenv("TRADELIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRADELIB_MIRROR", str(m))
    monkeypatch.setenv("TRADELIB_QUIET", "1")
    return m


def _real_mirror() -> Path | None:
    env = os.environ.get("TRADELIB_MIRROR")
    cand = Path(env) if env else REPO.parent / "shared" / "data" / "mirror"
    return cand if (cand / "MANIFEST.csv").exists() else None


@pytest.fixture(scope="session")
def real_mirror() -> Path:
    """The offline mirror of official files. Missing: skip locally, fail in CI."""
    m = _real_mirror()
    if m is None:
        if os.environ.get("CI") or os.environ.get("TRADELIB_REQUIRE_MIRROR"):
            pytest.fail("the data mirror is missing (expected ../shared/data/mirror or "
                        "TRADELIB_MIRROR); CI must not skip the data tests")
        pytest.skip("no data mirror here")
    return m


@pytest.fixture(scope="session")
def mirror_data(real_mirror, tmp_path_factory) -> Path:
    """A fresh data folder filled from the real mirror once per session (fetch + build)."""
    d = tmp_path_factory.mktemp("mirror-data")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADELIB_DATA", str(d))
    mp.setenv("TRADELIB_MIRROR", str(real_mirror))
    mp.setenv("TRADELIB_QUIET", "1")
    import tradelib

    tradelib.build_all()
    yield d
    mp.undo()
