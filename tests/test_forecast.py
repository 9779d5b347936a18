"""Tests for tradelib.analysis.forecast on small synthetic series (no data mirror needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradelib.analysis import forecast as fc
from tradelib.errors import TradelibError


def monthly(values, start="2010-01-01", name="y") -> pd.Series:
    """A month-start series from a list of values."""
    return pd.Series(
        np.asarray(values, dtype="float64"),
        index=pd.date_range(start, periods=len(values), freq="MS"),
        name=name,
    )


def seasonal_series(n=96, seed=0) -> pd.Series:
    """Trend + seasonality + noise, positive."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return monthly(100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n))


# ---------------------------------------------------------------- splitter / leakage


def test_splits_train_strictly_before_test_and_cover_horizon():
    idx = pd.date_range("2015-01-01", periods=40, freq="MS")
    splits = fc.rolling_origin_splits(idx, horizon=6, initial=24, step=2)
    assert next(s.origin for s in splits) == idx[23]
    for s in splits:
        assert s.train.max() < s.test.min()
        assert s.train.max() == s.origin
        assert len(s.test) == 6
        assert s.test[0] == s.origin + pd.DateOffset(months=1)
    # last origin leaves exactly one full horizon
    assert splits[-1].test[-1] <= idx[-1]
    assert len(splits) == len(range(23, 40 - 6, 2))


def test_splits_initial_as_date_and_window():
    idx = pd.date_range("2015-01-01", periods=40, freq="MS")
    splits = fc.rolling_origin_splits(idx, horizon=3, initial="2016-12-01", window=12)
    assert splits[0].origin == pd.Timestamp("2016-12-01")
    assert all(len(s.train) == 12 for s in splits)


def test_splits_raise_when_nothing_fits():
    idx = pd.date_range("2015-01-01", periods=10, freq="MS")
    with pytest.raises(fc.ForecastError, match="no origin fits"):
        fc.rolling_origin_splits(idx, horizon=6, initial=8)


def test_backtest_never_hands_future_data_to_forecaster():
    """An 'oracle' that reads any future value it is given would score a perfect forecast.

    The oracle looks up the test months in the data it receives; if the backtest leaked even one
    future month into the training copy, some forecasts would equal the actuals exactly.
    """
    y = seasonal_series(60)
    seen_max: list[pd.Timestamp] = []

    def oracle(train: pd.Series, horizon: int) -> np.ndarray:
        seen_max.append(train.index.max())
        future = fc.future_index(train.index[-1], horizon)
        # what a leaking backtest would allow: look up future months in what we were given
        leaked = train.reindex(future)
        return leaked.fillna(-1e9).to_numpy()

    res = fc.backtest(y, {"oracle": oracle}, horizon=3, initial=36)
    assert (res["forecast"] == -1e9).all(), "future values reached the forecaster"
    origins = res.drop_duplicates("origin")["origin"].tolist()
    assert seen_max == origins
    assert (res["date"] > res["origin"]).all()


def test_backtest_training_copy_cannot_reach_future_memory():
    """Mutating the training copy must not touch the series, and the copy owns its memory."""
    y = seasonal_series(40)
    original = y.copy()

    def vandal(train: pd.Series, horizon: int) -> np.ndarray:
        arr = train.to_numpy()
        assert not np.shares_memory(arr, y.to_numpy())
        train.iloc[:] = 0.0
        return np.zeros(horizon)

    fc.backtest(y, {"vandal": vandal}, horizon=2, initial=30)
    pd.testing.assert_series_equal(y, original)


def test_backtest_seasonal_naive_exact_on_pure_seasonal_series():
    pattern = np.arange(12, dtype=float) + 5
    y = monthly(np.tile(pattern, 6) + np.repeat(np.arange(6) * 0.0, 12))
    res = fc.backtest(y, {"snaive": fc.seasonal_naive_forecaster()}, horizon=12, initial=24, step=6)
    assert np.allclose(res["error"], 0.0)


def test_backtest_rejects_wrong_length_forecast():
    y = seasonal_series(40)
    with pytest.raises(fc.ForecastError, match="returned 1 values"):
        fc.backtest(y, {"bad": lambda tr, h: [1.0]}, horizon=3, initial=30)


def test_backtest_rejects_gaps_and_nans():
    y = seasonal_series(40)
    with pytest.raises(fc.ForecastError, match="not consecutive"):
        fc.backtest(
            y.drop(y.index[5]), {"s": fc.seasonal_naive_forecaster()}, horizon=3, initial=30
        )
    z = y.copy()
    z.iloc[-1] = np.nan
    with pytest.raises(TradelibError, match="missing value"):
        fc.backtest(z, {"s": fc.seasonal_naive_forecaster()}, horizon=3, initial=30)


