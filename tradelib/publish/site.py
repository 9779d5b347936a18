"""The static, offline site: a Jupyter Book of the executed notebooks (``python -m tradelib site``).

The book is built by :mod:`tradelib.publish.book` (Jupyter Book 1: search, sidebar and in-page
contents, download and launch buttons, dark mode, numbered equations, sphinx-exercise exercises,
a findings page, a references page from ``tradelib/resources/book/references.bib``, a data-vintage and
run-provenance page). This module is the command and the checks of a built site:

* :func:`audit_site` loads every page in headless Chromium (Debian's ``chromium``) at a desktop
  and a 390-px phone width and reports horizontal overflow, images without alt text, internal
  links (and anchors) that do not resolve, and anything loaded from the internet;
* :func:`search_hits` runs the book's own search page for a term.

The repository URL and the launch links live in :mod:`tradelib.publish.links` (re-exported here
for older imports).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from tradelib.publish.book import QUESTION, SUMMARY_FILE, BookError, BookResult, build_book
from tradelib.publish.links import (  # noqa: F401 - re-exported: the old home of these names
    BINDER_BADGE_SVG,
    BRANCH,
    COLAB_BADGE_SVG,
    REPO_URL,
    badges_markdown,
    binder_url,
    colab_install_cell,
    colab_url,
    notebook_repo_path,
    pip_install_spec,
    readme_badges_markdown,
    repo_slug,
)

__all__ = [
    "QUESTION",
    "SUMMARY_FILE",
    "BookResult",
    "SiteError",
    "audit_site",
    "build_site",
    "search_hits",
]

SiteError = BookError
"""The site cannot be built or checked (an alias of :class:`tradelib.publish.book.BookError`)."""

DESKTOP = (1280, 900)
PHONE = (390, 844)
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def build_site(
    executed_dir: str | Path,
    out_dir: str | Path,
    *,
    partner: str = "Mexico",
    manifest: str | Path | None = None,
) -> BookResult:
    """Build the book of the executed notebooks in ``executed_dir`` into ``out_dir``."""
    return build_book(executed_dir, out_dir, partner=partner, manifest=manifest)


# --------------------------------------------------------------------------------------------
# Headless Chromium
# --------------------------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """Path of a Chromium-family browser on PATH, or ``None``."""
    import shutil

    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium(browser: str, args: list[str], url: str, timeout: float) -> str:
    """Run headless Chromium offline on ``url`` with ``args``; returns stdout."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tradelib-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
            url,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SiteError(f"{url}: {browser} did not finish within {timeout} s") from exc
    if proc.returncode != 0:
        raise SiteError(
            f"{url}: {browser} failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        )
    return proc.stdout


_MEASURE = """<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var d = document.documentElement, w = d.clientWidth, wide = [];
    document.querySelectorAll("body *").forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > w + 1 && wide.length < 5) {
        var p = el, clipped = false;
        while ((p = p.parentElement) && p !== document.body) {
          var o = getComputedStyle(p).overflowX;
          if (o === "auto" || o === "scroll" || o === "hidden") { clipped = true; break; }
        }
        if (!clipped) wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (el.className && el.className.baseVal === undefined ? "." + el.className.split(" ")[0] : ""));
      }
    });
    document.body.setAttribute("data-tl-overflow", String(d.scrollWidth - w));
    document.body.setAttribute("data-tl-wide", wide.join(" "));
  }, 500);
});
</script>"""


def headless_dom(
    page: Path,
    browser: str,
    width: tuple[int, int] = DESKTOP,
    timeout: float = 90.0,
    measure: bool = False,
) -> str:
    """The DOM of ``page`` after headless Chromium loaded it at ``width`` (``--dump-dom``).

    With ``measure`` a copy of the page with a small script is loaded instead; the script writes
    the horizontal overflow in pixels (``data-tl-overflow``) and the widest elements not inside
    a scrolling box (``data-tl-wide``) onto ``<body>``.
    """
    target = page
    if measure:
        import uuid

        text = page.read_text(encoding="utf-8")
        # a copy beside the page (same relative links), unique: the audit loads pages in parallel
        target = page.with_name(f".tl-audit-{uuid.uuid4().hex[:8]}-{page.name}")
        target.write_text(text.replace("</body>", _MEASURE + "</body>", 1), encoding="utf-8")
    try:
        dom = _chromium(
            browser,
            [f"--window-size={width[0]},{width[1]}", "--virtual-time-budget=5000", "--dump-dom"],
            target.resolve().as_uri(),
            timeout,
        )
    finally:
        if measure:
            target.unlink(missing_ok=True)
    if "<body" not in dom:
        raise SiteError(f"{page}: {browser} returned no page")
    return dom


def screenshot(
    page: Path, browser: str, out: Path, width: tuple[int, int] = DESKTOP, anchor: str = ""
) -> Path:
    """A PNG screenshot of ``page`` at ``width``, starting at element id ``anchor`` if given."""
    target = page
    if anchor:
        import uuid

        target = page.with_name(f".tl-audit-{uuid.uuid4().hex[:8]}-{page.name}")
        script = (
            # headless screenshots ignore scrolling: hide what comes before the element instead
            "<script>window.addEventListener('load', function () {"
            f"var e = document.getElementById({anchor!r});"
            "for (var n = e; n && n !== document.body; n = n.parentElement) {"
            "  for (var s = n.previousElementSibling; s; s = s.previousElementSibling) {"
            "    if (!s.matches('.bd-sidebar-primary')) s.style.display = 'none'; } }"
            "});</script>"
        )
        text = page.read_text(encoding="utf-8").replace("</body>", script + "</body>", 1)
        target.write_text(text, encoding="utf-8")
    try:
        _chromium(
            browser,
            [
                f"--window-size={width[0]},{width[1]}",
                "--virtual-time-budget=5000",
                f"--screenshot={out.resolve()}",
            ],
            target.resolve().as_uri(),
            90.0,
        )
    finally:
        if anchor:
            target.unlink(missing_ok=True)
    return out


def search_hits(site_dir: str | Path, term: str, browser: str) -> list[str]:
    """Titles of the results the book's own search page lists for ``term``."""
    from urllib.parse import quote

    page = Path(site_dir) / "search.html"
    if not page.is_file():
        raise SiteError(f"{page}: no search page; build the site first")
    dom = _chromium(
        browser,
        ["--window-size=1280,900", "--virtual-time-budget=10000", "--dump-dom"],
        page.resolve().as_uri() + "?q=" + quote(term),
        90.0,
    )
    block = re.search(r'<ul class="search">(.*?)</ul>', dom, flags=re.DOTALL)
    if not block:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), flags=re.DOTALL)
    titles = []
    for item in items:
        a = re.search(r"<a [^>]*>(.*?)</a>", item, flags=re.DOTALL)
        titles.append(html.unescape(re.sub(r"<[^>]+>", "", a.group(1) if a else item)).strip())
    return titles


