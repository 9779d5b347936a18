"""Tests for tradelib.analysis.models on small known inputs and simulated data with a known DGP."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats import sandwich_covariance as sw

from tradelib.analysis import models as M


def months(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


# ---------------------------------------------------------------------------- frame builders


def test_align_monthly_inner_outer_and_day_normalisation():
    a = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2020-01-15", "2020-02-15", "2020-03-31"]))
    b = pd.Series([10.0, 20.0, 30.0], index=months("2020-02-01", 3))
    inner = M.align_monthly({"a": a, "b": b})
    assert list(inner.index) == list(months("2020-02-01", 2))
    assert inner.loc["2020-03-01", "a"] == 3.0 and inner.loc["2020-03-01", "b"] == 20.0
    outer = M.align_monthly({"a": a, "b": b}, how="outer")
    assert len(outer) == 4 and np.isnan(outer.loc["2020-01-01", "b"])
    assert np.isnan(outer.loc["2020-04-01", "a"])


def test_align_monthly_fills_gaps_and_rejects_duplicates():
    a = pd.Series([1.0, 3.0], index=pd.to_datetime(["2020-01-01", "2020-03-01"]))
    out = M.align_monthly({"a": a})
    assert len(out) == 3 and np.isnan(out.loc["2020-02-01", "a"])
    dup = pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-01", "2020-01-20"]))
    with pytest.raises(M.ModelError, match="more than once"):
        M.align_monthly({"dup": dup})
    with pytest.raises(M.ModelError, match="do not overlap"):
        M.align_monthly({"a": a, "b": pd.Series([1.0], index=months("2021-01-01", 1))})


def test_log_change_known_values_and_gaps():
    s = pd.Series(np.exp(0.01 * np.arange(30)), index=months("2019-01-01", 30), name="x")
    d = M.log_change(s, 12)
    assert d.iloc[:12].isna().all()
    np.testing.assert_allclose(d.iloc[12:].to_numpy(), 0.12, atol=1e-12)
    # zero (Census "unpublished") and a missing month both give NaN, and a gap stays a gap
    s2 = pd.Series(
        [1.0, 0.0, 2.0, 4.0],
        index=pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-05-01"]),
        name="y",
    )
    d2 = M.log_change(s2, 1)
    assert np.isnan(d2.loc["2020-02-01"]) and np.isnan(d2.loc["2020-03-01"])
    assert np.isnan(d2.loc["2020-04-01"]) and np.isnan(d2.loc["2020-05-01"])
    d3 = M.log_change(s2, 2)
    assert d3.loc["2020-03-01"] == pytest.approx(np.log(2.0))
    assert d3.loc["2020-05-01"] == pytest.approx(np.log(2.0))


def test_log1p_rate_change_and_percent_guard():
    tau = pd.Series([0.0] * 12 + [0.25] * 3, index=months("2018-01-01", 15), name="tau")
    d = M.log1p_rate_change(tau, 12)
    assert d.iloc[12] == pytest.approx(np.log(1.25))
    with pytest.raises(M.ModelError, match="percentage"):
        M.log1p_rate_change(tau * 100, 12)


def test_growth_frame_mixes_logs_and_rates():
    idx = months("2010-01-01", 26)
    levels = pd.DataFrame(
        {"m": np.exp(0.02 * np.arange(26)), "tau": np.linspace(0, 0.1, 26)}, index=idx
    )
    g = M.growth_frame(levels, rate_columns=["tau"])
    assert len(g) == 14 and g.index[0] == pd.Timestamp("2011-01-01")
    np.testing.assert_allclose(g["m"], 0.24)
    expected = np.log1p(levels["tau"]).diff(12).dropna()
    np.testing.assert_allclose(g["tau"].to_numpy(), expected.to_numpy())
    assert g.attrs["sample"] == "2011-01 to 2012-02"
    assert len(M.growth_frame(levels, start="2011-06-01", end="2011-08-01")) == 3
    with pytest.raises(M.ModelError, match="not in the table"):
        M.growth_frame(levels, rate_columns=["nope"])


def test_panel_frame_merges_regressor_and_fills_zero():
    idx = months("2017-01-01", 14)
    values = pd.concat(
        [
            pd.DataFrame({"date": idx, "section": s, "imports_usd": v * np.ones(14)})
            for s, v in [("A", 100.0), ("B", 50.0)]
        ],
        ignore_index=True,
    )
    values.loc[(values["section"] == "A") & (values["date"] >= "2018-01-01"), "imports_usd"] = 200.0
    reg = pd.DataFrame({"date": idx[12:], "section": "A", "exposure": 0.25})
    p = M.panel_frame(values, reg)
    assert set(p["section"]) == {"A", "B"} and len(p) == 4  # 2 months with a 12-month base each
    a = p[p["section"] == "A"].set_index("date")
    b = p[p["section"] == "B"].set_index("date")
    assert a.loc["2018-01-01", "dlog"] == pytest.approx(np.log(2.0))
    assert a.loc["2018-01-01", "d_rate"] == pytest.approx(np.log(1.25))
    assert b["d_rate"].eq(0).all() and b["dlog"].eq(0).all()
    assert list(a["month"]) == [1, 2]
    with pytest.raises(M.ModelError, match="lacks columns"):
        M.panel_frame(values.drop(columns="imports_usd"))


def test_share_frame_and_group_log_ratio():
    idx = months("2018-01-01", 2)
    rows = []
    for code, name, vals in [
        ("2010", "Mexico", [20.0, 30.0]),
        ("5700", "China", [30.0, 20.0]),
        ("0015", "World", [100.0, 100.0]),
    ]:
        for d, v in zip(idx, vals):
            rows.append(
                {
                    "date": d,
                    "partner_code": code,
                    "partner": name,
                    "flow": "imports",
                    "value_musd": v,
                }
            )
    trade = pd.DataFrame(rows)
    sh = M.share_frame(trade)
    assert sh.loc["2018-01-01", "Mexico"] == pytest.approx(0.2)
    assert sh.loc["2018-02-01", "China"] == pytest.approx(0.2)
    assert sh.loc["2018-01-01", "Rest of world"] == pytest.approx(0.5)
    assert sh["world"].eq(100).all()
    with pytest.raises(M.ModelError, match="world code"):
        M.share_frame(trade[trade["partner_code"] != "0015"])

    vals = pd.DataFrame(
        {
            "date": list(idx) * 3,
            "section": ["A"] * 2 + ["B"] * 2 + ["C"] * 2,
            "imports_usd": [10.0, 20.0, 5.0, 5.0, 5.0, 15.0],
        }
    )
    r = M.group_log_ratio(vals, ["A"])
    assert r.iloc[0] == pytest.approx(0.0) and r.iloc[1] == pytest.approx(0.0)
    r2 = M.group_log_ratio(vals, ["A", "B"])
    assert r2.iloc[0] == pytest.approx(np.log(15 / 5))
    with pytest.raises(M.ModelError, match="proper subset"):
        M.group_log_ratio(vals, ["A", "B", "C"])


# ---------------------------------------------------------------------------- time series


def test_hac_lags_rule():
    assert M.hac_lags(220) == 12  # overlap binds for monthly samples of typical length
    assert M.hac_lags(100_000) == int(np.floor(4 * 1000 ** (2 / 9)))  # plug-in binds
    assert M.hac_lags(50, overlap=1) == 3


def simulate_ts(T: int = 600, seed: int = 1) -> pd.DataFrame:
    """y = 0.5 + 1.5 x1 - 0.8 x2 + u; x1 AR(1), x2 = 0.6 x1 + AR(1), u MA(11) (overlaps)."""
    rng = np.random.default_rng(seed)
    x1 = np.zeros(T)
    x2 = np.zeros(T)
    for t in range(1, T):
        x1[t] = 0.7 * x1[t - 1] + rng.normal()
        x2[t] = 0.5 * x2[t - 1] + rng.normal()
    x2 = x2 + 0.6 * x1
    e = rng.normal(size=T + 11)
    u = np.convolve(e, np.ones(12) / 3, mode="valid")
    y = 0.5 + 1.5 * x1 - 0.8 * x2 + u
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}, index=months("1970-01-01", T))


def test_fit_ols_hac_recovers_known_coefficients():
    df = simulate_ts()
    res = M.fit_ols_hac(df, "y", ["x1", "x2"])
    assert res.hac_lags == 12
    tol = 0.15  # ~4 HAC standard errors; the slopes differ by 2.3, so a swap fails
    assert abs(res.params["x1"] - 1.5) < tol
    assert abs(res.params["x2"] + 0.8) < tol
    # a wrong estimator misses the tolerance: omitting the correlated x2 biases x1 by ~ -0.48
    short = M.fit_ols_hac(df, "y", ["x1"])
    assert abs(short.params["x1"] - 1.5) > tol


def newey_west_manual(X: np.ndarray, u: np.ndarray, L: int) -> np.ndarray:
    """Textbook Newey–West covariance with Bartlett weights and T/(T-K) correction."""
    T, K = X.shape
    Xu = X * u[:, None]
    S = Xu.T @ Xu
    for j in range(1, L + 1):
        w = 1 - j / (L + 1)
        G = Xu[j:].T @ Xu[:-j]
        S += w * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return B @ S @ B * T / (T - K)


def test_hac_standard_errors_match_statsmodels_and_textbook_formula():
    df = simulate_ts(T=300, seed=7)
    res = M.fit_ols_hac(df, "y", ["x1", "x2"], lags=15)
    X = sm.add_constant(df[["x1", "x2"]])
    ref = sm.OLS(df["y"], X).fit(cov_type="HAC", cov_kwds={"maxlags": 15, "use_correction": True})
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-10)
    manual = newey_west_manual(X.to_numpy(), ref.resid.to_numpy(), 15)
    np.testing.assert_allclose(res.bse.to_numpy(), np.sqrt(np.diag(manual)), rtol=1e-10)
    # HAC errors are larger than naive ones under MA(11) errors
    naive = sm.OLS(df["y"], X).fit()
    assert res.bse["x1"] > 1.3 * naive.bse["x1"]


def test_tidy_columns_and_t_critical_values():
    df = simulate_ts(T=120, seed=3)
    res = M.fit_ols_hac(df, "y", ["x1", "x2"])
    tab = M.tidy(res, model="ts")
    assert list(tab["term"]) == ["x1", "x2"]
    assert {"estimate", "se", "ci_low", "ci_high", "n", "sample", "se_type"} <= set(tab.columns)
    crit = stats.t.ppf(0.975, res.df_resid)
    np.testing.assert_allclose(tab["ci_high"] - tab["estimate"], crit * tab["se"])
    assert tab["n"].iloc[0] == 120 and tab["sample"].iloc[0] == "1970-01 to 1979-12"
    assert tab["se_type"].iloc[0] == "Newey–West (12 lags)"
    with pytest.raises(M.ModelError, match="not in the model"):
        M.tidy(res, terms=["x9"])


def test_elasticity_effect():
    assert M.elasticity_effect(0.5, 0.10) == pytest.approx(1.1**0.5 - 1)
    assert M.elasticity_effect(-1.0, 0.10) == pytest.approx(1 / 1.1 - 1)


# ---------------------------------------------------------------------------- panel


def simulate_panel(G: int = 20, T: int = 60, beta: float = -2.0, seed: int = 0) -> pd.DataFrame:
    """y_it = a_i + d_t + beta x_it + e_it with x correlated with a_i and d_t (FE needed)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=G)
    d = rng.normal(size=T)
    rows = []
    for i in range(G):
        for t in range(T):
            x = 0.8 * a[i] + 0.8 * d[t] + rng.normal()
            e = rng.normal() * (1 + 0.5 * (i % 3))
            rows.append((f"s{i:02d}", t, x, a[i] + d[t] + beta * x + e))
    df = pd.DataFrame(rows, columns=["section", "t", "x", "y"])
    df["date"] = months("2010-01-01", T)[df["t"].to_numpy()]
    return df


