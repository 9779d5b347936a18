"""The authored tariff-events table: schema, loader, and monthly policy series.

``tradelib/resources/tariff_events.csv`` is written by the project (not downloaded): one row per trade-policy
action that touches goods traded between the United States and Mexico, from NAFTA (1994) to the
latest action confirmed in 2026. ``tradelib/resources/README.md`` documents every column.

This module

* validates the table (:func:`validate_events`): every rule failure names the CSV line, the
  ``event_id`` and the rule, so the file can be fixed by hand;
* loads it (:func:`load_events`) with proper dtypes;
* turns the *US import-side* actions into daily and monthly series of the additional duty rate in
  force (:func:`daily_rates`, :func:`events_monthly`) and into a per-HS-section exposure panel
  (:func:`exposure_by_section`) for regressions;
* offers small helpers for the *measured* side: the effective duty rate (calculated duties /
  imports for consumption) and before/after comparisons around an event.

Rates in the table are **headline additional ad valorem rates** (percent) on goods that do not
escape the measure. Goods claiming USMCA preference were exempt from the 2025 IEEPA duty and
from the 2026 Section 122 surcharge, so the headline rate overstates what an average Mexican
good paid; compare it with the effective rate from ``tl.load_duties()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tradelib.config import authored_dir
from tradelib.errors import ValidationError

__all__ = [
    "ACTORS",
    "AUTHORITIES",
    "CATEGORIES",
    "COLUMNS",
    "EVENT_TYPES",
    "GROUP_SECTIONS",
    "HS_SECTIONS",
    "OFFICIAL_DOMAINS",
    "PRODUCT_GROUPS",
    "PRODUCT_LISTS",
    "RATE_EVENT_TYPES",
    "USMCA_TREATMENTS",
    "VALUATION_BASES",
    "EventsValidationError",
    "Problem",
    "before_after",
    "check_events",
    "daily_rates",
    "display_events",
    "effective_rate",
    "effective_rate_annual",
    "event_category",
    "events_monthly",
    "events_path",
    "exposure_by_section",
    "hs_section",
    "is_official_source",
    "load_events",
    "measure_sections",
    "mexico_rates",
    "parse_scope",
    "parse_stacking",
    "parse_tiers",
    "rate_events",
    "read_events_csv",
    "validate_events",
    "window_means",
]

#: Columns of ``tradelib/resources/tariff_events.csv``, in file order.
COLUMNS: tuple[str, ...] = (
    "event_id",
    "short_label",
    "actor",
    "announced_date",
    "start_date",
    "end_date",
    "event_type",
    "authority",
    "measure",
    "product_group",
    "hs_chapters",
    "product_scope",
    "rate_before_pct",
    "rate_after_pct",
    "rate_tiers",
    "threatened_rate_pct",
    "valuation_basis",
    "usmca_treatment",
    "stacking",
    "condition",
    "trade_covered_usd_bn",
    "instrument",
    "description",
    "source_url",
    "source_url_2",
)

#: Legal authority of an action (fixed vocabulary). ``MX retaliation``: Mexico's equivalent or
#: retaliatory duties on US goods; ``MX tariff decree``: changes to Mexico's own tariff (LIGIE).
AUTHORITIES: tuple[str, ...] = (
    "NAFTA",
    "USMCA",
    "Section 232",
    "Section 301",
    "Section 122",
    "Section 201",
    "IEEPA",
    "AD/CVD",
    "MX retaliation",
    "MX tariff decree",
    "none",
)

#: What value a duty is charged on. ``*_content``: the value of that metal in the good (for
#: goods of the metal's own chapters, 72-73 steel, 74 copper, 76 aluminium, the full value).
VALUATION_BASES: tuple[str, ...] = (
    "full_value",
    "steel_content",
    "aluminum_content",
    "copper_content",
    "steel_aluminum_content",
    "na",
)

#: How the measure treats goods entered claiming USMCA (NAFTA) preference: ``exempt`` (applies
#: only to non-originating goods), ``applies`` (to every good in scope), ``non_us_content``
#: (qualifying goods pay on their non-US content only), ``na`` (not a duty).
USMCA_TREATMENTS: tuple[str, ...] = ("exempt", "applies", "non_us_content", "na")

#: Fixed vocabulary of event types.
EVENT_TYPES: tuple[str, ...] = (
    "agreement",
    "announcement",
    "tariff_imposed",
    "tariff_raised",
    "tariff_reduced",
    "tariff_modified",
    "tariff_paused",
    "tariff_removed",
    "exemption",
    "threat",
    "threat_withdrawn",
    "retaliation",
    "court_ruling",
    "review",
    "context",
)

#: Event types that may set the rate in force (``rate_after_pct``).
RATE_EVENT_TYPES: tuple[str, ...] = (
    "tariff_imposed",
    "tariff_raised",
    "tariff_reduced",
    "tariff_modified",
    "tariff_removed",
    "exemption",
    "retaliation",
)

#: Who acted: the US, Mexico, both governments, or nobody (context such as a currency crisis).
ACTORS: tuple[str, ...] = ("US", "MX", "joint", "none")

#: Product groups; ``none`` is only for context events.
PRODUCT_GROUPS: tuple[str, ...] = (
    "all_goods",
    "steel_aluminum",
    "autos_parts",
    "trucks",
    "other",
    "none",
)

#: Named product lists a ``product_scope`` may reference as ``list:<name>`` (optionally
#: ``list:<name>:<metal>``); built by :mod:`tradelib.analysis.schedule` from the Budget Lab
#: tracker files (see tradelib/resources/README.md).
PRODUCT_LISTS: tuple[str, ...] = (
    "s232_alu_derivatives_2025_03",
    "s232_derivatives_2025_08",
    "s232_copper",
    "s232_auto_parts",
    "s232_mhd_parts",
    "s232_annex_2026",
)

#: Domains counted as official primary sources (governments, courts, official gazettes).
OFFICIAL_DOMAINS: tuple[str, ...] = (
    "federalregister.gov", "govinfo.gov", "ustr.gov", "cbp.gov", "whitehouse.gov", "trade.gov",
    "commerce.gov", "bis.gov", "usitc.gov", "supremecourt.gov", "state.gov", "congress.gov",
    "dof.gob.mx", "gob.mx",
)

#: Display categories for timelines, in top-to-bottom order.
CATEGORIES: tuple[str, ...] = (
    "Agreements & reviews",
    "US duties in force",
    "Threats, pauses & announcements",
    "Mexico's own measures",
    "Courts & context",
)

_REQUIRED_TEXT = ("event_id", "short_label", "actor", "start_date", "event_type", "authority",
                  "product_group", "valuation_basis", "usmca_treatment", "instrument",
                  "description",
                  "source_url")
_ID_RE = re.compile(r"^\d{4}-\d{2}-[a-z0-9][a-z0-9-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL_RE = re.compile(r"^https?://\S+\.\S+$")
_MAX_LABEL = 28

#: HS sections as named in BTS TransBorder data: (first chapter, last chapter, name).
#: Chapter ranges follow the Harmonized System nomenclature (sections I-XXI, plus 98-99).
HS_SECTIONS: tuple[tuple[int, int, str], ...] = (
    (1, 5, "Live Animals & Animal Products"),
    (6, 14, "Vegetable Products"),
    (15, 15, "Animal or Vegetable Fats & Oils"),
    (16, 24, "Foodstuffs, Beverages & Tobacco"),
    (25, 27, "Mineral Products"),
    (28, 38, "Chemical Products"),
    (39, 40, "Plastics & Rubber"),
    (41, 43, "Raw Hides, Skins & Leather"),
    (44, 46, "Wood & Wood Products"),
    (47, 49, "Pulp, Paper & Paperboard"),
    (50, 63, "Textiles & Apparel"),
    (64, 67, "Footwear, Headgear & Umbrellas"),
    (68, 70, "Stone, Ceramic & Glass Products"),
    (71, 71, "Precious Metals & Stones"),
    (72, 83, "Base Metals & Articles"),
    (84, 85, "Machinery & Electrical Equipment"),
    (86, 89, "Transportation Equipment"),
    (90, 92, "Optical, Medical & Precision Instruments"),
    (93, 93, "Arms & Ammunition"),
    (94, 96, "Miscellaneous Manufactured Articles"),
    (97, 97, "Works of Art & Antiques"),
    (98, 99, "Special Classification Provisions"),
)

#: Product group -> BTS HS sections it maps to (``all_goods`` maps to every section and
#: ``other`` is mapped through each measure's ``hs_chapters``).
GROUP_SECTIONS: dict[str, tuple[str, ...]] = {
    "steel_aluminum": ("Base Metals & Articles",),
    "autos_parts": ("Transportation Equipment",),
    "trucks": ("Transportation Equipment",),
}


class EventsValidationError(ValidationError):
    """The tariff-events table breaks a schema rule (the message lists every failure)."""


@dataclass(frozen=True)
class Problem:
    """One rule failure: CSV line number (header = line 1), event id, column and rule text."""

    line: int
    event_id: str
    column: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line} (event_id={self.event_id!r}), column {self.column!r}: {self.rule}"


def events_path() -> Path:
    """Path of the authored events table (``<repo>/tradelib/resources/tariff_events.csv``)."""
    return authored_dir() / "tariff_events.csv"


def read_events_csv(path: str | Path | None = None) -> pd.DataFrame:
    """Read the events CSV with every column as a string (empty cells become ``""``)."""
    p = Path(path) if path is not None else events_path()
    if not p.is_file():
        raise EventsValidationError(
            f"{p}: the tariff-events table is missing. It is committed with the repository as "
            "tradelib/resources/tariff_events.csv; restore it with `git checkout tradelib/resources/tariff_events.csv` "
            "or pass the path of your own copy."
        )
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    df.attrs["path"] = str(p)
    return df


def _parse_date(text: str) -> pd.Timestamp | None:
    """Parse ``YYYY-MM-DD`` strictly; return ``None`` when it is not a real date."""
    if not _DATE_RE.match(text):
        return None
    try:
        return pd.Timestamp(text)
    except ValueError:
        return None


def _parse_rate(text: str) -> float | None:
    """Parse a percentage; ``None`` if it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_chapters(text: str) -> list[int] | None:
    """Parse ``"72;73;76"`` into chapter numbers, ``[]`` for ``""``; ``None`` if malformed."""
    if text in ("", "all"):
        return []
    out = []
    for part in text.split(";"):
        if not re.fullmatch(r"\d{2}", part) or not 1 <= int(part) <= 99:
            return None
        out.append(int(part))
    return out if len(set(out)) == len(out) else None


