"""Command line: ``python -m tradelib <command>``.

Commands: ``fetch`` (download or copy raw files, or ``--archive`` unpack a data archive),
``archive`` (pack the stored raw files into a versioned data archive), ``build`` (parse,
validate, cache), ``vintages`` (list what is available), ``run`` (fetch, build, execute every notebook, render the
site), ``site`` (render the site from executed notebooks), ``student`` (student copies).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys


def positive_float(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds, e.g. 60")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more (1 = a single attempt)")
    return value


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tradelib", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true",
                   help="show the Python traceback of an error (for bug reports)")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fetch", help="download the official files (or copy them from a mirror)")
    f.add_argument("--mirror", help="take files from this mirror folder instead of the internet")
    f.add_argument("--online", action="store_true", help="ignore any mirror; download")
    f.add_argument("--source", action="append", help="only these source ids (repeatable)")
    f.add_argument("--force", action="store_true", help="fetch again even if already stored")
    f.add_argument("--timeout", type=positive_float, default=60.0,
                   help="seconds per request (default 60)")
    f.add_argument("--retries", type=positive_int, default=3,
                   help="attempts per file (default 3)")
    f.add_argument("--allow-unverified-mirror", action="store_true",
                   help="accept a mirror without a valid MANIFEST.csv (files are not checked)")
    f.add_argument("--archive", metavar="URL|PATH|RELEASE",
                   help="unpack a verified data archive (an http(s) URL, a .tar.gz path, or a "
                        "registered release id such as 'latest') instead of fetching per source")

    b = sub.add_parser("build", help="parse, validate and cache every fetched source")
    b.add_argument("--source", action="append", help="only these source ids (repeatable)")
    b.add_argument("--force", action="store_true",
                   help="rebuild the cache even when it looks current")

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
    """Run the command line and return the process exit code.

    Errors tradelib raises on purpose, and operating-system errors (disk full, no permission),
    print one ``error: ...`` message (file, what is wrong, what to do) and exit 2; ``--debug``
    shows the traceback instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere: `fetch --debug` or `--debug fetch`
    args = _build_parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    from tradelib.errors import TradelibError

    if args.debug:
        return _dispatch(args)
    try:
        return _dispatch(args)
    except TradelibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {_os_message(exc)}", file=sys.stderr)
        return 2


def _os_message(exc: OSError) -> str:
    """One line for an operating-system error: the file, what happened, what to do."""
    where = exc.filename or "a file"
    what = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "free disk space and run the command again (nothing half-written was kept)",
        errno.EDQUOT: "free disk space (quota) and run the command again",
        errno.EACCES: "choose a folder you can write to, or fix its permissions",
        errno.EPERM: "choose a folder you can write to, or fix its permissions",
        errno.EROFS: "the file system is read-only; choose another folder",
        errno.ENOENT: "check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EISDIR: "give a file name, not a folder",
    }.get(exc.errno or 0, "check the path and the disk, then run the command again")
    return f"{os.fspath(where)}: {what}; {hint} (--debug shows the traceback)"


def _dispatch(args: argparse.Namespace) -> int:
    """Call the command's implementation."""
    if args.command == "fetch" and getattr(args, "archive", None):
        from tradelib.data import archive

        return archive.cli_fetch_archive(args)
    if args.command == "fetch":
        from tradelib.data import fetch

        return fetch.cli_fetch(args)
    if args.command in ("build", "vintages"):
        from tradelib.data import load

        return load.cli_build(args) if args.command == "build" else load.cli_vintages(args)
    return int(args._module.main(args) or 0)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
