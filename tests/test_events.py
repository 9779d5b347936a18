"""Tests for tradelib.events: schema rules, loader, daily/monthly series, exposure panel."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradelib.analysis import events as E

FIX = Path(__file__).parent / "fixtures" / "events"


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return E.load_events(FIX / "valid.csv")


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return E.load_events()


# --- the committed table ---------------------------------------------------------------------


def test_committed_table_validates_and_spans_nafta_to_2026(real):
    assert len(real) >= 35
    assert real["start_date"].min() == pd.Timestamp("1994-01-01")
    assert real["start_date"].max().year == 2026
    assert (real["source_url"].str.len() > 0).all()
    assert real["event_id"].is_unique


def test_committed_table_covers_the_issue_checklist(real):
    types = set(real["event_type"])
    for needed in ("agreement", "retaliation", "threat", "threat_withdrawn", "tariff_paused",
                   "exemption", "court_ruling", "review", "context", "tariff_removed"):
        assert needed in types, needed
    authorities = set(real["authority"])
    for needed in ("Section 232", "IEEPA", "Section 122", "Section 301", "AD/CVD", "USMCA",
                   "NAFTA", "MX retaliation", "MX tariff decree"):
        assert needed in authorities, needed
    assert set(authorities) <= set(E.AUTHORITIES)
    assert (real["actor"] == "MX").sum() >= 8  # 2009-11 and 2018-19 retaliation, decrees
    ids = set(real["event_id"])
    for needed in ("2019-05-tomato-ad-deposits", "2024-07-s232-steel-melt-pour",
                   "2024-07-s232-aluminum-smelt-cast", "2025-08-s232-derivatives-407",
                   "2025-10-s232-lumber", "2025-10-s232-furniture", "2026-07-s301-forced-labor",
                   "2009-03-mx-trucking-retaliation", "2019-05-mx-retaliation-removed",
                   "2026-04-s232-steel-restructured"):
        assert needed in ids, needed


def test_committed_table_every_row_sourced_and_rate_rows_complete(real):
    assert real["source_url"].str.match(r"^https?://").all()
    rates = real.loc[real["rate_after_pct"].notna()]
    assert (rates["product_scope"] != "").all()
    assert (rates["stacking"] != "").all()
    assert (rates["valuation_basis"] != "na").all() and (rates["usmca_treatment"] != "na").all()
    # metal and tomato duties apply to USMCA goods; the IEEPA duty exempts them from 7 March 2025
    by_id = real.set_index("event_id")
    for eid in ("2025-03-s232-steel-restored", "2025-06-s232-aluminum-50", "2025-08-s232-copper",
                "2025-07-tomato-ad-order", "2019-05-tomato-ad-deposits"):
        assert by_id.loc[eid, "usmca_treatment"] == "applies", eid
    for eid in ("2025-03-ieepa-mx-usmca-exemption", "2026-02-s122-surcharge",
                "2026-07-s301-forced-labor"):
        assert by_id.loc[eid, "usmca_treatment"] == "exempt", eid
    tiers = E.parse_tiers(by_id.loc["2026-04-s232-steel-restructured", "rate_tiers"])
    assert tiers == {"1a": 50.0, "1b": 25.0, "3": 15.0, "2": 0.0}
    # at least half of the US duty rows cite an official primary source
    us = rates.loc[rates["actor"] == "US", "source_url"]
    assert us.map(E.is_official_source).mean() >= 0.5


def test_committed_table_rates_on_known_days(real):
    d = E.daily_rates(real, "2018-01-01", "2026-12-31")
    assert d.loc["2018-05-31", "s232_steel"] == 0  # Mexico still exempt
    assert d.loc["2018-07-01", "s232_steel"] == 25
    assert d.loc["2018-07-01", "s232_aluminum"] == 10
    assert d.loc["2019-06-01", "s232_steel"] == 0
    assert d.loc["2025-03-03", "ieepa_mexico"] == 0  # paused until 4 March
    assert d.loc["2025-03-10", "ieepa_mexico"] == 25
    assert d.loc["2025-06-10", "s232_steel"] == 50
    assert d.loc["2026-03-02", "ieepa_mexico"] == 0  # ended after the Supreme Court ruling
    assert d.loc["2026-03-02", "s122_surcharge"] == 10
    assert d.loc["2026-08-01", "s122_surcharge"] == 0  # statutory 150-day limit
    assert d.loc["2026-07-23", "s301_forced_labor"] == 0
    assert d.loc["2026-07-24", "s301_forced_labor"] == 10  # replaces the lapsed surcharge
    assert d.loc["2019-05-06", "ad_tomatoes"] == 0
    assert d.loc["2019-05-07", "ad_tomatoes"] == pytest.approx(17.56)
    assert d.loc["2019-09-19", "ad_tomatoes"] == 0  # new suspension agreement
    assert d.loc["2024-08-01", "s232_steel"] == 25  # melt-and-pour rule (conditional)
    assert d.loc["2024-06-30", "s232_steel"] == 0


def test_mexico_rates_series(real):
    mx = E.mexico_rates(real, "2008-01-01", "2026-12-31")
    assert mx.loc["2009-04-01", "top_rate_pct"] == 45
    assert mx.loc["2009-04-01", "trade_covered_usd_bn"] == pytest.approx(2.4)
    assert mx.loc["2011-08-01", "top_rate_pct"] == pytest.approx(12.5)
    assert mx.loc["2012-01-01", "top_rate_pct"] == 0
    assert mx.loc["2018-08-01", "top_rate_pct"] == 25
    assert mx.loc["2019-07-01", "top_rate_pct"] == 0
    assert mx.loc["2025-06-01", "top_rate_pct"] == 0  # the LIGIE decrees exempt US goods


# --- schema rules ----------------------------------------------------------------------------


def test_broken_fixture_reports_each_rule_with_line_and_id():
    problems = E.check_events(E.read_events_csv(FIX / "broken.csv"))
    text = "\n".join(str(p) for p in problems)
    expected = [
        ("line 2", "end_date", "before start_date"),
        ("line 3", "event_type", "'tariff_hiked' is not one of"),
        ("line 3", "rate_after_pct", "may set the rate in force"),
        ("line 4", "start_date", "not a real date"),
        ("line 5", "rate_after_pct", "between 0 and 100"),
        ("line 6", "source_url", "is required and empty"),
        ("line 7", "rate_before_pct", "in force the day before"),
        ("line 8", "event_id", "duplicates the id on line 7"),
        ("line 9", "hs_chapters", "two-digit chapters"),
        ("line 9", "source_url", "is not an http(s) URL"),
    ]
    for line, col, rule in expected:
        assert any(str(p).startswith(line) and p.column == col and rule in p.rule
                   for p in problems), (line, col, rule, text)


@pytest.mark.parametrize(
    ("col", "value", "rule"),
    [("authority", "Tariff Act", "is not one of"),
     ("product_scope", "hs:7", "must be 'all'"),
     ("product_scope", "list:nope", "must be 'all'"),
     ("rate_tiers", "a=60;b=10", "highest tier"),
     ("rate_tiers", "A=5", "must look like"),
     ("stacking", "yields:ghost", "which no row names as measure"),
     ("stacking", "sometimes", "must be 'adds'"),
     ("usmca_treatment", "na", "cannot be 'na'"),
     ("valuation_basis", "weight", "is not one of"),
     ("announced_date", "2020-07-01", "is after start_date"),
     ("source_url_2", "https://example.org/steel3", "repeats source_url")],
)
def test_second_edition_rules(col, value, rule):
    raw = E.read_events_csv(FIX / "valid.csv")
    i = raw.index[raw["event_id"] == "2020-06-steel-up"][0]
    raw.loc[i, col] = value
    problems = [p for p in E.check_events(raw) if p.event_id == "2020-06-steel-up"]
    assert any(p.column == col and rule in p.rule for p in problems), problems


def test_scope_tiers_stacking_parsers():
    assert E.parse_scope("all") == (True, (), ())
    assert E.parse_scope("hs:72;7306;list:s232_annex_2026:steel") == (
        False, ("72", "7306"), (("s232_annex_2026", "steel"),))
    assert E.parse_scope("72;72") is None
    assert E.parse_tiers("") == {}
    assert E.parse_stacking("adds") == ()
    assert E.parse_stacking("yields:a|b") == ("a", "b")
    assert E.is_official_source("https://www.federalregister.gov/d/2025-02479")
    assert E.is_official_source("https://www.dof.gob.mx/nota")
    assert not E.is_official_source("https://www.mondaq.com/x")


def test_validate_raises_with_file_name_and_fix_hint():
    raw = E.read_events_csv(FIX / "broken.csv")
    with pytest.raises(E.EventsValidationError) as err:
        E.validate_events(raw, source="broken.csv")
    msg = str(err.value)
    assert msg.startswith("broken.csv:")
    assert "line 2 (event_id='2020-01-deal')" in msg
    assert "tradelib/resources/README.md" in msg


def test_header_must_match():
    raw = E.read_events_csv(FIX / "valid.csv").drop(columns=["source_url_2"])
    problems = E.check_events(raw)
    assert len(problems) == 1 and "source_url_2" in problems[0].column


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(E.EventsValidationError, match="nope.csv"):
        E.load_events(tmp_path / "nope.csv")


def test_id_must_carry_start_month():
    raw = E.read_events_csv(FIX / "valid.csv")
    raw.loc[0, "event_id"] = "2021-01-deal"
    problems = E.check_events(raw)
    assert [p.column for p in problems] == ["event_id"]
    assert "start month 2020-01" in problems[0].rule


@pytest.mark.parametrize(
    ("etype", "before", "after", "ok"),
    [("tariff_raised", "25", "10", False), ("tariff_reduced", "25", "10", True),
     ("tariff_removed", "25", "5", False), ("tariff_imposed", "5", "10", False)],
)
def test_direction_rules(etype, before, after, ok):
    raw = E.read_events_csv(FIX / "valid.csv")
    i = raw.index[raw["event_id"] == "2020-06-steel-up"][0]
    raw.loc[i, ["event_type", "rate_before_pct", "rate_after_pct"]] = [etype, before, after]
    direction = [p for p in E.check_events(raw) if p.event_id == "2020-06-steel-up"
                 and p.column == "rate_after_pct"]
    assert (not direction) is ok


# --- loader and series ----------------------------------------------------------------------


def test_loader_types_and_categories(toy):
    assert str(toy["start_date"].dtype).startswith("datetime64")
    assert toy["rate_after_pct"].dtype == "float64"
    assert toy["event_id"].dtype == "string"
    assert toy.attrs["vintage"] == "2020-09-01"
    cat = dict(zip(toy["event_id"], toy["category"], strict=True))
    assert cat["2020-08-mx-duty"] == "Mexico's own measures"
    assert cat["2020-04-all-threat"] == "Threats, pauses & announcements"
    assert cat["2020-01-deal"] == "Agreements & reviews"


def test_daily_rates_follow_rows_and_end_dates(toy):
    d = E.daily_rates(toy, "2020-01-01", "2020-12-31")
    assert set(d.columns) == {"steel", "alu", "tomato"}  # threats and MX rows set no rate
    assert d.loc["2020-03-10", "steel"] == 0 and d.loc["2020-03-11", "steel"] == 25
    assert d.loc["2020-05-31", "alu"] == 10 and d.loc["2020-06-01", "alu"] == 0
    assert d.loc["2020-06-01", "steel"] == 50 and d.loc["2020-09-01", "steel"] == 0


def test_events_monthly_rate_share_indicator(toy):
    rate = E.events_monthly(start="2020-01-01", end="2020-12-31", events=toy)
    assert list(rate.columns) == ["all_goods", "steel_aluminum", "autos_parts", "trucks", "other"]
    assert math.isclose(rate.loc["2020-03-01", "steel_aluminum"], 25 * 21 / 31)
    assert rate.loc["2020-04-01", "steel_aluminum"] == 25  # max of steel 25 and alu 10
    assert rate.loc["2020-07-01", "other"] == 20
    assert (rate["all_goods"] == 0).all()  # a threat is not a duty
    share = E.events_monthly(start="2020-01-01", end="2020-12-31", kind="share", events=toy)
    assert math.isclose(share.loc["2020-03-01", "steel_aluminum"], 21 / 31)
    ind = E.events_monthly(start="2020-01-01", end="2020-12-31", kind="indicator", events=toy)
    assert ind.loc["2020-02-01", "steel_aluminum"] == 0 and ind.loc["2020-03-01",
                                                                    "steel_aluminum"] == 1
    assert ind.loc["2020-09-01", "steel_aluminum"] == 0
    with pytest.raises(E.EventsValidationError, match="kind"):
        E.events_monthly(kind="level", events=toy)


def test_quarterly_frequency(toy):
    q = E.events_monthly(freq="QS", start="2020-01-01", end="2020-12-31", events=toy)
    assert len(q) == 4
    days_q1 = 31 + 29 + 31
    assert math.isclose(q.iloc[0]["steel_aluminum"], 25 * 21 / days_q1)


def test_exposure_by_section_mapping(toy):
    x = E.exposure_by_section(start="2020-01-01", end="2020-12-31", events=toy)
    assert list(x.columns) == ["date", "section", "exposure"]
    assert x["section"].nunique() == len(E.HS_SECTIONS)
    wide = x.pivot(index="date", columns="section", values="exposure")
    assert math.isclose(wide.loc["2020-03-01", "Base Metals & Articles"], 25 * 21 / 31)
    assert wide.loc["2020-07-01", "Vegetable Products"] == 20  # tomatoes, chapter 07
    assert (wide["Transportation Equipment"] == 0).all()


def test_exposure_all_goods_reaches_every_section(real):
    x = E.exposure_by_section(["Mineral Products", "Made-up Section"], start="2025-04-01",
                              end="2025-04-30", events=real)
    assert set(x["section"]) == {"Mineral Products", "Made-up Section"}
    assert (x["exposure"] == 25).all()  # the IEEPA duty on non-USMCA goods


def test_hs_section_lookup():
    assert E.hs_section(7) == "Vegetable Products"
    assert E.hs_section(74) == "Base Metals & Articles"
    assert E.hs_section(87) == "Transportation Equipment"
    with pytest.raises(E.EventsValidationError):
        E.hs_section(0)


# --- measured side ---------------------------------------------------------------------------


def _duties() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=24, freq="MS")
    imports = np.full(24, 1000.0)
    duties = np.where(dates.year == 2024, 2.0, 40.0)
    imports[5] = 0.0
    return pd.DataFrame({"date": dates, "partner_code": "2010", "duties_usd": duties,
                         "imports_cons_usd": imports})


def test_effective_rate_monthly_and_rolling():
    df = _duties()
    r = E.effective_rate(df)
    assert r.loc["2024-01-01"] == pytest.approx(0.2)
    assert np.isnan(r.loc["2024-06-01"])  # zero imports -> missing, not infinite
    r3 = E.effective_rate(df, window=3)
    assert np.isnan(r3.iloc[1])
    # ratio of sums: (2 + 40 + 40) / 3000
    assert r3.loc["2025-02-01"] == pytest.approx(100 * 82 / 3000)


def test_effective_rate_needs_one_partner():
    df = pd.concat([_duties(), _duties().assign(partner_code="1220")])
    with pytest.raises(E.EventsValidationError, match="partner_code"):
        E.effective_rate(df)
    assert len(E.effective_rate(df, partner_code="1220")) == 24


def test_effective_rate_annual_complete_years():
    df = _duties().iloc[:20]
    annual = E.effective_rate_annual(df)
    assert list(annual.index) == [2024]
    assert annual.loc[2024] == pytest.approx(100 * 24 / 11000)


def test_window_means_and_before_after():
    dates = pd.date_range("2020-01-01", periods=12, freq="MS")
    s = pd.Series(np.arange(12, dtype="float64"), index=dates)
    b, a = E.window_means(s, "2020-05-15", months=3)
    assert (b, a) == (2.0, 6.0)  # Feb-Apr vs Jun-Aug
    _b2, a2 = E.window_means(s, "2020-05-15", months=3, skip_event_month=False)
    assert a2 == 5.0
    assert np.isnan(E.window_means(s, "2020-02-01", months=3)[0])  # window not observed
    panel = pd.DataFrame({"date": list(dates) * 2, "g": ["x"] * 12 + ["y"] * 12,
                          "v": list(np.arange(12.0)) + [10.0] * 12})
    out = E.before_after(panel, "v", {"e": "2020-05-15"}, by="g", months=3)
    assert list(out["g"]) == ["x", "y"]
    assert out.loc[1, "change"] == 0 and out.loc[0, "pct_change"] == pytest.approx(200.0)


def test_headline_rate_is_daily_max_over_measures(toy):
    h = E.headline_rate(toy, "2020-03-01", "2020-12-31")
    assert math.isclose(h.loc["2020-03-01"], 25 * 21 / 31)
    assert h.loc["2020-07-01"] == 50  # steel 50 beats tomatoes 20
    assert h.loc["2020-09-01"] == 20  # steel lifted, tomatoes remain
    assert h.name == "headline_max_pct"


def test_rate_comparison_aligns_three_series():
    duties = _duties()
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    bl = pd.DataFrame({"date": months, "effective_rate_pct": [2.0, 2.5, 3.0]})
    days = pd.date_range("2024-02-01", "2024-03-31", freq="D")
    daily = pd.DataFrame({"date": days, "statutory_etr": np.where(days.month == 2, 0.1, 0.2)})
    out = E.rate_comparison(duties, bl, daily)
    assert list(out.columns) == ["partner_effective_pct", "us_effective_pct", "us_statutory_pct"]
    assert out.loc["2024-02-01", "us_statutory_pct"] == pytest.approx(10.0)
    assert np.isnan(out.loc["2024-01-01", "us_statutory_pct"])  # no daily data in January
    assert out.loc["2024-03-01", "us_effective_pct"] == 3.0
    with pytest.raises(E.EventsValidationError, match="single partner"):
        E.rate_comparison(pd.concat([duties, duties.assign(partner_code="1220")]), bl, daily)


def test_usmca_share_is_ratio_of_sums():
    u = pd.DataFrame({
        "date": pd.to_datetime(["2025-01-01"] * 3),
        "partner_code": ["2010", "2010", "1220"],
        "hs": ["72", "87", "72"],
        "imports_cons_usd": [100.0, 300.0, 50.0],
        "usmca_claimed_usd": [0.0, 240.0, 50.0],
    })
    assert E.usmca_share(u).iloc[0] == pytest.approx(60.0)
    assert E.usmca_share(u, chapters=["87"]).iloc[0] == pytest.approx(80.0)
    with pytest.raises(E.EventsValidationError, match="no rows"):
        E.usmca_share(u, chapters=["01"])


def test_group_sections_collapses_the_rest():
    s = pd.DataFrame({
        "date": pd.to_datetime(["2020-01-01"] * 3 + ["2020-02-01"] * 3),
        "section": ["Base Metals & Articles", "Textiles & Apparel", "Mineral Products"] * 2,
        "imports_usd": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    wide = E.group_sections(s, ["Base Metals & Articles"])
    assert list(wide.columns) == ["Base Metals & Articles", "All other sections"]
    assert wide.loc["2020-02-01", "All other sections"] == 11.0
    with pytest.raises(E.EventsValidationError, match="Textiles"):
        E.group_sections(s, ["Vehicles"])


def test_effective_rate_over_is_ratio_of_sums():
    import pandas as pd

    d = pd.DataFrame({
        "date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
        "partner_code": ["2010"] * 3,
        "duties_usd": [1.0, 9.0, 0.0],
        "imports_cons_usd": [100.0, 100.0, 800.0],
    })
    # ratio of sums: 10 / 1000 = 1 %; the mean of monthly rates would be (1 + 9 + 0) / 3 = 3.33 %
    assert E.effective_rate_over(d) == pytest.approx(1.0)
    assert E.effective_rate_over(d, "2025-01", "2025-02") == pytest.approx(5.0)
    d.loc[1, "duties_usd"] = float("nan")
    with pytest.raises(E.EventsValidationError, match="2025-02"):
        E.effective_rate_over(d)
    with pytest.raises(E.EventsValidationError):
        E.effective_rate_over(d, "2030-01", "2030-12")


def test_display_events_renders_blanks(real):
    out = E.display_events(E.rate_events(real), ["start_date", "end_date", "rate_tiers",
                                                  "rate_after_pct", "usmca_treatment"])
    text = out.to_string()
    assert "NaT" not in text and "nan" not in text and "<NA>" not in text
    assert (out["end_date"] == "").any()
    assert out["start_date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    ctx = E.display_events(real.loc[real["actor"] == "none"], ["usmca_treatment"])
    assert (ctx["usmca_treatment"] == "").all()