_SCOPE_TERM_RE = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8}|\d{10})$")
_MEASURE_RE = re.compile(r"^[a-z0-9_]+$")


def parse_scope(text: str) -> tuple[bool, tuple[str, ...], tuple[tuple[str, str | None], ...]] | None:
    """Parse a ``product_scope`` cell into ``(all_goods, hs_prefixes, lists)``.

    Grammar: ``all``; or ``;``-separated terms, each an HS prefix of 2, 4, 6, 8 or 10 digits
    (the first may carry the marker ``hs:``) or a named list ``list:<name>`` /
    ``list:<name>:<metal>`` (names in :data:`PRODUCT_LISTS`). Returns ``None`` when malformed;
    an empty cell gives ``(False, (), ())``.
    """
    text = text.strip()
    if text == "all":
        return True, (), ()
    if not text:
        return False, (), ()
    prefixes: list[str] = []
    lists: list[tuple[str, str | None]] = []
    for raw_term in text.split(";"):
        term = raw_term.strip()
        term = term.removeprefix("hs:")
        if term.startswith("list:"):
            parts = term.split(":")
            if len(parts) not in (2, 3) or parts[1] not in PRODUCT_LISTS:
                return None
            lists.append((parts[1], parts[2] if len(parts) == 3 else None))
        elif _SCOPE_TERM_RE.match(term):
            prefixes.append(term)
        else:
            return None
    if len(set(prefixes)) != len(prefixes):
        return None
    return False, tuple(prefixes), tuple(lists)


