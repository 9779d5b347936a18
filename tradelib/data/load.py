"""Public loaders: parsed, validated, cached tables by source and vintage.

A loader finds the raw files of the requested vintage (copying them from the offline mirror when
one is configured and they are not stored yet), checks every raw file against the sha256
recorded in ``data/raw/MANIFEST.csv`` when it was fetched (an edited or damaged raw file stops
the load with a message: re-fetch it), checks that the parquet cache was built from those exact
files and that its parquet files are the ones written then (sha256), rebuilds it when not,
validates what it returns and sets ``df.attrs["source"]``, ``["vintage"]`` and
``["citation"]``.
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tradelib import config
from tradelib.data import cache, parse, validate
from tradelib.data.fetch import (
    ensure_raw,
    mirror_vintages,
    read_manifest,
    recorded_sha,
    sha256_file,
    stored_vintages,
)
from tradelib.data.sources import SOURCES, fred_source_id, get_source
from tradelib.errors import IntegrityError, TradelibError, ValidationError

TRADE_SOURCES = {"nsa": "census-country", "sa": "census-ctyseasonal"}
ALIASES = {"eu": "0003", "european union": "0003", "world": "0015", "world nsa": "0015",
           "world sa": "0004", "us": None}


# --------------------------------------------------------------------------- build

def _raw_sha(source_id: str, vintage: str) -> dict[str, str]:
    """sha256 of every raw file of a source vintage, each checked against the fetch manifest.

    Raises :class:`IntegrityError` when a file differs from the checksum recorded when it was
    fetched (edited, damaged or replaced by hand) or was never recorded.
    """
    source = get_source(source_id)
    folder = config.raw_dir() / source_id / vintage
    out = {f.name: sha256_file(folder / f.name) for f in source.files
           if (folder / f.name).exists()}
    recorded = recorded_sha(source_id, vintage)
    fix = (f"Re-fetch it: `python -m tradelib fetch --source {source_id} --force` (from the "
           "mirror or the publisher), or restore the original file.")
    for name, sha in out.items():
        want = recorded.get(name)
        if want is None:
            raise IntegrityError(
                f"{folder / name}: not recorded in {config.manifest_path()}, so it cannot be "
                f"checked (placed by hand, or the manifest lost its row). {fix}")
        if want != sha:
            raise IntegrityError(
                f"{folder / name}: sha256 {sha[:12]}… differs from {want[:12]}… recorded in "
                f"{config.manifest_path()} when it was fetched: the file was edited, damaged or "
                f"replaced, so its numbers are not the published ones. {fix}")
    return out


def build(source_id: str, vintage: str | None = None) -> dict[str, Any]:
    """Parse and validate one source vintage and write it to the cache; return its metadata.

    Builds of the same source vintage are serialised (a lock on its cache folder), and
    temporary files a killed build left there are removed first.
    """
    from tradelib.data.fetch import _flock, remove_partials

    vintage, _ = ensure_raw(source_id, vintage)
    with _flock(cache.folder(source_id, vintage)):
        remove_partials(cache.folder(source_id, vintage))
        return _build_locked(source_id, vintage)


def _build_locked(source_id: str, vintage: str) -> dict[str, Any]:
    source = get_source(source_id)
    vintage, folder = ensure_raw(source_id, vintage)
    raw_sha = _raw_sha(source_id, vintage)
    tables: dict[str, pd.DataFrame] = {}
    extra: dict[str, Any] = {"validation": {}}
    t0 = time.perf_counter()
    for sfile in source.files:
        path = folder / sfile.name
        if not path.exists():
            continue
        parsed = getattr(parse, sfile.parser)(path, vintage)
        for name, df in parsed.items():
            if name in ("trade", "trade_sa"):
                df = validate.validate_trade(df, path)
                gaps = df.attrs.get("year_gaps")
                extra["validation"]["year_gaps"] = 0 if gaps is None else len(gaps)
                if name == "trade":
                    checked = validate.check_annual_totals(df, parsed["annual"], path)
                    extra["validation"]["annual_totals"] = {
                        "series_years_checked": len(checked),
                        "max_abs_difference_musd": float(checked["difference"].abs().max()),
                    }
                else:
                    validate.check_sa_consistency(df, parsed["balance_sa"], path)
                    extra["validation"]["balance_identity"] = "passed"
                extra["last_published"] = parsed[name].attrs.get("last_published") or \
                    df["date"].max().strftime("%Y-%m")
                tables["partners"] = (df[["partner_code", "partner"]].drop_duplicates(
                    "partner_code", keep="last").reset_index(drop=True))
            else:
                df = validate.validate_table(name, df, path)
            tables[name] = df
            extra["validation"][name] = f"{len(df)} rows passed"
    extra["build_seconds"] = round(time.perf_counter() - t0, 3)
    cache.write(source_id, vintage, tables, raw_sha, extra)
    return cache.read_meta(source_id, vintage) or {}


def _fresh_meta(source_id: str, vintage: str | None,
                force: bool = False) -> tuple[str, dict[str, Any]]:
    vintage, _ = ensure_raw(source_id, vintage)
    meta = cache.read_meta(source_id, vintage)
    if force or not cache.is_fresh(meta, _raw_sha(source_id, vintage)):
        meta = build(source_id, vintage)
    return vintage, meta or {}


def _table(source_id: str, table: str, vintage: str | None = "latest",
           filters: list | None = None) -> pd.DataFrame:
    vintage, meta = _fresh_meta(source_id, vintage)
    if table not in meta.get("tables", []):
        raise TradelibError(f"{source_id} {vintage}: no table {table!r} "
                            f"(tables: {meta.get('tables')})")
    df = cache.read(source_id, vintage, table, filters)
    source = get_source(source_id)
    df.attrs.update({"source": source_id, "vintage": vintage, "citation": source.citation,
                     "last_published": meta.get("last_published")})
    return df


def build_all(sources: Iterable[str] | None = None, force: bool = False) -> list[dict[str, Any]]:
    """Build every available vintage of every source (or those named); ``force`` rebuilds
    even a cache that looks current. A damaged cache is always rebuilt."""
    out = []
    for sid in sources or SOURCES:
        for v in available_vintages(sid):
            _, meta = _fresh_meta(sid, v, force=force)
            out.append(meta)
    return out


# --------------------------------------------------------------------------- vintages

def available_vintages(source_id: str = "census-country") -> list[str]:
    """Vintages (``YYYY-MM``) of a source that are stored or in the mirror, oldest first."""
    source = get_source(source_id)
    mdir = config.mirror_dir()
    mirrored = mirror_vintages(source, mdir) if mdir and mdir.is_dir() else []
    return sorted(set(stored_vintages(source_id)) | set(mirrored))


def data_vintages() -> pd.DataFrame:
    """One row per stored raw file: source, vintage, file, sha256, retrieval time, origin."""
    rows = read_manifest()
    if not rows:
        return pd.DataFrame(columns=["source_id", "vintage", "file", "sha256", "retrieved_at",
                                     "origin"])
    df = pd.DataFrame(rows)
    df["sha256"] = df["sha256"].str[:12]
    return df[["source_id", "vintage", "file", "size_bytes", "sha256", "retrieved_at",
               "origin"]].sort_values(["source_id", "vintage", "file"]).reset_index(drop=True)


# --------------------------------------------------------------------------- partners

def partners(vintage: str = "latest", adjustment: str = "nsa") -> pd.DataFrame:
    """Partner codes and names in a trade vintage."""
    return _table(_trade_source(adjustment), "partners", vintage)


def _trade_source(adjustment: str) -> str:
    try:
        return TRADE_SOURCES[adjustment.lower()]
    except (KeyError, AttributeError):
        raise TradelibError(f"adjustment must be 'nsa' or 'sa', not {adjustment!r}") from None


def partner_code(partner: str | int, vintage: str = "latest", adjustment: str = "nsa") -> str:
    """Resolve a partner name (case-insensitive) or code to the 4-digit Census code."""
    table = partners(vintage, adjustment)
    codes = set(table["partner_code"])
    if isinstance(partner, (int, np.integer)) or str(partner).strip().isdigit():
        code = str(int(partner)).zfill(4)
        if code in codes:
            return code
        raise TradelibError(f"partner code {code} is not in the {adjustment.upper()} trade data "
                            f"(vintage {table.attrs['vintage']}).")
    if isinstance(partner, (float, np.floating)) or not isinstance(partner, (str, int,
                                                                            np.integer)):
        raise TradelibError(
            f"partner {partner!r} ({type(partner).__name__}): give a name such as 'Mexico' or a "
            "Census code as a string or whole number, e.g. '2010' or 2010 (not a float: codes "
            "such as 0003 lose their leading zeros)")
    key = str(partner).strip().lower()
    if key in ALIASES and ALIASES[key] in codes:
        return ALIASES[key]
    by_name = {n.lower(): c for c, n in zip(table["partner_code"], table["partner"])}
    if key in by_name:
        return by_name[key]
    close = difflib.get_close_matches(key, list(by_name), n=3)
    raise TradelibError(f"unknown partner {partner!r} in {adjustment.upper()} trade data "
                        f"(vintage {table.attrs['vintage']}); did you mean {close}? Use a name "
                        "as Census writes it or a 4-digit code.")


def partner_name(code: str | int, vintage: str = "latest", adjustment: str = "nsa") -> str:
    """The Census name of a partner code (or of a name, normalised)."""
    c = partner_code(code, vintage, adjustment)
    table = partners(vintage, adjustment)
    return str(table.loc[table["partner_code"] == c, "partner"].iloc[0])


# --------------------------------------------------------------------------- trade

def _quick_check(df: pd.DataFrame, source: str) -> None:
    """The load-time validation: the table rules, on the rows being returned."""
    problems = []
    if list(df.columns) != list(validate.TRADE_SCHEMA.columns):
        problems.append(f"columns {list(df.columns)}")
    if not set(df["flow"].unique()) <= set(validate.FLOWS):
        problems.append(f"unknown flows {set(df['flow'].unique()) - set(validate.FLOWS)}")
    if (df["value_musd"] < 0).any():
        problems.append(f"{int((df['value_musd'] < 0).sum())} negative values")
    if not pd.Series(df["partner_code"].unique()).str.fullmatch(r"\d{4}").all():
        problems.append("partner codes that are not 4 digits")
    if df.duplicated(["date", "partner_code", "flow"]).any():
        problems.append("duplicated (date, partner_code, flow) keys")
    if problems:
        raise ValidationError(f"{source}: cached table fails validation ({'; '.join(problems)}); "
                              "delete data/processed and run `python -m tradelib build`.")


def load_trade(partners: str | int | Iterable[str | int] | None = None,
               vintage: str = "latest", adjustment: str = "nsa") -> pd.DataFrame:
    """US goods trade by partner and month, tidy.

    Parameters
    ----------
    partners
        ``None`` for every partner, or one or more names ("Mexico") or codes ("2010", 2010).
    vintage
        ``"latest"`` or a vintage from :func:`available_vintages` (e.g. ``"2025-04"``).
    adjustment
        ``"nsa"`` (Census ``country.xlsx``, 1985 on) or ``"sa"`` (Census ``ctyseasonal.xlsx``,
        2009 on, converted from dollars to $ millions).

    Returns
    -------
    DataFrame with columns ``date, partner_code, partner, flow, value_musd, vintage``; months
    after the last published month are not included, and missing values stay NaN.
    """
    source = _trade_source(adjustment)
    filters = None
    if partners is not None:
        if isinstance(partners, (str, int, np.integer, float, np.floating)):
            items = [partners]
        else:
            try:
                items = list(partners)
            except TypeError:
                raise TradelibError(
                    f"partners={partners!r}: give None (every partner), a name or code, or a "
                    "list of them") from None
        if not items:
            raise TradelibError("partners=[] selects no partner; pass None for every partner "
                                "or a list with at least one name or code")
        codes = [partner_code(p, vintage, adjustment) for p in items]
        filters = [("partner_code", "in", codes)]
    df = _table(source, "trade_sa" if adjustment.lower() == "sa" else "trade", vintage, filters)
    _quick_check(df, f"{source} {df.attrs['vintage']}")
    df.attrs["adjustment"] = adjustment.lower()
    return df


def trade_wide(partners: str | int | Iterable[str | int] | None = None, vintage: str = "latest",
               adjustment: str = "nsa") -> pd.DataFrame:
    """Like :func:`load_trade` but one row per partner and month with ``exports``, ``imports``
    and ``balance`` (exports - imports) columns, in $ millions."""
    df = load_trade(partners, vintage, adjustment)
    w = df.pivot_table(index=["date", "partner_code", "partner"], columns="flow",
                       values="value_musd", dropna=False, observed=True).reset_index()
    w.columns.name = None
    w["balance"] = w["exports"] - w["imports"]
    w.attrs = dict(df.attrs)
    return w


# --------------------------------------------------------------------------- other sources

def load_fred(series_id: str, vintage: str = "latest") -> pd.Series:
    """A FRED series as a monthly ``pd.Series`` (month-start index) named ``series_id``.

    Daily series (DEXMXUS) are averaged over the observations in each month (missing days such
    as holidays are skipped); ``attrs["observations_per_month"]`` holds the counts.
    """
    sid = fred_source_id(series_id)
    df = _table(sid, "series", vintage)
    s = df.set_index("date")["value"].rename(series_id.upper())
    attrs = dict(df.attrs)
    daily = s.index.to_series().diff().dt.days.median() < 20
    if daily:
        grouped = s.resample("MS")
        counts = grouped.count()
        s = grouped.mean().where(counts > 0)
        attrs["observations_per_month"] = counts
        attrs["frequency"] = "monthly mean of daily observations"
    else:
        attrs["frequency"] = "monthly"
    s.index.name = "date"
    s.attrs = attrs
    return s


def load_duties(vintage: str = "latest") -> pd.DataFrame:
    """Census calculated duties and imports for consumption from Mexico, monthly (2007 on).

    Columns ``date, partner_code, duties_usd, imports_cons_usd, effective_rate`` (fraction).
    """
    return _table("census-duties", "duties", vintage)


def load_transborder_sections(vintage: str = "latest") -> pd.DataFrame:
    """BTS TransBorder US-Mexico trade by HS section, monthly 2007-2025, summed over modes."""
    return _table("bts-transborder", "sections", vintage)


def load_transborder_totals(vintage: str = "latest") -> pd.DataFrame:
    """BTS TransBorder US trade with Canada and Mexico, monthly from 1993-04 (surface modes
    only before 2003-11: column ``surface_only``)."""
    return _table("bts-transborder", "totals", vintage)


def load_transborder_hs2_annual(vintage: str = "latest") -> pd.DataFrame:
    """BTS TransBorder trade by HS2 chapter (with its HS section), annual 2007-2025."""
    return _table("bts-transborder", "hs2_annual", vintage)


def load_usitc(level: str = "hs2", vintage: str = "latest") -> pd.DataFrame:
    """USITC DataWeb imports for consumption from Mexico and Canada by HS2 or HS4, monthly,
    with the value claimed under USMCA and its share."""
    if level not in ("hs2", "hs4"):
        raise TradelibError(f"level must be 'hs2' or 'hs4', not {level!r}")
    return _table("usitc-dataweb", level, vintage)


def load_budgetlab_monthly(vintage: str = "latest") -> pd.DataFrame:
    """Yale Budget Lab: monthly customs duties (Treasury receipts), goods imports and the
    effective rate in percent, all partners, 1982 on."""
    return _table("yale-budget-lab", "monthly", vintage)


def load_budgetlab_daily_etr(vintage: str = "latest") -> pd.DataFrame:
    """Yale Budget Lab: daily statutory import-weighted tariff rate (fraction), 2025 on."""
    return _table("yale-budget-lab", "daily_etr", vintage)


def load_usmca_products(partner_code: str | None = "2010", vintage: str = "latest"
                        ) -> pd.DataFrame:
    """Budget Lab / USITC DataWeb: imports for consumption and USMCA-claimed value by HTS10,
    monthly 2025-01..2026-02 (``partner_code`` "2010" Mexico, "1220" Canada, None both).

    Columns: date, hts10, partner_code, imports_cons_usd, usmca_claimed_usd, vintage.
    """
    source = get_source("yale-tracker")
    parts = []
    for f in source.files:
        if f.parser != "parse_usmca_shares":
            continue
        df = _table("yale-tracker", f.table, vintage)
        if partner_code is not None:
            df = df.loc[df["partner_code"] == partner_code]
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(parts[-1].attrs)
    return out


def load_s232_list(name: str, vintage: str = "latest") -> pd.DataFrame:
    """A Budget Lab Section 232 product list: ``s232_annex``, ``s232_derivatives``,
    ``s232_copper``, ``s232_auto_parts`` or ``s232_mhd_parts`` (column ``hts_prefix``)."""
    names = ("s232_annex", "s232_derivatives", "s232_copper", "s232_auto_parts",
             "s232_mhd_parts")
    if name not in names:
        raise TradelibError(f"unknown Section 232 list {name!r}; lists are {names}")
    return _table("yale-tracker", name, vintage)


def load_metal_shares(vintage: str = "latest") -> pd.DataFrame:
    """Budget Lab estimated steel/aluminium/copper share of value by HTS10 (BEA input-output)."""
    return _table("yale-tracker", "metal_shares", vintage)


def load_etr_by_partner(vintage: str = "latest") -> pd.DataFrame:
    """Budget Lab statutory tariff rate by partner at five 2025 snapshots, with TPC's (percent)."""
    return _table("yale-etr-partner", "etr_by_partner", vintage)


