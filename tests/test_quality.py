"""Quality views used by notebook 01, on tiny hand-written files."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import tiny_country_rows, write_mirror_manifest, write_xlsx

from tradelib.data import quality


@pytest.fixture
def two_vintages(tiny_mirror):
    """Vintage 2026-02 revises Mexico's January 2024 imports from 40 to 43."""
    rows = tiny_country_rows()
    rows[2][3] = 43.0
    rows[2][15] += 3.0
    write_xlsx(tiny_mirror / "census" / "country" / "2026-02" / "country.xlsx", rows)
    write_mirror_manifest(tiny_mirror)
    return tiny_mirror


def test_compare_vintages_measures_the_revision(two_vintages):
    rev = quality.compare_vintages("Mexico", old="2026-01", new="2026-02")
    assert rev.attrs == {"old": "2026-01", "new": "2026-02"}
    moved = quality.revised_months(rev)
    assert sorted(moved["flow"]) == ["balance", "imports"]
    assert set(moved["date"]) == {pd.Timestamp("2024-01-01")}
    imp = moved.loc[moved["flow"] == "imports"].iloc[0]
    assert imp["revision"] == pytest.approx(3.0) and imp["revision_pct"] == pytest.approx(7.5)
    bal = moved.loc[moved["flow"] == "balance"].iloc[0]
    assert bal["revision"] == pytest.approx(-3.0)


def test_annual_revisions_complete_years_only(two_vintages):
    ann = quality.annual_revisions(quality.compare_vintages("Mexico", "2026-01", "2026-02"))
    assert set(ann["year"]) == {2024}  # 2025 has two months only
    imp = ann.loc[ann["flow"] == "imports"].iloc[0]
    assert imp["revision"] == pytest.approx(3.0)
    # exports (and so the balance) have a missing month in 2024: not a complete year
    assert sorted(ann["flow"]) == ["imports"]


def test_placeholder_cells(tiny_mirror):
    ph = quality.placeholder_cells("2026-01")
    assert ph.loc[ph["published"], "month"].tolist() == ["2025-01", "2025-02"]
    # 2 partners x 2 flows x 10 unpublished months
    assert ph.loc[~ph["published"], "cells_zero"].sum() == 40
    assert ph.loc[~ph["published"], "cells_nonzero"].sum() == 0


def test_annual_check_matches_reported(tiny_mirror):
    chk = quality.annual_check("Mexico", "2026-01")
    imp24 = chk.loc[(chk["year"] == 2024) & (chk["flow"] == "imports")].iloc[0]
    assert imp24["complete"] and imp24["difference"] == pytest.approx(0.0)
    exp24 = chk.loc[(chk["year"] == 2024) & (chk["flow"] == "exports")].iloc[0]
    assert not exp24["complete"] and exp24["months"] == 11


def test_decimals_by_year():
    df = pd.DataFrame({"date": pd.to_datetime(["2021-01-01", "2021-02-01", "2022-01-01"]),
                       "value_musd": [1.23456, 2.0, 3.1]})
    out = quality.decimals_by_year(df).set_index("year")
    assert out.loc[2021, "max_decimals"] == 5 and out.loc[2022, "max_decimals"] == 1
    assert out.loc[2021, "share_rounded_to_0_1"] == 0.5


def test_decimals_by_year_large_values_are_checked_exactly():
    # np.isclose's default rtol (1e-5) called these "rounded to 0.1": 1e-5 x 1.2e6 > 0.2.
    df = pd.DataFrame({"date": pd.to_datetime(["2019-01-01", "2019-02-01", "2020-01-01"]),
                       "value_musd": [123456.78, 98765.43, 123456.7]})
    out = quality.decimals_by_year(df).set_index("year")
    assert out.loc[2019, "share_rounded_to_0_1"] == 0.0
    assert out.loc[2019, "max_decimals"] == 2
    assert out.loc[2020, "share_rounded_to_0_1"] == 1.0


def test_registry_table_lists_every_source():
    t = quality.registry_table()
    assert {"census-country", "fred-DEXMXUS", "bts-transborder"} <= set(t["source_id"])
    assert t.loc[t["source_id"] == "census-duties", "api_key"].iloc[0] == "CENSUS_API_KEY"
