"""The built book as a reader sees it: every page of the table of contents opened in headless Chromium.

The HTML is built from the committed record into a temporary folder (not strictly: test_book.py checks the
strict build) and served on 127.0.0.1; every request to any other host is blocked and counted, so the checks also
prove that the book works offline (MathJax comes from the build's ``_static``). Per page: no request leaves the machine, no console error, no failed request, no broken
image, maths typeset by MathJax (no ``.math`` node left raw, no TeX error, no ``$`` or TeX command leaking into
prose), nothing wider than the main column, and verdicts shown as text badges where the page has verdicts.

Chromium is the system's (``sudo scripts/install-chromium.sh``), driven by Playwright's Python API with it as
``executable_path``: nothing is downloaded at test time. Without Chromium the tests are skipped with that reason.

Screenshots for a human look: ``.venv/bin/python tests/test_browser.py OUT_DIR`` (builds, then writes one PNG per
page: the first screen and the whole page).
"""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
VERDICTS = ("reproduced", "not reproduced", "inconclusive")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here: install it with `sudo scripts/install-chromium.sh` "
                                                "(Debian's chromium) to test the book in a real browser"),
]


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml`` in reading order, as paths without suffix (``book/intro``, ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            pages += [chapter["file"]] + [s["file"] for s in chapter.get("sections", [])]
    return pages


def build(out: Path) -> Path:
    """HTML build of the committed record into ``out``; returns the HTML folder. Not strict: warnings are the
    business of test_book.py's strict build, this module tests what a reader sees."""
    proc = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-n",
                           "--keep-going", "--path-output", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out / "_build" / "html"


@contextmanager
def serve(folder: Path):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) for the duration of the block; yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def browser(base: str):
    """A headless Chromium context with a fresh profile that only reaches ``base``; yields ``(context, blocked)``
    where ``blocked`` collects every URL it refused."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def gate(route):
        if route.request.url.startswith(base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                        args=FLAGS, viewport=VIEWPORT)
        context.route("**/*", gate)
        try:
            yield context, blocked
        finally:
            context.close()


# Runs in the page once it has loaded: waits for MathJax, then measures what a reader would see.
INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = article.getBoundingClientRect();
  const math = [...article.querySelectorAll('.math')];
  // Prose as a reader reads it: without code, program output, scripts and typeset maths.
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .math, .cell_output, .output')
       .forEach(e => e.remove());
  const text = prose.innerText;
  const scrolls = getComputedStyle;
  const wide = [...article.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= box.right + 1) return false;
    // inside a box that scrolls horizontally: that box is what must fit (it is checked itself)
    for (let p = e.parentElement; p && p !== article; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(scrolls(p).overflowX)) return false;
    }
    return true;
  }).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'));
  const clipped = [...article.querySelectorAll('pre, .table-wrapper, div.math, .cell_output, table')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
    .map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ': ' +
              (e.innerText || '').split('\\n').sort((a, b) => b.length - a.length)[0].slice(0, 80));
  return {
    math: math.length,
    raw_math: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
    tex_errors: [...article.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60)),
    raw_dollar: (text.match(/\\$[^$\\n]{1,80}\\$/g) || []),
    raw_tex: (text.match(/\\\\[a-zA-Z]{2,}\\b[^\\n]{0,30}/g) || []),
    broken_images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
    page_overflow: document.scrollingElement.scrollWidth - window.innerWidth,
    wide: wide,
    clipped: clipped,
    badges: [...article.querySelectorAll('.sd-badge')].map(e => e.textContent.trim()),
    claim_rows: [...article.querySelectorAll('table.claims-table tbody tr')]
      .map(tr => [...tr.querySelectorAll('.sd-badge')].map(e => e.textContent.trim())),
    tallies: article.querySelectorAll('.tally').length,
    verdict_chips: [...article.querySelectorAll('code')].map(e => e.textContent.trim())
      .filter(s => ['reproduced', 'not reproduced', 'inconclusive'].includes(s)),
    emoji: article.innerText.match(/[\u2705\u274c\u2754]/g) || [],
    launch: [...document.querySelectorAll('a, button')].map(e => (e.href || '') + ' ' + (e.title || ''))
      .filter(s => /binder|colab|thebe|launch/i.test(s)),
  };
}"""


