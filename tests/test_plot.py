"""Tests for tradelib.plot: palette, formatters, era/event helpers and show() with alt text."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from tradelib.errors import TradelibError
from tradelib.publish import plot


def _relative_luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_palette_is_okabe_ito_and_distinct():
    assert len(plot.PALETTE_LIST) == 8
    assert len(set(plot.PALETTE_LIST)) == 8
    assert plot.PALETTE["blue"] == "#0072B2"
    assert plot.PALETTE["vermillion"] == "#D55E00"
    assert set(plot.FLOW_COLORS.values()) <= set(plot.PALETTE_LIST)
    assert set(plot.PARTNER_COLORS.values()) <= set(plot.PALETTE_LIST)
    # exports and imports must differ in lightness, not only in hue
    lum = [_relative_luminance(plot.FLOW_COLORS[k]) for k in ("exports", "imports")]
    assert abs(lum[0] - lum[1]) > 0.05


def test_use_style_sets_palette_cycle():
    plot.use_style()
    cycle = [c["color"].lower() for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle[:3] == [c.lower() for c in plot.PALETTE_LIST[:3]]


@pytest.mark.parametrize(
    ("musd", "decimals", "expected"),
    [
        (12_345.0, 0, "$12bn"),
        (-3_500.0, 1, "−$3.5bn"),
        (0.0, 0, "$0bn"),
        (-0.2, 0, "$0bn"),
        (250_000.0, 0, "$250bn"),
    ],
)
def test_usd_billions_formatter(musd, decimals, expected):
    fig, ax = plt.subplots()
    plot.usd_billions(ax, decimals=decimals)
    formatter = ax.yaxis.get_major_formatter()
    assert formatter(musd, 0) == expected
    plt.close(fig)


def test_usd_billions_auto_decimals_keep_ticks_distinct():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [-28_000.0, -9_000.0])
    ax.set_yticks([-27_500.0, -25_000.0, -22_500.0, -20_000.0])
    plot.usd_billions(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["−$27.5bn", "−$25.0bn", "−$22.5bn", "−$20.0bn"]
    ax.set_yticks([-20_000.0, -10_000.0, 0.0])
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["−$20bn", "−$10bn", "$0bn"]
    plt.close(fig)


def test_usd_billions_rejects_bad_axis():
    fig, ax = plt.subplots()
    with pytest.raises(TradelibError, match="axis must be"):
        plot.usd_billions(ax, axis="z")
    plt.close(fig)


def _date_axes():
    fig, ax = plt.subplots()
    idx = pd.date_range("1990-01-01", "2021-12-01", freq="MS")
    ax.plot(idx, range(len(idx)))
    return fig, ax


def test_shade_eras_keeps_limits_and_labels_visible_eras():
    fig, ax = _date_axes()
    before = ax.get_xlim()
    plot.shade_eras(ax)
    assert ax.get_xlim() == before
    labels = {t.get_text() for t in ax.texts}
    assert labels == {"pre-NAFTA", "NAFTA", "USMCA"}
    # two boundaries inside the window: 1994-01 and 2020-07
    assert len(ax.lines) == 1 + 2
    plt.close(fig)
    # the start of the first era is where the data begin, not an era boundary: no line there
    fig, ax = plt.subplots()
    idx = pd.date_range("1985-01-01", "1999-12-01", freq="MS")
    ax.plot(idx, range(len(idx)))
    plot.shade_eras(ax)
    assert len(ax.lines) == 1 + 1
    plt.close(fig)


def test_shade_shocks_skips_windows_outside_axis():
    fig, ax = _date_axes()  # ends 2021-12: the 2025 tariffs window is outside
    plot.shade_shocks(ax)
    labels = {t.get_text().strip() for t in ax.texts}
    assert "2025 tariffs" not in labels
    assert {"peso crisis", "pandemic"} <= labels
    plt.close(fig)


def test_year_axis_positions_boundary_between_bars():
    assert plot._to_x(pd.Timestamp("1994-01-01"), "year") == pytest.approx(1993.5)
    assert plot._to_x(pd.Timestamp("2020-07-01"), "year") == pytest.approx(2019.5 + 182 / 366)


def test_mark_events_accepts_mapping_pairs_and_frame():
    fig, ax = _date_axes()
    plot.mark_events(ax, {"A": "2000-01-01"})
    plot.mark_events(ax, [("2001-01-01", "B"), ("2030-01-01", "outside")])
    plot.mark_events(ax, pd.DataFrame({"date": ["2002-01-01"], "label": ["C"]}))
    # the layout of tradelib/resources/tariff_events.csv: start_date + short_label
    plot.mark_events(
        ax, pd.DataFrame({"start_date": pd.to_datetime(["2003-01-01"]), "short_label": ["D"]})
    )
    labels = [t.get_text().strip() for t in ax.texts]
    assert labels == ["A", "B", "C", "D"]
    with pytest.raises(TradelibError, match="date"):
        plot.mark_events(ax, pd.DataFrame({"when": ["2002-01-01"]}))
    plt.close(fig)


def test_show_requires_alt_and_title():
    fig, ax = plt.subplots()
    ax.set_title("t")
    with pytest.raises(TradelibError, match="alt text"):
        plot.show(fig, alt="  ")
    fig, ax = plt.subplots()
    with pytest.raises(TradelibError, match="no title"):
        plot.show(fig, alt="something")


def test_show_emits_png_and_html_with_alt(monkeypatch):
    captured = {}

    class FakeShell:
        pass

    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: FakeShell())
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, raw=False: captured.update(obj=obj, raw=raw)
    )
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    ax.set_title("A title")
    plot.show(fig, alt='Balance "fell" & recovered')
    bundle = captured["obj"]
    assert captured["raw"] is True
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'alt="Balance &quot;fell&quot; &amp; recovered"' in bundle["text/html"]
    assert bundle["image/png"] in bundle["text/html"]
    assert not plt.fignum_exists(fig.number)


def test_source_line_from_attrs_and_strings():
    import pandas as pd

    a = pd.DataFrame({"x": [1]})
    a.attrs.update(source="census-country", vintage="2026-10")
    b = pd.Series([1.0])
    b.attrs.update(source="fred-DEXMXUS", vintage="2026-09")
    line = plot.source_line(a, b, a, "tradelib tariff-events table")
    assert line == ("Source: census-country (vintage 2026-10); fred-DEXMXUS (vintage 2026-09); "
                    "tradelib tariff-events table")
    with pytest.raises(plot.PlotError, match="attrs"):
        plot.source_line(pd.DataFrame({"x": [1]}))
    with pytest.raises(plot.PlotError):
        plot.source_line()


def test_show_draws_source_line():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title("t")
    plot.add_source(fig, "census-country (vintage 2026-10)")
    assert plot.figure_source(fig) == "Source: census-country (vintage 2026-10)"
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.set_title("t")
    with pytest.raises(plot.PlotError, match="source"):
        plot.show(fig, alt="x", source="  ")
