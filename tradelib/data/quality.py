"""Data-quality views used by notebook 01: raw layout, cleaning effects, validation results,
annual-total checks and vintage revisions.

These functions only read: they never change the cached tables.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from tradelib.data import cache, load, parse
from tradelib.data.fetch import ensure_raw
from tradelib.data.sources import SOURCES


def registry_table() -> pd.DataFrame:
    """One row per registered source: id, publisher, title, download or landing URL, files."""
    rows = []
    for s in SOURCES.values():
        rows.append({
            "source_id": s.id, "publisher": s.publisher, "title": s.title,
            "url": s.files[0].url.split("?")[0] if s.files[0].url else s.landing_url,
            "files": len(s.files), "api_key": s.needs_key or "",
        })
    return pd.DataFrame(rows)


@functools.lru_cache(maxsize=2)
def _read_country_xlsx(path: str, size: int, mtime_ns: int) -> pd.DataFrame:
    """``country.xlsx`` exactly as stored (memoised per file version: reading it takes seconds,
    and notebook 01 inspects the same file several times)."""
    return pd.read_excel(path, keep_default_na=False, na_values=[""])


def _raw_country(folder: Path) -> pd.DataFrame:
    path = folder / "country.xlsx"
    st = path.stat()
    return _read_country_xlsx(str(path), st.st_size, st.st_mtime_ns).copy()


def raw_country_rows(partner: str | int = "Mexico", vintage: str = "latest",
                     years: list[int] | None = None) -> pd.DataFrame:
    """The partner's rows of ``country.xlsx`` exactly as the file stores them (codes as read)."""
    vintage, folder = ensure_raw("census-country", vintage)
    raw = _raw_country(folder)
    code = int(load.partner_code(partner, vintage))
    out = raw.loc[raw["CTY_CODE"] == code]
    if years is not None:
        out = out.loc[out["year"].isin(years)]
    out.attrs["vintage"] = vintage
    return out.reset_index(drop=True)


def placeholder_cells(vintage: str = "latest") -> pd.DataFrame:
    """Cells of the last year that Census fills with 0 because the month is not yet published.

    Returns one row per month after the last published month: month, number of partner rows
    holding 0 there (all of them) and the number holding anything else (must be 0).
    """
    vintage, folder = ensure_raw("census-country", vintage)
    raw = _raw_country(folder)
    last_year = int(raw["year"].max())
    rows = raw.loc[raw["year"] == last_year]
    months = parse.MONTHS
    out = []
    for i, m in enumerate(months):
        vals = rows[[f"I{m}", f"E{m}"]].to_numpy(dtype=float)
        out.append({"month": f"{last_year}-{i + 1:02d}",
                    "cells_zero": int((vals == 0).sum()),
                    "cells_empty": int(np.isnan(vals).sum()),
                    "cells_nonzero": int(((vals != 0) & ~np.isnan(vals)).sum())})
    df = pd.DataFrame(out)
    df["published"] = df["cells_nonzero"] > 0
    last_pub = df.loc[df["published"], "month"].max()
    df["published"] = df["month"] <= last_pub
    df.attrs["vintage"] = vintage
    return df


#: Absolute tolerance (in tenths of $M) for "a whole multiple of 0.1 $M": far above float error
#: (about 1e-9 for values up to $1 trillion in $M x 10) and far below any published digit.
TENTH_ATOL = 1e-6


def decimals_by_year(trade: pd.DataFrame) -> pd.DataFrame:
    """Precision of the published values by year: share of values that are whole multiples of
    0.1 $M (as the 2026 snapshots are) and the largest number of decimals seen.

    The check is exact up to float error (absolute tolerance :data:`TENTH_ATOL`, no relative
    tolerance), so large values with more digits are not counted as rounded."""
    v = trade.dropna(subset=["value_musd"])
    scaled = v["value_musd"].to_numpy(dtype="float64") * 10
    # Exact check up to float representation error: an absolute tolerance only. (np.isclose's
    # default rtol=1e-5 would call 123456.78 "on a tenth", since 1e-5 x 1.2e6 > 0.2.)
    on_tenth = np.abs(scaled - np.round(scaled)) <= TENTH_ATOL
    digits = v["value_musd"].map(lambda x: len(f"{x:.10f}".rstrip("0").split(".")[1]))
    out = pd.DataFrame({"year": v["date"].dt.year, "on_tenth": on_tenth, "digits": digits})
    return (out.groupby("year", as_index=False)
            .agg(values=("on_tenth", "size"), share_rounded_to_0_1=("on_tenth", "mean"),
                 max_decimals=("digits", "max")))