def test_panel_fe_recovers_beta_where_pooled_ols_fails():
    df = simulate_panel()
    res = M.fit_panel_fe(df, "y", ["x"])
    assert abs(res.params["x"] + 2.0) < 0.1
    pooled = sm.OLS(df["y"], sm.add_constant(df[["x"]])).fit()
    assert abs(pooled.params["x"] + 2.0) > 0.3  # omitted FE bias: the wrong estimator misses


def test_cluster_se_matches_statsmodels_and_uses_t_g_minus_1():
    df = simulate_panel(G=12, T=30, seed=5)
    res = M.fit_panel_fe(df, "y", ["x"], cov="cluster")
    X = pd.concat(
        [
            sm.add_constant(df[["x"]]),
            pd.get_dummies(df["section"], drop_first=True, dtype=float),
            pd.get_dummies(df["t"].astype(str), drop_first=True, dtype=float),
        ],
        axis=1,
    )
    ols = sm.OLS(df["y"], X).fit()
    groups = pd.factorize(df["section"], sort=True)[0]
    ref_cov = sw.cov_cluster(ols, groups, use_correction=True)
    assert res.bse["x"] == pytest.approx(np.sqrt(ref_cov[1, 1]), rel=1e-8)
    assert res.params["x"] == pytest.approx(ols.params["x"], rel=1e-10)
    tab = M.tidy(res, terms=["x"])
    assert tab["df"].iloc[0] == 11
    crit = stats.t.ppf(0.975, 11)
    assert tab["ci_high"].iloc[0] - tab["estimate"].iloc[0] == pytest.approx(crit * res.bse["x"])
    assert res.n_clusters == 12