# ---------------------------------------------------------------- metrics on known inputs


def test_metrics_known_values():
    a = [1.0, 2.0, 3.0, 4.0]
    f = [2.0, 2.0, 1.0, 4.0]
    assert fc.mae(a, f) == pytest.approx(0.75)
    assert fc.rmse(a, f) == pytest.approx(math.sqrt(5 / 4))
    # sMAPE terms: 2*1/3, 0, 2*2/4, 0 -> mean = (2/3 + 1) / 4
    assert fc.smape(a, f) == pytest.approx(100 * (2 / 3 + 1.0) / 4)


def test_smape_zero_pairs_and_negative_values():
    assert fc.smape([0.0, -2.0], [0.0, -2.0]) == 0.0
    assert fc.smape([-1.0], [1.0]) == pytest.approx(200.0)


def test_mase_known_scale():
    insample = [1, 2, 3, 4, 6]  # m=1 naive abs diffs: 1,1,1,2 -> scale 1.25
    assert fc.mase_scale(insample, m=1) == pytest.approx(1.25)
    assert fc.mase([10, 10], [11, 12.5], insample, m=1) == pytest.approx(1.75 / 1.25)
    seasonal = list(range(12)) + [x + 2 for x in range(12)]
    assert fc.mase_scale(seasonal, m=12) == pytest.approx(2.0)


def test_mase_rejects_constant_insample():
    with pytest.raises(fc.ForecastError, match="constant"):
        fc.mase([1.0], [1.0], [3.0] * 14, m=12)


def test_score_backtest_matches_direct_metrics():
    y = seasonal_series(72, seed=3)
    res = fc.backtest(y, {"snaive": fc.seasonal_naive_forecaster()}, horizon=6, initial=48, step=6)
    scores = fc.score_backtest(res)
    row = scores.loc["snaive"]
    assert row["n"] == len(res)
    assert row["MAE"] == pytest.approx(fc.mae(res["actual"], res["forecast"]))
    assert row["RMSE"] == pytest.approx(fc.rmse(res["actual"], res["forecast"]))
    expected_mase = np.mean(np.abs(res["error"]) / res["scale"])
    assert row["MASE"] == pytest.approx(expected_mase)
    # the scale of the first origin uses its training window only
    first = res["origin"].min()
    assert res.loc[res["origin"] == first, "scale"].iloc[0] == pytest.approx(
        fc.mase_scale(y.loc[:first], m=12)
    )


# ---------------------------------------------------------------- models


def test_seasonal_naive_repeats_last_season():
    y = monthly(np.arange(24.0))
    f = fc.seasonal_naive(y, 14)
    assert f.index[0] == pd.Timestamp("2012-01-01")
    assert f.iloc[:12].tolist() == list(np.arange(12.0, 24.0))
    assert f.iloc[12:].tolist() == [12.0, 13.0]


FAST = {"order": (0, 0, 0), "seasonal_order": (0, 1, 1, 12), "trend": "c"}


def test_sarimax_forecast_has_ordered_intervals_and_sensible_level():
    y = seasonal_series(60)
    out, _res, info = fc.forecast_sarimax(y, 12, return_result=True, **FAST)
    assert list(out.columns) == ["mean", "lower", "upper"]
    assert out.index[0] == pd.Timestamp("2015-01-01")
    assert (out["lower"] < out["mean"]).all() and (out["mean"] < out["upper"]).all()
    # the trend continues roughly: next year's mean is near last year's mean + 6
    assert abs(out["mean"].mean() - (y.iloc[-12:].mean() + 6)) < 5
    assert isinstance(info.converged, bool)


def test_log_forecast_stays_positive_and_rejects_nonpositive():
    y = seasonal_series(48)
    out = fc.forecast_ets(y, 6, log=True, trend=None)
    assert (out["lower"] > 0).all()
    with pytest.raises(fc.ForecastError, match="positive"):
        fc.forecast_sarimax(y - 1000, 3, log=True)


def test_wider_interval_for_smaller_alpha():
    y = seasonal_series(48)
    a = fc.forecast_sarimax(y, 6, alpha=0.05, **FAST)
    b = fc.forecast_sarimax(y, 6, alpha=0.32, **FAST)
    assert ((a["upper"] - a["lower"]) > (b["upper"] - b["lower"])).all()


