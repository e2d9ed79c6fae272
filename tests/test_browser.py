"""One real browser session: start the app on 127.0.0.1, ask, open a source card, take screenshots.

Playwright (PyPI) drives Debian's chromium; no browser download. Screenshots go to runs/screenshots/."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ioguide.servers import CHROMIUM
from ioguide.servers import CHROMIUM_FLAGS as FLAGS
from tests.conftest import ROOT, free_port, stop_process, wait_http
from ui.components import CHAT_PLACEHOLDER

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_app(corpus_index, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    pytest.importorskip("playwright")
    with _serve_app(corpus_index, tmp_path_factory.mktemp("appdata")) as url:
        yield url


@contextlib.contextmanager
def _serve_app(index_dir: Path, data_dir: Path):
    """The app as `make run` starts it (python -m ui.serve), on a free port of 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "IOGUIDE_INDEX_DIR": str(index_dir), "IOGUIDE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.address", "127.0.0.1", "--server.port",
                             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_http(f"{url}/_stcore/health", 90):
            pytest.fail("streamlit did not start within 90 s")
        yield url
    finally:
        stop_process(proc)


def test_ask_open_source_and_screenshot(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = ROOT / "runs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        page.goto(served_app, wait_until="networkidle")
        expect(page.get_by_text("not official CIRSE or IASIOS material")).to_be_visible(timeout=120_000)
        box = page.get_by_placeholder(CHAT_PLACEHOLDER)
        box.fill("How many patients are in the IASIOS internal case review?")
        box.press("Enter")
        marker = page.locator("a.marker").first
        expect(marker).to_be_visible(timeout=120_000)
        first = time.perf_counter() - started
        expect(page.locator(".answer")).to_contain_text("30")
        page.screenshot(path=str(shots / "ask.png"), full_page=True)
        card = page.locator("[data-testid='stExpander']").first
        expect(card).to_contain_text("[1]")
        if not card.locator("mark").first.is_visible():
            card.locator("summary").first.click()
        expect(card.locator("mark").first).to_be_visible(timeout=30_000)
        card.screenshot(path=str(shots / "source-card.png"))
        t = time.perf_counter()
        box.fill("Who won the football world cup in 1998?")
        box.press("Enter")
        expect(page.locator(".answer.not-covered")).to_be_visible(timeout=120_000)
        print(f"\nfirst answer {first:.1f} s after opening the page (model load included); "
              f"next answer {time.perf_counter() - t:.1f} s")
        # Streamlit scrolls inside its own container, so a "full page" shot shows only the viewport: bring the
        # abstention into it first.
        page.locator(".answer.not-covered").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "abstention.png"), full_page=True)
        page.set_viewport_size({"width": 800, "height": 1000})  # tablet width
        page.screenshot(path=str(shots / "tablet.png"))
        browser.close()
    assert (shots / "ask.png").stat().st_size > 10_000
    shutil.copy(shots / "ask.png", tmp_path / "ask.png")


def _tab_to(page, predicate_js: str, limit: int = 120) -> bool:
    """Press Tab until the focused element satisfies predicate_js (a JS expression over `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({predicate_js}); }})()"):
            return True
    return False


def test_keyboard_only_use(served_app):
    """No mouse: Tab to the chat box, ask, Tab to a [n] marker and follow it, Tab to a source card and toggle it."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served_app + "/?c=keyboard-only", wait_until="networkidle")
        box = page.get_by_placeholder(CHAT_PLACEHOLDER)
        expect(box).to_be_visible(timeout=120_000)
        assert _tab_to(page, f"el.tagName === 'TEXTAREA' && el.placeholder === {CHAT_PLACEHOLDER!r}")
        page.keyboard.type("What are the contraindications to TACE?")
        page.keyboard.press("Enter")
        expect(page.locator(".answer").first).to_be_visible(timeout=120_000)
        expect(page.locator("a.marker").first).to_be_visible(timeout=30_000)
        assert _tab_to(page, "el.matches('a.marker')"), "no [n] marker is reachable with Tab"
        target = page.evaluate("document.activeElement.getAttribute('href')")
        page.keyboard.press("Enter")
        page.wait_for_function(f"location.hash === {target!r}", timeout=10_000)
        assert _tab_to(page, "el.tagName === 'SUMMARY'"), "no source card is reachable with Tab"
        before = page.evaluate("document.activeElement.closest('details').open")
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.activeElement.closest('details').open === {str(not before).lower()}",
                               timeout=10_000)
        browser.close()


@pytest.fixture(scope="module")
def served_pdf_app(embedder, tmp_path_factory):
    """The app over a small index holding one centre policy PDF (two pages)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    pytest.importorskip("playwright")
    from ingest.index import sync
    from ioguide.index import open_index
    from tests.conftest import make_pdf

    root = tmp_path_factory.mktemp("pdf-app")
    docs = root / "docs"
    docs.mkdir()
    make_pdf(docs / "tumour-board-policy.pdf", [
        ["Tumour Board Policy of the Example Children's Cancer Hospital.",
         "This policy sets out how interventional oncology cases are discussed before treatment."],
        ["Meetings.", "The multidisciplinary tumour board meets every Tuesday at 8 am in the radiology seminar room.",
         "An interventional radiologist attends every meeting and records the decision in the patient file."],
    ], title="Tumour Board Policy", footer="Example hospital policy, page {n}")
    handle = open_index(root / "index", create=True)
    report = sync([docs], handle.store, handle.embedder, handle.bm25_dir, collection="centre")
    assert not report.skipped
    with _serve_app(root / "index", root / "data") as url:
        yield url


def test_pdf_source_opens_at_its_page_and_library_lists_it(served_pdf_app):
    """Ask about a centre PDF, open the source at its page (rendered image, passage marked), then the Library."""
    from playwright.sync_api import expect, sync_playwright

    shots = ROOT / "runs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(served_pdf_app, wait_until="networkidle")
        box = page.get_by_placeholder(CHAT_PLACEHOLDER)
        expect(box).to_be_visible(timeout=120_000)
        box.fill("When does the tumour board meet?")
        box.press("Enter")
        expect(page.locator(".answer")).to_contain_text("Tuesday", timeout=120_000)
        card = page.locator("[data-testid='stExpander']").first
        expect(card).to_contain_text("p. 2")
        button = page.get_by_role("button", name="Open tumour-board-policy.pdf at page 2")
        expect(button).to_be_visible(timeout=30_000)
        button.click()
        image = page.locator("[data-testid='stImage'] img").first
        expect(image).to_be_visible(timeout=60_000)
        expect(page.get_by_text("tumour-board-policy.pdf, page 2 (cited passage marked)")).to_be_visible()
        image.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "source-page.png"), full_page=True)
        page.goto(served_pdf_app + "/Library", wait_until="networkidle")
        expect(page.get_by_role("heading", name="Indexed documents (1)")).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()  # a canvas grid: checked on the shot
        page.screenshot(path=str(shots / "library.png"), full_page=True)
        browser.close()
    assert (shots / "source-page.png").stat().st_size > 20_000