def test_driscoll_kraay_matches_statsmodels():
    df = simulate_panel(G=10, T=40, seed=9)
    dk = M.fit_panel_fe(df, "y", ["x"], cov="driscoll-kraay", lags=6)
    data = df.sort_values(["section", "date"]).reset_index(drop=True)
    X = M._fe_design(data, ["x"], ["section", "date"])
    ols = sm.OLS(data["y"], X).fit()
    tcode = pd.factorize(data["date"], sort=True)[0]
    ref = sw.cov_nw_groupsum(ols, 6, tcode, use_correction="hac")
    assert dk.bse["x"] == pytest.approx(np.sqrt(ref[1, 1]), rel=1e-8)
    assert M.tidy(dk, terms=["x"])["df"].iloc[0] == 39
    cr1 = M.fit_panel_fe(df, "y", ["x"], cov="cluster")
    assert dk.params["x"] == pytest.approx(cr1.params["x"]) and dk.bse["x"] != cr1.bse["x"]
    with pytest.raises(M.ModelError, match="cov must be"):
        M.fit_panel_fe(df, "y", ["x"], cov="hc9")


def test_wild_cluster_bootstrap_t_matches_cr1_and_rejects_only_real_effects():
    df = simulate_panel(G=12, T=24, beta=-2.0, seed=11)
    cr1 = M.fit_panel_fe(df, "y", ["x"], cov="cluster")
    wb = M.wild_cluster_bootstrap(df, "y", ["x"], "x", reps=399, seed=1)
    assert wb["t_stat"] == pytest.approx(cr1.tvalues["x"], rel=1e-6)
    assert wb["p_value"] < 0.01 and wb["n_clusters"] == 12
    null = simulate_panel(G=12, T=24, beta=0.0, seed=11)
    wb0 = M.wild_cluster_bootstrap(null, "y", ["x"], "x", reps=399, seed=1)
    assert wb0["p_value"] > 0.05
    w = M.webb_weights(60_000, np.random.default_rng(0))
    assert abs(w.mean()) < 0.02 and abs(w.var() - 1) < 0.02 and len(np.unique(w)) == 6


