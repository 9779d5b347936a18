"""The registry of data sources: one entry per publisher dataset.

Each :class:`Source` says who publishes the data, where the official file lives, which files it
consists of, how each file is parsed and how to cite it. The offline mirror uses the same source
ids and lays files out as ``<mirror_subdir>/<vintage>/<file name>`` (see the mirror's README).

Download URLs
-------------
Census and FRED files are downloaded from the publishers' own URLs. The BTS TransBorder,
USITC DataWeb and Yale Budget Lab items are extracts: BTS and DataWeb offer query interfaces, not
stable file URLs, so their files are taken from the repositories named in ``origin`` (the Yale
Budget Lab publishes its own repositories). Files marked ``url=None`` are available from a mirror
only; ``tradelib fetch --online`` says so and points to the landing page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from tradelib.errors import TradelibError


@dataclass(frozen=True)
class SourceFile:
    """One file of a source."""

    name: str
    """File name, identical in the mirror and in ``data/raw``."""
    url: str | None
    """Download URL (``{key}`` is replaced by the Census API key), or None for mirror-only files."""
    parser: str
    """Name of the function in :mod:`tradelib.parse` that reads this layout."""
    table: str
    """Short name of the parsed table (used for the cache file)."""


@dataclass(frozen=True)
class Source:
    """A dataset from one publisher."""

    id: str
    publisher: str
    title: str
    landing_url: str
    mirror_subdir: str
    files: tuple[SourceFile, ...]
    citation: str
    needs_key: str | None = None
    notes: str = ""
    units: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def file(self, table: str) -> SourceFile:
        """The file that holds ``table``."""
        for f in self.files:
            if f.table == table:
                return f
        raise TradelibError(
            f"source {self.id!r} has no table {table!r}; tables: {[f.table for f in self.files]}"
        )


_FRED_URL: Final = "https://fred.stlouisfed.org/graph/fredgraph.csv?id={series}"
_FRED_SERIES: Final = {
    "DEXMXUS": ("Mexican pesos to one U.S. dollar, noon buying rates in New York (H.10), daily",
                "Board of Governors of the Federal Reserve System (US)"),
    "INDPRO": ("Industrial production: total index, 2017=100, seasonally adjusted (G.17)",
               "Board of Governors of the Federal Reserve System (US)"),
    "CPIAUCSL": ("Consumer price index for all urban consumers: all items, 1982-84=100, SA",
                 "U.S. Bureau of Labor Statistics"),
    "PCEC96": ("Real personal consumption expenditures, billions of chained 2017 dollars, SAAR",
               "U.S. Bureau of Economic Analysis"),
    "IMPMX": ("U.S. imports of goods by customs basis from Mexico, millions of dollars, NSA",
              "U.S. Census Bureau"),
}


def _fred(series: str) -> Source:
    title, publisher = _FRED_SERIES[series]
    return Source(
        id=f"fred-{series}",
        publisher=f"{publisher}, via FRED, Federal Reserve Bank of St. Louis",
        title=title,
        landing_url=f"https://fred.stlouisfed.org/series/{series}",
        mirror_subdir="fred",
        files=(SourceFile(f"{series}.csv", _FRED_URL.format(series=series), "parse_fred", "series"),),
        citation=(f"{publisher}, {title} [{series}], retrieved from FRED, Federal Reserve Bank "
                  f"of St. Louis; https://fred.stlouisfed.org/series/{series}"),
        units=title,
        tags=("fred",),
    )


_BTS_RAW: Final = ("https://raw.githubusercontent.com/unt-clscm/BTS-TransBorder-Dashboard/"
                   "{commit}/03-Processed-Data/csv/{name}")
_YALE_RAW: Final = "https://raw.githubusercontent.com/Budget-Lab-Yale/{repo}/{commit}/{path}"

SOURCES: Final[dict[str, Source]] = {
    s.id: s
    for s in [
        Source(
            id="census-country",
            publisher="U.S. Census Bureau, Foreign Trade Division",
            title="U.S. trade in goods by country (exports, general imports), monthly, NSA",
            landing_url="https://www.census.gov/foreign-trade/balance/index.html",
            mirror_subdir="census/country",
            files=(SourceFile("country.xlsx",
                              "https://www.census.gov/foreign-trade/balance/country.xlsx",
                              "parse_census_country", "trade"),),
            citation=("U.S. Census Bureau, U.S. International Trade in Goods and Services "
                      "(FT-900), trade in goods by country, country.xlsx; "
                      "https://www.census.gov/foreign-trade/balance/"),
            units="millions of U.S. dollars; exports f.a.s., general imports customs value",
            notes="Census writes 0 for months not yet published; annual revisions every June.",
            tags=("census", "trade"),
        ),
        Source(
            id="census-ctyseasonal",
            publisher="U.S. Census Bureau, Foreign Trade Division",
            title="U.S. trade in goods by selected countries and areas, seasonally adjusted",
            landing_url="https://www.census.gov/foreign-trade/statistics/country/index.html",
            mirror_subdir="census/ctyseasonal",
            files=(SourceFile("ctyseasonal.xlsx",
                              "https://www.census.gov/foreign-trade/statistics/country/"
                              "ctyseasonal.xlsx",
                              "parse_census_ctyseasonal", "trade_sa"),),
            citation=("U.S. Census Bureau, U.S. trade in goods by selected countries and areas, "
                      "seasonally adjusted, ctyseasonal.xlsx"),
            units="U.S. dollars (converted to millions by tradelib)",
            tags=("census", "trade"),
        ),
        Source(
            id="census-duties",
            publisher="U.S. Census Bureau (International Trade API)",
            title="Calculated duties and imports for consumption from Mexico, monthly",
            landing_url="https://www.census.gov/data/developers/data-sets/international-trade.html",
            mirror_subdir="census/duties",
            files=(SourceFile(
                "mexico_calculated_duties_monthly.csv",
                "https://api.census.gov/data/timeseries/intltrade/imports/hs"
                "?get=CTY_CODE,CAL_DUT_MO,CON_VAL_MO&CTY_CODE=2010&time=from+2010-01&key={key}",
                "parse_census_duties", "duties"),),
            citation=("U.S. Census Bureau, International Trade API, imports by HS "
                      "(CAL_DUT_MO, CON_VAL_MO) for CTY_CODE 2010; 2007-2009 from USITC DataWeb"),
            needs_key="CENSUS_API_KEY",
            units="U.S. dollars",
            notes=("Calculated duties are Census estimates at entry, not Treasury receipts; the "
                   "denominator is imports for consumption. The API starts in 2010-01."),
            tags=("census", "duties"),
        ),
        *[_fred(s) for s in _FRED_SERIES],
        Source(
            id="bts-transborder",
            publisher="U.S. Bureau of Transportation Statistics (North American TransBorder "
                      "Freight Data; values from U.S. Census Bureau trade statistics)",
            title="TransBorder freight: Mexico by HS section (monthly), US-Mexico/Canada totals "
                  "(monthly) and HS2 chapters (annual), by mode",
            landing_url="https://www.bts.gov/transborder",
            mirror_subdir="bts/transborder",
            files=(
                SourceFile("bts_transborder_mexico_section_monthly_by_mode_2007_2025.csv",
                           _BTS_RAW.format(commit="816d82b018bffd6cb790e8f7bc4c4df46b1e5756",
                                           name="monthly_commodity_trends.csv"),
                           "parse_bts_sections", "sections"),
                SourceFile("bts_transborder_monthly_by_country_mode_1993_2025.csv",
                           _BTS_RAW.format(commit="7d83337048390e11fa01d4800ccde9e231f653ff",
                                           name="monthly_trends.csv"),
                           "parse_bts_totals", "totals"),
                SourceFile("bts_transborder_hs2_annual_by_mode_2007_2025.csv",
                           _BTS_RAW.format(commit="564707eb57ad5ac03f13fc0f8dd85e7e74fc1973",
                                           name="commodity_detail.csv"),
                           "parse_bts_hs2_annual", "hs2_annual"),
            ),
            citation=("U.S. Department of Transportation, Bureau of Transportation Statistics, "
                      "North American TransBorder Freight Data; processed extract by the UNT "
                      "BTS-TransBorder-Dashboard project"),
            units="U.S. dollars",
            notes=("Before 2003-11 the monthly totals cover surface modes only. BTS keeps the "
                   "Census vintage of its processing date."),
            tags=("bts",),
        ),
        Source(
            id="usitc-dataweb",
            publisher="U.S. International Trade Commission (DataWeb)",
            title="Imports for consumption from Mexico and Canada by HS2 / HS4 with USMCA-claimed "
                  "value, monthly",
            landing_url="https://dataweb.usitc.gov",
            mirror_subdir="usitc/dataweb",
            files=(
                SourceFile("usitc_dataweb_imports_hs2_monthly_mexico_canada_2025-01_2026-02.csv",
                           None, "parse_usitc", "hs2"),
                SourceFile("usitc_dataweb_imports_hs4_monthly_mexico_canada_2025-01_2026-02.csv",
                           None, "parse_usitc", "hs4"),
            ),
            citation=("U.S. International Trade Commission, DataWeb, imports for consumption by "
                      "HTS and rate provision (USMCA program indicators S, S+); sums compiled by "
                      "the Budget Lab at Yale tariff-rate-tracker"),
            units="U.S. dollars",
            notes="DataWeb has a query interface and API behind a login, not stable file URLs.",
            tags=("usitc",),
        ),
        Source(
            id="yale-budget-lab",
            publisher="The Budget Lab at Yale",
            title="Customs duties, goods imports and effective tariff rate (monthly); daily "
                  "statutory effective tariff rate",
            landing_url="https://budgetlab.yale.edu",
            mirror_subdir="yale-budget-lab",
            files=(
                SourceFile("budgetlab_customs_duties_imports_effective_rate_monthly_1982-01_"
                           "2026-03.csv",
                           _YALE_RAW.format(repo="tariff-etr-eval",
                                            commit="5c53e393348aa73e8f1b11da9608c3603945a13a",
                                            path="resources/treasury_revenue.csv"),
                           "parse_budgetlab_monthly", "monthly"),
                SourceFile("budgetlab_daily_statutory_etr_2025-01-01_2026.csv",
                           _YALE_RAW.format(repo="tariff-impact-tracker",
                                            commit="0911eb116dca88d3845bc524aeb40b06a7e9e2f6",
                                            path="website/csv/F1_daily_etr.csv"),
                           "parse_budgetlab_daily", "daily_etr"),
            ),
            citation="The Budget Lab at Yale, State of U.S. Tariffs and Tariff Rate Tracker",
            units="millions of U.S. dollars; percent; fraction",
            notes=("Monthly customs duties are Treasury cash receipts (all partners); the daily "
                   "statutory rate is a model result."),
            tags=("yale",),
        ),
        Source(
            id="yale-tracker",
            publisher="The Budget Lab at Yale (Tariff Rate Tracker, MIT licence), from U.S. "
                      "International Trade Commission DataWeb, presidential proclamations, the "
                      "HTSUS and BEA input-output tables",
            title="Imports for consumption and USMCA-claimed value by HTS10 (Mexico, Canada), "
                  "monthly; Section 232 product lists; metal-content shares by HTS10",
            landing_url="https://github.com/Budget-Lab-Yale/tariff-rate-tracker",
            mirror_subdir="yale-budget-lab",
            files=(
                *[SourceFile(f"usmca_product_shares_{y}_{m:02d}.csv", None,
                             "parse_usmca_shares", f"usmca_{y}_{m:02d}")
                  for y, m in [(2025, k) for k in range(1, 13)] + [(2026, 1), (2026, 2)]],
                SourceFile("s232_annex_products.csv", None, "parse_s232_annex", "s232_annex"),
                SourceFile("s232_derivative_products.csv", None, "parse_s232_derivatives",
                           "s232_derivatives"),
                SourceFile("s232_copper_products.csv", None, "parse_s232_copper", "s232_copper"),
                SourceFile("s232_auto_parts.txt", None, "parse_hts_list", "s232_auto_parts"),
                SourceFile("s232_mhd_parts.txt", None, "parse_hts_list", "s232_mhd_parts"),
                SourceFile("metal_content_shares_bea_hs10.csv", None, "parse_metal_shares",
                           "metal_shares"),
            ),
            citation=("The Budget Lab at Yale, Tariff Rate Tracker, resources/ (USMCA product "
                      "shares from USITC DataWeb; Section 232 product lists compiled from the "
                      "proclamations; metal-content shares from BEA input-output tables)"),
            units="U.S. dollars; fractions",
            notes=("Third-party compilations: check single codes against the proclamations. "
                   "2026 USMCA files list only products with trade."),
            tags=("yale", "usitc"),
        ),
        Source(
            id="yale-etr-partner",
            publisher="The Budget Lab at Yale (Tariff Rate Tracker); etr_tpc: Tax Policy Center",
            title="Statutory import-weighted tariff rate by partner at five 2025 policy snapshots",
            landing_url="https://github.com/Budget-Lab-Yale/tariff-rate-tracker",
            mirror_subdir="yale-budget-lab",
            files=(SourceFile("etr_by_partner.csv", None, "parse_etr_by_partner",
                              "etr_by_partner"),),
            citation=("The Budget Lab at Yale, Tariff Rate Tracker, output/etr/etr_by_partner.csv "
                      "(with the Tax Policy Center's comparable estimate)"),
            units="percent (converted from fractions by tradelib)",
            notes="A model of the tariff schedule (statutory), not duties collected.",
            tags=("yale",),
        ),
    ]
}


# --------------------------------------------------------------------------- data releases

@dataclass(frozen=True)
class ReleaseFile:
    """One raw file of a data release, pinned by sha256."""

    source_id: str
    vintage: str
    file: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DataRelease:
    """A versioned data archive (:mod:`tradelib.data.archive`): the raw files of every source
    vintage the notebooks were executed with, published because publishers overwrite old
    vintages. Registered in ``tradelib/resources/data_releases.json`` (ships with the package)."""

    release: str
    archive: str
    url: str
    files: tuple[ReleaseFile, ...]

    def vintages(self) -> dict[str, list[str]]:
        """``{source_id: [vintages]}`` held by the release."""
        out: dict[str, set[str]] = {}
        for f in self.files:
            out.setdefault(f.source_id, set()).add(f.vintage)
        return {k: sorted(v) for k, v in sorted(out.items())}


def data_releases() -> dict[str, DataRelease]:
    """The registered data releases by id (e.g. ``"2026-10"``), from the package's resources."""
    import json

    from tradelib import config

    path = config.authored_dir() / "data_releases.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise TradelibError(f"{path}: not valid JSON ({exc}); restore it with git checkout "
                            "or re-register the release (`python -m tradelib archive "
                            "--register URL`).") from exc
    return {
        r["release"]: DataRelease(r["release"], r["archive"], r["url"],
                                  tuple(ReleaseFile(**f) for f in r["files"]))
        for r in payload.get("releases", [])
    }


def get_source(source_id: str) -> Source:
    """Look up a source by id, with a helpful error listing the known ids."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise TradelibError(
            f"unknown source {source_id!r}; known sources: {', '.join(sorted(SOURCES))}"
        ) from None


def fred_source_id(series: str) -> str:
    """The source id of a FRED series (``"INDPRO"`` -> ``"fred-INDPRO"``)."""
    sid = f"fred-{series.upper()}"
    get_source(sid)
    return sid
