"""A mirror with only what an online user without a key can download (for the slow tests).

Online, with no mirror and no data archive, a user gets the current vintage of every source
that has a download URL and nothing else: no Census calculated duties without
``CENSUS_API_KEY``, no USITC DataWeb or Budget Lab tracker files (no download URL), and no old
vintage (``census-country`` 2025-04; ``census-ctyseasonal``, whose only mirrored vintage is
2025-04). :func:`make_partial_mirror` lays out such a mirror from the real one: symbolic links to
the kept files and a ``MANIFEST.csv`` with their rows only. The real mirror is never written.

Also a command, for trying notebooks by hand::

    python tests/partial_mirror.py ../shared/data/mirror /tmp/online-like
    TRADELIB_DATA=/tmp/online-data python -m tradelib run --mirror /tmp/online-like --out /tmp/o
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: What an online user without CENSUS_API_KEY cannot download: whole sources, and source vintages.
ONLINE_ABSENT_SOURCES = ("census-duties", "usitc-dataweb", "yale-tracker", "yale-etr-partner",
                         "census-ctyseasonal")
ONLINE_ABSENT_VINTAGES = (("census-country", "2025-04"),)


def dropped_paths(mirror: Path, sources=ONLINE_ABSENT_SOURCES,
                  vintages=ONLINE_ABSENT_VINTAGES) -> set[str]:
    """Mirror-relative paths of the files of ``sources`` (every vintage) and ``vintages``."""
    from tradelib.data.fetch import mirror_vintages
    from tradelib.data.sources import get_source

    out: set[str] = set()
    pairs = [(sid, v) for sid in sources for v in mirror_vintages(get_source(sid), mirror)]
    for sid, vintage in [*pairs, *vintages]:
        src = get_source(sid)
        out |= {f"{src.mirror_subdir}/{vintage}/{f.name}" for f in src.files}
    return out


def make_partial_mirror(mirror: Path, dest: Path, sources=ONLINE_ABSENT_SOURCES,
                        vintages=ONLINE_ABSENT_VINTAGES) -> Path:
    """Lay out ``dest`` (new or empty) as ``mirror`` without ``sources`` and ``vintages``."""
    mirror, dest = Path(mirror).resolve(), Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest}: not empty; give a new or empty folder (nothing in it is "
                              "replaced)")
    drop = dropped_paths(mirror, sources, vintages)
    with open(mirror / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    kept = [r for r in rows if r["path"].strip() not in drop]
    if len(kept) == len(rows):
        raise ValueError(f"{mirror}: nothing matched the sources to drop; is it the real mirror?")
    for row in kept:
        rel = row["path"].strip()
        link = dest / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(mirror / rel)
    with open(dest / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tests/partial_mirror.py MIRROR DEST")
    print(make_partial_mirror(Path(sys.argv[1]), Path(sys.argv[2])))