# ---------------------------------------------------------------------------- event studies


def test_event_study_series_finds_step_and_not_before():
    idx = months("2014-01-01", 72)
    rng = np.random.default_rng(2)
    season = np.tile(np.linspace(-0.1, 0.1, 12), 6)
    step = (idx >= "2018-06-01").astype(float) * 0.3
    y = pd.Series(1.0 + season + step + rng.normal(scale=0.02, size=72), index=idx)
    es = M.fit_event_study_series(y, "2018-06-01", window=(-6, 12), pre=36)
    post = es[es["rel_month"] >= 0]
    prior = es[es["rel_month"] < 0]
    assert list(es["rel_month"]) == list(range(-6, 13))
    assert (post["estimate"] - 0.3).abs().max() < 0.08
    assert prior["estimate"].abs().max() < 0.08
    assert (post["ci_low"] > 0).all() and (
        (prior["ci_low"] < 0) & (prior["ci_high"] > 0)
    ).mean() > 0.8
    did = M.fit_did_series(y, "2018-06-01", pre=36, post=12)
    assert did["estimate"].iloc[0] == pytest.approx(0.3, abs=0.03)
    assert did["ci_low"].iloc[0] > 0.2
    assert 0 < did["se_conventional"].iloc[0] < 0.02
    with pytest.raises(M.ModelError, match="at least 24 months"):
        M.fit_event_study_series(y, "2018-06-01", window=(-20, 12), pre=36)


# ---------------------------------------------------------------------------- diagnostics


def test_diagnostics_vif_split_and_influence():
    df = simulate_ts(T=240, seed=4)
    res = M.fit_ols_hac(df, "y", ["x1", "x2"])
    diag = M.diagnostics(res)
    lb = diag[diag["test"] == "Ljung–Box"]
    assert (lb["p_value"] < 1e-6).all()  # MA(11) errors are autocorrelated
    assert set(diag["test"]) >= {"Breusch–Pagan", "CUSUM (OLS residuals)"}

    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    coll = pd.DataFrame({"a": z, "b": z + 0.05 * rng.normal(size=200), "c": rng.normal(size=200)})
    v = M.vif_table(coll, ["a", "b", "c"]).set_index("term")["vif"]
    assert v["a"] > 50 and v["b"] > 50 and v["c"] < 1.2

    # a slope break in 1980 is detected; the stable series is not rejected
    brk = df.copy()
    late = brk.index >= "1980-01-01"
    brk.loc[late, "y"] = brk.loc[late, "y"] + 2.0 * brk.loc[late, "x1"]
    tab, test = M.split_sample(brk, "y", ["x1", "x2"], ["1980-01-01"])
    assert test["p_value"].iloc[0] < 0.01 and len(tab) == 4
    x1 = tab[tab["term"] == "x1"]["estimate"].to_numpy()
    assert x1[1] - x1[0] == pytest.approx(2.0, abs=0.3)
    _, test0 = M.split_sample(df, "y", ["x1", "x2"], ["1980-01-01"])
    assert test0["p_value"].iloc[0] > 0.05

    out = df.copy()
    out.loc["1975-03-01", "y"] += 25.0
    infl = M.influence_table(M.fit_ols_hac(out, "y", ["x1", "x2"]), top=3)
    assert infl["date"].iloc[0] == pd.Timestamp("1975-03-01")