def test_sarimax_future_exog_shifts_forecast():
    y = seasonal_series(60)
    x = pd.Series(0.0, index=y.index, name="x")
    x.iloc[30:] = 1.0
    y = y + 20 * x
    fut0 = pd.Series(0.0, index=fc.future_index(y.index[-1], 6), name="x")
    lo = fc.forecast_sarimax(y, 6, exog=x, future_exog=fut0, **FAST)
    hi = fc.forecast_sarimax(y, 6, exog=x, future_exog=fut0 + 1.0, **FAST)
    assert (hi["mean"] - lo["mean"]).mean() == pytest.approx(20, abs=4)
    with pytest.raises(fc.ForecastError, match="exogenous"):
        fc.forecast_sarimax(y, 6, exog=x, future_exog=fut0.iloc[:3], **FAST)


def test_backtest_keeps_interval_bounds_and_scores_coverage():
    y = seasonal_series(48)

    def band(train, h):
        m = fc.seasonal_naive(train, h)
        return pd.DataFrame({"mean": m, "lower": m - 1e6, "upper": m + 1e6})

    def tight(train, h):
        m = fc.seasonal_naive(train, h)
        return pd.DataFrame({"mean": m, "lower": m + 1e6, "upper": m + 2e6})

    res = fc.backtest(
        y,
        {"wide": band, "wrong": tight, "point": fc.seasonal_naive_forecaster()},
        horizon=3,
        initial=40,
    )
    sc = fc.score_backtest(res)
    assert sc.loc["wide", "coverage"] == 1.0
    assert sc.loc["wrong", "coverage"] == 0.0
    assert np.isnan(sc.loc["point", "coverage"])


def test_simulated_paths_and_period_interval():
    y = seasonal_series(60)
    paths = fc.simulate_paths(y, 12, n_paths=200, seed=1, **FAST)
    assert paths.shape == (12, 200)
    assert paths.index[0] == pd.Timestamp("2015-01-01")
    point = fc.forecast_sarimax(y, 12, **FAST)["mean"].sum()
    iv = fc.period_interval(paths, "2015-01", "2015-12")
    assert iv["lower"] < point < iv["upper"]
    assert iv["mean"] == pytest.approx(point, rel=0.02)
    # observed months are added to every path, simulated ones summed per path
    known = pd.Series(1.0, index=pd.date_range("2014-11-01", periods=2, freq="MS"))
    iv2 = fc.period_interval(paths, "2014-11", "2015-01", known=known)
    assert iv2["months_observed"] == 2 and iv2["months_simulated"] == 1
    assert iv2["mean"] == pytest.approx(2.0 + paths.iloc[0].mean())
    with pytest.raises(fc.ForecastError, match="neither observed"):
        fc.period_interval(paths, "2014-06", "2015-01")


def test_tariff_semi_elasticity_matches_log_formula():
    semi = fc.tariff_semi_elasticity(-2.0, base_rate_pct=4.0, change_pp=10.0)
    assert semi * 10.0 == pytest.approx(-2.0 * (math.log(1.14) - math.log(1.04)))
    assert fc.tariff_semi_elasticity(-2.0, 4.0, 0.0) == pytest.approx(-2.0 / 104.0)


# ---------------------------------------------------------------- scenarios


def baseline_frame(n=24):
    idx = pd.date_range("2026-09-01", periods=n, freq="MS")
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {"exports": 28000 + rng.normal(0, 500, n), "imports": 45000 + rng.normal(0, 500, n)},
        index=idx,
    )


@given(
    start=st.sampled_from([None, "2026-09-01", "2027-03-01", "2030-01-01"]),
    phase=st.integers(min_value=1, max_value=36),
    tariff_elast=st.floats(-0.05, 0.0),
    fx_ex=st.floats(-2, 2),
    fx_im=st.floats(-2, 2),
)
@settings(max_examples=40, deadline=None)
def test_zero_shocks_reproduce_baseline(start, phase, tariff_elast, fx_ex, fx_im):
    """Elasticities alone (no shock) and zero shocks must give back the baseline exactly."""
    base = baseline_frame()
    s = fc.Scenario(
        name="zero",
        start=start,
        phase_in_months=phase,
        tariff_semi_elasticity=tariff_elast,
        fx_elasticity_exports=fx_ex,
        fx_elasticity_imports=fx_im,
    )
    out = fc.scenario_path(base, s)
    np.testing.assert_array_equal(out["exports"].to_numpy(), base["exports"].to_numpy())
    np.testing.assert_array_equal(out["imports"].to_numpy(), base["imports"].to_numpy())
    np.testing.assert_array_equal(
        out["balance"].to_numpy(), (base["exports"] - base["imports"]).to_numpy()
    )


