"""Loaders: cache, vintages, partner resolution (tiny mirror) and the real offline mirror."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from conftest import tiny_country_rows, write_mirror_manifest, write_xlsx

import tradelib as tl
from tradelib import config
from tradelib.data import cache
from tradelib.errors import TradelibError

# --------------------------------------------------------------------------- tiny mirror

def test_load_trade_from_tiny_mirror(tiny_mirror):
    df = tl.load_trade("Mexico")
    assert df.attrs["vintage"] == "2026-01" and df.attrs["source"] == "census-country"
    assert set(df["partner_code"]) == {"2010"}
    assert df["date"].max() == pd.Timestamp("2025-02-01")
    assert df["value_musd"].isna().sum() == 1  # the empty March-2024 cell


def test_partner_resolution(tiny_mirror):
    assert tl.partner_code("mexico") == "2010"
    assert tl.partner_code(2010) == "2010" and tl.partner_code("15") == "0015"
    assert tl.partner_code("World") == "0015"
    assert tl.partner_name("2010") == "Mexico"
    with pytest.raises(TradelibError, match="did you mean.*mexico"):
        tl.partner_code("Mexcio")
    with pytest.raises(TradelibError, match="not in the NSA trade data"):
        tl.partner_code(1220)


def test_edited_raw_file_is_refused_then_refetched(tiny_mirror, capsys):
    """Issue 11 item 4: a raw file that differs from its manifest checksum is never served."""
    from tradelib import cli

    first = tl.load_trade("Mexico")
    meta1 = cache.read_meta("census-country", "2026-01")
    raw = config.raw_dir() / "census-country" / "2026-01" / "country.xlsx"
    rows = tiny_country_rows()
    rows[2][3] = 99.0  # Mexico IJAN 2024
    rows[2][15] += 99.0 - 40.0  # keep IYR consistent
    write_xlsx(raw, rows)  # edited by hand in data/raw
    with pytest.raises(tl.TradelibError, match=r"(?s)2026-01/country\.xlsx: sha256 .* differs "
                                               r"from .* recorded in .*MANIFEST\.csv.*--force"):
        tl.load_trade("Mexico")
    assert cli.main(["build"]) == 2
    assert "country.xlsx: sha256" in capsys.readouterr().err
    # the publisher's (mirror's) file changes; fetch --force brings it in and records it
    write_xlsx(tiny_mirror / "census" / "country" / "2026-01" / "country.xlsx", rows)
    write_mirror_manifest(tiny_mirror)
    assert cli.main(["fetch", "--source", "census-country", "--force"]) == 0
    second = tl.load_trade("Mexico")
    meta2 = cache.read_meta("census-country", "2026-01")
    assert meta1["raw_sha256"] != meta2["raw_sha256"]
    pick = (lambda d: d.loc[(d["flow"] == "imports")
                            & (d["date"] == pd.Timestamp("2024-01-01")), "value_musd"].iloc[0])
    assert pick(first) == 40.0 and pick(second) == 99.0


def test_swapped_or_damaged_parquet_is_rebuilt(tiny_mirror, capsys):
    """Issue 11 items 4 and 9: a parquet that is not the one written is never served."""
    from tradelib import cli

    write_xlsx(tiny_mirror / "census" / "country" / "2026-02" / "country.xlsx",
               [r for r in tiny_country_rows() if r[1] == 2010])  # Mexico only
    write_mirror_manifest(tiny_mirror)
    tl.load_trade(vintage="2026-01")
    tl.load_trade(vintage="2026-02")
    p1 = cache.folder("census-country", "2026-01") / "trade.parquet"
    p2 = cache.folder("census-country", "2026-02") / "trade.parquet"
    p1.write_bytes(p2.read_bytes())  # the 2026-02 table swapped in under 2026-01
    df = tl.load_trade(vintage="2026-01")
    assert set(df["partner_code"]) == {"0015", "2010"} and set(df["vintage"]) == {"2026-01"}
    p1.write_bytes(p1.read_bytes()[:100])  # damaged
    assert cli.main(["build"]) == 0  # repairs it
    assert len(tl.load_trade(vintage="2026-01")) == len(df)
    before = cache.read_meta("census-country", "2026-01")["built_at"]
    assert cli.main(["build", "--source", "census-country", "--force"]) == 0
    assert cache.read_meta("census-country", "2026-01")["table_sha256"]
    assert before <= cache.read_meta("census-country", "2026-01")["built_at"]


def test_partner_arguments_are_checked(tiny_mirror):
    """Issue 11 item 10: empty lists and float codes get a message, not a traceback."""
    with pytest.raises(TradelibError, match=r"partners=\[\] selects no partner"):
        tl.load_trade(partners=[])
    with pytest.raises(TradelibError, match=r"2010\.0 \(float\).*not a float"):
        tl.load_trade(2010.0)
    with pytest.raises(TradelibError, match="give None"):
        tl.load_trade(partners=object())


def test_warm_load_reads_cache_not_raw(tiny_mirror, monkeypatch):
    tl.load_trade("Mexico")
    from tradelib.data import parse

    def boom(*a, **k):
        raise AssertionError("parser called on a warm load")

    monkeypatch.setattr(parse, "parse_census_country", boom)
    assert len(tl.load_trade("Mexico")) > 0


def test_fred_daily_to_monthly_mean(tiny_mirror):
    s = tl.load_fred("DEXMXUS")
    assert s.index.freqstr == "MS"
    assert s.loc["2025-12-01"] == pytest.approx(18.0)      # the holiday is skipped, not zero
    assert s.loc["2026-01-01"] == pytest.approx(18.0)      # mean of 17 and 19
    assert s.attrs["observations_per_month"].loc["2025-12-01"] == 1
    m = tl.load_fred("INDPRO")
    assert m.isna().sum() == 1 and m.attrs["frequency"] == "monthly"


def test_unknown_vintage(tiny_mirror):
    with pytest.raises(TradelibError, match=r"vintage '1999-01' is not available.*2026-01"):
        tl.load_trade("Mexico", vintage="1999-01")


def test_bad_adjustment(tiny_mirror):
    with pytest.raises(TradelibError, match="'nsa' or 'sa'"):
        tl.load_trade("Mexico", adjustment="x13")


def test_build_stops_on_invalid_raw_file(tiny_mirror):
    rows = tiny_country_rows()
    rows.append(list(rows[2]))  # a duplicated Mexico 2024 row
    write_xlsx(tiny_mirror / "census" / "country" / "2026-02" / "country.xlsx", rows)
    write_mirror_manifest(tiny_mirror)
    with pytest.raises(tl.ValidationError, match=r"(?s)2026-02/country\.xlsx.*duplicated"):
        tl.load_trade("Mexico", vintage="2026-02")
    assert cache.read_meta("census-country", "2026-02") is None


# --------------------------------------------------------------------------- real mirror

@pytest.mark.mirror
def test_real_vintages(mirror_data):
    assert tl.available_vintages() == ["2025-04", "2026-10"]
    assert tl.available_vintages("census-ctyseasonal") == ["2025-04"]


@pytest.mark.mirror
def test_real_mexico_2024_balance_by_vintage(mirror_data):
    def bal(v):
        w = tl.trade_wide("Mexico", vintage=v)
        return w.loc[w["date"].dt.year == 2024, "balance"].sum()

    # values published in the two files' own annual columns (EYR - IYR)
    assert bal("2025-04") == pytest.approx(334041.359045 - 505850.598583, abs=0.01)
    assert bal("latest") == pytest.approx(-168618.1, abs=0.05)


@pytest.mark.mirror
def test_real_latest_has_2026_and_no_placeholder_zeros(mirror_data):
    df = tl.load_trade("Mexico")
    assert df.attrs["vintage"] == "2026-10" and df.attrs["last_published"] == "2026-08"
    assert df["date"].max() == pd.Timestamp("2026-08-01")
    assert (df["value_musd"] > 0).all()
    old = tl.load_trade("Mexico", vintage="2025-04")
    assert old["date"].max() == pd.Timestamp("2025-02-01")


@pytest.mark.mirror
def test_real_codes_keep_leading_zeros(mirror_data):
    codes = set(tl.partners("2025-04")["partner_code"])
    assert {"0003", "0015", "2010", "1220", "5700"} <= codes
    assert all(len(c) == 4 for c in codes)


@pytest.mark.mirror
def test_real_sa_in_millions(mirror_data):
    sa = tl.trade_wide("Mexico", adjustment="sa")
    jan = sa.loc[sa["date"] == pd.Timestamp("2025-01-01"), "balance"].iloc[0]
    assert jan == pytest.approx(-15468.7, abs=0.1)


@pytest.mark.mirror
def test_real_other_sources(mirror_data):
    d = tl.load_duties()
    assert d["date"].min() == pd.Timestamp("2007-01-01") and (d["partner_code"] == "2010").all()
    assert d["effective_rate"].between(0, 0.2).all()
    fx = tl.load_fred("DEXMXUS")
    assert fx.index.min() == pd.Timestamp("1993-11-01") and fx.notna().all()
    assert tl.load_fred("CPIAUCSL").loc["2025-10-01"] != tl.load_fred("CPIAUCSL").loc[
        "2025-10-01"]  # October 2025 was not published: NaN
    sec = tl.load_transborder_sections()
    assert sec["section"].nunique() == 22
    tot = tl.load_transborder_totals()
    assert tot.loc[tot["date"] < pd.Timestamp("2003-11-01"), "surface_only"].all()
    assert set(tl.load_usitc("hs4")["hs"].str.len()) == {4}
    assert tl.load_budgetlab_monthly()["date"].max() == pd.Timestamp("2026-03-01")
    assert tl.load_budgetlab_daily_etr()["statutory_etr"].between(0, 1).all()


@pytest.mark.mirror
def test_real_bts_sections_equal_published_totals(mirror_data, real_mirror):
    """Our sum over modes equals the totals file BTS's extract ships beside it."""
    sec = tl.load_transborder_sections()
    ref = pd.read_csv(real_mirror / "bts/transborder/2026-01/"
                      "bts_transborder_mexico_section_monthly_totals_2007_2025.csv")
    ours = sec.groupby(sec["date"].dt.year)["imports_usd"].sum()
    theirs = ref.groupby("Year")["us_imports_from_mexico_usd"].sum()
    assert (ours.values == pytest.approx(theirs.values, rel=1e-9))


@pytest.mark.mirror
def test_real_warm_load_is_fast(mirror_data):
    tl.load_trade()
    t = time.perf_counter()
    tl.load_trade()
    assert time.perf_counter() - t < 0.5  # generous bound for a shared CI machine


def test_optional_source_returns_note_instead_of_failing():
    import pandas as pd

    from tradelib.data.load import optional_source
    from tradelib.errors import MissingDataError, ParseError

    def absent():
        raise MissingDataError("census-duties: not in data/raw or the mirror /x; set CENSUS_API_KEY")

    table, note = optional_source(absent)
    assert table is None and "census-duties" in note and "CENSUS_API_KEY" in note
    ok, none = optional_source(lambda: pd.DataFrame({"a": [1]}))
    assert none is None and len(ok) == 1

    def broken():
        raise ParseError("bad cell")

    with pytest.raises(ParseError):
        optional_source(broken)
