"""Parsers: one function per official file layout, each returning tidy long tables.

Every parser takes the path of a raw file (and the vintage it belongs to) and returns a
``dict[str, pandas.DataFrame]`` of named tables. Layout problems raise
:class:`tradelib.errors.ParseError` naming the file, what is wrong and how to fix it.

Conventions
-----------
* Codes are strings: Census partner codes are four digits with leading zeros (``"0015"``).
* Census writes ``0`` for months it has not yet published. A month counts as unpublished when
  every partner in the file has 0 (or nothing) in it and every later month of that year too; such
  months become missing (NaN), never zero trade. Zeros in published months are real zeros.
* An empty cell stays missing.
"""

from __future__ import annotations

import functools
import operator
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from tradelib.errors import ParseError

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
FLOW_PREFIX = {"E": "exports", "I": "imports"}


# --------------------------------------------------------------------------- helpers

def _check_nonempty(path: Path) -> None:
    if not path.exists():
        raise ParseError(f"{path}: file not found. Run `python -m tradelib fetch` first.")
    if path.stat().st_size == 0:
        raise ParseError(f"{path}: the file is empty (0 bytes). Delete it and fetch it again.")


def _read_excel_with(path: Path, required: list[str], code_col: str) -> tuple[pd.DataFrame, str]:
    """Read the one sheet of ``path`` that has every ``required`` column (several such sheets
    are ambiguous and raise :class:`ParseError`)."""
    _check_nonempty(path)
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, OSError, KeyError) as exc:
        raise ParseError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}). The file is "
            "probably truncated or not an Excel file; delete it and fetch it again."
        ) from exc
    seen = {}
    with book:
        for sheet in book.sheet_names:
            head = pd.read_excel(book, sheet_name=sheet, nrows=0)
            seen[sheet] = [str(c).strip() for c in head.columns]
        matching = [s for s, cols in seen.items() if all(c in cols for c in required)]
        if len(matching) > 1:
            raise ParseError(
                f"{path}: {len(matching)} sheets have the expected columns ({matching}); tradelib "
                "will not guess which one holds the data (reading the wrong one silently gives "
                "wrong numbers). Fetch the publisher's file again, or delete the extra sheet."
            )
        if matching:
            sheet = matching[0]
            df = pd.read_excel(book, sheet_name=sheet, dtype={code_col: str},
                               keep_default_na=False, na_values=[""])
            df.columns = [str(c).strip() for c in df.columns]
            return df, sheet
    missing = {s: [c for c in required if c not in cols] for s, cols in seen.items()}
    raise ParseError(
        f"{path}: no sheet has the expected columns. Missing per sheet: {missing}. "
        "Is this the right file (wrong sheet or changed layout)? Compare with the publisher's "
        "current layout and update tradelib.data.parse if the publisher changed it."
    )


def _numeric(df: pd.DataFrame, cols: list[str], path: Path, key_cols: list[str]) -> pd.DataFrame:
    """Coerce ``cols`` to float; raise naming every non-numeric cell."""
    out = df.copy()
    bad = []
    for c in cols:
        raw = out[c]
        num = pd.to_numeric(raw, errors="coerce")
        mask = num.isna() & raw.notna() & (raw.astype("str").str.strip() != "")
        if mask.any():
            for i in np.flatnonzero(mask.to_numpy())[:5]:
                keys = ", ".join(f"{k}={out[k].iloc[i]}" for k in key_cols)
                bad.append(f"row {i + 2} ({keys}) column {c}: {raw.iloc[i]!r}")
        out[c] = num.astype("float64")
    if bad:
        raise ParseError(f"{path}: non-numeric values where numbers are expected: "
                         + "; ".join(bad) + ". Fix or re-fetch the file.")
    return out


def _pad_code(codes: pd.Series, path: Path, col: str) -> pd.Series:
    s = codes.astype("str").str.strip()
    s = s.str.replace(r"\.0$", "", regex=True)
    bad = ~s.str.fullmatch(r"\d{1,4}")
    if bad.any():
        raise ParseError(f"{path}: column {col} has codes that are not 1-4 digits: "
                         f"{sorted(set(s[bad]))[:5]}.")
    return s.str.zfill(4)