# --------------------------------------------------------------------------- CLI

def cli_build(args) -> int:
    """``python -m tradelib build``; exit 1 when there is nothing to build."""
    metas = build_all(args.source, force=getattr(args, "force", False))
    if not metas:
        print(f"build: nothing to build: no raw files under {config.raw_dir()} and no mirror "
              "configured. Run `python -m tradelib fetch` (or --mirror DIR) first.",
              file=sys.stderr)
        return 1
    for meta in metas:
        v = meta.get("validation", {})
        print(f"  {meta.get('source_id'):<20} {meta.get('vintage')}  tables "
              f"{', '.join(meta.get('tables', []))}  ({meta.get('build_seconds', 0)} s)"
              + (f"  annual check: {v['annual_totals']}" if "annual_totals" in v else ""))
    print(f"cache: {config.processed_dir()}")
    return 0


def cli_vintages(args) -> int:
    """``python -m tradelib vintages``; exit 1 when no source has any vintage."""
    found = 0
    for sid in SOURCES:
        vintages = available_vintages(sid)
        found += len(vintages)
        print(f"{sid:<20} {', '.join(vintages) or '(none)'}")
    if not found:
        print(f"vintages: no data: nothing under {config.raw_dir()} and no mirror configured. "
              "Run `python -m tradelib fetch` (or --mirror DIR).", file=sys.stderr)
        return 1
    return 0


