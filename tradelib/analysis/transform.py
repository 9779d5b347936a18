"""Transforms of monthly trade series: balance, growth, rolling sums, annual totals,
contribution decomposition, deflation, seasonal adjustment and partner rankings.

Conventions
-----------
* Monthly series are ``pd.Series`` with a month-start ``DatetimeIndex``; values in $ millions.
* Missing months are ``NaN`` and stay missing: nothing here fills gaps silently. Functions that
  cannot work with gaps (deflation, seasonal adjustment) raise a :class:`TransformError` that
  names the months and says how to fix it (e.g. :func:`interpolate_missing`, said so in prose).
* Growth rates are in percent. Annual totals use complete years only; partial years are flagged.
* The long trade table is the one returned by ``tradelib.load_trade``: columns ``date``,
  ``partner_code``, ``partner``, ``flow`` (``"exports"``/``"imports"``), ``value_musd``.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable

import numpy as np
import pandas as pd

from tradelib.errors import TradelibError

__all__ = [
    "AGGREGATE_CODE_LIMIT",
    "NON_COUNTRY_CODES",
    "TransformError",
    "annualise",
    "balance",
    "compare_series",
    "contributions",
    "deflate",
    "flows_wide",
    "interpolate_missing",
    "is_aggregate",
    "log_growth",
    "log_trend_growth",
    "rebase",
    "rolling_sum",
    "seasonal_adjust",
    "share",
    "trend_growth",
    "two_way_ranking",
    "x13_available",
    "year_to_date",
    "yoy_growth",
]

#: Census country codes below this number are groupings (World, EU, regions, USMCA claims...).
AGGREGATE_CODE_LIMIT = 1000
#: Codes at or above the limit that are not a single country.
NON_COUNTRY_CODES = frozenset({"8220"})  # Unidentified Countries

REQUIRED_LONG = ("date", "partner_code", "partner", "flow", "value_musd")


class TransformError(TradelibError):
    """A series or table cannot be transformed as asked (gaps, wrong shape, bad arguments)."""


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _check_monthly(s: pd.Series, name: str = "series") -> pd.Series:
    """Validate a monthly month-start series and return it sorted."""
    if not isinstance(s, pd.Series):
        raise TransformError(f"{name}: expected a pandas Series, got {type(s).__name__}.")
    if not isinstance(s.index, pd.DatetimeIndex):
        raise TransformError(
            f"{name}: expected a DatetimeIndex of month starts, got {type(s.index).__name__}; "
            "set the index with s.index = pd.to_datetime(dates)."
        )
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()].strftime("%Y-%m").unique().tolist()
        raise TransformError(f"{name}: duplicated months {dup[:5]}; aggregate them first.")
    if len(s) and not (s.index == s.index.to_period("M").to_timestamp()).all():
        raise TransformError(
            f"{name}: index must hold month starts (day 1, midnight); normalise with "
            "s.index = s.index.to_period('M').to_timestamp()."
        )
    return s.sort_index().astype("float64")


def _full_months(s: pd.Series) -> pd.Series:
    """Reindex ``s`` to every month between its first and last date (gaps become NaN)."""
    if s.empty:
        return s
    idx = pd.date_range(s.index.min(), s.index.max(), freq="MS", name=s.index.name)
    return s.reindex(idx)


def _fmt_months(idx: Iterable[pd.Timestamp], limit: int = 8) -> str:
    months = [pd.Timestamp(d).strftime("%Y-%m") for d in idx]
    more = f" (+{len(months) - limit} more)" if len(months) > limit else ""
    return ", ".join(months[:limit]) + more


def is_aggregate(code: str | int) -> bool:
    """True for Census codes that are not a single country (groupings or 'Unidentified')."""
    text = str(code).strip()
    if not text.isdigit():
        raise TransformError(f"is_aggregate: {code!r} is not a numeric Census country code.")
    return int(text) < AGGREGATE_CODE_LIMIT or text.zfill(4) in NON_COUNTRY_CODES


# ---------------------------------------------------------------------------------------------
# shaping and balance
# ---------------------------------------------------------------------------------------------


def flows_wide(trade: pd.DataFrame) -> pd.DataFrame:
    """Long trade table -> one row per (date, partner_code, partner), columns exports/imports."""
    missing = [c for c in REQUIRED_LONG if c not in trade.columns]
    if missing:
        raise TransformError(
            f"flows_wide: the trade table lacks columns {missing}; pass the frame returned by "
            "tradelib.load_trade()."
        )
    flows = set(trade["flow"].dropna().unique())
    if not flows <= {"exports", "imports"}:
        raise TransformError(
            f"flows_wide: unexpected flow values {sorted(flows - {'exports', 'imports'})}."
        )
    keys = ["date", "partner_code", "partner", "flow"]
    if trade.duplicated(keys).any():
        raise TransformError(
            "flows_wide: more than one value per date/partner/flow; filter to one vintage and "
            "one adjustment first."
        )
    # unstack, not pivot_table: keys are unique (checked above), and pivot_table's generic
    # groupby path is ~50x slower on pandas 3's string columns (7 s for all partners)
    wide = trade.set_index(keys)["value_musd"].astype("float64").unstack("flow")
    wide = wide.reindex(columns=["exports", "imports"]).reset_index()
    wide.columns.name = None
    wide = wide.dropna(subset=["exports", "imports"], how="all")
    return wide.sort_values(["partner_code", "date"]).reset_index(drop=True)


def balance(trade: pd.DataFrame) -> pd.DataFrame:
    """Exports, imports, balance (= exports − imports) and two-way trade per partner and month.

    The balance is missing whenever either flow is missing.
    """
    wide = flows_wide(trade)
    return wide.assign(
        balance=wide["exports"] - wide["imports"],
        two_way=wide["exports"] + wide["imports"],
    )


# ---------------------------------------------------------------------------------------------
# growth and rolling sums
# ---------------------------------------------------------------------------------------------


def _lagged(s: pd.Series) -> pd.Series:
    """The value one year earlier, aligned on dates (monthly) or on year numbers (annual)."""
    if isinstance(s.index, pd.DatetimeIndex):
        lag = s.copy()
        lag.index = lag.index + pd.DateOffset(years=1)
        return lag.reindex(s.index)
    if pd.api.types.is_integer_dtype(s.index):
        lag = s.copy()
        lag.index = lag.index + 1
        return lag.reindex(s.index)
    raise TransformError(
        "growth: index must be a DatetimeIndex (monthly/annual dates) or integer years, got "
        f"{s.index.dtype}."
    )


def yoy_growth(s: pd.Series) -> pd.Series:
    """Year-on-year growth in percent: 100·(x_t / x_{t−1 year} − 1).

    Aligned on dates, so a missing month never shifts the comparison. Undefined (NaN) where the
    earlier value is missing, zero or negative (growth of a balance is not meaningful).
    """
    s = s.astype("float64")
    prev = _lagged(s)
    prev = prev.where(prev > 0)
    return (100.0 * (s / prev - 1.0)).rename(s.name)


def log_growth(s: pd.Series) -> pd.Series:
    """Year-on-year log growth in percent: 100·ln(x_t / x_{t−1 year}); NaN unless both > 0."""
    s = s.astype("float64")
    prev = _lagged(s)
    ok = (s > 0) & (prev > 0)
    ratio = (s / prev).where(ok)
    return (100.0 * np.log(ratio)).rename(s.name)


def rolling_sum(s: pd.Series, window: int = 12) -> pd.Series:
    """Sum over the last ``window`` calendar months (e.g. 12 = rolling annual total).

    The series is first reindexed to every month, so a window that spans a missing month is NaN
    (never a sum of fewer months).
    """
    if window < 1:
        raise TransformError(f"rolling_sum: window must be >= 1, got {window}.")
    s = _full_months(_check_monthly(s, "rolling_sum"))
    return s.rolling(window, min_periods=window).sum().rename(s.name)


# ---------------------------------------------------------------------------------------------
# annual totals
# ---------------------------------------------------------------------------------------------


def annualise(s: pd.Series) -> pd.DataFrame:
    """Calendar-year totals of a monthly flow series, complete years only.

    Returns a frame indexed by ``year`` with ``value`` (the annual sum, NaN unless all 12 months
    are present), ``months`` (months with data), ``complete`` (bool), ``partial_sum`` (sum of the
    months present, for flagged partial years) and ``last_month`` (latest month with data).
    """
    s = _check_monthly(s, "annualise").dropna()
    if s.empty:
        return pd.DataFrame(
            {
                "value": pd.Series(dtype="float64"),
                "months": pd.Series(dtype="int64"),
                "complete": pd.Series(dtype="bool"),
                "partial_sum": pd.Series(dtype="float64"),
                "last_month": pd.Series(dtype="int64"),
            },
            index=pd.Index([], name="year", dtype="int64"),
        )
    g = s.groupby(s.index.year)
    out = pd.DataFrame(
        {
            "partial_sum": g.sum(),
            "months": g.size().astype("int64"),
            "last_month": g.apply(lambda x: int(x.index.month.max())).astype("int64"),
        }
    )
    out.index = out.index.astype("int64").rename("year")
    out["complete"] = out["months"] == 12
    out["value"] = out["partial_sum"].where(out["complete"])
    return out[["value", "months", "complete", "partial_sum", "last_month"]]


def year_to_date(s: pd.Series, year: int, through_month: int | None = None) -> pd.DataFrame:
    """Compare January..``through_month`` of ``year`` with the same months a year earlier.

    ``through_month`` defaults to the last month of ``year`` with data. Returns a one-row frame
    with ``year``, ``through_month``, ``current``, ``previous``, ``change`` and ``pct_change``.
    Raises if any of the months is missing in either year.
    """
    s = _check_monthly(s, "year_to_date")
    present = s.dropna()
    if through_month is None:
        months = present.index[present.index.year == year].month
        if len(months) == 0:
            raise TransformError(f"year_to_date: no data in {year}.")
        through_month = int(months.max())
    if not 1 <= through_month <= 12:
        raise TransformError(f"year_to_date: through_month must be 1..12, got {through_month}.")
    sums = {}
    for y in (year, year - 1):
        idx = pd.date_range(f"{y}-01-01", periods=through_month, freq="MS")
        vals = s.reindex(idx)
        if vals.isna().any():
            raise TransformError(
                f"year_to_date: months missing for the comparison: {_fmt_months(idx[vals.isna()])}."
            )
        sums[y] = float(vals.sum())
    prev = sums[year - 1]
    return pd.DataFrame(
        {
            "year": [year],
            "through_month": [through_month],
            "current": [sums[year]],
            "previous": [prev],
            "change": [sums[year] - prev],
            "pct_change": [100.0 * (sums[year] / prev - 1.0) if prev > 0 else math.nan],
        }
    )


def contributions(exports: pd.Series, imports: pd.Series) -> pd.DataFrame:
    """Decompose the change in the balance into export and import contributions.

    For aligned periods (annual totals indexed by year, or a monthly/annual DatetimeIndex):
    Δbalance = Δexports − Δimports, so ``export_contribution`` = Δexports and
    ``import_contribution`` = −Δimports (negative when imports rise). The changes are also given
    in percent of the previous period's two-way trade (``*_pct_trade``), which makes years of
    very different size comparable. The identity holds exactly row by row.
    """
    if not exports.index.equals(imports.index):
        raise TransformError(
            "contributions: exports and imports must share the same index; align them first "
            "(e.g. annualise both from the same monthly table)."
        )
    x = exports.astype("float64")
    m = imports.astype("float64")
    bal = x - m
    lag_x, lag_m, lag_b = _lagged(x), _lagged(m), _lagged(bal)
    out = pd.DataFrame(
        {
            "exports": x,
            "imports": m,
            "balance": bal,
            "balance_change": bal - lag_b,
            "export_contribution": x - lag_x,
            "import_contribution": -(m - lag_m),
        }
    )
    prev_trade = (lag_x + lag_m).where(lag_x + lag_m > 0)
    for col in ("balance_change", "export_contribution", "import_contribution"):
        out[f"{col}_pct_trade"] = 100.0 * out[col] / prev_trade
    return out


# ---------------------------------------------------------------------------------------------
# prices: interpolation, rebasing, deflation
# ---------------------------------------------------------------------------------------------


def interpolate_missing(s: pd.Series) -> tuple[pd.Series, list[pd.Timestamp]]:
    """Fill interior missing months by linear interpolation in time; return (filled, filled_at).

    Only gaps with observations on both sides are filled; leading/trailing gaps stay missing.
    Meant for price indices with isolated unpublished months (CPI October 2025); report the
    filled months in prose.
    """
    full = _full_months(_check_monthly(s, "interpolate_missing"))
    filled = full.interpolate(method="time", limit_area="inside")
    was_missing = full.isna() & filled.notna()
    return filled.rename(s.name), list(full.index[was_missing])


def rebase(index: pd.Series, base: str) -> pd.Series:
    """Rescale a price index so its average over ``base`` (e.g. ``"2024"``, ``"2017-01"``) is 100."""
    index = _check_monthly(index, "rebase")
    try:
        window = index.loc[base]
    except KeyError as exc:
        raise TransformError(
            f"rebase: base period {base!r} is outside the index ({_fmt_months([index.index[0]])}"
            f" to {_fmt_months([index.index[-1]])})."
        ) from exc
    if isinstance(window, pd.Series):
        expected = pd.Period(base).asfreq("M", how="end").to_timestamp()
        start = pd.Period(base).asfreq("M", how="start").to_timestamp()
        n_expected = len(pd.date_range(start, expected, freq="MS"))
        if window.notna().sum() < n_expected:
            raise TransformError(
                f"rebase: base period {base!r} has missing months; choose a complete base period "
                "or interpolate the index first (interpolate_missing)."
            )
        level = float(window.mean())
    else:
        level = float(window)
    if not np.isfinite(level) or level <= 0:
        raise TransformError(f"rebase: the index level in {base!r} is not positive ({level}).")
    return (100.0 * index / level).rename(index.name)


def deflate(nominal: pd.Series, price_index: pd.Series, base: str) -> pd.Series:
    """Express a monthly $ series in constant prices of ``base`` (average of the base period).

    real_t = nominal_t × 100 / P_t, with P rebased so that its ``base`` average is 100. Raises
    when the price index lacks a month in which ``nominal`` has a value: fill the gap explicitly
    (e.g. :func:`interpolate_missing`) and say so. The result's ``attrs["base"]`` records the base.
    """
    nominal = _check_monthly(nominal, "deflate(nominal)")
    p = rebase(price_index, base)
    aligned = p.reindex(nominal.index)
    gaps = nominal.notna() & aligned.isna()
    if gaps.any():
        raise TransformError(
            f"deflate: the price index has no value for {_fmt_months(nominal.index[gaps])}; "
            "extend it or fill the gap with tradelib.analysis.transform.interpolate_missing and say so."
        )
    real = (nominal * 100.0 / aligned).rename(nominal.name)
    real.attrs["base"] = base
    return real


# ---------------------------------------------------------------------------------------------
# seasonal adjustment
# ---------------------------------------------------------------------------------------------


def x13_available() -> bool:
    """True when the Census X-13ARIMA-SEATS binary is on PATH (statsmodels can then call it)."""
    return shutil.which("x13as") is not None or shutil.which("x13as_ascii") is not None


def seasonal_adjust(
    s: pd.Series,
    *,
    seasonal: int = 13,
    robust: bool = True,
    log: bool = True,
) -> pd.DataFrame:
    """Seasonally adjust a monthly flow with STL (Cleveland et al. 1990) via statsmodels.

    Leading/trailing missing months are dropped; interior gaps raise. With ``log=True`` (the
    default, for positive flows) the decomposition is multiplicative: STL runs on ln(x) and the
    adjusted series is exp(ln x − seasonal). ``seasonal`` is the (odd) seasonal smoother length
    in years; ``robust`` down-weights outliers such as April 2020.

    Returns a frame with ``observed``, ``trend``, ``seasonal`` (factor if ``log`` else additive
    component) and ``adjusted``, on the months used.
    """
    from statsmodels.tsa.seasonal import STL

    s = _full_months(_check_monthly(s, "seasonal_adjust"))
    first, last = s.first_valid_index(), s.last_valid_index()
    if first is None:
        raise TransformError("seasonal_adjust: the series has no data.")
    s = s.loc[first:last]
    if s.isna().any():
        raise TransformError(
            f"seasonal_adjust: interior missing months {_fmt_months(s.index[s.isna()])}; STL "
            "needs a gap-free series — shorten the sample or fill the gap and say so."
        )
    if len(s) < 36:
        raise TransformError(
            f"seasonal_adjust: {len(s)} months is too short; STL needs at least 3 full years."
        )
    if seasonal < 7 or seasonal % 2 == 0:
        raise TransformError(f"seasonal_adjust: seasonal must be odd and >= 7, got {seasonal}.")
    if log and (s <= 0).any():
        raise TransformError(
            "seasonal_adjust: log=True needs a positive series (adjust exports and imports, then "
            "take the balance of the adjusted flows); use log=False for additive adjustment."
        )
    y = np.log(s) if log else s
    res = STL(y, period=12, seasonal=seasonal, robust=robust).fit()
    if log:
        out = pd.DataFrame(
            {
                "observed": s,
                "trend": np.exp(res.trend),
                "seasonal": np.exp(res.seasonal),
                "adjusted": np.exp(y - res.seasonal),
            }
        )
    else:
        out = pd.DataFrame(
            {
                "observed": s,
                "trend": res.trend,
                "seasonal": res.seasonal,
                "adjusted": s - res.seasonal,
            }
        )
    out.index.name = s.index.name or "date"
    return out


def compare_series(a: pd.Series, b: pd.Series) -> dict[str, float | int | str]:
    """Summarise how two monthly series differ over the months both have (a − b).

    Returns ``months``, ``start``, ``end``, ``mean_diff``, ``mean_abs_diff``, ``rmse``,
    ``max_abs_diff``, ``max_abs_month`` and ``corr``.
    """
    both = pd.concat({"a": a, "b": b}, axis=1, sort=True).dropna()
    if both.empty:
        raise TransformError("compare_series: the two series share no month with data.")
    d = both["a"] - both["b"]
    i = d.abs().idxmax()
    return {
        "months": len(d),
        "start": both.index[0].strftime("%Y-%m"),
        "end": both.index[-1].strftime("%Y-%m"),
        "mean_diff": float(d.mean()),
        "mean_abs_diff": float(d.abs().mean()),
        "rmse": float(np.sqrt((d**2).mean())),
        "max_abs_diff": float(d.abs().max()),
        "max_abs_month": pd.Timestamp(i).strftime("%Y-%m"),
        "corr": float(both["a"].corr(both["b"])) if len(d) > 2 else math.nan,
    }


# ---------------------------------------------------------------------------------------------
# partner comparisons
# ---------------------------------------------------------------------------------------------


def share(part: pd.Series, total: pd.Series) -> pd.Series:
    """``part`` as a percentage of ``total`` on common index values (NaN where total is 0/NaN)."""
    p, t = part.align(total, join="inner")
    t = t.where(t != 0)
    return (100.0 * p / t).rename(part.name)


def two_way_ranking(
    trade: pd.DataFrame, *, countries_only: bool = True, complete_years_only: bool = True
) -> pd.DataFrame:
    """Rank partners by annual two-way trade (exports + imports) in each calendar year.

    ``countries_only`` drops Census groupings (codes below 1000: World, EU, regions, USMCA
    claims) and 'Unidentified Countries', so rank 1 is the top single-country partner.
    A partner-year counts only if both flows are present in all 12 months (unless
    ``complete_years_only=False``, in which case ``months`` says how many were summed).
    Returns ``year, partner_code, partner, exports, imports, two_way, months, rank``.
    """
    wide = balance(trade)
    if countries_only:
        wide = wide[~wide["partner_code"].map(is_aggregate).astype(bool)]
    wide = wide.dropna(subset=["exports", "imports"])
    wide = wide.assign(year=wide["date"].dt.year.astype("int64"))
    g = wide.groupby(["year", "partner_code", "partner"], as_index=False, observed=True)
    annual = g.agg(
        exports=("exports", "sum"),
        imports=("imports", "sum"),
        two_way=("two_way", "sum"),
        months=("date", "nunique"),
    )
    if complete_years_only:
        annual = annual[annual["months"] == 12]
    annual = annual.assign(
        rank=annual.groupby("year")["two_way"].rank(ascending=False, method="min").astype("int64")
    )
    return annual.sort_values(["year", "rank"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# selections and summaries used by the notebooks
# ---------------------------------------------------------------------------------------------


def between(obj: pd.DataFrame | pd.Series, start: object | None, end: object | None):
    """Keep rows with dates in [start, end] (month strings like ``"1985-01"``; None = open).

    Works on a frame with a ``date`` column or on a series/frame with a DatetimeIndex. ``end``
    includes its whole month/year (``"2024"`` keeps December 2024).
    """
    if isinstance(obj, pd.DataFrame) and "date" in obj.columns:
        dates = pd.DatetimeIndex(obj["date"])
    elif isinstance(obj.index, pd.DatetimeIndex):
        dates = obj.index
    else:
        raise TransformError(
            "between: expected a frame with a 'date' column or an object with a DatetimeIndex."
        )
    keep = np.ones(len(obj), dtype=bool)
    if start is not None:
        keep &= dates >= _as_period(start).start_time
    if end is not None:
        keep &= dates <= _as_period(end).end_time
    return obj[keep]


def _as_period(value: object) -> pd.Period:
    """``"2024"`` -> the year 2024, ``"2024-03"`` -> March 2024, a timestamp -> its month."""
    if isinstance(value, pd.Period):
        return value
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return pd.Period(pd.Timestamp(value), freq="M")
    try:
        return pd.Period(str(value))
    except ValueError as exc:
        raise TransformError(
            f"between: cannot read {value!r} as a period; use 'YYYY' or 'YYYY-MM'."
        ) from exc


def monthly_frame(trade: pd.DataFrame, partner_code: str) -> pd.DataFrame:
    """One partner's monthly exports, imports, balance and two-way trade, indexed by ``date``.

    Every month between the first and last month with data is present (gaps are NaN rows).
    """
    wide = balance(trade)
    code = str(partner_code).zfill(4)
    one = wide[wide["partner_code"] == code]
    if one.empty:
        raise TransformError(
            f"monthly_frame: partner code {code} is not in the table (codes present: "
            f"{sorted(wide['partner_code'].unique().tolist())[:10]}); load it with "
            "tradelib.load_trade([...])."
        )
    frame = one.set_index("date")[["exports", "imports", "balance", "two_way"]].astype("float64")
    idx = pd.date_range(frame.index.min(), frame.index.max(), freq="MS", name="date")
    return frame.reindex(idx)


def annual_flows(frame: pd.DataFrame) -> pd.DataFrame:
    """Calendar-year totals of every column of a monthly frame (e.g. from :func:`monthly_frame`).

    A year's totals are NaN unless all 12 months of *every* column are present; ``months``
    counts the months in which every column has data and ``complete`` flags full years.
    """
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TransformError("annual_flows: the frame needs a DatetimeIndex of month starts.")
    full = frame.dropna(how="any")
    counts = annualise(full.iloc[:, 0])["months"] if len(full) else pd.Series(dtype="int64")
    out = pd.DataFrame({col: annualise(full[col])["value"] for col in frame.columns})
    out["months"] = counts.reindex(out.index).fillna(0).astype("int64")
    out["complete"] = out["months"] == 12
    out.index.name = "year"
    return out


def runs(s: pd.Series) -> list[tuple[object, object, object]]:
    """Consecutive runs of equal values: ``[(first_index, last_index, value), ...]`` in order.

    Missing values break runs and are not reported.
    """
    out: list[tuple[object, object, object]] = []
    for idx, value in s.items():
        if pd.isna(value):
            continue
        if out and out[-1][2] == value and _adjacent(s, out[-1][1], idx):
            out[-1] = (out[-1][0], idx, value)
        else:
            out.append((idx, idx, value))
    return out


def _adjacent(s: pd.Series, a: object, b: object) -> bool:
    """True when ``b`` directly follows ``a`` in the index of ``s``."""
    pos = s.index.get_loc(a)
    return pos + 1 < len(s) and s.index[pos + 1] == b


#: Below this many observations the trend's standard error is the classical OLS one: a
#: Newey–West estimate from 10 annual points is too noisy to trust (and is often smaller).
SMALL_SAMPLE = 30


def log_trend_growth(
    s: pd.Series, *, maxlags: int | None = None, level: float = 0.95
) -> dict[str, float | int | str]:
    """Average growth rate from a log-linear trend, with small-sample (t) intervals.

    Fits ln(y_t) = a + b·t + u_t by OLS, with t in years (integer-year index, or a DatetimeIndex
    converted to fractional years), on the positive, non-missing values of ``s``.

    Standard error of b: with fewer than :data:`SMALL_SAMPLE` observations (annual series) the
    classical OLS one (``maxlags`` = 0); otherwise Newey–West (HAC) with the n/(n−k) small-sample
    correction and ``maxlags`` from the rule floor(4·(n/100)^(2/9)). ``maxlags`` overrides
    (0 = classical OLS). The interval is b ± t(n−2; ``level``)·se, a Student t with n − 2
    degrees of freedom, not the normal 1.96.

    Returns the growth rate (``rate`` as a fraction, ``rate_pct`` in percent a year,
    100·(e^b − 1)) with its interval (``ci_low_pct``, ``ci_high_pct``), ``b``, ``se``,
    ``se_kind``, ``df``, ``n``, ``maxlags``, ``first``/``last`` (labels of the first and last
    observations) and ``r2``. The trend is a description: breaks (recessions, agreements) are
    not modelled.
    """
    import statsmodels.api as sm
    from scipy import stats

    y = s.astype("float64").dropna()
    if (y <= 0).any():
        raise TransformError(
            "log_trend_growth: needs positive values (take the absolute value of a deficit that "
            "never changes sign, or model exports and imports separately)."
        )
    if len(y) < 5:
        raise TransformError(f"log_trend_growth: {len(y)} observations are too few (need >= 5).")
    if not 0 < level < 1:
        raise TransformError(f"log_trend_growth: level must be in (0, 1), got {level}.")
    if isinstance(y.index, pd.DatetimeIndex):
        t = y.index.year + (y.index.month - 1) / 12.0
        labels = (y.index[0].strftime("%Y-%m"), y.index[-1].strftime("%Y-%m"))
    elif pd.api.types.is_integer_dtype(y.index):
        t = y.index.astype("float64")
        labels = (str(y.index[0]), str(y.index[-1]))
    else:
        raise TransformError("log_trend_growth: index must be integer years or a DatetimeIndex.")
    n = len(y)
    if maxlags is None:
        lags = 0 if n < SMALL_SAMPLE else int(np.floor(4 * (n / 100) ** (2 / 9)))
    else:
        lags = int(maxlags)
    x = sm.add_constant(np.asarray(t - t[0], dtype="float64"))
    logy = np.log(y.to_numpy())
    if lags == 0:
        fit = sm.OLS(logy, x).fit()
        se_kind = "OLS"
    else:
        fit = sm.OLS(logy, x).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
        )
        se_kind = f"HAC({lags})"
    b, se = float(fit.params[1]), float(fit.bse[1])
    df = n - 2
    crit = float(stats.t.ppf(0.5 + level / 2, df))
    tss = float(((logy - logy.mean()) ** 2).sum())
    return {
        "rate": math.expm1(b),
        "rate_pct": 100.0 * math.expm1(b),
        "ci_low_pct": 100.0 * math.expm1(b - crit * se),
        "ci_high_pct": 100.0 * math.expm1(b + crit * se),
        "level": level,
        "b": b,
        "se": se,
        "se_kind": se_kind,
        "df": df,
        "n": n,
        "maxlags": lags,
        "first": labels[0],
        "last": labels[1],
        "r2": float(1.0 - fit.ssr / tss) if tss > 0 else math.nan,
    }


def trend_growth(
    annual: pd.Series, years: int = 10, *, end: int | None = None, level: float = 0.95
) -> dict[str, float | int | str]:
    """THE definition of "``years``-year trend growth" used by every notebook.

    The log-linear trend (:func:`log_trend_growth`) fitted to the ``years`` annual values
    ending at ``end`` (default: the last year of ``annual``), i.e. years ``end-years+1 .. end``.
    ``annual`` is indexed by integer year and holds complete years only. Every year of the
    window must be present and positive (use exports, imports, or minus a balance that is a
    deficit in every year). Returns the dict of :func:`log_trend_growth`; ``rate`` is the growth
    as a fraction a year, with a t(n−2) interval in ``ci_low_pct``/``ci_high_pct``.
    """
    if not pd.api.types.is_integer_dtype(annual.index):
        raise TransformError("trend_growth: index the annual series by integer year.")
    if years < 5:
        raise TransformError(f"trend_growth: years={years} is too short (need >= 5).")
    last = int(annual.index.max()) if end is None else int(end)
    window = list(range(last - years + 1, last + 1))
    w = annual.reindex(window).astype("float64")
    missing = [y for y, v in w.items() if pd.isna(v)]
    if missing:
        raise TransformError(
            f"trend_growth: years {missing} are missing from the {years}-year window "
            f"{window[0]}–{window[-1]}; pass complete years only or choose another end."
        )
    if (w <= 0).any():
        raise TransformError(
            f"trend_growth: values must be positive in {window[0]}–{window[-1]} "
            "(use minus the balance only when it is a deficit in every year)."
        )
    return log_trend_growth(w, level=level)