def parse_tiers(text: str) -> dict[str, float] | None:
    """Parse ``rate_tiers`` (``"1a=50;1b=25"``) into ``{tier: rate}``; ``{}`` for an empty cell,
    ``None`` when malformed (a tier name is lower-case letters/digits/_, a rate in [0, 100])."""
    text = text.strip()
    if not text:
        return {}
    out: dict[str, float] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        rate = _parse_rate(value) if sep else None
        if not re.fullmatch(r"[a-z0-9_]+", name) or rate is None or not 0 <= rate <= 100 \
                or name in out:
            return None
        out[name] = rate
    return out


def parse_stacking(text: str) -> tuple[str, ...] | None:
    """Parse ``stacking``: ``adds`` -> ``()`` (cumulates with every other duty);
    ``yields:m1|m2`` -> the measures on whose charged value this duty is *not* charged.
    ``None`` when malformed."""
    text = text.strip()
    if text == "adds":
        return ()
    if text.startswith("yields:"):
        names = tuple(text[len("yields:"):].split("|"))
        if names and all(_MEASURE_RE.match(n) for n in names) and len(set(names)) == len(names):
            return names
    return None


def is_official_source(url: str) -> bool:
    """True when ``url`` is on a government, court or official-gazette domain
    (:data:`OFFICIAL_DOMAINS`)."""
    m = re.match(r"^https?://([^/:]+)", url.strip())
    if not m:
        return False
    host = m.group(1).lower()
    return any(host == d or host.endswith("." + d) for d in OFFICIAL_DOMAINS)


def check_events(raw: pd.DataFrame) -> list[Problem]:
    """Return every schema problem in a string-typed events table (empty list = valid).

    Rules: the columns of :data:`COLUMNS`; required text filled; ``event_id`` unique, lower-case,
    prefixed by the start month; dates are real ``YYYY-MM-DD`` dates and ``end_date >=
    start_date``; vocabularies of :data:`EVENT_TYPES`, :data:`ACTORS`, :data:`PRODUCT_GROUPS`,
    :data:`USMCA_VALUES`; rates numeric in [0, 100]; rate-setting rows name a ``measure`` and
    give both rates, consistent with their type (imposed: 0 -> >0, raised: up, reduced: down,
    removed: -> 0) and with the rate left in force by the previous row of the same measure;
    threats carry no in-force rate; ``hs_chapters`` is ``all``, empty or ``;``-separated
    two-digit chapters; ``source_url`` (and ``source_url_2`` when given) is an http(s) URL.
    """
    problems: list[Problem] = []
    missing = [c for c in COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in COLUMNS]
    if missing or extra:
        return [Problem(1, "", ",".join(missing or extra),
                        f"header must be exactly {','.join(COLUMNS)} "
                        f"(missing: {missing or 'none'}; unexpected: {extra or 'none'})")]
    seen: dict[str, int] = {}
    chain_rows: list[tuple[pd.Timestamp, int, str, str, float, float, pd.Timestamp | None]] = []
    for i, row in enumerate(raw.to_dict("records")):
        line = i + 2
        eid = row["event_id"].strip()

        def bad(col: str, rule: str, _line: int = line, _eid: str = eid) -> None:
            problems.append(Problem(_line, _eid, col, rule))

        for col in _REQUIRED_TEXT:
            if not row[col].strip():
                bad(col, "is required and empty")
        if eid:
            if not _ID_RE.match(eid):
                bad("event_id", "must look like 'YYYY-MM-lower-case-words' (a-z, 0-9, '-')")
            if eid in seen:
                bad("event_id", f"duplicates the id on line {seen[eid]}")
            seen.setdefault(eid, line)
        if len(row["short_label"]) > _MAX_LABEL:
            bad("short_label", f"must have at most {_MAX_LABEL} characters for plot labels")
        start = _parse_date(row["start_date"])
        if row["start_date"] and start is None:
            bad("start_date", f"{row['start_date']!r} is not a real date in YYYY-MM-DD form")
        end = None
        if row["end_date"]:
            end = _parse_date(row["end_date"])
            if end is None:
                bad("end_date", f"{row['end_date']!r} is not a real date in YYYY-MM-DD form")
            elif start is not None and end < start:
                bad("end_date", f"end_date {row['end_date']} is before start_date "
                                f"{row['start_date']}")
        if start is not None and eid and _ID_RE.match(eid) and eid[:7] != row["start_date"][:7]:
            bad("event_id", f"must start with the start month {row['start_date'][:7]}")
        if row["announced_date"]:
            announced = _parse_date(row["announced_date"])
            if announced is None:
                bad("announced_date", f"{row['announced_date']!r} is not a real date in "
                                      "YYYY-MM-DD form")
            elif start is not None and announced > start:
                bad("announced_date", f"announced_date {row['announced_date']} is after "
                                      f"start_date {row['start_date']}")
        for col, vocab in (("event_type", EVENT_TYPES), ("actor", ACTORS),
                           ("product_group", PRODUCT_GROUPS), ("authority", AUTHORITIES),
                           ("valuation_basis", VALUATION_BASES),
                           ("usmca_treatment", USMCA_TREATMENTS)):
            if row[col] and row[col] not in vocab:
                bad(col, f"{row[col]!r} is not one of {', '.join(vocab)}")
        if row["product_group"] == "none" and row["event_type"] != "context":
            bad("product_group", "'none' is only allowed for context events")
        if _parse_chapters(row["hs_chapters"]) is None:
            bad("hs_chapters", f"{row['hs_chapters']!r} must be 'all', empty, or distinct "
                               "two-digit chapters 01-99 separated by ';'")
        if parse_scope(row["product_scope"]) is None:
            bad("product_scope", f"{row['product_scope']!r} must be 'all' or ';'-separated HS "
                                 "prefixes (2/4/6/8/10 digits, optional 'hs:' marker) or "
                                 f"'list:<name>[:<metal>]' with a name in {PRODUCT_LISTS}")
        tiers = parse_tiers(row["rate_tiers"])
        if tiers is None:
            bad("rate_tiers", f"{row['rate_tiers']!r} must look like 'tier=rate;tier=rate' "
                              "(lower-case names, rates 0-100)")
        if row["stacking"] and parse_stacking(row["stacking"]) is None:
            bad("stacking", f"{row['stacking']!r} must be 'adds' or 'yields:measure|measure'")
        if row["trade_covered_usd_bn"]:
            cov = _parse_rate(row["trade_covered_usd_bn"])
            if cov is None or cov < 0:
                bad("trade_covered_usd_bn", "must be a non-negative number ($ billions a year)")
        if row["source_url_2"] and row["source_url_2"] == row["source_url"]:
            bad("source_url_2", "repeats source_url; give a second source or leave it empty")
        if row["rate_after_pct"]:
            for col in ("product_scope", "stacking"):
                if not row[col]:
                    bad(col, "is required on a row that sets rate_after_pct")
            for col in ("valuation_basis", "usmca_treatment"):
                if row[col] == "na":
                    bad(col, "cannot be 'na' on a row that sets rate_after_pct")
            if tiers:
                top = max(tiers.values())
                value = _parse_rate(row["rate_after_pct"])
                if value is not None and not math.isclose(top, value):
                    bad("rate_tiers", f"the highest tier ({top:g}) must equal rate_after_pct "
                                      f"({row['rate_after_pct']})")
        rates: dict[str, float | None] = {}
        for col in ("rate_before_pct", "rate_after_pct", "threatened_rate_pct"):
            rates[col] = None
            if row[col]:
                value = _parse_rate(row[col])
                if value is None or not 0 <= value <= 100:
                    bad(col, f"{row[col]!r} must be a number between 0 and 100 (percent)")
                else:
                    rates[col] = value
        before, after = rates["rate_before_pct"], rates["rate_after_pct"]
        etype = row["event_type"]
        if row["rate_after_pct"]:
            if etype not in RATE_EVENT_TYPES:
                bad("rate_after_pct", f"only {', '.join(RATE_EVENT_TYPES)} rows may set the "
                                      "rate in force; leave it empty")
            if not row["measure"]:
                bad("measure", "a row that sets rate_after_pct must name its measure")
            if not row["rate_before_pct"]:
                bad("rate_before_pct", "is required when rate_after_pct is given")
        if before is not None and after is not None:
            rule = {
                "tariff_imposed": (before == 0 and after > 0, "tariff_imposed needs 0 -> >0"),
                "retaliation": (before == 0 and after > 0, "retaliation needs 0 -> >0"),
                "tariff_raised": (after > before, "tariff_raised needs after > before"),
                "tariff_reduced": (0 < after < before, "tariff_reduced needs 0 < after < before"),
                "tariff_removed": (after == 0 < before, "tariff_removed needs >0 -> 0"),
            }.get(etype)
            if rule is not None and not rule[0]:
                bad("rate_after_pct", rule[1])
            if start is not None and row["measure"] and row["actor"] in ("US", "MX"):
                chain_rows.append((start, line, eid, row["measure"], before, after, end))
        if etype in ("tariff_imposed", "tariff_raised", "tariff_reduced",
                     "tariff_removed") and row["actor"] == "US" and not row["rate_after_pct"]:
            bad("rate_after_pct", f"a US {etype} row must give the rate in force")
        for col in ("source_url", "source_url_2"):
            if row[col] and not _URL_RE.match(row[col]):
                bad(col, f"{row[col]!r} is not an http(s) URL")
    problems.extend(_check_chains(chain_rows))
    measures = {m for m in raw["measure"] if m}
    for i, row in enumerate(raw.to_dict("records")):
        for name in parse_stacking(row["stacking"]) or ():
            if name not in measures:
                problems.append(Problem(i + 2, row["event_id"], "stacking",
                                        f"yields to {name!r}, which no row names as measure"))
    return problems


