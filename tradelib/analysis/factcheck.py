"""Check a news story's numbers against the data: candidate figures, definitions and verdicts.

A quantitative claim ("a deficit of $13.7 billion") is checked by computing the same figure
under every plausible definition the data allow (vintage, seasonal adjustment, import basis,
rounding of the inputs), then giving each candidate a verdict with :func:`verdict`:

* **exact** – the figure matches the claim at the claim's own published rounding
  (13.7 has precision 0.1, so anything in [13.65, 13.75] matches it exactly);
* **close** – within a tolerance stated in advance (part of the :class:`Claim`, so the
  reader sees it);
* **not reproduced** – otherwise, or when the figure cannot be computed.

The scale is fixed in code before any data are looked at, and applied to every candidate
definition. Candidates that only exist because of a hypothesis formed after looking at the data
(for example "the journalist computed growth from figures rounded to $0.1bn") are kept and shown,
but flagged ``post_hoc`` and left out of a claim's honest label (:func:`claim_labels`).

The helpers are generic (any partner); notebook 05 applies them to the May-2025 story about
Mexico. Trade frames are the output of ``tradelib.load_trade`` (long: ``date, partner_code,
partner, flow, value_musd, vintage``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradelib.analysis.events import effective_rate_annual, effective_rate_over
from tradelib.analysis.transform import is_aggregate
from tradelib.errors import TradelibError

__all__ = [
    "CLOSE",
    "EXACT",
    "NOT_REPRODUCED",
    "POST_HOC_ROUNDING",
    "VERDICT_ORDER",
    "Claim",
    "FactCheckError",
    "Verdict",
    "avoidance_summary",
    "best_verdict",
    "candidate_table",
    "check_claim",
    "claim_labels",
    "duty_avoidance",
    "is_group_code",
    "month_figures",
    "pct_change",
    "precision_of",
    "rank_verdict",
    "revision_table",
    "scorecard",
    "share_verdict",
    "single_definition_matches",
    "two_way_ranking",
    "verdict",
    "wide_flows",
    "yoy_table",
]

EXACT = "exact"
CLOSE = "close"
NOT_REPRODUCED = "not reproduced"
VERDICT_ORDER = (EXACT, CLOSE, NOT_REPRODUCED)
#: Input roundings of growth rates tried only after seeing the data: shown, never counted.
POST_HOC_ROUNDING = ("rounded to $0.1bn",)


class FactCheckError(TradelibError):
    """Inputs to a fact check are unusable (missing month, missing flow, bad claim)."""


# --------------------------------------------------------------------------------------------
# Claims and verdicts
# --------------------------------------------------------------------------------------------


def precision_of(stated: str) -> float:
    """The rounding step implied by a number as printed: ``"13.7"`` -> 0.1, ``"9"`` -> 1."""
    text = stated.strip().replace(",", "").lstrip("+-$")
    try:
        float(text)
    except ValueError as exc:
        raise FactCheckError(f"precision_of: {stated!r} is not a number as printed.") from exc
    if "." not in text:
        return 1.0
    return 10.0 ** -len(text.split(".", 1)[1])


@dataclass(frozen=True)
class Claim:
    """A number printed in the story.

    ``stated`` is the number exactly as printed (its decimals set the precision), ``unit`` is
    the unit of ``stated`` (``"$bn"`` or ``"%"``), ``metric`` names the figure in
    :func:`candidate_table` that it corresponds to, ``sign`` turns a printed magnitude into the
    data's sign convention (a "deficit of 13.7" is a balance of -13.7), and ``tolerance`` is the
    absolute distance, in ``unit``, that still counts as "close".
    """

    key: str
    text: str
    stated: str
    unit: str
    metric: str
    tolerance: float
    sign: float = 1.0

    @property
    def value(self) -> float:
        """The claimed figure in the data's sign convention."""
        return self.sign * float(self.stated.replace(",", "").lstrip("+$"))

    @property
    def precision(self) -> float:
        """The rounding step of the printed number."""
        return precision_of(self.stated)


@dataclass(frozen=True)
class Verdict:
    """A verdict label, the distance to the claim and the reason in words."""

    label: str
    difference: float
    reason: str


