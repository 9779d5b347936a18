"""The statutory-rate engine: apply the authored tariff schedule to trade by product and month.

The events table (``tradelib/resources/tariff_events.csv``, see :mod:`tradelib.analysis.events`)
records each US duty as a chain of rate rows with a product scope, rate tiers, a valuation basis,
a USMCA treatment and a stacking rule. This module turns those rows into a schedule and applies
it to trade:

* :func:`build_schedule` -> one row per *segment* (a measure with constant settings between two
  dates);
* :func:`product_rates` -> for HTS10 products and months, the additional duty rate (percent of
  customs value) on goods that do **not** claim USMCA (``statutory_pct``) and on goods that do
  (``usmca_pct``), day-weighted within each month;
* :func:`apply_schedule` -> adds those rates to an HTS10 x month trade table and computes the
  **rate expected given USMCA claims** and the duties each implies;
* :func:`aggregate` -> trade-weighted rates by month, chapter or section as ratios of sums;
* :func:`chapter_rates` -> HS chapter x month rates over any window (e.g. 2007-2026) with fixed
  HTS10 weights, for regressions.

Conventions (all rates in percent of customs value, additional to MFN duties):

* ``full_value`` duties are charged on the whole value; ``*_content`` duties on the share of the
  metal in the good (Budget Lab / BEA shares, :func:`tradelib.data.load.load_metal_shares`),
  except goods of the metal's own chapters (72-73 steel, 74 copper, 76 aluminium), charged in
  full.
* USMCA treatment: ``exempt`` duties reach only non-claimed goods; ``applies`` duties reach all;
  ``non_us_content`` duties reach claimed goods on ``1 - us_content_share`` of their value
  (default ``us_content_share=0``: the statutory maximum, an upper bound).
* Stacking: ``adds`` duties cumulate; ``yields:a|b`` duties are not charged on the part of the
  value that measures ``a`` or ``b`` charge (e.g. the IEEPA duty on Mexico after 4 June 2025 is
  charged only on the non-metal value of a steel derivative).
* Conditional rows (``condition`` filled, e.g. the 2024 melt-and-pour rule) apply to the share
  ``condition_share`` of in-scope trade (default 0: the condition's share is not observed).
* Tiers: a product in a tiered list (e.g. the April 2026 metals annexes) pays its tier's rate;
  a product matched only by an HS prefix pays the headline rate.

MFN duties and product exclusions not written in the table (e.g. the energy and farm exclusions
of the 2026 surcharge) are not modelled: compare with duties collected accordingly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradelib.analysis import events as E
from tradelib.errors import ValidationError

__all__ = [
    "PORTIONS",
    "ScheduleError",
    "aggregate",
    "apply_schedule",
    "build_schedule",
    "chapter_rates",
    "compare_collected",
    "contributions",
    "load_product_lists",
    "product_rates",
    "read_gaps",
    "snapshot_rates",
    "totals",
]

#: The two portions of trade the engine prices: goods not claiming USMCA and goods claiming it.
PORTIONS: tuple[str, ...] = ("statutory", "usmca")

_OWN_CHAPTERS = {
    "steel_content": ("72", "73"),
    "aluminum_content": ("76",),
    "copper_content": ("74",),
    "steel_aluminum_content": ("72", "73", "76"),
}
_SHARE_COLS = {
    "steel_content": ("steel_share",),
    "aluminum_content": ("aluminum_share",),
    "copper_content": ("copper_share",),
    "steel_aluminum_content": ("steel_share", "aluminum_share"),
}


#: Structured condition of a row: the duty applies only to goods whose metal share (BEA value
#: share, :func:`tradelib.data.load.load_metal_shares`) exceeds the threshold, e.g.
#: ``"metal_share>0.15"`` for the April 2026 rule that excludes goods with at most 15% metal by
#: weight (value share used as a proxy). Other conditions scale the duty by ``condition_share``.
_METAL_RULE = re.compile(r"^metal_share>(0?\.\d+|1(?:\.0*)?)\b")


class ScheduleError(ValidationError):
    """Bad input to the schedule engine (the message names what is wrong and how to fix it)."""


@dataclass(frozen=True)
class _Segment:
    measure: str
    event_id: str
    start: pd.Timestamp
    end: pd.Timestamp | None
    rate: float
    tiers: Mapping[str, float]
    all_goods: bool
    prefixes: tuple[str, ...]
    lists: tuple[tuple[str, str | None], ...]
    basis: str
    usmca: str
    yields: tuple[str, ...]
    conditional: bool
    condition: str = ""


def build_schedule(events: pd.DataFrame | None = None) -> pd.DataFrame:
    """The US duty schedule as segments, one per rate row (and one more where a row lapses back
    to a non-zero rate after its ``end_date``).

    Returns a DataFrame with columns ``measure``, ``event_id``, ``start``, ``end`` (inclusive;
    ``NaT`` = open), ``rate_pct`` (headline), ``tiers`` (dict), ``product_scope``,
    ``valuation_basis``, ``usmca_treatment``, ``yields`` (tuple of measures), ``conditional``
    (bool), sorted by measure and start. A segment ends the day before the next row of its
    measure starts, or on the row's ``end_date``.
    """
    ev = E.load_events() if events is None else events
    rows = E.rate_events(ev).sort_values(["measure", "start_date", "event_id"], kind="stable")
    out = []
    for measure, grp in rows.groupby("measure", sort=True):
        recs = grp.to_dict("records")
        for k, r in enumerate(recs):
            nxt = recs[k + 1]["start_date"] if k + 1 < len(recs) else None
            stop = nxt - pd.Timedelta(days=1) if nxt is not None else None
            end = r["end_date"] if pd.notna(r["end_date"]) else None
            seg_end = min(x for x in (stop, end) if x is not None) if (stop or end) else None
            base = {
                "measure": str(measure), "event_id": str(r["event_id"]),
                "tiers": E.parse_tiers(str(r["rate_tiers"])) or {},
                "product_scope": str(r["product_scope"]),
                "valuation_basis": str(r["valuation_basis"]),
                "usmca_treatment": str(r["usmca_treatment"]),
                "yields": E.parse_stacking(str(r["stacking"])) or (),
                "conditional": bool(str(r["condition"]).strip()),
                "condition": str(r["condition"]).strip(),
            }
            out.append({**base, "start": r["start_date"], "end": seg_end,
                        "rate_pct": float(r["rate_after_pct"])})
            lapse_to = float(r["rate_before_pct"]) if pd.notna(r["rate_before_pct"]) else 0.0
            if end is not None and lapse_to > 0 and (stop is None or stop > end):
                out.append({**base, "tiers": {}, "start": end + pd.Timedelta(days=1),
                            "end": stop, "rate_pct": lapse_to})
    sched = pd.DataFrame(out, columns=["measure", "event_id", "start", "end", "rate_pct",
                                       "tiers", "product_scope", "valuation_basis",
                                       "usmca_treatment", "yields", "conditional",
                                       "condition"])
    sched["start"] = pd.to_datetime(sched["start"])
    sched["end"] = pd.to_datetime(sched["end"])
    return sched.sort_values(["measure", "start"], kind="stable").reset_index(drop=True)


def load_product_lists(vintage: str = "latest") -> dict[str, pd.DataFrame]:
    """The named product lists of :data:`tradelib.analysis.events.PRODUCT_LISTS`, from the
    Budget Lab tracker files. Each is a DataFrame with ``hts_prefix`` (str), ``tier`` (str or
    ``<NA>``) and ``metal`` (str or ``<NA>``)."""
    from tradelib.data import load

    def frame(prefixes: pd.Series, tier=None, metal=None) -> pd.DataFrame:
        n = len(prefixes)
        return pd.DataFrame({
            "hts_prefix": prefixes.astype("str").to_numpy(),
            "tier": pd.array(tier if tier is not None else [None] * n, dtype="string"),
            "metal": pd.array(metal if metal is not None else [None] * n, dtype="string"),
        })

    deriv = load.load_s232_list("s232_derivatives", vintage)
    annex = load.load_s232_list("s232_annex", vintage)
    alu03 = deriv.loc[(deriv["metal"] == "aluminum") & deriv["effective_date"].isna()]
    aug = deriv.loc[deriv["effective_date"] == pd.Timestamp("2025-08-18")]
    return {
        "s232_alu_derivatives_2025_03": frame(alu03["hts_prefix"], metal=alu03["metal"].tolist()),
        "s232_derivatives_2025_08": frame(aug["hts_prefix"], metal=aug["metal"].tolist()),
        "s232_copper": frame(load.load_s232_list("s232_copper", vintage)["hts_prefix"],
                             metal=None),
        "s232_auto_parts": frame(load.load_s232_list("s232_auto_parts", vintage)["hts_prefix"]),
        "s232_mhd_parts": frame(load.load_s232_list("s232_mhd_parts", vintage)["hts_prefix"]),
        "s232_annex_2026": frame(annex["hts_prefix"], tier=annex["tier"].tolist(),
                                 metal=annex["metal"].tolist()),
    }


def _segments(sched: pd.DataFrame) -> list[_Segment]:
    out = []
    for r in sched.to_dict("records"):
        parsed = E.parse_scope(r["product_scope"])
        if parsed is None:
            raise ScheduleError(f"segment {r['event_id']}: product_scope "
                                f"{r['product_scope']!r} is malformed.")
        all_goods, prefixes, lists = parsed
        out.append(_Segment(r["measure"], r["event_id"], r["start"],
                            None if pd.isna(r["end"]) else r["end"], float(r["rate_pct"]),
                            dict(r["tiers"]), all_goods, prefixes, lists,
                            r["valuation_basis"], r["usmca_treatment"], tuple(r["yields"]),
                            bool(r["conditional"]), str(r.get("condition", "") or "")))
    return out


def _match(products: pd.Series, seg: _Segment, lists: Mapping[str, pd.DataFrame]
           ) -> tuple[np.ndarray, np.ndarray]:
    """(covered bool array, rate array) of one segment over ``products`` (HTS10 strings)."""
    n = len(products)
    if seg.all_goods:
        return np.ones(n, dtype=bool), np.full(n, seg.rate)
    covered = np.zeros(n, dtype=bool)
    rate = np.full(n, np.nan)
    for p in seg.prefixes:  # HS prefixes: headline rate
        hit = products.str.startswith(p).to_numpy()
        covered |= hit
        rate[hit & np.isnan(rate)] = seg.rate
    for name, metal in seg.lists:
        if name not in lists:
            raise ScheduleError(f"segment {seg.event_id}: product list {name!r} is missing; "
                                "pass lists=load_product_lists() or a dict with that key.")
        tab = lists[name]
        if metal is not None:
            tab = tab.loc[tab["metal"] == metal]
        # the longest matching prefix decides the tier
        tier_of = np.full(n, None, dtype=object)
        hit_any = np.zeros(n, dtype=bool)
        for width in sorted(tab["hts_prefix"].str.len().unique()):
            sub = tab.loc[tab["hts_prefix"].str.len() == width]
            keys = products.str[:width]
            found = keys.isin(set(sub["hts_prefix"])).to_numpy()
            if found.any():
                tiers = dict(zip(sub["hts_prefix"], sub["tier"].astype(object), strict=True))
                tier_of[found] = keys[found].map(tiers).to_numpy()
                hit_any |= found
        rates = (pd.Series(tier_of, dtype="object").map(dict(seg.tiers)).astype("float64")
                 .fillna(seg.rate).to_numpy())
        rate = np.where(hit_any, rates, rate)
        covered |= hit_any
    return covered, np.where(covered, rate, 0.0)


_SHARE_CACHE: dict[tuple[int, str], pd.Series] = {}


def _share_table(metal: pd.DataFrame, basis: str) -> pd.Series:
    """hts10 -> share of value for a content basis (memoised per metal table and basis)."""
    key = (id(metal), basis)
    if key not in _SHARE_CACHE:
        if len(_SHARE_CACHE) > 16:
            _SHARE_CACHE.clear()
        _SHARE_CACHE[key] = (metal.set_index("hts10")[list(_SHARE_COLS[basis])].sum(axis=1)
                             .clip(upper=1.0))
    return _SHARE_CACHE[key]


def _basis(products: pd.Series, basis: str, metal: pd.DataFrame | None) -> np.ndarray:
    """Share of value a duty is charged on, per product (1 for ``full_value``)."""
    n = len(products)
    if basis == "full_value":
        return np.ones(n)
    if basis not in _OWN_CHAPTERS:
        raise ScheduleError(f"valuation basis {basis!r} is not one the engine knows "
                            f"({['full_value', *_OWN_CHAPTERS]}).")
    if metal is None:
        raise ScheduleError(f"valuation basis {basis!r} needs metal-content shares: pass "
                            "metal_shares=tradelib.data.load.load_metal_shares().")
    shares = _share_table(metal, basis)
    out = products.map(shares).to_numpy(dtype=float)
    out = np.where(np.isnan(out), 1.0, out)  # unknown content: charged in full (upper bound)
    own = products.str[:2].isin(_OWN_CHAPTERS[basis]).to_numpy()
    return np.where(own, 1.0, out)


def _prepare(products: pd.Series, segs: Sequence[_Segment], lists: Mapping[str, pd.DataFrame],
             metal: pd.DataFrame | None, condition_share: float
             ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per segment, once: (covered with a positive rate, rate x condition scale, basis share)."""
    out = []
    for seg in segs:
        covered, rate = _match(products, seg, lists)
        covered &= rate > 0
        scale = condition_share if seg.conditional else 1.0
        threshold = _METAL_RULE.match(seg.condition)
        if threshold and covered.any():
            # a structured condition: only goods whose metal share exceeds the threshold
            scale = 1.0
            if metal is None:
                raise ScheduleError(f"segment {seg.event_id}: its condition needs "
                                    "metal_shares=tradelib.data.load.load_metal_shares().")
            share = products.map(metal.set_index("hts10")["metal_share"]).to_numpy(float)
            covered &= np.isnan(share) | (share > float(threshold.group(1)))
        base = _basis(products, seg.basis, metal) if covered.any() else np.zeros(len(products))
        out.append((covered, rate * scale, base))
    return out


