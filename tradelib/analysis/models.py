"""Estimation frames, regressions with robust standard errors, event studies and their plots.

The functions here serve notebook 04 (what drives import growth from a partner?) but are general:

* **Frames.** :func:`align_monthly` puts monthly series on one month-start index,
  :func:`log_change` and :func:`log1p_rate_change` compute 12-month log changes,
  :func:`growth_frame` does both for a table of levels, :func:`panel_frame` builds a
  unit-by-month panel and merges a regressor (e.g. tariff exposure by HS section),
  :func:`share_frame` turns partner imports into shares of a world total.
* **Time series.** :func:`fit_ols_hac` is OLS with Newey–West (HAC) errors; the lag rule for
  overlapping 12-month changes is :func:`hac_lags`.
* **Panels.** :func:`fit_panel_fe` is OLS with unit and time fixed effects (linearmodels
  ``PanelOLS``) and a choice of errors suited to few clusters (CR1 with t(G-1), Driscoll–Kraay);
  :func:`wild_cluster_bootstrap` adds a wild cluster restricted bootstrap with Webb weights.
* **Event studies.** :func:`group_log_ratio` (treated units versus the rest, in logs),
  :func:`fit_event_study_series` (deviations from a seasonal baseline, with prediction bands)
  and :func:`fit_did_series` (average post-event shift, HAC errors).
* **Reporting.** :func:`tidy` (estimate, se, ci, p, N, sample), :func:`diagnostics`,
  :func:`vif_table`, :func:`split_sample`, :func:`influence_table`, :func:`coef_plot`,
  :func:`event_study_plot`.

Changes are in log points (0.10 = 10 log points ≈ 10.5 %); :func:`elasticity_effect` converts an
elasticity into the percentage response to a given percentage change of a regressor.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from tradelib.errors import TradelibError

__all__ = [
    "ModelError",
    "PanelFit",
    "align_monthly",
    "calibrated_pvalue",
    "coef_plot",
    "diagnostics",
    "elasticity_effect",
    "event_study_plot",
    "fit_did_series",
    "fit_event_study_series",
    "fit_iv_fe",
    "fit_ols_hac",
    "fit_panel_fe",
    "group_log_ratio",
    "growth_frame",
    "hac_lags",
    "influence_table",
    "leave_one_unit_out",
    "log1p_rate_change",
    "log_change",
    "panel_diagnostics",
    "panel_frame",
    "placebo_did",
    "placebo_did_many",
    "placebo_event_study",
    "placebo_groups",
    "placebo_plot",
    "placebo_summary",
    "placebo_synthetic_did",
    "product_panel",
    "section_rates",
    "share_frame",
    "split_sample",
    "synthetic_did",
    "synthetic_weights",
    "tidy",
    "vif_table",
    "webb_weights",
    "wild_cluster_bootstrap",
]

#: Horizon of the changes used throughout (months); overlapping 12-month changes are MA(11).
HORIZON = 12

PanelCov = Literal["cluster", "driscoll-kraay"]


class ModelError(TradelibError):
    """An estimation frame or model cannot be built from the inputs given."""


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _month_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    """Return ``index`` as month-start timestamps; raise if it is not datetime-like or repeats."""
    try:
        idx = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{what}: index must hold dates (got {index.dtype}); pass a Series indexed by month."
        ) from exc
    idx = idx.to_period("M").to_timestamp()
    if idx.has_duplicates:
        dup = idx[idx.duplicated()][0]
        raise ModelError(
            f"{what}: month {dup:%Y-%m} appears more than once; aggregate to one value per month "
            "first (e.g. .resample('MS').mean())."
        )
    return idx


def _regular(s: pd.Series, what: str) -> pd.Series:
    """Put ``s`` on a complete month-start index (missing months become NaN)."""
    s = s.copy()
    s.index = _month_index(s.index, what)
    s = s.sort_index()
    if s.empty:
        raise ModelError(f"{what}: the series is empty.")
    full = pd.date_range(s.index.min(), s.index.max(), freq="MS")
    return s.reindex(full)


def align_monthly(
    series: Mapping[str, pd.Series], how: Literal["inner", "outer"] = "inner"
) -> pd.DataFrame:
    """Align monthly series on one complete month-start index.

    Each series is indexed by dates (any day in the month; normalised to the month start).
    ``how="inner"`` keeps the months from the latest first month to the earliest last month,
    ``"outer"`` the union. Missing months inside the range are NaN rows, never dropped, so a
    12-row shift is always a 12-month shift.
    """
    if not series:
        raise ModelError("align_monthly: no series given.")
    cols = {
        name: _regular(pd.Series(s, dtype="float64"), f"series {name!r}")
        for name, s in series.items()
    }
    starts = [c.index.min() for c in cols.values()]
    ends = [c.index.max() for c in cols.values()]
    if how == "inner":
        start, end = max(starts), min(ends)
        if start > end:
            raise ModelError(
                f"align_monthly: the series do not overlap (latest start {start:%Y-%m}, earliest "
                f"end {end:%Y-%m}); use how='outer' or check the inputs."
            )
    elif how == "outer":
        start, end = min(starts), max(ends)
    else:
        raise ModelError(f"align_monthly: how must be 'inner' or 'outer', not {how!r}.")
    idx = pd.date_range(start, end, freq="MS", name="date")
    return pd.DataFrame({name: c.reindex(idx) for name, c in cols.items()}, index=idx)


def log_change(s: pd.Series, periods: int = HORIZON) -> pd.Series:
    """``log(x_t) - log(x_{t-periods})`` on a regular monthly index (log points).

    Non-positive or missing values give NaN (Census writes 0 for unpublished months).
    """
    if periods < 1:
        raise ModelError(f"log_change: periods must be >= 1, got {periods}.")
    x = _regular(pd.Series(s, dtype="float64"), f"log_change({s.name!r})")
    logx = np.log(x.where(x > 0))
    out = logx - logx.shift(periods)
    out.name = s.name
    return out


def log1p_rate_change(rate: pd.Series, periods: int = HORIZON) -> pd.Series:
    """``log(1 + τ_t) - log(1 + τ_{t-periods})`` for a rate τ given as a fraction.

    This is the tariff term of a constant-elasticity import demand: a duty τ raises the
    buyer's price by the factor 1 + τ.
    """
    r = _regular(pd.Series(rate, dtype="float64"), f"log1p_rate_change({rate.name!r})")
    if (r.dropna() <= -1).any():
        raise ModelError(
            f"log1p_rate_change({rate.name!r}): rates must be fractions above -1 (0.05 = 5 %); "
            "did you pass percentages or a negative level?"
        )
    if (r.dropna() > 5).any():
        raise ModelError(
            f"log1p_rate_change({rate.name!r}): a rate above 5 (500 %) looks like a percentage; "
            "divide by 100."
        )
    lr = np.log1p(r)
    out = lr - lr.shift(periods)
    out.name = rate.name
    return out


def growth_frame(
    levels: pd.DataFrame,
    periods: int = HORIZON,
    rate_columns: Iterable[str] = (),
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    dropna: bool = True,
) -> pd.DataFrame:
    """Turn a table of monthly levels into ``periods``-month log changes.

    Columns in ``rate_columns`` are rates (fractions) and get ``log(1+τ)`` changes; the others
    get log changes. ``start``/``end`` trim the result (after differencing, so the first
    ``periods`` months of ``levels`` are used as base months). ``attrs["sample"]`` holds
    ``"YYYY-MM to YYYY-MM"``.
    """
    rates = set(rate_columns)
    unknown = rates - set(levels.columns)
    if unknown:
        raise ModelError(f"growth_frame: rate_columns {sorted(unknown)} are not in the table.")
    out = pd.DataFrame(
        {
            c: (
                log1p_rate_change(levels[c], periods)
                if c in rates
                else log_change(levels[c], periods)
            )
            for c in levels.columns
        }
    )
    out.index.name = "date"
    if start is not None:
        out = out.loc[pd.Timestamp(start) :]
    if end is not None:
        out = out.loc[: pd.Timestamp(end)]
    if dropna:
        out = out.dropna()
    if out.empty:
        raise ModelError(
            "growth_frame: no complete months left after differencing; check that the series "
            f"overlap for more than {periods} months."
        )
    out.attrs["sample"] = sample_label(out.index)
    return out


def sample_label(dates: Iterable[Any]) -> str:
    """``"YYYY-MM to YYYY-MM"`` for the first and last of ``dates``."""
    d = pd.DatetimeIndex(pd.Series(list(dates)))
    return f"{d.min():%Y-%m} to {d.max():%Y-%m}"


def panel_frame(
    values: pd.DataFrame,
    regressor: pd.DataFrame | None = None,
    *,
    unit: str = "section",
    value: str = "imports_usd",
    regressor_value: str = "exposure",
    periods: int = HORIZON,
    fill_regressor: float | None = 0.0,
) -> pd.DataFrame:
    """Build a unit-by-month panel of ``periods``-month log changes.

    ``values`` is long (``date``, ``unit``, ``value``). ``regressor`` (optional) is long
    (``date``, ``unit``, ``regressor_value``) holding a rate as a fraction, e.g. the tariff
    exposure of an HS section; unit-months absent from it are filled with ``fill_regressor``
    (0 = no tariff action) unless that is None. Returns ``date, unit, log_level, dlog`` and, with
    a regressor, ``rate`` and ``d_rate`` (12-month change of log(1 + rate)), plus ``month``
    (calendar month, for seasonal fixed effects). Rows with a missing ``dlog`` are dropped.
    """
    need = {"date", unit, value}
    missing = need - set(values.columns)
    if missing:
        raise ModelError(f"panel_frame: values lacks columns {sorted(missing)}.")
    pieces = []
    for u, g in values.groupby(unit, sort=True):
        s = g.set_index("date")[value]
        s.name = value
        lvl = _regular(s.astype("float64"), f"panel_frame unit {u!r}")
        part = pd.DataFrame(
            {
                "date": lvl.index,
                unit: u,
                "log_level": np.log(lvl.where(lvl > 0)).to_numpy(),
                "dlog": log_change(lvl, periods).to_numpy(),
            }
        )
        pieces.append(part)
    panel = pd.concat(pieces, ignore_index=True)
    if regressor is not None:
        need_r = {"date", unit, regressor_value}
        missing_r = need_r - set(regressor.columns)
        if missing_r:
            raise ModelError(f"panel_frame: regressor lacks columns {sorted(missing_r)}.")
        reg = regressor[["date", unit, regressor_value]].copy()
        reg["date"] = pd.DatetimeIndex(reg["date"]).to_period("M").to_timestamp()
        if reg.duplicated(["date", unit]).any():
            raise ModelError("panel_frame: regressor has more than one row per unit and month.")
        reg = reg.rename(columns={regressor_value: "rate"})
        panel = panel.merge(reg, on=["date", unit], how="left")
        if fill_regressor is not None:
            panel["rate"] = panel["rate"].fillna(fill_regressor)
        lr = np.log1p(panel["rate"])
        panel["d_rate"] = lr - lr.groupby(panel[unit]).shift(periods)
    panel["month"] = pd.DatetimeIndex(panel["date"]).month
    panel = panel.dropna(subset=["dlog"]).reset_index(drop=True)
    panel.attrs["sample"] = sample_label(panel["date"])
    return panel


def share_frame(
    trade: pd.DataFrame,
    world_code: str = "0015",
    flow: str = "imports",
    rest_name: str = "Rest of world",
) -> pd.DataFrame:
    """Partner shares of a world total from a ``tl.load_trade`` table.

    Returns a wide frame indexed by month with one column per partner (value / world), a
    ``rest_name`` column (1 - sum of the partners) and ``world`` (the total, $ millions).
    Months where the world total or any partner is missing are dropped.
    """
    need = {"date", "partner_code", "partner", "flow", "value_musd"}
    missing = need - set(trade.columns)
    if missing:
        raise ModelError(f"share_frame: trade table lacks columns {sorted(missing)}.")
    t = trade[trade["flow"] == flow]
    if world_code not in set(t["partner_code"]):
        raise ModelError(
            f"share_frame: world code {world_code!r} not in the table; load it too, e.g. "
            f"tl.load_trade(['Mexico', 'China', '{world_code}'])."
        )
    wide = t.pivot_table(index="date", columns="partner_code", values="value_musd", aggfunc="first")
    names = t.drop_duplicates("partner_code").set_index("partner_code")["partner"]
    world = wide.pop(world_code)
    shares = wide.div(world, axis=0)
    shares.columns = [str(names[c]) for c in shares.columns]
    shares[rest_name] = 1.0 - shares.sum(axis=1, min_count=shares.shape[1])
    shares["world"] = world
    shares = shares.dropna()
    shares.index = pd.DatetimeIndex(shares.index, name="date")
    return shares


# --------------------------------------------------------------------------------------------
# Time-series OLS with HAC errors
# --------------------------------------------------------------------------------------------


def hac_lags(nobs: int, overlap: int = HORIZON) -> int:
    """Newey–West lag length: ``max(overlap, floor(4 (T/100)^(2/9)))``.

    The second term is Newey and West's (1994) plug-in rule of thumb. With overlapping
    ``overlap``-month changes the errors are at least MA(overlap - 1) by construction, and the
    Bartlett kernel down-weights lag ``j`` by ``1 - j/(L+1)``, so ``L`` must be at least the
    overlap for the induced autocorrelation to be covered.
    """
    if nobs < 2:
        raise ModelError(f"hac_lags: need at least 2 observations, got {nobs}.")
    return int(max(overlap, np.floor(4 * (nobs / 100) ** (2 / 9))))


def _check_columns(frame: pd.DataFrame, cols: Sequence[str], where: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ModelError(
            f"{where}: columns {missing} are not in the frame ({list(frame.columns)})."
        )


def fit_ols_hac(
    frame: pd.DataFrame,
    y: str,
    x: Sequence[str],
    lags: int | None = None,
    overlap: int = HORIZON,
    extra: pd.DataFrame | None = None,
) -> Any:
    """OLS of ``y`` on a constant and ``x`` with Newey–West (Bartlett) standard errors.

    ``lags=None`` uses :func:`hac_lags`. Inference uses the t distribution with T - K degrees of
    freedom and the small-sample factor T/(T-K). ``extra`` adds columns (e.g. dummies) aligned
    on the frame's index. Rows with any missing value are dropped. The returned statsmodels
    result carries ``.hac_lags`` and ``.sample``.
    """
    _check_columns(frame, [y, *x], "fit_ols_hac")
    data = frame[[y, *x]]
    if extra is not None:
        data = data.join(extra, how="left")
    data = data.dropna()
    if len(data) <= len(data.columns) + 1:
        raise ModelError(
            f"fit_ols_hac: only {len(data)} complete rows for {len(data.columns)} columns."
        )
    L = hac_lags(len(data), overlap) if lags is None else int(lags)
    X = sm.add_constant(data.drop(columns=[y]), has_constant="add")
    res = sm.OLS(data[y], X).fit(
        cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True}, use_t=True
    )
    res.hac_lags = L
    res.sample = sample_label(data.index) if isinstance(data.index, pd.DatetimeIndex) else ""
    return res


# --------------------------------------------------------------------------------------------
# Panel with fixed effects
# --------------------------------------------------------------------------------------------


def _fe_design(
    frame: pd.DataFrame, x: Sequence[str], fe: Sequence[str | Sequence[str]]
) -> pd.DataFrame:
    """Design matrix: constant, ``x`` and dummies (first level dropped) for each FE spec.

    An FE spec is a column name or a tuple of names (their interaction).
    """
    parts = [pd.DataFrame({"const": 1.0}, index=frame.index), frame[list(x)].astype("float64")]
    for spec in fe:
        cols = [spec] if isinstance(spec, str) else list(spec)
        label = ":".join(cols)
        key = frame[cols].astype(str).agg("|".join, axis=1) if len(cols) > 1 else frame[cols[0]]
        d = pd.get_dummies(key.astype(str), prefix=label, drop_first=True, dtype="float64")
        parts.append(d)
    return pd.concat(parts, axis=1)


def _fe_codes(data: pd.DataFrame, fe: Sequence[str | Sequence[str]]) -> list[np.ndarray]:
    """Integer codes (0..levels-1) of each fixed-effect spec (a column or a tuple of columns)."""
    codes = []
    for spec in fe:
        cols = [spec] if isinstance(spec, str) else list(spec)
        key = data[cols[0]] if len(cols) == 1 else data[cols].astype(str).agg("|".join, axis=1)
        codes.append(pd.factorize(key, sort=True)[0])
    return codes


def _indicator(codes: np.ndarray) -> Any:
    """Sparse levels-by-rows 0/1 matrix: ``D @ A`` sums the rows of ``A`` within each level."""
    from scipy import sparse

    n = len(codes)
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(int(codes.max()) + 1, n))


def _demean(
    A: np.ndarray, codes: Sequence[np.ndarray], tol: float = 1e-13, max_iter: int = 10_000
) -> np.ndarray:
    """Sweep out every set of fixed effects from the columns of ``A`` (alternating projections).

    The result equals the residuals of least squares on the full set of dummies (Frisch–Waugh–
    Lovell); one pass is exact for one set of effects or a balanced two-way panel, otherwise the
    sweeps repeat until nothing changes.
    """
    A = np.array(A, dtype="float64", copy=True)
    if A.ndim == 1:
        A = A[:, None]
    ind = [_indicator(c) for c in codes]
    counts = [np.bincount(c) for c in codes]
    for _ in range(max_iter):
        before = A.copy()
        for c, D, n in zip(codes, ind, counts):
            A -= ((D @ A) / n[:, None])[c]
        if np.max(np.abs(A - before)) <= tol * max(1.0, float(np.max(np.abs(before)))):
            return A
    raise ModelError("fixed effects: alternating projections did not converge; check the design.")


@dataclass
class _ModelInfo:
    """What reporting helpers read from ``res.model`` (statsmodels-like names)."""

    endog_names: str
    exog_names: list[str]
    exog: np.ndarray


@dataclass
class PanelFit:
    """A fixed-effects panel fit by linearmodels ``PanelOLS``, with the statsmodels-like names
    the reporting helpers use (``params``, ``bse``, ``tvalues``, ``pvalues``, ``nobs``,
    ``resid``, ``df_resid``, ``df_resid_inference``, ``model``) and the linearmodels result
    itself in ``lm``. p-values and intervals use t(``df_resid_inference``)."""

    lm: Any
    params: pd.Series
    bse: pd.Series
    nobs: int
    resid: pd.Series
    df_resid: int
    df_resid_inference: int
    model: _ModelInfo
    cov_name: str
    sample: str
    n_clusters: int
    k_fe: int

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(
            2 * stats.t.sf(np.abs(self.tvalues), self.df_resid_inference), index=self.params.index
        )


def fit_panel_fe(
    frame: pd.DataFrame,
    y: str,
    x: Sequence[str],
    *,
    unit: str = "section",
    time: str = "date",
    fe: Sequence[str | Sequence[str]] | None = None,
    cov: PanelCov = "cluster",
    lags: int = HORIZON,
    cluster: str | None = None,
) -> PanelFit:
    """OLS with fixed effects (linearmodels ``PanelOLS``) and errors suited to few units.

    ``fe`` defaults to unit and time (each month) fixed effects; at most two sets (columns or
    tuples of columns, their interaction) are absorbed. Small-sample factors count the absorbed
    effects in K. ``cov``:

    * ``"cluster"``: cluster-robust by ``cluster`` (default: ``unit``), CR1 factor
      G/(G-1)·(N-1)/(N-K) (linearmodels ``clustered`` with ``debiased`` and ``group_debias``),
      t(G-1) critical values;
    * ``"driscoll-kraay"``: scores summed over units per month, then Newey–West (Bartlett)
      over months with ``lags`` and factor N/(N-K) (linearmodels ``kernel`` covariance);
      robust to common shocks; t(T-1).

    Returns a :class:`PanelFit` (``.n_clusters``, ``.cov_name``, ``.sample``, ``.k_fe``:
    absorbed parameters, constant included).
    """
    from linearmodels.panel import PanelOLS

    fe = [unit, time] if fe is None else list(fe)
    if len(fe) > 2:
        raise ModelError(f"fit_panel_fe: at most two sets of fixed effects, got {fe}.")
    fe_cols = [c for spec in fe for c in ([spec] if isinstance(spec, str) else spec)]
    cl = unit if cluster is None else cluster
    _check_columns(frame, [y, *x, unit, time, cl, *fe_cols], "fit_panel_fe")
    if cov not in ("cluster", "driscoll-kraay"):
        raise ModelError(
            f"fit_panel_fe: cov must be 'cluster' or 'driscoll-kraay', not {cov!r}; for few "
            "treated clusters add wild_cluster_bootstrap."
        )
    data = frame.dropna(subset=[y, *x]).sort_values([unit, time]).reset_index(drop=True)
    if data.empty:
        raise ModelError("fit_panel_fe: no complete rows.")
    codes = _fe_codes(data, fe)
    k_fe = 1 + sum(int(c.max()) for c in codes)
    n, kx = len(data), len(x)
    if n <= kx + k_fe:
        raise ModelError(f"fit_panel_fe: {n} rows cannot identify {kx + k_fe} parameters.")
    tcode = pd.factorize(data[time], sort=True)[0]
    groups = pd.factorize(data[unit], sort=True)[0]
    idx = pd.MultiIndex.from_arrays([groups, tcode], names=["unit", "time"])
    Yp = pd.Series(data[y].to_numpy(dtype="float64"), index=idx, name=y)
    Xp = pd.DataFrame(data[list(x)].to_numpy(dtype="float64"), index=idx, columns=list(x))
    if fe == [unit, time]:
        model = PanelOLS(Yp, Xp, entity_effects=True, time_effects=True)
    else:
        other = pd.DataFrame({f"fe{i}": c for i, c in enumerate(codes)}, index=idx)
        model = PanelOLS(Yp, Xp, other_effects=other)
    if cov == "cluster":
        cgroups = groups if cl == unit else pd.factorize(data[cl], sort=True)[0]
        res = model.fit(
            cov_type="clustered", clusters=pd.DataFrame({"c": cgroups}, index=idx),
            debiased=True, group_debias=True,
        )
        name = "cluster by " + cl + " (CR1, t(G-1))"
        df_inf = int(cgroups.max())  # G - 1
    else:
        res = model.fit(cov_type="kernel", kernel="bartlett", bandwidth=int(lags), debiased=True)
        name = f"Driscoll–Kraay ({lags} lags, t(T-1))"
        df_inf = int(tcode.max())  # T - 1
    Xt = _demean(data[list(x)].to_numpy(dtype="float64"), codes)
    return PanelFit(
        lm=res,
        params=pd.Series(res.params, index=list(x)),
        bse=pd.Series(res.std_errors, index=list(x)),
        nobs=int(res.nobs),
        resid=pd.Series(np.asarray(res.resids), name="resid"),
        df_resid=int(n - kx - k_fe),
        df_resid_inference=df_inf,
        model=_ModelInfo(endog_names=y, exog_names=list(x), exog=Xt),
        cov_name=name,
        sample=sample_label(data[time]),
        n_clusters=int(df_inf + 1) if cov == "cluster" else int(groups.max() + 1),
        k_fe=k_fe,
    )


def _panel_slopes(
    data: pd.DataFrame, y: str, x: Sequence[str], unit: str, time: str, cov: PanelCov, lags: int
) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and standard errors of :func:`fit_panel_fe` (unit and time effects) in numpy.

    The same estimator and the same covariance formulas (CR1 by unit; Driscoll–Kraay with
    Bartlett weights and N/(N−K)), without building a linearmodels model: for loops over many
    sub-samples (tested equal to :func:`fit_panel_fe`).
    """
    data = data.dropna(subset=[y, *x]).sort_values([unit, time]).reset_index(drop=True)
    codes = _fe_codes(data, [unit, time])
    k_fe = 1 + sum(int(c.max()) for c in codes)
    n, kx = len(data), len(x)
    X = _demean(data[list(x)].to_numpy(dtype="float64"), codes)
    Y = _demean(data[[y]].to_numpy(dtype="float64"), codes)[:, 0]
    A_inv = np.linalg.inv(X.T @ X)
    b = A_inv @ (X.T @ Y)
    u = X * (Y - X @ b)[:, None]
    if cov == "cluster":
        g = codes[0]
        S = np.vstack([np.bincount(g, weights=u[:, j]) for j in range(kx)]).T
        G = S.shape[0]
        omega = S.T @ S * G / (G - 1) * (n - 1) / (n - kx - k_fe)
    else:
        tc = codes[1]
        S = np.vstack([np.bincount(tc, weights=u[:, j]) for j in range(kx)]).T
        omega = S.T @ S
        for j in range(1, int(lags) + 1):
            gam = S[j:].T @ S[:-j]
            omega += (1 - j / (lags + 1)) * (gam + gam.T)
        omega *= n / (n - kx - k_fe)
    V = A_inv @ omega @ A_inv
    return b, np.sqrt(np.diag(V))


