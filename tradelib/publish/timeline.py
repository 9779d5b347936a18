"""Timeline and overlay plots for the tariff-events table, with labels that do not collide.

Label placement is a small deterministic algorithm, :func:`assign_lanes`: labels are taken in
order of their left edge and each goes to the lowest "lane" (row) whose previous label ends,
plus a gap, before this one starts. For intervals this greedy rule uses the fewest lanes
possible (the largest number of labels that overlap at one point), and the result depends only
on the input, so re-running a notebook draws the same picture.

* :func:`timeline_layout` computes where every event and label goes (pure, testable);
* :func:`plot_timeline` draws events by category on a time axis (markers at the start, bars for
  events with an end date, staggered labels);
* :func:`overlay_events` marks events on any axis with dates on x (e.g. a monthly series).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from tradelib.analysis.events import CATEGORIES
from tradelib.publish.plot import PALETTE, PlotError

__all__ = [
    "CATEGORY_STYLE",
    "assign_lanes",
    "category_legend",
    "label_width_days",
    "max_overlap",
    "overlay_events",
    "plot_timeline",
    "timeline_layout",
]

#: Colour (Okabe-Ito) and marker for each event category; markers differ too, so the
#: categories stay distinguishable in greyscale and for colour-blind readers.
CATEGORY_STYLE: dict[str, tuple[str, str]] = {
    "Agreements & reviews": (PALETTE["blue"], "o"),
    "US duties in force": (PALETTE["vermillion"], "s"),
    "Threats, pauses & announcements": (PALETTE["orange"], "^"),
    "Mexico's own measures": (PALETTE["bluish_green"], "D"),
    "Courts & context": (PALETTE["reddish_purple"], "X"),
}

_CHAR_WIDTH_EM = 0.55  # average glyph width of the default sans-serif font, in ems


def assign_lanes(
    starts: Sequence[float], widths: Sequence[float], gap: float = 0.0
) -> list[int]:
    """Lane (0, 1, 2, ...) for each interval ``[start, start + width]`` so none overlap.

    Intervals are processed by start (ties keep input order); each takes the lowest lane whose
    last interval ends at least ``gap`` before it starts, or opens a new lane. Returns lanes in
    the input order.
    """
    if len(starts) != len(widths):
        raise PlotError(f"assign_lanes: {len(starts)} starts but {len(widths)} widths.")
    if any(w < 0 for w in widths) or gap < 0:
        raise PlotError("assign_lanes: widths and gap must be non-negative.")
    order = sorted(range(len(starts)), key=lambda i: (starts[i], i))
    lane_end: list[float] = []
    lanes = [0] * len(starts)
    for i in order:
        for lane, end in enumerate(lane_end):
            if end + gap <= starts[i]:
                lanes[i] = lane
                lane_end[lane] = starts[i] + widths[i]
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(starts[i] + widths[i])
    return lanes


def max_overlap(starts: Sequence[float], widths: Sequence[float], gap: float = 0.0) -> int:
    """Largest number of half-open intervals ``[s, s + w + gap)`` sharing a point.

    This is the fewest lanes any non-overlapping placement needs (at least 1 when there are
    intervals, since even empty labels occupy a lane).
    """
    points = []
    for s, w in zip(starts, widths, strict=True):
        points.append((s, 1))
        points.append((s + w + gap, -1))
    depth = best = 0
    for _x, step in sorted(points, key=lambda p: (p[0], p[1])):  # ends before starts at ties
        depth += step
        best = max(best, depth)
    return max(best, 1) if points else 0


def label_width_days(
    label: str, span_days: float, axes_width_in: float, fontsize: float
) -> float:
    """Approximate width of ``label`` in days on an axis showing ``span_days`` days."""
    if span_days <= 0 or axes_width_in <= 0:
        raise PlotError("label_width_days: the axis span and width must be positive.")
    inches = len(label) * fontsize * _CHAR_WIDTH_EM / 72.0
    return inches * span_days / axes_width_in


def _in_window(events: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Events whose start, or whose span, falls inside ``[lo, hi]``."""
    end = events["end_date"].fillna(events["start_date"])
    return events.loc[(events["start_date"] <= hi) & (end >= lo)]


