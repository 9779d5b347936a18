"""Command line: ``python -m tradelib <command>``.

Commands: ``fetch`` (download or copy raw files, or ``--archive`` unpack a data archive),
``archive`` (pack the stored raw files into a versioned data archive), ``build`` (parse,
validate, cache), ``vintages`` (list what is available), ``run`` (fetch, build, execute every notebook, render the
site), ``site`` (render the site from executed notebooks), ``student`` (student copies).
"""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tradelib", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fetch", help="download the official files (or copy them from a mirror)")
    f.add_argument("--mirror", help="take files from this mirror folder instead of the internet")
    f.add_argument("--online", action="store_true", help="ignore any mirror; download")
    f.add_argument("--source", action="append", help="only these source ids (repeatable)")
    f.add_argument("--force", action="store_true", help="fetch again even if already stored")
    f.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    f.add_argument("--retries", type=int, default=3, help="attempts per file (default 3)")
    f.add_argument("--archive", metavar="URL|PATH|RELEASE",
                   help="unpack a verified data archive (an http(s) URL, a .tar.gz path, or a "
                        "registered release id such as 'latest') instead of fetching per source")

    b = sub.add_parser("build", help="parse, validate and cache every fetched source")
    b.add_argument("--source", action="append", help="only these source ids (repeatable)")

    sub.add_parser("vintages", help="list the vintages available for each source")

    from tradelib.data import archive

    a = sub.add_parser("archive", help="pack the stored raw files into a versioned data archive")
    archive.add_arguments(a)
    a.set_defaults(_module=archive)

    for name, module in (("run", "tradelib.publish.run"), ("site", "tradelib.publish.site"),
                         ("student", "tradelib.publish.teach")):
        try:
            mod = __import__(module, fromlist=["add_arguments"])
        except ImportError:
            continue
        sp = sub.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        mod.add_arguments(sp)
        sp.set_defaults(_module=mod)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    args = _build_parser().parse_args(argv)
    from tradelib.errors import TradelibError

    try:
        if args.command == "fetch" and getattr(args, "archive", None):
            from tradelib.data import archive

            return archive.cli_fetch_archive(args)
        if args.command == "fetch":
            from tradelib.data import fetch

            return fetch.cli_fetch(args)
        if args.command == "build":
            from tradelib.data import load

            return load.cli_build(args)
        if args.command == "vintages":
            from tradelib.data import load

            return load.cli_vintages(args)
        return int(args._module.main(args) or 0)
    except TradelibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