def leave_one_unit_out(
    frame: pd.DataFrame,
    y: str,
    x: Sequence[str],
    term: str,
    *,
    unit: str = "section",
    time: str = "date",
    cov: PanelCov = "driscoll-kraay",
    lags: int = HORIZON,
) -> pd.DataFrame:
    """Re-estimate :func:`fit_panel_fe` dropping one unit at a time (influence of each unit).

    Returns one row per dropped unit with the estimate of ``term``, its standard error and the
    change from the full-sample estimate, largest absolute change first.
    """
    k = list(x).index(term)
    full = _panel_slopes(frame, y, x, unit, time, cov, lags)[0][k]
    rows = []
    for u in sorted(frame[unit].unique()):
        b, se = _panel_slopes(frame[frame[unit] != u], y, x, unit, time, cov, lags)
        rows.append(
            {"dropped": u, "estimate": float(b[k]), "se": float(se[k]), "change": float(b[k] - full)}
        )
    out = pd.DataFrame(rows)
    return out.reindex(out["change"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )


def webb_weights(size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Webb's six-point weights: ±sqrt(1/2), ±1, ±sqrt(3/2), each with probability 1/6.

    Mean 0, variance 1; with few clusters they give far more distinct bootstrap draws than
    Rademacher weights (6^G instead of 2^G).
    """
    pts = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(pts, size=size)


def _partial_out(Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` after least squares on ``Z`` (FWL partialling)."""
    Q, _ = np.linalg.qr(Z, mode="reduced")
    return A - Q @ (Q.T @ A)


def wild_cluster_bootstrap(
    frame: pd.DataFrame,
    y: str,
    x: Sequence[str],
    term: str,
    *,
    unit: str = "section",
    time: str = "date",
    fe: Sequence[str | Sequence[str]] | None = None,
    reps: int = 999,
    seed: int = 12345,
) -> dict[str, float]:
    """Wild cluster *restricted* bootstrap (WCR) test of ``term = 0`` with Webb weights.

    The model is the one of :func:`fit_panel_fe`; clusters are ``unit``. The null is imposed
    when generating bootstrap samples (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017),
    and each draw's CR1 t statistic is compared with the sample one (symmetric p-value). Fixed
    effects and other regressors are partialled out once (Frisch–Waugh–Lovell), so all draws
    are one matrix product. Returns ``t_stat``, ``p_value``, ``reps`` and ``n_clusters``.
    """
    if term not in x:
        raise ModelError(f"wild_cluster_bootstrap: term {term!r} is not among x={list(x)}.")
    fe = [unit, time] if fe is None else list(fe)
    data = frame.dropna(subset=[y, *x]).sort_values([unit, time]).reset_index(drop=True)
    codes = _fe_codes(data, fe)
    k_fe = 1 + sum(int(c.max()) for c in codes)
    other_x = [c for c in x if c != term]
    Xo = _demean(data[other_x].to_numpy(dtype="float64"), codes) if other_x else None

    def partial(A: np.ndarray) -> np.ndarray:
        At = _demean(A, codes)
        return At if Xo is None else _partial_out(Xo, At)

    xt = partial(data[[term]].to_numpy(dtype="float64"))[:, 0]
    yt = partial(data[[y]].to_numpy(dtype="float64"))[:, 0]
    groups = pd.factorize(data[unit], sort=True)[0]
    G = int(groups.max() + 1)
    n, k = len(data), len(x) + k_fe
    c = G / (G - 1) * (n - 1) / (n - k)
    sxx = float(xt @ xt)
    D = _indicator(groups)

    def tstats(Y: np.ndarray) -> np.ndarray:
        beta = (xt @ Y) / sxx
        E = Y - np.outer(xt, beta)
        scores = D @ (xt[:, None] * E)
        se = np.sqrt(c * (scores**2).sum(axis=0)) / sxx
        return beta / se

    t0 = float(tstats(yt[:, None])[0])
    # Under H0 (beta = 0) the restricted residuals are yt itself (FE/controls partialled out).
    rng = np.random.default_rng(seed)
    W = webb_weights((G, reps), rng)[groups]
    Ystar = partial(yt[:, None] * W)
    tb = tstats(Ystar)
    p = float((np.abs(tb) >= abs(t0)).mean())
    return {"t_stat": t0, "p_value": p, "reps": int(reps), "n_clusters": G}


# --------------------------------------------------------------------------------------------
# Event studies
# --------------------------------------------------------------------------------------------


def _rel_months(dates: pd.Series | pd.DatetimeIndex, event: str | pd.Timestamp) -> np.ndarray:
    """Months between each date and the event month (event month = 0)."""
    p = pd.DatetimeIndex(dates).to_period("M")
    e = pd.Timestamp(event).to_period("M")
    return np.asarray([(q - e).n for q in p], dtype=int)


def group_log_ratio(
    values: pd.DataFrame,
    treated: Iterable[str],
    *,
    unit: str = "section",
    value: str = "imports_usd",
) -> pd.Series:
    """``log(sum over treated units) - log(sum over the other units)`` by month.

    The aggregate "treated versus the rest" gap used by the event studies: a difference in
    logs, so common shocks (the business cycle, the dollar) largely cancel.
    """
    treated = set(treated)
    units = set(values[unit])
    if not treated or not treated <= units or treated == units:
        raise ModelError(
            f"group_log_ratio: treated units must be a non-empty proper subset of {sorted(units)};"
            f" got {sorted(treated)}."
        )
    is_t = values[unit].isin(treated)
    num = values[is_t].groupby("date")[value].sum(min_count=1)
    den = values[~is_t].groupby("date")[value].sum(min_count=1)
    out = np.log(num.where(num > 0)) - np.log(den.where(den > 0))
    out.index = _month_index(out.index, "group_log_ratio")
    return out.rename("log_ratio")


def _seasonal_design(index: pd.DatetimeIndex, trend: bool, origin: pd.Timestamp) -> pd.DataFrame:
    """Constant, calendar-month dummies (January omitted) and optionally a linear trend."""
    X = pd.DataFrame({"const": 1.0}, index=index)
    for m in range(2, 13):
        X[f"m{m}"] = (index.month == m).astype("float64")
    if trend:
        X["trend"] = np.asarray(
            [(p - origin.to_period("M")).n for p in index.to_period("M")], dtype="float64"
        )
    return X


def fit_event_study_series(
    series: pd.Series,
    event: str | pd.Timestamp,
    *,
    window: tuple[int, int] = (-12, 18),
    pre: int = 36,
    trend: bool = False,
    lags: int | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Event study on one monthly series (e.g. a log ratio of treated to other imports).

    A baseline ``y_t = a + s_{m(t)} (+ c t) + e_t`` (calendar-month seasonality, optional
    linear trend) is fitted on the ``pre`` - ``|window[0]|`` months *before* the window. For
    each month ``k`` of the window the estimate is the deviation ``y_{event+k} - ŷ`` from the
    baseline; with a log ratio this is a difference-in-differences by month. Months ``k < 0``
    are placebo months: deviations there warn of anticipation or a poor baseline.

    The band is a pointwise prediction interval: ``ŷ`` ± t(df) · sqrt(s² + Var(ŷ)), where s² is
    the baseline residual variance and Var(ŷ) uses Newey–West errors of the baseline fit
    (``lags``; default :func:`hac_lags` with no overlap). A dummy-per-month regression would
    leave a zero residual in every event month and understate robust errors, hence this form.
    """
    lo, hi = window
    if lo > 0 or hi < 0:
        raise ModelError(f"fit_event_study_series: window {window} must contain month 0.")
    if pre - (-lo) < 24:
        raise ModelError(
            f"fit_event_study_series: the baseline (pre={pre} minus {-lo} window months) needs "
            "at least 24 months to estimate the seasonal pattern; raise pre."
        )
    s = _regular(pd.Series(series, dtype="float64"), "fit_event_study_series")
    rel = _rel_months(s.index, event)
    keep = (rel >= -pre) & (rel <= hi)
    s = s[keep].dropna()
    rel = _rel_months(s.index, event)
    base = s[rel < lo]
    win = s[rel >= lo]
    if len(base) < 24 or win.empty:
        raise ModelError(
            f"fit_event_study_series: not enough data around {pd.Timestamp(event):%Y-%m} "
            f"({len(base)} baseline months, {len(win)} window months)."
        )
    origin = pd.Timestamp(event)
    Xb = _seasonal_design(pd.DatetimeIndex(base.index), trend, origin)
    L = hac_lags(len(base), overlap=1) if lags is None else int(lags)
    res = sm.OLS(base, Xb).fit(
        cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True}, use_t=True
    )
    Xw = _seasonal_design(pd.DatetimeIndex(win.index), trend, origin)
    pred = Xw.to_numpy() @ res.params.to_numpy()
    V = np.asarray(res.cov_params())
    var_pred = np.einsum("ij,jk,ik->i", Xw.to_numpy(), V, Xw.to_numpy())
    s2 = float(res.ssr / res.df_resid)
    se = np.sqrt(s2 + var_pred)
    crit = stats.t.ppf(1 - alpha / 2, res.df_resid)
    est = win.to_numpy() - pred
    return pd.DataFrame(
        {
            "rel_month": _rel_months(win.index, event),
            "date": pd.DatetimeIndex(win.index),
            "estimate": est,
            "se": se,
            "ci_low": est - crit * se,
            "ci_high": est + crit * se,
            "event": origin,
            "n_baseline": len(base),
            "baseline": sample_label(base.index),
            "se_type": f"prediction band (baseline Newey–West, {L} lags)",
        }
    )


def fit_did_series(
    series: pd.Series,
    event: str | pd.Timestamp,
    *,
    pre: int = 36,
    post: int = 18,
    skip: int = 0,
    trend: bool = False,
    lags: int | None = None,
    alpha: float = 0.05,
    full: bool = False,
) -> Any:
    """Average shift of a series after ``event``: ``y_t = a + s_{m(t)} (+ c·t) + b·post_t + e_t``.

    Uses the ``pre`` months before the event and months ``skip`` .. ``post - 1`` after it
    (``skip`` drops a transition). ``trend=True`` adds a linear trend (months from the event),
    so a gap that was already drifting before the event is extrapolated, not read as an effect
    (with a log ratio: a group-specific trend). With a log ratio, ``b`` is a difference-in-differences in log
    points. Newey–West errors with at least 12 lags (persistent monthly gaps). Returns a
    one-row tidy table (term ``post``; ``se_conventional`` is the non-robust OLS error, a check
    on HAC errors, which can be too small in short samples), or ``(table, result)`` with
    ``full=True`` (for :func:`diagnostics`).
    """
    s = _regular(pd.Series(series, dtype="float64"), "fit_did_series")
    rel = _rel_months(s.index, event)
    keep = ((rel >= -pre) & (rel < 0)) | ((rel >= skip) & (rel < post))
    s = s[keep].dropna()
    if s.empty:
        raise ModelError(f"fit_did_series: no data around {pd.Timestamp(event):%Y-%m}.")
    rel = _rel_months(s.index, event)
    X = _seasonal_design(pd.DatetimeIndex(s.index), trend, pd.Timestamp(event)).drop(
        columns="const"
    )
    X = X.loc[:, X.abs().sum() > 0]
    X["post"] = (rel >= 0).astype("float64")
    frame = pd.concat([s.rename("y"), X[["post"]]], axis=1)
    res = fit_ols_hac(frame, "y", ["post"], lags=lags, extra=X.drop(columns="post"))
    tab = tidy(res, model=f"DiD {pd.Timestamp(event):%Y-%m}", alpha=alpha, terms=["post"])
    conventional = sm.OLS(res.model.endog, res.model.exog).fit()
    tab["se_conventional"] = float(conventional.bse[list(res.params.index).index("post")])
    return (tab, res) if full else tab


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def tidy(
    res: Any,
    *,
    model: str = "",
    alpha: float = 0.05,
    terms: Sequence[str] | None = None,
    se_type: str | None = None,
) -> pd.DataFrame:
    """Tidy coefficient table: term, estimate, se, t, p_value, ci_low, ci_high, df, n, sample.

    Critical values use the result's inference degrees of freedom (``df_resid_inference`` when
    set, e.g. G-1 for clustered errors), so the interval matches the stated method.
    ``terms=None`` keeps every non-dummy term (fixed-effect dummies, which contain ``_`` after
    a prefix and ``const`` are dropped when the result has more than 20 parameters).
    """
    params = pd.Series(res.params)
    bse = pd.Series(res.bse, index=params.index)
    if terms is None:
        terms = [t for t in params.index if t != "const"]
        if len(params) > 20:
            exog = getattr(res.model, "exog_names", list(params.index))
            terms = [t for t in terms if ":" not in t and not _is_dummy_name(t, exog)]
    missing = [t for t in terms if t not in params.index]
    if missing:
        raise ModelError(f"tidy: terms {missing} are not in the model ({list(params.index)[:8]}…).")
    df = getattr(res, "df_resid_inference", None) or res.df_resid
    crit = stats.t.ppf(1 - alpha / 2, df)
    est = params[list(terms)]
    se = bse[list(terms)]
    tval = est / se
    p = 2 * stats.t.sf(np.abs(tval), df)
    out = pd.DataFrame(
        {
            "model": model,
            "term": list(terms),
            "estimate": est.to_numpy(),
            "se": se.to_numpy(),
            "t": tval.to_numpy(),
            "p_value": p,
            "ci_low": (est - crit * se).to_numpy(),
            "ci_high": (est + crit * se).to_numpy(),
            "df": float(df),
            "n": int(res.nobs),
            "sample": getattr(res, "sample", ""),
            "se_type": se_type or getattr(res, "cov_name", None) or _cov_label(res),
        }
    )
    return out


def _is_dummy_name(name: str, exog: Sequence[str]) -> bool:
    """True for dummy columns made by :func:`_fe_design` (``prefix_level``)."""
    prefix = name.split("_", 1)[0]
    return "_" in name and sum(e.startswith(prefix + "_") for e in exog) > 3


def _cov_label(res: Any) -> str:
    kind = getattr(res, "cov_type", "nonrobust")
    if kind == "HAC":
        return f"Newey–West ({res.cov_kwds['maxlags']} lags)"
    return str(kind)


def elasticity_effect(beta: float, change: float = 0.10) -> float:
    """Percentage response (fraction) of y to a ``change`` (fraction) in x for log elasticity β.

    ``(1 + change)^β - 1``; e.g. β = 0.5 and a 10 % rise gives about 4.9 %.
    """
    if change <= -1:
        raise ModelError(f"elasticity_effect: change must be above -1 (a fraction), got {change}.")
    return float((1 + change) ** beta - 1)


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def diagnostics(res: Any, lb_lags: Sequence[int] = (12, 24)) -> pd.DataFrame:
    """Residual diagnostics of an OLS result as a table (test, statistic, p_value, reading).

    Ljung–Box at ``lb_lags`` (autocorrelation; expected with overlapping changes, which is why
    HAC errors are used), Breusch–Pagan (heteroskedasticity in the regressors), the OLS-residual
    CUSUM test of Ploberger & Krämer (parameter stability) and Jarque–Bera (normality).
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox, breaks_cusumolsresid, het_breuschpagan
    from statsmodels.stats.stattools import jarque_bera

    resid = np.asarray(res.resid)
    rows = []
    lb = acorr_ljungbox(resid, lags=list(lb_lags))
    for L, row in zip(lb_lags, lb.itertuples()):
        rows.append(
            ("Ljung–Box", f"{L} lags", row.lb_stat, row.lb_pvalue, "residual autocorrelation")
        )
    bp = het_breuschpagan(resid, sm.add_constant(np.asarray(res.model.exog), has_constant="skip"))
    rows.append(("Breusch–Pagan", "all regressors", bp[0], bp[1], "heteroskedasticity"))
    cs = breaks_cusumolsresid(resid, ddof=int(res.df_model) + 1)
    rows.append(("CUSUM (OLS residuals)", "sup |B(t)|", cs[0], cs[1], "parameter stability"))
    jb = jarque_bera(resid)
    rows.append(("Jarque–Bera", "", jb[0], jb[1], "normality of residuals"))
    return pd.DataFrame(rows, columns=["test", "detail", "statistic", "p_value", "checks"])


def panel_diagnostics(
    res: Any, frame: pd.DataFrame, unit: str = "section", time: str = "date"
) -> pd.DataFrame:
    """Residual checks for a :func:`fit_panel_fe` result (statistic, p_value where defined).

    * mean within-unit residual autocorrelation at lags 1 and 12 (overlapping changes make it
      large, which is why errors must allow serial correlation);
    * mean pairwise correlation of residuals across units (common shocks left after the month
      fixed effects; a reason for Driscoll–Kraay errors) and Pesaran's CD test of zero
      cross-sectional dependence;
    * Breusch–Pagan on the regressors of interest (not the dummies).

    ``frame`` must be the frame the model was fitted on (same row filter).
    """
    from statsmodels.stats.diagnostic import het_breuschpagan

    data = frame.dropna(subset=[res.model.endog_names]).sort_values([unit, time])
    data = data.reset_index(drop=True)
    if len(data) != len(res.resid):
        raise ModelError("panel_diagnostics: frame does not match the fitted model's rows.")
    e = pd.DataFrame(
        {"unit": data[unit].to_numpy(), "time": data[time].to_numpy(), "e": np.asarray(res.resid)}
    )
    wide = e.pivot(index="time", columns="unit", values="e")
    ac1 = float(np.nanmean([wide[c].autocorr(1) for c in wide.columns]))
    ac12 = float(np.nanmean([wide[c].autocorr(12) for c in wide.columns]))
    corr = wide.corr().to_numpy()
    n_units = corr.shape[0]
    iu = np.triu_indices(n_units, 1)
    rho = corr[iu]
    t_obs = wide.notna().sum().min()
    cd = float(np.sqrt(2 * t_obs / (n_units * (n_units - 1))) * np.nansum(rho))
    bp = het_breuschpagan(
        np.asarray(res.resid), sm.add_constant(np.asarray(res.model.exog), has_constant="add")
    )
    rows = [
        ("residual autocorrelation, lag 1", "mean over units", ac1, np.nan),
        ("residual autocorrelation, lag 12", "mean over units", ac12, np.nan),
        ("cross-unit residual correlation", "mean pairwise", float(np.nanmean(rho)), np.nan),
        ("Pesaran CD", "H0: no cross-sectional dependence", cd, float(2 * stats.norm.sf(abs(cd)))),
        ("Breusch–Pagan", "regressors of interest", float(bp[0]), float(bp[1])),
    ]
    return pd.DataFrame(rows, columns=["test", "detail", "statistic", "p_value"])


def vif_table(frame: pd.DataFrame, x: Sequence[str]) -> pd.DataFrame:
    """Variance inflation factors of the regressors ``x`` (with a constant)."""
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    _check_columns(frame, x, "vif_table")
    X = sm.add_constant(frame[list(x)].dropna(), has_constant="add").to_numpy()
    return pd.DataFrame(
        {"term": list(x), "vif": [variance_inflation_factor(X, i + 1) for i in range(len(x))]}
    )


def split_sample(
    frame: pd.DataFrame,
    y: str,
    x: Sequence[str],
    breaks: Sequence[str | pd.Timestamp],
    lags: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimate on sub-samples split at ``breaks`` and test equal slopes (HAC Wald test).

    Returns ``(table, test)``: the tidy coefficients per sub-sample and a one-row table with
    the Wald statistic, its degrees of freedom and p-value for "all slopes equal across
    sub-samples" (interaction model, Newey–West errors, F form).
    """
    edges = [
        frame.index.min(),
        *[pd.Timestamp(b) for b in breaks],
        frame.index.max() + pd.offsets.MonthBegin(1),
    ]
    tabs = []
    period = pd.Series("", index=frame.index, dtype="string")
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        part = frame.loc[(frame.index >= a) & (frame.index < b)]
        label = sample_label(part.index)
        period[(frame.index >= a) & (frame.index < b)] = label
        if len(part) <= len(x) + 2:
            raise ModelError(f"split_sample: sub-sample {label} has only {len(part)} months.")
        r = fit_ols_hac(part, y, x, lags=lags)
        tabs.append(tidy(r, model=f"sub-sample {i + 1}"))
    table = pd.concat(tabs, ignore_index=True)
    # Interaction model: slopes differ by period; test the differences jointly.
    labels = period.unique().tolist()
    extra = {}
    for lab in labels[1:]:
        ind = (period == lab).astype("float64")
        extra[f"d[{lab}]"] = ind
        for c in x:
            extra[f"{c}×[{lab}]"] = frame[c] * ind
    res = fit_ols_hac(frame, y, x, lags=lags, extra=pd.DataFrame(extra, index=frame.index))
    names = [f"{c}×[{lab}]" for lab in labels[1:] for c in x]
    R = np.zeros((len(names), len(res.params)))
    pos = list(res.params.index)
    for i, nme in enumerate(names):
        R[i, pos.index(nme)] = 1.0
    w = res.f_test(R)
    test = pd.DataFrame(
        {
            "statistic": [float(np.squeeze(w.fvalue))],
            "df_num": [int(w.df_num)],
            "df_denom": [float(w.df_denom)],
            "p_value": [float(w.pvalue)],
            "lags": [res.hac_lags],
        }
    )
    return table, test


def influence_table(res: Any, top: int = 5) -> pd.DataFrame:
    """The ``top`` most influential observations by Cook's distance (OLS influence)."""
    infl = res.get_influence()
    cooks = infl.cooks_distance[0]
    out = pd.DataFrame(
        {
            "date": res.model.data.row_labels,
            "cooks_d": cooks,
            "resid": np.asarray(res.resid),
            "student_resid": infl.resid_studentized_external,
        }
    )
    out = out.sort_values("cooks_d", ascending=False).head(top).reset_index(drop=True)
    out["threshold_4_over_n"] = 4 / res.nobs
    return out


# --------------------------------------------------------------------------------------------
# Plots (figures are returned; notebooks display them with tradelib.publish.plot.show)
# --------------------------------------------------------------------------------------------


def _palette() -> list[str]:
    from tradelib.publish import plot

    return list(plot.PALETTE_LIST)


def coef_plot(
    table: pd.DataFrame,
    *,
    label: str = "term",
    group: str | None = "model",
    title: str = "Coefficient estimates",
    xlabel: str = "Estimate (log points per log point)",
    ax: Any = None,
) -> Any:
    """Horizontal coefficient plot: one point and confidence interval per row of a tidy table.

    Rows are labelled by ``label``; ``group`` colours them (e.g. by specification). Returns the
    figure.
    """
    import matplotlib.pyplot as plt

    _check_columns(table, ["estimate", "ci_low", "ci_high", label], "coef_plot")
    t = table.reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(t) + 1.6))
    else:
        fig = ax.figure
    colors = _palette()
    groups = list(dict.fromkeys(t[group])) if group else [None]
    ypos = np.arange(len(t))[::-1]
    for gi, g in enumerate(groups):
        m = (t[group] == g).to_numpy() if group else np.ones(len(t), bool)
        err = np.vstack(
            [t.loc[m, "estimate"] - t.loc[m, "ci_low"], t.loc[m, "ci_high"] - t.loc[m, "estimate"]]
        )
        ax.errorbar(
            t.loc[m, "estimate"],
            ypos[m],
            xerr=err,
            fmt="o",
            capsize=3,
            color=colors[gi % len(colors)],
            label=str(g) if group else None,
        )
    ax.axvline(0, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(ypos, t[label].astype(str))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if group and len(groups) > 1:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def event_study_plot(
    tables: Mapping[str, pd.DataFrame],
    *,
    title: str = "Event study",
    ylabel: str = "Log points relative to the baseline",
    xlabel: str = "Months relative to the event",
    scale: float = 1.0,
    ax: Any = None,
    colors: Mapping[str, str] | None = None,
) -> Any:
    """Plot one or more event-study tables (``rel_month``, estimate, ci) with shaded bands.

    ``tables`` maps a legend label to a table from :func:`fit_event_study_series`;
    ``scale=100`` shows log points ×100 (≈ percent); ``colors`` maps labels to colours (default:
    the tradelib palette in order).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
    else:
        fig = ax.figure
    palette = _palette()
    n = len(tables)
    for i, (lab, tab) in enumerate(tables.items()):
        _check_columns(tab, ["rel_month", "estimate", "ci_low", "ci_high"], "event_study_plot")
        off = (i - (n - 1) / 2) * 0.2
        xk = tab["rel_month"].to_numpy() + off
        col = (colors or {}).get(lab, palette[i % len(palette)])
        ax.fill_between(
            xk, tab["ci_low"] * scale, tab["ci_high"] * scale, color=col, alpha=0.18, lw=0
        )
        ax.plot(xk, tab["estimate"] * scale, "o-", color=col, ms=3.5, lw=1.2, label=lab)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(-0.5, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if n > 1:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Calibrated inference: the same estimator at placebo dates (randomization inference in time)
# --------------------------------------------------------------------------------------------


def _did_core(
    Y: np.ndarray,
    months: np.ndarray,
    event_pos: int,
    *,
    pre: int,
    post: int,
    skip: int = 0,
    trend: bool = False,
    lags: int | None = None,
) -> dict[str, np.ndarray]:
    """Vectorised :func:`fit_did_series` for the columns of ``Y`` (rows = consecutive months).

    ``months`` are the calendar months (1–12) of the rows and ``event_pos`` the row of the event
    month. Every column shares the design (constant, calendar-month dummies, optional linear
    trend, post indicator), so the slope and its Newey–West error (Bartlett, ``lags``, factor
    n/(n−k), t(n−k)) are a few matrix products for all columns at once. Rows with a missing
    value in any column are dropped (as the one-series fit does). Returns arrays ``estimate``,
    ``se``, ``p_value`` (one per column) and ints ``n``, ``df``, ``lags``.
    """
    Y = np.asarray(Y, dtype="float64")
    if Y.ndim == 1:
        Y = Y[:, None]
    rel = np.arange(len(Y)) - event_pos
    keep = ((rel >= -pre) & (rel < 0)) | ((rel >= skip) & (rel < post))
    keep &= ~np.isnan(Y).any(axis=1)
    y, r, m = Y[keep], rel[keep], months[keep]
    n = len(y)
    cols = [np.ones(n)] + [(m == k).astype("float64") for k in range(2, 13)]
    if trend:
        cols.append(r.astype("float64"))
    Z = np.column_stack(cols)
    Z = Z[:, np.abs(Z).sum(axis=0) > 0]  # a calendar month absent from a short window
    d = (r >= 0).astype("float64")
    k = Z.shape[1] + 1
    if n <= k + 1 or d.sum() == 0 or d.sum() == n:
        raise ModelError(
            f"placebo DiD: {n} usable months around row {event_pos} cannot identify the shift."
        )
    xt = _partial_out(Z, d[:, None])[:, 0]  # post indicator net of seasonality (and trend)
    sxx = float(xt @ xt)
    b = (xt @ y) / sxx
    E = _partial_out(Z, y) - np.outer(xt, b)
    L = hac_lags(n, overlap=HORIZON) if lags is None else int(lags)
    u = xt[:, None] * E
    S = (u**2).sum(axis=0)
    for j in range(1, min(L, n - 1) + 1):
        S = S + 2 * (1 - j / (L + 1)) * (u[j:] * u[:-j]).sum(axis=0)
    se = np.sqrt(S * n / (n - k)) / sxx
    df = n - k
    p = 2 * stats.t.sf(np.abs(b / se), df)
    return {"estimate": b, "se": se, "p_value": p, "n": n, "df": df, "lags": L}


def calibrated_pvalue(estimate: float, placebo: Sequence[float] | np.ndarray) -> float:
    """Two-sided randomization p-value of ``estimate`` against placebo estimates.

    ``(1 + #{|placebo| >= |estimate|}) / (1 + J)``: the share of placebo estimates (the same
    estimator at dates or groups where nothing happened) at least as far from zero as the
    actual one, counting the actual one. It does not assume the placebo distribution is centred
    on zero: if placebo estimates are as large as the actual one, the actual one is not
    evidence of an effect, whatever its standard error says.
    """
    pl = np.asarray(placebo, dtype="float64")
    pl = pl[~np.isnan(pl)]
    if len(pl) == 0:
        raise ModelError("calibrated_pvalue: no placebo estimates.")
    return float((1 + np.sum(np.abs(pl) >= abs(estimate) - 1e-12)) / (1 + len(pl)))


def _regular_matrix(series: pd.Series | pd.DataFrame, what: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    obj = series.to_frame() if isinstance(series, pd.Series) else series
    obj = obj.astype("float64").copy()
    obj.index = _month_index(obj.index, what)
    obj = obj.sort_index()
    full = pd.date_range(obj.index.min(), obj.index.max(), freq="MS")
    obj = obj.reindex(full)
    return obj.to_numpy(), full


def placebo_did_many(
    frame: pd.DataFrame,
    event: str | pd.Timestamp,
    *,
    pre: int = 36,
    post: int = 12,
    skip: int = 0,
    trend: bool = False,
    lags: int | None = None,
    first: str | pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """:func:`placebo_did` for every column of ``frame`` at once (e.g. simulated series).

    Returns ``dates`` (placebo dates then the event), ``estimate``, ``se`` and ``p_value``
    arrays (dates × columns), ``placebo`` (bool per date), ``calibrated_p`` and
    ``rejection_rate`` (per column) and ``conventional_p`` (per column, at the event).
    """
    Y, idx = _regular_matrix(frame, "placebo_did")
    ev = pd.Timestamp(event).to_period("M").to_timestamp()
    if ev not in idx:
        raise ModelError(f"placebo_did: the event month {ev:%Y-%m} is outside the series.")
    months = idx.month.to_numpy()
    e_pos = int(idx.get_loc(ev))
    lo = pre if first is None else max(pre, int(np.searchsorted(idx, pd.Timestamp(first))))
    dates, est, se, pv = [], [], [], []
    for pos in [*range(lo, e_pos - post + 1), e_pos]:
        try:
            r = _did_core(Y, months, pos, pre=pre, post=post, skip=skip, trend=trend, lags=lags)
        except ModelError:
            continue
        dates.append(idx[pos])
        est.append(r["estimate"])
        se.append(r["se"])
        pv.append(r["p_value"])
    if len(dates) < 2 or dates[-1] != ev:
        raise ModelError(
            f"placebo_did: no placebo dates before {ev:%Y-%m} with pre={pre}, post={post}; "
            "a longer series or a shorter window is needed."
        )
    est_a, pv_a = np.vstack(est), np.vstack(pv)
    pl = np.abs(est_a[:-1])
    cal = (1 + (pl >= np.abs(est_a[-1]) - 1e-12).sum(axis=0)) / (1 + pl.shape[0])
    return {
        "dates": pd.DatetimeIndex(dates),
        "estimate": est_a,
        "se": np.vstack(se),
        "p_value": pv_a,
        "placebo": np.array([d != ev for d in dates]),
        "calibrated_p": cal,
        "rejection_rate": (pv_a[:-1] < alpha).mean(axis=0),
        "conventional_p": pv_a[-1],
    }


def placebo_did(
    series: pd.Series,
    event: str | pd.Timestamp,
    *,
    pre: int = 36,
    post: int = 12,
    skip: int = 0,
    trend: bool = False,
    lags: int | None = None,
    first: str | pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The DiD of :func:`fit_did_series` at the actual ``event`` and at every placebo date.

    Placebo dates are the months ``d`` whose whole window (``pre`` months before, ``post``
    months from ``d``) lies in the data *before* the actual event (``d + post <= event``), and
    not before ``first`` if given: the same estimator, run where no treatment happened. Returns
    one row per date (``date``, ``estimate``, ``se``, ``p_value``, ``reject`` at ``alpha``,
    ``placebo``), the actual event last; ``attrs`` hold ``calibrated_p`` (see
    :func:`calibrated_pvalue`), ``rejection_rate`` (share of placebo dates where the
    conventional test rejects at ``alpha``; about ``alpha`` if the conventional test were
    right), ``n_placebo``, ``placebo_mean`` and the placebo date range.
    """
    r = placebo_did_many(
        pd.Series(series, dtype="float64").to_frame(), event, pre=pre, post=post, skip=skip,
        trend=trend, lags=lags, first=first, alpha=alpha,
    )
    out = pd.DataFrame(
        {
            "date": r["dates"],
            "estimate": r["estimate"][:, 0],
            "se": r["se"][:, 0],
            "p_value": r["p_value"][:, 0],
            "placebo": r["placebo"],
        }
    )
    out["reject"] = out["p_value"] < alpha
    pl = out[out["placebo"]]
    out.attrs.update(
        calibrated_p=float(r["calibrated_p"][0]),
        rejection_rate=float(r["rejection_rate"][0]),
        n_placebo=len(pl),
        placebo_mean=float(pl["estimate"].mean()),
        placebo_first=pl["date"].min(),
        placebo_last=pl["date"].max(),
        alpha=alpha,
    )
    return out


def placebo_summary(table: pd.DataFrame, label: str = "") -> dict[str, Any]:
    """One row for a :func:`placebo_did` (or :func:`placebo_groups`) table: the actual estimate,
    its conventional SE and p, the calibrated p, the placebo rejection rate and range."""
    actual = table[~table["placebo"]].iloc[0]
    a = table.attrs
    return {
        "estimate": float(actual["estimate"]),
        "se": float(actual["se"]),
        "p_conventional": float(actual["p_value"]),
        "p_calibrated": float(a["calibrated_p"]),
        "placebo_rejection_rate": float(a["rejection_rate"]),
        "n_placebo": int(a["n_placebo"]),
        "placebo_mean": float(a["placebo_mean"]),
        "label": label,
    }


def placebo_groups(
    values: pd.DataFrame,
    treated: Iterable[str],
    event: str | pd.Timestamp,
    *,
    candidates: Iterable[str] | None = None,
    unit: str = "section",
    value: str = "imports_usd",
    pre: int = 36,
    post: int = 12,
    trend: bool = False,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The DiD at the actual ``event`` with each untreated unit in turn as a fake treated group.

    Each candidate (default: every unit not in ``treated``) is compared with the units that are
    neither treated nor itself, so the real treated group never serves as a control. Returns a
    table like :func:`placebo_did` (``unit`` instead of ``date``), the actual treated group last,
    with the same ``attrs``.
    """
    treated = list(treated)
    units = sorted(values[unit].unique())
    cands = [u for u in (candidates or units) if u not in treated]
    rows = []
    for u in [*cands, None]:
        if u is None:
            ratio = group_log_ratio(values, treated, unit=unit, value=value)
        else:
            ratio = group_log_ratio(values[~values[unit].isin(treated)], [u], unit=unit, value=value)
        tab = fit_did_series(ratio, event, pre=pre, post=post, trend=trend).iloc[0]
        rows.append(
            {
                "unit": "treated: " + ", ".join(treated) if u is None else u,
                "estimate": float(tab["estimate"]),
                "se": float(tab["se"]),
                "p_value": float(tab["p_value"]),
                "placebo": u is not None,
            }
        )
    out = pd.DataFrame(rows)
    out["reject"] = out["p_value"] < alpha
    pl = out[out["placebo"]]
    out.attrs.update(
        calibrated_p=calibrated_pvalue(out["estimate"].iloc[-1], pl["estimate"]),
        rejection_rate=float(pl["reject"].mean()),
        n_placebo=len(pl),
        placebo_mean=float(pl["estimate"].mean()),
        alpha=alpha,
    )
    return out


def _sc_weights(y: np.ndarray, C: np.ndarray, zeta: float | None = None) -> np.ndarray:
    """Numpy core of :func:`synthetic_weights` (rows = months, complete rows only)."""
    from scipy.optimize import nnls

    T, J = C.shape
    if T < 12:
        raise ModelError(f"synthetic_weights: {T} complete pre-period months; need >= 12.")
    yc = y - y.mean()
    Cm = C - C.mean(axis=0)
    if zeta is None:
        zeta = float(np.std(np.diff(C, axis=0)))
    big = 1e3 * max(1.0, float(np.abs(Cm).max()))
    A = np.vstack([Cm, zeta * np.sqrt(T) * np.eye(J), big * np.ones((1, J))])
    rhs = np.concatenate([yc, np.zeros(J), [big]])
    w, _ = nnls(A, rhs, maxiter=50 * J)
    return w / w.sum()


def synthetic_weights(
    treated: pd.Series, controls: pd.DataFrame, *, zeta: float | None = None
) -> pd.Series:
    """Synthetic-DiD unit weights: non-negative, summing to one, with an intercept.

    Minimises ``Σ_t (y_t − w0 − Σ_j w_j c_jt)² + ζ² T Σ_j w_j²`` over the given (pre-period)
    months, as the unit weights of Arkhangelsky et al. (2021); the intercept ``w0`` lets the
    synthetic control differ in level, only its path must match. ``zeta`` (the ridge penalty
    that spreads weight over similar controls) defaults to the standard deviation of the
    controls' first differences, their rule without the (treated × post)^(1/4) factor.
    Solved exactly as a non-negative least-squares problem with the adding-up constraint as a
    heavily weighted extra row.
    """
    data = pd.concat([treated.rename("__y"), controls], axis=1).dropna()
    C = data.drop(columns="__y")
    w = _sc_weights(data["__y"].to_numpy(), C.to_numpy(dtype="float64"), zeta)
    return pd.Series(w, index=C.columns, name="weight")


def _sdid_inputs(
    log_values: pd.DataFrame, treated: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex, list[str]]:
    wide = log_values.copy()
    wide.index = _month_index(wide.index, "synthetic_did")
    wide = wide.sort_index()
    wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max(), freq="MS"))
    wide = wide.astype("float64").replace([np.inf, -np.inf], np.nan)  # log of a zero month
    missing = [u for u in treated if u not in wide.columns]
    if missing or len(treated) == 0:
        raise ModelError(f"synthetic_did: treated units {missing or treated} are not columns.")
    y = np.log(np.exp(wide[list(treated)]).sum(axis=1, min_count=len(treated))).to_numpy()
    controls = wide.drop(columns=list(treated))
    return y, controls.to_numpy(dtype="float64"), wide.index, list(controls.columns)


def _sdid_at(y: np.ndarray, C: np.ndarray, months: np.ndarray, pos: int, pre: int, post: int,
             lags: int | None) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    rows = np.arange(max(0, pos - pre), pos)
    ok = rows[~np.isnan(y[rows]) & ~np.isnan(C[rows]).any(axis=1)]
    w = _sc_weights(y[ok], C[ok])
    gap = y - C @ w
    r = _did_core(gap, months, pos, pre=pre, post=post, lags=lags)
    return r, w, gap


def synthetic_did(
    log_values: pd.DataFrame,
    treated: Iterable[str],
    event: str | pd.Timestamp,
    *,
    pre: int = 36,
    post: int = 12,
    lags: int | None = None,
) -> dict[str, Any]:
    """Synthetic difference-in-differences of a treated group against weighted controls.

    ``log_values`` is wide (months × units) in logs. The treated path is the log of the treated
    units' sum, the control path a weighted average of the other units' logs with
    :func:`synthetic_weights` fitted on the ``pre`` months before ``event`` only. The estimate
    is the DiD of :func:`fit_did_series` on the gap (treated − synthetic), so the comparison
    group is chosen to share the treated group's pre-event path (robust to a control group
    whose own trend differs, e.g. one fast-growing section). Returns ``estimate``, ``se``,
    ``p_value``, ``weights`` and ``gap``.
    """
    treated = list(treated)
    y, C, idx, names = _sdid_inputs(log_values, treated)
    ev = pd.Timestamp(event).to_period("M").to_timestamp()
    if ev not in idx:
        raise ModelError(f"synthetic_did: the event month {ev:%Y-%m} is outside the data.")
    r, w, gap = _sdid_at(y, C, idx.month.to_numpy(), int(idx.get_loc(ev)), pre, post, lags)
    return {
        "estimate": float(r["estimate"][0]),
        "se": float(r["se"][0]),
        "p_value": float(r["p_value"][0]),
        "weights": pd.Series(w, index=names, name="weight"),
        "gap": pd.Series(gap, index=idx, name="gap"),
    }


def placebo_synthetic_did(
    log_values: pd.DataFrame,
    treated: Iterable[str],
    event: str | pd.Timestamp,
    *,
    pre: int = 36,
    post: int = 12,
    step: int = 1,
    first: str | pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`synthetic_did` at the actual event and at placebo dates every ``step`` months.

    Weights are re-fitted at every placebo date on its own pre-period (the same estimator).
    Returns a table with the columns and ``attrs`` of :func:`placebo_did`.
    """
    treated = list(treated)
    y, C, idx, _ = _sdid_inputs(log_values, treated)
    months = idx.month.to_numpy()
    ev = pd.Timestamp(event).to_period("M").to_timestamp()
    if ev not in idx:
        raise ModelError(f"placebo_synthetic_did: the event {ev:%Y-%m} is outside the data.")
    e_pos = int(idx.get_loc(ev))
    lo = pre if first is None else max(pre, int(np.searchsorted(idx, pd.Timestamp(first))))
    rows = []
    for pos in [*range(lo, e_pos - post + 1, step), e_pos]:
        try:
            r, _, _ = _sdid_at(y, C, months, pos, pre, post, None)
        except ModelError:
            continue
        rows.append(
            {
                "date": idx[pos],
                "estimate": float(r["estimate"][0]),
                "se": float(r["se"][0]),
                "p_value": float(r["p_value"][0]),
                "placebo": pos != e_pos,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty or not out["placebo"].any() or out["placebo"].iloc[-1]:
        raise ModelError("placebo_synthetic_did: no placebo dates fit before the event.")
    out["reject"] = out["p_value"] < alpha
    pl = out[out["placebo"]]
    out.attrs.update(
        calibrated_p=calibrated_pvalue(out["estimate"].iloc[-1], pl["estimate"]),
        rejection_rate=float(pl["reject"].mean()),
        n_placebo=len(pl),
        placebo_mean=float(pl["estimate"].mean()),
        placebo_first=pl["date"].min(),
        placebo_last=pl["date"].max(),
        alpha=alpha,
    )
    return out


def _es_core(y: np.ndarray, months: np.ndarray, pos: int, *, pre: int, lo: int, k_post: int,
             trend: bool) -> tuple[float, float]:
    """Mean deviation from the seasonal baseline of :func:`fit_event_study_series` over the
    window's pre-event months (``lo`` .. −1) and its first ``k_post`` months (0 .. k_post−1)."""
    base = np.arange(pos - pre, pos + lo)
    base = base[(base >= 0) & ~np.isnan(y[base])]
    if len(base) < 24:
        raise ModelError("event-study placebo: fewer than 24 baseline months.")

    def design(rows: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(rows))] + [(months[rows] == m).astype("float64") for m in range(2, 13)]
        if trend:
            cols.append((rows - pos).astype("float64"))
        return np.column_stack(cols)

    coef, *_ = np.linalg.lstsq(design(base), y[base], rcond=None)
    pre_rows = np.arange(pos + lo, pos)
    post_rows = np.arange(pos, pos + k_post)
    if post_rows[-1] >= len(y):
        raise ModelError("event-study placebo: the window runs past the data.")
    dev_pre = y[pre_rows] - design(pre_rows) @ coef
    dev_post = y[post_rows] - design(post_rows) @ coef
    return float(np.nanmean(dev_pre)), float(np.nanmean(dev_post))


def placebo_event_study(
    series: pd.Series,
    event: str | pd.Timestamp,
    *,
    window: tuple[int, int] = (-12, 11),
    pre: int = 48,
    trend: bool = False,
    first: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Two summaries of :func:`fit_event_study_series` at the event and at placebo dates.

    ``pre_mean``: the mean deviation from the baseline over the window's months before the
    event (``window[0]`` .. −1), a pre-trend (anticipation or bad baseline) statistic;
    ``post_mean``: the mean deviation over months 0 .. ``window[1]``. Placebo dates are those
    whose whole window ends before the actual event. ``attrs`` hold ``calibrated_p`` (post
    mean), ``calibrated_p_pre`` (pre-trend mean), ``n_placebo``, ``placebo_mean``.
    """
    lo, hi = window
    Y, idx = _regular_matrix(series, "placebo_event_study")
    y = Y[:, 0]
    months = idx.month.to_numpy()
    ev = pd.Timestamp(event).to_period("M").to_timestamp()
    if ev not in idx:
        raise ModelError(f"placebo_event_study: the event {ev:%Y-%m} is outside the series.")
    e_pos = int(idx.get_loc(ev))
    start = pre if first is None else max(pre, int(np.searchsorted(idx, pd.Timestamp(first))))
    rows = []
    for pos in [*range(start, e_pos - hi), e_pos]:
        try:
            pm, qm = _es_core(y, months, pos, pre=pre, lo=lo, k_post=hi + 1, trend=trend)
        except ModelError:
            continue
        rows.append({"date": idx[pos], "pre_mean": pm, "post_mean": qm, "placebo": pos != e_pos})
    out = pd.DataFrame(rows)
    if out.empty or not out["placebo"].any() or out["placebo"].iloc[-1]:
        raise ModelError("placebo_event_study: no placebo dates fit before the event.")
    pl = out[out["placebo"]]
    act = out.iloc[-1]
    out.attrs.update(
        calibrated_p=calibrated_pvalue(act["post_mean"], pl["post_mean"]),
        calibrated_p_pre=calibrated_pvalue(act["pre_mean"], pl["pre_mean"]),
        n_placebo=len(pl),
        placebo_mean=float(pl["post_mean"].mean()),
        placebo_first=pl["date"].min(),
        placebo_last=pl["date"].max(),
    )
    return out


def placebo_plot(
    tables: Mapping[str, pd.DataFrame],
    *,
    scale: float = 100.0,
    title: str = "Placebo distributions",
    xlabel: str = "Estimate, log points ×100",
    ncols: int = 3,
    stat: str = "estimate",
) -> Any:
    """One panel per table: histogram of the placebo estimates, the actual estimate as a line,
    and the calibrated p-value and the conventional rejection rate in the panel title."""
    import matplotlib.pyplot as plt

    n = len(tables)
    nc = min(ncols, n)
    nr = -(-n // nc)
    fig, axes = plt.subplots(nr, nc, figsize=(4.3 * nc, 3.6 * nr), squeeze=False)
    colors = _palette()
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (label, tab) in zip(axes.flat, tables.items()):
        pl = tab.loc[tab["placebo"], stat] * scale
        actual = float(tab.loc[~tab["placebo"], stat].iloc[0]) * scale
        ax.hist(pl, bins=min(30, max(8, len(pl) // 4)), color=colors[0], alpha=0.8,
                label=f"{len(pl)} placebos")
        ax.axvline(actual, color=colors[1], lw=2.2, label=f"actual {actual:+.1f}")
        ax.axvline(-actual, color=colors[1], lw=1.0, ls=":")
        ax.axvline(0, color="0.3", lw=0.8)
        a = tab.attrs
        rr = a.get("rejection_rate")
        ax.set_title(
            f"{label}\ncalibrated p = {a['calibrated_p']:.2f}"
            + (f"; placebos rejecting at 5%: {rr:.0%}" if rr is not None else ""),
            fontsize="small",
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Number of placebos")
        ax.legend(fontsize="x-small", loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Instrumental variables with fixed effects: 2SLS, first-stage F, Anderson–Rubin interval
# --------------------------------------------------------------------------------------------


def _ar_set(
    a: float, b: float, R: np.ndarray, S: np.ndarray, c: float, zz: float, crit: float
) -> tuple[float, float, str]:
    """Solve the Anderson–Rubin acceptance region {β: (a − βb)² ≤ crit²·c·Σ_g(R_g − βS_g)²/zz²}.

    A quadratic inequality A β² − 2 B β + C ≤ 0. Returns ``(low, high, kind)`` with kind
    ``"bounded"``, ``"unbounded"`` (the complement of an interval, or the whole line: a weak
    instrument) or ``"empty"``.
    """
    k = crit**2 * c / zz**2
    A = b * b - k * float(S @ S)
    B = a * b - k * float(R @ S)
    C = a * a - k * float(R @ R)
    disc = B * B - A * C
    if A > 0:
        if disc < 0:
            return (np.nan, np.nan, "empty")
        r = np.sqrt(disc)
        return ((B - r) / A, (B + r) / A, "bounded")
    if A < 0 and disc > 0:
        r = np.sqrt(disc)
        lo, hi = sorted(((B - r) / A, (B + r) / A))
        return (lo, hi, "unbounded")  # accepted: (-inf, lo] ∪ [hi, inf)
    return (-np.inf, np.inf, "unbounded")


def fit_iv_fe(
    frame: pd.DataFrame,
    y: str,
    endog: str,
    instrument: str,
    *,
    unit: str = "product",
    time: str = "date",
    cluster: str | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """2SLS of ``y`` on ``endog`` instrumented by ``instrument``, with unit and time fixed effects.

    The fixed effects are swept out of all three variables (Frisch–Waugh–Lovell holds for IV
    with exogenous effects); the just-identified 2SLS on the demeaned data is estimated with
    linearmodels ``IV2SLS``, with errors clustered by ``cluster`` (default ``unit``). Standard
    errors carry the CR1 factor G/(G−1)·(N−1)/(N−K) with the absorbed effects counted in K, and
    inference uses t(G−1). Returns:

    * ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` (Wald, t(G−1));
    * ``first_stage`` (coefficient of the instrument), ``first_stage_f`` (cluster-robust F = t²
      of the instrument in the first stage; Stock–Yogo's rule of thumb wants > 10, which with
      one instrument is the effective F of Montiel Olea–Pflueger), ``reduced_form`` (``y`` on
      the instrument, with ``reduced_form_se`` and ``reduced_form_p``, same errors);
    * ``ar_low``, ``ar_high``, ``ar_kind``: the Anderson–Rubin confidence set, valid however
      weak the instrument (the β0 not rejected when ``y − β0·endog`` is regressed on the
      instrument, same clustered errors); ``"unbounded"`` means the data cannot bound β;
    * ``n``, ``n_clusters``, ``lm`` (the linearmodels result).
    """
    from linearmodels.iv import IV2SLS

    cluster = unit if cluster is None else cluster
    _check_columns(frame, [y, endog, instrument, unit, time, cluster], "fit_iv_fe")
    data = frame.dropna(subset=[y, endog, instrument]).reset_index(drop=True)
    codes = _fe_codes(data, [unit, time])
    k_fe = 1 + sum(int(c.max()) for c in codes)
    n = len(data)
    D = _demean(data[[y, endog, instrument]].to_numpy(dtype="float64"), codes)
    yt, xt, zt = D[:, 0], D[:, 1], D[:, 2]
    zz = float(zt @ zt)
    if zz <= 1e-12 * max(1.0, n):
        raise ModelError(f"fit_iv_fe: {instrument!r} does not vary once the fixed effects are removed.")
    groups = pd.factorize(data[cluster], sort=True)[0]
    G = int(groups.max() + 1)
    if G < 2:
        raise ModelError("fit_iv_fe: need at least two clusters.")
    K = 1 + k_fe
    c = G / (G - 1) * (n - 1) / (n - K)
    df = G - 1
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    Dg = _indicator(groups)
    # first stage and reduced form (one regressor after the sweep)
    pi = float(zt @ xt) / zz
    e1 = xt - pi * zt
    s1 = np.asarray(Dg @ (zt * e1)).ravel()
    se_pi = np.sqrt(c * float(s1 @ s1)) / zz
    rf = float(zt @ yt) / zz
    s0 = np.asarray(Dg @ (zt * (yt - rf * zt))).ravel()
    se_rf = np.sqrt(c * float(s0 @ s0)) / zz
    # 2SLS with linearmodels on the demeaned data; clustered covariance
    res = IV2SLS(
        pd.Series(yt, name=y), None, pd.Series(xt, name=endog), pd.Series(zt, name=instrument)
    ).fit(cov_type="clustered", clusters=pd.Series(groups), debiased=False)
    beta = float(res.params[endog])
    u = yt - beta * xt
    # CR1 with the absorbed effects counted (linearmodels' own factor ignores them)
    s2 = np.asarray(Dg @ (zt * u)).ravel()
    zx = float(zt @ xt)
    se = np.sqrt(c * float(s2 @ s2)) / abs(zx)
    # Anderson–Rubin: regress y − β0 x on z; score per cluster is linear in β0
    a, b = rf, pi
    r = yt - a * zt
    s = xt - b * zt
    R = np.asarray(Dg @ (zt * r)).ravel()
    S = np.asarray(Dg @ (zt * s)).ravel()
    lo, hi, kind = _ar_set(a, b, R, S, c, zz, crit)
    t = beta / se
    return {
        "estimate": beta,
        "se": float(se),
        "ci_low": beta - crit * se,
        "ci_high": beta + crit * se,
        "p_value": float(2 * stats.t.sf(abs(t), df)),
        "first_stage": pi,
        "first_stage_se": float(se_pi),
        "first_stage_f": float((pi / se_pi) ** 2),
        "reduced_form": rf,
        "reduced_form_se": float(se_rf),
        "reduced_form_p": float(2 * stats.t.sf(abs(rf / se_rf), df)),
        "ar_low": float(lo),
        "ar_high": float(hi),
        "ar_kind": kind,
        "n": n,
        "n_clusters": G,
        "df": df,
        "lm": res,
    }


# --------------------------------------------------------------------------------------------
# Frames for the statutory-rate designs (tariff-schedule engine output)
# --------------------------------------------------------------------------------------------


def product_panel(
    priced: pd.DataFrame,
    *,
    product: str = "hts10",
    value: str = "imports_cons_usd",
    leads: int = 2,
) -> pd.DataFrame:
    """Product × month estimation frame from the engine's priced trade (``apply_schedule``).

    Keeps the products with positive imports in every month of the data (a balanced panel, so
    logs exist and no product enters or leaves with the tariffs; the share of trade kept is in
    ``attrs['value_share']``). Columns: ``product``, ``hs2`` (cluster), ``date``,
    ``ln_imports``, ``ln1p_statutory`` = ln(1 + statutory_pct/100) (the policy: what a good
    pays without a USMCA claim), ``ln1p_expected`` = ln(1 + expected_pct/100) (what it is
    expected to pay given USMCA claims; moves with claiming too, so endogenous), and
    ``lead_statutory`` = the statutory term ``leads`` months ahead (a pre-trend check: future
    rates should not move today's imports).
    """
    need = [product, "date", value, "statutory_pct", "expected_pct"]
    _check_columns(priced, need, "product_panel")
    p = priced.loc[priced[value] > 0, need].copy()
    n_months = p["date"].nunique()
    if n_months < 3:
        raise ModelError(f"product_panel: {n_months} months; need at least 3.")
    if p.duplicated([product, "date"]).any():
        raise ModelError("product_panel: repeated product-month rows; aggregate partners first.")
    full = p.groupby(product)["date"].transform("size") == n_months
    out = p[full].sort_values([product, "date"]).reset_index(drop=True)
    out["hs2"] = out[product].astype(str).str[:2]
    out["ln_imports"] = np.log(out[value])
    out["ln1p_statutory"] = np.log1p(out["statutory_pct"] / 100)
    out["ln1p_expected"] = np.log1p(out["expected_pct"] / 100)
    out["lead_statutory"] = out.groupby(product)["ln1p_statutory"].shift(-leads)
    out.attrs["value_share"] = float(out[value].sum() / p[value].sum())
    out.attrs["n_products"] = int(out[product].nunique())
    out.attrs["months"] = sample_label(out["date"])
    return out


def section_rates(
    chapter_rates: pd.DataFrame,
    hs2_annual: pd.DataFrame,
    *,
    weight_year: int,
    country: str = "Mexico",
    rate: str = "statutory_pct",
) -> pd.DataFrame:
    """HS-section rates by month: chapter rates averaged with fixed chapter import weights.

    ``chapter_rates`` has ``date``, ``hs2``, ``section`` and ``rate`` (percent); the weights
    are the partner's imports by chapter in ``weight_year`` (TransBorder annual HS2 table), so
    the section rate moves only when the schedule moves. Returns ``section``, ``date`` and
    ``exposure`` (a fraction), the layout :func:`panel_frame` takes.
    """
    _check_columns(chapter_rates, ["date", "hs2", "section", rate], "section_rates")
    _check_columns(hs2_annual, ["year", "country", "hs2", "imports_usd"], "section_rates")
    w = hs2_annual.loc[
        (hs2_annual["year"] == weight_year) & (hs2_annual["country"] == country),
        ["hs2", "imports_usd"],
    ]
    if w.empty:
        raise ModelError(f"section_rates: no {country} imports by chapter in {weight_year}.")
    m = chapter_rates.merge(w, on="hs2", how="left")
    m["imports_usd"] = m["imports_usd"].fillna(0.0)
    m["wr"] = m[rate] * m["imports_usd"]
    g = m.groupby(["section", "date"], as_index=False)[["wr", "imports_usd"]].sum()
    g["exposure"] = np.where(g["imports_usd"] > 0, g["wr"] / g["imports_usd"].where(g["imports_usd"] > 0), 0.0) / 100
    return g[["section", "date", "exposure"]]