def test_plots_return_figures_with_titles():
    df = simulate_ts(T=120, seed=3)
    tab = M.tidy(M.fit_ols_hac(df, "y", ["x1", "x2"]), model="ts")
    fig = M.coef_plot(tab, title="Test coefficients")
    ax = fig.axes[0]
    assert ax.get_title() == "Test coefficients" and len(ax.get_yticklabels()) == 2
    es = pd.DataFrame(
        {
            "rel_month": [-1, 0, 1],
            "estimate": [0.0, 0.1, 0.2],
            "ci_low": [-0.1, 0.0, 0.1],
            "ci_high": [0.1, 0.2, 0.3],
        }
    )
    fig2 = M.event_study_plot({"a": es, "b": es}, title="ES", colors={"b": "#000000"})
    assert fig2.axes[0].get_title() == "ES" and fig2.axes[0].get_legend() is not None
    assert matplotlib.colors.to_hex(fig2.axes[0].lines[1].get_color()) == "#000000"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_leave_one_unit_out_and_panel_diagnostics():
    df = simulate_panel(G=6, T=30, beta=-2.0, seed=21)
    # make one unit pull the estimate: a huge effect only in s00
    df.loc[df["section"] == "s00", "y"] += -5.0 * df.loc[df["section"] == "s00", "x"]
    lo = M.leave_one_unit_out(df, "y", ["x"], "x", cov="cluster")
    assert len(lo) == 6 and lo["dropped"].iloc[0] == "s00"
    assert lo["change"].iloc[0] > 0.3  # dropping the outlying unit moves beta back up
    res = M.fit_panel_fe(df, "y", ["x"])
    pdg = M.panel_diagnostics(res, df).set_index("test")
    assert abs(pdg.loc["residual autocorrelation, lag 1", "statistic"]) < 0.3  # iid errors
    assert 0 <= pdg.loc["Pesaran CD", "p_value"] <= 1
    with pytest.raises(M.ModelError, match="does not match"):
        M.panel_diagnostics(res, df.iloc[:-5])


def test_fixed_effects_sweep_matches_dummies_on_unbalanced_panel():
    df = simulate_panel(G=8, T=20, seed=31)
    df = df.drop(index=np.random.default_rng(0).choice(len(df), size=25, replace=False))
    res = M.fit_panel_fe(df, "y", ["x"], cov="cluster")
    data = df.sort_values(["section", "date"]).reset_index(drop=True)
    X = M._fe_design(data, ["x"], ["section", "date"])
    ols = sm.OLS(data["y"], X).fit()
    assert res.params["x"] == pytest.approx(ols.params["x"], rel=1e-8)
    np.testing.assert_allclose(res.resid.to_numpy(), ols.resid.to_numpy(), atol=1e-8)
    groups = pd.factorize(data["section"], sort=True)[0]
    ref = sw.cov_cluster(ols, groups, use_correction=True)
    assert res.bse["x"] == pytest.approx(np.sqrt(ref[1, 1]), rel=1e-6)
    assert res.k_fe == X.shape[1] - 1


# ------------------------------------------------------------------- calibrated inference


def _sim_gaps(S: int, *, effect: float = 0.0, seed: int = 0, T: int = 216, rho: float = 0.9):
    """S simulated monthly log-ratio series: AR(1) noise, a random linear trend per series
    (a control group drifting differently), seasonality, and ``effect`` in the last 12 months."""
    rng = np.random.default_rng(seed)
    idx = months("2005-01-01", T)
    e = rng.normal(0, 0.03, (T, S))
    u = np.zeros((T, S))
    for t in range(1, T):
        u[t] = rho * u[t - 1] + e[t]
    y = u + rng.normal(0, 0.002, S) * np.arange(T)[:, None]
    y += 0.05 * np.sin(2 * np.pi * idx.month.to_numpy() / 12)[:, None]
    y[T - 12 :] += effect
    return pd.DataFrame(y, index=idx), idx[T - 12]


def test_placebo_did_matches_fit_did_series_at_every_setting():
    Y, ev = _sim_gaps(1, seed=5)
    s = Y[0]
    for trend in (False, True):
        for skip in (0, 3):
            ref = M.fit_did_series(s, ev, pre=36, post=12, skip=skip, trend=trend).iloc[0]
            tab = M.placebo_did(s, ev, pre=36, post=12, skip=skip, trend=trend)
            got = tab.iloc[-1]
            assert not got["placebo"] and got["date"] == ev
            assert got["estimate"] == pytest.approx(ref["estimate"], rel=1e-9, abs=1e-12)
            assert got["se"] == pytest.approx(ref["se"], rel=1e-8)
            assert got["p_value"] == pytest.approx(ref["p_value"], rel=1e-6, abs=1e-12)
    # placebo windows end before the event; the first has a full pre-period
    assert tab.loc[tab["placebo"], "date"].max() == ev - pd.DateOffset(months=12)
    assert tab["date"].iloc[0] == Y.index[36]
    assert tab.attrs["n_placebo"] == len(tab) - 1


