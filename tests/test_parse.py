"""Parsers on tiny hand-written files in the official layouts, and on broken ones."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import COUNTRY_HEADER, FIXTURES, tiny_country_rows, write_xlsx

from tradelib.data import parse
from tradelib.errors import ParseError


@pytest.fixture
def country_xlsx(tmp_path):
    return write_xlsx(tmp_path / "country.xlsx", tiny_country_rows())


def test_country_codes_are_zero_padded_strings(country_xlsx):
    trade = parse.parse_census_country(country_xlsx, "2026-01")["trade"]
    assert set(trade["partner_code"]) == {"0015", "2010"}
    assert trade["partner_code"].dtype == "str"


def test_country_unpublished_zeros_are_not_trade(country_xlsx):
    out = parse.parse_census_country(country_xlsx, "2026-01")
    trade = out["trade"]
    assert trade["date"].max() == pd.Timestamp("2025-02-01")
    assert out["trade"].attrs["last_published"] == "2025-02"
    # no month after February 2025 exists, so no placeholder zero can pass as trade
    assert not (trade["date"] > "2025-02-01").any()
    # a zero inside a published month is a real zero and is kept
    feb = trade.loc[(trade["partner_code"] == "2010") & (trade["flow"] == "exports")
                    & (trade["date"] == pd.Timestamp("2025-02-01"))]
    assert feb["value_musd"].iloc[0] == 0.0


def test_country_empty_cell_stays_missing(country_xlsx):
    trade = parse.parse_census_country(country_xlsx, "2026-01")["trade"]
    mar = trade.loc[(trade["partner_code"] == "2010") & (trade["flow"] == "exports")
                    & (trade["date"] == pd.Timestamp("2024-03-01"))]
    assert len(mar) == 1 and math.isnan(mar["value_musd"].iloc[0])


def test_country_values_and_layout(country_xlsx):
    out = parse.parse_census_country(country_xlsx, "2026-01")
    trade, annual = out["trade"], out["annual"]
    assert list(trade.columns) == ["date", "partner_code", "partner", "flow", "value_musd",
                                   "vintage"]
    jan = trade.loc[(trade["partner_code"] == "2010")
                    & (trade["date"] == pd.Timestamp("2024-01-01"))].set_index("flow")
    assert jan.loc["imports", "value_musd"] == 40.0 and jan.loc["exports", "value_musd"] == 30.0
    assert len(trade) == 2 * 2 * 14  # 2 partners x 2 flows x (12 + 2) months
    assert annual.query("partner_code == '2010' and year == 2024 and flow == 'imports'")[
        "reported_annual_musd"].iloc[0] == pytest.approx(546.0)


def test_country_wrong_sheet(tmp_path):
    p = write_xlsx(tmp_path / "country.xlsx", [[1, 2, 3]], header=["a", "b", "c"],
                   sheet="Notes")
    with pytest.raises(ParseError, match=r"country\.xlsx.*no sheet has the expected columns"):
        parse.parse_census_country(p, "2026-01")


def test_country_missing_column(tmp_path):
    header = [c for c in COUNTRY_HEADER if c != "IJUN"]
    rows = [r[:9] + r[10:] for r in tiny_country_rows()]
    p = write_xlsx(tmp_path / "country.xlsx", rows, header=header)
    with pytest.raises(ParseError, match="IJUN"):
        parse.parse_census_country(p, "2026-01")


def test_country_non_numeric_cell(tmp_path):
    rows = tiny_country_rows()
    rows[2][5] = "n/a"  # Mexico 2024 IMAR
    p = write_xlsx(tmp_path / "country.xlsx", rows)
    with pytest.raises(ParseError, match=r"non-numeric.*CTY_CODE=2010.*IMAR.*'n/a'"):
        parse.parse_census_country(p, "2026-01")


def test_country_truncated_file(country_xlsx):
    data = country_xlsx.read_bytes()
    country_xlsx.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="truncated"):
        parse.parse_census_country(country_xlsx, "2026-01")


def test_empty_file(tmp_path):
    p = tmp_path / "country.xlsx"
    p.write_bytes(b"")
    with pytest.raises(ParseError, match="empty"):
        parse.parse_census_country(p, "2026-01")
    q = tmp_path / "DEXMXUS.csv"
    q.write_text("")
    with pytest.raises(ParseError, match="empty"):
        parse.parse_fred(q, "2026-01")


def test_header_only_file(tmp_path):
    p = write_xlsx(tmp_path / "country.xlsx", [])
    with pytest.raises(ParseError, match="no data rows"):
        parse.parse_census_country(p, "2026-01")


def test_fred_missing_values_and_dates():
    out = parse.parse_fred(FIXTURES / "mirror/fred/2026-01/DEXMXUS.csv", "2026-01")["series"]
    assert len(out) == 5  # the empty holiday row is kept, as missing
    assert out["value"].isna().sum() == 1
    assert out["date"].iloc[0] == pd.Timestamp("2025-12-30")


def test_fred_wrong_layout(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("date,value,extra\n2020-01-01,1,2\n")
    with pytest.raises(ParseError, match="expected FRED columns"):
        parse.parse_fred(p, "2026-01")


def test_fred_truncated_row(tmp_path):
    p = tmp_path / "INDPRO.csv"
    p.write_text("observation_date,INDPRO\n2025-10-01,101.2\n2025-11-0")
    with pytest.raises(ParseError, match="not dates"):
        parse.parse_fred(p, "2026-01")


def test_duties_effective_rate_and_codes():
    out = parse.parse_census_duties(
        FIXTURES / "mirror/census/duties/2026-01/mexico_calculated_duties_monthly.csv",
        "2026-01")["duties"]
    assert out["partner_code"].tolist() == ["2010", "2010"]
    assert out["effective_rate"].tolist() == pytest.approx([0.03, 0.025])


def test_bts_sections_sum_over_modes(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(
        "Year,Month,CommodityGroup,Mode,TradeType,TradeValue,Weight,WeightLb\n"
        "2025,1,Base Metals & Articles,Truck,Import,100.0,1,2.2\n"
        "2025,1,Base Metals & Articles,Rail,Import,50.0,,\n"
        "2025,1,Base Metals & Articles,Truck,Export,70.0,,\n"
    )
    out = parse.parse_bts_sections(p, "2026-01")["sections"]
    assert out["imports_usd"].iloc[0] == 150.0 and out["exports_usd"].iloc[0] == 70.0


def test_bts_unknown_trade_type(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("Year,Month,CommodityGroup,Mode,TradeType,TradeValue\n"
                 "2025,1,X,Truck,Reexport,1.0\n")
    with pytest.raises(ParseError, match="TradeType"):
        parse.parse_bts_sections(p, "2026-01")


def test_budgetlab_daily_skips_note_lines(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('"Date","Weighted ETR"\n2025-01-01,0.0268\n2025-01-02,0.0268\n'
                 "# Source: note line\n")
    out = parse.parse_budgetlab_daily(p, "2026-03")["daily_etr"]
    assert len(out) == 2 and out["statutory_etr"].iloc[0] == pytest.approx(0.0268)


def test_two_sheets_with_the_layout_are_ambiguous(tmp_path):
    """Issue 11 item 6: an extra first sheet with the same header was read instead."""
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "country.xlsx", tiny_country_rows())
    wb = load_workbook(path)
    extra = wb.copy_worksheet(wb["country"])
    extra.title = "draft"
    wb.move_sheet("draft", offset=-1)
    wb.save(path)
    with pytest.raises(ParseError, match=r"country\.xlsx: 2 sheets have the expected columns "
                                         r"\(\['draft', 'country'\]\).*not guess"):
        parse.parse_census_country(path, "2026-01")
