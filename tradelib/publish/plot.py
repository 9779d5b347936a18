"""One plotting style for every tradelib notebook.

* ``use_style()`` sets a single seaborn theme and the colour-blind-safe Okabe–Ito palette.
* ``PALETTE`` (name -> hex) / ``PALETTE_LIST`` and the role maps ``FLOW_COLORS`` and
  ``PARTNER_COLORS`` keep colours consistent between notebooks.
* ``usd_billions(ax)`` labels an axis whose data are in $ millions as $ billions.
* ``shade_eras(ax)`` marks the trade-agreement eras (pre-NAFTA, NAFTA, USMCA) and
  ``shade_shocks(ax)`` the shocks a reader expects (peso crisis, 2008–09, pandemic,
  2025 tariffs); ``mark_events(ax, events)`` draws dated vertical markers.
* ``show(fig, alt=..., source=...)`` writes a "Source: ... (vintage ...)" line under the figure,
  then displays it as PNG *and* as an HTML ``<img alt=...>`` so that rendered notebooks keep the
  alt text, and closes it. ``source_line(df, ...)`` builds that line from the tables' attrs.

Reference for the palette: Okabe, M. and Ito, K. (2008), *Color Universal Design (CUD): how to
make figures and presentations that are friendly to colorblind people*.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from tradelib.errors import TradelibError

__all__ = [
    "ERAS",
    "FLOW_COLORS",
    "PALETTE",
    "PALETTE_LIST",
    "PARTNER_COLORS",
    "SHOCKS",
    "BillionsFormatter",
    "PlotError",
    "Window",
    "figure_to_png",
    "mark_events",
    "percent",
    "shade_eras",
    "shade_shocks",
    "show",
    "usd_billions",
    "use_style",
]


class PlotError(TradelibError):
    """A figure or plotting helper was called with something it cannot draw."""


#: Okabe–Ito colour-blind-safe palette (names -> hex).
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "reddish_purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: The same colours as a list, in the order seaborn cycles through them.
PALETTE_LIST: list[str] = list(PALETTE.values())

#: Fixed colours for trade flows, so exports/imports/balance look the same everywhere.
FLOW_COLORS: dict[str, str] = {
    "exports": PALETTE["blue"],
    "imports": PALETTE["vermillion"],
    "balance": PALETTE["black"],
}

#: Fixed colours for the partners compared in the notebooks.
PARTNER_COLORS: dict[str, str] = {
    "Mexico": PALETTE["bluish_green"],
    "Canada": PALETTE["vermillion"],
    "China": PALETTE["orange"],
    "European Union": PALETTE["blue"],
    "World": PALETTE["black"],
}

_ERA_FILL = "#000000"
_SHOCK_FILL = "#7f7f7f"


@dataclass(frozen=True)
class Window:
    """A labelled date window; ``end=None`` means "still running" (to the axis edge)."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp | None


#: Trade-agreement eras: NAFTA entered into force 1994-01-01, USMCA 2020-07-01.
ERAS: tuple[Window, ...] = (
    Window("pre-NAFTA", pd.Timestamp("1985-01-01"), pd.Timestamp("1994-01-01")),
    Window("NAFTA", pd.Timestamp("1994-01-01"), pd.Timestamp("2020-07-01")),
    Window("USMCA", pd.Timestamp("2020-07-01"), None),
)

#: Shocks a reader expects to see marked (end dates are exclusive month starts).
SHOCKS: tuple[Window, ...] = (
    Window("peso crisis", pd.Timestamp("1994-12-01"), pd.Timestamp("1996-01-01")),
    Window("2008–09 crisis", pd.Timestamp("2008-09-01"), pd.Timestamp("2010-01-01")),
    Window("pandemic", pd.Timestamp("2020-03-01"), pd.Timestamp("2020-07-01")),
    Window("2025 tariffs", pd.Timestamp("2025-02-01"), None),
)