def test_export_growth_shock_compounds_from_start():
    base = baseline_frame(36)
    s = fc.Scenario(name="buy more", export_growth_pp=10.0, start="2027-01-01")
    out = fc.scenario_path(base, s)
    before = out.index < pd.Timestamp("2027-01-01")
    np.testing.assert_allclose(out.loc[before, "exports"], base.loc[before, "exports"])
    # 12 months after the start (month 12 counted from 1) exports are 10 % higher
    assert out.loc["2027-12-01", "exports"] / base.loc["2027-12-01", "exports"] == pytest.approx(
        1.10
    )
    np.testing.assert_allclose(out["imports"], base["imports"])
    assert (out.loc[~before, "balance"] > (base["exports"] - base["imports"])[~before]).all()


def test_tariff_and_fx_level_effects_phase_in():
    base = baseline_frame(24)
    s = fc.Scenario(
        name="tariff up", tariff_change_pp=10.0, tariff_semi_elasticity=-0.02, phase_in_months=6
    )
    out = fc.scenario_path(base, s)
    ratio = out["imports"] / base["imports"]
    assert ratio.iloc[0] == pytest.approx(math.exp(-0.2 / 6))
    assert ratio.iloc[5:].to_numpy() == pytest.approx(math.exp(-0.2))
    fxs = fc.Scenario(
        name="peso weak", fx_change_pct=10.0, fx_elasticity_exports=-0.5, phase_in_months=1
    )
    out2 = fc.scenario_path(base, fxs)
    assert (out2["exports"] / base["exports"]).to_numpy() == pytest.approx(
        math.exp(-0.5 * math.log(1.1))
    )


def test_scenario_paths_long_and_unique_names():
    base = baseline_frame(6)
    long = fc.scenario_paths(base, [fc.Scenario("a"), fc.Scenario("b", export_growth_pp=5)])
    assert set(long["scenario"]) == {"a", "b"}
    assert len(long) == 12
    with pytest.raises(fc.ForecastError, match="unique"):
        fc.scenario_paths(base, [fc.Scenario("a"), fc.Scenario("a")])


# ---------------------------------------------------------------- annual arithmetic


def test_annual_totals_drops_incomplete_years():
    idx = pd.date_range("2024-01-01", "2025-06-01", freq="MS")
    df = pd.DataFrame({"exports": 1.0, "imports": 2.0}, index=idx)
    tot = fc.annual_totals(df)
    assert tot.index.tolist() == [2024]
    assert tot.loc[2024, "imports"] == 24.0
    assert fc.annual_totals(df, complete_only=False).loc[2025, "exports"] == 6.0


def test_extend_annual_and_trend_growth():
    annual = pd.DataFrame(
        {"exports": [100.0, 110.0, 121.0], "imports": [200.0, 200.0, 200.0]},
        index=pd.Index([2025, 2026, 2027], name="year"),
    )
    # log-linear trend through 100, 110, 121 (exactly 10% a year)
    assert fc.trend_growth(annual["exports"], years=3) == pytest.approx(0.10)
    assert fc.trend_growth(annual["exports"], years=2) == pytest.approx(0.10)
    with pytest.raises(fc.ForecastError, match="needs 4"):
        fc.trend_growth(annual["exports"], years=4)
    ext = fc.extend_annual(annual, 2030, {"exports": 0.10, "imports": 0.0})
    assert ext.loc[2030, "exports"] == pytest.approx(121.0 * 1.1**3)
    assert ext.loc[2030, "projected"] and not ext.loc[2027, "projected"]


def test_exports_needed_arithmetic():
    r = fc.exports_needed(
        reference_deficit=200.0,
        baseline_exports=300.0,
        baseline_imports=540.0,
        current_exports=250.0,
        years=4,
        target_year=2030,
        reduction=0.5,
    )
    # baseline deficit 240, target 100 -> extra 140 in 2030
    assert r.extra_exports_target_year == pytest.approx(140.0)
    assert r.extra_per_year_step == pytest.approx(35.0)
    assert r.share_of_current_exports == pytest.approx(140 / 250)
    assert r.extra_growth_pp == pytest.approx(100 * ((440 / 300) ** 0.25 - 1))
    close = fc.exports_needed(
        reference_deficit=200.0,
        baseline_exports=300.0,
        baseline_imports=540.0,
        current_exports=250.0,
        years=4,
        target_year=2030,
        reduction=1.0,
    )
    assert close.extra_exports_target_year == pytest.approx(240.0)
    done = fc.exports_needed(
        reference_deficit=200.0,
        baseline_exports=500.0,
        baseline_imports=540.0,
        current_exports=250.0,
        years=4,
        target_year=2030,
        reduction=0.5,
    )
    assert done.extra_exports_target_year == 0.0
    with pytest.raises(fc.ForecastError, match="reduction"):
        fc.exports_needed(
            reference_deficit=1.0,
            baseline_exports=1.0,
            baseline_imports=1.0,
            current_exports=1.0,
            years=1,
            target_year=2030,
            reduction=1.5,
        )


