"""Backtests, forecast metrics, forecasts with prediction intervals and scenario paths.

The module works on monthly ``pd.Series`` indexed by month-start dates (as returned by the
``tradelib`` loaders after a pivot). It has four parts:

* **Backtesting.** :func:`rolling_origin_splits` cuts a series into (training window, test
  window) pairs whose training part ends strictly before the test part starts;
  :func:`backtest` runs forecasters on those windows, handing each one a *copy* of the
  training data only, so a forecaster cannot see the future even by accident.
* **Metrics.** :func:`mae`, :func:`rmse`, :func:`smape` and :func:`mase` (scaled by the
  in-sample seasonal-naive error, Hyndman & Koehler 2006), and :func:`score_backtest`.
* **Models.** :func:`seasonal_naive` (the benchmark), :func:`forecast_sarimax` and
  :func:`forecast_ets` (statsmodels, with prediction intervals), plus small factories that turn
  them into backtest forecasters.
* **Scenarios.** :class:`Scenario` and :func:`scenario_path` shift a baseline forecast of
  exports and imports by growth, tariff and exchange-rate shocks (zero shocks give back the
  baseline exactly); :func:`annual_totals`, :func:`extend_annual` and :func:`exports_needed`
  answer "how much more would the US have to export to halve or close the deficit by 2030?".
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradelib.errors import TradelibError


def _single_thread() -> Any:
    """Limit BLAS/OpenMP to one thread while fitting.

    State-space and exponential-smoothing fits multiply tiny matrices thousands of times; extra
    BLAS threads only add overhead (ten times slower on a busy two-core machine).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


__all__ = [
    "ExportsNeeded",
    "ForecastError",
    "Scenario",
    "Split",
    "annual_totals",
    "ar_seasonal_difference_forecast",
    "ar_seasonal_difference_forecaster",
    "backtest",
    "calendar_year_backtest",
    "combine_forecasts",
    "difference_backtest",
    "drift_forecast",
    "drift_forecaster",
    "empirical_interval",
    "ets_forecaster",
    "ets_grid_forecast",
    "ets_grid_forecaster",
    "exports_needed",
    "extend_annual",
    "extra_exports_for",
    "forecast_ets",
    "forecast_sarimax",
    "future_index",
    "hw_additive_filter",
    "import_response",
    "log_linear_slope",
    "mae",
    "mase",
    "mase_scale",
    "mean_forecaster",
    "paired_backtest",
    "params_on_bounds",
    "path_quantiles",
    "period_interval",
    "rmse",
    "rolling_origin_splits",
    "sarimax_forecaster",
    "scenario_path",
    "scenario_paths",
    "score_backtest",
    "score_totals",
    "seasonal_naive",
    "seasonal_naive_forecaster",
    "sequential_coverage",
    "simulate_paired_ets",
    "simulate_paths",
    "smape",
    "tariff_import_change",
    "tariff_semi_elasticity",
    "trend_growth",
    "window_totals",
    "year_ahead_window",
    "year_total_forecast",
]

Forecaster = Callable[[pd.Series, int], "pd.Series | np.ndarray | Sequence[float]"]


class ForecastError(TradelibError):
    """A forecasting input is unusable (wrong index, too short, missing values, bad option)."""


# --------------------------------------------------------------------------------------------
# Index helpers
# --------------------------------------------------------------------------------------------


def _check_monthly(series: pd.Series, name: str = "series", allow_nan: bool = False) -> pd.Series:
    """Return ``series`` as float with a month-start ``DatetimeIndex`` (freq ``MS``), or raise.

    Raises :class:`ForecastError` naming what is wrong when the index is not a gap-free run of
    month starts, or when values are missing and ``allow_nan`` is false.
    """
    if not isinstance(series, pd.Series):
        raise ForecastError(f"{name}: expected a pandas Series, got {type(series).__name__}.")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ForecastError(
            f"{name}: the index must be a DatetimeIndex of month starts; got "
            f"{type(series.index).__name__}. Pivot the loader output so 'date' is the index."
        )
    if len(series) == 0:
        raise ForecastError(f"{name}: the series is empty.")
    idx = series.index
    if not (idx.day == 1).all() or not idx.is_monotonic_increasing:
        raise ForecastError(f"{name}: dates must be increasing month starts (day 1).")
    ym = np.asarray(idx.year, dtype="int64") * 12 + np.asarray(idx.month, dtype="int64")
    if len(ym) > 1 and not (np.diff(ym) == 1).all():
        raise ForecastError(
            f"{name}: the months are not consecutive (gap or duplicate between {idx[0]:%Y-%m} "
            f"and {idx[-1]:%Y-%m}). Reindex to every month and decide how to treat the gap."
        )
    values = series.astype("float64")
    if not allow_nan and values.isna().any():
        bad = values.index[values.isna()]
        raise ForecastError(
            f"{name}: {len(bad)} missing value(s), first at {bad[0]:%Y-%m}. Trim the series to "
            "published months (e.g. series.loc[:last_published]) before forecasting."
        )
    expected = idx if idx.freq == "MS" else pd.DatetimeIndex(idx.to_numpy(), freq="MS")
    out = pd.Series(values.to_numpy(), index=expected, name=series.name)
    return out