def _check_chains(
    rows: Sequence[tuple[pd.Timestamp, int, str, str, float, float, pd.Timestamp | None]],
) -> list[Problem]:
    """Each rate row's ``rate_before_pct`` must equal the rate in force the day before it."""
    problems = []
    by_measure: dict[str, list] = {}
    for r in rows:
        by_measure.setdefault(r[3], []).append(r)
    for measure, items in by_measure.items():
        items = sorted(items, key=lambda r: (r[0], r[1]))
        for k, (start, line, eid, _m, before, _after, _end) in enumerate(items):
            if k == 0:
                expected = 0.0
            else:
                expected = _rate_on(items[:k], start - pd.Timedelta(days=1))
            if not math.isclose(before, expected):
                problems.append(Problem(
                    line, eid, "rate_before_pct",
                    f"is {before:g} but the rate of measure {measure!r} in force the day before "
                    f"{start.date()} is {expected:g} (from the earlier rows of that measure)"))
    return problems


def _rate_on(items: Sequence[tuple], day: pd.Timestamp) -> float:
    """Rate of one measure on ``day`` from its rows ``(start, line, id, m, before, after, end)``."""
    current = [r for r in items if r[0] <= day]
    if not current:
        return 0.0
    last = max(current, key=lambda r: (r[0], r[1]))
    end = last[6]
    return float(last[4] if end is not None and day > end else last[5])


_DATE_COLS = ("announced_date", "start_date", "end_date")
_NUM_COLS = ("rate_before_pct", "rate_after_pct", "threatened_rate_pct", "trade_covered_usd_bn")


