"""Benchmark of the data layer: ``python -m tradelib.bench``.

Measures, in one run, on the newest ``country.xlsx`` vintage that holds every partner:

* cold: parse ``country.xlsx`` to the tidy table and validate it (what a first load costs);
* warm: ``load_trade()`` (every partner) and ``load_trade("Mexico")`` from the parquet cache,
  including the checksum test of the raw file and the load-time validation;

and prints the medians and the cold/warm ratio. Targets on a 2-core machine: warm load under
0.1 s and at least 20 times faster than the cold parse.
"""

from __future__ import annotations

import argparse
import statistics
import time

import tradelib as tl
from tradelib.data import parse, validate
from tradelib.data.fetch import ensure_raw


def _time(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vintage", default="2025-04", help="country.xlsx vintage (all partners)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    vintage, folder = ensure_raw("census-country", args.vintage)
    path = folder / "country.xlsx"

    def cold() -> None:
        validate.validate_trade(parse.parse_census_country(path, vintage)["trade"], path)

    tl.load_trade(vintage=vintage)  # make sure the cache exists
    cold_s = _time(cold, max(1, args.repeat // 2))
    warm_all = _time(lambda: tl.load_trade(vintage=vintage), args.repeat)
    warm_mx = _time(lambda: tl.load_trade("Mexico", vintage=vintage), args.repeat)
    rows = len(tl.load_trade(vintage=vintage))
    print(f"country.xlsx vintage {vintage}: {rows:,} tidy rows")
    print(f"  cold parse + validate         {cold_s:8.3f} s")
    print(f"  warm load_trade() (all)       {warm_all:8.3f} s   {cold_s / warm_all:6.1f}x faster")
    print(f"  warm load_trade('Mexico')     {warm_mx:8.3f} s   {cold_s / warm_mx:6.1f}x faster")
    ok = warm_all < 0.1 and cold_s / warm_all >= 20
    print("targets (warm < 0.1 s and >= 20x):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