# --------------------------------------------------------------------------------------------
# Auditing a built site
# --------------------------------------------------------------------------------------------


class _DomAudit(HTMLParser):
    """Collects images, links, loads and element ids of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.loads: list[str] = []
        self.ids: set[str] = set()
        self.title = ""
        self.body: dict[str, str | None] = {}
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(str(a[key]))
        if tag == "body":
            self.body = a
        if tag == "img":
            self.images.append(a)
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag in ("script", "img", "iframe", "source", "embed") and a.get("src"):
            self.loads.append(str(a["src"]))
        if tag == "link" and a.get("href") and "stylesheet" in str(a.get("rel", "")) + "preload":
            self.loads.append(str(a["href"]))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


_REMOTE = re.compile(r"^\s*(?:https?:)?//", flags=re.IGNORECASE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", flags=re.IGNORECASE)
_NO_ALT = "no description has been provided"


def site_pages(site_dir: Path) -> list[Path]:
    """Every reader-facing HTML page of a built site (not ``_static``/``_sources``, not other
    partners' editions in sub-folders with their own marker)."""
    from tradelib.publish.book import SITE_MARKER

    editions = [d for d in site_dir.iterdir() if d.is_dir() and (d / SITE_MARKER).is_file()]
    pages = []
    for p in sorted(site_dir.rglob("*.html")):
        rel = p.relative_to(site_dir)
        if rel.parts[0] in ("_static", "_sources", "_images") or p.name.startswith(".tl-audit"):
            continue
        if any(p.is_relative_to(e) for e in editions):
            continue
        pages.append(p)
    return pages


def _ids_of(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        parser = _DomAudit()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser.ids
    return cache[path]


def audit_page(
    page: Path,
    dom: str,
    site_dir: Path,
    ids: dict[Path, set[str]] | None = None,
    width_name: str = "",
) -> list[str]:
    """Problems of one page's DOM: overflow, images without alt text, remote loads, links."""
    ids = {} if ids is None else ids
    parser = _DomAudit()
    parser.feed(dom)
    name = str(page.relative_to(site_dir)) + (f" ({width_name})" if width_name else "")
    problems = []
    if not parser.title.strip():
        problems.append(f"{name}: no <title>")
    overflow = parser.body.get("data-tl-overflow")
    if overflow is not None and float(overflow or 0) > 1:
        problems.append(
            f"{name}: the page is {overflow} px wider than the window "
            f"(widest: {parser.body.get('data-tl-wide') or '?'})"
        )
    for img in parser.images:
        alt = (img.get("alt") or "").strip()
        if not alt or alt.lower().startswith(_NO_ALT):
            problems.append(
                f"{name}: <img> without alt text (src {str(img.get('src'))[:50]}); show figures "
                "with tradelib.publish.plot.show(fig, alt=..., source=...)"
            )
    for src in parser.loads:
        if _REMOTE.match(src):
            problems.append(f"{name}: loads {src} from the internet")
    for href in parser.links:
        if _EXTERNAL.match(href) or href.startswith("//"):
            continue  # a link a reader may follow; nothing is fetched
        target, _, fragment = href.partition("#")
        target = unquote(target.split("?")[0])
        resolved = (page.parent / target).resolve() if target else page.resolve()
        if target and resolved.is_dir():
            resolved = resolved / "index.html"
        if not resolved.is_file():
            problems.append(f"{name}: internal link {href!r} does not resolve")
            continue
        if not resolved.is_relative_to(site_dir.resolve()):
            problems.append(f"{name}: internal link {href!r} leaves the site folder")
            continue
        if fragment and resolved.suffix == ".html":
            known = parser.ids if resolved == page.resolve() else _ids_of(resolved, ids)
            if unquote(fragment) not in known:
                problems.append(f"{name}: anchor {href!r} not found")
    return problems


def audit_site(
    site_dir: str | Path,
    browser: str | None = None,
    widths: dict[str, tuple[int, int]] | None = None,
) -> list[str]:
    """Check every page (in ``browser`` at each of ``widths`` when given, else the raw HTML)."""
    from concurrent.futures import ThreadPoolExecutor

    site_dir = Path(site_dir)
    pages = site_pages(site_dir) if site_dir.is_dir() else []
    if not pages:
        return [f"{site_dir}: no HTML pages; build the site first"]
    from tradelib.publish.book import remote_loads_in

    problems = [f"{p}: loads {r}" for p, r in remote_loads_in(site_dir)]
    jobs = (
        [(p, w) for p in pages for w in (widths or WIDTHS).items()]
        if browser
        else [(p, ("", (0, 0))) for p in pages]
    )

    def one(job: tuple[Path, tuple[str, tuple[int, int]]]) -> list[str]:
        page, (wname, size) = job
        try:
            dom = (
                headless_dom(page, browser, size, measure=True)
                if browser
                else page.read_text(encoding="utf-8")
            )
        except SiteError as exc:
            return [str(exc)]
        return audit_page(page, dom, site_dir, ids, wname)

    ids: dict[Path, set[str]] = {}
    for p in pages:
        _ids_of(p, ids)  # filled before the threads start
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(one, jobs):
            problems += found
    return problems


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m tradelib site``."""
    parser.description = "Build the Jupyter Book of the executed notebooks (offline)."
    parser.add_argument(
        "--partner", default="Mexico", help="partner whose executed notebooks to render"
    )
    parser.add_argument(
        "--executed",
        help="folder of executed notebooks (default: output/<partner-slug>/ of the project)",
    )
    parser.add_argument("--out", help="site folder (default: site/, or site/<slug>/ for others)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="after building, load every page in headless Chromium (if installed) at desktop "
        "and 390-px widths and check overflow, alt texts, internal links, remote loads",
    )


def main(args: argparse.Namespace) -> int:
    """Build the site and print where it is."""
    from tradelib.publish.book import skip_iri_grammars

    skip_iri_grammars()
    from tradelib.publish import run

    slug = run.partner_slug(args.partner)
    executed = Path(args.executed) if args.executed else run.default_output_dir() / slug
    out = Path(args.out) if args.out else run.default_site_dir(slug)
    problems = run.verify_executed(executed)
    if problems:
        print("site: not built, the executed notebooks are not a complete, current set:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        return 1
    from tradelib.publish.book import default_cache_dir

    built = build_book(
        executed, out, partner=run.display_partner(args.partner), cache_dir=default_cache_dir(out)
    )
    print(
        f"site: {len(built.pages)} pages written to {out} in {built.seconds:.1f} s "
        f"(open {built.pages[0]})"
    )
    for w in built.warnings:
        print(f"site: {w}", file=sys.stderr)
    if args.check:
        browser = find_browser()
        problems = audit_site(out, browser)
        how = f"in {browser} at desktop and 390-px widths" if browser else "as raw HTML"
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            return 1
        print(f"site: every page checked {how}: overflow, alt texts, links, no remote loads")
    return 0