def validate_events(raw: pd.DataFrame, source: str = "tradelib/resources/tariff_events.csv") -> pd.DataFrame:
    """Check ``raw`` (string table) and return it typed; raise listing every problem found.

    Typed columns: ``start_date``/``end_date`` datetime64 (``NaT`` = still in force or a
    one-day event), the three rate columns float64 (``NaN`` = not applicable), the rest pandas
    strings (empty cells kept as ``""``).
    """
    problems = check_events(raw)
    if problems:
        listed = "\n  ".join(str(p) for p in problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise EventsValidationError(
            f"{source}: {len(problems)} problem(s) in the tariff-events table:\n  {listed}{more}\n"
            "Fix the rows named above (tradelib/resources/README.md documents each column and rule)."
        )
    df = raw.loc[:, list(COLUMNS)].copy()
    for col in _DATE_COLS:
        df[col] = pd.to_datetime(df[col].replace("", None), format="%Y-%m-%d")
    for col in _NUM_COLS:
        df[col] = pd.to_numeric(df[col].replace("", None)).astype("float64")
    for col in df.columns:
        if col not in _DATE_COLS + _NUM_COLS:
            df[col] = df[col].astype("string")
    df = df.sort_values(["start_date", "event_id"], kind="stable").reset_index(drop=True)
    df["category"] = pd.array([event_category(t, a) for t, a in
                               zip(df["event_type"], df["actor"], strict=True)], dtype="string")
    return df


def load_events(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate the tariff-events table (default ``tradelib/resources/tariff_events.csv``).

    Returns one row per event sorted by ``start_date`` with typed columns (see
    :func:`validate_events`) plus ``category`` (see :func:`event_category`).
    ``attrs["source"]`` names the file; ``attrs["vintage"]`` is the latest date in the table.
    """
    raw = read_events_csv(path)
    df = validate_events(raw, source=raw.attrs.get("path", "tariff_events.csv"))
    latest = pd.concat([df["start_date"], df["end_date"]]).max()
    shown = "tradelib/resources/tariff_events.csv" if path is None else Path(path).name
    df.attrs["source"] = f"tradelib authored events table ({shown})"
    df.attrs["vintage"] = latest.strftime("%Y-%m-%d")
    return df


def event_category(event_type: str, actor: str) -> str:
    """Display category of an event (one of :data:`CATEGORIES`)."""
    if actor == "MX":
        return "Mexico's own measures"
    if event_type in ("agreement", "review"):
        return "Agreements & reviews"
    if event_type in ("court_ruling", "context"):
        return "Courts & context"
    if event_type in ("threat", "threat_withdrawn", "tariff_paused", "announcement"):
        return "Threats, pauses & announcements"
    return "US duties in force"


def rate_events(events: pd.DataFrame) -> pd.DataFrame:
    """Rows that set a US rate in force (US actor, a ``measure`` and ``rate_after_pct``)."""
    mask = (events["actor"] == "US") & (events["measure"] != "") & events["rate_after_pct"].notna()
    return events.loc[mask].copy()


def _bounds(events: pd.DataFrame, start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Default window: NAFTA's start to 31 December of the latest year in the table."""
    lo = pd.Timestamp(start) if start is not None else pd.Timestamp("1994-01-01")
    if end is not None:
        hi = pd.Timestamp(end)
    else:
        latest = pd.concat([events["start_date"], events["end_date"]]).max()
        hi = pd.Timestamp(year=latest.year, month=12, day=31)
    if hi < lo:
        raise EventsValidationError(f"events window: end {hi.date()} is before start {lo.date()}.")
    return lo, hi


def daily_rates(
    events: pd.DataFrame | None = None, start=None, end=None
) -> pd.DataFrame:
    """Daily headline additional US duty rate (percent) in force for each measure.

    For a day ``d`` the rate of a measure comes from its latest rate row with ``start_date <=
    d``: ``rate_after_pct`` while ``d <= end_date`` (or when there is no end date), otherwise
    ``rate_before_pct`` (the measure lapsed). Before its first row a measure is 0.
    Returns a DataFrame indexed by day (``date``) with one column per measure.
    """
    ev = load_events() if events is None else events
    lo, hi = _bounds(ev, start, end)
    days = pd.date_range(lo, hi, freq="D", name="date")
    rows = rate_events(ev).sort_values(["start_date", "event_id"], kind="stable")
    out = {}
    for measure, grp in rows.groupby("measure", sort=True):
        starts = grp["start_date"].to_numpy()
        idx = np.searchsorted(starts, days.to_numpy(), side="right") - 1
        after = grp["rate_after_pct"].to_numpy()
        before = grp["rate_before_pct"].to_numpy()
        ends = grp["end_date"].to_numpy()
        safe = np.clip(idx, 0, None)
        lapsed = ~pd.isna(ends[safe]) & (days.to_numpy() > ends[safe])
        values = np.where(lapsed, before[safe], after[safe])
        out[str(measure)] = np.where(idx >= 0, values, 0.0).astype("float64")
    return pd.DataFrame(out, index=days)


def display_events(events: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of ``events[columns]`` for display: dates as ``YYYY-MM-DD``, numbers with up to
    two decimals, and missing values, ``NaT`` and ``na`` shown as blank cells."""
    out = events.loc[:, list(columns)].copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif pd.api.types.is_float_dtype(s):
            out[col] = s.map(lambda v: "" if pd.isna(v) else f"{v:g}")
        else:
            out[col] = s.astype("object").where(s.notna(), "").replace("na", "")
    return out.astype("string")


def mexico_rates(events: pd.DataFrame | None = None, start=None, end=None,
                 freq: str = "MS") -> pd.DataFrame:
    """Mexico's own duties on **US** goods, per period: the top retaliatory rate in force
    (percent, day-weighted mean within the period) and the US trade the measures covered ($bn a
    year, as announced; the latest row's value while a measure is in force).

    Only Mexican rows that reach US goods count (``usmca_treatment`` other than ``exempt``):
    the 2009-2011 trucking retaliation and the 2018-2019 answer to the metal duties. Mexico's
    LIGIE decrees of 2023-2026 raise duties on countries without a trade agreement and leave US
    goods out, so they contribute 0. Returns columns ``top_rate_pct`` and
    ``trade_covered_usd_bn`` indexed by ``date``.
    """
    ev = load_events() if events is None else events
    lo, hi = _bounds(ev, start, end)
    days = pd.date_range(lo, hi, freq="D", name="date")
    mx = ev.loc[(ev["actor"] == "MX") & (ev["measure"] != "") & ev["rate_after_pct"].notna()
                & (ev["usmca_treatment"] != "exempt")]
    rates = pd.DataFrame(index=days)
    cover = pd.DataFrame(index=days)
    for measure, grp in mx.sort_values(["start_date", "event_id"]).groupby("measure"):
        idx = np.searchsorted(grp["start_date"].to_numpy(), days.to_numpy(), side="right") - 1
        safe = np.clip(idx, 0, None)
        rates[str(measure)] = np.where(idx >= 0, grp["rate_after_pct"].to_numpy()[safe], 0.0)
        cov = grp["trade_covered_usd_bn"].fillna(0.0).to_numpy()
        cover[str(measure)] = np.where(idx >= 0, cov[safe], 0.0)
    out = pd.DataFrame({
        "top_rate_pct": rates.max(axis=1) if rates.shape[1] else 0.0,
        "trade_covered_usd_bn": cover.sum(axis=1) if cover.shape[1] else 0.0,
    }, index=days).resample(freq).mean()
    out.index.name = "date"
    return out


def _measure_groups(events: pd.DataFrame) -> dict[str, str]:
    """Measure -> product group (from its rate rows; the first row decides)."""
    rows = rate_events(events)
    return {str(m): str(g.iloc[0]) for m, g in rows.groupby("measure")["product_group"]}


def _aggregate(daily: pd.DataFrame, freq: str, kind: str) -> pd.DataFrame:
    """Daily rates -> period values: mean rate, share of days > 0, or any day > 0."""
    if kind == "rate":
        return daily.resample(freq).mean()
    if kind == "share":
        return (daily > 0).astype("float64").resample(freq).mean()
    if kind == "indicator":
        return (daily > 0).astype("float64").resample(freq).max()
    raise EventsValidationError(f"kind must be 'rate', 'share' or 'indicator', got {kind!r}.")


def events_monthly(
    freq: str = "MS",
    start=None,
    end=None,
    *,
    kind: str = "rate",
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Policy series per product group, usable as regressors: DataFrame ``date`` x group.

    Columns: ``all_goods``, ``steel_aluminum``, ``autos_parts``, ``trucks``, ``other``.
    A group's daily value is the **highest** headline additional rate among the US measures of
    that group (e.g. steel 25% and aluminium 10% in 2018 give 25). Periods (``freq``, default
    month start) then hold, by ``kind``:

    * ``"rate"``: the day-weighted mean rate in percent (a measure starting on the 12th of a
      30-day month counts 19/30 of its rate);
    * ``"share"``: the share of days with a rate above zero (0-1);
    * ``"indicator"``: 1.0 if any day of the period had a rate above zero, else 0.0.

    Only US import-side measures count; Mexico's own duties, threats and pauses do not move the
    series. The rates are statutory headlines: goods claiming USMCA were exempt from the IEEPA
    duty (from 2025-03-07) and the Section 122 surcharge.
    """
    ev = load_events() if events is None else events
    daily = daily_rates(ev, start, end)
    groups = [g for g in PRODUCT_GROUPS if g != "none"]
    mgroups = _measure_groups(ev)
    wide = pd.DataFrame(index=daily.index)
    for g in groups:
        cols = [m for m, grp in mgroups.items() if grp == g]
        wide[g] = daily[cols].max(axis=1) if cols else 0.0
    out = _aggregate(wide, freq, kind)
    out.index.name = "date"
    out.columns.name = "product_group"
    return out


def hs_section(chapter: int) -> str:
    """BTS HS-section name of a two-digit HS chapter (1-99)."""
    for lo, hi, name in HS_SECTIONS:
        if lo <= chapter <= hi:
            return name
    raise EventsValidationError(f"HS chapter {chapter!r} is outside 1-99.")


def measure_sections(events: pd.DataFrame | None = None) -> dict[str, tuple[str, ...] | None]:
    """Measure -> BTS sections it touches; ``None`` means every section (all-goods measures).

    Steel/aluminium -> Base Metals & Articles; autos/parts and trucks -> Transportation
    Equipment; ``other`` measures -> the sections of their ``hs_chapters`` (e.g. tomatoes,
    chapter 07 -> Vegetable Products; copper, chapter 74 -> Base Metals & Articles).
    """
    ev = load_events() if events is None else events
    out: dict[str, tuple[str, ...] | None] = {}
    for measure, grp in rate_events(ev).groupby("measure"):
        group = str(grp["product_group"].iloc[0])
        if group == "all_goods":
            out[str(measure)] = None
        elif group in GROUP_SECTIONS:
            out[str(measure)] = GROUP_SECTIONS[group]
        else:
            chapters = sorted({c for text in grp["hs_chapters"]
                               for c in (_parse_chapters(str(text)) or [])})
            out[str(measure)] = tuple(dict.fromkeys(hs_section(c) for c in chapters))
    return out


def exposure_by_section(
    sections: Iterable[str] | None = None,
    *,
    freq: str = "MS",
    start=None,
    end=None,
    kind: str = "rate",
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Monthly US tariff exposure of each BTS HS section (Mexico), as a long panel.

    Parameters
    ----------
    sections
        Section names to return (e.g. ``tl.load_transborder_sections()["section"].unique()``).
        Default: the 22 BTS section names of :data:`HS_SECTIONS`. A name that no product group
        maps to still receives the all-goods measures.
    freq, start, end
        Period frequency (default month start) and window (default 1994-01-01 to the end of the
        latest year in the events table).
    kind
        ``"rate"`` (day-weighted mean headline additional rate, percent), ``"share"`` (share of
        days with any measure in force, 0-1) or ``"indicator"`` (1.0 if any day had one).
    events
        A loaded events table (default :func:`load_events`).

    Returns
    -------
    DataFrame with columns ``date`` (period start), ``section`` (str) and ``exposure``
    (float64), one row per section and period, sorted by section then date.

    Mapping (see :func:`measure_sections`): all-goods measures (IEEPA 2025, Section 122 in 2026)
    reach every section; steel/aluminium -> "Base Metals & Articles"; autos, parts and trucks ->
    "Transportation Equipment"; other measures via their HS chapters. On each day a section's
    exposure is the **highest** rate among the measures reaching it (US rules largely stop the
    IEEPA duty stacking on Section 232 goods), then days are averaged within the period.
    Headline rates ignore the USMCA exemption, so read the panel as exposure of non-USMCA
    trade, not as the duty actually paid; pair it with measured duty rates where possible.
    """
    ev = load_events() if events is None else events
    names = list(dict.fromkeys(sections)) if sections is not None else [n for *_, n in
                                                                           HS_SECTIONS]
    daily = daily_rates(ev, start, end)
    reach = measure_sections(ev)
    wide = pd.DataFrame(index=daily.index)
    for name in names:
        cols = [m for m, secs in reach.items() if secs is None or name in secs]
        wide[name] = daily[cols].max(axis=1) if cols else 0.0
    agg = _aggregate(wide, freq, kind)
    agg.index.name = "date"
    long = agg.reset_index().melt(id_vars="date", var_name="section", value_name="exposure")
    long["section"] = long["section"].astype("string")
    long["exposure"] = long["exposure"].astype("float64")
    return long.sort_values(["section", "date"], kind="stable").reset_index(drop=True)


def effective_rate(
    duties: pd.DataFrame,
    *,
    window: int = 1,
    partner_code: str | None = None,
) -> pd.Series:
    """Measured effective duty rate in percent: calculated duties / imports for consumption.

    ``duties`` has the layout of ``tl.load_duties()`` (``date``, ``partner_code``,
    ``duties_usd``, ``imports_cons_usd``). With ``window > 1`` the rate is the ratio of rolling
    sums (not the mean of monthly ratios), which smooths entry-timing noise. Months with zero or
    missing imports give ``NaN``. Returns a Series indexed by ``date``, named
    ``effective_rate_pct``.
    """
    need = {"date", "duties_usd", "imports_cons_usd"}
    if not need <= set(duties.columns):
        raise EventsValidationError(
            f"effective_rate: expected columns {sorted(need)} (tl.load_duties() layout), got "
            f"{list(duties.columns)}.")
    df = duties
    if partner_code is not None:
        df = df.loc[df["partner_code"] == partner_code]
    if df["date"].duplicated().any():
        raise EventsValidationError(
            "effective_rate: several rows per date; pass partner_code= to select one partner.")
    df = df.set_index("date").sort_index()
    num = df["duties_usd"].astype("float64").rolling(window, min_periods=window).sum()
    den = df["imports_cons_usd"].astype("float64").rolling(window, min_periods=window).sum()
    rate = (100.0 * num / den.where(den > 0)).rename("effective_rate_pct")
    return rate


def effective_rate_over(duties: pd.DataFrame, start=None, end=None, *,
                        partner_code: str | None = None) -> float:
    """The effective duty rate in percent over ``start``..``end`` (inclusive months): the ratio
    of summed calculated duties to summed imports for consumption, never a mean of monthly rates.

    This is the one definition every notebook uses for "the effective rate in <period>". Months
    with missing duties or imports are an error (the period would silently shrink), not skipped.
    """
    need = {"date", "duties_usd", "imports_cons_usd"}
    if not need <= set(duties.columns):
        raise EventsValidationError(
            f"effective_rate_over: expected columns {sorted(need)} (tl.load_duties() layout), "
            f"got {list(duties.columns)}.")
    df = duties
    if partner_code is not None:
        df = df.loc[df["partner_code"] == partner_code]
    if start is not None:
        df = df.loc[df["date"] >= pd.Timestamp(start)]
    if end is not None:
        df = df.loc[df["date"] <= pd.Timestamp(end)]
    if df.empty:
        raise EventsValidationError(f"effective_rate_over: no months between {start} and {end}.")
    if df["date"].duplicated().any():
        raise EventsValidationError(
            "effective_rate_over: several rows per date; pass partner_code= to select one.")
    gaps = df.loc[df[["duties_usd", "imports_cons_usd"]].isna().any(axis=1), "date"]
    if len(gaps):
        raise EventsValidationError(
            f"effective_rate_over: duties or imports missing in {len(gaps)} month(s) "
            f"({', '.join(d.strftime('%Y-%m') for d in gaps[:5])}); choose a period with data.")
    den = float(df["imports_cons_usd"].astype("float64").sum())
    if den <= 0:
        raise EventsValidationError("effective_rate_over: imports sum to zero over the period.")
    return 100.0 * float(df["duties_usd"].astype("float64").sum()) / den


def effective_rate_annual(duties: pd.DataFrame, *, complete_only: bool = True) -> pd.Series:
    """Calendar-year effective duty rate in percent (sum of duties / sum of imports).

    With ``complete_only`` a year counts only when all twelve months have data.
    """
    df = duties.dropna(subset=["duties_usd", "imports_cons_usd"])
    g = df.groupby(df["date"].dt.year)
    sums = g[["duties_usd", "imports_cons_usd"]].sum()
    if complete_only:
        sums = sums.loc[g.size() == 12]
    rate = 100.0 * sums["duties_usd"] / sums["imports_cons_usd"]
    rate.index.name = "year"
    return rate.rename("effective_rate_pct")


def window_means(
    series: pd.Series, event_date, months: int = 6, *, skip_event_month: bool = True
) -> tuple[float, float]:
    """Mean of a monthly series over the ``months`` before and after an event.

    "Before" is the ``months`` full months preceding the event's month; "after" starts the
    month after the event (or the event month itself when ``skip_event_month=False``).
    Returns ``(before, after)``; either is ``NaN`` when the window is not fully observed.
    """
    s = series.dropna().sort_index()
    m0 = pd.Timestamp(event_date).to_period("M").to_timestamp()
    before_idx = pd.date_range(end=m0 - pd.offsets.MonthBegin(1), periods=months, freq="MS")
    first_after = m0 + pd.offsets.MonthBegin(1) if skip_event_month else m0
    after_idx = pd.date_range(start=first_after, periods=months, freq="MS")

    def mean_if_full(idx: pd.DatetimeIndex) -> float:
        vals = s.reindex(idx)
        return float(vals.mean()) if vals.notna().all() else float("nan")

    return mean_if_full(before_idx), mean_if_full(after_idx)


def before_after(
    panel: pd.DataFrame,
    value: str,
    events: Mapping[str, object] | Sequence[tuple[str, object]],
    *,
    by: str | None = None,
    months: int = 6,
) -> pd.DataFrame:
    """Before/after means of ``panel[value]`` around several events, optionally per group.

    ``panel`` is long (``date``, optional ``by`` column, ``value``); ``events`` maps a label to
    a date. Returns one row per (event, group) with ``before``, ``after``, ``change`` and
    ``pct_change`` (percent; ``NaN`` when ``before`` is not positive).
    """
    pairs = list(events.items()) if isinstance(events, Mapping) else list(events)
    groups = [(None, panel)] if by is None else list(panel.groupby(by, sort=True))
    rows = []
    for label, when in pairs:
        for key, grp in groups:
            series = grp.set_index("date")[value].astype("float64")
            b, a = window_means(series, when, months)
            row = {"event": label, "event_date": pd.Timestamp(when)}
            if by is not None:
                row[by] = key
            row.update(before=b, after=a, change=a - b,
                       pct_change=100.0 * (a - b) / b if b > 0 else float("nan"))
            rows.append(row)
    return pd.DataFrame(rows)


def headline_rate(events: pd.DataFrame | None = None, start=None, end=None,
                  freq: str = "MS") -> pd.Series:
    """Highest headline additional US rate on any Mexican good, per period (percent).

    The daily maximum over all measures (all-goods and sectoral), averaged within each
    period: an upper bound for what a non-USMCA good in the most-hit product could pay on top
    of MFN duties. Named ``headline_max_pct``.
    """
    daily = daily_rates(events if events is not None else load_events(), start, end)
    out = daily.max(axis=1).resample(freq).mean()
    out.index.name = "date"
    return out.rename("headline_max_pct")


def rate_comparison(
    duties: pd.DataFrame,
    budgetlab_monthly: pd.DataFrame,
    budgetlab_daily: pd.DataFrame,
) -> pd.DataFrame:
    """Measured and statutory duty rates side by side, monthly, in percent.

    Columns:

    * ``partner_effective_pct``: calculated duties / imports for consumption for the partner in
      ``duties`` (``tl.load_duties()``; Census estimates at entry);
    * ``us_effective_pct``: Yale Budget Lab, Treasury customs receipts / goods imports, all
      partners (cash receipts lag entries by weeks);
    * ``us_statutory_pct``: Yale Budget Lab statutory import-weighted rate (2024 weights), all
      partners, monthly mean of the daily series.

    The statutory rate applies the schedule to every good as if no exemption were claimed; the
    effective rates divide duties actually assessed or paid by all imports, so USMCA claims,
    exemptions, non-stacking rules and trade shifting push them below it.
    """
    if duties["partner_code"].nunique() != 1:
        raise EventsValidationError("rate_comparison: `duties` must hold a single partner.")
    part = effective_rate(duties).rename("partner_effective_pct")
    us = budgetlab_monthly.set_index("date")["effective_rate_pct"].astype("float64")
    stat = budgetlab_daily.set_index("date")["statutory_etr"].astype("float64")
    stat_m = (100.0 * stat.resample("MS").mean()).rename("us_statutory_pct")
    out = pd.concat([part, us.rename("us_effective_pct"), stat_m], axis=1).sort_index()
    out.index.name = "date"
    return out


def usmca_share(usitc: pd.DataFrame, partner_code: str = "2010",
                chapters: Sequence[str] | None = None) -> pd.Series:
    """Share (percent) of imports for consumption entered under a USMCA claim, monthly.

    ``usitc`` has the ``tl.load_usitc()`` layout; ``chapters`` (HS2 codes as strings) limits
    the products. The share is the ratio of sums (claimed value / imports), not a mean of
    product shares. Named ``usmca_share_pct``.
    """
    df = usitc.loc[usitc["partner_code"] == partner_code]
    if chapters is not None:
        df = df.loc[df["hs"].str[:2].isin(list(chapters))]
    if df.empty:
        raise EventsValidationError(
            f"usmca_share: no rows for partner {partner_code!r} and chapters {chapters!r}.")
    g = df.groupby("date")[["usmca_claimed_usd", "imports_cons_usd"]].sum()
    return (100.0 * g["usmca_claimed_usd"] / g["imports_cons_usd"]).rename("usmca_share_pct")


def group_sections(
    sections: pd.DataFrame,
    focus: Sequence[str],
    *,
    value: str = "imports_usd",
    other: str = "All other sections",
) -> pd.DataFrame:
    """Collapse a BTS section panel to the ``focus`` sections plus one "all other" group.

    ``sections`` has the ``tl.load_transborder_sections()`` layout. Returns a wide DataFrame
    indexed by ``date`` with one column per focus section and ``other``, in the units of
    ``value``. Unknown focus names raise an error that lists the available sections.
    """
    known = set(sections["section"].unique())
    missing = [f for f in focus if f not in known]
    if missing:
        raise EventsValidationError(
            f"group_sections: {missing} not in the data; sections are {sorted(known)}.")
    label = sections["section"].where(sections["section"].isin(list(focus)), other)
    wide = (sections.assign(group=label).groupby(["date", "group"])[value].sum()
            .unstack("group"))
    wide = wide[[*focus, other]]
    wide.columns.name = None
    return wide