def verdict(
    figure: float, claim_value: float, precision: float, tolerance: float, unit: str = ""
) -> Verdict:
    """Compare ``figure`` with ``claim_value``: exact / close / not reproduced.

    Exact when ``|figure - claim| <= precision / 2`` (the figure rounds to the claim);
    close when within ``tolerance``; otherwise not reproduced. A missing figure is not
    reproduced ("no data").
    """
    if tolerance < precision / 2:
        raise FactCheckError(
            f"tolerance {tolerance} is tighter than the rounding half-step "
            f"{precision / 2}; choose a tolerance of at least that."
        )
    if figure is None or (isinstance(figure, float) and math.isnan(figure)) or pd.isna(figure):
        return Verdict(NOT_REPRODUCED, float("nan"), "the figure cannot be computed from data")
    diff = float(figure) - float(claim_value)
    eps = 1e-9 * max(1.0, abs(claim_value))
    u = f" {unit}" if unit else ""
    if abs(diff) <= precision / 2 + eps:
        return Verdict(EXACT, diff, f"rounds to the claim at its precision ({precision:g}{u})")
    if abs(diff) <= tolerance + eps:
        return Verdict(
            CLOSE, diff, f"off by {diff:+.2f}{u}, within the tolerance of {tolerance:g}{u}"
        )
    return Verdict(
        NOT_REPRODUCED, diff, f"off by {diff:+.2f}{u}, beyond the tolerance of {tolerance:g}{u}"
    )


def best_verdict(labels: Iterable[str]) -> str:
    """The most favourable verdict among ``labels`` (exact > close > not reproduced)."""
    labels = list(labels)
    for v in VERDICT_ORDER:
        if v in labels:
            return v
    return NOT_REPRODUCED


# --------------------------------------------------------------------------------------------
# Candidate figures
# --------------------------------------------------------------------------------------------


def wide_flows(trade: pd.DataFrame) -> pd.DataFrame:
    """One partner's long trade frame -> monthly ``exports, imports, balance`` ($ millions).

    Raises if the frame holds more than one partner or lacks a flow.
    """
    need = {"date", "flow", "value_musd"}
    if not need <= set(trade.columns):
        raise FactCheckError(
            f"wide_flows: columns {sorted(need - set(trade.columns))} are "
            "missing; pass the output of tradelib.load_trade."
        )
    if "partner_code" in trade.columns and trade["partner_code"].nunique() > 1:
        raise FactCheckError("wide_flows: the frame holds several partners; filter one first.")
    wide = trade.pivot_table(
        index="date",
        columns="flow",
        values="value_musd",
        aggfunc="sum",
        dropna=False,
        observed=True,
    )
    # pivot_table sums NaN to 0: put the missing months back
    counts = trade.assign(ok=trade["value_musd"].notna()).pivot_table(
        index="date", columns="flow", values="ok", aggfunc="sum", observed=True
    )
    wide = wide.where(counts.reindex_like(wide) > 0)
    wide.columns = [str(c) for c in wide.columns]
    if "imports" not in wide.columns:
        raise FactCheckError("wide_flows: no imports rows in the trade frame.")
    if "exports" not in wide.columns:
        wide["exports"] = np.nan
    wide = wide[["exports", "imports"]].astype("float64")
    wide["balance"] = wide["exports"] - wide["imports"]
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    return wide.sort_index()


def pct_change(new: float, old: float, round_inputs_to: float | None = None) -> float:
    """Percent change ``100 * (new / old - 1)``, optionally after rounding both inputs.

    ``round_inputs_to`` rounds the inputs first (e.g. 100.0 = to $0.1bn when values are in $
    millions), which is how growth rates quoted from rounded press tables come about.
    """
    if pd.isna(new) or pd.isna(old) or old == 0:
        return float("nan")
    if round_inputs_to:
        new = round(new / round_inputs_to) * round_inputs_to
        old = round(old / round_inputs_to) * round_inputs_to
    return 100.0 * (float(new) / float(old) - 1.0)