def inspect(context, url: str) -> dict:
    """Open ``url`` and return what :data:`INSPECT` measures, plus console errors and failed requests."""
    page = context.new_page()
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    found = page.evaluate(INSPECT)
    page.close()
    return {**found, "console_errors": errors, "failed_requests": failed}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every page of the book, inspected in Chromium: ``{page: measurements}``, plus the blocked requests."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: `make install`")
    html = build(tmp_path_factory.mktemp("book"))
    with serve(html) as base, browser(base) as (context, blocked):
        pages = {p: inspect(context, f"{base}{p}.html") for p in toc_pages()}
    return pages, blocked


def _report(pages: dict, key: str) -> dict:
    return {p: v[key] for p, v in pages.items() if v[key]}


def test_nothing_is_loaded_from_the_network(site):
    assert site[1] == [], "the book must work offline"


def test_no_console_errors_failed_requests_or_broken_images(site):
    pages = site[0]
    assert _report(pages, "console_errors") == {}
    assert _report(pages, "failed_requests") == {}
    assert _report(pages, "broken_images") == {}


def test_maths_is_typeset(site):
    pages = site[0]
    assert _report(pages, "raw_math") == {}, "MathJax left these maths nodes untypeset"
    assert _report(pages, "tex_errors") == {}, "TeX errors in the typeset maths"
    assert _report(pages, "raw_dollar") == {}, "dollar-delimited maths leaking into the prose"
    assert _report(pages, "raw_tex") == {}, "TeX commands leaking into the prose"
    assert pages["book/intro"]["math"] > 0, "the intro's maths is not marked up as maths"


def test_nothing_is_wider_than_the_main_column(site):
    pages = site[0]
    assert {p: v["page_overflow"] for p, v in pages.items() if v["page_overflow"] > 0} == {}
    assert _report(pages, "wide") == {}, "elements sticking out of the main column"
    assert _report(pages, "clipped") == {}, "code, output, tables or equations that need horizontal scrolling"


def test_verdicts_are_text_badges_and_tallied(site):
    pages = site[0]
    rows = pages["book/claims"]["claim_rows"]
    assert rows and all(len(r) == 1 and r[0] in VERDICTS for r in rows), "one verdict badge per claims-table row"
    chapters = [p for p in pages if p.endswith("/index")]
    for page in ["book/intro", "book/claims"] + chapters:
        assert pages[page]["tallies"] >= 1, f"{page} shows no tally of verdicts (include its _tally.md)"
    assert _report(pages, "verdict_chips") == {}, "verdicts shown as code chips instead of badges"
    assert _report(pages, "emoji") == {}, "emoji verdict marks (no glyph in the PDF's fonts)"


def test_no_launch_buttons_to_nowhere(site):
    assert _report(site[0], "launch") == {}


def screenshots(out: Path, pages: list[str] | None = None) -> list[Path]:
    """Build the book and save, for each page, its first screen (``NAME.png``) and the whole page
    (``NAME-full.png``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        html = build(Path(tmp))
        with serve(html) as base, browser(base) as (context, _):
            for p in pages or toc_pages():
                page = context.new_page()
                page.goto(f"{base}{p}.html", wait_until="load")
                page.evaluate(INSPECT)
                name = p.removeprefix("book/").replace("/", "-")
                for suffix, full in (("", False), ("-full", True)):
                    written.append(out / f"{name}{suffix}.png")
                    page.screenshot(path=str(written[-1]), full_page=full)
                page.close()
    return written


if __name__ == "__main__":
    for path in screenshots(Path(sys.argv[1]), sys.argv[2:] or None):
        print(path)
