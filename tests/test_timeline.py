"""Tests for tradelib.timeline: the lane algorithm (properties), layout and drawing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import itertools

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradelib.analysis import events as E
from tradelib.publish import timeline as T
from tradelib.publish.plot import PlotError

FIX = Path(__file__).parent / "fixtures" / "events"

intervals = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(1, 200)), min_size=0, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(intervals, st.integers(0, 20))
def test_lanes_never_overlap_and_are_minimal(items, gap):
    starts = [float(s) for s, _ in items]
    widths = [float(w) for _, w in items]
    lanes = T.assign_lanes(starts, widths, gap=gap)
    assert len(lanes) == len(items)
    by_lane: dict[int, list[tuple[float, float]]] = {}
    for s, w, lane in zip(starts, widths, lanes, strict=True):
        by_lane.setdefault(lane, []).append((s, s + w))
    for spans in by_lane.values():
        spans.sort()
        for (_a0, a1), (b0, _b1) in itertools.pairwise(spans):
            assert a1 + gap <= b0  # same lane: the next label starts after this one ends
    used = len(set(lanes))
    assert used == (T.max_overlap(starts, widths, gap) if items else 0)
    assert set(lanes) == set(range(used))  # lanes are 0..n-1 without holes


def test_lanes_are_deterministic_and_keep_input_order():
    starts, widths = [10.0, 0.0, 5.0, 30.0], [10.0, 10.0, 10.0, 1.0]
    assert T.assign_lanes(starts, widths) == [0, 0, 1, 0]
    assert T.assign_lanes(starts, widths) == T.assign_lanes(list(starts), list(widths))


def test_lane_input_errors():
    with pytest.raises(PlotError):
        T.assign_lanes([0.0], [1.0, 2.0])
    with pytest.raises(PlotError):
        T.assign_lanes([0.0], [-1.0])


def test_label_width_scales_with_span_and_text():
    w = T.label_width_days("abcd", span_days=1000, axes_width_in=10, fontsize=7)
    assert w == pytest.approx(4 * 7 * 0.55 / 72 * 100)
    assert T.label_width_days("abcdabcd", 1000, 10, 7) == pytest.approx(2 * w)
    with pytest.raises(PlotError):
        T.label_width_days("a", 0, 10, 7)


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return E.load_events(FIX / "valid.csv")


def test_layout_labels_do_not_collide_within_a_category(toy):
    lay = T.timeline_layout(toy, "2020-01-01", "2020-12-31", axes_width_in=3, fontsize=9)
    assert set(lay["category"]) <= set(E.CATEGORIES)
    for _cat, sub in lay.loc[lay["label"] != ""].groupby(["category", "lane"]):
        sub = sub.sort_values("x")
        assert (sub["label_end"].iloc[:-1].to_numpy() <= sub["x"].iloc[1:].to_numpy()).all()
    us = lay.loc[lay["category"] == "US duties in force"]
    assert us["lanes"].iloc[0] >= 2  # two labels on 2020-03-11 must stack


def test_layout_window_clips_and_filters(toy):
    lay = T.timeline_layout(toy, "2020-05-01", "2020-12-31", labelled=["2020-06-steel-up"])
    assert "2020-01-deal" not in set(lay["event_id"])  # a one-day event before the window
    alu = lay.loc[lay["event_id"] == "2020-03-alu-on"].iloc[0]
    assert alu["x"] == pd.Timestamp("2020-05-01") and alu["label"] == ""  # started earlier
    assert set(lay.loc[lay["label"] != "", "event_id"]) == {"2020-06-steel-up"}
    with pytest.raises(PlotError):
        T.timeline_layout(toy, "2021-01-01", "2020-01-01")


def test_plot_timeline_and_overlay_draw(toy):
    fig, (ax1, ax2) = plt.subplots(2, 1)
    T.plot_timeline(toy, "2020-01-01", "2020-12-31", ax=ax1, title="toy")
    texts = [t.get_text().strip() for t in ax1.texts]
    assert "Steel 25%" in texts and "MX duty" in texts
    assert ax1.get_title() == "toy"
    dates = pd.date_range("2020-01-01", "2020-12-01", freq="MS")
    ax2.plot(dates, range(12))
    before = ax2.get_xlim()
    T.overlay_events(ax2, toy)
    assert ax2.get_xlim() == before
    assert len(ax2.lines) == 1 + len(toy.loc[toy["start_date"] >= "2020-01-01"])
    T.category_legend(ax2)
    assert ax2.get_legend() is not None
    plt.close(fig)
