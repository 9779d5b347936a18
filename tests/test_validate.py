"""Every validation rule, on deliberately broken tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_country_rows, write_xlsx

from tradelib.data import parse, validate
from tradelib.errors import ValidationError


@pytest.fixture
def parsed(tmp_path):
    return parse.parse_census_country(write_xlsx(tmp_path / "country.xlsx",
                                                 tiny_country_rows()), "2026-01")


def test_clean_table_passes(parsed):
    out = validate.validate_trade(parsed["trade"], "country.xlsx")
    checked = validate.check_annual_totals(out, parsed["annual"], "country.xlsx")
    # World 2024 both flows complete; Mexico imports 2024 complete; Mexico exports has a gap
    assert len(checked) == 3
    assert checked["difference"].abs().max() < 1e-9


def test_duplicated_rows(parsed):
    t = parsed["trade"]
    broken = pd.concat([t, t.iloc[[5]]], ignore_index=True)
    with pytest.raises(ValidationError, match=r"(?s)country\.xlsx.*duplicated keys"):
        validate.validate_trade(broken, "country.xlsx")


def test_negative_value(parsed):
    t = parsed["trade"].copy()
    t.loc[3, "value_musd"] = -1.0
    with pytest.raises(ValidationError, match="greater_than_or_equal_to"):
        validate.validate_trade(t, "country.xlsx")


def test_unknown_flow(parsed):
    t = parsed["trade"].copy()
    t.loc[0, "flow"] = "reexports"
    with pytest.raises(ValidationError, match="isin"):
        validate.validate_trade(t, "country.xlsx")


def test_bad_partner_code(parsed):
    t = parsed["trade"].copy()
    t.loc[0, "partner_code"] = "15"
    with pytest.raises(ValidationError, match="str_matches"):
        validate.validate_trade(t, "country.xlsx")


def test_missing_month_inside_year(parsed):
    t = parsed["trade"]
    broken = t.loc[~((t["partner_code"] == "2010") & (t["date"] == pd.Timestamp("2024-06-01")))]
    with pytest.raises(ValidationError, match=r"(?s)contiguous months.*2010.*2024-05\s+2024-07"):
        validate.validate_trade(broken, "country.xlsx")


def test_whole_missing_year_is_reported_not_hidden():
    dates = list(pd.date_range("2020-01-01", "2020-12-01", freq="MS")) + \
        list(pd.date_range("2022-01-01", "2022-12-01", freq="MS"))
    t = pd.DataFrame({"date": dates, "partner_code": "4350", "partner": "X",
                      "flow": "imports", "value_musd": 1.0, "vintage": "2026-01"})
    world = pd.DataFrame({"date": pd.date_range("2020-01-01", "2022-12-01", freq="MS"),
                          "partner_code": "0015", "partner": "World", "flow": "imports",
                          "value_musd": 5000.0, "vintage": "2026-01"})
    t = pd.concat([t, world], ignore_index=True)  # X is 0.02% of world trade: a Census gap
    out = validate.validate_trade(t, "f")
    gaps = out.attrs["year_gaps"]
    assert gaps[["previous_month", "month"]].values.tolist() == [["2020-12", "2022-01"]]
    with pytest.raises(ValidationError, match="contiguous"):
        validate.validate_trade(t, "f", allow_year_gaps=False)


def test_annual_total_mismatch(parsed):
    annual = parsed["annual"].copy()
    i = annual.index[(annual["partner_code"] == "0015") & (annual["year"] == 2024)
                     & (annual["flow"] == "imports")][0]
    annual.loc[i, "reported_annual_musd"] += 5.0
    with pytest.raises(ValidationError, match=r"(?s)annual column.*2024\s+0015\s+imports"):
        validate.check_annual_totals(parsed["trade"], annual, "country.xlsx")


def test_annual_tolerance_allows_rounding(parsed):
    annual = parsed["annual"].copy()
    annual["reported_annual_musd"] = annual["reported_annual_musd"] + 0.3
    assert len(validate.check_annual_totals(parsed["trade"], annual, "f")) == 3


def test_simple_schema_rejects_rate_above_one():
    df = pd.DataFrame({"date": pd.to_datetime(["2025-01-01"]), "partner_code": ["2010"],
                       "duties_usd": [5.0], "imports_cons_usd": [1.0],
                       "effective_rate": [5.0]})
    with pytest.raises(ValidationError, match=r"(?s)duties\.csv.*effective_rate"):
        validate.validate_table("duties", df, "duties.csv")


def test_sa_balance_identity():
    trade = pd.DataFrame({"date": pd.to_datetime(["2025-01-01"] * 2), "partner_code": "2010",
                          "partner": "Mexico", "flow": ["exports", "imports"],
                          "value_musd": [10.0, 15.0], "vintage": "2025-04"})
    good = pd.DataFrame({"year": [2025], "partner_code": ["2010"], "month": [1],
                         "balance_usd": [-5e6]})
    validate.check_sa_consistency(trade, good, "sa.xlsx")
    with pytest.raises(ValidationError, match="balance = exports - imports"):
        validate.check_sa_consistency(trade, good.assign(balance_usd=[np.float64(-4e6)]),
                                      "sa.xlsx")


# --------------------------------------------------------------------------- issue 11, item 6

def _three_years() -> pd.DataFrame:
    rows = []
    for code, name, value in (("0015", "World", 200.0), ("2010", "Mexico", 30.0),
                              ("4350", "Czechoslovakia", 0.01)):
        for d in pd.date_range("2022-01-01", "2024-12-01", freq="MS"):
            for flow in ("exports", "imports"):
                rows.append((d, code, name, flow, value, "2026-01"))
    return pd.DataFrame(rows, columns=list(validate.TRADE_SCHEMA.columns))


def test_missing_year_of_a_major_partner_fails():
    """A deleted Mexico-2023 row (a whole missing year) used to pass validation."""
    t = _three_years()
    broken = t.loc[~((t["partner_code"] == "2010") & (t["date"].dt.year == 2023))]
    with pytest.raises(ValidationError, match=r"(?s)missing year.*Mexico \(2010\): no rows for "
                                              r"2023 \(between 2022-12 and 2024-01\).*15\.0%"):
        validate.validate_trade(broken, "country.xlsx")
    small = t.loc[~((t["partner_code"] == "4350") & (t["date"].dt.year == 2023))]
    assert len(validate.validate_trade(small, "country.xlsx").attrs["year_gaps"]) == 2


def test_month_zero_for_every_partner_fails():
    """A month published as 0 for every partner used to pass validation."""
    t = _three_years()
    t.loc[t["date"] == pd.Timestamp("2023-06-01"), "value_musd"] = 0.0
    with pytest.raises(ValidationError, match=r"0 for every partner.*1 month\(s\): 2023-06"):
        validate.validate_trade(t, "country.xlsx")
    t.loc[(t["date"] == pd.Timestamp("2023-06-01")) & (t["partner_code"] == "0015"),
          "value_musd"] = 190.0  # one partner with trade: zeros elsewhere can be real
    validate.validate_trade(t, "country.xlsx")


def test_month_zero_for_every_partner_in_the_file_fails(tmp_path):
    rows = tiny_country_rows()
    for r in rows:
        if r[0] == 2024:
            r[3 + 5] = 0.0  # IJUN
            r[16 + 5] = 0.0  # EJUN
    path = write_xlsx(tmp_path / "country.xlsx", rows)
    trade = parse.parse_census_country(path, "2026-01")["trade"]
    with pytest.raises(ValidationError, match=r"country\.xlsx: rule 'no month is 0.*2024-06"):
        validate.validate_trade(trade, path)