def timeline_layout(
    events: pd.DataFrame,
    start,
    end,
    *,
    axes_width_in: float = 8.0,
    fontsize: float = 7.0,
    labelled: Sequence[str] | None = None,
    gap_days: float | None = None,
) -> pd.DataFrame:
    """Where each event and its label go on a timeline from ``start`` to ``end``.

    Returns one row per event in the window with ``event_id``, ``category``, ``x`` (start date,
    clipped to the window), ``x_end`` (end of its bar or ``NaT``), ``label`` (``""`` when not
    labelled), ``label_end`` (date where the label text ends), ``lane`` (0 = nearest the
    category's baseline) and ``lanes`` (lanes used by the category). Only labelled events take
    part in the lane assignment; unlabelled ones sit on lane 0. Events that started before the
    window (e.g. an agreement still in force) keep their bar but get no label.
    """
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    if hi <= lo:
        raise PlotError(f"timeline_layout: end {hi.date()} must be after start {lo.date()}.")
    span = (hi - lo).days
    gap = gap_days if gap_days is not None else span / 150.0
    ev = _in_window(events, lo, hi)
    wanted = set(ev["event_id"]) if labelled is None else set(labelled)
    rows = []
    for cat in CATEGORIES:
        sub = ev.loc[ev["category"] == cat].sort_values(["start_date", "event_id"])
        if sub.empty:
            continue
        x = sub["start_date"].clip(lower=lo)
        labels = [str(s) if e in wanted and d >= lo else "" for e, s, d in
                  zip(sub["event_id"], sub["short_label"], sub["start_date"], strict=True)]
        widths = [label_width_days(lab, span, axes_width_in, fontsize) + gap if lab else 0.0
                  for lab in labels]
        has = [i for i, lab in enumerate(labels) if lab]
        x_days = [(x.iloc[i] - lo).days for i in has]
        lanes_lab = assign_lanes(x_days, [widths[i] for i in has], gap)
        lane = [0] * len(labels)
        for i, ln in zip(has, lanes_lab, strict=True):
            lane[i] = ln
        n_lanes = max([*lanes_lab, 0]) + 1
        for i, (_, r) in enumerate(sub.iterrows()):
            end_x = r["end_date"] if pd.notna(r["end_date"]) else pd.NaT
            rows.append({
                "event_id": r["event_id"], "category": cat, "x": x.iloc[i],
                "x_end": min(end_x, hi) if pd.notna(end_x) else pd.NaT,
                "label": labels[i],
                "label_end": x.iloc[i] + pd.Timedelta(days=widths[i]) if labels[i] else pd.NaT,
                "lane": lane[i], "lanes": n_lanes,
            })
    out = pd.DataFrame(rows, columns=["event_id", "category", "x", "x_end", "label",
                                      "label_end", "lane", "lanes"])
    return out


