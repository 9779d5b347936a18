"""tradelib: official data and tested helpers for the US–Mexico goods trade balance.

The public data API (see README):

>>> import tradelib as tl
>>> mx = tl.load_trade("Mexico")                 # tidy monthly exports/imports, $ millions
>>> tl.available_vintages()                      # Census trade vintages, e.g. ['2025-04', '2026-10']
>>> fx = tl.load_fred("DEXMXUS")                 # pesos per dollar, monthly mean
"""

from tradelib.data.load import (
    available_vintages,
    build,
    build_all,
    data_vintages,
    load_budgetlab_daily_etr,
    load_budgetlab_monthly,
    load_duties,
    load_fred,
    load_trade,
    load_transborder_hs2_annual,
    load_transborder_sections,
    load_transborder_totals,
    load_usitc,
    partner_code,
    partner_name,
    partners,
    trade_wide,
)
from tradelib.errors import FetchError, MissingDataError, ParseError, TradelibError, ValidationError

__version__ = "0.1.0"

# The package has three layers (see CONTRIBUTING.md): ``tradelib.data`` (sources, fetch, parse,
# validate, cache, load, quality), ``tradelib.analysis`` (transform, events, models, forecast,
# factcheck) and ``tradelib.publish`` (report, plot, timeline, run, site, teach). Notebooks and
# users may keep writing ``from tradelib import events, plot``: the modules are imported lazily
# from their layer the first time they are asked for.
_LAYER = {
    **dict.fromkeys(("sources", "fetch", "parse", "validate", "cache", "load", "quality"), "data"),
    **dict.fromkeys(("transform", "events", "models", "forecast", "factcheck"), "analysis"),
    **dict.fromkeys(("report", "plot", "timeline", "run", "site", "teach", "needs"), "publish"),
}


def __getattr__(name: str):
    """Import ``tradelib.<layer>.<name>`` on first access as ``tradelib.<name>``."""
    layer = _LAYER.get(name)
    if layer is None:
        raise AttributeError(f"module 'tradelib' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"tradelib.{layer}.{name}")
    globals()[name] = module
    return module

__all__ = [
    "FetchError", "MissingDataError", "ParseError", "TradelibError", "ValidationError",
    "available_vintages", "build", "build_all", "data_vintages", "load_budgetlab_daily_etr",
    "load_budgetlab_monthly", "load_duties", "load_fred", "load_trade",
    "load_transborder_hs2_annual", "load_transborder_sections", "load_transborder_totals",
    "load_usitc", "partner_code", "partner_name", "partners", "trade_wide",
]