def test_paired_ets_simulation_keeps_correlation():
    rng = np.random.default_rng(5)
    common = rng.normal(0, 0.05, 60)
    t = np.arange(60)
    base = np.exp(4 + 0.01 * t + 0.1 * np.sin(2 * np.pi * t / 12))
    a = monthly(base * np.exp(common))
    b = monthly(1.5 * base * np.exp(common + rng.normal(0, 0.005, 60)))
    for errors in ("gaussian", "bootstrap"):
        paths = fc.simulate_paired_ets(
            {"a": a, "b": b}, 6, n_paths=300, seed=2, trend=None, errors=errors
        )
        assert set(paths) == {"a", "b"} and paths["a"].shape == (6, 300)
        assert (paths["a"] > 0).all().all()
        # the shocks are shared, so the two series' simulated paths move together
        corr = np.corrcoef(np.log(paths["a"].iloc[0]), np.log(paths["b"].iloc[0]))[0, 1]
        assert corr > 0.8
    with pytest.raises(fc.ForecastError, match="gaussian"):
        fc.simulate_paired_ets({"a": a}, 6, n_paths=20, trend=None, errors="t")
    q = fc.path_quantiles(paths["a"])
    assert (q["lower"] < q["median"]).all() and (q["median"] < q["upper"]).all()
    with pytest.raises(fc.ForecastError, match="other months"):
        fc.simulate_paired_ets({"a": a, "b": b.iloc[1:]}, 6, n_paths=20, trend=None)


def test_difference_backtest_matches_direct_difference():
    a = seasonal_series(48, seed=1) + 50
    b = seasonal_series(48, seed=2)
    f = {"sn": fc.seasonal_naive_forecaster()}
    kw = {"horizon": 3, "initial": 36, "step": 3}
    ba, bb, bd = fc.backtest(a, f, **kw), fc.backtest(b, f, **kw), fc.backtest(a - b, f, **kw)
    d = fc.difference_backtest(ba, bb, bd, models=("sn", "sn"), name="components")
    assert list(d.columns) == list(bd.columns)
    assert (d["model"] == "components").all()
    # seasonal naive is linear, so the difference of forecasts equals the forecast of differences
    np.testing.assert_allclose(d["forecast"], bd["forecast"])
    np.testing.assert_allclose(d["actual"], bd["actual"])
    with pytest.raises(fc.ForecastError, match="not found"):
        fc.difference_backtest(ba, bb, bd, models=("x", "sn"), name="c")
    short = fc.backtest(a, f, horizon=3, initial=39, step=3)
    with pytest.raises(fc.ForecastError, match="same origins"):
        fc.difference_backtest(short, bb, bd, models=("sn", "sn"), name="c")


def test_paired_ets_trimming_drops_outlier_months_and_narrows_spread():
    rng = np.random.default_rng(7)
    t = np.arange(72)
    noise = rng.normal(0, 0.02, 72)
    noise[40] = -0.8  # one pandemic-size shock
    a = monthly(np.exp(4 + 0.005 * t + 0.1 * np.sin(2 * np.pi * t / 12) + noise))
    kw = {"n_paths": 400, "seed": 3, "trend": None}
    full = fc.simulate_paired_ets({"a": a}, 6, **kw)["a"]
    trim = fc.simulate_paired_ets({"a": a}, 6, trim_mad=5.0, **kw)["a"]
    assert trim.attrs["trimmed_months"] == [f"{a.index[40]:%Y-%m}"]
    assert full.attrs["trimmed_months"] == []
    assert np.log(trim.iloc[0]).std() < np.log(full.iloc[0]).std()


# ---------------------------------------------------------------- well-conditioned models


def seasonal_growth_series(n=120, g=0.05, start="2010-01-01", seed=None, noise=0.0) -> pd.Series:
    """Positive series: a fixed seasonal pattern growing at ``g`` a year (log-linear)."""
    t = np.arange(n)
    season = 0.1 * np.sin(2 * np.pi * t / 12)
    eps = 0.0 if seed is None else np.random.default_rng(seed).normal(0, noise, n)
    return monthly(100 * np.exp(np.log1p(g) * t / 12 + season + eps), start=start)


def test_drift_forecast_is_exact_on_log_linear_seasonal_growth():
    y = seasonal_growth_series(120, g=0.05)
    full = seasonal_growth_series(138, g=0.05)
    f = fc.drift_forecast(y, 18)
    np.testing.assert_allclose(f.to_numpy(), full.to_numpy()[120:], rtol=1e-9)