def _interval_rates(n: int, active: Sequence[tuple[_Segment, tuple]],
                    us_content_share: float) -> dict[str, dict[str, np.ndarray]]:
    """Charged rate by measure (arrays over products) for the segments in force, per portion."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for portion in PORTIONS:
        bases = {}
        for seg, (covered, _rate, base) in active:
            if portion == "usmca":
                if seg.usmca == "exempt":
                    covered = np.zeros_like(covered)
                elif seg.usmca == "non_us_content":
                    base = base * (1.0 - us_content_share)
            bases[seg.measure] = np.where(covered, base, 0.0)
        charged = {}
        for seg, (_cov, rate, _base) in active:
            blocked = sum((bases[k] for k in seg.yields if k in bases and k != seg.measure),
                          np.zeros(n))
            charged[seg.measure] = rate * np.clip(bases[seg.measure] - blocked, 0.0, None)
        out[portion] = charged
    return out


def _intervals(segs: Sequence[_Segment], lo: pd.Timestamp, hi: pd.Timestamp
               ) -> list[tuple[pd.Timestamp, pd.Timestamp, list[_Segment]]]:
    """Split ``lo..hi`` (inclusive days) where the set of segments in force changes, and at
    month starts; return ``(first_day, last_day, active)`` triples."""
    cuts = {lo, hi + pd.Timedelta(days=1)}
    cuts |= set(pd.date_range(lo, hi, freq="MS"))
    for s in segs:
        cuts.add(s.start)
        if s.end is not None:
            cuts.add(s.end + pd.Timedelta(days=1))
    cuts = sorted(c for c in cuts if lo <= c <= hi + pd.Timedelta(days=1))
    out = []
    for a, b in itertools.pairwise(cuts):
        active = [s for s in segs if s.start <= a and (s.end is None or s.end >= a)]
        out.append((a, b - pd.Timedelta(days=1), active))
    return out


def product_rates(
    products: Sequence[str] | pd.Series,
    start,
    end,
    schedule: pd.DataFrame | None = None,
    *,
    lists: Mapping[str, pd.DataFrame] | None = None,
    metal_shares: pd.DataFrame | None = None,
    us_content_share: float = 0.0,
    condition_share: float = 0.0,
    by_measure: bool = False,
) -> pd.DataFrame:
    """Additional US duty rates (percent of value) by HTS10 product and month.

    Parameters
    ----------
    products
        HTS10 codes (strings of 10 digits; duplicates are dropped).
    start, end
        First and last month (any day in them); rates are day-weighted within each month.
    schedule
        :func:`build_schedule` output (default: the committed table).
    lists, metal_shares
        Product lists (:func:`load_product_lists`) and metal-content shares
        (:func:`tradelib.data.load.load_metal_shares`); loaded when needed and not given.
    us_content_share
        US content share of USMCA-qualifying goods under ``non_us_content`` duties (vehicles,
        trucks); 0 = the statutory maximum.
    condition_share
        Share of in-scope trade that meets the condition of conditional rows (2024
        melt-and-pour / smelt-and-cast rules); 0 = none.
    by_measure
        Also return one row per measure (column ``measure``) instead of totals only.

    Returns
    -------
    Long DataFrame with ``date`` (month start), ``hts10``, [``measure``,] ``statutory_pct``
    (goods not claiming USMCA) and ``usmca_pct`` (goods claiming USMCA), sorted by date and
    product. Products and months with no duty get 0.
    """
    prods = pd.Series(pd.unique(pd.Series(products, dtype="str")), dtype="str")
    bad = prods[~prods.str.fullmatch(r"\d{10}")]
    if len(bad):
        raise ScheduleError(f"product_rates: products must be 10-digit HTS codes as strings; "
                            f"got {bad.tolist()[:5]} (read codes with dtype=str).")
    if not 0.0 <= us_content_share <= 1.0 or not 0.0 <= condition_share <= 1.0:
        raise ScheduleError("us_content_share and condition_share must lie in [0, 1].")
    lo = pd.Timestamp(start).to_period("M").to_timestamp()
    hi = pd.Timestamp(end).to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)
    if hi < lo:
        raise ScheduleError(f"product_rates: end {end} is before start {start}.")
    sched = build_schedule() if schedule is None else schedule
    segs = _segments(sched)
    needs_lists = any(s.lists for s in segs)
    if lists is None and needs_lists:
        lists = load_product_lists()
    needs_metal = any(s.basis != "full_value" for s in segs)
    if metal_shares is None and needs_metal:
        from tradelib.data.load import load_metal_shares
        metal_shares = load_metal_shares()
    measures = sorted({s.measure for s in segs})
    months = pd.date_range(lo, hi, freq="MS")
    window = [s for s in segs if s.start <= hi and (s.end is None or s.end >= lo)]
    prepared = dict(zip([id(s) for s in window],
                        _prepare(prods, window, lists or {}, metal_shares, condition_share),
                        strict=True))
    keys = measures if by_measure else ["total"]
    acc = {p: {m: np.zeros((len(months), len(prods))) for m in keys} for p in PORTIONS}
    for a, b, active in _intervals(window, lo, hi):
        if not active:
            continue
        rates = _interval_rates(len(prods), [(s, prepared[id(s)]) for s in active],
                                us_content_share)
        mi = months.get_loc(a.to_period("M").to_timestamp())
        w = ((b - a).days + 1) / a.days_in_month
        for p in PORTIONS:
            for m, col in rates[p].items():
                acc[p][m if by_measure else "total"][mi] += w * col
    frames = []
    for m in keys:
        stat, usm = acc["statutory"][m].ravel(), acc["usmca"][m].ravel()
        keep = (stat != 0) | (usm != 0) if by_measure else slice(None)
        frame = pd.DataFrame({
            "date": np.repeat(months.to_numpy(), len(prods))[keep],
            "hts10": np.tile(prods.to_numpy(), len(months))[keep],
            "statutory_pct": stat[keep],
            "usmca_pct": usm[keep],
        })
        if by_measure:
            frame.insert(2, "measure", m)
        frames.append(frame)
    long = pd.concat(frames, ignore_index=True)
    order = ["date", "hts10", "measure"] if by_measure else ["date", "hts10"]
    return long.sort_values(order, kind="stable").reset_index(drop=True)


def apply_schedule(
    trade: pd.DataFrame,
    schedule: pd.DataFrame | None = None,
    *,
    by_measure: bool = False,
    **kwargs,
) -> pd.DataFrame:
    """Price an HTS10 x month trade table with the schedule.

    ``trade`` needs ``date`` (month start), ``hts10`` (str), ``imports_cons_usd`` and optionally
    ``usmca_claimed_usd`` (absent = no claims), e.g. ``load.load_usmca_products()``. Keyword
    arguments go to :func:`product_rates`.

    Returns ``trade`` (rows with positive imports) plus ``usmca_share`` (claimed / imports),
    ``statutory_pct`` (rate if no USMCA claims), ``usmca_pct`` (rate on claimed goods),
    ``expected_pct`` = (1 - share) x statutory + share x usmca, and the implied
    ``statutory_duties_usd`` and ``expected_duties_usd``. With ``by_measure`` one row per
    product, month and measure with a non-zero rate (columns as above plus ``measure``).
    """
    need = {"date", "hts10", "imports_cons_usd"}
    if not need <= set(trade.columns):
        raise ScheduleError(f"apply_schedule: trade needs columns {sorted(need)}; got "
                            f"{list(trade.columns)} (see tradelib.data.load.load_usmca_products).")
    t = trade.loc[trade["imports_cons_usd"] > 0].copy()
    if t.empty:
        raise ScheduleError("apply_schedule: no rows with positive imports.")
    if t.duplicated(["date", "hts10"]).any():
        raise ScheduleError("apply_schedule: several rows per date and hts10; select one "
                            "partner first.")
    claimed = t.get("usmca_claimed_usd", 0.0)
    t["usmca_share"] = (claimed / t["imports_cons_usd"]).clip(0.0, 1.0)
    rates = product_rates(t["hts10"], t["date"].min(), t["date"].max(), schedule,
                          by_measure=by_measure, **kwargs)
    out = t.merge(rates, on=["date", "hts10"], how="inner" if by_measure else "left")
    for c in ("statutory_pct", "usmca_pct"):
        out[c] = out[c].fillna(0.0)
    out["expected_pct"] = ((1 - out["usmca_share"]) * out["statutory_pct"]
                           + out["usmca_share"] * out["usmca_pct"])
    out["statutory_duties_usd"] = out["imports_cons_usd"] * out["statutory_pct"] / 100.0
    out["expected_duties_usd"] = out["imports_cons_usd"] * out["expected_pct"] / 100.0
    return out.reset_index(drop=True)


def aggregate(priced: pd.DataFrame, by: Sequence[str] = ("date",)) -> pd.DataFrame:
    """Trade-weighted rates of :func:`apply_schedule` output as **ratios of sums**.

    ``by`` may name ``date``, ``measure``, ``hs2`` (first two digits) or ``section`` (BTS HS
    section, :func:`tradelib.analysis.events.hs_section`) besides existing columns. Returns
    ``imports_cons_usd``, ``usmca_claimed_usd`` (when present), ``statutory_duties_usd``,
    ``expected_duties_usd``, ``statutory_pct``, ``expected_pct`` and ``usmca_share`` per group.
    With by-measure input, the rates are each measure's contribution to the total rate, so
    imports are those of all products of the group (pass the totals table for the denominator).
    """
    df = priced
    keys = list(by)
    if "hs2" in keys and "hs2" not in df:
        df = df.assign(hs2=df["hts10"].str[:2])
    if "section" in keys and "section" not in df:
        df = df.assign(section=df["hts10"].str[:2].astype(int).map(E.hs_section))
    cols = ["imports_cons_usd", "statutory_duties_usd", "expected_duties_usd"]
    if "usmca_claimed_usd" in df:
        cols.append("usmca_claimed_usd")
    g = df.groupby(keys, sort=True)[cols].sum()
    g["statutory_pct"] = 100.0 * g["statutory_duties_usd"] / g["imports_cons_usd"]
    g["expected_pct"] = 100.0 * g["expected_duties_usd"] / g["imports_cons_usd"]
    if "usmca_claimed_usd" in g:
        g["usmca_share"] = g["usmca_claimed_usd"] / g["imports_cons_usd"]
    return g.reset_index()


def contributions(priced_by_measure: pd.DataFrame, trade: pd.DataFrame,
                  by: Sequence[str] = ("date",)) -> pd.DataFrame:
    """Each measure's contribution (percentage points) to the total statutory and expected
    rates of a group: its duties over **all** imports of the group (ratio of sums).

    ``priced_by_measure`` is :func:`apply_schedule` output with ``by_measure=True``; ``trade``
    the table that was priced (for the denominators). Returns a long DataFrame with the ``by``
    columns, ``measure``, ``statutory_pp`` and ``expected_pp``; contributions add up to the
    rates of :func:`aggregate`.
    """
    keys = list(by)
    t = trade.loc[trade["imports_cons_usd"] > 0]
    for k, fn in (("hs2", lambda d: d["hts10"].str[:2]),
                  ("section", lambda d: d["hts10"].str[:2].astype(int).map(E.hs_section))):
        if k in keys:
            t = t.assign(**{k: fn(t)})
            priced_by_measure = priced_by_measure.assign(**{k: fn(priced_by_measure)})
    den = t.groupby(keys)["imports_cons_usd"].sum()
    pm = priced_by_measure.assign(
        claimed_duties_usd=priced_by_measure["imports_cons_usd"]
        * priced_by_measure["usmca_share"] * priced_by_measure["usmca_pct"] / 100.0)
    num = pm.groupby([*keys, "measure"])[
        ["statutory_duties_usd", "expected_duties_usd", "claimed_duties_usd"]].sum().reset_index()
    num = num.merge(den.rename("den").reset_index(), on=keys, how="left")
    num["statutory_pp"] = 100.0 * num["statutory_duties_usd"] / num["den"]
    num["expected_pp"] = 100.0 * num["expected_duties_usd"] / num["den"]
    num["expected_claimed_pp"] = 100.0 * num["claimed_duties_usd"] / num["den"]
    num["expected_unclaimed_pp"] = num["expected_pp"] - num["expected_claimed_pp"]
    return num[[*keys, "measure", "statutory_pp", "expected_pp", "expected_unclaimed_pp",
                "expected_claimed_pp"]]


def totals(priced_by_measure: pd.DataFrame, trade: pd.DataFrame,
           by: Sequence[str] = ("date",)) -> pd.DataFrame:
    """The :func:`aggregate` table (rates as ratios of sums) built from by-measure output, so
    one pricing run serves both: ``imports_cons_usd``, ``usmca_claimed_usd`` (when in
    ``trade``), ``usmca_share``, ``statutory_pct`` and ``expected_pct`` per group."""
    keys = list(by)
    c = contributions(priced_by_measure, trade, by=keys)
    rates = c.groupby(keys)[["statutory_pp", "expected_pp"]].sum()
    t = trade.loc[trade["imports_cons_usd"] > 0]
    if "hs2" in keys:
        t = t.assign(hs2=t["hts10"].str[:2])
    if "section" in keys:
        t = t.assign(section=t["hts10"].str[:2].astype(int).map(E.hs_section))
    cols = ["imports_cons_usd"] + (["usmca_claimed_usd"] if "usmca_claimed_usd" in t else [])
    out = t.groupby(keys)[cols].sum().join(rates).fillna(
        {"statutory_pp": 0.0, "expected_pp": 0.0})
    out = out.rename(columns={"statutory_pp": "statutory_pct", "expected_pp": "expected_pct"})
    if "usmca_claimed_usd" in out:
        out["usmca_share"] = out["usmca_claimed_usd"] / out["imports_cons_usd"]
    return out.reset_index()


def chapter_rates(
    start,
    end,
    weights: pd.DataFrame,
    schedule: pd.DataFrame | None = None,
    *,
    usmca_share: pd.DataFrame | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Statutory rates by HS chapter x month over any window, with fixed HTS10 weights.

    ``weights`` has ``hts10`` and ``imports_cons_usd`` (e.g. Mexico's 2025 imports summed from
    ``load.load_usmca_products()``); a chapter's rate in a month is the weighted mean of its
    products' rates that month, so it moves only when the schedule does. ``usmca_share``
    (optional: ``date``, ``hs2``, ``usmca_share`` as a fraction, e.g. from USITC DataWeb) turns
    the two portion rates into ``expected_pct``; months without a share give ``NaN``.

    Returns ``date``, ``hs2``, ``section``, ``statutory_pct``, ``usmca_pct`` and, with shares,
    ``usmca_share`` and ``expected_pct``; sorted by chapter and date.
    """
    need = {"hts10", "imports_cons_usd"}
    if not need <= set(weights.columns):
        raise ScheduleError(f"chapter_rates: weights need columns {sorted(need)}.")
    w = weights.groupby("hts10")["imports_cons_usd"].sum()
    w = w.loc[w > 0]
    rates = product_rates(w.index.to_series(), start, end, schedule, **kwargs)
    rates["w"] = rates["hts10"].map(w)
    rates["hs2"] = rates["hts10"].str[:2]
    for c in ("statutory_pct", "usmca_pct"):
        rates[c] = rates[c] * rates["w"]
    keys = ["hs2", "date", "measure"] if "measure" in rates else ["hs2", "date"]
    g = rates.groupby(keys, sort=True)[["statutory_pct", "usmca_pct"]].sum()
    wch = w.groupby(w.index.str[:2]).sum()
    for c in ("statutory_pct", "usmca_pct"):
        g[c] = g[c] / g.index.get_level_values("hs2").map(wch).to_numpy()
    out = g.reset_index()
    out["section"] = out["hs2"].astype(int).map(E.hs_section)
    if usmca_share is not None:
        s = usmca_share[["date", "hs2", "usmca_share"]]
        out = out.merge(s, on=["date", "hs2"], how="left")
        out["expected_pct"] = ((1 - out["usmca_share"]) * out["statutory_pct"]
                               + out["usmca_share"] * out["usmca_pct"])
    return out[[c for c in ("date", "hs2", "section", "measure", "statutory_pct", "usmca_pct",
                            "usmca_share", "expected_pct") if c in out]]