def month_figures(
    wide: pd.DataFrame, month: str | pd.Timestamp, round_inputs_to: float | None = None
) -> dict[str, float]:
    """The figures a story would quote for ``month``, from a :func:`wide_flows` frame.

    Levels in $ billions (``exports_bn, imports_bn, balance_bn``), year-on-year and
    month-on-month percent changes of exports and imports.
    """
    t = pd.Timestamp(month)
    year_ago = t - pd.DateOffset(years=1)
    prev = t - pd.DateOffset(months=1)

    def get(d: pd.Timestamp, col: str) -> float:
        return float(wide[col].get(d, np.nan)) if col in wide.columns else float("nan")

    out = {
        "exports_bn": get(t, "exports") / 1000.0,
        "imports_bn": get(t, "imports") / 1000.0,
        "balance_bn": get(t, "balance") / 1000.0,
    }
    for flow in ("exports", "imports"):
        out[f"{flow}_yoy_pct"] = pct_change(get(t, flow), get(year_ago, flow), round_inputs_to)
        out[f"{flow}_mom_pct"] = pct_change(get(t, flow), get(prev, flow), round_inputs_to)
    return out


def candidate_table(
    sources: Sequence[tuple[Mapping[str, str], pd.DataFrame]],
    month: str | pd.Timestamp,
    rounding: Mapping[str, float | None] | None = None,
) -> pd.DataFrame:
    """Every figure for ``month`` under every definition: a long table.

    ``sources`` pairs a definition (a dict such as ``{"vintage": "2025-04", "adjustment":
    "nsa", "basis": "Census, general imports"}``) with a :func:`wide_flows` frame. ``rounding``
    maps a label to the input rounding used for growth rates (default: unrounded and rounded
    to $0.1bn). Returns the definition columns plus ``growth_inputs, metric, value``.
    """
    if rounding is None:
        rounding = {"exact $M": None, "rounded to $0.1bn": 100.0}
    rows = []
    for definition, wide in sources:
        for label, step in rounding.items():
            figs = month_figures(wide, month, round_inputs_to=step)
            for metric, value in figs.items():
                if metric.endswith("_bn") and step is not None:
                    continue  # levels do not depend on the growth-input rounding
                rows.append(
                    {
                        **definition,
                        "growth_inputs": label if not metric.endswith("_bn") else "-",
                        "metric": metric,
                        "value": value,
                    }
                )
    out = pd.DataFrame(rows)
    for c in out.columns:
        if c != "value":
            out[c] = out[c].astype("string")
    return out


def check_claim(claim: Claim, candidates: pd.DataFrame) -> pd.DataFrame:
    """Verdicts for one claim against every candidate of its metric, best match first."""
    sub = candidates.loc[candidates["metric"] == claim.metric].copy()
    if sub.empty:
        raise FactCheckError(
            f"check_claim: no candidates for metric {claim.metric!r} "
            f"(claim {claim.key!r}); available: "
            f"{sorted(candidates['metric'].unique())}."
        )
    vs = [
        verdict(v, claim.value, claim.precision, claim.tolerance, claim.unit) for v in sub["value"]
    ]
    sub["claim"] = claim.value
    sub["difference"] = [v.difference for v in vs]
    sub["verdict"] = pd.array([v.label for v in vs], dtype="string")
    sub["reason"] = pd.array([v.reason for v in vs], dtype="string")
    sub["_abs"] = sub["difference"].abs()
    sub = sub.sort_values("_abs", na_position="last").drop(columns="_abs")
    return sub.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Revisions and what happened next
# --------------------------------------------------------------------------------------------


def revision_table(wides: Mapping[str, pd.DataFrame], month: str | pd.Timestamp) -> pd.DataFrame:
    """The same month's figures in each vintage, and the revision from the first vintage.

    ``wides`` maps a vintage label (oldest first) to a :func:`wide_flows` frame. Levels are in
    $ millions; ``*_revision`` = this vintage minus the first.
    """
    t = pd.Timestamp(month)
    rows = []
    for vintage, wide in wides.items():
        if t not in wide.index:
            raise FactCheckError(f"revision_table: {t:%Y-%m} is not in vintage {vintage}.")
        f = month_figures(wide, t)
        rows.append(
            {
                "vintage": vintage,
                "exports": wide.at[t, "exports"],
                "imports": wide.at[t, "imports"],
                "balance": wide.at[t, "balance"],
                "exports_yoy_pct": f["exports_yoy_pct"],
                "imports_yoy_pct": f["imports_yoy_pct"],
            }
        )
    out = pd.DataFrame(rows).set_index("vintage")
    for c in ("exports", "imports", "balance"):
        out[f"{c}_revision"] = out[c] - out[c].iloc[0]
    return out