def future_index(last: pd.Timestamp | str, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` month starts that follow month ``last``."""
    if horizon < 1:
        raise ForecastError(f"horizon must be at least 1 month, got {horizon}.")
    t = pd.Timestamp(last)
    return _future_index(t.year, t.month, int(horizon))


@functools.lru_cache(maxsize=4096)
def _future_index(year: int, month: int, horizon: int) -> pd.DatetimeIndex:
    """Cached :func:`future_index` (an index is immutable, so sharing it is safe)."""
    start = pd.Timestamp(year=year, month=month, day=1) + pd.DateOffset(months=1)
    return pd.date_range(start, periods=horizon, freq="MS")


def months_between(start: pd.Timestamp | str, end: pd.Timestamp | str) -> int:
    """Number of months from ``start`` to ``end`` (``end`` minus ``start``; may be negative)."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    return (e.year - s.year) * 12 + (e.month - s.month)


# --------------------------------------------------------------------------------------------
# Backtesting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One rolling-origin split: train on ``train`` (ending at ``origin``), forecast ``test``."""

    origin: pd.Timestamp
    train: pd.DatetimeIndex
    test: pd.DatetimeIndex


def rolling_origin_splits(
    index: pd.DatetimeIndex,
    *,
    horizon: int,
    initial: int | str | pd.Timestamp,
    step: int = 1,
    last_origin: str | pd.Timestamp | None = None,
    window: int | None = None,
) -> list[Split]:
    """Rolling-origin (time-series cross-validation) splits of a monthly index.

    ``initial`` is the first forecast origin: either the number of training months or the last
    training month as a date. Each following origin moves ``step`` months forward. ``test`` is
    always the ``horizon`` months right after the origin; origins whose test window would run
    past the end of the data are dropped. ``window`` keeps only the last ``window`` months of
    training data (a sliding rather than expanding window). Every split satisfies
    ``train.max() < test.min()`` by construction.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise ForecastError("rolling_origin_splits: index must be a DatetimeIndex.")
    if horizon < 1 or step < 1:
        raise ForecastError(f"horizon and step must be >= 1 (got {horizon}, {step}).")
    n = len(index)
    if isinstance(initial, (int, np.integer)):
        first = int(initial) - 1
    else:
        first = int(index.searchsorted(pd.Timestamp(initial), side="right")) - 1
    if first < 0:
        raise ForecastError(f"rolling_origin_splits: initial={initial!r} leaves no training data.")
    last = n - horizon - 1
    if last_origin is not None:
        last = min(last, int(index.searchsorted(pd.Timestamp(last_origin), side="right")) - 1)
    if first > last:
        raise ForecastError(
            f"rolling_origin_splits: no origin fits (initial={initial!r}, horizon={horizon}, "
            f"{n} months). Use a smaller initial window or horizon."
        )
    splits = []
    for o in range(first, last + 1, step):
        lo = 0 if window is None else max(0, o + 1 - window)
        splits.append(
            Split(origin=index[o], train=index[lo : o + 1], test=index[o + 1 : o + 1 + horizon])
        )
    return splits


def backtest(
    series: pd.Series,
    forecasters: Mapping[str, Forecaster],
    *,
    horizon: int,
    initial: int | str | pd.Timestamp,
    step: int = 1,
    last_origin: str | pd.Timestamp | None = None,
    window: int | None = None,
    m: int = 12,
) -> pd.DataFrame:
    """Run each forecaster on rolling-origin splits and return the forecasts beside the actuals.

    Each forecaster is called as ``f(train, horizon)`` where ``train`` is a *copy* of the data up
    to and including the origin (it shares no memory with the full series) and must return
    ``horizon`` values, or a DataFrame with ``mean`` (and optionally ``lower``/``upper``
    prediction bounds, which are kept). The result is long: ``model, origin, date, h, actual,
    forecast, lower, upper, error, scale``, where ``scale`` is the in-sample seasonal-naive MAE of that training window (the
    MASE denominator), computed from the training window only.
    """
    y = _check_monthly(series, "backtest series")
    splits = rolling_origin_splits(
        y.index, horizon=horizon, initial=initial, step=step, last_origin=last_origin, window=window
    )
    rows: list[pd.DataFrame] = []
    for split in splits:
        lo = y.index.get_loc(split.train[0])
        train_values = y.iloc[lo : lo + len(split.train)]  # a slice keeps the monthly freq
        try:
            scale = mase_scale(train_values, m=m)
        except ForecastError:  # too short or constant: MASE undefined for this origin
            scale = np.nan
        actual = y.loc[split.test].to_numpy()
        for name, f in forecasters.items():
            train = train_values.copy(deep=True)
            raw = f(train, len(split.test))
            lower = upper = np.full(len(split.test), np.nan)
            if isinstance(raw, pd.DataFrame):
                if "mean" not in raw.columns:
                    raise ForecastError(
                        f"forecaster {name!r} returned a DataFrame without a 'mean' column."
                    )
                if {"lower", "upper"} <= set(raw.columns):
                    lower = raw["lower"].to_numpy(dtype="float64")
                    upper = raw["upper"].to_numpy(dtype="float64")
                raw = raw["mean"]
            pred = np.asarray(raw, dtype="float64").ravel()
            if pred.shape[0] != len(split.test):
                raise ForecastError(
                    f"forecaster {name!r} returned {pred.shape[0]} values for a "
                    f"{len(split.test)}-month horizon at origin {split.origin:%Y-%m}."
                )
            rows.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "origin": split.origin,
                        "date": split.test,
                        "h": np.arange(1, len(split.test) + 1),
                        "actual": actual,
                        "forecast": pred,
                        "lower": lower,
                        "upper": upper,
                        "scale": scale,
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    out["error"] = out["forecast"] - out["actual"]
    out["model"] = out["model"].astype("string")
    return out


def difference_backtest(
    minuend: pd.DataFrame,
    subtrahend: pd.DataFrame,
    target: pd.DataFrame,
    *,
    models: tuple[str, str],
    name: str,
) -> pd.DataFrame:
    """Backtest of a difference (e.g. balance = exports - imports) built from two backtests.

    ``minuend`` and ``subtrahend`` are :func:`backtest` results for the two components and
    ``models`` names the model taken from each; ``target`` is a backtest of the difference
    itself (any model), which supplies the actuals and the MASE scale for the same origins and
    months. Returns rows in the :func:`backtest` layout under model ``name`` (no interval).
    """
    keys = ["origin", "date"]
    a = minuend.loc[minuend["model"] == models[0]].set_index(keys)["forecast"]
    b = subtrahend.loc[subtrahend["model"] == models[1]].set_index(keys)["forecast"]
    if a.empty or b.empty:
        raise ForecastError(f"difference_backtest: model {models} not found in the backtests.")
    base = target.drop_duplicates(keys).set_index(keys)[["h", "actual", "scale"]]
    diff = (a - b).dropna().rename("forecast")
    out = base.join(diff, how="inner")
    if len(out) != len(base):
        raise ForecastError(
            "difference_backtest: the component backtests do not cover the same origins and "
            "months as the target; run them with the same horizon, initial origin and step."
        )
    out = out.reset_index()
    out.insert(0, "model", pd.array([name] * len(out), dtype="string"))
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["error"] = out["forecast"] - out["actual"]
    return out[list(target.columns)]


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _pair(actual: object, forecast: object) -> tuple[np.ndarray, np.ndarray]:
    """Aligned float arrays of equal length, or :class:`ForecastError`."""
    a = np.asarray(actual, dtype="float64").ravel()
    f = np.asarray(forecast, dtype="float64").ravel()
    if a.shape != f.shape:
        raise ForecastError(f"actual and forecast lengths differ ({a.size} vs {f.size}).")
    if a.size == 0:
        raise ForecastError("metrics need at least one actual/forecast pair.")
    return a, f


def mae(actual: object, forecast: object) -> float:
    """Mean absolute error."""
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(f - a)))


def rmse(actual: object, forecast: object) -> float:
    """Root mean squared error."""
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((f - a) ** 2)))


def smape(actual: object, forecast: object) -> float:
    """Symmetric mean absolute percentage error, in percent (0..200).

    ``100 * mean(2 |F - A| / (|A| + |F|))``; a pair with ``A = F = 0`` counts as zero error.
    Absolute values in the denominator keep it defined for negative series such as a balance.
    """
    a, f = _pair(actual, forecast)
    denom = np.abs(a) + np.abs(f)
    num = 2.0 * np.abs(f - a)
    ratio = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def mase_scale(insample: object, m: int = 12) -> float:
    """In-sample MAE of the seasonal-naive forecast ``y[t-m]`` (the MASE denominator)."""
    y = np.asarray(insample, dtype="float64").ravel()
    if y.size <= m:
        raise ForecastError(f"MASE scale needs more than m={m} in-sample values, got {y.size}.")
    d = np.abs(y[m:] - y[:-m])
    d = d[~np.isnan(d)]
    if d.size == 0 or np.all(d == 0):
        raise ForecastError("MASE scale is zero or undefined (the in-sample series is constant).")
    return float(np.mean(d))


def mase(actual: object, forecast: object, insample: object, m: int = 12) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample seasonal-naive MAE.

    Below 1 means the forecast beats the in-sample seasonal-naive benchmark.
    """
    return mae(actual, forecast) / mase_scale(insample, m=m)


def _coverage(g: pd.DataFrame) -> float:
    """Share of actuals within ``lower``..``upper`` (NaN when there are no bounds)."""
    if not {"lower", "upper"} <= set(g.columns):
        return float("nan")
    ok = g["lower"].notna() & g["upper"].notna()
    if not ok.any():
        return float("nan")
    inside = (g.loc[ok, "actual"] >= g.loc[ok, "lower"]) & (
        g.loc[ok, "actual"] <= g.loc[ok, "upper"]
    )
    return float(inside.mean())


def score_backtest(results: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Score :func:`backtest` output: ``n, MAE, RMSE, sMAPE, MASE, coverage`` per group in ``by``.

    MASE divides each absolute error by the scale of its own training window (no future data in
    the scale), then averages. ``coverage`` is the share of actuals inside the stored prediction
    bounds (NaN for models without bounds).
    """
    needed = {"actual", "forecast", "scale", *by}
    missing = needed - set(results.columns)
    if missing:
        raise ForecastError(
            f"score_backtest: columns {sorted(missing)} are missing; "
            "pass the output of tradelib.analysis.forecast.backtest."
        )

    def _one(g: pd.DataFrame) -> pd.Series:
        a, f = g["actual"].to_numpy(), g["forecast"].to_numpy()
        return pd.Series(
            {
                "n": float(len(g)),
                "MAE": mae(a, f),
                "RMSE": rmse(a, f),
                "sMAPE": smape(a, f),
                "MASE": float(np.mean(np.abs(f - a) / g["scale"].to_numpy())),
                "coverage": _coverage(g),
            }
        )

    keys = list(by)
    records = []
    for k, g in results.groupby(keys, sort=True, observed=True):
        labels = k if isinstance(k, tuple) else (k,)
        records.append({**dict(zip(keys, labels)), **_one(g).to_dict()})
    out = pd.DataFrame.from_records(records).set_index(keys)
    out["n"] = out["n"].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def seasonal_naive(train: pd.Series, horizon: int, m: int = 12) -> pd.Series:
    """Seasonal-naive forecast: each future month repeats the same month of the last season."""
    y = _check_monthly(train, "seasonal_naive train")
    if len(y) < m:
        raise ForecastError(f"seasonal_naive needs at least m={m} months, got {len(y)}.")
    last_season = y.to_numpy()[-m:]
    values = np.array([last_season[(h - 1) % m] for h in range(1, horizon + 1)])
    return pd.Series(values, index=future_index(y.index[-1], horizon), name="seasonal naive")


def seasonal_naive_forecaster(m: int = 12) -> Forecaster:
    """A :func:`backtest` forecaster wrapping :func:`seasonal_naive`."""

    def f(train: pd.Series, horizon: int) -> pd.Series:
        return seasonal_naive(train, horizon, m=m)

    return f


def _interval_frame(
    mean: np.ndarray, lower: np.ndarray, upper: np.ndarray, index: pd.DatetimeIndex, log: bool
) -> pd.DataFrame:
    """Assemble ``mean, lower, upper`` (back-transformed from logs when ``log``)."""
    if log:
        mean, lower, upper = np.exp(mean), np.exp(lower), np.exp(upper)
    return pd.DataFrame({"mean": mean, "lower": lower, "upper": upper}, index=index)


def _prepare(series: pd.Series, log: bool, name: str) -> pd.Series:
    """Validate and optionally log-transform a series (logs need positive values)."""
    y = _check_monthly(series, name)
    if log:
        if (y <= 0).any():
            raise ForecastError(
                f"{name}: log=True needs positive values; use log=False for a "
                "balance (which can be negative)."
            )
        y = np.log(y)
    return y


def _align_exog(
    exog: pd.DataFrame | pd.Series | None, index: pd.DatetimeIndex, what: str
) -> pd.DataFrame | None:
    """Exogenous regressors reindexed to ``index``; raise if any needed value is missing."""
    if exog is None:
        return None
    x = exog.to_frame() if isinstance(exog, pd.Series) else exog
    x = x.reindex(index).astype("float64")
    if x.isna().any().any():
        raise ForecastError(
            f"{what}: exogenous regressors are missing for some months "
            f"between {index[0]:%Y-%m} and {index[-1]:%Y-%m}; supply a value "
            "(an assumed path) for every forecast month."
        )
    x.index = pd.DatetimeIndex(index, freq="MS")
    return x


@dataclass
class FitInfo:
    """What happened during estimation: convergence and any warnings statsmodels raised."""

    converged: bool = True
    messages: list[str] = field(default_factory=list)


def forecast_sarimax(
    series: pd.Series,
    horizon: int,
    *,
    order: tuple[int, int, int] = (1, 0, 0),
    seasonal_order: tuple[int, int, int, int] = (0, 1, 1, 12),
    trend: str | None = "c",
    log: bool = False,
    exog: pd.DataFrame | pd.Series | None = None,
    future_exog: pd.DataFrame | pd.Series | None = None,
    alpha: float = 0.05,
    return_result: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, object, FitInfo]:
    """Fit a SARIMAX model by maximum likelihood and forecast ``horizon`` months ahead.

    Returns a frame indexed by the forecast months with ``mean, lower, upper`` (a
    ``1 - alpha`` prediction interval from the Gaussian state-space forecast variance, which
    includes shock uncertainty but not parameter uncertainty). With ``log=True`` the model is
    fitted to ``log(series)`` and the results are exponentiated, so ``mean`` is then the median
    forecast. ``exog`` holds regressors over the sample and ``future_exog`` their assumed path.
    With ``return_result=True`` also returns the statsmodels results and a :class:`FitInfo`.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = _prepare(series, log, "forecast_sarimax series")
    x = _align_exog(exog, y.index, "forecast_sarimax exog")
    fidx = future_index(y.index[-1], horizon)
    fx = _align_exog(future_exog, fidx, "forecast_sarimax future_exog") if x is not None else None
    info = FitInfo()
    with _single_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SARIMAX(y, exog=x, order=order, seasonal_order=seasonal_order, trend=trend)
        res = model.fit(disp=False, maxiter=200)
        fc = res.get_forecast(steps=horizon, exog=fx)
        frame = fc.summary_frame(alpha=alpha)
    info.converged = bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True
    info.messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    out = _interval_frame(
        frame["mean"].to_numpy(),
        frame["mean_ci_lower"].to_numpy(),
        frame["mean_ci_upper"].to_numpy(),
        fidx,
        log,
    )
    if return_result:
        return out, res, info
    return out


def sarimax_forecaster(**kwargs: object) -> Forecaster:
    """A :func:`backtest` forecaster returning the SARIMAX forecast with its interval (no exog)."""

    def f(train: pd.Series, horizon: int) -> pd.DataFrame:
        return forecast_sarimax(train, horizon, **kwargs)

    return f


def forecast_ets(
    series: pd.Series,
    horizon: int,
    *,
    trend: str | None = "add",
    damped_trend: bool = True,
    seasonal: str | None = "add",
    seasonal_periods: int = 12,
    log: bool = False,
    alpha: float = 0.05,
    return_result: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, object, FitInfo]:
    """Fit an additive-error ETS model (statsmodels ``ETSModel``) and forecast with intervals.

    Returns ``mean, lower, upper`` like :func:`forecast_sarimax`. ``log=True`` fits the model to
    logs (a multiplicative model in levels) and exponentiates the results.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = _prepare(series, log, "forecast_ets series")
    fidx = future_index(y.index[-1], horizon)
    info = FitInfo()
    with _single_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ETSModel(
            y,
            error="add",
            trend=trend,
            damped_trend=damped_trend if trend else False,
            seasonal=seasonal,
            seasonal_periods=seasonal_periods if seasonal else None,
        )
        res = model.fit(disp=False, maxiter=500)
        pred = res.get_prediction(start=len(y), end=len(y) + horizon - 1)
        frame = pred.summary_frame(alpha=alpha)
    info.converged = bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True
    info.messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    out = _interval_frame(
        frame["mean"].to_numpy(),
        frame["pi_lower"].to_numpy(),
        frame["pi_upper"].to_numpy(),
        fidx,
        log,
    )
    if return_result:
        return out, res, info
    return out


def ets_forecaster(**kwargs: object) -> Forecaster:
    """A :func:`backtest` forecaster returning the ETS forecast with its interval."""

    def f(train: pd.Series, horizon: int) -> pd.DataFrame:
        return forecast_ets(train, horizon, **kwargs)

    return f


def simulate_paths(
    series: pd.Series,
    horizon: int,
    *,
    method: str = "sarimax",
    n_paths: int = 1000,
    seed: int = 0,
    log: bool = False,
    **kwargs: object,
) -> pd.DataFrame:
    """Simulated future paths (months x paths) from a fitted SARIMAX or ETS model.

    Shocks are drawn from the fitted model's Gaussian innovations, starting after the last
    observation; parameters are held at their estimates (parameter uncertainty is not
    included). With ``log=True`` the model is fitted to logs and paths are exponentiated.
    Sums of paths over months give intervals for totals such as a calendar year (see
    :func:`period_interval`), which the monthly intervals alone cannot.
    """
    if n_paths < 10:
        raise ForecastError(f"simulate_paths: n_paths must be at least 10, got {n_paths}.")
    if method == "sarimax":
        _, res, _ = forecast_sarimax(series, horizon, log=log, return_result=True, **kwargs)
    elif method == "ets":
        _, res, _ = forecast_ets(series, horizon, log=log, return_result=True, **kwargs)
    else:
        raise ForecastError(f"simulate_paths: method must be 'sarimax' or 'ets', not {method!r}.")
    with _single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # index/frequency notes from statsmodels' simulate
        sims = res.simulate(
            nsimulations=horizon, anchor="end", repetitions=n_paths, rng=np.random.default_rng(seed)
        )
    arr = np.asarray(sims, dtype="float64").reshape(horizon, n_paths)
    if log:
        arr = np.exp(arr)
    idx = future_index(series.index[-1], horizon)
    return pd.DataFrame(arr, index=idx, columns=pd.RangeIndex(n_paths, name="path"))


def simulate_paired_ets(
    series: Mapping[str, pd.Series],
    horizon: int,
    *,
    n_paths: int = 1000,
    seed: int = 0,
    log: bool = True,
    errors: str = "gaussian",
    trim_mad: float | None = None,
    **kwargs: object,
) -> dict[str, pd.DataFrame]:
    """Jointly simulated ETS paths for several series observed over the same months.

    Each series gets its own ETS model (``forecast_ets`` options in ``kwargs``). Future errors
    keep the historical correlation of the series' residuals (exports and imports of an
    integrated supply chain move together):

    * ``errors="gaussian"``: multivariate normal draws with the residuals' covariance matrix;
    * ``errors="bootstrap"``: a *paired bootstrap*, each simulated month draws one historical
      month and uses that month's residual for every series (keeps fat tails, so one drawn
      pandemic month moves a whole path).

    ``trim_mad`` (e.g. 5) leaves out of the error distribution the months in which any series'
    residual is more than ``trim_mad`` robust standard deviations (1.4826 x MAD) from its median,
    so rare shocks such as April 2020 do not widen every month's spread; the months left out are
    listed in each frame's ``attrs["trimmed_months"]``. Returns ``{name: months x paths}``; with
    ``log=True`` the models are fitted to logs and the paths exponentiated. Parameter uncertainty
    is not included.
    """
    if n_paths < 10:
        raise ForecastError(f"simulate_paired_ets: n_paths must be at least 10, got {n_paths}.")
    if len(series) < 1:
        raise ForecastError("simulate_paired_ets: no series given.")
    checked = {k: _check_monthly(v, f"simulate_paired_ets[{k!r}]") for k, v in series.items()}
    first = next(iter(checked.values()))
    for k, v in checked.items():
        if not v.index.equals(first.index):
            raise ForecastError(
                f"simulate_paired_ets: series {k!r} covers other months than the first series; "
                "trim all series to the same months."
            )
    fits = {}
    for k, v in checked.items():
        _, res, _ = forecast_ets(v, horizon, log=log, return_result=True, **kwargs)
        fits[k] = res
    n_resid = min(len(np.asarray(r.resid)) for r in fits.values())
    resid = np.column_stack(
        [np.asarray(r.resid, dtype="float64")[-n_resid:] for r in fits.values()]
    )
    resid_dates = first.index[-n_resid:]
    trimmed = pd.DatetimeIndex([])
    if trim_mad is not None:
        med = np.median(resid, axis=0)
        mad = 1.4826 * np.median(np.abs(resid - med), axis=0)
        z = np.abs(resid - med) / np.where(mad > 0, mad, np.inf)
        keep = (z <= trim_mad).all(axis=1)
        trimmed = resid_dates[~keep]
        resid = resid[keep]
        n_resid = len(resid)
    rng = np.random.default_rng(seed)
    if errors == "bootstrap":
        eps = resid[rng.integers(0, n_resid, size=(horizon, n_paths))]
    elif errors == "gaussian":
        cov = np.atleast_2d(np.cov(resid, rowvar=False))
        eps = rng.multivariate_normal(np.zeros(len(fits)), cov, size=(horizon, n_paths))
    else:
        raise ForecastError(f"errors must be 'gaussian' or 'bootstrap', not {errors!r}.")
    idx = future_index(first.index[-1], horizon)
    out = {}
    for j, (k, res) in enumerate(fits.items()):
        with _single_thread():
            sims = res.simulate(
                horizon, anchor="end", repetitions=n_paths, random_errors=eps[..., j]
            )
        arr = np.asarray(sims, dtype="float64").reshape(horizon, n_paths)
        out[k] = pd.DataFrame(
            np.exp(arr) if log else arr, index=idx, columns=pd.RangeIndex(n_paths, name="path")
        )
        out[k].attrs["trimmed_months"] = [f"{d:%Y-%m}" for d in trimmed]
    return out


def path_quantiles(paths: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Monthly ``mean, median, lower, upper`` (a ``1 - alpha`` band) of simulated paths."""
    if not 0 < alpha < 1:
        raise ForecastError(f"alpha must be between 0 and 1, got {alpha}.")
    return pd.DataFrame(
        {
            "mean": paths.mean(axis=1),
            "median": paths.median(axis=1),
            "lower": paths.quantile(alpha / 2, axis=1),
            "upper": paths.quantile(1 - alpha / 2, axis=1),
        }
    )


def period_interval(
    paths: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    alpha: float = 0.05,
    known: pd.Series | None = None,
) -> dict[str, float]:
    """Total over ``start``..``end`` of simulated paths: mean, median and a ``1 - alpha`` interval.

    Months of the window already observed can be passed in ``known`` (a monthly series) and are
    added to every path, so a calendar-year total can mix actual and simulated months. Raises if
    a month of the window is neither observed nor simulated.
    """
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    months = pd.date_range(s, e, freq="MS")
    obs = known.reindex(months).dropna() if known is not None else pd.Series(dtype="float64")
    sim_months = months.difference(obs.index)
    missing = sim_months.difference(paths.index)
    if len(missing):
        raise ForecastError(
            f"period_interval: months {[f'{d:%Y-%m}' for d in missing[:3]]} are neither observed "
            "nor simulated; extend the horizon or pass the observed months in known=."
        )
    totals = paths.loc[sim_months].sum(axis=0).to_numpy() + float(obs.sum())
    return {
        "mean": float(np.mean(totals)),
        "median": float(np.median(totals)),
        "lower": float(np.quantile(totals, alpha / 2)),
        "upper": float(np.quantile(totals, 1 - alpha / 2)),
        "months_observed": float(len(obs)),
        "months_simulated": float(len(sim_months)),
    }


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A set of shocks applied to a baseline forecast of exports and imports.

    * ``export_growth_pp`` / ``import_growth_pp``: extra growth per year, in percentage points,
      compounded monthly from ``start`` (exports to the partner growing X points faster than in
      the baseline).
    * ``tariff_change_pp``: change in the effective tariff rate on imports from the partner, in
      percentage points; ``tariff_semi_elasticity``: the change in log imports per percentage
      point (e.g. -0.01 means 1 % fewer imports per extra point of tariff).
    * ``fx_change_pct``: change in pesos per dollar, in percent (positive = the peso weakens);
      ``fx_elasticity_exports`` / ``fx_elasticity_imports``: change in log exports / imports per
      unit change in log pesos-per-dollar.
    * ``start``: first month affected (default: first month of the baseline);
      ``phase_in_months``: level effects (tariff, exchange rate) build up linearly over this many
      months, as trade adjusts with a lag.
    """

    name: str = "baseline"
    export_growth_pp: float = 0.0
    import_growth_pp: float = 0.0
    tariff_change_pp: float = 0.0
    tariff_semi_elasticity: float = 0.0
    fx_change_pct: float = 0.0
    fx_elasticity_exports: float = 0.0
    fx_elasticity_imports: float = 0.0
    start: str | None = None
    phase_in_months: int = 12

    def as_dict(self) -> dict[str, object]:
        """The scenario's fields as a plain dict (for tables)."""
        return asdict(self)


def scenario_path(baseline: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Apply ``scenario`` to a baseline with ``exports`` and ``imports`` columns (monthly index).

    Returns ``exports, imports, balance`` (balance = exports - imports) for the scenario. With
    all shocks zero the result equals the baseline exactly.
    """
    missing = {"exports", "imports"} - set(baseline.columns)
    if missing:
        raise ForecastError(
            f"scenario_path: baseline needs columns exports and imports; missing {sorted(missing)}."
        )
    if not isinstance(baseline.index, pd.DatetimeIndex):
        raise ForecastError("scenario_path: baseline must be indexed by month-start dates.")
    if scenario.phase_in_months < 1:
        raise ForecastError(f"scenario {scenario.name!r}: phase_in_months must be >= 1.")
    start = pd.Timestamp(scenario.start) if scenario.start else baseline.index[0]
    k = np.array([months_between(start, d) + 1 for d in baseline.index], dtype="float64")
    k = np.clip(k, 0.0, None)  # months since the shock began (0 before it)
    phase = np.minimum(k / scenario.phase_in_months, 1.0)
    log_fx = math.log1p(scenario.fx_change_pct / 100.0)
    log_x = (k / 12.0) * math.log1p(
        scenario.export_growth_pp / 100.0
    ) + phase * scenario.fx_elasticity_exports * log_fx
    log_m = (k / 12.0) * math.log1p(scenario.import_growth_pp / 100.0) + phase * (
        scenario.tariff_semi_elasticity * scenario.tariff_change_pp
        + scenario.fx_elasticity_imports * log_fx
    )
    exports = baseline["exports"].to_numpy(dtype="float64") * np.exp(log_x)
    imports = baseline["imports"].to_numpy(dtype="float64") * np.exp(log_m)
    return pd.DataFrame(
        {"exports": exports, "imports": imports, "balance": exports - imports}, index=baseline.index
    )


def scenario_paths(baseline: pd.DataFrame, scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Long table ``scenario, date, exports, imports, balance`` for several scenarios."""
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ForecastError(f"scenario names must be unique, got {names}.")
    parts = []
    for s in scenarios:
        p = scenario_path(baseline, s).rename_axis("date").reset_index()
        p.insert(0, "scenario", s.name)
        parts.append(p)
    out = pd.concat(parts, ignore_index=True)
    out["scenario"] = out["scenario"].astype("string")
    return out


def tariff_semi_elasticity(beta: float, base_rate_pct: float, change_pp: float) -> float:
    """Convert an elasticity on ``log(1 + tariff)`` into log-imports per percentage point.

    A constant-elasticity import demand ``log M = beta * log(1 + tau) + ...`` implies that moving
    the tariff from ``base_rate_pct`` by ``change_pp`` points changes log imports by
    ``beta * (log(1 + (base + change)/100) - log(1 + base/100))``; dividing by ``change_pp``
    gives the value for :attr:`Scenario.tariff_semi_elasticity`.
    """
    if change_pp == 0:
        return beta / (100.0 + base_rate_pct)  # the derivative at the base rate
    new = base_rate_pct + change_pp
    if new <= -100 or base_rate_pct <= -100:
        raise ForecastError("tariff rates must stay above -100 %.")
    return beta * (math.log1p(new / 100.0) - math.log1p(base_rate_pct / 100.0)) / change_pp


# --------------------------------------------------------------------------------------------
# Annual arithmetic: "how much more would the US have to export?"
# --------------------------------------------------------------------------------------------


def annual_totals(monthly: pd.DataFrame, complete_only: bool = True) -> pd.DataFrame:
    """Sum monthly columns by calendar year; keep only years with 12 non-missing months."""
    if not isinstance(monthly.index, pd.DatetimeIndex):
        raise ForecastError("annual_totals: monthly data must be indexed by dates.")
    grouped = monthly.groupby(monthly.index.year)
    totals = grouped.sum(min_count=1)
    counts = grouped.count().min(axis=1)
    totals.index.name = "year"
    if complete_only:
        totals = totals.loc[counts.to_numpy() == 12]
    return totals


def trend_growth(annual: pd.Series, years: int = 10) -> float:
    """Trend growth a year over the last ``years`` values of an annual series: ``exp(b) - 1``
    with ``b`` the slope of the log-linear trend, the package's one trend definition
    (:func:`tradelib.analysis.transform.log_trend_growth`; not an endpoint growth rate, which
    hinges on two single years)."""
    s = annual.dropna()
    if len(s) < years or years < 2:
        raise ForecastError(f"trend_growth needs {max(years, 2)} annual values, got {len(s)}.")
    s = s.iloc[-years:]
    if (s <= 0).any():
        raise ForecastError("trend_growth needs positive values (use exports or imports).")
    return math.expm1(log_linear_slope(s))


def extend_annual(annual: pd.DataFrame, to_year: int, growth: Mapping[str, float]) -> pd.DataFrame:
    """Extend annual columns to ``to_year`` at constant growth rates (``{column: rate}``).

    Rows past the last year are marked ``projected = True``. Columns not in ``growth`` are
    recomputed only if they are ``balance`` (exports - imports); others are left missing.
    """
    if annual.empty:
        raise ForecastError("extend_annual: empty annual table.")
    last_year = int(annual.index.max())
    out = annual.copy()
    out["projected"] = False
    for year in range(last_year + 1, to_year + 1):
        row: dict[str, object] = {c: np.nan for c in annual.columns}
        for col, g in growth.items():
            row[col] = float(out.loc[year - 1, col]) * (1.0 + g)
        row["projected"] = True
        out.loc[year] = row
    if {"exports", "imports", "balance"} <= set(out.columns):
        out["balance"] = out["exports"] - out["imports"]
    out["projected"] = out["projected"].astype(bool)
    out.index.name = "year"
    return out


@dataclass(frozen=True)
class ExportsNeeded:
    """Extra exports needed to cut the deficit to a target by a target year ($ millions)."""

    target_year: int
    reduction: float
    reference_deficit: float
    target_deficit: float
    baseline_deficit: float
    extra_exports_target_year: float
    extra_per_year_step: float
    share_of_current_exports: float
    extra_growth_pp: float


def exports_needed(
    *,
    reference_deficit: float,
    baseline_exports: float,
    baseline_imports: float,
    current_exports: float,
    years: int,
    target_year: int,
    reduction: float = 0.5,
) -> ExportsNeeded:
    """How much more the US must export (beyond the baseline) to cut the deficit by ``reduction``.

    ``reference_deficit`` is today's annual deficit (a positive number); the target is
    ``(1 - reduction) * reference_deficit`` in ``target_year``, when the baseline projects
    ``baseline_exports`` and ``baseline_imports``. Extra exports are assumed not to change
    imports. Returns the extra exports in the target year, the equal annual step that builds up
    to it over ``years`` years, that amount as a share of ``current_exports``, and the extra
    annual export growth (percentage points) that would deliver it.
    """
    if not 0.0 <= reduction <= 1.0:
        raise ForecastError(f"reduction must be between 0 and 1, got {reduction}.")
    if years < 1:
        raise ForecastError(f"years must be >= 1, got {years}.")
    if reference_deficit <= 0:
        raise ForecastError("reference_deficit must be positive (a deficit, in $ millions).")
    if baseline_exports <= 0 or current_exports <= 0:
        raise ForecastError("exports must be positive.")
    target = (1.0 - reduction) * reference_deficit
    base_def = baseline_imports - baseline_exports
    extra = max(0.0, base_def - target)
    growth_pp = 100.0 * (((baseline_exports + extra) / baseline_exports) ** (1.0 / years) - 1.0)
    return ExportsNeeded(
        target_year=target_year,
        reduction=reduction,
        reference_deficit=reference_deficit,
        target_deficit=target,
        baseline_deficit=base_def,
        extra_exports_target_year=extra,
        extra_per_year_step=extra / years,
        share_of_current_exports=extra / current_exports,
        extra_growth_pp=growth_pp,
    )


# --------------------------------------------------------------------------------------------
# Well-conditioned forecasters (closed form or a fixed grid: no numerical optimiser)
# --------------------------------------------------------------------------------------------
#
# Maximum-likelihood SARIMA and ETS fits of the partner series sit on the edge of their
# parameter space (ETS smoothing level 0.9999 with a frozen seasonal pattern; a seasonal MA
# coefficient near -1), where the likelihood is flat and different BLAS kernels lead the
# optimiser to different optima. The forecasters below avoid the optimiser altogether: their
# estimates are least-squares solutions or the best of a few fixed candidates, identical to
# rounding error on every machine.


def _log_positive(train: pd.Series, name: str) -> pd.Series:
    """Validated log of a positive monthly series."""
    y = _check_monthly(train, name)
    if (y <= 0).any():
        raise ForecastError(f"{name}: needs positive values (exports or imports, not a balance).")
    return np.log(y)


def _complete_year_totals(y: pd.Series) -> pd.Series:
    """Calendar-year sums of a gap-free monthly series, complete years only (fast path)."""
    idx = y.index
    first = 0 if idx[0].month == 1 else 13 - idx[0].month
    n_years = (len(y) - first) // 12
    v = y.to_numpy()[first : first + 12 * n_years].reshape(n_years, 12).sum(axis=1)
    return pd.Series(v, index=np.arange(n_years) + idx[first].year if n_years else [])


def log_linear_slope(annual: pd.Series) -> float:
    """Slope ``b`` of OLS ``log(y) = a + b * year``: the point estimate of
    :func:`tradelib.analysis.transform.log_trend_growth` (growth = ``exp(b) - 1``), without its
    standard errors, for use inside backtest loops (tested equal to it)."""
    t = np.asarray(annual.index, dtype="float64")
    v = np.asarray(annual, dtype="float64")
    if v.size < 2 or (v <= 0).any():
        raise ForecastError("log_linear_slope: needs at least 2 positive values.")
    t = t - t.mean()
    lv = np.log(v)
    return float(np.dot(t, lv - lv.mean()) / np.dot(t, t))


def drift_forecast(train: pd.Series, horizon: int, *, years: int = 10, min_years: int = 5,
                   m: int = 12) -> pd.Series:
    """Seasonal naive with drift: each month repeats the same month a year (or two) earlier,
    grown at the log-linear trend growth of the last ``years`` complete calendar years.

    The growth is the slope of an OLS fit of log annual totals on time, the estimator of
    :func:`tradelib.analysis.transform.log_trend_growth` (the package's one trend definition),
    over the complete calendar years in ``train`` (at most ``years``, at least ``min_years``).
    """
    y = _check_monthly(train, "drift_forecast train")
    annual = _complete_year_totals(y).iloc[-years:]
    if len(annual) < min_years:
        raise ForecastError(
            f"drift_forecast: {len(annual)} complete calendar years in the training data; "
            f"need at least {min_years}."
        )
    b = log_linear_slope(annual)
    last = y.to_numpy()[-m:]
    h = np.arange(1, horizon + 1)
    k = np.ceil(h / m)  # seasons back to the last observed same month
    values = last[(h - 1) % m] * np.exp(b * k)
    return pd.Series(values, index=future_index(y.index[-1], horizon), name="drift")


def drift_forecaster(years: int = 10) -> Forecaster:
    """A :func:`backtest` forecaster wrapping :func:`drift_forecast`."""

    def f(train: pd.Series, horizon: int) -> pd.Series:
        return drift_forecast(train, horizon, years=years)

    return f


def ar_seasonal_difference_forecast(train: pd.Series, horizon: int, *, m: int = 12) -> pd.Series:
    """SARIMA(1,0,0)(0,1,0)\\ :sub:`12` with drift on logs, by conditional least squares.

    The 12-month log change ``d_t = log y_t - log y_{t-12}`` follows an AR(1) with a constant,
    estimated by OLS (the estimate of ``statsmodels`` ``AutoReg(d, lags=1, trend="c")``, tested
    equal): a closed-form, well-conditioned estimate (no optimiser). Forecasts iterate ``d`` forward and rebuild ``log y`` from the same month a
    year earlier (observed or forecast). Raises if the AR coefficient is not inside (-1, 1).
    """
    ly = _log_positive(train, "ar_seasonal_difference_forecast train").to_numpy()
    if len(ly) < m + 24:
        raise ForecastError(f"ar_seasonal_difference_forecast: need at least {m + 24} months.")
    d = ly[m:] - ly[:-m]
    design = np.column_stack([np.ones(len(d) - 1), d[:-1]])
    (c, phi), *_ = np.linalg.lstsq(design, d[1:], rcond=None)
    c, phi = float(c), float(phi)
    if not -1.0 < phi < 1.0:
        raise ForecastError(
            f"ar_seasonal_difference_forecast: AR coefficient {phi:.3f} is outside (-1, 1); the "
            "12-month changes are not stationary over this sample."
        )
    path = list(ly)
    d_prev = d[-1]
    for _ in range(horizon):
        d_prev = c + phi * d_prev
        path.append(path[-m] + d_prev)
    values = np.exp(np.asarray(path[len(ly):]))
    return pd.Series(values, index=future_index(train.index[-1], horizon), name="SARIMA-CLS")


def ar_seasonal_difference_forecaster() -> Forecaster:
    """A :func:`backtest` forecaster wrapping :func:`ar_seasonal_difference_forecast`."""

    def f(train: pd.Series, horizon: int) -> pd.Series:
        return ar_seasonal_difference_forecast(train, horizon)

    return f


def hw_additive_filter(y: np.ndarray, alpha: float, gamma: float, m: int = 12
                       ) -> tuple[np.ndarray, float, np.ndarray]:
    """Holt–Winters additive-seasonal recursions without trend, at fixed parameters.

    ``l_t = alpha (y_t - s_{t-m}) + (1 - alpha) l_{t-1}`` and
    ``s_t = gamma (y_t - l_{t-1}) + (1 - gamma) s_{t-m}``, started from the first year (level =
    its mean, seasonal = its deviations from the mean); the same recursions as ``statsmodels``
    ``ExponentialSmoothing(trend=None, seasonal="add")`` with those known initial values
    (tested). Returns the one-step errors from the second year on, the last level and the
    last ``m`` seasonal terms (oldest first).
    """
    y = np.asarray(y, dtype="float64")
    if y.size < 2 * m:
        raise ForecastError(f"hw_additive_filter: need at least {2 * m} values, got {y.size}.")
    level = float(y[:m].mean())
    season = list(y[:m] - level)
    errors = np.empty(y.size - m)
    for i, v in enumerate(y[m:]):
        s_old = season[i]
        errors[i] = v - (level + s_old)
        new_level = alpha * (v - s_old) + (1.0 - alpha) * level
        season.append(gamma * (v - level) + (1.0 - gamma) * s_old)
        level = new_level
    return errors, level, np.asarray(season[-m:])


def ets_grid_forecast(train: pd.Series, horizon: int, *,
                      levels: Sequence[float] = (0.2, 0.5, 0.8), seasonal: float = 0.1,
                      m: int = 12, return_choice: bool = False
                      ) -> pd.Series | tuple[pd.Series, dict[str, float]]:
    """ETS(A,N,A) on logs (Holt–Winters additive seasonality, no trend) with smoothing
    parameters from a fixed grid, not an optimiser.

    Each smoothing level in ``levels`` (with seasonal smoothing ``seasonal``) is run through
    :func:`hw_additive_filter`; the one with the smallest in-sample sum of squared one-step
    errors is kept (ties go to the first in ``levels``, so the choice is deterministic). The grid
    stays away from the bounds 0 and 1 where the likelihood flattens out. With
    ``return_choice`` also returns ``{"smoothing_level", "sse"}``.
    """
    y = _log_positive(train, "ets_grid_forecast train").to_numpy()
    best: tuple[float, float, float, np.ndarray] | None = None
    for a in levels:
        err, level, season = hw_additive_filter(y, a, seasonal, m)
        sse = float(np.dot(err, err))
        if best is None or sse < best[1] - 1e-12 * abs(best[1]):
            best = (a, sse, level, season)
    assert best is not None
    h = np.arange(horizon)
    fcast = best[2] + best[3][h % m]
    out = pd.Series(np.exp(fcast), index=future_index(train.index[-1], horizon), name="ETS-grid")
    if return_choice:
        return out, {"smoothing_level": best[0], "sse": best[1]}
    return out


def ets_grid_forecaster(**kwargs: Any) -> Forecaster:
    """A :func:`backtest` forecaster wrapping :func:`ets_grid_forecast`."""

    def f(train: pd.Series, horizon: int) -> pd.Series:
        return ets_grid_forecast(train, horizon, **kwargs)

    return f


def params_on_bounds(result: Any, *, tol: float = 1e-3) -> dict[str, float]:
    """Estimated parameters of a statsmodels ETS/SARIMAX fit that sit on (within ``tol`` of) a
    boundary: smoothing parameters at 0 or 1, a damping factor at its bounds, or an AR/MA
    coefficient at +/-1. Returns ``{name: value}`` (empty when the fit is interior)."""
    names = list(getattr(result, "param_names", None) or result.model.param_names)
    values = np.asarray(result.params, dtype="float64")
    flagged: dict[str, float] = {}
    bounds = getattr(getattr(result, "model", None), "bounds", None)
    for i, (name, v) in enumerate(zip(names, values)):
        lo_hi: tuple[float, float] | None = None
        if name.startswith(("smoothing_",)):
            lo_hi = (0.0, 1.0)
        elif name.startswith("damping"):
            lo_hi = (0.8, 0.98)
        elif name.startswith(("ar.", "ma.")):
            lo_hi = (-1.0, 1.0)
        b = None
        if isinstance(bounds, Mapping):
            b = bounds.get(name)
        elif bounds is not None and i < len(bounds):
            b = bounds[i]
        if lo_hi is not None and b is not None and b[0] is not None and b[1] is not None:
            lo_hi = (float(b[0]), float(b[1]))
        if lo_hi is not None and (abs(v - lo_hi[0]) < tol or abs(v - lo_hi[1]) < tol):
            flagged[name] = float(v)
    return flagged


# --------------------------------------------------------------------------------------------
# Backtests of totals: the calendar-year balance the headline reports
# --------------------------------------------------------------------------------------------


def year_ahead_window(origin_month: int) -> tuple[int, int]:
    """Horizons (first, last month ahead) that cover the calendar year after an origin month.

    An origin in August (month 8) forecasts next January to December at 5..16 months ahead.
    """
    if not 1 <= origin_month <= 12:
        raise ForecastError(f"origin_month must be 1..12, got {origin_month}.")
    return 13 - origin_month, 24 - origin_month


def window_totals(results: pd.DataFrame, h_first: int, h_last: int) -> pd.DataFrame:
    """Sum :func:`backtest` rows over horizons ``h_first..h_last`` for each model and origin.

    Returns ``model, origin, start, end, actual, forecast, error`` (error = forecast - actual)
    and ``size`` when the backtest has one (see :func:`paired_backtest`); origins whose backtest does not reach ``h_last``
    are left out.
    """
    if not 1 <= h_first <= h_last:
        raise ForecastError(f"window_totals: need 1 <= h_first <= h_last, got {h_first}, {h_last}.")
    sub = results.loc[(results["h"] >= h_first) & (results["h"] <= h_last)]
    g = sub.groupby(["model", "origin"], observed=True, sort=True)
    aggs = {"start": ("date", "min"), "end": ("date", "max"), "n": ("h", "count"),
            "actual": ("actual", "sum"), "forecast": ("forecast", "sum")}
    if "size" in sub.columns:
        aggs["size"] = ("size", "first")
    out = g.agg(**aggs).reset_index()
    out = out.loc[out["n"] == h_last - h_first + 1].drop(columns="n")
    out["error"] = out["forecast"] - out["actual"]
    return out.reset_index(drop=True)


def calendar_year_backtest(results: pd.DataFrame, origin_month: int) -> pd.DataFrame:
    """The calendar-year totals forecast from origins in ``origin_month`` (:func:`window_totals`
    over :func:`year_ahead_window`), with a ``year`` column (the year forecast)."""
    h1, h2 = year_ahead_window(origin_month)
    tot = window_totals(results.loc[results["origin"].dt.month == origin_month], h1, h2)
    tot.insert(2, "year", tot["start"].dt.year.astype("int64"))
    return tot


def mean_forecaster(forecasters: Sequence[Forecaster]) -> Forecaster:
    """A forecaster returning the equal-weight mean of several forecasters' point forecasts."""
    if not forecasters:
        raise ForecastError("mean_forecaster: give at least one forecaster.")

    def f(train: pd.Series, horizon: int) -> np.ndarray:
        preds = []
        for g in forecasters:
            raw = g(train.copy(), horizon)
            if isinstance(raw, pd.DataFrame):
                raw = raw["mean"]
            preds.append(np.asarray(raw, dtype="float64").ravel())
        return np.mean(preds, axis=0)

    return f


def combine_forecasts(results: pd.DataFrame, models: Sequence[str], name: str) -> pd.DataFrame:
    """Equal-weight mean of several models' forecasts in a :func:`backtest` table, as a new
    model ``name`` (rows in the same layout; intervals are dropped)."""
    sub = results.loc[results["model"].isin(list(models))]
    if sub["model"].nunique() != len(set(models)):
        raise ForecastError(f"combine_forecasts: models {sorted(set(models))} not all present.")
    keys = ["origin", "date"]
    mean = sub.groupby(keys)["forecast"].mean()
    count = sub.groupby(keys)["forecast"].count()
    base = sub.drop_duplicates(keys).set_index(keys)
    out = base.assign(forecast=mean, lower=np.nan, upper=np.nan).loc[count == len(set(models))]
    out = out.reset_index()
    out["model"] = pd.array([name] * len(out), dtype="string")
    out["error"] = out["forecast"] - out["actual"]
    return out[list(results.columns)]


def _conformal_bounds(errors: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper quantiles of signed errors for a central ``level`` interval."""
    lo = float(np.quantile(errors, (1.0 - level) / 2.0))
    hi = float(np.quantile(errors, (1.0 + level) / 2.0))
    return lo, hi


def empirical_interval(point: float, scale: float, scaled_errors: object,
                       levels: Sequence[float] = (0.8, 0.95),
                       above: float | None = None) -> dict[str, float]:
    """Predictive median and intervals for a total from past forecast errors.

    ``scaled_errors`` are past (forecast - actual) errors divided by a scale known at their
    origin (e.g. two-way trade over the previous 12 months); ``scale`` is that quantity now.
    The predictive distribution of the outcome is ``point - scale * e`` over the past errors
    ``e``: its median is the headline and its quantiles the intervals (empirical, split
    conformal with signed errors, so a model's past bias is corrected too). Returns
    ``median``, ``point`` and ``lower_80``/``upper_80`` etc. for each level; with ``above``
    also ``p_above``, the share of the predictive distribution above that value.
    """
    e = np.asarray(scaled_errors, dtype="float64").ravel()
    e = e[np.isfinite(e)]
    if e.size < 5:
        raise ForecastError(f"empirical_interval: need at least 5 past errors, got {e.size}.")
    out = {"point": float(point), "median": float(point - scale * np.median(e)),
           "n_errors": float(e.size)}
    for lv in levels:
        if not 0 < lv < 1:
            raise ForecastError(f"interval level must be in (0, 1), got {lv}.")
        lo, hi = _conformal_bounds(e, lv)
        tag = f"{round(100 * lv):d}"
        out[f"lower_{tag}"] = float(point - scale * hi)
        out[f"upper_{tag}"] = float(point - scale * lo)
    if above is not None:
        out["p_above"] = float(np.mean(point - scale * e > above))
    return out


def sequential_coverage(calibration: pd.DataFrame, targets: pd.DataFrame, *, h_last: int,
                        levels: Sequence[float] = (0.8, 0.95),
                        min_errors: int = 20, window: int | None = None) -> pd.DataFrame:
    """Out-of-sample check of :func:`empirical_interval` on past targets.

    ``calibration`` holds window totals of one model with ``origin, forecast, actual, size``
    (e.g. every origin's 12-month total); ``targets`` the totals to cover (e.g. calendar years
    from August origins) in the same layout. For each target only calibration windows that were
    fully observed at the target's origin (``origin + h_last`` months <= target origin) are
    used, so the check uses no information the forecaster did not have; ``window`` keeps only
    the most recent ``window`` of them (a rolling calibration). Targets with fewer than
    ``min_errors`` such windows are skipped. Returns per target the median, the bounds and
    ``inside_<level>`` flags.
    """
    cal = calibration.assign(e=(calibration["forecast"] - calibration["actual"])
                             / calibration["size"])
    seen = cal["origin"] + pd.DateOffset(months=h_last)
    rows = []
    for _, t in targets.iterrows():
        e = cal.loc[seen <= t["origin"]].sort_values("origin")["e"].to_numpy()
        if window is not None:
            e = e[-window:]
        if e.size < min_errors:
            continue
        iv = empirical_interval(t["forecast"], t["size"], e, levels)
        row = {"origin": t["origin"], "actual": t["actual"], **iv}
        if "year" in t:
            row["year"] = int(t["year"])
        for lv in levels:
            tag = f"{round(100 * lv):d}"
            row[f"inside_{tag}"] = bool(iv[f"lower_{tag}"] <= t["actual"] <= iv[f"upper_{tag}"])
        rows.append(row)
    if not rows:
        raise ForecastError(
            f"sequential_coverage: no target has {min_errors} earlier calibration windows; "
            "start the backtest earlier or lower min_errors."
        )
    return pd.DataFrame(rows)


def paired_backtest(flows: pd.DataFrame, forecasters: Mapping[str, Forecaster], *,
                    horizon: int, initial: str | pd.Timestamp, step: int = 1) -> pd.DataFrame:
    """Backtest of the balance built from forecasts of exports and imports.

    Each forecaster is run on exports and on imports separately (:func:`backtest`, which hands
    it only data up to the origin); the balance forecast is their difference. Returns the
    :func:`backtest` layout for the balance (``scale`` is the balance's MASE scale), plus
    ``size``: two-way trade (exports + imports) over the 12 months up to the origin, known at
    the origin, which puts errors of different years on a common footing.
    """
    need = {"exports", "imports"}
    if not need <= set(flows.columns):
        raise ForecastError(f"paired_backtest: flows needs columns {sorted(need)}.")
    bal = flows["exports"] - flows["imports"]
    target = backtest(bal.rename("balance"), {"_": seasonal_naive_forecaster()}, horizon=horizon,
                      initial=initial, step=step)
    bx = backtest(flows["exports"], forecasters, horizon=horizon, initial=initial, step=step)
    bm = backtest(flows["imports"], forecasters, horizon=horizon, initial=initial, step=step)
    parts = [difference_backtest(bx, bm, target, models=(k, k), name=k) for k in forecasters]
    out = pd.concat(parts, ignore_index=True)
    two_way = (flows["exports"] + flows["imports"]).rolling(12).sum()
    out["size"] = two_way.reindex(out["origin"]).to_numpy()
    return out


def import_response(exports: pd.Series, imports: pd.Series, *, lag: int = 12,
                    alpha: float = 0.05) -> dict[str, float]:
    """How much imports move with exports: OLS slope of the ``lag``-month dollar change of
    imports on that of exports, with Newey–West (HAC) standard errors, and the correlation of
    the two changes.

    The slope is the extra dollar of imports that came with an extra dollar of exports in the
    past. It is a co-movement (common demand shocks move both), not a causal import content;
    use it as the upper end of a range. Returns ``slope, ci_low, ci_high, corr, n``.
    """
    import statsmodels.api as sm

    dx = (exports - exports.shift(lag)).rename("dx")
    dm = (imports - imports.shift(lag)).rename("dm")
    df = pd.concat([dx, dm], axis=1).dropna()
    if len(df) < 24:
        raise ForecastError(f"import_response: {len(df)} overlapping months; need at least 24.")
    fit = sm.OLS(df["dm"].to_numpy(), sm.add_constant(df["dx"].to_numpy())).fit(
        cov_type="HAC", cov_kwds={"maxlags": lag})
    lo, hi = fit.conf_int(alpha=alpha)[1]
    return {"slope": float(fit.params[1]), "ci_low": float(lo), "ci_high": float(hi),
            "corr": float(np.corrcoef(df["dx"], df["dm"])[0, 1]), "n": float(len(df))}


def extra_exports_for(deficit_now: float, deficit_baseline: float, *, reduction: float,
                      import_content: float) -> float:
    """Extra exports that cut the deficit to ``(1 - reduction) * deficit_now``.

    ``deficit_baseline`` is the deficit expected without action in the target year (equal to
    ``deficit_now`` for a static calculation on actuals); each extra dollar of exports pulls in
    ``import_content`` dollars of imports, so only ``1 - import_content`` of it reduces the
    deficit: ``extra = (deficit_baseline - target) / (1 - import_content)`` (0 when the
    baseline already meets the target). Deficits are positive numbers.
    """
    if not 0.0 <= reduction <= 1.0:
        raise ForecastError(f"reduction must be between 0 and 1, got {reduction}.")
    if not 0.0 <= import_content < 1.0:
        raise ForecastError(
            f"import_content must be in [0, 1), got {import_content}: with 1 or more, extra "
            "exports never reduce the deficit."
        )
    target = (1.0 - reduction) * deficit_now
    return max(0.0, deficit_baseline - target) / (1.0 - import_content)


def tariff_import_change(imports: float, rate_pct: float, change_pp: float,
                         elasticity: float) -> float:
    """Change in imports ($) when the effective tariff rate moves from ``rate_pct`` by
    ``change_pp`` points, for a constant ``elasticity`` of imports on ``1 + rate``:
    ``imports * (((1 + (rate + change)/100) / (1 + rate/100)) ** elasticity - 1)``."""
    new = rate_pct + change_pp
    if new <= -100 or rate_pct <= -100:
        raise ForecastError("tariff rates must stay above -100 %.")
    return float(imports) * (((1 + new / 100.0) / (1 + rate_pct / 100.0)) ** elasticity - 1.0)


def score_totals(totals: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Accuracy of forecast totals (:func:`window_totals` or :func:`calendar_year_backtest`).

    Per group: ``n``, ``RMSE``, ``MAE``, ``bias`` (mean forecast - actual; positive = the
    balance was forecast too high, i.e. a deficit forecast too small) and ``n_above`` (how many
    forecasts were above the outcome), sorted by RMSE.
    """
    keys = list(by)
    rows = []
    for k, g in totals.groupby(keys, observed=True, sort=True):
        e = g["error"].to_numpy(dtype="float64")
        labels = k if isinstance(k, tuple) else (k,)
        rows.append({**dict(zip(keys, labels)), "n": len(e), "RMSE": float(np.sqrt(np.mean(e**2))),
                     "MAE": float(np.mean(np.abs(e))), "bias": float(np.mean(e)),
                     "n_above": int((e > 0).sum())})
    return pd.DataFrame(rows).set_index(keys).sort_values("RMSE")


def year_total_forecast(flows: pd.DataFrame, forecaster: Forecaster, year: int) -> dict[str, float]:
    """Point forecast of the calendar-year total of exports, imports and the balance.

    ``forecaster`` is run on ``flows['exports']`` and ``flows['imports']`` (all months given);
    months of ``year`` already observed are taken from the data. Returns ``point`` (the balance
    total), ``exports``, ``imports``, ``h_first``/``h_last`` (the horizons of the forecast
    months) and ``size`` (two-way trade over the last 12 months, as in
    :func:`paired_backtest`).
    """
    last = flows.index[-1]
    end = pd.Timestamp(f"{year}-12-01")
    h_last = months_between(last, end)
    if h_last < 1:
        raise ForecastError(f"year_total_forecast: {year} is already observed.")
    h_first = max(1, months_between(last, pd.Timestamp(f"{year}-01-01")))
    out: dict[str, float] = {"h_first": float(h_first), "h_last": float(h_last)}
    for k in ("exports", "imports"):
        pred = pd.Series(np.asarray(forecaster(flows[k].copy(), h_last), dtype="float64"),
                         index=future_index(last, h_last))
        known = flows[k].loc[f"{year}-01-01":f"{year}-12-01"]
        out[k] = float(pred.loc[f"{year}-01-01":].sum() + known.sum())
    out["point"] = out["exports"] - out["imports"]
    out["size"] = float((flows["exports"] + flows["imports"]).iloc[-12:].sum())
    return out