def test_calibrated_test_has_nominal_size_where_conventional_over_rejects():
    Y, ev = _sim_gaps(200, seed=11)
    r = M.placebo_did_many(Y, ev, pre=36, post=12)
    calibrated = (r["calibrated_p"] < 0.05).mean()
    conventional = (r["conventional_p"] < 0.05).mean()
    assert 0.02 <= calibrated <= 0.09
    assert conventional > 0.25  # persistent gaps: Newey–West t tests reject far too often
    assert r["rejection_rate"].mean() > 0.25  # and so they do at placebo dates


def test_calibrated_test_recovers_and_detects_a_known_effect():
    Y, ev = _sim_gaps(200, effect=0.5, seed=12)
    r = M.placebo_did_many(Y, ev, pre=36, post=12)
    assert r["estimate"][-1].mean() == pytest.approx(0.5, abs=0.03)
    assert (r["calibrated_p"] < 0.05).mean() > 0.85


def test_calibrated_pvalue_counts_the_actual_estimate():
    assert M.calibrated_pvalue(3.0, [1, -2, 4, -5]) == pytest.approx(3 / 5)
    assert M.calibrated_pvalue(10.0, np.zeros(19)) == pytest.approx(1 / 20)
    # a placebo distribution centred away from zero is not evidence of an effect
    assert M.calibrated_pvalue(2.7, np.full(50, 7.5)) == 1.0
    with pytest.raises(M.ModelError):
        M.calibrated_pvalue(1.0, [])


def _sim_sections(effect: float, seed: int = 3):
    rng = np.random.default_rng(seed)
    idx = months("2008-01-01", 180)
    T = len(idx)
    common = np.cumsum(rng.normal(0, 0.02, T))
    units = {}
    for j in range(6):
        own = np.cumsum(rng.normal(0, 0.01, T)) + 0.002 * j * np.arange(T)
        units[f"c{j}"] = 5 + common + own
    # treated follows a mix of c1 and c4 (not the simple average), then shifts by `effect`
    tr = 0.6 * units["c1"] + 0.4 * units["c4"] + rng.normal(0, 0.005, T)
    tr[-12:] += effect
    units["t"] = tr
    return pd.DataFrame(units, index=idx), idx[-12]


def test_synthetic_did_weights_and_known_effect():
    wide, ev = _sim_sections(effect=0.2)
    r = M.synthetic_did(wide, ["t"], ev, pre=48, post=12)
    w = r["weights"]
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
    assert len(w) == 6
    assert r["estimate"] == pytest.approx(0.2, abs=0.03)
    pl = M.placebo_synthetic_did(wide, ["t"], ev, pre=48, post=12, step=6)
    assert pl.attrs["calibrated_p"] <= 1 / (1 + pl.attrs["n_placebo"]) + 1e-12
    none = M.placebo_synthetic_did(_sim_sections(effect=0.0)[0], ["t"], ev, pre=48, post=12, step=6)
    assert none.attrs["calibrated_p"] > 0.05


def test_placebo_groups_use_untreated_units_only():
    wide, ev = _sim_sections(effect=0.3)
    long = wide.stack().rename("v").reset_index()
    long.columns = ["date", "section", "v"]
    long["imports_usd"] = np.exp(long["v"])
    out = M.placebo_groups(long, ["t"], ev, pre=36, post=12)
    assert list(out["unit"].iloc[:-1]) == [f"c{j}" for j in range(6)]
    assert out["unit"].iloc[-1] == "treated: t" and not out["placebo"].iloc[-1]
    assert out.attrs["calibrated_p"] == pytest.approx(1 / 7)


@pytest.mark.parametrize(("seed", "beta"), [(4, -0.1), (5, 0.0)])
def test_wild_cluster_bootstrap_matches_wildboottest(seed, beta):
    """The package's own WCR bootstrap against an independent implementation (wildboottest,
    a development dependency): same t statistic, same p-value up to simulation noise."""
    wbt = pytest.importorskip("wildboottest.wildboottest")
    df = simulate_panel(G=8, T=20, beta=beta, seed=seed)
    data = df.sort_values(["section", "date"]).reset_index(drop=True)
    X = M._fe_design(data, ["x"], ["section", "date"])
    ref = wbt.wildboottest(
        sm.OLS(data["y"], X), param="x", cluster=pd.factorize(data["section"], sort=True)[0],
        B=4999, weights_type="webb", seed=1, show=False, parallel=False,
    )
    ours = M.wild_cluster_bootstrap(df, "y", ["x"], "x", reps=4999, seed=7)
    assert ours["t_stat"] == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-8)
    assert ours["p_value"] == pytest.approx(float(ref["p-value"].iloc[0]), abs=0.02)