def use_style(context: str = "notebook") -> None:
    """Apply the tradelib theme: seaborn ``whitegrid``, Okabe–Ito colours, readable sizes."""
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette=PALETTE_LIST)
    matplotlib.rcParams.update(
        {
            "figure.figsize": (9.0, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.titlesize": "large",
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "axes.prop_cycle": matplotlib.cycler(color=PALETTE_LIST),
        }
    )


def _format_billions(value_musd: float, decimals: int) -> str:
    """Format a value in $ millions as e.g. ``$12bn`` or ``−$3.5bn`` (true minus sign)."""
    billions = value_musd / 1000.0
    if round(billions, decimals) == 0:
        return "$0bn"
    sign = "−" if billions < 0 else ""
    return f"{sign}${abs(billions):,.{decimals}f}bn"


def _decimals_for(locs_musd: Iterable[float]) -> int:
    """Fewest decimals (0-3) that show tick values in $ billions without rounding them."""
    locs = [float(v) / 1000.0 for v in locs_musd]
    for d in range(4):
        if all(abs(round(v * 10**d) - v * 10**d) < 1e-6 for v in locs):
            return d
    return 3


class BillionsFormatter(Formatter):
    """Tick labels in $ billions for data in $ millions (``−$12.5bn``).

    With ``decimals=None`` the number of decimals follows the ticks, so that labels at
    −12.5 and −15 read ``−$12.5bn`` and ``−$15.0bn`` rather than two rounded ``−$12bn``.
    """

    def __init__(self, decimals: int | None = None) -> None:
        self.decimals = decimals
        self._tick_locs: list[float] = []

    def set_locs(self, locs: Iterable[float]) -> None:
        """Remember the tick positions (matplotlib calls this before formatting the ticks)."""
        self._tick_locs = [float(v) for v in locs]

    def __call__(self, x: float, pos: int | None = None) -> str:
        decimals = self.decimals
        if decimals is None:
            decimals = _decimals_for(self._tick_locs or [x])
        return _format_billions(x, decimals)


def usd_billions(ax: Axes, axis: Literal["x", "y"] = "y", decimals: int | None = None) -> Axes:
    """Label ``axis`` of ``ax`` in $ billions for data stored in $ millions; return ``ax``.

    ``decimals=None`` (default) picks the fewest decimals that keep every tick label exact.
    """
    if axis not in ("x", "y"):
        raise PlotError(f"usd_billions: axis must be 'x' or 'y', got {axis!r}.")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(BillionsFormatter(decimals))
    return ax


def percent(ax: Axes, axis: Literal["x", "y"] = "y", decimals: int = 0, scale: float = 1.0) -> Axes:
    """Label ``axis`` as percentages; ``scale=100`` when the data are fractions."""
    if axis not in ("x", "y"):
        raise PlotError(f"percent: axis must be 'x' or 'y', got {axis!r}.")
    formatter = FuncFormatter(lambda v, _pos: f"{v * scale:,.{decimals}f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)
    return ax


def _to_x(date: pd.Timestamp, xunit: str) -> float:
    """Position of ``date`` on an axis of dates (``"date"``) or of calendar years (``"year"``).

    On a year axis a year's bar is centred on the integer year, so 1 January of year ``Y`` sits
    at ``Y - 0.5``.
    """
    if xunit == "date":
        return float(mdates.date2num(pd.Timestamp(date).to_pydatetime()))
    if xunit == "year":
        ts = pd.Timestamp(date)
        days = 366 if ts.is_leap_year else 365
        return ts.year - 0.5 + (ts.day_of_year - 1) / days
    raise PlotError(f"xunit must be 'date' or 'year', got {xunit!r}.")


def _spans(ax: Axes, windows: Iterable[Window], xunit: str) -> list[tuple[Window, float, float]]:
    """Clip windows to the current x-limits; drop windows entirely outside them."""
    lo, hi = ax.get_xlim()
    out = []
    for w in windows:
        a = _to_x(w.start, xunit)
        b = hi if w.end is None else _to_x(w.end, xunit)
        a, b = max(a, lo), min(b, hi)
        if b > a:
            out.append((w, a, b))
    return out


def shade_eras(
    ax: Axes,
    eras: Iterable[Window] = ERAS,
    *,
    xunit: Literal["date", "year"] = "date",
    label: bool = True,
) -> Axes:
    """Mark trade-agreement eras on ``ax``: alternating light bands, boundary lines, labels.

    Call it after plotting the data (it uses the current x-limits and does not change them).
    """
    lo, hi = ax.get_xlim()
    eras = tuple(eras)
    first = eras[0] if eras else None  # the first era's start is the data's start, not a boundary
    for i, (w, a, b) in enumerate(_spans(ax, eras, xunit)):
        if i % 2 == 1:
            ax.axvspan(a, b, color=_ERA_FILL, alpha=0.05, lw=0, zorder=0)
        if a > lo and w != first:
            ax.axvline(a, color=_ERA_FILL, lw=0.8, ls="--", alpha=0.6, zorder=1)
        if label:
            ax.text(
                (a + b) / 2,
                0.99,
                w.label,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize="small",
                color="#333333",
            )
    ax.set_xlim(lo, hi)
    return ax


def shade_shocks(
    ax: Axes,
    shocks: Iterable[Window] = SHOCKS,
    *,
    xunit: Literal["date", "year"] = "date",
    label: bool = True,
) -> Axes:
    """Shade shock windows (grey bands, optional labels at the bottom) without moving x-limits."""
    lo, hi = ax.get_xlim()
    for w, a, b in _spans(ax, shocks, xunit):
        ax.axvspan(a, b, color=_SHOCK_FILL, alpha=0.18, lw=0, zorder=0)
        if label:
            ax.text(
                a,
                0.01,
                " " + w.label,
                transform=ax.get_xaxis_transform(),
                ha="left",
                va="bottom",
                rotation=90,
                fontsize="x-small",
                color="#444444",
            )
    ax.set_xlim(lo, hi)
    return ax


def _event_pairs(events: Any) -> list[tuple[pd.Timestamp, str]]:
    """Normalise events to ``[(date, label), ...]``.

    Accepts a mapping ``{label: date}``, an iterable of ``(date, label)`` pairs, or a DataFrame
    with a date column (``date``, ``effective_date`` or ``start_date``, as in the authored
    tariff-events table) and a label column (``label``, ``event``,
    ``short_label`` or ``name``).
    """
    if isinstance(events, pd.DataFrame):
        date_col = next(
            (c for c in ("date", "effective_date", "start_date") if c in events.columns), None
        )
        label_col = next(
            (c for c in ("short_label", "label", "event", "name") if c in events.columns), None
        )
        if date_col is None or label_col is None:
            raise PlotError(
                "mark_events: the DataFrame needs a 'date' (or 'effective_date'/'start_date') column "
                "and a "
                f"'label' (or 'short_label'/'event'/'name') column; it has {list(events.columns)}."
            )
        return [
            (pd.Timestamp(d), str(lab))
            for d, lab in zip(events[date_col], events[label_col], strict=True)
        ]
    if isinstance(events, Mapping):
        return [(pd.Timestamp(d), str(lab)) for lab, d in events.items()]
    pairs = []
    for item in events:
        try:
            d, lab = item
        except (TypeError, ValueError) as exc:
            raise PlotError(f"mark_events: expected (date, label) pairs, got {item!r}.") from exc
        pairs.append((pd.Timestamp(d), str(lab)))
    return pairs


def mark_events(
    ax: Axes,
    events: Any,
    *,
    xunit: Literal["date", "year"] = "date",
    color: str = PALETTE["reddish_purple"],
    label: bool = True,
) -> Axes:
    """Draw a dashed vertical line (and a rotated label) at each event date inside the x-limits."""
    lo, hi = ax.get_xlim()
    for d, lab in _event_pairs(events):
        x = _to_x(d, xunit)
        if not lo <= x <= hi:
            continue
        ax.axvline(x, color=color, lw=1.0, ls=":", zorder=1)
        if label:
            ax.text(
                x,
                0.98,
                " " + lab,
                transform=ax.get_xaxis_transform(),
                ha="left",
                va="top",
                rotation=90,
                fontsize="x-small",
                color=color,
            )
    ax.set_xlim(lo, hi)
    return ax


def _has_title(fig: Figure) -> bool:
    """True when the figure has a suptitle or any axes has a title."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        return True
    return any(
        ax.get_title(loc=loc).strip() for ax in fig.axes for loc in ("center", "left", "right")
    )


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


SOURCE_PREFIX = "Source: "


def source_line(*items: Any) -> str:
    """The source-and-vintage line for a figure, from tables loaded by tradelib or plain text.

    Each item is a DataFrame/Series loaded by ``tradelib`` (its ``attrs`` carry ``source`` and
    ``vintage``) or a string such as ``"tradelib tariff-events table"``. Duplicates are dropped,
    order is kept: ``source_line(trade, fx)`` gives
    ``"Source: census-country (vintage 2026-10); fred-DEXMXUS (vintage 2026-09)"``.
    """
    parts: list[str] = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
        else:
            attrs = getattr(item, "attrs", {}) or {}
            if "source" not in attrs:
                raise PlotError(
                    "plot.source_line: this table has no attrs['source'] (was it built with a "
                    "tradelib loader?); pass the source as a string instead.")
            vintage = attrs.get("vintage")
            text = f"{attrs['source']}" + (f" (vintage {vintage})" if vintage else "")
        if text and text not in parts:
            parts.append(text)
    if not parts:
        raise PlotError("plot.source_line: give at least one table or source string.")
    return SOURCE_PREFIX + "; ".join(parts)


def add_source(fig: Figure, source: str) -> None:
    """Write ``source`` as a small grey line under the figure (left-aligned)."""
    text = source if source.startswith(SOURCE_PREFIX) else SOURCE_PREFIX + source
    fig.text(0.01, -0.01, text, ha="left", va="top", fontsize="x-small", color="#555555",
             wrap=True, gid="tradelib-source")


def figure_source(fig: Figure) -> str | None:
    """The source line that :func:`add_source` wrote on ``fig``, if any."""
    for t in fig.texts:
        if t.get_gid() == "tradelib-source":
            return t.get_text()
    return None


def show(fig: Figure, alt: str, source: str | None = None) -> None:
    """Display ``fig`` with alt text and its source line, then close it.

    ``source`` (see :func:`source_line`) is drawn under the figure and repeated in the text
    output, so readers always see where the data come from and which vintage they are.

    The output carries ``image/png`` and a ``text/html`` ``<img alt=...>`` with the same image,
    so HTML renderings keep the alt text; ``text/plain`` holds the alt text. Raises
    :class:`PlotError` if ``alt`` is empty or the figure has no title (house rule).
    """
    if not isinstance(alt, str) or not alt.strip():
        plt.close(fig)
        raise PlotError(
            "plot.show: alt text is required — pass alt='what the figure shows' so readers using "
            "screen readers get the point of the figure."
        )
    if not _has_title(fig):
        plt.close(fig)
        raise PlotError(
            "plot.show: the figure has no title — set ax.set_title(...) or fig.suptitle(...)."
        )
    if source is not None:
        if not isinstance(source, str) or not source.strip():
            plt.close(fig)
            raise PlotError("plot.show: source must be a non-empty string (see plot.source_line).")
        add_source(fig, source)
    png = figure_to_png(fig)
    plt.close(fig)
    b64 = base64.b64encode(png).decode("ascii")
    alt_clean = " ".join(alt.split())
    if source is not None:
        alt_clean = f"{alt_clean} {source if source.startswith(SOURCE_PREFIX) else SOURCE_PREFIX + source}"
    bundle = {
        "image/png": b64,
        "text/html": (
            f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt_clean, quote=True)}" '
            'style="max-width:100%"/>'
        ),
        "text/plain": f"[figure] {alt_clean}",
    }
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    if get_ipython() is None:
        return
    display(bundle, raw=True)