def snapshot_rates(
    days: Sequence,
    trade: pd.DataFrame,
    schedule: pd.DataFrame | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Statutory and expected rates on given **days**, with fixed trade weights.

    ``trade`` (``hts10``, ``imports_cons_usd``, optional ``usmca_claimed_usd``) is summed over
    its rows to one weight and one USMCA share per product (ratios of sums), e.g. a calendar
    year of ``load.load_usmca_products()``. For each day the rates in force that day are
    applied (no day-weighting). Returns ``date``, ``statutory_pct`` (no USMCA claims) and
    ``expected_pct`` (with the products' claim shares), both ratios of sums over products.
    Keyword arguments go to :func:`product_rates` (``lists``, ``metal_shares``, ...).
    """
    cols = ["imports_cons_usd"] + (["usmca_claimed_usd"] if "usmca_claimed_usd" in trade else [])
    w = trade.groupby("hts10")[cols].sum()
    w = w.loc[w["imports_cons_usd"] > 0]
    share = (w["usmca_claimed_usd"] / w["imports_cons_usd"]).clip(0, 1) \
        if "usmca_claimed_usd" in w else pd.Series(0.0, index=w.index)
    sched = build_schedule() if schedule is None else schedule
    segs = _segments(sched)
    lists = kwargs.get("lists")
    metal = kwargs.get("metal_shares")
    if lists is None and any(s.lists for s in segs):
        lists = load_product_lists()
    if metal is None and any(s.basis != "full_value" for s in segs):
        from tradelib.data.load import load_metal_shares
        metal = load_metal_shares()
    prods = pd.Series(w.index.astype(str), dtype="str")
    prepared = _prepare(prods, segs, lists or {}, metal, kwargs.get("condition_share", 0.0))
    rows = []
    for day in days:
        d = pd.Timestamp(day)
        active = [(s, p) for s, p in zip(segs, prepared, strict=True)
                  if s.start <= d and (s.end is None or s.end >= d)]
        rates = _interval_rates(len(prods), active, kwargs.get("us_content_share", 0.0))
        stat = sum(rates["statutory"].values(), np.zeros(len(prods)))
        usm = sum(rates["usmca"].values(), np.zeros(len(prods)))
        imp = w["imports_cons_usd"].to_numpy()
        s = share.to_numpy()
        rows.append({"date": d,
                     "statutory_pct": float((imp * stat).sum() / imp.sum()),
                     "expected_pct": float((imp * ((1 - s) * stat + s * usm)).sum()
                                           / imp.sum())})
    return pd.DataFrame(rows)


def compare_collected(engine_monthly: pd.DataFrame, duties: pd.DataFrame, *,
                      baseline_pct: float, threshold_pp: float = 1.0) -> pd.DataFrame:
    """Engine expected rate vs Census calculated duties, month by month.

    ``engine_monthly`` is :func:`aggregate` output by ``date``; ``duties`` the single-partner
    ``tl.load_duties()`` rows. The engine prices only the *additional* duties of the table, so
    ``baseline_pct`` (e.g. the partner's effective rate in a year without them, via
    :func:`tradelib.analysis.events.effective_rate_over`) stands for MFN and other duties.
    Returns, per month: ``engine_expected_pct``, ``engine_plus_baseline_pct``,
    ``collected_pct`` (calculated duties / imports for consumption), ``gap_pp`` (engine plus
    baseline minus collected), ``off`` (``|gap| > threshold_pp``), and the engine's and
    Census's import values in $bn (``engine_imports_bn``, ``census_imports_bn``).
    """
    d = duties.set_index("date").sort_index()
    e = engine_monthly.set_index("date").sort_index()
    out = pd.DataFrame({
        "engine_expected_pct": e["expected_pct"],
        "engine_plus_baseline_pct": e["expected_pct"] + baseline_pct,
        "collected_pct": 100.0 * d["duties_usd"] / d["imports_cons_usd"],
        "engine_imports_bn": e["imports_cons_usd"] / 1e9,
        "census_imports_bn": d["imports_cons_usd"] / 1e9,
    }).loc[e.index]
    out["gap_pp"] = out["engine_plus_baseline_pct"] - out["collected_pct"]
    out["off"] = out["gap_pp"].abs() > threshold_pp
    out.index.name = "date"
    return out


def read_gaps(check: pd.DataFrame) -> pd.Series:
    """Classify each month of a :func:`compare_collected` table that has the extra columns
    ``exempt_unclaimed_pp`` (USMCA-exempt duties the engine charges on goods recorded as not
    claiming USMCA) and ``vehicles_claimed_pp`` (vehicle duties on claimed goods, priced at the
    ``us_content_share`` used).

    Returns, per month: ``"within threshold"`` when not ``off``; ``"claims"`` when the gap is no
    larger than the exempt-duty term (unrecorded claims or uncollected exempt duty can explain
    it); ``"claims + vehicles"`` when it is no larger than both terms together; ``"below
    collected"`` for a negative gap; ``"unexplained"`` otherwise.
    """
    gap = check["gap_pp"]
    out = pd.Series("unexplained", index=check.index, dtype="object")
    out[gap < 0] = "below collected"
    out[(gap >= 0) & (gap <= check["exempt_unclaimed_pp"] + check["vehicles_claimed_pp"])] = \
        "claims + vehicles"
    out[(gap >= 0) & (gap <= check["exempt_unclaimed_pp"])] = "claims"
    out[~check["off"]] = "within threshold"
    return out.astype("string")
