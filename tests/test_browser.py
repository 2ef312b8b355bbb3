"""The reports in a real browser: what a committee member opening the files sees.

A real run (two objectives, 2010-10, the SYNTHETIC sample extract) is opened page by page
in headless Chromium (the Debian package, as CI installs it) driven by Playwright:
no console errors, no request that leaves the file, every chart decoded, the headline
figures present, the contents links landing on their sections, every index link
opening, the same page offline, an A4 print, and an injected script blocked by the
page's own Content-Security-Policy. Full-page screenshots (colour and greyscale) and
the PDFs are saved to ``test-artifacts/screenshots/`` for a person to look at.

Run them with ``.venv/bin/python -m pytest tests/test_browser.py -m browser``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from mpsanalysis import paths
from mpsanalysis.run import runner

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = paths.project_root() / "test-artifacts" / "screenshots"
OBJECTIVES = ["serious-violence", "criminal-networks"]


@pytest.fixture(scope="module")
def browser(chromium_browser):
    return chromium_browser


@pytest.fixture(scope="module")
def run(real_store):
    plan = runner.plan_run(period_end="2010-10", objectives=OBJECTIVES, extracts="sample")
    outcome = runner.execute_plan(plan, workers=2)
    assert outcome.ok, [r.error for r in outcome.results if not r.ok]
    return outcome


@pytest.fixture(scope="module")
def reports(run) -> list[Path]:
    return [run.plan.output_dir / f"{job.stem}.html" for job in run.plan.jobs]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Visit:
    """Open one file in a fresh context, recording what the page does."""

    def __init__(self, browser, path: Path, **context_options) -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, **context_options
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.failed: dict[str, str] = {}
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.update({r.url: r.failure}))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.response = self.page.goto(path.resolve().as_uri(), wait_until="load")

    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def images(self) -> dict:
        return self.page.evaluate(
            "() => ({total: document.images.length, decoded: Array.from(document.images)"
            ".filter(i => i.complete && i.naturalWidth > 0).length})"
        )

    def close(self) -> None:
        self.context.close()


def _headline_has_figures(page) -> bool:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('table.headline-table td'))"
        ".some(td => /\\d/.test(td.textContent))"
    )


def _screenshot(visit: Visit, folder: Path, name: str) -> None:
    from PIL import Image

    data = visit.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    Image.open(io.BytesIO(data)).convert("L").save(folder / f"{name}-greyscale.png")


def test_every_page_loads_cleanly(browser, run, reports, artifacts):
    pages = [*reports, run.index, run.plan.output_dir.parent.parent / "index.html"]
    problems = []
    for path in pages:
        visit = Visit(browser, path)
        name = path.stem if path.parent == run.plan.output_dir else "reports-home"
        try:
            if visit.errors:
                problems.append(f"{name}: console errors {visit.errors}")
            if visit.external_requests():
                problems.append(f"{name}: requests {visit.external_requests()}")
            if visit.dialogs:
                problems.append(f"{name}: dialogs {visit.dialogs}")
            images = visit.images()
            if images["decoded"] != images["total"]:
                problems.append(f"{name}: {images['total'] - images['decoded']} images not decoded")
            if path in reports:
                if images["total"] == 0:
                    problems.append(f"{name}: no charts")
                if not _headline_has_figures(visit.page):
                    problems.append(f"{name}: no headline table with figures")
            if visit.page.evaluate("() => document.scripts.length"):
                problems.append(f"{name}: has script elements")
            _screenshot(visit, artifacts, name)
        finally:
            visit.close()
    assert not problems, "\n".join(problems)


def test_contents_links_reach_their_sections(browser, reports):
    for path in reports:
        visit = Visit(browser, path)
        try:
            hrefs = visit.page.eval_on_selector_all(
                "nav.toc a", "links => links.map(a => a.getAttribute('href'))"
            )
            assert len(hrefs) >= 5, f"{path.name}: contents has {hrefs}"
            for href in hrefs:
                visit.page.click(f"nav.toc a[href='{href}']")
                target = visit.page.evaluate(
                    "() => { const t = document.querySelector(':target'); if (!t) return null;"
                    " const end = scrollY + innerHeight >= document.body.scrollHeight - 2;"
                    " return [t.tagName, t.id, t.getBoundingClientRect().top, end]; }"
                )
                assert target is not None, f"{path.name}: {href} reaches no element"
                tag, element_id, top, at_end = target
                assert tag == "H2" and "#" + element_id in (href, unquote(href))
                assert abs(top) < 50 or (at_end and 0 <= top < 900), (
                    f"{path.name}: {href} did not scroll to its section"
                )
        finally:
            visit.close()


def test_index_links_resolve(browser, run):
    visit = Visit(browser, run.index)
    try:
        hrefs = visit.page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
        base = visit.page.url
    finally:
        visit.close()
    files = [h for h in hrefs if not h.startswith("#")]
    assert {f"{job.stem}.html" for job in run.plan.jobs} <= set(files)
    assert "manifest.json" in files and "../../index.html" in files
    for href in files:
        url = urljoin(base, href)
        assert urlparse(url).scheme == "file", href
        target = Path(unquote(urlparse(url).path))
        assert target.is_file(), f"{href} -> {target} does not exist"
        if target.suffix in (".html", ".json"):
            opened = Visit(browser, target)
            try:
                assert opened.response is None or opened.response.ok, href
                assert not opened.errors, f"{href}: {opened.errors}"
                assert not opened.external_requests(), href
            finally:
                opened.close()


def test_report_renders_offline(browser, reports):
    for path in reports:
        online = Visit(browser, path)
        offline = Visit(browser, path, offline=True)
        try:
            assert offline.images() == online.images()
            assert offline.images()["decoded"] > 0
            assert _headline_has_figures(offline.page)
            assert not offline.errors and not offline.external_requests()
        finally:
            online.close()
            offline.close()


def test_accessibility_basics(browser, reports):
    for path in reports:
        visit = Visit(browser, path)
        try:
            facts = visit.page.evaluate("""() => ({
                lang: document.documentElement.lang,
                h1: document.querySelectorAll('h1').length,
                alts: Array.from(document.images).map(i => i.alt),
                tables: Array.from(document.querySelectorAll('table')).map(t => ({
                    caption: t.caption ? t.caption.textContent.trim() : '',
                    cols: t.querySelectorAll('thead th[scope=col]').length})),
                statuses: Array.from(document.querySelectorAll('.status'))
                    .map(s => s.textContent.trim()),
                levels: Array.from(document.querySelectorAll('h1,h2,h3,h4'))
                    .map(h => Number(h.tagName[1])),
            })""")
            assert facts["lang"] == "en" and facts["h1"] == 1
            assert all(len(alt) > 30 for alt in facts["alts"]), facts["alts"]
            assert all(t["caption"] and t["cols"] for t in facts["tables"]), facts["tables"]
            words = ("met", "on track", "at risk", "not met", "no target", "not assessed")
            assert facts["statuses"] and all(
                re.fullmatch(r"\S+ (" + "|".join(words) + ")", s) for s in facts["statuses"]
            ), facts["statuses"]
            levels = facts["levels"]
            assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        finally:
            visit.close()


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_print_layout(browser, reports, artifacts):
    for path in reports:
        visit = Visit(browser, path)
        try:
            visit.page.emulate_media(media="print")
            hidden = visit.page.evaluate(
                "() => ['nav.toc', '.breadcrumb', '.skip-link'].map(s => "
                "getComputedStyle(document.querySelector(s)).display)"
            )
            assert hidden == ["none"] * 3
            pdf = visit.page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
            assert pdf.startswith(b"%PDF") and _pdf_pages(pdf) >= 2
            (artifacts / f"{path.stem}.pdf").write_bytes(pdf)
        finally:
            visit.close()


def test_policy_blocks_an_injected_script(browser, reports, tmp_path):
    """Defence in depth: were markup ever to slip through escaping, the report's own
    Content-Security-Policy stops it running."""
    text = reports[0].read_text(encoding="utf-8")
    text = text.replace(
        "<main",
        "<script>document.title = 'pwned'; alert(1)</script>"
        '<img src="https://example.invalid/beacon.png" alt="x"><main',
        1,
    )
    injected = tmp_path / "injected.html"
    injected.write_text(text, encoding="utf-8")
    visit = Visit(browser, injected)
    try:
        assert visit.page.title() != "pwned"
        assert not visit.dialogs
        blocked = {url: visit.failed.get(url) for url in visit.external_requests()}
        assert blocked == {"https://example.invalid/beacon.png": "csp"}, "blocked by the policy"
        assert any("Content Security Policy" in e for e in visit.errors), visit.errors
    finally:
        visit.close()