def test_drift_slope_is_the_shared_trend_estimator():
    from tradelib.analysis import transform

    annual = pd.Series([100.0, 104.0, 111.0, 113.0, 121.0, 130.0], index=range(2015, 2021))
    assert fc.log_linear_slope(annual) == pytest.approx(transform.log_trend_growth(annual)["b"])
    with pytest.raises(fc.ForecastError, match="complete calendar years"):
        fc.drift_forecast(seasonal_growth_series(40), 12)


def test_ar_seasonal_difference_matches_statsmodels_autoreg():
    from statsmodels.tsa.ar_model import AutoReg

    y = seasonal_growth_series(150, seed=3, noise=0.03)
    ly = np.log(y.to_numpy())
    d = ly[12:] - ly[:-12]
    c, phi = AutoReg(d, lags=1, trend="c").fit().params
    f = fc.ar_seasonal_difference_forecast(y, 13)
    d1 = c + phi * d[-1]
    assert f.iloc[0] == pytest.approx(np.exp(ly[-12] + d1))
    dd = d1  # h=13 rebuilds from the h=1 forecast
    for _ in range(12):
        dd = c + phi * dd
    assert f.iloc[12] == pytest.approx(float(f.iloc[0]) * np.exp(dd))


def test_hw_filter_matches_statsmodels_with_the_same_start():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.log(seasonal_growth_series(96, seed=1, noise=0.02)).asfreq("MS")
    lvl = float(y.iloc[:12].mean())
    res = ExponentialSmoothing(
        y.iloc[12:], trend=None, seasonal="add", seasonal_periods=12,
        initialization_method="known", initial_level=lvl,
        initial_seasonal=(y.iloc[:12] - lvl).to_numpy(),
    ).fit(smoothing_level=0.5, smoothing_seasonal=0.1, optimized=False)
    err, level, season = fc.hw_additive_filter(y.to_numpy(), 0.5, 0.1)
    np.testing.assert_allclose(err, res.resid.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(level + season[:3], res.forecast(3).to_numpy(), atol=1e-12)


def test_ets_grid_choice_is_deterministic_and_from_the_grid():
    y = seasonal_growth_series(96, seed=2, noise=0.02)
    f1, c1 = fc.ets_grid_forecast(y, 6, return_choice=True)
    f2, c2 = fc.ets_grid_forecast(y.copy(), 6, return_choice=True)
    assert c1 == c2 and c1["smoothing_level"] in (0.2, 0.5, 0.8)
    pd.testing.assert_series_equal(f1, f2)
    sses = [float(np.sum(fc.hw_additive_filter(np.log(y.to_numpy()), a, 0.1)[0] ** 2))
            for a in (0.2, 0.5, 0.8)]
    assert c1["sse"] == pytest.approx(min(sses))


def test_params_on_bounds_flags_edge_estimates():
    from types import SimpleNamespace

    names = ["smoothing_level", "smoothing_seasonal", "ar.L1", "sigma2"]

    def fake(values):
        return SimpleNamespace(param_names=names, params=np.array(values),
                               model=SimpleNamespace(bounds=None))

    assert fc.params_on_bounds(fake([0.9999, 0.3, 0.5, 2.0])) == {"smoothing_level": 0.9999}
    assert fc.params_on_bounds(fake([0.5, 0.3, -0.9995, 2.0])) == {"ar.L1": -0.9995}
    assert fc.params_on_bounds(fake([0.5, 0.3, 0.5, 2.0])) == {}


# ---------------------------------------------------------------- calendar-year backtests


def flows_frame(n=180, start="2005-01-01", seed=0) -> pd.DataFrame:
    x = seasonal_growth_series(n, g=0.04, start=start, seed=seed, noise=0.02)
    m = 1.5 * seasonal_growth_series(n, g=0.06, start=start, seed=seed + 1, noise=0.02)
    return pd.DataFrame({"exports": x, "imports": m})


def test_year_ahead_window_covers_next_calendar_year():
    assert fc.year_ahead_window(8) == (5, 16)
    assert fc.year_ahead_window(12) == (1, 12)
    assert fc.year_ahead_window(6) == (7, 18)
    with pytest.raises(fc.ForecastError):
        fc.year_ahead_window(13)


def test_paired_backtest_cannot_see_the_future():
    """A forecaster that looks up future months in what it is given returns a sentinel when the
    backtest hands it only the past; any leak would put real values in the totals."""
    flows = flows_frame(120)

    def oracle(train, horizon):
        return train.reindex(fc.future_index(train.index[-1], horizon)).fillna(-1e9).to_numpy()

    bt = fc.paired_backtest(flows, {"oracle": oracle}, horizon=16, initial="2009-08", step=12)
    assert (bt["forecast"] == 0.0).all()  # -1e9 exports minus -1e9 imports
    cy = fc.calendar_year_backtest(bt, 8)
    assert list(cy["year"]) == [2010, 2011, 2012, 2013, 2014]
    # and the size (two-way trade) is known at the origin: last 12 months up to it
    o = pd.Timestamp("2009-08-01")
    expected = (flows["exports"] + flows["imports"]).loc["2008-09-01":"2009-08-01"].sum()
    assert bt.loc[bt["origin"] == o, "size"].iloc[0] == pytest.approx(expected)


def test_calendar_year_totals_are_sums_of_the_right_months():
    flows = flows_frame(120)
    bt = fc.paired_backtest(flows, {"sn": fc.seasonal_naive_forecaster()}, horizon=16,
                            initial="2009-08", step=12)
    cy = fc.calendar_year_backtest(bt, 8).set_index("year")
    bal = flows["exports"] - flows["imports"]
    assert cy.at[2011, "actual"] == pytest.approx(bal.loc["2011"].sum())
    # seasonal naive from Aug 2010: 2011 months repeat the same months of Sep 2009-Aug 2010
    sn = bal.loc["2010-01-01":"2010-08-01"].sum() + bal.loc["2009-09-01":"2009-12-01"].sum()
    assert cy.at[2011, "forecast"] == pytest.approx(sn)
    assert cy.at[2011, "error"] == pytest.approx(sn - bal.loc["2011"].sum())
    s = fc.score_totals(cy.reset_index())
    assert s.loc["sn", "RMSE"] == pytest.approx(np.sqrt(np.mean(cy["error"] ** 2)))
    assert s.loc["sn", "n_above"] == int((cy["error"] > 0).sum())


def test_combine_and_mean_forecaster_average_point_forecasts():
    flows = flows_frame(120)
    fs = {"sn": fc.seasonal_naive_forecaster(), "drift": fc.drift_forecaster(5)}
    bt = fc.paired_backtest(flows, fs, horizon=6, initial="2009-12", step=12)
    comb = fc.combine_forecasts(bt, ["sn", "drift"], "mix")
    piv = bt.pivot_table(index=["origin", "date"], columns="model", values="forecast")
    np.testing.assert_allclose(comb.set_index(["origin", "date"])["forecast"].to_numpy(),
                               piv.mean(axis=1).to_numpy())
    mf = fc.mean_forecaster(list(fs.values()))
    y = flows["exports"].iloc[:60]
    both = (fc.seasonal_naive(y, 6) + fc.drift_forecast(y, 6, years=5)) / 2
    np.testing.assert_allclose(mf(y, 6), both)


def test_year_total_forecast_adds_observed_months():
    flows = flows_frame(116, start="2005-01-01")  # ends Aug 2014
    f = fc.year_total_forecast(flows, fc.seasonal_naive_forecaster(), 2014)
    assert (f["h_first"], f["h_last"]) == (1, 4)
    x = flows["exports"]
    expected_x = x.loc["2014"].sum() + x.loc["2013-09-01":"2013-12-01"].sum()
    assert f["exports"] == pytest.approx(expected_x)
    g = fc.year_total_forecast(flows, fc.seasonal_naive_forecaster(), 2015)
    assert (g["h_first"], g["h_last"]) == (5, 16)
    with pytest.raises(fc.ForecastError, match="already observed"):
        fc.year_total_forecast(flows, fc.seasonal_naive_forecaster(), 2013)


# ---------------------------------------------------------------- intervals from past errors


def test_empirical_interval_known_quantiles():
    e = np.arange(-50, 51) / 100.0  # -0.5 .. 0.5
    iv = fc.empirical_interval(100.0, 10.0, e, levels=(0.8,), above=99.0)
    assert iv["median"] == pytest.approx(100.0)
    assert iv["lower_80"] == pytest.approx(100 - 10 * 0.4)
    assert iv["upper_80"] == pytest.approx(100 + 10 * 0.4)
    assert iv["p_above"] == pytest.approx(np.mean(100 - 10 * e > 99.0))
    biased = fc.empirical_interval(100.0, 10.0, e + 0.2)  # forecasts were 2 too high
    assert biased["median"] == pytest.approx(98.0)
    with pytest.raises(fc.ForecastError, match="at least 5"):
        fc.empirical_interval(1.0, 1.0, [0.1, 0.2])


def test_empirical_intervals_are_calibrated_on_known_error_distribution():
    rng = np.random.default_rng(7)
    past = rng.standard_t(df=5, size=2000)
    iv = fc.empirical_interval(0.0, 1.0, past, levels=(0.8, 0.95))
    outcomes = -rng.standard_t(df=5, size=20000)  # outcome = point - scale * e
    for tag, nominal in (("80", 0.8), ("95", 0.95)):
        cov = np.mean((outcomes >= iv[f"lower_{tag}"]) & (outcomes <= iv[f"upper_{tag}"]))
        assert abs(cov - nominal) < 0.03


def test_sequential_coverage_on_simulated_series_with_known_dynamics():
    """Log exports and imports = linear trend + fixed seasonality + AR(1) noise: the drift model
    suits these dynamics, so intervals built only from past errors cover close to nominal."""
    rng = np.random.default_rng(0)
    n = 40 * 12
    t = np.arange(n)
    season = 0.1 * np.sin(2 * np.pi * t / 12)

    def ar1(phi, sd):
        e, u = rng.normal(0, sd, n), np.zeros(n)
        for i in range(1, n):
            u[i] = phi * u[i - 1] + e[i]
        return u

    idx = pd.date_range("1980-01-01", periods=n, freq="MS")
    flows = pd.DataFrame({"exports": 100 * np.exp(0.004 * t + season + ar1(0.6, 0.03)),
                          "imports": 150 * np.exp(0.005 * t + season + ar1(0.6, 0.03))},
                         index=idx)
    bt = fc.paired_backtest(flows, {"drift": fc.drift_forecaster(10)}, horizon=16,
                            initial="1985-08", step=6)
    cal = fc.window_totals(bt, 5, 16)
    cov = fc.sequential_coverage(cal, cal, h_last=16, min_errors=30)
    assert len(cov) >= 30
    assert abs(cov["inside_80"].mean() - 0.8) <= 0.1
    assert abs(cov["inside_95"].mean() - 0.95) <= 0.05
    # intervals that ignore the errors' spread (zero width) would cover nothing
    assert not ((cov["lower_80"] == cov["upper_80"]).any())


def test_sequential_coverage_uses_only_windows_known_at_the_origin():
    origins = pd.date_range("2000-01-01", periods=40, freq="3MS")
    err = np.where(origins < "2005-01-01", 1.0, 1000.0)  # huge errors from 2005 on
    cal = pd.DataFrame({"origin": origins, "forecast": err, "actual": 0.0, "size": 1.0})
    target = pd.DataFrame({"origin": [pd.Timestamp("2007-06-01")], "forecast": [5.0],
                           "actual": [4.0], "size": [1.0], "year": [2008]})
    out = fc.sequential_coverage(cal, target, h_last=16, min_errors=5)
    # windows known by 2007-06 have origins up to 2006-02: 20 small errors and 5 huge ones;
    # a leak of the later windows (all huge) would move the median to 5 - 1000
    assert out.loc[0, "median"] == pytest.approx(4.0)
    assert out.loc[0, "inside_80"]
    recent = fc.sequential_coverage(cal, target, h_last=16, min_errors=5, window=5)
    assert recent.loc[0, "median"] == pytest.approx(5.0 - 1000.0)


# ---------------------------------------------------------------- what it would take


def test_extra_exports_for_hand_computed_cases():
    assert fc.extra_exports_for(200.0, 200.0, reduction=0.5, import_content=0.0) == 100.0
    assert fc.extra_exports_for(200.0, 200.0, reduction=0.5, import_content=0.5) == 200.0
    assert fc.extra_exports_for(200.0, 200.0, reduction=1.0, import_content=0.25) == pytest.approx(
        200.0 / 0.75)
    # a baseline deficit of 300 in the target year, target 100: 200 of improvement needed
    assert fc.extra_exports_for(200.0, 300.0, reduction=0.5, import_content=0.0) == 200.0
    assert fc.extra_exports_for(200.0, 50.0, reduction=0.5, import_content=0.0) == 0.0
    with pytest.raises(fc.ForecastError, match="never reduce"):
        fc.extra_exports_for(200.0, 200.0, reduction=0.5, import_content=1.0)


def test_tariff_import_change_hand_computed():
    assert fc.tariff_import_change(100.0, 0.0, 10.0, -1.0) == pytest.approx(100 * (1 / 1.1 - 1))
    assert fc.tariff_import_change(100.0, 5.0, 0.0, -3.0) == 0.0
    assert fc.tariff_import_change(200.0, 3.72, -3.48, -2.0) == pytest.approx(
        200 * ((1.0024 / 1.0372) ** -2 - 1))


def test_import_response_recovers_a_known_slope():
    rng = np.random.default_rng(5)
    x = monthly(1000 + np.cumsum(rng.normal(0, 10, 120)))
    m = 2.0 * x + 50 + rng.normal(0, 1, 120)
    r = fc.import_response(x, m)
    assert r["slope"] == pytest.approx(2.0, abs=0.05)
    assert r["ci_low"] < 2.0 < r["ci_high"]
    assert r["corr"] > 0.99
