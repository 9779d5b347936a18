"""Tests for the statutory-rate engine (tradelib.analysis.schedule) on hand-built schedules,
and for the Budget Lab tracker parsers on tiny fixtures in the official layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradelib.analysis import events as E
from tradelib.analysis import schedule as S
from tradelib.data import parse
from tradelib.errors import ParseError

FIX = Path(__file__).parent / "fixtures"
YALE = FIX / "mirror" / "yale-budget-lab"

# Products: a plain good, a steel-content good (40% steel), a car, tomatoes, aluminium,
# a tier-1b and a tier-2 good of the tiered list, and a good matched only by HS prefix.
PLAIN, FRIDGE, CAR, TOMATO, ALU = "0101210010", "8418102000", "8703230190", "0702002002", \
    "7601103000"
TIER1B, TIER2, PREFIX_ONLY = "9401991020", "9401991011", "9401610000"
PRODUCTS = [PLAIN, FRIDGE, CAR, TOMATO, ALU, TIER1B, TIER2, PREFIX_ONLY]


@pytest.fixture(scope="module")
def sched() -> pd.DataFrame:
    return S.build_schedule(E.load_events(FIX / "events" / "schedule.csv"))


@pytest.fixture(scope="module")
def lists() -> dict[str, pd.DataFrame]:
    annex = pd.DataFrame({"hts_prefix": ["94019910", "9401991011", "7208"],
                          "tier": pd.array(["1b", "2", "1a"], dtype="string"),
                          "metal": pd.array(["steel"] * 3, dtype="string")})
    return {"s232_annex_2026": annex}


@pytest.fixture(scope="module")
def metal() -> pd.DataFrame:
    return pd.DataFrame({"hts10": [FRIDGE], "steel_share": [0.4], "aluminum_share": [0.05],
                         "copper_share": [0.02], "metal_share": [0.47]})


def rates(sched, lists, metal, month, **kw) -> pd.DataFrame:
    out = S.product_rates(PRODUCTS, month, month, sched, lists=lists, metal_shares=metal, **kw)
    return out.set_index("hts10")


def test_build_schedule_segments_end_at_next_row_or_end_date(sched):
    temp = sched.loc[sched["measure"] == "temp"].iloc[0]
    assert temp["end"] == pd.Timestamp("2025-04-15")
    tiered = sched.loc[sched["measure"] == "tiered"].iloc[0]
    assert tiered["tiers"] == {"1a": 50.0, "1b": 25.0, "2": 0.0}
    blanket = sched.loc[sched["measure"] == "blanket"].iloc[0]
    assert blanket["yields"] == ("metal", "auto") and pd.isna(blanket["end"])
    assert bool(sched.loc[sched["measure"] == "cond", "conditional"].iloc[0])


def test_usmca_exemption_and_end_date_day_weighting(sched, lists, metal):
    march = rates(sched, lists, metal, "2025-03-01")
    # blanket 25 + temporary 10, both exempt for USMCA-claimed goods
    assert march.loc[PLAIN, "statutory_pct"] == pytest.approx(35.0)
    assert march.loc[PLAIN, "usmca_pct"] == pytest.approx(0.0)
    april = rates(sched, lists, metal, "2025-04-01")
    # the 10% surcharge ends on 15 April: 15 of 30 days
    assert april.loc[PLAIN, "statutory_pct"] == pytest.approx(25.0 + 10.0 * 15 / 30)
    may = rates(sched, lists, metal, "2025-05-01")
    assert may.loc[PLAIN, "statutory_pct"] == pytest.approx(25.0)


def test_metal_content_basis_and_stacking(sched, lists, metal):
    may = rates(sched, lists, metal, "2025-05-01")
    # 50% on the 40% steel content = 20; the blanket duty yields on that 40%: 25 x 0.6 = 15
    assert may.loc[FRIDGE, "statutory_pct"] == pytest.approx(20.0 + 15.0)
    # a USMCA-claimed fridge still pays the metal duty, not the blanket one
    assert may.loc[FRIDGE, "usmca_pct"] == pytest.approx(20.0)


def test_non_us_content_and_full_precedence(sched, lists, metal):
    may = rates(sched, lists, metal, "2025-05-01", us_content_share=0.4)
    # the car pays the auto duty in full; the blanket duty yields to it entirely
    assert may.loc[CAR, "statutory_pct"] == pytest.approx(25.0)
    # a USMCA car pays only on its non-US content
    assert may.loc[CAR, "usmca_pct"] == pytest.approx(25.0 * 0.6)


def test_antidumping_adds_and_applies_to_usmca_goods(sched, lists, metal):
    may = rates(sched, lists, metal, "2025-05-01")
    assert may.loc[TOMATO, "statutory_pct"] == pytest.approx(25.0 + 20.0)
    assert may.loc[TOMATO, "usmca_pct"] == pytest.approx(20.0)


def test_conditional_rows_scale_with_condition_share(sched, lists, metal):
    assert rates(sched, lists, metal, "2025-05-01").loc[ALU, "usmca_pct"] == 0.0
    half = rates(sched, lists, metal, "2025-05-01", condition_share=0.5)
    assert half.loc[ALU, "usmca_pct"] == pytest.approx(5.0)


def test_tiers_by_list_and_headline_for_prefix_only(sched, lists, metal):
    june = rates(sched, lists, metal, "2025-06-01")
    assert june.loc[TIER1B, "usmca_pct"] == pytest.approx(25.0)
    assert june.loc[TIER2, "usmca_pct"] == pytest.approx(0.0)
    assert june.loc[PREFIX_ONLY, "usmca_pct"] == pytest.approx(50.0)
    # starts on 16 May: 16 of 31 days at the tier rate
    may = rates(sched, lists, metal, "2025-05-01")
    assert may.loc[TIER1B, "usmca_pct"] == pytest.approx(25.0 * 16 / 31)


def test_by_measure_adds_up_to_totals(sched, lists, metal):
    tot = S.product_rates(PRODUCTS, "2025-03-01", "2025-06-01", sched, lists=lists,
                          metal_shares=metal)
    per = S.product_rates(PRODUCTS, "2025-03-01", "2025-06-01", sched, lists=lists,
                          metal_shares=metal, by_measure=True)
    summed = per.groupby(["date", "hts10"])[["statutory_pct", "usmca_pct"]].sum()
    merged = tot.set_index(["date", "hts10"]).join(summed.add_suffix("_m")).fillna(0.0)
    assert (merged["statutory_pct"] - merged["statutory_pct_m"]).abs().max() < 1e-9
    assert set(per.loc[per["hts10"] == FRIDGE, "measure"]) == {"blanket", "metal", "temp"}


def test_apply_schedule_expected_rate_and_ratio_of_sums(sched, lists, metal):
    trade = pd.DataFrame({
        "date": pd.to_datetime(["2025-05-01"] * 3),
        "hts10": [PLAIN, FRIDGE, TOMATO],
        "imports_cons_usd": [100.0, 300.0, 100.0],
        "usmca_claimed_usd": [50.0, 300.0, 0.0],
    })
    priced = S.apply_schedule(trade, sched, lists=lists, metal_shares=metal)
    p = priced.set_index("hts10")
    assert p.loc[PLAIN, "expected_pct"] == pytest.approx(12.5)  # half claims USMCA
    assert p.loc[FRIDGE, "expected_pct"] == pytest.approx(20.0)
    agg = S.aggregate(priced).iloc[0]
    duties = 100 * 0.125 + 300 * 0.20 + 100 * 0.45
    assert agg["expected_pct"] == pytest.approx(100 * duties / 500)
    assert agg["usmca_share"] == pytest.approx(350 / 500)
    per = S.apply_schedule(trade, sched, lists=lists, metal_shares=metal, by_measure=True)
    contrib = S.contributions(per, trade)
    assert contrib["expected_pp"].sum() == pytest.approx(agg["expected_pct"])
    by_sec = S.aggregate(priced, by=("date", "section"))
    assert "Vegetable Products" in set(by_sec["section"])


def test_chapter_rates_use_fixed_weights(sched, lists, metal):
    w = pd.DataFrame({"hts10": [FRIDGE, "8419990000"], "imports_cons_usd": [100.0, 300.0]})
    out = S.chapter_rates("2025-02-01", "2025-05-01", w, sched, lists=lists, metal_shares=metal)
    ch84 = out.loc[out["hs2"] == "84"].set_index("date")
    assert ch84.loc["2025-02-01", "statutory_pct"] == 0.0
    # fridge (35 in May) weighted 1/4, other machinery (blanket 25) weighted 3/4
    assert ch84.loc["2025-05-01", "statutory_pct"] == pytest.approx(0.25 * 35 + 0.75 * 25)
    assert ch84["section"].iloc[0] == "Machinery & Electrical Equipment"


def test_engine_input_errors(sched, lists, metal):
    with pytest.raises(S.ScheduleError, match="10-digit"):
        S.product_rates(["8418"], "2025-05-01", "2025-05-01", sched, lists=lists,
                        metal_shares=metal)
    with pytest.raises(S.ScheduleError, match="product list"):
        S.product_rates(PRODUCTS, "2025-06-01", "2025-06-01", sched, lists={},
                        metal_shares=metal)
    with pytest.raises(S.ScheduleError, match="needs columns"):
        S.apply_schedule(pd.DataFrame({"x": [1]}), sched)
    with pytest.raises(S.ScheduleError, match=r"\[0, 1\]"):
        S.product_rates(PRODUCTS, "2025-05-01", "2025-05-01", sched, lists=lists,
                        metal_shares=metal, us_content_share=1.5)


def test_committed_schedule_usmca_goods_pay_metal_not_ieepa():
    sched = S.build_schedule()
    lists = {"s232_alu_derivatives_2025_03": pd.DataFrame(
        {"hts_prefix": ["76169910"], "tier": pd.array([None], dtype="string"),
         "metal": pd.array(["aluminum"], dtype="string")})}
    lists |= {n: lists["s232_alu_derivatives_2025_03"].iloc[0:0] for n in E.PRODUCT_LISTS
              if n not in lists}
    out = S.product_rates(["7208100000", "0101210010"], "2025-07-01", "2025-07-01", sched,
                          lists=lists, metal_shares=pd.DataFrame(
                              {"hts10": [], "steel_share": [], "aluminum_share": [],
                               "copper_share": [], "metal_share": []})).set_index("hts10")
    assert out.loc["7208100000", "statutory_pct"] == pytest.approx(50.0)  # IEEPA yields
    assert out.loc["7208100000", "usmca_pct"] == pytest.approx(50.0)
    assert out.loc["0101210010", "statutory_pct"] == pytest.approx(25.0)
    assert out.loc["0101210010", "usmca_pct"] == 0.0


# --- Budget Lab tracker parsers --------------------------------------------------------------


def test_parse_usmca_shares_reads_codes_as_text_and_month_from_name():
    out = parse.parse_usmca_shares(YALE / "2026-05" / "usmca_product_shares_2025_07.csv",
                                   "2026-05")["usmca_2025_07"]
    assert (out["date"] == pd.Timestamp("2025-07-01")).all()
    assert out["hts10"].iloc[0] == "0702002002"
    assert set(out["partner_code"]) == {"2010", "1220"}
    assert out["usmca_claimed_usd"].sum() == 6000


def test_parse_usmca_shares_rejects_claims_above_imports(tmp_path):
    bad = tmp_path / "usmca_product_shares_2025_07.csv"
    bad.write_text("hts10,cty_code,usmca_share,total_value,usmca_value\n"
                   "0702002002,2010,2,1000,2000\n")
    with pytest.raises(ParseError, match="exceeds total_value"):
        parse.parse_usmca_shares(bad, "x")


def test_parse_lists_and_metal_shares():
    annex = parse.parse_s232_annex(YALE / "2026-05" / "s232_annex_products.csv", "v")
    assert list(annex["s232_annex"]["tier"]) == ["1a", "1b", "2", "1a"]
    deriv = parse.parse_s232_derivatives(YALE / "2026-05" / "s232_derivative_products.csv",
                                         "v")["s232_derivatives"]
    assert deriv["effective_date"].isna().sum() == 1
    parts = parse.parse_hts_list(YALE / "2026-05" / "s232_auto_parts.txt", "v")
    assert list(parts["s232_auto_parts"]["hts_prefix"]) == ["8708", "8511400000"]
    cu = parse.parse_s232_copper(YALE / "2026-05" / "s232_copper_products.csv", "v")
    assert cu["s232_copper"]["hts_prefix"].iloc[0] == "74081100"
    metal = parse.parse_metal_shares(YALE / "2026-05" / "metal_content_shares_bea_hs10.csv",
                                     "v")["metal_shares"]
    assert metal["steel_share"].max() == 1.0  # the 1.19 input-output ratio is capped
    assert metal.attrs["capped_rows"] == 1
    etr = parse.parse_etr_by_partner(YALE / "2026-03" / "etr_by_partner.csv",
                                     "v")["etr_by_partner"]
    assert etr["etr_pct"].iloc[0] == pytest.approx(12.77)
    assert etr["etr_tpc_pct"].iloc[1] == pytest.approx(15.36)


def test_snapshot_rates_use_the_day_not_the_month(sched, lists, metal):
    trade = pd.DataFrame({"hts10": [PLAIN, PLAIN, TOMATO], "imports_cons_usd": [50.0, 50.0, 100.0],
                          "usmca_claimed_usd": [100.0, 0.0, 0.0]})
    snap = S.snapshot_rates(["2025-04-10", "2025-04-20"], trade, sched, lists=lists,
                            metal_shares=metal).set_index("date")
    # 10 April: blanket 25 + temp 10 on the plain good; tomato adds AD 20
    assert snap.loc["2025-04-10", "statutory_pct"] == pytest.approx((100 * 35 + 100 * 55) / 200)
    # 20 April: temp has ended; the plain good claims USMCA in full and pays nothing
    assert snap.loc["2025-04-20", "expected_pct"] == pytest.approx((100 * 0 + 100 * 45) / 200)


def test_compare_collected_flags_months_off_by_more_than_threshold():
    engine = pd.DataFrame({"date": pd.to_datetime(["2025-05-01", "2025-06-01"]),
                           "expected_pct": [4.0, 6.0], "imports_cons_usd": [1e9, 1e9]})
    duties = pd.DataFrame({"date": pd.to_datetime(["2025-05-01", "2025-06-01"]),
                           "duties_usd": [4.5e7, 4.5e7], "imports_cons_usd": [1e9, 1e9]})
    out = S.compare_collected(engine, duties, baseline_pct=0.25)
    assert out["gap_pp"].round(6).tolist() == [-0.25, 1.75]
    assert out["off"].tolist() == [False, True]


def test_totals_match_aggregate_and_portions_add_up(sched, lists, metal):
    trade = pd.DataFrame({"date": pd.to_datetime(["2025-05-01"] * 2), "hts10": [PLAIN, FRIDGE],
                          "imports_cons_usd": [100.0, 300.0],
                          "usmca_claimed_usd": [50.0, 300.0]})
    agg = S.aggregate(S.apply_schedule(trade, sched, lists=lists, metal_shares=metal))
    per = S.apply_schedule(trade, sched, lists=lists, metal_shares=metal, by_measure=True)
    tot = S.totals(per, trade)
    assert tot["expected_pct"].iloc[0] == pytest.approx(agg["expected_pct"].iloc[0])
    c = S.contributions(per, trade).set_index("measure")
    # the blanket duty falls only on unclaimed goods; the metal duty on the claimed fridge too
    assert c.loc["blanket", "expected_claimed_pp"] == pytest.approx(0.0)
    assert c.loc["metal", "expected_claimed_pp"] == pytest.approx(100 * 300 * 0.20 / 400)
    by_m = S.chapter_rates("2025-05-01", "2025-05-01", trade, sched, lists=lists,
                           metal_shares=metal, by_measure=True)
    ch84 = by_m.loc[by_m["hs2"] == "84"].set_index("measure")
    assert ch84["statutory_pct"].sum() == pytest.approx(35.0)


def test_read_gaps_classifies_by_the_two_terms():
    check = pd.DataFrame({"gap_pp": [0.5, 3.0, 5.0, 9.0, -2.0],
                          "off": [False, True, True, True, True],
                          "exempt_unclaimed_pp": [1.0, 4.0, 3.0, 3.0, 1.0],
                          "vehicles_claimed_pp": [0.0, 1.0, 3.0, 3.0, 0.0]})
    assert S.read_gaps(check).tolist() == ["within threshold", "claims", "claims + vehicles",
                                           "unexplained", "below collected"]


def test_metal_share_condition_filters_products(lists):
    ev = E.load_events(FIX / "events" / "schedule.csv")
    i = ev.index[ev["event_id"] == "2025-05-tiered"][0]
    ev.loc[i, "condition"] = "metal_share>0.15 (weight rule, value share as proxy)"
    sched = S.build_schedule(ev)
    shares = pd.DataFrame({"hts10": [TIER1B, PREFIX_ONLY], "steel_share": [0.1, 0.5],
                           "aluminum_share": [0.0, 0.0], "copper_share": [0.0, 0.0],
                           "metal_share": [0.1, 0.5]})
    june = S.product_rates(PRODUCTS, "2025-06-01", "2025-06-01", sched, lists=lists,
                           metal_shares=shares).set_index("hts10")
    assert june.loc[TIER1B, "usmca_pct"] == 0.0  # 10% metal: out of scope
    assert june.loc[PREFIX_ONLY, "usmca_pct"] == pytest.approx(50.0)