def optional_source(loader, *args: Any, **kwargs: Any) -> tuple[pd.DataFrame | None, str | None]:
    """Call ``loader(*args, **kwargs)``; if its source is absent, return ``(None, note)``.

    For sources a notebook can do without (Census calculated duties need ``CENSUS_API_KEY``
    online; USITC DataWeb files have no public download URL): the section that needs the table
    prints ``note`` (Markdown naming the source, where it was looked for and how to get it) and
    the rest of the notebook runs. Any other error propagates.
    """
    from tradelib.errors import FetchError, MissingDataError

    try:
        return loader(*args, **kwargs), None
    except (MissingDataError, FetchError) as err:
        name = getattr(loader, "__name__", "loader")
        return None, (f"**Skipped: `{name}` has no data here.** {err} The rest of the notebook "
                      "does not need it.")


def missing_note(source_id: str, vintage: str | None = "latest") -> str | None:
    """Why ``source_id`` (at ``vintage``) cannot be loaded here, or ``None`` when it can.

    Looks, without copying anything, at the stored raw vintages and the configured mirror (the
    places a loader looks) and gives the message the loader would raise: it names the source,
    every place looked in and how to get it (a Census API key, an online fetch, a data archive
    or a mirror). An unknown ``source_id`` raises :class:`TradelibError` (a typo must not read
    as missing data).
    """
    from tradelib.data.fetch import missing_source_message, missing_vintage_message

    source = get_source(source_id)
    avail = available_vintages(source_id)
    if vintage in (None, "latest"):
        return None if avail else missing_source_message(source, config.mirror_dir())
    if vintage in avail:
        return None
    return missing_vintage_message(source, vintage, avail, config.mirror_dir())
