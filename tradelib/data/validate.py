"""Validation of parsed tables, run on every build and load.

Column rules (types, allowed values, no negative trade, unique keys) are pandera schemas; the
rules that need a whole series (contiguous months, annual totals) are plain functions. Every
violation raises :class:`tradelib.errors.ValidationError` naming the file, the rule and the
offending rows, so a reader can open the raw file and look.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from tradelib.errors import ValidationError

FLOWS = ("exports", "imports")
#: Largest accepted gap between the sum of 12 months and the published annual column, $ millions.
#: Values rounded to 0.1 can add up to 12 x 0.05 = 0.6 away from an annual total.
ANNUAL_TOLERANCE_MUSD = 0.6
#: A partner may be absent for whole years only while it is this small: at most this share of
#: the largest series (World) in the years around the gap. Census's real gaps are partners that
#: split, merged or were not itemised (Czechoslovakia, USSR, North Korea ...: under 0.005%); a
#: missing year of a partner above it (Mexico: ~15%) is a deleted or truncated row.
MAX_GAP_PARTNER_SHARE = 0.001

TRADE_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[us]", coerce=True, nullable=False,
                          checks=pa.Check(lambda s: s.dt.day == 1, element_wise=False,
                                          error="date is the first day of a month")),
        "partner_code": pa.Column(str, checks=pa.Check.str_matches(r"^\d{4}$"), nullable=False),
        "partner": pa.Column(str, nullable=False),
        "flow": pa.Column(str, checks=pa.Check.isin(FLOWS), nullable=False),
        "value_musd": pa.Column(float, checks=pa.Check.ge(0), nullable=True),
        "vintage": pa.Column(str, checks=pa.Check.str_matches(r"^\d{4}-\d{2}$")),
    },
    unique=["date", "partner_code", "flow"],
    strict=True,
    name="tidy trade table",
)


def _rows(df: pd.DataFrame, n: int = 8) -> str:
    return df.head(n).to_string(index=False) + (f"\n… and {len(df) - n} more" if len(df) > n else "")


def _schema_errors(exc: SchemaErrors, source: str) -> ValidationError:
    fc = exc.failure_cases
    lines = []
    for (col, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
        idx = grp["index"].dropna().tolist()[:8]
        vals = grp["failure_case"].astype("str").tolist()[:8]
        lines.append(f"  rule {check!s} on column {col!s}: {len(grp)} failing value(s), "
                     f"rows {idx}, values {vals}")
    return ValidationError(f"{source}: validation failed\n" + "\n".join(lines))


def validate_trade(df: pd.DataFrame, source: str | Path,
                   allow_year_gaps: bool = True) -> pd.DataFrame:
    """Check a tidy trade table; return it (dtypes coerced) or raise :class:`ValidationError`.

    Rules: schema (codes, flows, types, no negative values), unique (date, partner_code, flow)
    keys, contiguous months within every partner-flow series (whole missing years allowed only
    for partners below :data:`MAX_GAP_PARTNER_SHARE` of the largest series around the gap, and
    recorded in ``attrs["year_gaps"]``, see :func:`check_contiguous` and
    :func:`check_year_gaps`), and no month that is 0 for every partner and flow (a month Census
    has not published, or a damaged file, is never zero trade: :func:`check_zero_months`).
    """
    source = str(source)
    try:
        out = TRADE_SCHEMA.validate(df, lazy=True)
    except SchemaErrors as exc:
        dup = df[df.duplicated(["date", "partner_code", "flow"], keep=False)]
        err = _schema_errors(exc, source)
        if len(dup):
            err = ValidationError(f"{err}\n  duplicated keys (date, partner_code, flow):\n"
                                  + _rows(dup[["date", "partner_code", "flow", "value_musd"]]))
        raise err from None
    gaps = check_contiguous(out, source, ["partner_code", "flow"],
                            allow_year_gaps=allow_year_gaps)
    check_year_gaps(out, gaps, source)
    check_zero_months(out, source)
    out.attrs["year_gaps"] = gaps
    return out


def check_year_gaps(df: pd.DataFrame, gaps: pd.DataFrame, source: str | Path,
                    max_share: float = MAX_GAP_PARTNER_SHARE) -> None:
    """A whole missing year is accepted only for a partner too small to matter (see
    :data:`MAX_GAP_PARTNER_SHARE`); for any other partner it is a deleted or truncated row."""
    if gaps.empty:
        return
    year = df["date"].dt.year
    totals = df.assign(year=year).groupby(["partner_code", "year"])["value_musd"].sum()
    largest = totals.groupby(level="year").max()
    bad = []
    for (code, prev, nxt), _ in gaps.groupby(["partner_code", "previous_month", "month"]):
        years = [int(prev[:4]), int(nxt[:4])]
        share = max((totals.get((code, y), 0.0) / largest[y]) if largest.get(y, 0) > 0 else 0.0
                    for y in years)
        if share > max_share:
            name = df.loc[df["partner_code"] == code, "partner"].iloc[0]
            missing = f"{years[0] + 1}" + (f"-{years[1] - 1}" if years[1] - years[0] > 2 else "")
            bad.append(f"{name} ({code}): no rows for {missing} (between {prev} and {nxt}), "
                       f"though its trade is {share:.1%} of the largest series around the gap")
    if bad:
        raise ValidationError(
            f"{source}: rule 'no missing year for a partner that matters' failed:\n  "
            + "\n  ".join(bad)
            + f"\nOnly partners under {max_share:.1%} of world trade may skip whole years (Census "
            "stops itemising them); a row is missing from the file (deleted or truncated). "
            "Fetch it again."
        )


def check_zero_months(df: pd.DataFrame, source: str | Path) -> None:
    """No month may be 0 for every partner and flow: that is a month not (or wrongly)
    published, never zero trade. Missing (NaN) values are ignored."""
    known = df.dropna(subset=["value_musd"])
    if known.empty or known["partner_code"].nunique() < 2:
        return
    by_month = known.groupby("date")["value_musd"].agg(lambda s: bool((s == 0).all()))
    zero = by_month[by_month].index
    if len(zero):
        months = ", ".join(d.strftime("%Y-%m") for d in zero[:12])
        raise ValidationError(
            f"{source}: rule 'no month is 0 for every partner' failed for {len(zero)} month(s): "
            f"{months}. Census writes 0 for months it has not published; inside the series this "
            "means a damaged or wrongly edited file, not zero trade. Fetch it again."
        )


def check_contiguous(df: pd.DataFrame, source: str | Path, keys: list[str],
                     date_col: str = "date", allow_year_gaps: bool = False) -> pd.DataFrame:
    """Every series (grouped by ``keys``) has one row per month from its first to its last.

    With ``allow_year_gaps`` a series may skip whole calendar years (December to a later
    January): Census's ``country.xlsx`` has no row for a partner in years it did not itemise it
    (e.g. partners that split or merged). Such gaps are returned as a table, so they are reported,
    not hidden; a missing or repeated month inside a year always fails.
    """
    d = df[[*keys, date_col]].sort_values([*keys, date_col])
    months = d[date_col].dt.year * 12 + d[date_col].dt.month
    step = months.groupby([d[k] for k in keys]).diff()
    prev = d[date_col].groupby([d[k] for k in keys]).shift(1)
    year_gap = (prev.dt.month == 12) & (d[date_col].dt.month == 1) & (step > 1)
    gap = step.notna() & (step != 1)
    bad = gap & ~(year_gap & allow_year_gaps)

    def describe(mask: pd.Series) -> pd.DataFrame:
        return (d.loc[mask].assign(previous_month=prev.loc[mask].dt.strftime("%Y-%m"),
                                   month=d.loc[mask, date_col].dt.strftime("%Y-%m"))
                .drop(columns=date_col).reset_index(drop=True))

    if bad.any():
        shown = describe(bad)
        raise ValidationError(
            f"{source}: rule 'contiguous months' failed: {int(bad.sum())} gap(s) or repeated "
            f"month(s) in the monthly series:\n{_rows(shown)}\nA row is missing, truncated or "
            "duplicated in the file; fetch it again or report the gap."
        )
    return describe(gap)


def check_annual_totals(trade: pd.DataFrame, annual: pd.DataFrame, source: str | Path,
                        tol: float = ANNUAL_TOLERANCE_MUSD) -> pd.DataFrame:
    """For every complete year, the 12 months add up to the file's own annual column.

    Returns a table (year, partner_code, flow, months_sum, reported, difference) of the complete
    years compared. Raises :class:`ValidationError` listing rows further apart than ``tol``.
    """
    t = trade.assign(year=trade["date"].dt.year)
    g = t.groupby(["year", "partner_code", "flow"], as_index=False).agg(
        months_sum=("value_musd", lambda s: s.sum(min_count=1)),
        n_months=("value_musd", "count"))
    full = g.loc[g["n_months"] == 12]
    m = full.merge(annual[["year", "partner_code", "flow", "reported_annual_musd"]],
                   on=["year", "partner_code", "flow"], how="left", validate="one_to_one")
    m = m.rename(columns={"reported_annual_musd": "reported"})
    m["difference"] = m["months_sum"] - m["reported"]
    bad = m.loc[m["reported"].isna() | (m["difference"].abs() > tol)]
    if len(bad):
        raise ValidationError(
            f"{source}: rule 'months sum to the annual column (IYR/EYR) within {tol} $M' "
            f"failed for {len(bad)} series-year(s):\n"
            f"{_rows(bad[['year', 'partner_code', 'flow', 'months_sum', 'reported', 'difference']])}"
            "\nA monthly cell is probably wrong or truncated; fetch the file again."
        )
    return m.drop(columns="n_months")


def check_sa_consistency(trade_sa: pd.DataFrame, balance: pd.DataFrame, source: str | Path,
                         tol_musd: float = 0.01) -> None:
    """Seasonally adjusted balance = exports - imports, for every published month."""
    w = trade_sa.pivot_table(index=["date", "partner_code"], columns="flow",
                             values="value_musd").reset_index()
    b = balance.assign(date=pd.to_datetime({"year": balance["year"], "month": balance["month"],
                                                 "day": 1}))
    m = w.merge(b[["date", "partner_code", "balance_usd"]], on=["date", "partner_code"])
    diff = (m["exports"] - m["imports"]) - m["balance_usd"] / 1e6
    bad = m.loc[diff.abs() > tol_musd]
    if len(bad):
        raise ValidationError(f"{source}: rule 'balance = exports - imports' failed for "
                              f"{len(bad)} month(s):\n{_rows(bad)}")


SIMPLE_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "duties": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "partner_code": pa.Column(str, pa.Check.str_matches(r"^\d{4}$")),
        "duties_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "imports_cons_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "effective_rate": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
    }, unique=["date", "partner_code"], name="calculated duties"),
    "series": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "value": pa.Column(float, nullable=True),
    }, unique=["date"], name="FRED series"),
    "sections": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "section": pa.Column(str),
        "exports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "imports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
    }, unique=["date", "section"], name="BTS sections"),
    "totals": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "country": pa.Column(str, pa.Check.isin(["Canada", "Mexico"])),
        "exports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "imports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
    }, unique=["date", "country"], name="BTS totals"),
    "hs2_annual": pa.DataFrameSchema({
        "year": pa.Column(int), "country": pa.Column(str), "hs2": pa.Column(
            str, pa.Check.str_matches(r"^\d{2}$")),
        "exports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "imports_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
    }, unique=["year", "country", "hs2"], name="BTS HS2 annual"),
    "usitc": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "partner_code": pa.Column(str, pa.Check.str_matches(r"^\d{4}$")),
        "hs": pa.Column(str, pa.Check.str_matches(r"^\d{2,4}$")),
        "imports_cons_usd": pa.Column(float, pa.Check.ge(0)),
        "usmca_claimed_usd": pa.Column(float, pa.Check.ge(0)),
        "usmca_share": pa.Column(float, pa.Check.in_range(0, 1.000001), nullable=True),
    }, unique=["date", "partner_code", "hs"], name="USITC DataWeb"),
    "monthly": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "customs_duties_musd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "imports_musd": pa.Column(float, pa.Check.gt(0), nullable=True),
    }, unique=["date"], name="Budget Lab monthly"),
    "daily_etr": pa.DataFrameSchema({
        "date": pa.Column("datetime64[us]", coerce=True),
        "statutory_etr": pa.Column(float, pa.Check.in_range(0, 1)),
    }, unique=["date"], name="Budget Lab daily ETR"),
}


SIMPLE_SCHEMAS["hs2"] = SIMPLE_SCHEMAS["hs4"] = SIMPLE_SCHEMAS.pop("usitc")


def validate_table(name: str, df: pd.DataFrame, source: str | Path) -> pd.DataFrame:
    """Validate a non-trade table with its schema (tables without one pass unchanged)."""
    schema = SIMPLE_SCHEMAS.get(name)
    if schema is None:
        return df
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        raise _schema_errors(exc, str(source)) from None