# --------------------------------------------------------------------------- Census

def parse_census_country(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Census ``country.xlsx`` (NSA goods trade by partner, $ millions).

    Returns ``trade`` (date, partner_code, partner, flow, value_musd, vintage) with one row per
    partner, flow and month of every year in the file up to the last published month, and
    ``annual`` (year, partner_code, partner, flow, reported_annual_musd) from IYR/EYR.
    """
    path = Path(path)
    month_cols = [f"{p}{m}" for p in "IE" for m in MONTHS]
    required = ["year", "CTY_CODE", "CTYNAME", *month_cols, "IYR", "EYR"]
    df, _ = _read_excel_with(path, required, "CTY_CODE")
    if df.empty:
        raise ParseError(f"{path}: the sheet has a header but no data rows. Fetch the file again.")
    df = _numeric(df, ["year", *month_cols, "IYR", "EYR"], path, ["CTY_CODE", "year"])
    if df["year"].isna().any():
        raise ParseError(f"{path}: {int(df['year'].isna().sum())} rows have no year. The file is "
                         "probably truncated; fetch it again.")
    df["year"] = df["year"].astype("int64")
    df["partner_code"] = _pad_code(df["CTY_CODE"], path, "CTY_CODE")
    df["partner"] = df["CTYNAME"].astype("str").str.strip()

    last_year = int(df["year"].max())
    latest = df.loc[df["year"] == last_year, month_cols]
    published = [(latest[[f"I{m}", f"E{m}"]].fillna(0) != 0).to_numpy().any() for m in MONTHS]
    last_month = max((i + 1 for i, p in enumerate(published) if p), default=0)

    long = df.melt(id_vars=["year", "partner_code", "partner"], value_vars=month_cols,
                   var_name="col", value_name="value_musd")
    long["flow"] = long["col"].str[0].map(FLOW_PREFIX)
    long["month"] = long["col"].str[1:].map({m: i + 1 for i, m in enumerate(MONTHS)})
    long["date"] = pd.to_datetime({"year": long["year"], "month": long["month"], "day": 1})
    # Months after the last published month are Census's placeholder zeros: not data. They are
    # left out of the table (equivalently: missing), never kept as zero trade.
    long = long.loc[~((long["year"] == last_year) & (long["month"] > last_month))]
    long["vintage"] = vintage
    trade = (long[["date", "partner_code", "partner", "flow", "value_musd", "vintage"]]
             .sort_values(["partner_code", "flow", "date"], kind="stable")
             .reset_index(drop=True))
    trade["flow"] = trade["flow"].astype("str")

    annual = df.melt(id_vars=["year", "partner_code", "partner"], value_vars=["IYR", "EYR"],
                     var_name="col", value_name="reported_annual_musd")
    annual["flow"] = annual["col"].str[0].map(FLOW_PREFIX).astype("str")
    annual = annual.drop(columns="col").sort_values(["partner_code", "flow", "year"],
                                                    kind="stable").reset_index(drop=True)
    annual.attrs["last_published"] = f"{last_year}-{last_month:02d}"
    trade.attrs["last_published"] = f"{last_year}-{last_month:02d}"
    return {"trade": trade, "annual": annual}


def parse_census_ctyseasonal(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Census ``ctyseasonal.xlsx`` (seasonally adjusted, in dollars).

    Returns ``trade_sa`` in the same tidy layout as :func:`parse_census_country`, converted to
    $ millions; months Census leaves empty (not yet published) are dropped after the last
    published month and kept as NaN inside the series. ``quarters`` keeps the published
    quarterly sums (for validation).
    """
    path = Path(path)
    cols = {p: [f"{p}{m}" for m in MONTHS] for p in "BEI"}
    qcols = [f"{p}Q{q}" for p in "BEI" for q in range(1, 5)]
    required = ["year", "cty_code", "cty_desc", *functools.reduce(operator.iadd, cols.values(), []), *qcols]
    df, _ = _read_excel_with(path, required, "cty_code")
    if df.empty:
        raise ParseError(f"{path}: the sheet has a header but no data rows. Fetch the file again.")
    numeric = ["year", *functools.reduce(operator.iadd, cols.values(), []), *qcols]
    df = _numeric(df, numeric, path, ["cty_code", "year"])
    df["year"] = df["year"].astype("int64")
    df["partner_code"] = _pad_code(df["cty_code"], path, "cty_code")
    df["partner"] = df["cty_desc"].astype("str").str.strip()
    long = df.melt(id_vars=["year", "partner_code", "partner"],
                   value_vars=cols["E"] + cols["I"], var_name="col", value_name="value_usd")
    long["flow"] = long["col"].str[0].map(FLOW_PREFIX).astype("str")
    long["month"] = long["col"].str[1:].map({m: i + 1 for i, m in enumerate(MONTHS)})
    long["date"] = pd.to_datetime({"year": long["year"], "month": long["month"], "day": 1})
    long["value_musd"] = long["value_usd"] / 1e6
    last = long.loc[long["value_musd"].notna(), "date"].max()
    long = long.loc[long["date"] <= last]
    long["vintage"] = vintage
    trade = (long[["date", "partner_code", "partner", "flow", "value_musd", "vintage"]]
             .sort_values(["partner_code", "flow", "date"], kind="stable")
             .reset_index(drop=True))
    bal = df.melt(id_vars=["year", "partner_code"], value_vars=cols["B"], var_name="col",
                  value_name="balance_usd")
    bal["month"] = bal["col"].str[1:].map({m: i + 1 for i, m in enumerate(MONTHS)})
    bal = bal.drop(columns="col")
    q = df.melt(id_vars=["year", "partner_code"], value_vars=qcols, var_name="col",
                value_name="value_usd")
    return {"trade_sa": trade, "balance_sa": bal, "quarters": q}


def parse_census_duties(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Census API layout: ``time, CTY_CODE, CAL_DUT_MO, CON_VAL_MO`` (whole dollars).

    Returns ``duties``: date, partner_code, duties_usd, imports_cons_usd, effective_rate
    (calculated duties / imports for consumption, a fraction), vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["time", "CTY_CODE", "CAL_DUT_MO", "CON_VAL_MO"], {"CTY_CODE": "str"})
    df = _numeric(df, ["CAL_DUT_MO", "CON_VAL_MO"], path, ["time"])
    out = pd.DataFrame({
        "date": _month_dates(df["time"], path, "time"),
        "partner_code": _pad_code(df["CTY_CODE"], path, "CTY_CODE"),
        "duties_usd": df["CAL_DUT_MO"],
        "imports_cons_usd": df["CON_VAL_MO"],
    })
    out["effective_rate"] = out["duties_usd"] / out["imports_cons_usd"].where(
        out["imports_cons_usd"] > 0)
    out["vintage"] = vintage
    return {"duties": out.sort_values("date").reset_index(drop=True)}


# --------------------------------------------------------------------------- CSV helpers

def _read_csv(path: Path, required: list[str], dtype: dict[str, str] | None = None,
              **kw) -> pd.DataFrame:
    _check_nonempty(path)
    kw.setdefault("keep_default_na", False)
    kw.setdefault("na_values", [""])
    try:
        df = pd.read_csv(path, dtype=dtype, **kw)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"{path}: cannot be read as CSV ({exc}). The file may be truncated or "
                         "damaged; fetch it again.") from exc
    except pd.errors.EmptyDataError as exc:
        raise ParseError(f"{path}: the file has no data. Fetch it again.") from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ParseError(f"{path}: missing column(s) {missing}; found {list(df.columns)}. "
                         "The publisher may have changed the layout, or this is the wrong file.")
    if df.empty:
        raise ParseError(f"{path}: the file has a header but no data rows. Fetch it again.")
    return df