def plot_timeline(
    events: pd.DataFrame,
    start,
    end,
    *,
    ax: Axes | None = None,
    labelled: Sequence[str] | None = None,
    fontsize: float = 7.0,
    title: str | None = None,
) -> Axes:
    """Draw events by category between ``start`` and ``end``; return the axes.

    Each category is a horizontal band (top to bottom in :data:`tradelib.analysis.events.CATEGORIES`
    order); a marker sits at each event's start, a bar runs to its ``end_date`` when it has one,
    and labels are stacked in lanes from :func:`timeline_layout` so they never overlap.
    ``labelled`` restricts labels to those event ids (others keep their marker).
    """
    if ax is None:
        _fig, ax = plt.subplots(figsize=(10, 5))
    fig = ax.get_figure()
    bbox = ax.get_position()
    width_in = fig.get_figwidth() * bbox.width
    layout = timeline_layout(events, start, end, axes_width_in=width_in, fontsize=fontsize,
                             labelled=labelled)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    y0 = 0.0
    ticks, ticklabels = [], []
    for cat in CATEGORIES:
        sub = layout.loc[layout["category"] == cat]
        if sub.empty:
            continue
        color, marker = CATEGORY_STYLE[cat]
        n = int(sub["lanes"].iloc[0])
        base = y0
        for _, r in sub.iterrows():
            y = base + 0.45 + 0.8 * r["lane"]
            if pd.notna(r["x_end"]):
                ax.plot([r["x"], r["x_end"]], [base - 0.25, base - 0.25], color=color, lw=3,
                        alpha=0.35, solid_capstyle="butt", zorder=2)
            ax.plot([r["x"]], [base - 0.25], marker=marker, color=color, ms=6, ls="none",
                    zorder=3)
            if r["label"]:
                ax.plot([r["x"], r["x"]], [base - 0.25, y], color=color, lw=0.5,
                        alpha=0.6, zorder=1)
                ax.text(r["x"], y, " " + r["label"], fontsize=fontsize, va="center",
                        ha="left", color="#222222", zorder=4)
        ticks.append(base - 0.25)
        ticklabels.append(cat)
        ax.axhline(base - 0.75, color="#cccccc", lw=0.6, zorder=0)
        y0 = base + 0.45 + 0.8 * n + 0.6
    ax.set_yticks(ticks, ticklabels)
    ax.set_ylim(y0 - 0.2, -1.0)  # first category on top
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=5, maxticks=12))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("date of effect, signature or announcement")
    if title:
        ax.set_title(title)
    return ax


def overlay_events(
    ax: Axes,
    events: pd.DataFrame,
    *,
    fontsize: float = 6.5,
    label: bool = True,
    top: float = 0.98,
    lane_step: float = 0.055,
) -> Axes:
    """Mark events on an axes with dates on x: a dotted line per event, labels in lanes.

    Lines take the colour of the event's category (:data:`CATEGORY_STYLE`); labels are stacked
    downwards from ``top`` (axes fraction) using :func:`assign_lanes`, so they do not overlap.
    Events outside the current x-limits are skipped; the limits are not changed.
    """
    lo_num, hi_num = ax.get_xlim()
    lo = pd.Timestamp(mdates.num2date(lo_num).replace(tzinfo=None))
    hi = pd.Timestamp(mdates.num2date(hi_num).replace(tzinfo=None))
    ev = events.loc[(events["start_date"] >= lo) & (events["start_date"] <= hi)]
    ev = ev.sort_values(["start_date", "event_id"])
    if ev.empty:
        return ax
    fig = ax.get_figure()
    width_in = fig.get_figwidth() * ax.get_position().width
    span = max((hi - lo).days, 1)
    xs = [(d - lo).days for d in ev["start_date"]]
    labels = [str(s) for s in ev["short_label"]]
    widths = [label_width_days(" " + s, span, width_in, fontsize) for s in labels]
    lanes = assign_lanes(xs, widths, gap=span / 200.0) if label else [0] * len(xs)
    trans = ax.get_xaxis_transform()
    for (_, r), lane, text in zip(ev.iterrows(), lanes, labels, strict=True):
        color = CATEGORY_STYLE.get(str(r["category"]), (PALETTE["black"], "o"))[0]
        ax.axvline(r["start_date"], color=color, lw=0.9, ls=":", zorder=1)
        if label:
            ax.text(r["start_date"], top - lane_step * lane, " " + text, transform=trans,
                    fontsize=fontsize, ha="left", va="top", color=color,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5},
                    zorder=5)
    ax.set_xlim(lo_num, hi_num)
    return ax


def category_legend(ax: Axes, categories: Sequence[str] | None = None, **kwargs) -> Axes:
    """Add a legend with the marker and colour of each event category."""
    cats = list(categories) if categories is not None else list(CATEGORIES)
    handles = [Line2D([0], [0], color=CATEGORY_STYLE[c][0], marker=CATEGORY_STYLE[c][1],
                      ls=":", label=c) for c in cats]
    ax.legend(handles=handles, **({"fontsize": "x-small", "loc": "lower left"} | kwargs))
    return ax
