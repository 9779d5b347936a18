"""Tests for tradelib.analysis.transform on small synthetic series (no data mirror needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradelib.analysis import transform as tf
from tradelib.errors import TradelibError

FAST = settings(max_examples=40, deadline=None)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1.0, max_value=1e6, allow_nan=False, allow_infinity=False)


def monthly(values, start="2019-01-01", name="x") -> pd.Series:
    idx = pd.date_range(start, periods=len(values), freq="MS")
    return pd.Series(np.asarray(values, dtype="float64"), index=idx, name=name)


def long_table(rows) -> pd.DataFrame:
    """rows: (date, code, name, flow, value)."""
    df = pd.DataFrame(rows, columns=["date", "partner_code", "partner", "flow", "value_musd"])
    df["date"] = pd.to_datetime(df["date"])
    for c in ("partner_code", "partner", "flow"):
        df[c] = df[c].astype("string")
    df["value_musd"] = df["value_musd"].astype("float64")
    return df


# --- balance ---------------------------------------------------------------------------------


def test_balance_is_exports_minus_imports_and_missing_stays_missing():
    df = long_table(
        [
            ("2024-01-01", "2010", "Mexico", "exports", 10.0),
            ("2024-01-01", "2010", "Mexico", "imports", 15.0),
            ("2024-02-01", "2010", "Mexico", "exports", 11.0),
            ("2024-02-01", "2010", "Mexico", "imports", math.nan),
        ]
    )
    out = tf.balance(df)
    assert list(out["balance"].iloc[:1]) == [-5.0]
    assert list(out["two_way"].iloc[:1]) == [25.0]
    assert math.isnan(out["balance"].iloc[1])
    assert len(out) == 2


def test_balance_rejects_bad_tables():
    with pytest.raises(TradelibError, match="lacks columns"):
        tf.balance(pd.DataFrame({"date": []}))
    dup = long_table([("2024-01-01", "2010", "Mexico", "exports", 1.0)] * 2)
    with pytest.raises(TradelibError, match="more than one value"):
        tf.balance(dup)


def test_is_aggregate():
    assert tf.is_aggregate("0015") and tf.is_aggregate(3) and tf.is_aggregate("0021")
    assert not tf.is_aggregate("2010") and not tf.is_aggregate(5700)
    assert tf.is_aggregate("8220")
    with pytest.raises(TradelibError):
        tf.is_aggregate("EU")


# --- growth ----------------------------------------------------------------------------------


def test_yoy_growth_aligns_on_dates_despite_missing_month():
    s = monthly(np.arange(1, 25) * 10.0)  # 2019-01..2020-12
    s = s.drop(pd.Timestamp("2019-05-01"))
    g = tf.yoy_growth(s)
    assert g[pd.Timestamp("2020-06-01")] == pytest.approx(100 * (180 / 60 - 1))
    assert math.isnan(g[pd.Timestamp("2020-05-01")])  # its base month 2019-05 is missing
    assert g[:"2019-12"].isna().all()


def test_yoy_growth_undefined_for_non_positive_base_and_integer_years():
    s = pd.Series([-5.0, 10.0, 0.0, 4.0], index=pd.Index([2000, 2001, 2002, 2003]))
    g = tf.yoy_growth(s)
    assert math.isnan(g[2001]) and math.isnan(g[2003])
    assert g[2002] == pytest.approx(-100.0)


@FAST
@given(st.lists(positive, min_size=13, max_size=30))
def test_log_growth_matches_log_of_ratio(values):
    s = monthly(values)
    lg = tf.log_growth(s)
    yo = tf.yoy_growth(s)
    expected = 100 * np.log(1 + yo / 100)
    pd.testing.assert_series_equal(lg, expected, check_names=False, rtol=1e-9)


def test_log_growth_nan_for_non_positive():
    s = monthly([1.0] * 12 + [-1.0] + [2.0] * 11)
    assert math.isnan(tf.log_growth(s).iloc[12])
    assert tf.log_growth(s).iloc[13] == pytest.approx(100 * math.log(2))


# --- rolling sums ----------------------------------------------------------------------------


@FAST
@given(finite, st.integers(min_value=1, max_value=24), st.integers(min_value=1, max_value=40))
def test_rolling_sum_of_constant(c, window, n):
    s = monthly([c] * n)
    r = tf.rolling_sum(s, window)
    assert r.iloc[: window - 1].isna().all()
    assert np.allclose(r.iloc[window - 1 :], c * window, rtol=1e-9, atol=1e-6)


def test_rolling_sum_missing_month_blanks_every_window_covering_it():
    s = monthly([1.0] * 30).drop(pd.Timestamp("2020-03-01"))
    r = tf.rolling_sum(s, 12)
    assert len(r) == 30  # the gap is re-inserted
    covering = r["2020-03":"2021-02"]
    assert covering.isna().all()
    assert r[pd.Timestamp("2021-03-01")] == 12.0
    assert r[pd.Timestamp("2020-02-01")] == 12.0


def test_rolling_sum_rejects_non_month_start_index():
    s = pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-15", "2020-02-15"]))
    with pytest.raises(TradelibError, match="month starts"):
        tf.rolling_sum(s)
    with pytest.raises(TradelibError, match="window"):
        tf.rolling_sum(monthly([1.0]), 0)


# --- annual totals ---------------------------------------------------------------------------


@FAST
@given(st.lists(finite, min_size=1, max_size=60), st.integers(min_value=1, max_value=12))
def test_annual_sum_equals_sum_of_months_in_complete_years(values, start_month):
    s = monthly(values, start=f"2001-{start_month:02d}-01")
    a = tf.annualise(s)
    assert a["months"].sum() == len(s)
    assert a["partial_sum"].sum() == pytest.approx(float(s.sum()), abs=1e-3)
    for year, row in a.iterrows():
        in_year = s[s.index.year == year]
        assert row["complete"] == (len(in_year) == 12)
        if row["complete"]:
            assert row["value"] == pytest.approx(float(in_year.sum()), abs=1e-6)
        else:
            assert math.isnan(row["value"])


def test_annualise_series_starting_mid_year_and_with_gap():
    s = monthly([1.0] * 30, start="2019-07-01")  # 2019-07..2021-12
    s[pd.Timestamp("2021-04-01")] = math.nan
    a = tf.annualise(s)
    assert list(a.index) == [2019, 2020, 2021]
    assert list(a["complete"]) == [False, True, False]
    assert a.loc[2020, "value"] == 12.0
    assert a.loc[2019, "months"] == 6 and a.loc[2021, "months"] == 11
    assert a.loc[2021, "partial_sum"] == 11.0
    assert a.loc[2021, "last_month"] == 12


def test_annualise_empty():
    a = tf.annualise(monthly([math.nan, math.nan]))
    assert a.empty and list(a.columns)[:3] == ["value", "months", "complete"]


def test_year_to_date():
    s = monthly(list(range(1, 13)) + [2.0] * 3, start="2025-01-01")
    ytd = tf.year_to_date(s, 2026).iloc[0]
    assert ytd["through_month"] == 3
    assert ytd["current"] == 6.0 and ytd["previous"] == 6.0 and ytd["pct_change"] == 0.0
    with pytest.raises(TradelibError, match="months missing"):
        tf.year_to_date(s, 2025)


# --- contributions ---------------------------------------------------------------------------


@FAST
@given(st.lists(st.tuples(positive, positive), min_size=2, max_size=12))
def test_contributions_add_up_to_balance_change(pairs):
    years = pd.Index(range(2000, 2000 + len(pairs)))
    x = pd.Series([p[0] for p in pairs], index=years)
    m = pd.Series([p[1] for p in pairs], index=years)
    c = tf.contributions(x, m)
    assert math.isnan(c["balance_change"].iloc[0])
    total = c["export_contribution"] + c["import_contribution"]
    assert np.allclose(total.iloc[1:], c["balance_change"].iloc[1:], atol=1e-6)
    pct = c["export_contribution_pct_trade"] + c["import_contribution_pct_trade"]
    assert np.allclose(pct.iloc[1:], c["balance_change_pct_trade"].iloc[1:], atol=1e-6)


def test_contributions_signs_and_misaligned_index():
    x = pd.Series([100.0, 110.0], index=[2000, 2001])
    m = pd.Series([150.0, 180.0], index=[2000, 2001])
    c = tf.contributions(x, m).loc[2001]
    assert c["export_contribution"] == 10.0
    assert c["import_contribution"] == -30.0
    assert c["balance_change"] == -20.0
    assert c["balance_change_pct_trade"] == pytest.approx(-20 / 250 * 100)
    with pytest.raises(TradelibError, match="same index"):
        tf.contributions(x, m.rename(index={2001: 2002}))


# --- prices ----------------------------------------------------------------------------------


def test_interpolate_missing_fills_interior_only():
    s = monthly([math.nan, 1.0, 2.0, math.nan, 4.0, math.nan])
    s = s.drop(pd.Timestamp("2019-03-01"))  # a dropped row (like FRED's absent October 2025)
    filled, where = tf.interpolate_missing(s)
    assert [d.strftime("%Y-%m") for d in where] == ["2019-03", "2019-04"]
    assert filled[pd.Timestamp("2019-04-01")] == pytest.approx(3.0, rel=0.02)
    assert math.isnan(filled.iloc[0]) and math.isnan(filled.iloc[-1])


def test_rebase_and_deflate():
    p = monthly(np.linspace(100, 123, 24), start="2023-01-01")
    r = tf.rebase(p, "2024")
    assert r["2024"].mean() == pytest.approx(100.0)
    # deflating the index by itself gives a constant equal to its base-period average
    real = tf.deflate(p, p, "2024")
    assert np.allclose(real, p["2024"].mean())
    assert real.attrs["base"] == "2024"
    with pytest.raises(TradelibError, match="outside"):
        tf.rebase(p, "1990")


def test_deflate_refuses_price_gaps_until_filled():
    nominal = monthly([10.0] * 12, start="2025-01-01")
    price = monthly(np.linspace(300, 311, 12), start="2025-01-01").drop(pd.Timestamp("2025-10-01"))
    with pytest.raises(TradelibError, match="2025-10"):
        tf.deflate(nominal, price, "2025-01")
    filled, where = tf.interpolate_missing(price)
    assert where == [pd.Timestamp("2025-10-01")]
    real = tf.deflate(nominal, filled, "2025-01")
    assert real.notna().all() and real.iloc[0] == pytest.approx(10.0)
    with pytest.raises(TradelibError, match="missing months"):
        tf.rebase(price, "2025")


# --- seasonal adjustment ---------------------------------------------------------------------


def _seasonal_series(n_years=8, amp=0.15, seed=0):
    rng = np.random.default_rng(seed)
    n = 12 * n_years
    t = np.arange(n)
    factor = np.exp(amp * np.sin(2 * np.pi * t / 12))
    level = 100 * np.exp(0.003 * t)
    noise = np.exp(rng.normal(0, 0.01, n))
    return monthly(level * factor * noise, start="2010-01-01"), monthly(factor, start="2010-01-01")


def test_seasonal_adjust_recovers_multiplicative_factors():
    s, factor = _seasonal_series()
    out = tf.seasonal_adjust(s)
    assert list(out.columns) == ["observed", "trend", "seasonal", "adjusted"]
    assert np.allclose(out["adjusted"] * out["seasonal"], out["observed"], rtol=1e-9)
    assert np.corrcoef(out["seasonal"], factor)[0, 1] > 0.98
    # adjusted month-on-month changes are far smoother than the raw ones
    assert np.log(out["adjusted"]).diff().std() < 0.3 * np.log(s).diff().std()


def test_seasonal_adjust_drops_edges_and_refuses_gaps():
    s, _ = _seasonal_series()
    padded = pd.concat([s, pd.Series([math.nan], index=[pd.Timestamp("2018-01-01")])])
    assert len(tf.seasonal_adjust(padded)) == len(s)
    gap = s.copy()
    gap.iloc[30] = math.nan
    with pytest.raises(TradelibError, match="interior missing"):
        tf.seasonal_adjust(gap)
    with pytest.raises(TradelibError, match="too short"):
        tf.seasonal_adjust(s.iloc[:24])
    with pytest.raises(TradelibError, match="positive"):
        tf.seasonal_adjust(s - 200)
    assert len(tf.seasonal_adjust(s - 200, log=False)) == len(s)
    with pytest.raises(TradelibError, match="odd"):
        tf.seasonal_adjust(s, seasonal=12)


def test_compare_series_and_share():
    a = monthly([1.0, 2.0, 3.0, 4.0])
    b = monthly([1.0, 1.0, 3.0, math.nan])
    c = tf.compare_series(a, b)
    assert c["months"] == 3 and c["max_abs_diff"] == 1.0 and c["max_abs_month"] == "2019-02"
    assert c["mean_abs_diff"] == pytest.approx(1 / 3)
    with pytest.raises(TradelibError, match="no month"):
        tf.compare_series(a, monthly([1.0], start="1990-01-01"))
    sh = tf.share(pd.Series([-50.0, 1.0], index=[1, 2]), pd.Series([-200.0, 0.0], index=[1, 2]))
    assert sh[1] == 25.0 and math.isnan(sh[2])


# --- ranking ---------------------------------------------------------------------------------


def _ranking_table():
    rows = []
    partners = [
        ("0015", "World NSA", 100.0),
        ("2010", "Mexico", 5.0),
        ("1220", "Canada", 4.0),
        ("5700", "China", 6.0),
        ("0003", "European Union", 9.0),
    ]
    for d in pd.date_range("2023-01-01", "2024-12-01", freq="MS"):
        for code, name, v in partners:
            val = v + (2.0 if (code == "2010" and d.year == 2024) else 0.0)
            rows.append((d, code, name, "exports", val))
            rows.append((d, code, name, "imports", val))
    rows.append((pd.Timestamp("2025-01-01"), "2010", "Mexico", "exports", 50.0))
    rows.append((pd.Timestamp("2025-01-01"), "2010", "Mexico", "imports", 50.0))
    return long_table(rows)


def test_two_way_ranking_excludes_aggregates_and_partial_years():
    r = tf.two_way_ranking(_ranking_table())
    assert set(r["partner_code"]) == {"2010", "1220", "5700"}
    top = r[r["rank"] == 1].set_index("year")["partner"]
    assert top[2023] == "China" and top[2024] == "Mexico"
    assert 2025 not in top.index
    assert r.loc[(r.year == 2024) & (r.partner == "Mexico"), "two_way"].item() == 12 * 14.0
    with_groups = tf.two_way_ranking(_ranking_table(), countries_only=False)
    assert with_groups[with_groups["rank"] == 1]["partner"].unique().tolist() == ["World NSA"]
    partial = tf.two_way_ranking(_ranking_table(), complete_years_only=False)
    assert partial.loc[partial.year == 2025, "months"].item() == 1


# --- selections and summaries ----------------------------------------------------------------


def test_between_on_frames_and_series():
    s = monthly([1.0] * 36, start="2019-01-01")
    assert len(tf.between(s, "2020-01", "2020")) == 12
    assert tf.between(s, None, "2019-03").index[-1] == pd.Timestamp("2019-03-01")
    df = s.rename("v").reset_index().rename(columns={"index": "date"})
    assert len(tf.between(df, "2021-06", None)) == 7
    assert len(tf.between(s, pd.Timestamp("2021-06-01"), pd.Timestamp("2021-08-01"))) == 3
    with pytest.raises(TradelibError, match="YYYY"):
        tf.between(s, "not a date", None)
    with pytest.raises(TradelibError, match="date"):
        tf.between(pd.DataFrame({"x": [1]}), "2020", None)


def test_monthly_frame_inserts_gaps_and_names_missing_partner():
    df = long_table(
        [
            ("2024-01-01", "2010", "Mexico", "exports", 10.0),
            ("2024-01-01", "2010", "Mexico", "imports", 15.0),
            ("2024-03-01", "2010", "Mexico", "exports", 12.0),
            ("2024-03-01", "2010", "Mexico", "imports", 13.0),
        ]
    )
    f = tf.monthly_frame(df, "2010")
    assert len(f) == 3 and f.loc["2024-02-01"].isna().all()
    assert f.loc["2024-03-01", "balance"] == -1.0
    with pytest.raises(TradelibError, match="5700"):
        tf.monthly_frame(df, 5700)


def test_annual_flows_needs_every_column_complete():
    idx = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    f = pd.DataFrame({"exports": 1.0, "imports": 2.0}, index=idx)
    f.loc[pd.Timestamp("2024-05-01"), "imports"] = math.nan
    a = tf.annual_flows(f)
    assert a.loc[2023, "exports"] == 12.0 and a.loc[2023, "imports"] == 24.0
    assert a.loc[2024, "months"] == 11 and not a.loc[2024, "complete"]
    assert math.isnan(a.loc[2024, "exports"])


def test_runs():
    s = pd.Series(["A", "A", "B", None, "B", "A"], index=[1990, 1991, 1992, 1993, 1994, 1995])
    assert tf.runs(s) == [
        (1990, 1991, "A"),
        (1992, 1992, "B"),
        (1994, 1994, "B"),
        (1995, 1995, "A"),
    ]


# --- trend growth ----------------------------------------------------------------------------


@FAST
@given(st.floats(min_value=-0.2, max_value=0.3), st.floats(min_value=1.0, max_value=1e5))
def test_log_trend_growth_recovers_exact_exponential(rate, level):
    years = pd.Index(range(1995, 2021))
    s = pd.Series(level * (1 + rate) ** (years - 1995), index=years)
    out = tf.log_trend_growth(s)
    assert out["rate_pct"] == pytest.approx(100 * rate, abs=1e-6)
    assert out["ci_low_pct"] <= out["rate_pct"] <= out["ci_high_pct"]
    assert out["n"] == 26 and out["first"] == "1995" and out["last"] == "2020"


def test_log_trend_growth_noisy_monthly_and_errors():
    rng = np.random.default_rng(1)
    idx = pd.date_range("2000-01-01", periods=240, freq="MS")
    t = np.arange(240) / 12
    s = pd.Series(100 * np.exp(0.05 * t + rng.normal(0, 0.05, 240)), index=idx)
    out = tf.log_trend_growth(s)
    truth = 100 * math.expm1(0.05)
    assert out["ci_low_pct"] < truth < out["ci_high_pct"]
    assert out["ci_high_pct"] - out["ci_low_pct"] < 1.0
    assert out["maxlags"] == 4  # floor(4 * 2.4 ** (2/9)) = floor(4.86)
    assert out["se_kind"] == "HAC(4)" and out["df"] == 238
    with pytest.raises(TradelibError, match="positive"):
        tf.log_trend_growth(-s)
    with pytest.raises(TradelibError, match="too few"):
        tf.log_trend_growth(s.iloc[:3])


def test_trend_growth_small_sample_uses_t_with_n_minus_2_df():
    import statsmodels.api as sm
    from scipy import stats

    rng = np.random.default_rng(3)
    years = pd.Index(range(2010, 2026))
    s = pd.Series(50 * np.exp(0.12 * (years - 2010) + rng.normal(0, 0.04, len(years))), index=years)
    out = tf.trend_growth(s, 10)
    assert out["n"] == 10 and out["first"] == "2016" and out["last"] == "2025"
    assert out["se_kind"] == "OLS" and out["df"] == 8
    # hand computation: classical OLS se, t(8) critical value (2.306, not 1.96)
    w = s.loc[2016:2025]
    fit = sm.OLS(np.log(w.to_numpy()), sm.add_constant(np.arange(10.0))).fit()
    b, se = fit.params[1], fit.bse[1]
    crit = stats.t.ppf(0.975, 8)
    assert out["rate"] == pytest.approx(math.expm1(b))
    assert out["ci_low_pct"] == pytest.approx(100 * math.expm1(b - crit * se))
    assert out["ci_high_pct"] == pytest.approx(100 * math.expm1(b + crit * se))
    # the z interval would be narrower: the t interval is what we report
    assert out["ci_high_pct"] > 100 * math.expm1(b + 1.96 * se)
    assert tf.trend_growth(s, 10, end=2020)["last"] == "2020"


def test_trend_growth_errors_name_the_problem():
    years = pd.Index(range(2010, 2026))
    s = pd.Series(np.linspace(10, 30, len(years)), index=years)
    with pytest.raises(TradelibError, match=r"missing"):
        tf.trend_growth(s.drop(2020), 10)
    with pytest.raises(TradelibError, match="positive"):
        tf.trend_growth(s - 20, 10)
    with pytest.raises(TradelibError, match="integer year"):
        tf.trend_growth(pd.Series([1.0] * 12, index=pd.date_range("2000", periods=12, freq="YS")))