def _month_dates(s: pd.Series, path: Path, col: str, fmt: str | None = None) -> pd.Series:
    d = pd.to_datetime(s.astype("str").str.strip(), errors="coerce", format=fmt)
    if d.isna().any():
        bad = s[d.isna()].astype("str").tolist()[:5]
        raise ParseError(f"{path}: column {col} has values that are not dates: {bad}.")
    return d


# --------------------------------------------------------------------------- FRED

def parse_fred(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """FRED ``fredgraph.csv``: ``observation_date,<SERIES>``; empty values are missing.

    Returns ``series``: date, series_id, value (float, NaN where FRED has no observation).
    Older FRED downloads named the first column ``DATE``; both are accepted.
    """
    path = Path(path)
    _check_nonempty(path)
    head = pd.read_csv(path, nrows=0)
    cols = [str(c).strip() for c in head.columns]
    if len(cols) != 2 or cols[0] not in ("observation_date", "DATE"):
        raise ParseError(f"{path}: expected FRED columns 'observation_date,<SERIES>', got "
                         f"{cols}. Is this a FRED CSV download?")
    series = cols[1]
    df = _read_csv(path, cols, {series: "str"}, na_values=["", "."], keep_default_na=False)
    df = _numeric(df, [series], path, [cols[0]])
    out = pd.DataFrame({"date": _month_dates(df[cols[0]], path, cols[0], "%Y-%m-%d"),
                        "series_id": series, "value": df[series]})
    out["series_id"] = out["series_id"].astype("str")
    out["vintage"] = vintage
    return {"series": out}


# --------------------------------------------------------------------------- BTS

def _bts_sum(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum TradeValue over modes; pivot trade types into exports/imports columns (USD)."""
    g = df.groupby([*keys, "TradeType"], as_index=False, observed=True)["TradeValue"].sum(
        min_count=1)
    wide = g.pivot_table(index=keys, columns="TradeType", values="TradeValue",
                         aggfunc="sum", observed=True).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"Export": "exports_usd", "Import": "imports_usd"})


def _check_trade_types(df: pd.DataFrame, path: Path) -> None:
    bad = sorted(set(df["TradeType"].astype("str")) - {"Export", "Import"})
    if bad:
        raise ParseError(f"{path}: unknown TradeType values {bad}; expected Export/Import.")


def parse_bts_sections(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """BTS TransBorder Mexico by HS section, monthly, by mode -> totals over modes.

    Returns ``sections``: date, section, exports_usd, imports_usd, vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["Year", "Month", "CommodityGroup", "Mode", "TradeType", "TradeValue"],
                   {"CommodityGroup": "str", "Mode": "str", "TradeType": "str"})
    df = _numeric(df, ["Year", "Month", "TradeValue"], path, ["Year", "Month"])
    _check_trade_types(df, path)
    df["date"] = pd.to_datetime({"year": df["Year"], "month": df["Month"], "day": 1})
    out = _bts_sum(df.rename(columns={"CommodityGroup": "section"}), ["date", "section"])
    out["vintage"] = vintage
    return {"sections": out.sort_values(["section", "date"]).reset_index(drop=True)}


def parse_bts_totals(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """BTS TransBorder monthly trade by country and mode -> totals over modes.

    Returns ``totals``: date, country, exports_usd, imports_usd, surface_only (True before
    2003-11, when TransBorder covered surface modes only), vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["Year", "Month", "Country", "Mode", "TradeType", "TradeValue"],
                   {"Country": "str", "Mode": "str", "TradeType": "str"})
    df = _numeric(df, ["Year", "Month", "TradeValue"], path, ["Year", "Month", "Country"])
    _check_trade_types(df, path)
    df["date"] = pd.to_datetime({"year": df["Year"], "month": df["Month"], "day": 1})
    out = _bts_sum(df.rename(columns={"Country": "country"}), ["date", "country"])
    out["surface_only"] = out["date"] < pd.Timestamp("2003-11-01")
    out["vintage"] = vintage
    return {"totals": out.sort_values(["country", "date"]).reset_index(drop=True)}


def parse_bts_hs2_annual(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """BTS TransBorder HS2 chapters by year and mode -> totals over modes.

    Returns ``hs2_annual``: year, country, hs2 (2-digit string), commodity, section,
    exports_usd, imports_usd, vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["Year", "Country", "HSCode", "Commodity", "CommodityGroup", "Mode",
                          "TradeType", "TradeValue"],
                   {"HSCode": "str", "Country": "str", "Commodity": "str",
                    "CommodityGroup": "str", "Mode": "str", "TradeType": "str"})
    df = _numeric(df, ["Year", "TradeValue"], path, ["Year", "Country", "HSCode"])
    _check_trade_types(df, path)
    df["Year"] = df["Year"].astype("int64")
    df["HSCode"] = df["HSCode"].str.strip().str.zfill(2)
    df = df.rename(columns={"Year": "year", "Country": "country", "HSCode": "hs2",
                            "Commodity": "commodity", "CommodityGroup": "section"})
    out = _bts_sum(df, ["year", "country", "hs2", "commodity", "section"])
    out["vintage"] = vintage
    return {"hs2_annual": out.sort_values(["country", "year", "hs2"]).reset_index(drop=True)}


# --------------------------------------------------------------------------- USITC, Yale

def parse_usitc(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """USITC DataWeb extract by HS2 or HS4 with USMCA-claimed value.

    Returns ``hs2`` or ``hs4`` (by the file's level): date, partner_code, partner, level ("hs2"/"hs4"), hs (string code),
    imports_cons_usd, usmca_claimed_usd, usmca_share, vintage.
    """
    path = Path(path)
    head = [str(c).strip() for c in pd.read_csv(path, nrows=0).columns] \
        if Path(path).exists() and Path(path).stat().st_size else []
    level = "hs4" if "hs4" in head else "hs2"
    df = _read_csv(path, ["period", "cty_code", "country", level,
                          "imports_cons_customs_value_usd", "usmca_claimed_value_usd",
                          "usmca_share"],
                   {"cty_code": "str", "country": "str", level: "str"})
    df = _numeric(df, ["imports_cons_customs_value_usd", "usmca_claimed_value_usd",
                       "usmca_share"], path, ["period", "cty_code", level])
    width = 4 if level == "hs4" else 2
    out = pd.DataFrame({
        "date": _month_dates(df["period"], path, "period", "%Y-%m"),
        "partner_code": _pad_code(df["cty_code"], path, "cty_code"),
        "partner": df["country"].str.strip(),
        "level": level,
        "hs": df[level].str.strip().str.zfill(width),
        "imports_cons_usd": df["imports_cons_customs_value_usd"],
        "usmca_claimed_usd": df["usmca_claimed_value_usd"],
        "usmca_share": df["usmca_share"],
    })
    out["level"] = out["level"].astype("str")
    out["vintage"] = vintage
    return {level: out}


def parse_budgetlab_monthly(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Yale Budget Lab monthly customs duties (Treasury receipts) and imports, all partners.

    Returns ``monthly``: date, customs_duties_musd, imports_musd, effective_rate_pct, vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["date", "customs_duties", "imports_value", "effective_rate"])
    df = _numeric(df, ["customs_duties", "imports_value", "effective_rate"], path, ["date"])
    out = pd.DataFrame({"date": _month_dates(df["date"], path, "date", "%Y-%m-%d"),
                        "customs_duties_musd": df["customs_duties"],
                        "imports_musd": df["imports_value"],
                        "effective_rate_pct": df["effective_rate"]})
    out["vintage"] = vintage
    return {"monthly": out}


def parse_budgetlab_daily(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Yale Budget Lab daily statutory effective tariff rate (fraction); '#' lines are notes.

    Returns ``daily_etr``: date, statutory_etr, vintage.
    """
    path = Path(path)
    df = _read_csv(path, ["Date", "Weighted ETR"], comment="#")
    df = _numeric(df, ["Weighted ETR"], path, ["Date"])
    out = pd.DataFrame({"date": _month_dates(df["Date"], path, "Date", "%Y-%m-%d"),
                        "statutory_etr": df["Weighted ETR"]})
    out["vintage"] = vintage
    return {"daily_etr": out}


# --------------------------------------------------------------------------- Budget Lab tracker

def _hts_codes(s: pd.Series, path: Path, col: str, widths: tuple[int, ...]) -> pd.Series:
    """Strip HTS codes read as strings and check they are digits of an allowed width."""
    out = s.astype("str").str.strip().str.replace(".", "", regex=False)
    bad = out[~out.str.fullmatch(r"\d+") | ~out.str.len().isin(list(widths))]
    if len(bad):
        raise ParseError(f"{path}: column {col} has codes that are not {widths}-digit HTS codes "
                         f"(e.g. {bad.tolist()[:5]}). Read the file with codes as text; fetch "
                         "it again if it was saved by a spreadsheet that dropped leading zeros.")
    return out


def parse_usmca_shares(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``usmca_product_shares_YYYY_MM.csv``: imports for consumption by HTS10 and
    partner for one month, with the value entered claiming USMCA.

    Returns ``usmca_YYYY_MM``: date, hts10 (str), partner_code (str, 4 digits),
    imports_cons_usd, usmca_claimed_usd, vintage. The month is taken from the file name.
    """
    path = Path(path)
    stem = path.stem  # usmca_product_shares_2025_01
    try:
        year, month = int(stem[-7:-3]), int(stem[-2:])
        date = pd.Timestamp(year=year, month=month, day=1)
    except ValueError as exc:
        raise ParseError(f"{path}: the file name must end in _YYYY_MM (the month it covers), "
                         f"e.g. usmca_product_shares_2025_01.csv.") from exc
    df = _read_csv(path, ["hts10", "cty_code", "total_value", "usmca_value"],
                   {"hts10": "str", "cty_code": "str"})
    df = _numeric(df, ["total_value", "usmca_value"], path, ["hts10", "cty_code"])
    out = pd.DataFrame({
        "date": pd.Series(date, index=df.index).astype("datetime64[us]"),
        "hts10": _hts_codes(df["hts10"], path, "hts10", (10,)),
        "partner_code": _pad_code(df["cty_code"], path, "cty_code"),
        "imports_cons_usd": df["total_value"].astype("float64"),
        "usmca_claimed_usd": df["usmca_value"].astype("float64"),
    })
    over = out["usmca_claimed_usd"] > out["imports_cons_usd"] + 1.0
    if over.any():
        raise ParseError(f"{path}: usmca_value exceeds total_value on {int(over.sum())} rows "
                         f"(e.g. hts10 {out.loc[over, 'hts10'].iloc[0]}); the file is damaged.")
    if out.duplicated(["hts10", "partner_code"]).any():
        raise ParseError(f"{path}: duplicate hts10 x cty_code rows; the file is damaged.")
    out["vintage"] = vintage
    return {f"usmca_{year:04d}_{month:02d}": out}


def parse_s232_annex(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``s232_annex_products.csv`` (metals annexes of April 2026).

    Returns ``s232_annex``: hts_prefix (str), tier (annex: 1a, 1b, 2, 3), metal, effective_date.
    """
    path = Path(path)
    df = _read_csv(path, ["hts_prefix", "annex", "metal_type", "effective_date"],
                   {"hts_prefix": "str", "annex": "str"})
    out = pd.DataFrame({
        "hts_prefix": _hts_codes(df["hts_prefix"], path, "hts_prefix", (4, 6, 8, 10)),
        "tier": df["annex"].astype("str").str.strip().str.lower(),
        "metal": df["metal_type"].astype("str").str.strip(),
        "effective_date": _month_dates(df["effective_date"], path, "effective_date", "%Y-%m-%d"),
    })
    return {"s232_annex": out}


def parse_s232_derivatives(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``s232_derivative_products.csv`` (steel/aluminium derivatives).

    Returns ``s232_derivatives``: hts_prefix, ch99_code, metal, effective_date (NaT when the
    file leaves it empty: on the list from the 2025 proclamations' own annexes).
    """
    path = Path(path)
    df = _read_csv(path, ["hts_prefix", "ch99_code", "derivative_type", "effective_date"],
                   {"hts_prefix": "str", "ch99_code": "str"})
    eff = pd.to_datetime(df["effective_date"], errors="coerce", format="%Y-%m-%d")
    bad = df["effective_date"].notna() & eff.isna()
    if bad.any():
        raise ParseError(f"{path}: effective_date has values that are not dates: "
                         f"{df.loc[bad, 'effective_date'].tolist()[:5]}.")
    out = pd.DataFrame({
        "hts_prefix": _hts_codes(df["hts_prefix"], path, "hts_prefix", (4, 6, 8, 10)),
        "ch99_code": df["ch99_code"].astype("str").str.strip(),
        "metal": df["derivative_type"].astype("str").str.strip(),
        "effective_date": eff.astype("datetime64[us]"),
    })
    return {"s232_derivatives": out}


def parse_s232_copper(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``s232_copper_products.csv``. Returns ``s232_copper``: hts_prefix, ch99_code."""
    path = Path(path)
    df = _read_csv(path, ["hts10", "ch99_code"], {"hts10": "str", "ch99_code": "str"})
    return {"s232_copper": pd.DataFrame({
        "hts_prefix": _hts_codes(df["hts10"], path, "hts10", (4, 6, 8, 10)),
        "ch99_code": df["ch99_code"].astype("str").str.strip()})}


def parse_hts_list(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """A plain list of HTS codes, one a line (``s232_auto_parts.txt``, ``s232_mhd_parts.txt``).

    Returns a table named after the file stem with one column ``hts_prefix``.
    """
    path = Path(path)
    _check_nonempty(path)
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    codes = pd.Series([ln for ln in lines if ln and not ln.startswith("#")], dtype="str")
    if codes.empty:
        raise ParseError(f"{path}: no HTS codes in the file. Fetch it again.")
    return {path.stem: pd.DataFrame({"hts_prefix": _hts_codes(codes, path, "line",
                                                              (4, 6, 8, 10))})}


def parse_metal_shares(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``metal_content_shares_bea_hs10.csv``: steel/aluminium/copper share of value.

    Returns ``metal_shares``: hts10, steel_share, aluminum_share, copper_share, metal_share
    (fractions 0-1).
    """
    path = Path(path)
    cols = ["steel_share", "aluminum_share", "copper_share", "metal_share"]
    df = _read_csv(path, ["hs10", *cols], {"hs10": "str"})
    df = _numeric(df, cols, path, ["hs10"])
    out = pd.DataFrame({"hts10": _hts_codes(df["hs10"], path, "hs10", (10,)),
                        **{c: df[c].astype("float64") for c in cols}})
    bad = (out[cols] < 0).any(axis=1) | out[cols].isna().any(axis=1)
    if bad.any():
        raise ParseError(f"{path}: negative or missing shares for {int(bad.sum())} rows "
                         f"(e.g. {out.loc[bad, 'hts10'].iloc[0]}).")
    # Input-output ratios can exceed 1 for primary metal products (the file itself caps
    # metal_share at 1); a share of value cannot, so every column is capped at 1 and the number
    # of capped rows is kept in attrs.
    capped = (out[cols] > 1).any(axis=1)
    out[cols] = out[cols].clip(upper=1.0)
    out = out.drop_duplicates("hts10").reset_index(drop=True)
    out.attrs["capped_rows"] = int(capped.sum())
    return {"metal_shares": out}


def parse_etr_by_partner(path: str | Path, vintage: str) -> dict[str, pd.DataFrame]:
    """Budget Lab ``etr_by_partner.csv``: statutory import-weighted tariff rate by partner group
    at policy snapshots, with the Tax Policy Center's estimate.

    Returns ``etr_by_partner``: date, label, partner, etr_pct, import_share, etr_tpc_pct.
    """
    path = Path(path)
    df = _read_csv(path, ["date", "label", "partner", "etr", "import_share", "etr_tpc"],
                   {"label": "str", "partner": "str"})
    df = _numeric(df, ["etr", "import_share", "etr_tpc"], path, ["date", "partner"])
    out = pd.DataFrame({
        "date": _month_dates(df["date"], path, "date", "%Y-%m-%d"),
        "label": df["label"].str.strip(), "partner": df["partner"].str.strip(),
        "etr_pct": 100.0 * df["etr"], "import_share": df["import_share"],
        "etr_tpc_pct": 100.0 * df["etr_tpc"]})
    out["vintage"] = vintage
    return {"etr_by_partner": out}