def test_panel_fit_is_linearmodels_panelols():
    from linearmodels.panel import PanelOLS

    df = simulate_panel(G=10, T=24, seed=2)
    res = M.fit_panel_fe(df, "y", ["x"], cov="cluster")
    d = df.set_index(["section", "date"])
    ref = PanelOLS(d["y"], d[["x"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True
    )
    assert res.params["x"] == pytest.approx(ref.params["x"], rel=1e-10)
    assert res.bse["x"] == pytest.approx(ref.std_errors["x"], rel=1e-10)
    assert res.pvalues["x"] == pytest.approx(2 * stats.t.sf(abs(res.tvalues["x"]), 9))


# ------------------------------------------------------------------- IV with fixed effects


def _sim_iv(beta: float = -2.0, strength: float = 1.0, seed: int = 0, P: int = 300, T: int = 14):
    """Product × month panel: a statutory rate change z (a third of products, from a random
    month) moves the collected rate x; x is endogenous (shares a shock with import growth y)."""
    rng = np.random.default_rng(seed)
    a, d = rng.normal(size=P), rng.normal(size=T)
    rows = []
    for i in range(P):
        z = np.zeros(T)
        if i % 3 == 0:
            z[rng.integers(3, T) :] = rng.choice([0.1, 0.25, 0.5])
        v = rng.normal(0, 0.05, T)
        x = strength * z * rng.uniform(0.2, 0.6) + v + 0.3 * a[i]
        y = a[i] + d + beta * x + rng.normal(0, 0.2, T) + 2 * v
        rows += [(f"p{i}", f"c{i % 30}", t, z[t], x[t], y[t]) for t in range(T)]
    df = pd.DataFrame(rows, columns=["product", "chapter", "t", "z", "x", "y"])
    df["date"] = months("2025-01-01", T)[df["t"].to_numpy()]
    return df


def test_iv_recovers_known_coefficient_and_ar_interval_covers_it():
    df = _sim_iv()
    r = M.fit_iv_fe(df, "y", "x", "z", cluster="chapter")
    assert r["estimate"] == pytest.approx(-2.0, abs=0.25)
    assert r["ci_low"] < -2.0 < r["ci_high"]
    assert r["ar_kind"] == "bounded" and r["ar_low"] < -2.0 < r["ar_high"]
    assert r["first_stage_f"] > 10 and r["n_clusters"] == 30
    ols = M.fit_panel_fe(df, "y", ["x"], unit="product", cov="cluster")
    assert abs(ols.params["x"] + 2.0) > 0.5  # the endogeneity IV removes
    # the 2SLS point estimate is linearmodels' own
    assert r["lm"].params["x"] == pytest.approx(r["estimate"])
    # AR endpoints are where the AR test (y - b0 x on z, FE swept, CR1 by chapter) has |t| = crit
    codes = M._fe_codes(df, ["product", "date"])
    k = 1 + 1 + sum(int(cd.max()) for cd in codes)
    n, G = len(df), 30
    cr1 = G / (G - 1) * (n - 1) / (n - k)
    g = pd.factorize(df["chapter"], sort=True)[0]
    for b0 in (r["ar_low"], r["ar_high"]):
        D = M._demean(np.column_stack([df["y"] - b0 * df["x"], df["z"]]), codes)
        gam = D[:, 0] @ D[:, 1] / (D[:, 1] @ D[:, 1])
        e = D[:, 0] - gam * D[:, 1]
        sc = np.bincount(g, weights=D[:, 1] * e)
        se = np.sqrt(cr1 * sc @ sc) / (D[:, 1] @ D[:, 1])
        assert abs(gam / se) == pytest.approx(stats.t.ppf(0.975, G - 1), rel=1e-6)
    grid = np.linspace(r["ar_low"] - 0.5, r["ar_high"] + 0.5, 41)
    inside = [(r["ar_low"] <= b <= r["ar_high"]) for b in grid]
    assert any(inside) and not all(inside)


def test_weak_instrument_gives_unbounded_ar_set():
    r = M.fit_iv_fe(_sim_iv(strength=0.02, seed=3), "y", "x", "z", cluster="chapter")
    assert r["first_stage_f"] < 10
    assert r["ar_kind"] == "unbounded"


def test_ar_set_quadratic_against_brute_force():
    rng = np.random.default_rng(8)
    R, S = rng.normal(size=12), rng.normal(size=12)
    a, b, c, zz, crit = 0.8, 0.5, 1.1, 3.0, 2.2
    lo, hi, kind = M._ar_set(a, b, R, S, c, zz, crit)

    def accept(beta):
        return (a - beta * b) ** 2 <= crit**2 * c * np.sum((R - beta * S) ** 2) / zz**2

    grid = np.linspace(-50, 50, 20001)
    acc = np.array([accept(g) for g in grid])
    if kind == "bounded":
        assert acc[(grid > lo + 1e-6) & (grid < hi - 1e-6)].all()
        assert not acc[(grid < lo - 1e-6) | (grid > hi + 1e-6)].any()
    else:
        assert acc[(grid < lo - 1e-6) | (grid > hi + 1e-6)].all()


def test_placebo_event_study_matches_fit_and_calibrates():
    Y, ev = _sim_gaps(1, seed=21, effect=0.4)
    s = Y[0]
    es = M.fit_event_study_series(s, ev, window=(-12, 11), pre=48)
    out = M.placebo_event_study(s, ev, window=(-12, 11), pre=48)
    act = out.iloc[-1]
    assert act["post_mean"] == pytest.approx(es.loc[es["rel_month"] >= 0, "estimate"].mean())
    assert act["pre_mean"] == pytest.approx(es.loc[es["rel_month"] < 0, "estimate"].mean())
    assert out.attrs["calibrated_p"] < 0.05  # a 0.4 shift is detected
    assert out.attrs["calibrated_p_pre"] > 0.05  # and nothing happened before it
    assert out.loc[out["placebo"], "date"].max() <= ev - pd.DateOffset(months=12)


def test_product_panel_balanced_logs_and_lead():
    d = months("2025-01-01", 4)
    rows = []
    for p, vals, rates in [
        ("7208100000", [10.0, 12.0, 8.0, 9.0], [0, 25, 50, 50]),
        ("8703230000", [5.0, 0.0, 6.0, 7.0], [0, 0, 25, 25]),  # a zero month: dropped
        ("0702000000", [3.0, 3.0, 3.0, 3.0], [0, 0, 0, 17.09]),
    ]:
        rows += [(p, dt, v, r, r / 2) for dt, v, r in zip(d, vals, rates)]
    pr = pd.DataFrame(rows, columns=["hts10", "date", "imports_cons_usd", "statutory_pct", "expected_pct"])
    out = M.product_panel(pr, leads=2)
    assert set(out["hts10"]) == {"7208100000", "0702000000"}
    assert out.attrs["value_share"] == pytest.approx((39 + 12) / (39 + 18 + 12))
    steel = out[out["hts10"] == "7208100000"].reset_index(drop=True)
    assert steel["hs2"].iloc[0] == "72"
    assert steel["ln1p_statutory"].iloc[2] == pytest.approx(np.log(1.5))
    assert steel["ln1p_expected"].iloc[2] == pytest.approx(np.log(1.25))
    assert steel["lead_statutory"].iloc[0] == pytest.approx(np.log(1.5))
    assert np.isnan(steel["lead_statutory"].iloc[3])
    assert steel["ln_imports"].iloc[1] == pytest.approx(np.log(12.0))


def test_section_rates_fixed_chapter_weights():
    d = months("2018-05-01", 2)
    ch = pd.DataFrame({
        "date": list(d) * 3,
        "hs2": ["72", "72", "73", "73", "07", "07"],
        "section": ["Base Metals"] * 4 + ["Vegetables"] * 2,
        "statutory_pct": [0, 25, 0, 10, 0, 0],
    })
    annual = pd.DataFrame({"year": [2017] * 3 + [2016], "country": ["Mexico"] * 4,
                           "hs2": ["72", "73", "07", "72"], "imports_usd": [3.0, 1.0, 5.0, 100.0]})
    out = M.section_rates(ch, annual, weight_year=2017).set_index(["section", "date"])
    assert out.loc[("Base Metals", d[1]), "exposure"] == pytest.approx((0.25 * 3 + 0.10 * 1) / 4)
    assert out.loc[("Base Metals", d[0]), "exposure"] == 0.0
    assert out.loc[("Vegetables", d[1]), "exposure"] == 0.0
    with pytest.raises(M.ModelError, match="no Mexico imports"):
        M.section_rates(ch, annual, weight_year=2010)


def test_placebo_plot_panels():
    Y, ev = _sim_gaps(1, seed=2)
    tabs = {f"t{i}": M.placebo_did(Y[0], ev, pre=36, post=12) for i in range(4)}
    fig = M.placebo_plot(tabs, title="Placebos")
    axes = [a for a in fig.axes if a.get_visible()]
    assert len(axes) == 4 and "calibrated p" in axes[0].get_title()
    assert fig._suptitle.get_text() == "Placebos"


@pytest.mark.parametrize("cov", ["cluster", "driscoll-kraay"])
def test_fast_panel_slopes_equal_linearmodels_fit(cov):
    df = simulate_panel(G=7, T=30, seed=41)
    df = df.drop(index=np.random.default_rng(1).choice(len(df), size=9, replace=False))
    ref = M.fit_panel_fe(df, "y", ["x"], cov=cov, lags=5)
    b, se = M._panel_slopes(df, "y", ["x"], "section", "date", cov, 5)
    assert b[0] == pytest.approx(ref.params["x"], rel=1e-9)
    assert se[0] == pytest.approx(ref.bse["x"], rel=1e-7)