def validation_report() -> pd.DataFrame:
    """What validation found for every cached source vintage (from the cache metadata)."""
    rows = []
    for sid in SOURCES:
        for v in load.available_vintages(sid):
            _, meta = load._fresh_meta(sid, v)
            val = meta.get("validation", {})
            annual = val.get("annual_totals", {})
            rows.append({
                "source_id": sid, "vintage": v,
                "tables": ", ".join(meta.get("tables", [])),
                "rows_checked": sum(int(str(x).split()[0]) for k, x in val.items()
                                    if isinstance(x, str) and x.endswith("rows passed")),
                "whole-year gaps": val.get("year_gaps", ""),
                "annual series-years checked": annual.get("series_years_checked", ""),
                "max |months - annual| ($M)": annual.get("max_abs_difference_musd", ""),
                "raw sha256": next(iter(meta.get("raw_sha256", {}).values()), "")[:12],
                "built_at": meta.get("built_at", ""),
            })
    return pd.DataFrame(rows)


def annual_check(partner: str | int = "Mexico", vintage: str = "latest") -> pd.DataFrame:
    """Months summed by year next to the file's own IYR/EYR for one partner.

    Columns: year, flow, months (number published), months_sum, reported, difference, complete.
    """
    trade = load.load_trade(partner, vintage)
    v = trade.attrs["vintage"]
    code = trade["partner_code"].iloc[0]
    annual = cache.read("census-country", v, "annual",
                        filters=[("partner_code", "==", code)])
    t = trade.assign(year=trade["date"].dt.year)
    g = t.groupby(["year", "flow"], as_index=False).agg(
        months=("value_musd", "count"),
        months_sum=("value_musd", lambda s: s.sum(min_count=1)))
    m = g.merge(annual[["year", "flow", "reported_annual_musd"]], on=["year", "flow"],
                how="left").rename(columns={"reported_annual_musd": "reported"})
    m["difference"] = m["months_sum"] - m["reported"]
    m["complete"] = m["months"] == 12
    m.attrs["vintage"] = v
    return m


def compare_vintages(partner: str | int = "Mexico", old: str = "2025-04",
                     new: str = "latest") -> pd.DataFrame:
    """Monthly values of two vintages side by side, for the months both publish.

    Columns: date, flow (exports, imports, balance), old, new, revision (new - old, $M),
    revision_pct (relative to old).
    """
    a = load.trade_wide(partner, vintage=old)
    b = load.trade_wide(partner, vintage=new)
    cols = ["exports", "imports", "balance"]
    m = a[["date", *cols]].merge(b[["date", *cols]], on="date", suffixes=("_old", "_new"),
                                 how="inner", validate="one_to_one")
    long = []
    for c in cols:
        long.append(pd.DataFrame({"date": m["date"], "flow": c, "old": m[f"{c}_old"],
                                  "new": m[f"{c}_new"]}))
    out = pd.concat(long, ignore_index=True)
    out["revision"] = out["new"] - out["old"]
    out["revision_pct"] = 100 * out["revision"] / out["old"].abs()
    out.attrs.update({"old": a.attrs["vintage"], "new": b.attrs["vintage"]})
    return out


def revised_months(rev: pd.DataFrame, tol_musd: float = 0.05) -> pd.DataFrame:
    """Months in which the two vintages differ by more than ``tol_musd`` (rounding of 0.1)."""
    return rev.loc[rev["revision"].abs() > tol_musd]


def annual_revisions(rev: pd.DataFrame) -> pd.DataFrame:
    """Annual totals of each vintage and their revision, for complete years only."""
    r = rev.assign(year=rev["date"].dt.year)
    g = r.groupby(["year", "flow"], as_index=False).agg(
        months=("old", "count"), old=("old", "sum"), new=("new", "sum"))
    g = g.loc[g["months"] == 12].drop(columns="months")
    g["revision"] = g["new"] - g["old"]
    g["revision_pct"] = 100 * g["revision"] / g["old"].abs()
    return g