def yoy_table(
    wide: pd.DataFrame, start: str | pd.Timestamp, end: str | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Month by month from ``start``: balance now and a year earlier, change, flows' growth.

    ``improved`` is True when the balance is higher (a smaller deficit or larger surplus) than
    in the same month a year earlier. Months without data are dropped.
    """
    w = wide.sort_index()
    lag = w.shift(12, freq="MS").reindex(w.index)
    out = pd.DataFrame(
        {
            "balance": w["balance"],
            "balance_year_ago": lag["balance"],
            "exports_yoy_pct": 100.0 * (w["exports"] / lag["exports"] - 1.0),
            "imports_yoy_pct": 100.0 * (w["imports"] / lag["imports"] - 1.0),
        }
    )
    out["change"] = out["balance"] - out["balance_year_ago"]
    out["improved"] = (out["change"] > 0).astype("boolean")
    out.loc[out["change"].isna(), "improved"] = pd.NA
    out = out.loc[pd.Timestamp(start) : (pd.Timestamp(end) if end is not None else None)]
    return out.dropna(subset=["balance", "balance_year_ago"])


# --------------------------------------------------------------------------------------------
# "Primary trade partner": two-way trade rankings
# --------------------------------------------------------------------------------------------


def is_group_code(code: str) -> bool:
    """True for Census codes that are not a single country: groups below 1000 (World, EU,
    USMCA claims, regions) and 'Unidentified Countries'. One rule for the whole package:
    :func:`tradelib.analysis.transform.is_aggregate`."""
    return is_aggregate(code)


def two_way_ranking(
    trade: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    keep_groups: Sequence[str] = (),
) -> pd.DataFrame:
    """Rank partners by two-way trade (exports + imports) summed over ``start``..``end``.

    Group codes (:func:`is_group_code`) are dropped except those in ``keep_groups`` (e.g. ``("0003",)`` to
    show the European Union beside the countries, unranked). Only partners with every month of
    the window published are ranked. Returns ``partner_code, partner, exports, imports,
    two_way, share_of_countries (percent of the ranked countries' total), rank`` (groups get no
    rank).
    """
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if e < s:
        raise FactCheckError(f"two_way_ranking: end {e:%Y-%m} is before start {s:%Y-%m}.")
    window = trade.loc[(trade["date"] >= s) & (trade["date"] <= e)]
    if window.empty:
        raise FactCheckError(f"two_way_ranking: no rows between {s:%Y-%m} and {e:%Y-%m}.")
    n_months = len(pd.date_range(s, e, freq="MS"))
    g = window.groupby(["partner_code", "partner", "flow"], observed=True)["value_musd"]
    sums = g.sum(min_count=1).unstack("flow")
    counts = g.count().unstack("flow")
    complete = (counts.reindex(columns=["exports", "imports"]) == n_months).all(axis=1)
    sums = sums.loc[complete].reset_index()
    sums["partner_code"] = sums["partner_code"].astype("string")
    groups = sums["partner_code"].map(is_group_code).astype(bool)
    keep = ~groups | sums["partner_code"].isin(list(keep_groups))
    out = sums.loc[keep, ["partner_code", "partner", "exports", "imports"]].copy()
    out["two_way"] = out["exports"] + out["imports"]
    out = out.sort_values("two_way", ascending=False).reset_index(drop=True)
    country = ~out["partner_code"].map(is_group_code).astype(bool)
    out["share_of_countries"] = 100.0 * out["two_way"] / out.loc[country, "two_way"].sum()
    out["rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out.loc[country, "rank"] = np.arange(1, int(country.sum()) + 1)
    return out


# --------------------------------------------------------------------------------------------
# "Avoided most of the threatened tariffs": effective duty rate against headline rates
# --------------------------------------------------------------------------------------------


def duty_avoidance(
    duties: pd.DataFrame,
    headline_pct: float,
    *,
    baseline_year: int,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Compare the effective duty rate with a headline tariff rate, month by month.

    ``duties`` is ``tradelib.load_duties`` output for one partner (``date, duties_usd,
    imports_cons_usd, effective_rate`` as a fraction). The increase in the effective rate
    over ``baseline_year``'s rate (summed duties / summed imports over the whole year,
    :func:`tradelib.analysis.events.effective_rate_annual`) is compared with
    the headline rate: ``avoided_share = 1 - increase / headline`` is the part of the
    headline tariff that did not show up in duties actually assessed (USMCA claims,
    exemptions, pauses, substitution). Returns ``effective_rate_pct, increase_pp,
    headline_pct, avoided_share`` from ``start`` to ``end``.
    """
    if headline_pct <= 0:
        raise FactCheckError(f"duty_avoidance: headline rate must be positive, got {headline_pct}.")
    d = duties.sort_values("date").set_index("date")
    annual = effective_rate_annual(duties)
    if baseline_year not in annual.index:
        n = int((d.index.year == baseline_year).sum())
        raise FactCheckError(
            f"duty_avoidance: baseline year {baseline_year} has {n} "
            "months of duties; choose a complete year."
        )
    base_rate = float(annual.loc[baseline_year])
    w = d.loc[pd.Timestamp(start) : (pd.Timestamp(end) if end is not None else None)]
    rate = 100.0 * w["duties_usd"] / w["imports_cons_usd"]
    out = pd.DataFrame(
        {
            "effective_rate_pct": rate,
            "baseline_rate_pct": base_rate,
            "increase_pp": rate - base_rate,
            "headline_pct": float(headline_pct),
        }
    )
    out["avoided_share"] = 1.0 - out["increase_pp"] / out["headline_pct"]
    out.index.name = "date"
    return out


# --------------------------------------------------------------------------------------------
# Verdicts for claims that are not a single printed number
# --------------------------------------------------------------------------------------------


def share_verdict(share: float, threshold: float = 0.5, band: float = 0.05) -> Verdict:
    """Verdict for a "most of ..." claim from a measured share (0-1).

    Exact (the claim holds) when ``share >= threshold + band``, close when within ``band`` of the threshold
    (the data cannot tell "most" from "about half"), not reproduced below that. A missing share
    is not reproduced.
    """
    if not 0.0 <= threshold <= 1.0 or band < 0:
        raise FactCheckError(
            f"share_verdict: threshold must be in [0, 1] and band >= 0, got {threshold} and {band}."
        )
    if share is None or pd.isna(share):
        return Verdict(NOT_REPRODUCED, float("nan"), "the share cannot be computed from data")
    diff = float(share) - threshold
    if diff >= band:
        return Verdict(
            EXACT, diff, f"share {share:.0%} is above {threshold:.0%} by more than {band:.0%}"
        )
    if diff > -band:
        return Verdict(CLOSE, diff, f"share {share:.0%} is within {band:.0%} of {threshold:.0%}")
    return Verdict(NOT_REPRODUCED, diff, f"share {share:.0%} is below {threshold:.0%}")


def rank_verdict(rankings: Mapping[str, pd.DataFrame], partner_code: str) -> Verdict:
    """Verdict for "X is the primary partner" from :func:`two_way_ranking` tables.

    Exact (the claim holds) when the partner ranks first in every window given; close when it ranks first
    in at least one; otherwise not reproduced. The reason lists the rank in each window.
    """
    if not rankings:
        raise FactCheckError("rank_verdict: no ranking windows given.")
    ranks: dict[str, object] = {}
    for label, table in rankings.items():
        row = table.loc[table["partner_code"] == partner_code, "rank"]
        ranks[label] = row.iloc[0] if len(row) else pd.NA
    firsts = [r for r in ranks.values() if not pd.isna(r) and int(r) == 1]
    detail = "; ".join(
        f"{k}: {'not ranked' if pd.isna(v) else f'rank {int(v)}'}" for k, v in ranks.items()
    )
    if len(firsts) == len(ranks):
        return Verdict(EXACT, 0.0, f"first in every window ({detail})")
    if firsts:
        return Verdict(CLOSE, float("nan"), f"first in some windows only ({detail})")
    return Verdict(NOT_REPRODUCED, float("nan"), f"not first in any window ({detail})")


def avoidance_summary(
    duties: pd.DataFrame,
    headline_pct: float,
    *,
    baseline_year: int,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
) -> dict[str, float]:
    """One number per window for :func:`duty_avoidance`: totals, not an average of months.

    The window's effective rate is total duties / total imports for consumption from ``start``
    to ``end`` (inclusive months, :func:`tradelib.analysis.events.effective_rate_over`, the
    package's one definition); ``avoided_share = 1 - (rate - baseline rate) / headline``.
    """
    monthly = duty_avoidance(
        duties, headline_pct, baseline_year=baseline_year, start=start, end=end
    )
    if monthly.empty:
        raise FactCheckError(f"avoidance_summary: no duty data between {start} and {end}.")
    rate = effective_rate_over(duties, monthly.index.min(), monthly.index.max())
    base = float(monthly["baseline_rate_pct"].iloc[0])
    return {
        "months": float(len(monthly)),
        "effective_rate_pct": float(rate),
        "baseline_rate_pct": base,
        "increase_pp": float(rate - base),
        "headline_pct": float(headline_pct),
        "avoided_share": float(1.0 - (rate - base) / headline_pct),
    }


def scorecard(checked: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Definition-by-claim verdicts from several :func:`check_claim` tables.

    ``checked`` maps a claim key to its table. A level figure (``growth_inputs == "-"``) does
    not depend on how growth inputs are rounded, so its verdict is copied to every rounding
    option of the same definition. Candidates with no value are left out. Returns one row per
    ``(definition, growth_inputs)``, one column per claim, ``claims_exact`` and ``post_hoc``
    (True for rows whose growth inputs are a post-hoc rounding hypothesis).
    """
    if not checked:
        raise FactCheckError("scorecard: no checked claims given.")
    parts = []
    for key, table in checked.items():
        t = table.dropna(subset=["value"])[["definition", "growth_inputs", "verdict"]].copy()
        t["claim_key"] = key
        parts.append(t)
    long = pd.concat(parts, ignore_index=True)
    options = sorted(set(long["growth_inputs"]) - {"-"}) or ["-"]
    level = long["growth_inputs"] == "-"
    expanded = [long.loc[~level]]
    for opt in options:
        expanded.append(long.loc[level].assign(growth_inputs=opt))
    long = pd.concat(expanded, ignore_index=True)
    wide = long.pivot_table(
        index=["definition", "growth_inputs"],
        columns="claim_key",
        values="verdict",
        aggfunc="first",
        observed=True,
    )
    wide = wide.reindex(columns=list(checked))
    wide.columns.name = None
    wide["claims_exact"] = (wide == EXACT).sum(axis=1).astype("int64")
    wide["post_hoc"] = [g in POST_HOC_ROUNDING for g in wide.index.get_level_values(1)]
    return wide.sort_values(["post_hoc", "claims_exact"], ascending=[True, False], kind="stable")


def claim_labels(checked: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each claim's honest label from :func:`check_claim` tables.

    ``label`` is the best verdict among pre-specified candidates (post-hoc rounding hypotheses
    excluded), with the closest such candidate (``figure``, ``definition``, ``growth_inputs``)
    and how many pre-specified candidates are exact. ``post_hoc_best`` is the best verdict when
    post-hoc hypotheses are allowed too, shown for transparency and never used as the label.
    """
    rows = []
    for key, table in checked.items():
        t = table.dropna(subset=["value"])
        hyp = t["growth_inputs"].isin(list(POST_HOC_ROUNDING))
        pre = t.loc[~hyp]
        if pre.empty:
            raise FactCheckError(f"claim_labels: claim {key!r} has no pre-specified candidate.")
        best = pre.iloc[0]  # check_claim sorts closest first
        rows.append({
            "claim": key,
            "label": best_verdict(pre["verdict"]),
            "figure": float(best["value"]),
            "difference": float(best["difference"]),
            "definition": best["definition"],
            "growth_inputs": best["growth_inputs"],
            "n_exact": int((pre["verdict"] == EXACT).sum()),
            "n_candidates": len(pre),
            "post_hoc_best": best_verdict(t.loc[hyp, "verdict"]) if hyp.any() else pd.NA,
        })
    return pd.DataFrame(rows).set_index("claim")


def single_definition_matches(card: pd.DataFrame, claims: Sequence[str]) -> pd.DataFrame:
    """Pre-specified definitions (rows of :func:`scorecard`) under which every claim in
    ``claims`` is exact; empty when no single definition reproduces them all."""
    pre = card.loc[~card["post_hoc"]]
    return pre.loc[(pre[list(claims)] == EXACT).all(axis=1)]
