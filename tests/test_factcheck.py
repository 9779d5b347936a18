"""Tests for tradelib.analysis.factcheck on tiny synthetic frames in the load_trade layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradelib.analysis import factcheck as fk


def long_trade(
    code: str,
    name: str,
    exports: dict[str, float],
    imports: dict[str, float],
    vintage: str = "2026-10",
) -> pd.DataFrame:
    """A load_trade-shaped frame for one partner from {YYYY-MM: value} dicts."""
    rows = []
    for flow, values in (("exports", exports), ("imports", imports)):
        for month, v in values.items():
            rows.append(
                {
                    "date": pd.Timestamp(f"{month}-01"),
                    "partner_code": code,
                    "partner": name,
                    "flow": flow,
                    "value_musd": v,
                    "vintage": vintage,
                }
            )
    df = pd.DataFrame(rows)
    for c in ("partner_code", "partner", "flow", "vintage"):
        df[c] = df[c].astype("string")
    return df


# ---------------------------------------------------------------- verdict rule


def test_precision_of_printed_numbers():
    assert fk.precision_of("13.7") == pytest.approx(0.1)
    assert fk.precision_of("9.55") == pytest.approx(0.01)
    assert fk.precision_of("5") == 1.0
    assert fk.precision_of("1,234") == 1.0
    with pytest.raises(fk.FactCheckError, match="not a number"):
        fk.precision_of("about five")


@pytest.mark.parametrize(
    "figure,label",
    [
        (13.7, "exact"),
        (13.65, "exact"),  # boundary: rounds half up to 13.7
        (13.749, "exact"),
        (13.76, "close"),
        (13.2, "close"),  # within 0.5 tolerance
        (13.19, "not reproduced"),
        (float("nan"), "not reproduced"),
    ],
)
def test_verdict_rule(figure, label):
    v = fk.verdict(figure, 13.7, precision=0.1, tolerance=0.5, unit="$bn")
    assert v.label == label
    if label != "not reproduced" or not np.isnan(figure):
        assert v.difference == pytest.approx(figure - 13.7)


def test_verdict_reason_names_tolerance_and_rejects_tight_tolerance():
    v = fk.verdict(10.0, 13.7, precision=0.1, tolerance=0.5, unit="$bn")
    assert "0.5 $bn" in v.reason and "-3.70" in v.reason
    with pytest.raises(fk.FactCheckError, match="tighter"):
        fk.verdict(1.0, 1.0, precision=0.1, tolerance=0.01)


def test_claim_value_sign_and_precision():
    c = fk.Claim(
        "deficit", "a deficit of $13.7 billion", "13.7", "$bn", "balance_bn", 0.5, sign=-1.0
    )
    assert c.value == pytest.approx(-13.7)
    assert c.precision == pytest.approx(0.1)


def test_best_verdict_order():
    assert fk.best_verdict(["not reproduced", "close"]) == "close"
    assert fk.best_verdict(["close", "exact"]) == "exact"
    assert fk.best_verdict([]) == "not reproduced"


# ---------------------------------------------------------------- candidate figures


EXPORTS = {"2023-12": 24000.0, "2024-01": 26000.0, "2024-12": 27000.0, "2025-01": 27300.0}
IMPORTS = {"2023-12": 36000.0, "2024-01": 38000.0, "2024-12": 40000.0, "2025-01": 41610.0}


def test_wide_flows_and_missing_months_stay_missing():
    df = long_trade("2010", "Mexico", {**EXPORTS, "2025-02": np.nan}, {**IMPORTS, "2025-02": 1.0})
    w = fk.wide_flows(df)
    assert list(w.columns) == ["exports", "imports", "balance"]
    assert w.at[pd.Timestamp("2025-01-01"), "balance"] == pytest.approx(27300 - 41610)
    assert np.isnan(w.at[pd.Timestamp("2025-02-01"), "exports"])
    assert np.isnan(w.at[pd.Timestamp("2025-02-01"), "balance"])


def test_wide_flows_rejects_several_partners():
    df = pd.concat(
        [
            long_trade("2010", "Mexico", EXPORTS, IMPORTS),
            long_trade("1220", "Canada", EXPORTS, IMPORTS),
        ]
    )
    with pytest.raises(fk.FactCheckError, match="several partners"):
        fk.wide_flows(df)


def test_month_figures_known_growth():
    w = fk.wide_flows(long_trade("2010", "Mexico", EXPORTS, IMPORTS))
    f = fk.month_figures(w, "2025-01")
    assert f["balance_bn"] == pytest.approx(-14.31)
    assert f["imports_yoy_pct"] == pytest.approx(100 * (41610 / 38000 - 1))
    assert f["exports_yoy_pct"] == pytest.approx(100 * (27300 / 26000 - 1))
    assert f["imports_mom_pct"] == pytest.approx(100 * (41610 / 40000 - 1))
    # rounding inputs to $0.1bn: 41.6 / 38.0
    r = fk.month_figures(w, "2025-01", round_inputs_to=100.0)
    assert r["imports_yoy_pct"] == pytest.approx(100 * (41600 / 38000 - 1))


def test_pct_change_missing_or_zero_base():
    assert np.isnan(fk.pct_change(1.0, 0.0))
    assert np.isnan(fk.pct_change(np.nan, 1.0))


def test_candidate_table_and_check_claim_pick_the_matching_definition():
    a = fk.wide_flows(long_trade("2010", "Mexico", EXPORTS, IMPORTS))
    b = a.copy()
    b.loc[pd.Timestamp("2025-01-01"), "imports"] = 41000.0
    b["balance"] = b["exports"] - b["imports"]
    cands = fk.candidate_table([({"vintage": "v1"}, a), ({"vintage": "v2"}, b)], "2025-01")
    assert set(cands["metric"]) >= {"balance_bn", "imports_yoy_pct", "exports_mom_pct"}
    # levels appear once per definition, growth rates once per rounding choice
    assert (cands["metric"] == "balance_bn").sum() == 2
    assert (cands["metric"] == "imports_yoy_pct").sum() == 4
    claim = fk.Claim(
        "deficit", "deficit of $13.7 billion", "13.7", "$bn", "balance_bn", 0.5, sign=-1.0
    )
    checked = fk.check_claim(claim, cands)
    assert checked.loc[0, "vintage"] == "v2"  # -13.7 exactly
    assert checked.loc[0, "verdict"] == "exact"
    assert checked.loc[1, "verdict"] == "not reproduced"  # -14.31 is 0.61 away
    with pytest.raises(fk.FactCheckError, match="no candidates"):
        fk.check_claim(fk.Claim("x", "x", "1", "%", "nope", 1.0), cands)


# ---------------------------------------------------------------- revisions / after the story


def test_revision_table_differences_from_first_vintage():
    old = fk.wide_flows(long_trade("2010", "Mexico", EXPORTS, IMPORTS, vintage="2025-04"))
    new = old.copy()
    new["imports"] = new["imports"] - 100.0
    new["balance"] = new["exports"] - new["imports"]
    t = fk.revision_table({"2025-04": old, "2026-10": new}, "2025-01")
    assert t.loc["2026-10", "imports_revision"] == pytest.approx(-100.0)
    assert t.loc["2026-10", "balance_revision"] == pytest.approx(100.0)
    assert t.loc["2025-04", "balance_revision"] == 0.0
    with pytest.raises(fk.FactCheckError, match="not in vintage"):
        fk.revision_table({"a": old}, "2030-01")


def test_yoy_table_flags_improvement():
    months = pd.date_range("2024-01-01", periods=15, freq="MS")
    exports = {d.strftime("%Y-%m"): 100.0 for d in months}
    imports = {d.strftime("%Y-%m"): 150.0 for d in months}
    imports["2025-02"] = 140.0  # smaller deficit than Feb 2024
    imports["2025-03"] = 160.0  # larger deficit
    w = fk.wide_flows(long_trade("2010", "Mexico", exports, imports))
    t = fk.yoy_table(w, "2025-01")
    assert t.index.tolist() == list(pd.date_range("2025-01-01", periods=3, freq="MS"))
    assert t["improved"].tolist() == [False, True, False]
    assert t.loc["2025-02-01", "change"] == pytest.approx(10.0)
    assert t.loc["2025-03-01", "imports_yoy_pct"] == pytest.approx(100 * (160 / 150 - 1))


# ---------------------------------------------------------------- rankings


def test_two_way_ranking_excludes_groups_and_incomplete_partners():
    m = {"2024-01": 1.0, "2024-02": 1.0}
    frames = [
        long_trade("2010", "Mexico", {k: 50.0 for k in m}, {k: 60.0 for k in m}),
        long_trade("1220", "Canada", {k: 55.0 for k in m}, {k: 50.0 for k in m}),
        long_trade("5700", "China", {k: 10.0 for k in m}, {k: 80.0 for k in m}),
        long_trade("0003", "European Union", {k: 70.0 for k in m}, {k: 90.0 for k in m}),
        long_trade("0015", "World", {k: 500.0 for k in m}, {k: 700.0 for k in m}),
        long_trade("4280", "Germany", {"2024-01": 999.0, "2024-02": np.nan}, {k: 1.0 for k in m}),
    ]
    df = pd.concat(frames, ignore_index=True)
    r = fk.two_way_ranking(df, "2024-01", "2024-02", keep_groups=("0003",))
    assert "0015" not in set(r["partner_code"])  # World dropped
    assert "4280" not in set(r["partner_code"])  # incomplete window dropped
    countries = r.dropna(subset=["rank"])
    assert countries.iloc[0]["partner"] == "Mexico"  # 220 > Canada 210 > China 180
    assert countries["rank"].tolist() == [1, 2, 3]
    eu = r.loc[r["partner_code"] == "0003"].iloc[0]
    assert pd.isna(eu["rank"]) and eu["two_way"] == 320.0
    assert countries["share_of_countries"].sum() == pytest.approx(100.0)
    assert fk.is_group_code("0021") and not fk.is_group_code("2010")


# ---------------------------------------------------------------- duty avoidance


def test_duty_avoidance_against_headline():
    dates = pd.date_range("2024-01-01", "2025-03-01", freq="MS")
    duties = pd.DataFrame(
        {"date": dates, "partner_code": "2010", "duties_usd": 1.0, "imports_cons_usd": 100.0}
    )
    duties.loc[duties["date"] == "2025-03-01", "duties_usd"] = 6.0  # 6 % in March 2025
    duties["effective_rate"] = duties["duties_usd"] / duties["imports_cons_usd"]
    out = fk.duty_avoidance(duties, 25.0, baseline_year=2024, start="2025-01")
    assert out.loc["2025-03-01", "effective_rate_pct"] == pytest.approx(6.0)
    assert out.loc["2025-03-01", "increase_pp"] == pytest.approx(5.0)
    assert out.loc["2025-03-01", "avoided_share"] == pytest.approx(0.8)
    assert out.loc["2025-01-01", "avoided_share"] == pytest.approx(1.0)
    with pytest.raises(fk.FactCheckError, match="complete year"):
        fk.duty_avoidance(duties, 25.0, baseline_year=2023, start="2025-01")


# ---------------------------------------------------------------- share and rank verdicts


@pytest.mark.parametrize(
    "share,label",
    [
        (0.9, "exact"),
        (0.55, "exact"),
        (0.52, "close"),
        (0.47, "close"),
        (0.2, "not reproduced"),
        (float("nan"), "not reproduced"),
    ],
)
def test_share_verdict(share, label):
    assert fk.share_verdict(share, threshold=0.5, band=0.05).label == label


def test_share_verdict_rejects_bad_threshold():
    with pytest.raises(fk.FactCheckError, match="threshold"):
        fk.share_verdict(0.5, threshold=50)


def test_rank_verdict():
    first = pd.DataFrame({"partner_code": ["2010", "1220"], "rank": pd.array([1, 2], "Int64")})
    second = pd.DataFrame({"partner_code": ["1220", "2010"], "rank": pd.array([1, 2], "Int64")})
    assert fk.rank_verdict({"2024": first, "2025": first}, "2010").label == "exact"
    v = fk.rank_verdict({"2024": first, "2025": second}, "2010")
    assert v.label == "close" and "2025: rank 2" in v.reason
    assert fk.rank_verdict({"2025": second}, "2010").label == "not reproduced"
    assert "not ranked" in fk.rank_verdict({"x": second}, "5700").reason


def test_avoidance_summary_uses_totals_not_monthly_means():
    dates = pd.date_range("2024-01-01", "2025-04-01", freq="MS")
    duties = pd.DataFrame({"date": dates, "duties_usd": 1.0, "imports_cons_usd": 100.0})
    # March: 10 duties on 100 imports; April: 0 duties on 300 imports -> 10 / 400 = 2.5 %
    duties.loc[duties["date"] == "2025-03-01", "duties_usd"] = 10.0
    duties.loc[duties["date"] == "2025-04-01", ["duties_usd", "imports_cons_usd"]] = [0.0, 300.0]
    s = fk.avoidance_summary(duties, 25.0, baseline_year=2024, start="2025-03", end="2025-04")
    assert s["months"] == 2
    assert s["effective_rate_pct"] == pytest.approx(2.5)
    assert s["increase_pp"] == pytest.approx(1.5)
    assert s["avoided_share"] == pytest.approx(1 - 1.5 / 25)


def test_scorecard_copies_level_verdicts_to_each_rounding_option():
    a = fk.wide_flows(long_trade("2010", "Mexico", EXPORTS, IMPORTS))
    cands = fk.candidate_table([({"definition": "A"}, a)], "2025-01")
    deficit = fk.Claim("deficit", "d", "14.3", "$bn", "balance_bn", 0.5, sign=-1.0)
    growth = fk.Claim("imports", "i", "9.50", "%", "imports_yoy_pct", 0.5)
    card = fk.scorecard(
        {
            "deficit": fk.check_claim(deficit, cands),
            "imports": fk.check_claim(growth, cands),
        }
    )
    assert set(card.index.get_level_values("growth_inputs")) == {"exact $M", "rounded to $0.1bn"}
    assert (card["deficit"] == "exact").all()  # -14.31 rounds to -14.3
    # 41610 / 38000 is 9.50 %; from rounded inputs 41.6 / 38.0 it is 9.47 %
    assert card.loc[("A", "exact $M"), "claims_exact"] == 2
    assert card.loc[("A", "rounded to $0.1bn"), "claims_exact"] == 1
    assert card.loc[("A", "rounded to $0.1bn"), "imports"] == "close"
    with pytest.raises(fk.FactCheckError, match="no checked"):
        fk.scorecard({})


def test_group_rule_is_the_package_rule():
    from tradelib.analysis import transform

    for code in ("0003", "0015", "0021", "8220", "2010", "5700", "1220"):
        assert fk.is_group_code(code) == transform.is_aggregate(code)


def test_claim_labels_leave_post_hoc_rounding_out_of_the_label():
    """A claim matched only by a rounding hypothesis formed after looking is 'close', not exact."""
    a = fk.wide_flows(long_trade("2010", "Mexico", EXPORTS, IMPORTS))
    cands = fk.candidate_table([({"definition": "A"}, a)], "2025-01")
    # unrounded: 41610 / 38000 -> 9.500 %; rounded inputs 41.6 / 38.0 -> 9.474 %
    claim = fk.Claim("imports", "i", "9.47", "%", "imports_yoy_pct", 0.5)
    checked = {"imports": fk.check_claim(claim, cands)}
    lab = fk.claim_labels(checked)
    assert lab.loc["imports", "label"] == "close"
    assert lab.loc["imports", "post_hoc_best"] == "exact"
    assert lab.loc["imports", "growth_inputs"] == "exact $M"
    assert lab.loc["imports", "figure"] == pytest.approx(100 * (41610 / 38000 - 1))
    assert lab.loc["imports", "n_exact"] == 0
    card = fk.scorecard(checked)
    assert card.loc[("A", "rounded to $0.1bn"), "post_hoc"]
    assert not card.loc[("A", "exact $M"), "post_hoc"]
    assert fk.single_definition_matches(card, ["imports"]).empty
    # the same data and a claim of 9.50: the pre-specified definition is exact
    exact_claim = fk.Claim("imports", "i", "9.50", "%", "imports_yoy_pct", 0.5)
    checked2 = {"imports": fk.check_claim(exact_claim, cands)}
    assert fk.claim_labels(checked2).loc["imports", "label"] == "exact"
    assert list(fk.single_definition_matches(fk.scorecard(checked2), ["imports"]).index) == [
        ("A", "exact $M")
    ]


def test_verdict_scale_is_fixed_in_code():
    assert fk.VERDICT_ORDER == ("exact", "close", "not reproduced")
    assert fk.POST_HOC_ROUNDING == ("rounded to $0.1bn",)
