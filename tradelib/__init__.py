"""tradelib: official data and tested helpers for the US–Mexico goods trade balance.

The public data API (see README):

>>> import tradelib as tl
>>> mx = tl.load_trade("Mexico")                 # tidy monthly exports/imports, $ millions
>>> tl.available_vintages()                      # Census trade vintages, e.g. ['2025-04', '2026-10']
>>> fx = tl.load_fred("DEXMXUS")                 # pesos per dollar, monthly mean
"""

from tradelib.errors import FetchError, MissingDataError, ParseError, TradelibError, ValidationError
from tradelib.load import (
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

__version__ = "0.1.0"

__all__ = [
    "FetchError", "MissingDataError", "ParseError", "TradelibError", "ValidationError",
    "available_vintages", "build", "build_all", "data_vintages", "load_budgetlab_daily_etr",
    "load_budgetlab_monthly", "load_duties", "load_fred", "load_trade",
    "load_transborder_hs2_annual", "load_transborder_sections", "load_transborder_totals",
    "load_usitc", "partner_code", "partner_name", "partners", "trade_wide",
]
